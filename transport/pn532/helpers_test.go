package pn532_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
	"github.com/opencarkey/sdk/vehicle"
)

// fastRound is a polling round without waits, for tests.
func fastRound(ecp []byte) *polling.Round {
	return &polling.Round{ECP: ecp, FieldOnGuard: time.Microsecond, Interval: time.Microsecond}
}

// testConfig keeps timeouts generous for a loaded test machine; muteConfig
// short, for the tests of a controller that stops answering.
var (
	testConfig = &pn532.Config{Timeout: 2 * time.Second, ExchangeTimeout: 5 * time.Second}
	muteConfig = &pn532.Config{Timeout: 300 * time.Millisecond, ExchangeTimeout: time.Second}
)

// sim starts a simulated PN532 with field on a pseudo-terminal and returns
// it and the path of the terminal the driver opens. It stops when the test
// ends.
func sim(tb testing.TB, field *pollingtest.Field) (*pn532test.Controller, string) {
	tb.Helper()
	pty, err := pollingtest.OpenPTY()
	if err != nil {
		tb.Fatal(err)
	}
	c := pn532test.New(field, pn532.Firmware{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Serve(ctx, pty.Master) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		pty.Close()
	})
	return c, pty.Slave
}

// open opens the driver on path; it is closed when the test ends.
func open(tb testing.TB, path string, cfg *pn532.Config) *pn532.Device {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := pn532.Open(ctx, path, cfg)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", path, err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// simDevice returns an empty field, a simulator serving it and the driver
// opened on it with testConfig.
func simDevice(tb testing.TB) (*pollingtest.Field, *pn532test.Controller, *pn532.Device) {
	tb.Helper()
	field := pollingtest.NewField()
	c, path := sim(tb, field)
	return field, c, open(tb, path, testConfig)
}

// homeVehicle is a Home Key reader (16-byte reader identifier: group ‖
// reader) with one phone enrolled, whose key is in express mode.
type homeVehicle struct {
	reader *vehicle.Reader
	phone  *device.Applet
	ecp    polling.ECP
	slot   dkey.KeySlot
}

var homeGroup = [8]byte{0x94, 0x62, 0x5f, 0xd2, 0xc3, 0x2c, 0xf3, 0xc2} // [KUPA]'s

func newHomeVehicle(tb testing.TB) *homeVehicle {
	tb.Helper()
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		tb.Fatal(err)
	}
	vid, err := dkey.NewVehicleID(append(homeGroup[:], "READER01"...))
	if err != nil {
		tb.Fatal(err)
	}
	r, err := vehicle.NewReader(&vehicle.Config{Profile: dkey.HomeKey, VehicleID: vid, Key: vk})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := device.NewApplet(&device.Config{Profile: dkey.HomeKey})
	if err != nil {
		tb.Fatal(err)
	}
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey()})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile()}); err != nil {
		tb.Fatal(err)
	}
	ecp, err := polling.ForProfile(dkey.HomeKey, vid, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &homeVehicle{reader: r, phone: a, ecp: ecp, slot: info.Slot}
}

// expressPhone returns the vehicle's phone as it sits in the field, in
// express mode: it answers only after the vehicle's ECP frame.
func (v *homeVehicle) expressPhone() *pollingtest.Phone {
	return &pollingtest.Phone{Card: v.phone, Express: true, Accept: pollingtest.AcceptFrame(v.ecp)}
}
