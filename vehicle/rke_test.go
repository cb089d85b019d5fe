package vehicle

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/ble"
)

// rkeState is what an RKE exchange must not change: both sides' keys.
func (w *r3World) rkeState() string {
	return fmt.Sprint(w.reader.Keys(), w.applet.Keys(), w.applet.LostMode())
}

// rkeExchange runs one remote keyless entry in memory, as the BLE link
// carries it (docs/protocol.md §8.6): the device's request, the vehicle's
// challenge for the key of slot, the device's signature, the vehicle's
// verification.
func rkeExchange(v *ble.RKEVehicle, d *ble.RKEDevice, slot dkey.KeySlot, req ble.RKERequest) (ble.RKEGrant, ble.Challenge, error) {
	if _, err := d.Request(req); err != nil {
		return ble.RKEGrant{}, ble.Challenge{}, err
	}
	c, err := v.Challenge(slot, req)
	if err != nil {
		return ble.RKEGrant{}, c, err
	}
	sig, _, err := d.Answer(c)
	if err != nil {
		return ble.RKEGrant{}, c, err
	}
	g, err := v.Verify(c, sig)
	return g, c, err
}

var trunk = ble.RKERequest{Function: ble.FunctionTrunkManual, Action: ble.ActionActivate}

// TestRKE runs remote keyless entry between a vehicle.Reader (the RKE
// core's keys) and a device.Applet (its signer), and the refusals of
// issue 13 at this level: a suspended key (on either side), a signature by
// another key, a function the key is not entitled to, a replayed
// challenge, lost mode, a key without express mode, a key outside its
// validity window. Each refusal is a typed error and changes no state.
func TestRKE(t *testing.T) {
	newRKE := func(t *testing.T, w *r3World) *ble.RKEVehicle {
		t.Helper()
		v, err := ble.NewRKEVehicle(&ble.RKEConfig{Keys: w.reader, Time: w.clock.now})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	t.Run("granted, then replayed", func(t *testing.T) {
		w := newR3World(t, nil, nil)
		v := newRKE(t, w)
		g, c, err := rkeExchange(v, ble.NewRKEDevice(w.vid, w.applet), w.slot, trunk)
		if err != nil || g.Slot != w.slot || g.Request != trunk || g.Profile != dkey.OwnerProfile() {
			t.Fatalf("RKE = %+v, %v", g, err)
		}
		before := w.rkeState()
		// The same challenge answered again, even with a fresh signature.
		d := ble.NewRKEDevice(w.vid, w.applet)
		if _, err := d.Request(trunk); err != nil {
			t.Fatal(err)
		}
		sig, _, err := d.Answer(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(c, sig); !errors.Is(err, ble.ErrChallengeUsed) {
			t.Errorf("replayed challenge: %v, want ErrChallengeUsed", err)
		}
		if after := w.rkeState(); after != before {
			t.Errorf("a replay changed the state:\n%s\n%s", before, after)
		}
	})

	for _, tc := range []struct {
		name string
		// setup prepares the world; it runs before the request.
		setup func(t *testing.T, w *r3World)
		// between runs after the challenge, before the answer.
		between func(t *testing.T, w *r3World)
		// signer answers instead of the world's applet when set.
		signer  func(t *testing.T, w *r3World) ble.RKESigner
		req     ble.RKERequest
		want    error
		status  ble.ExecutionStatus
		profile dkey.AccessProfile
	}{
		{name: "suspended by the vehicle", want: dkey.ErrKeySuspended, status: ble.ExecAuthenticationError,
			setup: func(t *testing.T, w *r3World) { must(t, w.reader.SetState(w.slot, dkey.KeySuspended)) }},
		{name: "suspended by the vehicle after the challenge", want: dkey.ErrKeySuspended, status: ble.ExecAuthenticationError,
			between: func(t *testing.T, w *r3World) { must(t, w.reader.SetState(w.slot, dkey.KeySuspended)) }},
		{name: "suspended on the device", want: dkey.ErrKeySuspended, status: ble.ExecAuthenticationError,
			setup: func(t *testing.T, w *r3World) { must(t, w.applet.Suspend(w.vid)) }},
		{name: "lost mode", want: dkey.ErrKeySuspended, status: ble.ExecAuthenticationError,
			between: func(t *testing.T, w *r3World) { must(t, w.applet.SetLostMode(true)) }},
		{name: "express mode off", want: dkey.ErrUserAuthenticationRequired, status: ble.ExecAuthenticationError,
			setup: func(t *testing.T, w *r3World) { must(t, w.applet.SetExpress(w.vid, false)) }},
		{name: "signed by another key", want: dkey.ErrVerification, status: ble.ExecAuthenticationError,
			signer: func(t *testing.T, w *r3World) ble.RKESigner {
				// Another phone whose key the vehicle enrolled too.
				other, err := device.NewApplet(nil)
				if err != nil {
					t.Fatal(err)
				}
				info, err := other.CreateKey(device.KeyConfig{VehicleID: w.vid, VehicleKey: w.reader.PublicKey()})
				if err != nil {
					t.Fatal(err)
				}
				must(t, w.reader.Enroll(Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Role: dkey.RoleFriend, Profile: dkey.OwnerProfile()}))
				return other
			}},
		{name: "function not entitled", want: dkey.ErrNotEntitled, status: ble.ExecInsufficientEntitlements,
			req:     ble.RKERequest{Function: ble.FunctionRemoteClimatisation, Action: ble.ActionActivate},
			profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock | dkey.EntitleTrunk}},
		{name: "outside the validity window", want: dkey.ErrKeyExpired, status: ble.ExecAuthenticationError,
			profile: dkey.OwnerProfile(), setup: func(t *testing.T, w *r3World) { w.clock.advance(48 * time.Hour) }},
		{name: "removed", want: dkey.ErrUnknownKey, status: ble.ExecAuthenticationError,
			setup: func(t *testing.T, w *r3World) { must(t, w.reader.Remove(w.slot)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newR3World(t, nil, func(e *Enrollment) {
				if tc.profile.Entitlements != 0 {
					// The key of the case's profile, valid for a day.
					e.Profile, e.NotAfter = tc.profile, time.Date(2026, 3, 5, 5, 6, 7, 0, time.UTC)
				}
			})
			var signer ble.RKESigner = w.applet
			if tc.signer != nil {
				signer = tc.signer(t, w)
			}
			if tc.setup != nil {
				tc.setup(t, w)
			}
			before := w.rkeState()
			v := newRKE(t, w)
			d := ble.NewRKEDevice(w.vid, signer)
			req := tc.req
			if req == (ble.RKERequest{}) {
				req = trunk
			}
			if _, err := d.Request(req); err != nil {
				t.Fatal(err)
			}
			c, err := v.Challenge(w.slot, req)
			if err == nil {
				if tc.between != nil {
					tc.between(t, w)
					before = w.rkeState()
				}
				var sig dkey.Signature
				if sig, _, err = d.Answer(c); err == nil {
					_, err = v.Verify(c, sig)
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("RKE = %v, want %v", err, tc.want)
			}
			if s := ble.RefusalStatus(err); s != tc.status {
				t.Errorf("RefusalStatus(%v) = %v, want %v", err, s, tc.status)
			}
			if after := w.rkeState(); after != before {
				t.Errorf("the refusal changed the state:\n%s\n%s", before, after)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRKEUserAuthentication checks that a key without express mode signs
// while the user authentication the host recorded is valid, as it would
// transact.
func TestRKEUserAuthentication(t *testing.T) {
	w := newR3World(t, nil, nil)
	must(t, w.applet.SetExpress(w.vid, false))
	w.applet.AuthenticateUser(w.clock.now().Add(time.Minute))
	v, err := ble.NewRKEVehicle(&ble.RKEConfig{Keys: w.reader, Time: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rkeExchange(v, ble.NewRKEDevice(w.vid, w.applet), w.slot, trunk); err != nil {
		t.Fatalf("RKE with a valid user authentication: %v", err)
	}
	w.clock.advance(2 * time.Minute)
	if _, _, err := rkeExchange(v, ble.NewRKEDevice(w.vid, w.applet), w.slot, trunk); !errors.Is(err, dkey.ErrUserAuthenticationRequired) {
		t.Errorf("RKE after the authentication expired: %v", err)
	}
	if _, err := w.applet.SignRKE(dkey.VehicleID{}, new([32]byte)); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("SignRKE for an unknown vehicle: %v", err)
	}
	must(t, w.reader.Close())
	if _, _, _, err := w.reader.RKEKey(w.slot); !errors.Is(err, ErrClosed) {
		t.Errorf("RKEKey on a closed reader: %v", err)
	}
}
