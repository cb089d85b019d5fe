package dkey

import (
	"strings"
	"testing"

	"github.com/opencarkey/sdk/internal/redacttest"
)

// TestSoftwareKeyRedacted (issue 12, finding 7): a software key formats
// with every verb without showing its private scalar, and names its
// public key.
func TestSoftwareKeyRedacted(t *testing.T) {
	k, err := GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	scalar, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{*k, k} {
		redacttest.Check(t, v, scalar)
	}
	if s := k.String(); !strings.Contains(s, hexString(k.PublicKey().Bytes())) {
		t.Errorf("String() = %q, want the public key", s)
	}
	if s := (SoftwareKey{}).String(); s != "dkey.SoftwareKey{}" {
		t.Errorf("zero SoftwareKey.String() = %q", s)
	}
}
