package vehicle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/transport"
)

// rangingTransaction runs the ranging-key transaction (P2 10) over tr and
// returns its result.
func (w *r3World) rangingTransaction(t testing.TB, tr transport.Transceiver) Result {
	t.Helper()
	res, err := w.reader.Transact(context.Background(), tr, dkey.ActionRangingKey)
	if err != nil {
		t.Fatalf("ranging-key transaction: %+v, %v", res, err)
	}
	if res.Fast || !res.RangingKeyStored || !res.HasRangingKey {
		t.Fatalf("ranging-key transaction = %+v", res)
	}
	return res
}

// setup runs the ranging setup of session id between the vehicle and the
// device with their key stores, in memory, and returns both sessions.
func (w *r3World) setup(id ranging.SessionID) (*ranging.Session, *ranging.Session, error) {
	v, err := ranging.NewVehicle(&ranging.VehicleConfig{Responders: 4, Keys: w.reader})
	if err != nil {
		return nil, nil, err
	}
	d, err := ranging.NewDevice(&ranging.DeviceConfig{Keys: w.applet})
	if err != nil {
		return nil, nil, err
	}
	mid, msg, err := v.Start(nil, id)
	for err == nil && mid != 0 {
		if mid, msg, err = d.Handle(nil, mid, msg); err == nil {
			mid, msg, err = v.Handle(nil, mid, msg)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return v.Session(), d.Session(), nil
}

// TestRangingKey runs the ranging-key transaction (P2 10) over NFC and
// over BLE: both sides keep the URSK under the UWB session ID, the last
// four bytes of the transaction identifier, the ranging setup finds it on
// both sides and derives the same UWB keys, and the URSKs survive a
// restart of both sides.
func TestRangingKey(t *testing.T) {
	w := newR3World(t, nil, nil)
	res := w.rangingTransaction(t, w.card)
	ble := w.rangingTransaction(t, bleLink(t, w.applet, 0, 0))
	if res.RangingSession == ble.RangingSession {
		t.Fatalf("two transactions gave the same session %v", res.RangingSession)
	}
	for _, r := range []Result{res, ble} {
		want, _ := r.RangingKey()
		var vk, dk ranging.URSK
		if err := w.reader.RangingKey(r.RangingSession, &vk); err != nil {
			t.Fatal(err)
		}
		if err := w.applet.RangingKey(r.RangingSession, &dk); err != nil {
			t.Fatal(err)
		}
		if !vk.Equal(&dk) || [32]byte(vk) != [32]byte(want.Bytes()) {
			t.Errorf("session %v: the two sides keep different URSKs", r.RangingSession)
		}
	}
	if n, m := len(w.reader.RangingKeys()), len(w.applet.RangingKeys()); n != 2 || m != 2 {
		t.Errorf("%d URSKs on the vehicle, %d on the device, want 2", n, m)
	}
	if ks := w.applet.RangingKeys(); ks[0].Vehicle != w.vid || !ks[0].Expires.Equal(w.clock.now().Add(device.DefaultURSKTTL)) {
		t.Errorf("device ranging keys = %+v", ks)
	}

	// The URSKs survive a restart while their TTL allows.
	w.clock.advance(time.Hour)
	w.restart(t)
	vs, ds, err := w.setup(res.RangingSession)
	if err != nil {
		t.Fatalf("ranging setup after a restart: %v", err)
	}
	var vr, dr ranging.RoundKeys
	p := vs.Params()
	if err := vs.RoundKeys(p.STSIndex0, &vr); err != nil {
		t.Fatal(err)
	}
	if err := ds.RoundKeys(p.STSIndex0, &dr); err != nil {
		t.Fatal(err)
	}
	if !vr.DURSK.Equal(&dr.DURSK) || p != ds.Params() {
		t.Errorf("the two sides derive different round keys")
	}

	// A ranging-key transaction is a standard one: Kpersistent rotated,
	// and the next unlock is fast.
	if r, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock); err != nil || !r.Fast {
		t.Errorf("unlock after the ranging-key transactions: %+v, %v", r, err)
	}
	// Other transactions keep no URSK.
	if r, err := w.reader.Transact(context.Background(), w.card, dkey.ActionEngineStart); err != nil || r.RangingKeyStored || !r.HasRangingKey {
		t.Errorf("engine start: %+v, %v", r, err)
	}
	if n := len(w.applet.RangingKeys()); n != 2 {
		t.Errorf("%d URSKs on the device after an engine start", n)
	}

	// Past its TTL a URSK is gone at the next restart.
	w.clock.advance(device.DefaultURSKTTL)
	w.restart(t)
	if n, m := len(w.reader.RangingKeys()), len(w.applet.RangingKeys()); n != 0 || m != 0 {
		t.Errorf("%d and %d URSKs after their TTL and a restart", n, m)
	}
}

// TestRangingRefusals covers the negative cases of issue 14 at the level
// of the device and the vehicle: ranging with the URSK of a terminated or
// suspended key, an expired URSK, slot exhaustion on either side, a
// session ID that matches no URSK. Each is a typed error; a refused
// transaction changes nothing stored.
func TestRangingRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(t *testing.T, w *r3World) // after the ranging-key transaction
		want  error
	}{
		{"device key terminated", func(t *testing.T, w *r3World) { must(t, w.applet.Terminate(w.vid)) }, ranging.ErrRangingKeyRevoked},
		{"device key suspended", func(t *testing.T, w *r3World) { must(t, w.applet.Suspend(w.vid)) }, ranging.ErrRangingKeyRevoked},
		{"lost mode", func(t *testing.T, w *r3World) { must(t, w.applet.SetLostMode(true)) }, ranging.ErrRangingKeyRevoked},
		{"vehicle key removed", func(t *testing.T, w *r3World) { must(t, w.reader.Remove(w.slot)) }, ranging.ErrRangingKeyRevoked},
		{"vehicle key suspended", func(t *testing.T, w *r3World) { must(t, w.reader.SetState(w.slot, dkey.KeySuspended)) }, ranging.ErrRangingKeyRevoked},
		{"URSK expired", func(t *testing.T, w *r3World) { w.clock.advance(device.DefaultURSKTTL) }, ranging.ErrRangingKeyExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newR3World(t, nil, nil)
			res := w.rangingTransaction(t, w.card)
			tc.after(t, w)
			if _, _, err := w.setup(res.RangingSession); !errors.Is(err, tc.want) {
				t.Errorf("ranging setup: %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("unknown session", func(t *testing.T) {
		w := newR3World(t, nil, nil)
		w.rangingTransaction(t, w.card)
		var k ranging.URSK
		unknown := ranging.SessionID{1, 2, 3, 4}
		if err := w.reader.RangingKey(unknown, &k); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("vehicle: %v", err)
		}
		if err := w.applet.RangingKey(unknown, &k); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("device: %v", err)
		}
		if _, _, err := w.setup(unknown); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("ranging setup: %v, want ErrNoRangingKey", err)
		}
	})

	t.Run("lost mode deletes", func(t *testing.T) {
		w := newR3World(t, nil, nil)
		res := w.rangingTransaction(t, w.card)
		must(t, w.applet.SetLostMode(true))
		if n := len(w.applet.RangingKeys()); n != 0 {
			t.Errorf("%d URSKs in lost mode", n)
		}
		must(t, w.applet.SetLostMode(false))
		var k ranging.URSK
		if err := w.applet.RangingKey(res.RangingSession, &k); !errors.Is(err, ranging.ErrRangingKeyRevoked) {
			t.Errorf("after lost mode: %v, want ErrRangingKeyRevoked", err)
		}
		w.restart(t)
		if err := w.applet.RangingKey(res.RangingSession, &k); !errors.Is(err, ranging.ErrNoRangingKey) {
			t.Errorf("after lost mode and a restart: %v, want ErrNoRangingKey", err)
		}
	})

	for _, side := range []string{"device", "vehicle"} {
		t.Run("slots full on the "+side, func(t *testing.T) {
			w := newR3World(t, func(v *Config, d *device.Config) {
				if side == "device" {
					d.Ranging.Slots = 1
				} else {
					v.Ranging.Slots = 1
				}
			}, nil)
			first := w.rangingTransaction(t, w.card)
			before := w.snapshot()
			res, err := w.reader.Transact(context.Background(), w.card, dkey.ActionRangingKey)
			if !errors.Is(err, ranging.ErrKeySlotsFull) || res.RangingKeyStored || res.ControlFlow != 0 {
				t.Fatalf("second ranging-key transaction = %+v, %v; want ErrKeySlotsFull", res, err)
			}
			if side == "device" && !errors.Is(err, dkey.SWRangingKeyFull) {
				t.Errorf("the device's refusal is %v, want 6484", err)
			}
			w.assertUnchanged(t, before)
			if n, m := len(w.reader.RangingKeys()), len(w.applet.RangingKeys()); n != 1 || m != 1 {
				t.Errorf("%d and %d URSKs after the refusal, want 1", n, m)
			}
			// An expired URSK makes room.
			w.clock.advance(device.DefaultURSKTTL)
			second := w.rangingTransaction(t, w.card)
			var k ranging.URSK
			if err := w.applet.RangingKey(first.RangingSession, &k); !errors.Is(err, ranging.ErrNoRangingKey) {
				t.Errorf("the expired URSK: %v", err)
			}
			if err := w.reader.RangingKey(second.RangingSession, &k); err != nil {
				t.Error(err)
			}
		})
	}
}

// snapshot is the state a refused transaction must not change.
func (w *r3World) snapshot() snapshot {
	return (&world{reader: w.reader, applet: w.applet}).snapshot()
}

func (w *r3World) assertUnchanged(t *testing.T, before snapshot) {
	t.Helper()
	(&world{reader: w.reader, applet: w.applet}).assertUnchanged(t, before)
}
