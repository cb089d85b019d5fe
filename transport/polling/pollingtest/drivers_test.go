package pollingtest_test

// Whole Digital Key transactions through both simulated controllers: the
// PN532 (package pn532 on pn532test, over a pseudo-terminal) and an NCI
// controller (package nci on ncitest, over a pseudo-terminal as NCI over
// UART, and over a simulated I2C bus with its interrupt line), with the
// device applet as the phone in the field. The same checks run on every
// driver. (transport/pcsc's TestIntegrationSameTransactionsOverNFCControllers
// compares a whole scenario over the drivers, PC/SC and memory.)

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// testECP is the NCI ECP command of the tests, of the project's choosing.
var testECP = &nci.ECPCommand{GID: nci.GroupProprietary, OID: 0x3F, Prefix: []byte{0xA5}}

// driver opens a reader on a simulated controller with field; ncitest
// faults apply to NCI drivers.
type driver struct {
	name string
	open func(tb testing.TB, field *pollingtest.Field, faults ncitest.Faults) polling.Reader
}

var drivers = []driver{
	{"PN532", func(tb testing.TB, field *pollingtest.Field, _ ncitest.Faults) polling.Reader {
		pty := openPTY(tb)
		c := pn532test.New(field, pn532.Firmware{})
		serve(tb, func(ctx context.Context) { c.Serve(ctx, pty.Master) })
		d, err := pn532.Open(ctxT(tb), pty.Slave, &pn532.Config{Timeout: 2 * time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { d.Close() })
		return d
	}},
	{"NCI over UART", func(tb testing.TB, field *pollingtest.Field, f ncitest.Faults) polling.Reader {
		pty := openPTY(tb)
		c := ncitest.New(field, ncitest.Config{ECP: testECP, MaxDataPayload: 64, Credits: 2})
		c.SetFaults(f)
		serve(tb, func(ctx context.Context) { c.Serve(ctx, pty.Master) })
		d, err := nci.OpenUART(ctxT(tb), pty.Slave, 115200, &nci.Config{Timeout: 2 * time.Second, ECP: testECP})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { d.Close() })
		return d
	}},
	{"NCI over I2C", func(tb testing.TB, field *pollingtest.Field, f ncitest.Faults) polling.Reader {
		c := ncitest.New(field, ncitest.Config{ECP: testECP})
		c.SetFaults(f)
		bus := c.I2C()
		tb.Cleanup(func() { bus.Close() })
		d, err := nci.New(ctxT(tb), nci.NewI2CLink(bus, bus), &nci.Config{Timeout: 2 * time.Second, ECP: testECP})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { d.Close() })
		return d
	}},
}

func openPTY(tb testing.TB) *pollingtest.PTY {
	tb.Helper()
	pty, err := pollingtest.OpenPTY()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pty.Close() })
	return pty
}

// serve runs a simulator until the test ends (before the PTY closes).
func serve(tb testing.TB, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { run(ctx) })
	tb.Cleanup(func() { cancel(); wg.Wait() })
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// round is a polling round with short waits.
func round(ecp polling.ECP) *polling.Round {
	return &polling.Round{ECP: ecp.Append(nil), FieldOnGuard: time.Microsecond, Interval: 2 * time.Millisecond}
}

// detect polls until a target answers.
func detect(tb testing.TB, r polling.Reader, rd *polling.Round) polling.Target {
	tb.Helper()
	for range 500 {
		t, err := r.Detect(ctxT(tb), rd)
		if err == nil {
			return t
		}
		if !errors.Is(err, polling.ErrNoTarget) {
			tb.Fatalf("Detect = %v", err)
		}
	}
	tb.Fatal("no target after 500 rounds")
	return nil
}

// car is a vehicle with one owner key (CCC or Home Key) on one phone in
// express mode.
type car struct {
	reader *vehicle.Reader
	phone  *device.Applet
	ecp    polling.ECP
	slot   dkey.KeySlot
}

// carTCI is a car-key TCI of the project's choosing: the real ones are
// brand-specific and not public.
var carTCI = polling.TCI{0x01, 0x7E, 0x57}

