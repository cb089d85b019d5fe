package spake2plus

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// readJSON decodes the testdata file name into v.
func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
}

// checkBytes reports a difference between got and want, named by what.
func checkBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

// scalarOf returns b as a scalar array; b must be 32 bytes.
func scalarOf(t testing.TB, b []byte) *[scalarSize]byte {
	t.Helper()
	if len(b) != scalarSize {
		t.Fatalf("scalar %x: length %d, want %d", b, len(b), scalarSize)
	}
	return (*[scalarSize]byte)(b)
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
