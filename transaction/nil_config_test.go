package transaction

import (
	"strings"
	"testing"
)

// TestNewVehicleParamsNilConfig: a nil VehicleConfig is an error naming
// what is missing, not a panic.
func TestNewVehicleParamsNilConfig(t *testing.T) {
	v, err := NewVehicleParams(nil)
	if err == nil || v != nil {
		t.Fatalf("NewVehicleParams(nil) = %v, %v; want an error", v, err)
	}
	if !strings.Contains(err.Error(), "needs a VehicleConfig") {
		t.Errorf("error %q does not name the missing VehicleConfig", err)
	}
}

// TestNewAliroReaderNilConfig: a nil AliroReaderConfig is an error naming
// what is missing, not a panic.
func TestNewAliroReaderNilConfig(t *testing.T) {
	r, err := NewAliroReader(nil)
	if err == nil || r != nil {
		t.Fatalf("NewAliroReader(nil) = %v, %v; want an error", r, err)
	}
	if !strings.Contains(err.Error(), "needs an AliroReaderConfig") {
		t.Errorf("error %q does not name the missing AliroReaderConfig", err)
	}
}

// TestNewAliroEndpointSessionNilConfig: a nil config is the zero one, so
// the session answers SELECT exactly as one made from an empty config.
func TestNewAliroEndpointSessionNilConfig(t *testing.T) {
	s, err := NewAliroEndpointSession(nil)
	if err != nil || s == nil {
		t.Fatalf("NewAliroEndpointSession(nil) = %v, %v", s, err)
	}
	z, err := NewAliroEndpointSession(&AliroEndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.fci[:s.fciN], z.fci[:z.fciN]; string(got) != string(want) {
		t.Errorf("SELECT response with nil config = % X, with zero config % X", got, want)
	}
	if s.versions != z.versions || s.iface != InterfaceNFC {
		t.Errorf("nil config: versions %v interface %#x; want %v and InterfaceNFC", s.versions, s.iface, z.versions)
	}
}

// TestNewFastKeyNilArgument: NewFastKey with a nil endpoint key or a nil
// Kpersistent returns an inert entry, not a panic: Valid reports false and
// FindFast skips it, still finding the real entry after it.
func TestNewFastKeyNilArgument(t *testing.T) {
	tr, _, cred := aliroPair(t)
	pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	noEndpoint, noKey := NewFastKey(nil, &pk), NewFastKey(cred.PublicKey, nil)
	for name, k := range map[string]FastKey{"nil endpoint": noEndpoint, "nil Kpersistent": noKey} {
		if k.Valid() {
			t.Errorf("NewFastKey with a %s is valid", name)
		}
	}
	good := NewFastKey(cred.PublicKey, &pk)
	if !good.Valid() {
		t.Fatal("NewFastKey with both arguments is not valid")
	}
	i, err := tr.fast(AliroPolicyUserDevice, []FastKey{noEndpoint, noKey, good})
	if err != nil || i != 2 {
		t.Fatalf("FindFast = %d, %v; want the real entry, 2", i, err)
	}
}