// newCar returns a CCC vehicle whose immobilizer token is read with
// EXCHANGE, so that an engine start runs SELECT, AUTH0, AUTH1 and EXCHANGE;
// or, with homeKey, a Home Key lock.
func newCar(tb testing.TB, homeKey bool) *car {
	tb.Helper()
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		tb.Fatal(err)
	}
	profile, id := dkey.CCC, []byte("VIN-NFC1")
	if homeKey {
		profile, id = dkey.HomeKey, []byte("\x94\x62\x5f\xd2\xc3\x2c\xf3\xc2READER01")
	}
	vid, _ := dkey.NewVehicleID(id)
	r, err := vehicle.NewReader(&vehicle.Config{Profile: profile, VehicleID: vid, Key: vk})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := device.NewApplet(&device.Config{Profile: profile})
	if err != nil {
		tb.Fatal(err)
	}
	var mb dkey.MailboxConfig
	var token []byte
	if !homeKey {
		mb, token = dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}, []byte("immobilizer-nfc1")
	}
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey(), Mailboxes: mb})
	if err != nil {
		tb.Fatal(err)
	}
	err = r.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), ImmobilizerToken: token, Mailboxes: mb})
	if err != nil {
		tb.Fatal(err)
	}
	ecp, err := polling.ForProfile(profile, vid, &polling.Terminal{TCI: &carTCI})
	if err != nil {
		tb.Fatal(err)
	}
	return &car{reader: r, phone: a, ecp: ecp, slot: info.Slot}
}

func (c *car) expressPhone() *pollingtest.Phone {
	return &pollingtest.Phone{Card: c.phone, Express: true, Accept: pollingtest.AcceptFrame(c.ecp)}
}

// state is what a failed transaction must leave as it was.
type state struct {
	Vehicle []vehicle.KeyInfo
	Device  []device.KeyInfo
}

func (c *car) state() state {
	s := state{Vehicle: c.reader.Keys(), Device: c.phone.Keys()}
	for i := range s.Device {
		s.Device[i].LastControlFlow = 0 // the device records every outcome it hears
	}
	return s
}

var stateOpts = cmp.Options{cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b })}

// TestTargetLeavesMidTransaction pulls the phone away during each command of
// an engine start, before the card saw it and after it answered, on every
// driver (and both ways an NCI controller reports it): the vehicle gets an
// error matching transport.ErrCardRemoved, neither side's stored state
// changes, and when the phone comes back they still share Kpersistent.
func TestTargetLeavesMidTransaction(t *testing.T) {
	type variant struct {
		driver
		faults ncitest.Faults
		typed  func(error) bool
	}
	pnErr := func(err error) bool { var e *pn532.StatusError; return errors.As(err, &e) }
	nciStatus := func(err error) bool { var e *nci.StatusError; return errors.As(err, &e) && errors.Is(err, nci.ErrRF) }
	nciDeact := func(err error) bool {
		var e *nci.DeactivationError
		return errors.As(err, &e) && e.Reason == nci.ReasonRFLinkLoss
	}
	variants := []variant{
		{drivers[0], ncitest.Faults{}, pnErr},
		{drivers[1], ncitest.Faults{}, nciStatus},
		{drivers[2], ncitest.Faults{LeaveWithDeactivate: true}, nciDeact},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			c := newCar(t, false)
			field := pollingtest.NewField()
			r := v.open(t, field, v.faults)
			ctx := ctxT(t)
			transact := func(action dkey.Action) (vehicle.Result, error) {
				target := detect(t, r, round(c.ecp))
				defer target.Release(ctx)
				return c.reader.Transact(ctx, target, action)
			}
			field.Enter(c.expressPhone())
			if res, err := transact(dkey.ActionUnlock); err != nil || res.Fast {
				t.Fatalf("first unlock = fast %v, %v", res.Fast, err)
			}
			for _, ins := range []byte{0xA4, 0x80, 0x81, 0xC9} {
				for _, before := range []bool{true, false} {
					was := c.state()
					field.LeaveAt(pollingtest.INS(ins), before)
					res, err := transact(dkey.ActionEngineStart)
					if !field.Left() {
						t.Fatalf("%02X: the phone never saw it", ins)
					}
					if !errors.Is(err, transport.ErrCardRemoved) || !v.typed(err) || res.OK() {
						t.Fatalf("%02X before %v: Transact(engine start) = %T %v, want %v from the driver's typed error", ins, before, err, err, transport.ErrCardRemoved)
					}
					if diff := cmp.Diff(was, c.state(), stateOpts); diff != "" {
						t.Errorf("%02X before %v: state changed (-before +after):\n%s", ins, before, diff)
					}
					field.Enter(c.expressPhone())
					if res, err := transact(dkey.ActionUnlock); err != nil || !res.Fast {
						t.Errorf("%02X before %v: unlock after the phone came back = fast %v, %v; want fast", ins, before, res.Fast, err)
					}
				}
			}
		})
	}
}

