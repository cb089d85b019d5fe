package pn532_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// cccVehicle is a CCC vehicle with one owner key whose immobilizer token is
// read with EXCHANGE, so that an engine start goes through SELECT, AUTH0,
// AUTH1 and EXCHANGE.
type cccVehicle struct {
	reader *vehicle.Reader
	phone  *device.Applet
	ecp    polling.ECP
}

// testTCI is a car-key TCI of the project's choosing for tests; the real
// ones are brand-specific and not public.
var testTCI = polling.TCI{0x01, 0x7E, 0x57}

func newCCCVehicle(tb testing.TB) *cccVehicle {
	tb.Helper()
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		tb.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN-NFC1"))
	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := device.NewApplet(nil)
	if err != nil {
		tb.Fatal(err)
	}
	mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey(), Mailboxes: mb})
	if err != nil {
		tb.Fatal(err)
	}
	err = r.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte("immobilizer-nfc1"), Mailboxes: mb})
	if err != nil {
		tb.Fatal(err)
	}
	ecp, err := polling.ForProfile(dkey.CCC, vid, &polling.Terminal{TCI: &testTCI})
	if err != nil {
		tb.Fatal(err)
	}
	return &cccVehicle{reader: r, phone: a, ecp: ecp}
}

func (v *cccVehicle) expressPhone() *pollingtest.Phone {
	return &pollingtest.Phone{Card: v.phone, Express: true, Accept: pollingtest.AcceptFrame(v.ecp)}
}

// state is what a failed transaction must leave as it was.
type state struct {
	Vehicle []vehicle.KeyInfo
	Device  []device.KeyInfo
}

func (v *cccVehicle) state() state {
	s := state{Vehicle: v.reader.Keys(), Device: v.phone.Keys()}
	for i := range s.Device {
		s.Device[i].LastControlFlow = 0 // the device records every outcome it hears
	}
	return s
}

var stateOpts = cmp.Options{cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b })}

// TestTargetLeavesMidTransaction pulls the phone away during each command of
// an engine start, before the card saw it and after it answered: the
// vehicle gets an error matching transport.ErrCardRemoved with a
// *pn532.StatusError inside, neither side's stored state changes, and when
// the phone comes back they still share Kpersistent.
func TestTargetLeavesMidTransaction(t *testing.T) {
	v := newCCCVehicle(t)
	field := pollingtest.NewField()
	_, path := sim(t, field)
	d := open(t, path, testConfig)
	ctx := ctxT(t)
	round := fastRound(v.ecp.Append(nil))
	transact := func(action dkey.Action) (vehicle.Result, error) {
		t.Helper()
		target, err := d.Detect(ctx, round)
		if err != nil {
			t.Fatalf("Detect = %v", err)
		}
		defer target.Release(ctx)
		return v.reader.Transact(ctx, target, action)
	}
	field.Enter(v.expressPhone())
	if res, err := transact(dkey.ActionUnlock); err != nil || res.Fast {
		t.Fatalf("first unlock = fast %v, %v", res.Fast, err)
	}
	for _, ins := range []byte{0xA4, 0x80, 0x81, 0xC9} {
		for _, before := range []bool{true, false} {
			t.Run(fmt.Sprintf("%02X before %v", ins, before), func(t *testing.T) {
				was := v.state()
				field.LeaveAt(pollingtest.INS(ins), before)
				res, err := transact(dkey.ActionEngineStart)
				if !field.Left() {
					t.Fatalf("the phone never saw %02X", ins)
				}
				var se *pn532.StatusError
				if !errors.Is(err, transport.ErrCardRemoved) || !errors.As(err, &se) || res.OK() {
					t.Fatalf("Transact(engine start) with the phone leaving = %v, want %v from a *pn532.StatusError", err, transport.ErrCardRemoved)
				}
				if diff := cmp.Diff(was, v.state(), stateOpts); diff != "" {
					t.Errorf("state changed by the interrupted transaction (-before +after):\n%s", diff)
				}
				field.Enter(v.expressPhone())
				if res, err := transact(dkey.ActionUnlock); err != nil || !res.Fast {
					t.Errorf("unlock after the phone came back = fast %v, %v; want fast", res.Fast, err)
				}
			})
		}
	}
}

