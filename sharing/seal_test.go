package sharing_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/sharing"
)

func TestParseLink(t *testing.T) {
	l, err := sharing.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	s := l.Text()
	if len(s) != 43 {
		t.Fatalf("link fragment %q of %d characters, want 43", s, len(s))
	}
	back, err := sharing.ParseLink(s)
	if err != nil || back.Text() != s {
		t.Fatalf("ParseLink(%q) = %v, %v", s, back, err)
	}
	k1, _ := l.Key()
	k2, _ := back.Key()
	if !k1.PublicKey().Equal(k2.PublicKey()) {
		t.Error("the same link derived two keys")
	}
	for _, tt := range []struct{ name, s string }{
		{"empty", ""},
		{"short", s[:42]},
		{"long", s + "A"},
		{"padded", s[:42] + "="},
		{"standard alphabet", "+" + s[1:]},
		{"slash", "/" + s[1:]},
		{"space", " " + s[1:]},
		// 43 characters carry 258 bits; the last two must be zero, and
		// B is 000001.
		{"non-zero trailing bits", s[:42] + "B"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sharing.ParseLink(tt.s); !errors.Is(err, sharing.ErrMalformed) {
				t.Errorf("ParseLink(%q) = %v, want ErrMalformed", tt.s, err)
			}
		})
	}
}

func TestParseRecipientKey(t *testing.T) {
	k := mustRecipient(t)
	b := k.PublicKey().Bytes()
	got, err := sharing.ParseRecipientKey(b)
	if err != nil || !got.Equal(k.PublicKey()) {
		t.Fatalf("ParseRecipientKey(%x) = %v, %v", b, got, err)
	}
	if got.Equal(nil) || got.Equal(mustRecipient(t).PublicKey()) {
		t.Error("Equal of different keys")
	}
	offCurve := append([]byte(nil), b...)
	offCurve[64] ^= 1
	compressed := append([]byte{2 | b[64]&1}, b[1:33]...)
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", b[:64]},
		{"compressed", compressed},
		{"off the curve", offCurve},
		{"not a point", append([]byte{4}, make([]byte, 64)...)},
		{"prefix 05", append([]byte{5}, b[1:]...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sharing.ParseRecipientKey(tt.b); !errors.Is(err, sharing.ErrMalformed) {
				t.Errorf("ParseRecipientKey(%x) = %v, want ErrMalformed", tt.b, err)
			}
		})
	}
}

func TestNewRecipientPrivateKey(t *testing.T) {
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sharing.NewRecipientPrivateKey(x); err == nil {
		t.Error("NewRecipientPrivateKey(X25519) succeeded")
	}
	if _, err := sharing.NewRecipientPrivateKey(nil); err == nil {
		t.Error("NewRecipientPrivateKey(nil) succeeded")
	}
	p, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sharing.NewRecipientPrivateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.PublicKey().Bytes(), p.PublicKey().Bytes(); string(got) != string(want) {
		t.Errorf("PublicKey() = %x, want %x", got, want)
	}
}

// TestSealPadding: the relay learns a message's size to the block only.
func TestSealPadding(t *testing.T) {
	k := mustRecipient(t)
	for _, tt := range []struct{ n, want int }{
		{0, 2 + 65 + 256 + 16},
		{255, 2 + 65 + 256 + 16},
		{256, 2 + 65 + 512 + 16},
		{sharing.MaxMessageSize - 1, sharing.MaxSealedSize - 16},
	} {
		b, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeToOwner, "", make([]byte, tt.n))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != tt.want {
			t.Errorf("sealed %d bytes into %d, want %d", tt.n, len(b), tt.want)
		}
		pt, err := sharing.OpenForTest(k, sharing.PurposeToOwner, "", b)
		if err != nil || len(pt) != tt.want-2-65-16 {
			t.Errorf("OpenForTest = %d bytes, %v", len(pt), err)
		}
		// The purpose is bound: a message sealed for the owner does not
		// open as one for the friend.
		if _, err := sharing.OpenForTest(k, sharing.PurposeToFriend, "", b); err != sharing.ErrDecrypt {
			t.Errorf("open for another purpose = %v, want ErrDecrypt", err)
		}
	}
	if _, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeToOwner, "", make([]byte, sharing.MaxMessageSize+1)); err == nil {
		t.Error("sealed more than MaxMessageSize")
	}
}

// TestLinkPrintRedacts: printing a link, by value or by pointer, with any
// verb, shows none of its secret (raw, hex, base64 or as numbers); Text is
// the only way to the shareable text.
func TestLinkPrintRedacts(t *testing.T) {
	l, err := sharing.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	text := l.Text()
	secret, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(secret) != sharing.LinkSecretSize {
		t.Fatalf("Text() = %q, not the secret in base64url: %v", text, err)
	}
	leaks := []string{
		string(secret),
		hex.EncodeToString(secret),
		strings.ToUpper(hex.EncodeToString(secret)),
		text,
		base64.StdEncoding.EncodeToString(secret),
		base64.URLEncoding.EncodeToString(secret),
		base64.RawStdEncoding.EncodeToString(secret),
		fmt.Sprint(secret),
		fmt.Sprintf("%#v", secret),
		fmt.Sprintf("%#x", secret[:4]),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []struct {
			name string
			arg  any
		}{{"value", *l}, {"pointer", l}, {"in a struct", struct{ L *sharing.Link }{l}}, {"in a slice", []sharing.Link{*l}}} {
			out := fmt.Sprintf(verb, v.arg)
			if !strings.Contains(out, "redacted") {
				t.Errorf("%s of a link %s = %q, want it redacted", verb, v.name, out)
			}
			for _, leak := range leaks {
				if strings.Contains(out, leak) {
					t.Errorf("%s of a link %s = %q prints its secret (%q)", verb, v.name, out, leak)
				}
			}
		}
	}
	for _, s := range []string{l.String(), l.GoString(), (*l).String()} {
		if s != "sharing.Link(redacted)" {
			t.Errorf("String/GoString = %q", s)
		}
	}
	// Text is the form ParseLink reads back.
	back, err := sharing.ParseLink(text)
	if err != nil || back.Text() != text {
		t.Fatalf("ParseLink(Text()) = %v, %v", back, err)
	}
}

// TestAccessTokenPrintRedacts: a relay access token grants access to its
// mailbox; printing one with any verb, by value, by pointer or inside a
// struct, does not show it. Text is the one way to the token itself.
func TestAccessTokenPrintRedacts(t *testing.T) {
	tok, err := sharing.NewAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	text := tok.Text()
	if back, err := sharing.ParseAccessToken(text); err != nil || back != tok {
		t.Fatalf("ParseAccessToken(Text()) = %v, %v", back, err)
	}
	leaks := []string{
		string(tok[:]), text, hex.EncodeToString(tok[:]), strings.ToUpper(hex.EncodeToString(tok[:])),
		base64.StdEncoding.EncodeToString(tok[:]), fmt.Sprint(tok[:]), fmt.Sprintf("%#x", tok[:4]),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, arg := range []any{tok, &tok, struct{ T sharing.AccessToken }{tok}, sharing.CreatedMailbox{Sender: tok, Fetch: tok}} {
			out := fmt.Sprintf(verb, arg)
			if !strings.Contains(out, "redacted") {
				t.Errorf("%s of %T = %q, want it redacted", verb, arg, out)
			}
			for _, leak := range leaks {
				if strings.Contains(out, leak) {
					t.Errorf("%s of %T = %q prints the token (%q)", verb, arg, out, leak)
				}
			}
		}
	}
}