// TestLoopUnlocksOnTap runs the polling loop: a phone placed in the field
// is unlocked once, not again while it stays, and again after it left and
// came back. Without the ECP frame the express phone is never found.
func TestLoopUnlocksOnTap(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			c := newCar(t, true)
			field := pollingtest.NewField()
			r := d.open(t, field, ncitest.Faults{})
			field.Enter(c.expressPhone())

			silent, err := polling.NewLoop(r, &polling.Config{Interval: time.Millisecond, FieldOnGuard: time.Microsecond})
			if err != nil {
				t.Fatal(err)
			}
			sctx, stop := context.WithTimeout(ctxT(t), 100*time.Millisecond)
			for target, err := range silent.Targets(sctx) {
				if err == nil {
					t.Errorf("without ECP, an express phone answered: %+v", target.Info())
				}
			}
			stop()

			loop, err := polling.NewLoop(r, &polling.Config{ECP: &c.ecp, Interval: time.Millisecond, FieldOnGuard: time.Microsecond, PresenceInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			var results []vehicle.Result
			for target, err := range loop.Targets(ctx) {
				if err != nil {
					t.Fatalf("Targets yielded %v", err)
				}
				res, err := c.reader.Transact(ctx, target, dkey.ActionUnlock)
				if err != nil {
					t.Fatalf("Transact = %v", err)
				}
				results = append(results, res)
				if len(results) == 2 {
					break
				}
				go func() {
					time.Sleep(20 * time.Millisecond)
					field.Leave()
					field.Enter(c.expressPhone())
				}()
			}
			if len(results) != 2 || results[0].Fast || !results[1].Fast {
				t.Errorf("two taps gave %d results, want standard then fast", len(results))
			}
			if s := field.Stats(); s.Activations != 2 {
				t.Errorf("%d activations for two taps", s.Activations)
			}
		})
	}
}

// BenchmarkFastTransaction runs fast unlocks with the phone in the field, in
// memory and through every simulated controller.
func BenchmarkFastTransaction(b *testing.B) {
	c := newCar(b, true)
	ctx := context.Background()
	run := func(b *testing.B, t transport.Transceiver) {
		if _, err := c.reader.Transact(ctx, t, dkey.ActionUnlock); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if res, err := c.reader.Transact(ctx, t, dkey.ActionUnlock); err != nil || !res.Fast {
				b.Fatalf("Transact = fast %v, %v", res.Fast, err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, transporttest.NewCard(c.phone)) })
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			field := pollingtest.NewField()
			field.Enter(c.expressPhone())
			r := d.open(b, field, ncitest.Faults{})
			run(b, detect(b, r, round(c.ecp)))
		})
	}
}

// failingReader fails every round.
type failingReader struct{}

func (failingReader) Detect(ctx context.Context, r *polling.Round) (polling.Target, error) {
	return nil, errors.New("controller gone")
}

func TestProbe(t *testing.T) {
	c := newCar(t, true)
	field := pollingtest.NewField()
	field.Enter(c.expressPhone())
	r := drivers[0].open(t, field, ncitest.Faults{})
	var logs []string
	n, err := pollingtest.Probe(ctxT(t), r, &c.ecp, 300*time.Millisecond, func(format string, args ...any) {
		logs = append(logs, fmt.Sprintf(format, args...))
	})
	if err != nil || n != 1 || len(logs) != 2 || !strings.HasSuffix(logs[1], "9000, <nil>") {
		t.Errorf("Probe = %d, %v; logs %q", n, err, logs)
	}
	if _, err := pollingtest.Probe(ctxT(t), failingReader{}, nil, time.Second, t.Logf); err == nil {
		t.Error("Probe(failing reader) succeeded")
	}
}