// TestLoopUnlocksOnTap runs the polling loop on the PN532: a phone placed
// in the field is unlocked once, not again while it stays, and again after
// it left and came back.
func TestLoopUnlocksOnTap(t *testing.T) {
	v := newHomeVehicle(t)
	field := pollingtest.NewField()
	_, path := sim(t, field)
	d := open(t, path, testConfig)
	loop, err := polling.NewLoop(d, &polling.Config{ECP: &v.ecp, Interval: time.Millisecond, FieldOnGuard: time.Microsecond, PresenceInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	field.Enter(v.expressPhone())
	var results []vehicle.Result
	for target, err := range loop.Targets(ctx) {
		if err != nil {
			t.Fatalf("Targets yielded %v", err)
		}
		res, err := v.reader.Transact(ctx, target, dkey.ActionUnlock)
		if err != nil {
			t.Fatalf("Transact = %v", err)
		}
		results = append(results, res)
		if len(results) == 2 {
			break
		}
		// The phone stays a while, then leaves and comes back: the loop
		// waits for it to go before it polls again.
		go func() {
			time.Sleep(20 * time.Millisecond)
			field.Leave()
			field.Enter(v.expressPhone())
		}()
	}
	if len(results) != 2 || results[0].Fast || !results[1].Fast {
		t.Errorf("two taps: fast %v, %v; want standard then fast", results[0].Fast, results[1].Fast)
	}
	if s := field.Stats(); s.Activations != 2 {
		t.Errorf("%d activations for two taps", s.Activations)
	}
}

// TestSameResultsAsInMemory runs a scenario through the PN532 and in memory
// and compares what the vehicle and the phone see.
func TestSameResultsAsInMemory(t *testing.T) {
	scenario := []dkey.Action{dkey.ActionUnlock, dkey.ActionLock, dkey.ActionEngineStart, dkey.ActionUnlock}
	run := func(over func(v *cccVehicle) (transport.Transceiver, func())) ([]vehicle.Result, []string) {
		v := newCCCVehicle(t)
		var summary []vehicle.Result
		var ins []string
		for _, a := range scenario {
			tr, done := over(v)
			rec := transporttest.NewRecorder(tr)
			res, err := v.reader.Transact(ctxT(t), rec, a)
			done()
			if err != nil {
				t.Fatalf("Transact(%v) = %v", a, err)
			}
			res.Slot, res.RangingKey = dkey.KeySlot{}, [32]byte{} // random per run
			summary = append(summary, res)
			var s string
			for _, e := range rec.Transcript() {
				s += fmt.Sprintf("%02X ", e.Command[1])
			}
			ins = append(ins, s)
		}
		return summary, ins
	}
	memRes, memIns := run(func(v *cccVehicle) (transport.Transceiver, func()) {
		return transporttest.NewCard(v.phone), func() { v.phone.Reset() }
	})
	field := pollingtest.NewField()
	_, path := sim(t, field)
	d := open(t, path, testConfig)
	nfcRes, nfcIns := run(func(v *cccVehicle) (transport.Transceiver, func()) {
		field.Enter(v.expressPhone())
		target, err := d.Detect(ctxT(t), fastRound(v.ecp.Append(nil)))
		if err != nil {
			t.Fatalf("Detect = %v", err)
		}
		return target, func() { target.Release(ctxT(t)) }
	})
	if diff := cmp.Diff(memRes, nfcRes, stateOpts, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("results differ (-memory +PN532):\n%s", diff)
	}
	if diff := cmp.Diff(memIns, nfcIns); diff != "" {
		t.Errorf("instructions differ (-memory +PN532):\n%s", diff)
	}
}

func BenchmarkFastTransaction(b *testing.B) {
	v := newHomeVehicle(b)
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		card := transporttest.NewCard(v.phone)
		if _, err := v.reader.Transact(ctx, card, dkey.ActionUnlock); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if res, err := v.reader.Transact(ctx, card, dkey.ActionUnlock); err != nil || !res.Fast {
				b.Fatalf("Transact = fast %v, %v", res.Fast, err)
			}
		}
	})
	b.Run("PN532 simulator", func(b *testing.B) {
		field := pollingtest.NewField()
		field.Enter(v.expressPhone())
		_, path := sim(b, field)
		d := open(b, path, nil)
		target, err := d.Detect(ctx, fastRound(v.ecp.Append(nil)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.reader.Transact(ctx, target, dkey.ActionUnlock); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if res, err := v.reader.Transact(ctx, target, dkey.ActionUnlock); err != nil || !res.Fast {
				b.Fatalf("Transact = fast %v, %v", res.Fast, err)
			}
		}
	})
}
