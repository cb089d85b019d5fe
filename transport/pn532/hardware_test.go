package pn532_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// hardwareEnv names the serial device of a real PN532 for TestHardware.
const hardwareEnv = "OPENCARKEY_PN532"

// TestHardware talks to a real PN532 on the serial device that
// OPENCARKEY_PN532 names (for example /dev/ttyUSB0): it reads the firmware
// version and polls with the Home Key ECP frame for 10 seconds, reporting
// every target and its answer to SELECT of the Home Key applet. It skips
// without the variable.
func TestHardware(t *testing.T) {
	path := os.Getenv(hardwareEnv)
	if path == "" {
		t.Skip("hardware test: set " + hardwareEnv + " to the PN532's serial device, e.g. /dev/ttyUSB0")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d, err := pn532.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	defer d.Close()
	t.Logf("%s: %v", path, d.Firmware())

	ecp := polling.HomeKey(homeGroup)
	n, err := pollingtest.Probe(ctx, d, &ecp, 10*time.Second, t.Logf)
	if err != nil {
		t.Fatalf("polling: %v", err)
	}
	t.Logf("%d targets in 10 s", n)
}
