package dkey

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// TestAppendASN1MatchesEncodingASN1 checks our allocation-light DER encoder
// against encoding/asn1 on signatures with and without high bits and leading
// zeros.
func TestAppendASN1MatchesEncodingASN1(t *testing.T) {
	cases := [][]byte{
		bytes.Repeat([]byte{0x01}, 64),
		bytes.Repeat([]byte{0x80}, 64),
		append(append(make([]byte, 31), 1), append([]byte{0xFF}, make([]byte, 31)...)...),
		append(append(make([]byte, 30), 0x80, 1), bytes.Repeat([]byte{0x7F}, 32)...),
	}
	for i := 0; i < 200; i++ {
		k, _ := GenerateSoftwareKey()
		s, err := Sign(k, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, s[:])
	}
	for _, c := range cases {
		var s Signature
		copy(s[:], c)
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(c[:32]), new(big.Int).SetBytes(c[32:])})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.AppendASN1(nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendASN1(%x) = %x, want %x", c, got, want)
		}
	}
}

func FuzzSignatureASN1(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0x80}, 64))
	f.Add(bytes.Repeat([]byte{0x01}, 64))
	f.Add([]byte("3006020101020101"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := ParseSignature(b); err == nil {
			back, err := SignatureFromASN1(s.AppendASN1(nil))
			if err != nil || back != s {
				t.Fatalf("DER round trip of %x = %x, %v", b, back, err)
			}
		}
		if s, err := SignatureFromASN1(b); err == nil {
			if _, err := ParseSignature(s[:]); err != nil {
				t.Fatalf("SignatureFromASN1(%x) returned an out-of-range signature", b)
			}
		}
	})
}

func FuzzParseVersionList(f *testing.F) {
	f.Add([]byte{0x01, 0x00})
	f.Add([]byte{0x02, 0x00, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseVersionList(b)
		if err != nil {
			return
		}
		if got := l.Append(nil); !bytes.Equal(got, b) {
			t.Fatalf("ParseVersionList(%x) round trip = %x", b, got)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	k, _ := GenerateSoftwareKey()
	f.Add(k.PublicKey().Bytes())
	f.Add(append([]byte{0x04}, make([]byte, 64)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("ParsePublicKey(%x) round trip = %x", b, p.Bytes())
		}
		if _, err := p.ECDH(); err != nil {
			t.Fatalf("valid key %x rejected by crypto/ecdh: %v", b, err)
		}
	})
}
