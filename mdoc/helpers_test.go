package mdoc

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// readTranscript loads a transcript from testdata.
func readTranscript(t testing.TB, name string) transporttest.Transcript {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transporttest.ParseTranscript(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tr
}

// hexString is a JSON hex string.
type hexString []byte

func (h *hexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	*h = v
	return err
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixedKey returns the P-256 software key of scalar s (1 ≤ s < n).
func fixedKey(t testing.TB, s byte) *dkey.SoftwareKey {
	t.Helper()
	var raw [32]byte
	raw[31] = s
	raw[0] = 0x42
	k, err := dkey.NewSoftwareKey(raw[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPub(t testing.TB, k *dkey.SoftwareKey) *dkey.PublicKey {
	t.Helper()
	p, err := dkey.PublicKeyOf(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testTime is the fixed "now" of the tests.
var testTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testTime }
