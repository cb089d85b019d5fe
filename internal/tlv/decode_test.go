package tlv

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestNext(t *testing.T) {
	for _, tt := range goodTLVs {
		t.Run(tt.name, func(t *testing.T) {
			in := append(tt.encoding(), 0xAB, 0xCD) // two bytes of the next object
			tag, value, rest, err := Next(in)
			if err != nil {
				t.Fatalf("Next(%.40x...) = %v", in, err)
			}
			if tag != tt.tag || !bytes.Equal(value, pattern(tt.n)) || !bytes.Equal(rest, []byte{0xAB, 0xCD}) {
				t.Errorf("Next(%.40x...) = %v, %.20x..., %x, want %v, %.20x..., abcd", in, tag, value, rest, tt.tag, pattern(tt.n))
			}
			if cap(value) != len(value) {
				t.Errorf("Next(%.40x...) value has cap %d > len %d: appending to it would overwrite rest", in, cap(value), len(value))
			}
			// Round trip: encoding what was read gives the input back.
			if got := append(AppendTLV(nil, tag, value), rest...); !bytes.Equal(got, in) {
				t.Errorf("AppendTLV(Next(%.40x...)) = %.40x...", in, got)
			}
		})
	}
}

func TestNextErrors(t *testing.T) {
	for _, tt := range badTLVs {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := Next(tt.in)
			want := &SyntaxError{Offset: 0, Tag: tt.tag, Err: tt.err}
			checkSyntaxError(t, "Next", tt.in, err, want)
		})
	}
}

// checkSyntaxError checks that err is exactly want, as a *SyntaxError and
// through errors.Is.
func checkSyntaxError(t *testing.T, fn string, in []byte, err error, want *SyntaxError) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%s(%.40x) = %v, want %v", fn, in, err, want)
	}
	if !errors.Is(err, want.Err) {
		t.Errorf("%s(%.40x) = %v, not errors.Is %v", fn, in, err, want.Err)
	}
	if diff := cmp.Diff(*want, *se, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("%s(%.40x) error mismatch (-want +got):\n%s", fn, in, diff)
	}
}

// TestNoStrictPrefixParses cuts every valid encoding short at every length.
func TestNoStrictPrefixParses(t *testing.T) {
	for _, tt := range goodTLVs {
		t.Run(tt.name, func(t *testing.T) {
			enc := tt.encoding()
			for i := range len(enc) {
				prefix := enc[:i]
				if _, _, _, err := Next(prefix); err == nil {
					t.Fatalf("Next(%.40x...) of a %d-byte prefix succeeded", prefix, i)
				}
				if _, err := Single(prefix, tt.tag); err == nil {
					t.Fatalf("Single(%.40x...) of a %d-byte prefix succeeded", prefix, i)
				}
				if err := Validate(prefix, nil); err == nil && i > 0 {
					t.Fatalf("Validate(%.40x...) of a %d-byte prefix succeeded", prefix, i)
				}
				s := String(prefix)
				var v String
				if s.ReadTLV(&v, tt.tag) {
					t.Fatalf("ReadTLV(%.40x...) of a %d-byte prefix succeeded", prefix, i)
				}
			}
		})
	}
}

