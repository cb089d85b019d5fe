package pairing

import (
	"strings"
	"testing"
)

// TestNewDeviceSessionNilConfig: a nil DeviceConfig is an error naming what
// is missing, not a panic, as for NewVehicleSession.
func TestNewDeviceSessionNilConfig(t *testing.T) {
	d, err := NewDeviceSession(nil, newMemStore(), []byte("271828"))
	if err == nil || d != nil {
		t.Fatalf("NewDeviceSession(nil, ...) = %v, %v; want an error", d, err)
	}
	if !strings.Contains(err.Error(), "needs a DeviceConfig") {
		t.Errorf("error %q does not name the missing DeviceConfig", err)
	}
}

// TestNewVehicleSessionNilConfig: a nil VehicleConfig with a real verifier
// is an error, not a panic; so is Validate on a nil configuration.
func TestNewVehicleSessionNilConfig(t *testing.T) {
	v, err := NewVerifier([]byte("1"), make([]byte, SaltSize), fastParams)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewVehicleSession(nil, v)
	if err == nil || s != nil {
		t.Fatalf("NewVehicleSession(nil, v) = %v, %v; want an error", s, err)
	}
	if !strings.Contains(err.Error(), "needs a VehicleConfig") {
		t.Errorf("error %q does not name the missing VehicleConfig", err)
	}
	var cfg *VehicleConfig
	if err := cfg.Validate(); err == nil {
		t.Error("(*VehicleConfig)(nil).Validate() = nil; want an error")
	}
}
