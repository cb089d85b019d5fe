package mdoc

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRevocationDataRoundTrip(t *testing.T) {
	pub := mustPub(t, testDeviceKey(t))
	h := RevocationKeyHash(pub)
	exp := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range []*RevocationData{
		{Mode: RevocationOverwrite},
		{Mode: RevocationOverwrite, Entries: []RevocationEntry{{KeyHash: h[:], Expiry: exp}, {ID: []byte("emp-7")}}},
		{Mode: RevocationAppend, Entries: []RevocationEntry{{KeyHash: h[:], ID: []byte{1}}}, Remove: []RevocationEntry{{ID: []byte{2}}},
			Extensions: map[uint32][]Extension{0xABCDEF: {{ID: 321, Version: 9, Data: []byte{0xA0}}}}},
	} {
		b, err := r.Append(nil)
		if err != nil {
			t.Fatalf("Append(%v): %v", r, err)
		}
		got, err := ParseRevocationData(b)
		if err != nil {
			t.Fatalf("ParseRevocationData(%X): %v", b, err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("round trip of %X (-want +got):\n%s", b, diff)
		}
		for i := range b {
			if _, err := ParseRevocationData(b[:i]); err == nil {
				t.Errorf("the %d-byte prefix of %X parses", i, b)
			}
		}
	}
	e := RevocationEntry{KeyHash: h[:]}
	if !e.Revokes(pub, nil) || e.Revokes(mustPub(t, fixedKey(t, 0x33)), nil) {
		t.Error("Revokes by key hash is wrong")
	}
	e = RevocationEntry{ID: []byte("emp-7")}
	if !e.Revokes(nil, []byte("emp-7")) || e.Revokes(pub, []byte("emp-8")) || e.Revokes(pub, nil) {
		t.Error("Revokes by id is wrong")
	}
}

func TestRevocationDataRefused(t *testing.T) {
	for _, tt := range []struct{ name, hex string }{
		{"no mode", "A10001"},
		{"no version", "A10100"},
		{"mode 2", "A200010102"},
		{"remove in overwrite mode", "A30001010003 80"},
		{"entry with nothing", "A300010101 0281A0"},
		{"hash of 31 bytes", "A300010101 0281A100581F" + "0000000000000000000000000000000000000000000000000000000000000000"[:62]},
		{"empty id", "A300010101 0281A10140"},
		{"untagged expiry", "A300010101 0281A2014101021A66000000"},
		{"expiry 0", "A300010101 0281A2014101 02C100"},
		{"unknown key", "A300010101 0581A0"},
	} {
		b := unhex(t, tt.hex)
		if _, err := ParseRevocationData(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseRevocationData(%X) = %v, want ErrMalformed", tt.name, b, err)
		}
	}
	if _, err := (&RevocationData{Remove: []RevocationEntry{{ID: []byte{1}}}}).Append(nil); err == nil {
		t.Error("Append of removals in overwrite mode succeeded")
	}
	if _, err := (&RevocationData{Entries: []RevocationEntry{{}}}).Append(nil); err == nil {
		t.Error("Append of an empty entry succeeded")
	}
}

// FuzzRevocationData: never a panic, ErrMalformed only, and what parses
// is a fixed point of encoding.
func FuzzRevocationData(f *testing.F) {
	h := RevocationKeyHash(mustPub(f, testDeviceKey(f)))
	b, _ := (&RevocationData{Mode: RevocationAppend, Entries: []RevocationEntry{{KeyHash: h[:], ID: []byte{1}, Expiry: time.Unix(1e9, 0)}}, Remove: []RevocationEntry{{ID: []byte{2}}}}).Append(nil)
	f.Add(b)
	f.Add([]byte{0xA2, 0x00, 0x01, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRevocationData(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseRevocationData(%X) = %v, not ErrMalformed", b, err)
			}
			return
		}
		enc, err := r.Append(nil)
		if err != nil {
			t.Fatalf("%X parses to %v, which does not encode: %v", b, r, err)
		}
		again, err := ParseRevocationData(enc)
		if err != nil || cmp.Diff(r, again) != "" {
			t.Fatalf("%X: the encoding %X parses differently: %v", b, enc, err)
		}
		if enc2, _ := again.Append(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding %X, %X", enc, enc2)
		}
	})
}
