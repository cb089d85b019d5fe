package ranging

import "testing"

// TestNilConfig: a nil configuration is an error, not a panic.
func TestNilConfig(t *testing.T) {
	if v, err := NewVehicle(nil); err == nil || v != nil {
		t.Errorf("NewVehicle(nil) = %v, %v; want an error", v, err)
	}
	if d, err := NewDevice(nil); err == nil || d != nil {
		t.Errorf("NewDevice(nil) = %v, %v; want an error", d, err)
	}
}
