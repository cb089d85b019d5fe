package vehicle

import (
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// TestZeroReaderMisuse: every exported method of a Reader not made by
// NewReader returns ErrNotInitialized or a zero answer instead of
// panicking; Close is a no-op and printing works.
func TestZeroReaderMisuse(t *testing.T) {
	var r Reader
	slot, err := dkey.NewKeySlot([]byte("slot"))
	if err != nil {
		t.Fatal(err)
	}
	card := transporttest.NewCard(nil)
	errs := map[string]func() error{
		"Transact": func() error {
			res, err := r.Transact(t.Context(), card, dkey.ActionUnlock)
			if res.Err != err {
				return fmt.Errorf("Result.Err %v, returned %w", res.Err, err)
			}
			return err
		},
		"Pair": func() error { _, err := r.Pair(t.Context(), card); return err },
		"Enroll": func() error {
			return r.Enroll(Enrollment{Slot: slot, PublicKey: pairKey(t).PublicKey()})
		},
		"Remove":             func() error { return r.Remove(slot) },
		"SetState":           func() error { return r.SetState(slot, dkey.KeySuspended) },
		"EnrollIssuer":       func() error { return r.EnrollIssuer(nil) },
		"RemoveIssuer":       func() error { return r.RemoveIssuer([8]byte{}) },
		"InstallVerifier":    func() error { return r.InstallVerifier(nil) },
		"ReplaceOwner":       func() error { return r.ReplaceOwner(nil) },
		"ReplaceOwnerDevice": func() error { return r.ReplaceOwnerDevice(nil) },
		"RemoveVerifier":     func() error { return r.RemoveVerifier() },
		"ApplyCommand":       func() error { return r.ApplyCommand(nil) },
		"RKEKey":             func() error { _, _, _, err := r.RKEKey(dkey.KeySlot{}); return err },
		"BLEKeys":            func() error { _, err := r.BLEKeys(dkey.KeySlot{}); return err },
		"RangingKey":         func() error { var k ranging.URSK; return r.RangingKey(ranging.SessionID{}, &k) },
		"DeleteRangingKey":   func() error { return r.DeleteRangingKey(ranging.SessionID{}) },
	}
	for name, call := range errs {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrNotInitialized) {
				t.Errorf("%s of a zero Reader = %v, want ErrNotInitialized", name, err)
			}
		})
	}
	if r.ID() != (dkey.VehicleID{}) || r.PublicKey() != nil || r.Profile() != 0 {
		t.Errorf("ID, PublicKey, Profile of a zero Reader = %v, %v, %v, want zero", r.ID(), r.PublicKey(), r.Profile())
	}
	if len(r.Keys()) != 0 || len(r.Issuers()) != 0 || len(r.RangingKeys()) != 0 || r.PairingAttempts() != 0 || r.EphemeralKeysReady() != 0 || r.Revocations() != nil {
		t.Error("a zero Reader reports keys, issuers, ranging keys, attempts, ephemeral keys or revocations")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, &r); s != "vehicle.Reader{not initialized}" {
			t.Errorf("%s of a zero Reader = %q", verb, s)
		}
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close of a zero Reader = %v, want nil", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close of a zero Reader = %v, want nil", err)
	}
}
