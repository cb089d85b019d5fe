package pn532_test

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/polling"
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
	loop, err := polling.NewLoop(d, &polling.Config{ECP: &ecp})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	sel := transport.Command{INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDHomeKey), Ne: 256}
	selectHomeKey, _ := sel.Append(nil)
	for target, err := range loop.Targets(pctx) {
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("polling: %v", err)
		}
		info := target.Info()
		t.Logf("target: SENS_RES %X SEL_RES %02X NFCID1 %X ATS %X", info.SENSRes, info.SELRes, info.NFCID1, info.ATS)
		resp, err := target.Transceive(pctx, nil, selectHomeKey)
		t.Logf("SELECT Home Key: %s, %v", hex.EncodeToString(resp), err)
	}
}