func TestSingle(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Tag
		val  []byte
		err  *SyntaxError
	}{
		{"exact", fromHex("7F4D 02 C000"), 0x7F4D, fromHex("C000"), nil},
		{"empty value", fromHex("5F5F 00"), 0x5F5F, []byte{}, nil},
		{"trailing byte", fromHex("7F4D 02 C000 5C"), 0x7F4D, nil, &SyntaxError{Offset: 5, Err: ErrTrailingData}},
		{"trailing object", fromHex("5C 00 5C 00"), 0x5C, nil, &SyntaxError{Offset: 2, Err: ErrTrailingData}},
		{"other tag", fromHex("7F4E 00"), 0x7F4D, nil, &SyntaxError{Offset: 0, Tag: 0x7F4E, Want: 0x7F4D, Err: ErrUnexpectedTag}},
		{"malformed", fromHex("7F4D 81 05"), 0x7F4D, nil, &SyntaxError{Offset: 0, Tag: 0x7F4D, Err: ErrNonCanonicalLength}},
		{"empty", nil, 0x7F4D, nil, &SyntaxError{Offset: 0, Err: ErrTruncatedTag}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Single(tt.in, tt.want)
			if tt.err != nil {
				checkSyntaxError(t, "Single", tt.in, err, tt.err)
				return
			}
			if err != nil || !bytes.Equal(got, tt.val) {
				t.Errorf("Single(%x, %v) = %x, %v, want %x, nil", tt.in, tt.want, got, err, tt.val)
			}
		})
	}
}

func TestSyntaxErrorString(t *testing.T) {
	tests := []struct {
		err  *SyntaxError
		want string
	}{
		{&SyntaxError{Offset: 0, Err: ErrTruncatedTag}, "tlv: truncated tag at offset 0"},
		{&SyntaxError{Offset: 12, Tag: 0x7F4D, Err: ErrTruncatedValue}, "tlv: truncated value 7F4D at offset 12"},
		{&SyntaxError{Offset: 3, Tag: 0x5C, Want: 0x4D, Err: ErrUnexpectedTag}, "tlv: unexpected tag 5C (want 4D) at offset 3"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("(%#v).Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// cryptobyteAgrees checks Next against golang.org/x/crypto/cryptobyte, an
// independent DER reader, on inputs both can read: a one-byte tag other than
// 00 (cryptobyte refuses high tag numbers and reads 00). DER's length rules
// are this package's, except that DER allows 83 and 84 forms, which this
// package rejects as too long.
func cryptobyteAgrees(t *testing.T, in []byte) {
	t.Helper()
	if len(in) == 0 || in[0] == 0x00 || in[0]&0x1F == 0x1F {
		return
	}
	s := cryptobyte.String(in)
	var cbValue cryptobyte.String
	var cbTag cbasn1.Tag
	cbOK := s.ReadAnyASN1(&cbValue, &cbTag)
	tag, value, rest, err := Next(in)
	switch {
	case cbOK && len(in) > 1 && in[1] >= 0x83:
		if !errors.Is(err, ErrLengthTooLong) {
			t.Fatalf("Next(%.40x) = %v, want %v (cryptobyte reads it with a long length)", in, err, ErrLengthTooLong)
		}
	case cbOK != (err == nil):
		t.Fatalf("Next(%.40x) = %v, but cryptobyte.ReadAnyASN1 = %v", in, err, cbOK)
	case cbOK:
		if uint32(tag) != uint32(cbTag) || !bytes.Equal(value, cbValue) || !bytes.Equal(rest, s) {
			t.Fatalf("Next(%.40x) = %v, %x, %x; cryptobyte = %x, %x, %x", in, tag, value, rest, uint8(cbTag), []byte(cbValue), []byte(s))
		}
	}
}

func TestNextAgreesWithCryptobyte(t *testing.T) {
	for _, tt := range goodTLVs {
		cryptobyteAgrees(t, tt.encoding())
	}
	for _, tt := range badTLVs {
		cryptobyteAgrees(t, tt.in)
	}
	// Every header of a one-byte tag and a length field of up to four bytes,
	// followed by a value that is complete, one byte short, or longer.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		hdr := []byte{0x5C, byte(rng.IntN(256))}
		for range rng.IntN(4) {
			hdr = append(hdr, byte(rng.IntN(3)*0x7F)) // 00, 7F, FE
		}
		n, _, c := readLength(hdr[1:])
		if c != ok {
			n = rng.IntN(300)
		}
		n += rng.IntN(3) - 1
		if n < 0 {
			n = 0
		}
		cryptobyteAgrees(t, append(hdr, pattern(n)...))
	}
}
