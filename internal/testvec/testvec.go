// Package testvec holds the test vectors of the SDK that come from outside
// the project (standards bodies, public interoperable implementations, logs
// of real devices), embedded from testdata/ with their provenance, and the
// JSON types that decode them.
//
// Every vector file sits in testdata/<source>/ next to a README that names
// where it came from, its licence, and how it was extracted. Only tests
// import this package.
package testvec

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// HexBytes is a byte string that JSON encodes as a hexadecimal string.
type HexBytes []byte

// UnmarshalJSON decodes a hexadecimal JSON string; spaces are not allowed.
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("testvec: hex string: %w", err)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("testvec: hex string %q: %w", s, err)
	}
	*h = v
	return nil
}

// MarshalJSON encodes h as a lowercase hexadecimal JSON string.
func (h HexBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(hex.EncodeToString(h))
}
