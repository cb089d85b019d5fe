package mdoc

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// printVerbs are the verbs a careless log line uses.
var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"}

// checkRedacted fails if printing v with any verb gives other than want or
// shows any of the secret byte strings (hex, either case, or fmt's decimal
// array form).
func checkRedacted(t *testing.T, name string, v any, want string, secrets ...[]byte) {
	t.Helper()
	for _, verb := range printVerbs {
		got := fmt.Sprintf(verb, v)
		if got != want {
			t.Errorf("%s %s = %q, want %q", name, verb, got, want)
		}
		for _, s := range secrets {
			dec := strings.Trim(fmt.Sprint([]byte(s[:4])), "[]")
			if strings.Contains(strings.ToLower(got), hex.EncodeToString(s[:4])) || strings.Contains(got, dec) {
				t.Errorf("%s %s = %q shows secret bytes", name, verb, got)
			}
		}
	}
}

// TestPrintSecretValue: a Secret redacts itself printed through a pointer
// or as a value copy (*s), whatever the verb.
func TestPrintSecretValue(t *testing.T) {
	b := make([]byte, SecretSize)
	for i := range b {
		b[i] = byte(0xB8 + i)
	}
	s, err := SecretFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	checkRedacted(t, "*Secret", s, "mdoc.Secret(redacted)", b)
	checkRedacted(t, "Secret", *s, "mdoc.Secret(redacted)", b)
}

// TestPrintSessionKeysValue: SessionKeys redact themselves printed through
// a pointer or as a value copy (*k), whatever the verb.
func TestPrintSessionKeysValue(t *testing.T) {
	material := make([]byte, 32)
	for i := range material {
		material[i] = byte(0x51 + i)
	}
	k, err := AliroStepUpKeys(material)
	if err != nil {
		t.Fatal(err)
	}
	if k.reader == ([32]byte{}) || k.device == ([32]byte{}) {
		t.Fatal("the keys are zero; the test needs real key bytes")
	}
	checkRedacted(t, "*SessionKeys", k, "mdoc.SessionKeys(redacted)", k.reader[:], k.device[:])
	checkRedacted(t, "SessionKeys", *k, "mdoc.SessionKeys(redacted)", k.reader[:], k.device[:])
}
