package redacttest

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

var secret = []byte{0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x17, 0x28, 0x39, 0x4A, 0x5B, 0x6C, 0x7D, 0x8E, 0x9F, 0x10}

// raw holds the secret and redacts nothing.
type raw struct {
	Name string
	key  [16]byte
}

// slice holds it in an exported slice and prints it on purpose.
type slice struct{ Key []byte }

func (s slice) String() string   { return fmt.Sprintf("%x", s.Key[2:8]) }
func (s slice) GoString() string { return "slice" }
func (s slice) Format(f fmt.State, verb rune) {
	switch verb {
	case 'd':
		fmt.Fprint(f, s.Key[5:10]) // [246 23 40 57 74]
	case 'o':
		fmt.Fprintf(f, "%o", s.Key[:6])
	case 'b':
		fmt.Fprintf(f, "%#v", s.Key[1:7])
	case 'c':
		fmt.Fprintf(f, "%c", s.Key[8:12])
	case 'q':
		fmt.Fprintf(f, "%q", s.Key[3:9])
	case 'U':
		fmt.Fprintf(f, "%U", s.Key[4:9])
	case 's':
		f.Write(s.Key[6:12])
	default:
		io.WriteString(f, "slice")
	}
}

// redacted redacts itself.
type redacted struct{ key [16]byte }

func newRedacted() redacted {
	var r redacted
	copy(r.key[:], secret)
	return r
}

func (redacted) String() string               { return "redacttest.redacted(redacted)" }
func (r redacted) GoString() string           { return r.String() }
func (r redacted) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

func TestLeak(t *testing.T) {
	r := newRedacted()
	if err := Leak(r, secret); err != nil {
		t.Errorf("Leak(redacted) = %v", err)
	}
	if err := Leak(&r, secret, secret[:2]); err != nil {
		t.Errorf("Leak(&redacted) = %v", err)
	}
	if r.key[0] != secret[0] {
		t.Fatal("fixture does not hold the secret")
	}
	var k raw
	copy(k.key[:], secret)
	if err := Leak(k, secret); err == nil || !strings.Contains(err.Error(), "does not redact itself") {
		t.Errorf("Leak(raw) = %v, want a missing method", err)
	}
	if err := Shown(k, secret); err == nil || !strings.Contains(err.Error(), "base 10 numbers") {
		t.Errorf("Shown(raw) = %v, want the decimal array of %%v", err)
	}
	// A value that holds the secret behind a pointer prints an address
	// under %v, and the secret under %s.
	holder := struct{ Key *[16]byte }{&k.key}
	if got := fmt.Sprintf("%v", holder); find(got, secret) != "" {
		t.Errorf("%%v of a pointer holder = %q", got)
	}
	if err := Shown(&holder, secret); err == nil || !strings.Contains(err.Error(), "%s") {
		t.Errorf("Shown(&pointer holder) = %v, want the secret under %%s", err)
	}
	// An exported field that redacts itself is redacted.
	if err := Shown(struct{ Key redacted }{r}, secret); err != nil {
		t.Errorf("Shown(redacting field) = %v", err)
	}
	// Each verb of slice shows a part of the secret another way.
	s := slice{Key: secret}
	for _, tt := range []struct{ verb, want string }{
		{"String()", "hex"},
		{"%d", "base 10 numbers"},
		{"%o", "base 8 numbers"},
		{"%b", "base 16 numbers"},
		{"%c", "runes"},
		{"%q", "base 16 numbers"},
		{"%U", "base 16 numbers"},
		{"%s", "raw"},
	} {
		t.Run(tt.verb, func(t *testing.T) {
			text := s.String()
			if tt.verb != "String()" {
				text = fmt.Sprintf(tt.verb, s)
			}
			if got := find(text, secret); got != tt.want {
				t.Errorf("find(%q) = %q, want %q", text, got, tt.want)
			}
		})
	}
	if err := Leak(s, secret); err == nil {
		t.Error("Leak(slice) = nil, want a leak")
	}
	if err := Leak(s, s.Key[14:16]); err != nil {
		t.Errorf("Leak(slice) of a 2-byte secret it never prints whole = %v", err)
	}
	// Base64 of the whole secret.
	if got := find("key=obLD1OX2Fyg5SltsfY6fEA", secret); got != "base64" {
		t.Errorf("find(base64) = %q", got)
	}
	if got := find("", nil); got != "" {
		t.Errorf("find of an empty secret = %q", got)
	}
	// A run of one repeated byte, such as the zero tail of a key array,
	// is not looked for: an address holds zeros too.
	if got := find("0xc002808500", []byte{0, 0, 0, 0, 0, 0}); got != "" {
		t.Errorf("find of zeros in an address = %q", got)
	}
	if got := find("[0 0 0 0 5]", []byte{0, 0, 0, 0, 7}); got != "" {
		t.Errorf("find of a uniform run = %q", got)
	}
}

func TestNumbers(t *testing.T) {
	for _, tt := range []struct {
		text string
		base int
		want []int
	}{
		{"[161 178 300]", 10, []int{161, 178, -1}},
		{"[0xa1, 0xb2]", 16, []int{0xa1, 0xb2}},
		{`"\xa1\xb2"`, 16, []int{0xa1, 0xb2}},
		{"U+00A1 U+00B2", 16, []int{0xa1, 0xb2}},
		{"[241 262]", 8, []int{0xa1, 0xb2}},
		{"10100001 10110010", 2, []int{0xa1, 0xb2}},
		{"no digits", 10, nil},
	} {
		got := numbers(tt.text, tt.base)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("numbers(%q, %d) = %v, want %v", tt.text, tt.base, got, tt.want)
		}
	}
	var tb recorder
	Check(&tb, slice{Key: secret}, secret)
	if !tb.failed {
		t.Error("Check of a leaking value did not fail")
	}
}

// recorder is a testing.TB that records failures.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.failed = true }
