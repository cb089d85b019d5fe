package certtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/cert/certtest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/redacttest"
)

func newPKI(t *testing.T) *certtest.PKI {
	t.Helper()
	p, err := certtest.New()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return p
}

// An instance CA of the PKI certifies endpoints that a vehicle trusting
// the PKI's Device OEM root accepts, and one trusting another PKI refuses.
func TestInstanceCA(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	ca, caKey, err := p.InstanceCA("phone")
	if err != nil {
		t.Fatalf("InstanceCA() = %v", err)
	}
	if got, want := ca.Subject.CommonName, "phone instance CA"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if !ca.NotBefore.Before(time.Now().Add(-certtest.Backdate/2)) || ca.NotAfter.Before(time.Now().Add(certtest.Lifetime-time.Hour)) {
		t.Errorf("validity %v to %v, want from %v before now for %v", ca.NotBefore, ca.NotAfter, certtest.Backdate, certtest.Lifetime)
	}
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	if err != nil {
		t.Fatal(err)
	}
	_, vehicleKey, err := p.Vehicle("VIN00001")
	if err != nil {
		t.Fatal(err)
	}
	endpointKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	slot, err := dkey.NewKeySlot([]byte("owner001"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	leaf, err := cert.NewEndpoint(cert.Template{Subject: ca.Subject, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)},
		&cert.EndpointExtension{Version: 1, VehicleID: vid, ProtocolVersion: dkey.Version1, VehiclePublicKey: vehicleKey.PublicKey(), InitialKeySlot: slot},
		endpointKey.PublicKey(), ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{leaf.Raw, ca.Raw}
	ep, err := (&cert.Config{DeviceRoots: p.DeviceRoots()}).VerifyEndpoint(chain, vid, vehicleKey.PublicKey())
	if err != nil {
		t.Fatalf("VerifyEndpoint(chain of the PKI) = %v", err)
	}
	if !ep.Key.Equal(endpointKey.PublicKey()) {
		t.Errorf("VerifyEndpoint key %v, want %v", ep.Key, endpointKey.PublicKey())
	}
	if _, err := (&cert.Config{DeviceRoots: other.DeviceRoots()}).VerifyEndpoint(chain, vid, vehicleKey.PublicKey()); !errors.Is(err, cert.ErrUnknownRoot) {
		t.Errorf("VerifyEndpoint(chain of another PKI) = %v, want %v", err, cert.ErrUnknownRoot)
	}
}

// A vehicle certificate binds the vehicle's new key and verifies up to
// the PKI's Vehicle OEM root only.
func TestVehicle(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	vc, key, err := p.Vehicle("VIN00001")
	if err != nil {
		t.Fatalf("Vehicle() = %v", err)
	}
	if got, want := vc.Subject.CommonName, "Vehicle VIN00001"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	v, err := (&cert.Config{VehicleRoots: p.VehicleRoots()}).VerifyVehicle([][]byte{vc.Raw})
	if err != nil {
		t.Fatalf("VerifyVehicle() = %v", err)
	}
	if !v.Key.Equal(key.PublicKey()) {
		t.Errorf("VerifyVehicle key %v, want %v", v.Key, key.PublicKey())
	}
	if _, err := (&cert.Config{VehicleRoots: other.VehicleRoots()}).VerifyVehicle([][]byte{vc.Raw}); !errors.Is(err, cert.ErrUnknownRoot) {
		t.Errorf("VerifyVehicle(another PKI's root) = %v, want %v", err, cert.ErrUnknownRoot)
	}
	// A device root is no vehicle root.
	if _, err := (&cert.Config{VehicleRoots: p.DeviceRoots()}).VerifyVehicle([][]byte{vc.Raw}); err == nil {
		t.Error("VerifyVehicle() with the Device OEM root as the vehicle root succeeded")
	}
}

// Each call draws new keys.
func TestKeysAreNew(t *testing.T) {
	p := newPKI(t)
	_, a, err := p.InstanceCA("a")
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := p.InstanceCA("a")
	if err != nil {
		t.Fatal(err)
	}
	if a.PublicKey().Equal(b.PublicKey()) || p.DeviceRootKey.PublicKey().Equal(p.VehicleRootKey.PublicKey()) {
		t.Error("two keys of the PKI are the same")
	}
}

// A PKI prints its roots' names, never its root keys.
func TestFormatRedacts(t *testing.T) {
	p := newPKI(t)
	var secrets [][]byte
	for _, k := range []*dkey.SoftwareKey{p.DeviceRootKey, p.VehicleRootKey} {
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, b)
	}
	if err := redacttest.Leak(*p, secrets...); err != nil {
		t.Error(err)
	}
	if got, want := p.String(), "certtest.PKI{Device OEM Root, Vehicle OEM Root}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
