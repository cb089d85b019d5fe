package nci_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// testECP is an ECP command of the project's choosing for tests: the real
// PN7161 one is not public. GID F (proprietary), OID 3F, prefix A5.
var testECP = &nci.ECPCommand{GID: nci.GroupProprietary, OID: 0x3F, Prefix: []byte{0xA5}}

// testConfig configures the test ECP command, with timeouts generous for a
// loaded test machine; muteConfig keeps them short, for the tests of a
// controller that stops answering.
var (
	testConfig = &nci.Config{Timeout: 2 * time.Second, ExchangeTimeout: 5 * time.Second, ECP: testECP}
	muteConfig = &nci.Config{Timeout: 300 * time.Millisecond, ExchangeTimeout: time.Second, ECP: testECP}
)

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// fastRound is a polling round with a short discovery period.
func fastRound(ecp []byte) *polling.Round {
	return &polling.Round{ECP: ecp, FieldOnGuard: time.Microsecond, Interval: 5 * time.Millisecond}
}

// simUART starts a simulated NCI controller on a pseudo-terminal and opens
// the driver on it (NCI over UART).
func simUART(tb testing.TB, field *pollingtest.Field, sc ncitest.Config, cfg *nci.Config) (*ncitest.Controller, *nci.Device) {
	tb.Helper()
	pty, err := pollingtest.OpenPTY()
	if err != nil {
		tb.Fatal(err)
	}
	if sc.ECP == nil {
		sc.ECP = testECP
	}
	c := ncitest.New(field, sc)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Serve(ctx, pty.Master) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		pty.Close()
	})
	d, err := nci.OpenUART(ctxT(tb), pty.Slave, 115200, cfg)
	if err != nil {
		tb.Fatalf("OpenUART = %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return c, d
}

// simI2C starts a simulated NCI controller on a simulated I2C bus and
// opens the driver on it.
func simI2C(tb testing.TB, field *pollingtest.Field, sc ncitest.Config, cfg *nci.Config) (*ncitest.Controller, *nci.Device) {
	tb.Helper()
	if sc.ECP == nil {
		sc.ECP = testECP
	}
	c := ncitest.New(field, sc)
	bus := c.I2C()
	tb.Cleanup(func() { bus.Close() })
	d, err := nci.New(ctxT(tb), nci.NewI2CLink(bus, bus), cfg)
	if err != nil {
		tb.Fatalf("New(I2C) = %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return c, d
}

// detect polls until a target comes, for at most a few rounds.
func detect(tb testing.TB, d *nci.Device, round *polling.Round) polling.Target {
	tb.Helper()
	for range 200 {
		t, err := d.Detect(ctxT(tb), round)
		if err == nil {
			return t
		}
		if err != polling.ErrNoTarget {
			tb.Fatalf("Detect = %v", err)
		}
	}
	tb.Fatal("no target after 200 rounds")
	return nil
}

// homeGroup is [KUPA]'s Home Key reader group identifier.
var homeGroup = [8]byte{0x94, 0x62, 0x5f, 0xd2, 0xc3, 0x2c, 0xf3, 0xc2}
