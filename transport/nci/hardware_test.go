package nci_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// Environment variables of TestHardware.
const (
	envI2C  = "OPENCARKEY_NCI_I2C"  // i2c-dev bus, e.g. /dev/i2c-1
	envGPIO = "OPENCARKEY_NCI_GPIO" // chip:irq[:ven], e.g. /dev/gpiochip0:23:24
	envUART = "OPENCARKEY_NCI_UART" // serial device of an NCI-over-UART controller
	envECP  = "OPENCARKEY_NCI_ECP"  // the controller's ECP command, GID:OID[:PREFIX][:nocrc]
)

// TestHardware talks to a real NCI controller: on I2C when
// OPENCARKEY_NCI_I2C and OPENCARKEY_NCI_GPIO name it, on a UART when
// OPENCARKEY_NCI_UART does. It logs what the controller reports and polls
// for 10 seconds (with ECP when OPENCARKEY_NCI_ECP configures the command),
// reporting every target and its answer to SELECT of the Home Key applet.
// It skips without the variables.
func TestHardware(t *testing.T) {
	i2c, uart := os.Getenv(envI2C), os.Getenv(envUART)
	if i2c == "" && uart == "" {
		t.Skip("hardware test: set " + envI2C + " and " + envGPIO + " (or " + envUART + ") to the controller's devices")
	}
	cfg := &nci.Config{}
	if s := os.Getenv(envECP); s != "" {
		c, err := nci.ParseECPCommand(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ECP = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var d *nci.Device
	var err error
	if i2c != "" {
		chip, irq, ven, perr := nci.ParseGPIOLines(os.Getenv(envGPIO))
		if perr != nil {
			t.Fatalf("%s: %v", envGPIO, perr)
		}
		d, err = nci.OpenI2C(ctx, nci.I2CConfig{Bus: i2c, Chip: chip, IRQ: irq, VEN: ven}, cfg)
	} else {
		d, err = nci.OpenUART(ctx, uart, 115200, cfg)
	}
	if err != nil {
		t.Fatalf("opening the controller: %v", err)
	}
	defer d.Close()
	info := d.Info()
	hw, nxp := info.NXPHardware()
	t.Logf("NCI %X, manufacturer %02X %X (NXP hardware %02X: %v), init %+v", info.Version, info.ManufacturerID, info.ManufacturerInfo, hw, nxp, info.Init)

	var ecp *polling.ECP
	if cfg.ECP != nil {
		e := polling.HomeKey(homeGroup)
		ecp = &e
	}
	n, err := pollingtest.Probe(ctx, d, ecp, 10*time.Second, t.Logf)
	if err != nil {
		t.Fatalf("polling: %v", err)
	}
	t.Logf("%d targets in 10 s", n)
}

func TestParseGPIOLines(t *testing.T) {
	if chip, irq, ven, err := nci.ParseGPIOLines("/dev/gpiochip0:23:24"); err != nil || chip != "/dev/gpiochip0" || irq != 23 || ven != 24 {
		t.Errorf("ParseGPIOLines = %q %d %d %v", chip, irq, ven, err)
	}
	if _, _, ven, err := nci.ParseGPIOLines("/dev/gpiochip0:23"); err != nil || ven != -1 {
		t.Errorf("ParseGPIOLines without VEN = %d, %v", ven, err)
	}
	for _, bad := range []string{"", "/dev/gpiochip0", ":1", "/dev/gpiochip0:x", "/dev/gpiochip0:1:y", "/dev/gpiochip0:1:-2", "a:1:2:3", "a:5:5"} {
		if _, _, _, err := nci.ParseGPIOLines(bad); err == nil {
			t.Errorf("ParseGPIOLines(%q) succeeded", bad)
		}
	}
}
