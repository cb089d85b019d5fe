package mdoc

import (
	"strings"
	"testing"
)

// TestNilSecretOrKeys: the constructors that take a Home Key secret or the
// Aliro step-up keys return an error for nil (what a caller holds after
// ignoring the error of ParseHomeKeyExchange or AliroStepUpKeys) instead
// of panicking.
func TestNilSecretOrKeys(t *testing.T) {
	_, keysErr := AliroStepUpKeys(make([]byte, 64)) // fails: the nil a careless caller passes on
	if keysErr == nil {
		t.Fatal("AliroStepUpKeys(64 bytes) succeeded; the test needs its failure")
	}
	tests := []struct {
		name string
		call func() (any, error)
		want string
	}{
		{"NewHomeKeyReader", func() (any, error) { return NewHomeKeyReader(nil, &ReaderConfig{}) }, "needs a Secret"},
		{"NewStepUpReader", func() (any, error) { return NewStepUpReader(nil, &ReaderConfig{}) }, "needs SessionKeys"},
		{"NewHomeKeyDevice", func() (any, error) { return NewHomeKeyDevice(nil, &DeviceConfig{}) }, "needs a Secret"},
		{"NewStepUpDevice", func() (any, error) { return NewStepUpDevice(nil, &DeviceConfig{}) }, "needs SessionKeys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err == nil {
				t.Fatalf("%s(nil, ...) = %v, nil; want an error", tt.name, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s(nil, ...) error %q does not say %q", tt.name, err, tt.want)
			}
		})
	}
}
