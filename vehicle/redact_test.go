package vehicle

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// printVerbs are the verbs a secret-holding value is printed with.
var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}

// secretForms returns the ways a secret could appear in printed text:
// raw, hex, base64, and as the numbers %v of a byte slice prints.
func secretForms(secret []byte) []string {
	nums := strings.Trim(fmt.Sprint(secret), "[]")
	return []string{
		string(secret),
		hex.EncodeToString(secret),
		strings.ToUpper(hex.EncodeToString(secret)),
		base64.StdEncoding.EncodeToString(secret),
		base64.RawURLEncoding.EncodeToString(secret),
		nums,
		fmt.Sprintf("%#v", secret),
	}
}

// checkRedacted fails when any verb prints one of the secrets of args.
func checkRedacted(t *testing.T, name string, args []any, secrets ...[]byte) {
	t.Helper()
	for _, verb := range printVerbs {
		for i, arg := range args {
			out := fmt.Sprintf(verb, arg)
			if !strings.Contains(out, "redacted") {
				t.Errorf("%s of %s (form %d) = %q, want it redacted", verb, name, i, out)
			}
			for _, s := range secrets {
				for _, leak := range secretForms(s) {
					if strings.Contains(out, leak) {
						t.Errorf("%s of %s (form %d) = %q prints a secret (%q)", verb, name, i, out, leak)
					}
				}
			}
		}
	}
}

// configuredLock returns a lock configured with a new signing key, a group
// and the group resolving key grk, with the signing key and the group.
func configuredLock(t *testing.T, grk []byte) (l *AliroLock, sk, group []byte) {
	t.Helper()
	l, err := NewAliroLock(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := pairKey(t)
	sk, _ = k.Bytes()
	group = bytes.Repeat([]byte{0x61}, 16)
	if err := l.SetAliroReaderConfig(AliroReaderConfig{SigningKey: sk, VerificationKey: k.PublicKey().Bytes(), GroupIdentifier: group, GroupResolvingKey: grk}); err != nil {
		t.Fatal(err)
	}
	return l, sk, group
}

// TestAliroAttributesPrintRedactsGroupResolvingKey: the attributes of a
// configured lock print without the group resolving key, by value and by
// pointer, as AliroReaderConfig does; the other attributes print.
func TestAliroAttributesPrintRedactsGroupResolvingKey(t *testing.T) {
	grk := []byte{0x9c, 0x13, 0x5e, 0xa2, 0x04, 0x7f, 0xd1, 0x38, 0x6b, 0xe0, 0x25, 0xc9, 0x4a, 0x17, 0xf3, 0x88}
	l, sk, group := configuredLock(t, grk)
	a := l.AliroAttributes()
	if !bytes.Equal(a.GroupResolvingKey, grk) {
		t.Fatalf("GroupResolvingKey = %x, want %x", a.GroupResolvingKey, grk)
	}
	checkRedacted(t, "AliroAttributes", []any{a, &a, []AliroAttributes{a}}, grk, sk)
	if s := fmt.Sprint(a); !strings.Contains(s, hex.EncodeToString(group)) || !strings.Contains(s, "EndpointKeysSupported:") {
		t.Errorf("String() = %q, want the public attributes", s)
	}
	if s := fmt.Sprint(AliroAttributes{}); !strings.Contains(s, "GroupResolvingKey:null") {
		t.Errorf("String() of no key = %q, want GroupResolvingKey:null", s)
	}
}

// TestAliroReaderConfigPrintRedacts pins the redaction of the signing key
// and the group resolving key of AliroReaderConfig.
func TestAliroReaderConfigPrintRedacts(t *testing.T) {
	k := pairKey(t)
	sk, _ := k.Bytes()
	grk := []byte{0x3d, 0xb2, 0x71, 0x0e, 0xc5, 0x58, 0x9a, 0x26, 0xf4, 0x13, 0x87, 0x6c, 0xe9, 0x40, 0xab, 0x5f}
	c := AliroReaderConfig{SigningKey: sk, VerificationKey: k.PublicKey().Bytes(), GroupIdentifier: bytes.Repeat([]byte{0x61}, 16), GroupResolvingKey: grk}
	checkRedacted(t, "AliroReaderConfig", []any{c, &c, []AliroReaderConfig{c}}, sk, grk)
	if s := c.GoString(); !strings.HasPrefix(s, "vehicle.AliroReaderConfig{") || !strings.Contains(s, hex.EncodeToString(c.VerificationKey)) {
		t.Errorf("GoString() = %q, want the type and the public key", s)
	}
}

// TestAliroLockPrintRedacts pins that a configured lock with an endpoint
// key prints neither its signing key nor the group resolving key.
func TestAliroLockPrintRedacts(t *testing.T) {
	grk := []byte{0x5a, 0xe1, 0x07, 0x93, 0x2c, 0xbd, 0x46, 0xf8, 0x11, 0x6e, 0xa4, 0x39, 0xd7, 0x82, 0x0b, 0xcf}
	l, sk, _ := configuredLock(t, grk)
	if _, err := l.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, pairKey(t).PublicKey().Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	for _, verb := range printVerbs {
		out := fmt.Sprintf(verb, l)
		if out != l.String() || out != l.GoString() || !strings.Contains(out, "1 endpoint keys") {
			t.Errorf("%s of the lock = %q, want String %q", verb, out, l.String())
		}
		for _, s := range [][]byte{sk, grk} {
			for _, leak := range secretForms(s) {
				if strings.Contains(out, leak) {
					t.Errorf("%s of the lock = %q prints a secret (%q)", verb, out, leak)
				}
			}
		}
	}
}
