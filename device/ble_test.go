package device

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/store"
)

// TestBLEKeysStored checks that the BLE keys of owner pairing are kept in
// the secure element of an applet with a store, survive a restart, are
// refused while the key is suspended, and go with the key.
func TestBLEKeysStored(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 5)
	s := newPairingSetup(t, dkey.CCC, withStore(m, kek))
	if err := s.applet.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t, nil); err != nil {
		t.Fatal(err)
	}
	vid := s.vehicle.VehicleID
	keys, err := s.applet.BLEKeys(vid)
	if err != nil || keys == (pairing.BLEKeys{}) {
		t.Fatalf("BLEKeys = %v", err)
	}
	if _, err := s.applet.BLEKeys(dkey.VehicleID{}); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("BLEKeys of an unknown vehicle: %v", err)
	}
	must(t, s.applet.Close())
	cfg := *s.cfg
	cfg.Store = m.Reopen()
	a, err := NewApplet(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if again, err := a.BLEKeys(vid); err != nil || again != keys {
		t.Fatalf("BLE keys after a restart: %v", err)
	}
	must(t, a.Suspend(vid))
	if _, err := a.BLEKeys(vid); !errors.Is(err, dkey.ErrKeySuspended) {
		t.Errorf("BLEKeys of a suspended key: %v", err)
	}
	must(t, a.Resume(vid))
	info, _ := a.Key(vid)
	must(t, a.Terminate(vid))
	var buf [bleKeysSize]byte
	if _, err := a.se.Secret(buf[:0], SecretID{Key: a.keys[0].id, Kind: SecretBLE}); !errors.Is(err, ErrNoSecret) || a.keys[0].cred.Slot != info.Slot {
		t.Errorf("the BLE keys outlived their key: %v", err)
	}
	// A key created directly has none.
	vid2, vk := testVehicle(t, dkey.CCC)
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid2, VehicleKey: vk}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.BLEKeys(vid2); !errors.Is(err, ErrNoSecret) {
		t.Errorf("BLEKeys of a key from CreateKey: %v", err)
	}
}

// TestSignRKE checks the applet's RKE signature: the key's signature over
// the digest, under the policy of a transaction (lost mode, suspension,
// express mode and user authentication, power reserve).
func TestSignRKE(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	a, err := NewApplet(&Config{Time: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	vid, vk := testVehicle(t, dkey.CCC)
	info, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("challenge, function, action"))
	sig, err := a.SignRKE(vid, &digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := info.PublicKey.VerifyDigest(digest[:], &sig); err != nil {
		t.Errorf("the RKE signature does not verify with the key: %v", err)
	}
	for _, tc := range []struct {
		name       string
		set, unset func() error
		want       error
	}{
		{"lost mode", func() error { return a.SetLostMode(true) }, func() error { return a.SetLostMode(false) }, dkey.ErrKeySuspended},
		{"suspended", func() error { return a.Suspend(vid) }, func() error { return a.Resume(vid) }, dkey.ErrKeySuspended},
		{"express off", func() error { return a.SetExpress(vid, false) }, func() error { return a.SetExpress(vid, true) }, dkey.ErrUserAuthenticationRequired},
		{"power reserve, key not marked", a.EnterPowerReserve, a.ExitPowerReserve, ErrPowerReserve},
	} {
		must(t, tc.set())
		if _, err := a.SignRKE(vid, &digest); !errors.Is(err, tc.want) {
			t.Errorf("%s: SignRKE = %v, want %v", tc.name, err, tc.want)
		}
		must(t, tc.unset())
	}
	must(t, a.SetExpress(vid, false))
	a.AuthenticateUser(now.Add(time.Minute))
	if _, err := a.SignRKE(vid, &digest); err != nil {
		t.Errorf("SignRKE with a valid user authentication: %v", err)
	}
	must(t, a.Close())
	if _, err := a.SignRKE(vid, &digest); !errors.Is(err, ErrClosed) {
		t.Errorf("SignRKE on a closed applet: %v", err)
	}
}
