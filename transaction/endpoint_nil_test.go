package transaction

import "testing"

// TestNewEndpointSessionNilConfig: a nil config is the zero one.
func TestNewEndpointSessionNilConfig(t *testing.T) {
	s, err := NewEndpointSession(nil)
	if err != nil || s == nil {
		t.Fatalf("NewEndpointSession(nil) = %v, %v", s, err)
	}
}
