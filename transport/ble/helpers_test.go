package ble

import (
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hexadecimal with optional spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("unhex(%q): %v", s, err)
	}
	return b
}
