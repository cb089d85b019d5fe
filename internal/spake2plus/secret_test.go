package spake2plus

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
)

func TestNewProverSecret(t *testing.T) {
	one := bigBytes(big.NewInt(1), scalarSize)
	nMinus1 := bigBytes(bigNMinus, scalarSize)
	for _, tc := range []struct {
		name    string
		w0, w1  []byte
		wantErr error
	}{
		{"one and n-1", one, nMinus1, nil},
		{"n-1 and one", nMinus1, one, nil},
		{"w0 zero", make([]byte, scalarSize), one, ErrInvalidSecret},
		{"w1 zero", one, make([]byte, scalarSize), ErrInvalidSecret},
		{"w0 n", bigBytes(bigN, scalarSize), one, ErrInvalidSecret},
		{"w1 n", one, bigBytes(bigN, scalarSize), ErrInvalidSecret},
		{"w0 all ones", bytes.Repeat([]byte{0xff}, scalarSize), one, ErrInvalidSecret},
		{"w0 31 bytes", one[1:], one, ErrInvalidSecret},
		{"w1 33 bytes", one, append([]byte{0}, one...), ErrInvalidSecret},
		{"nil", nil, nil, ErrInvalidSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewProverSecret(tc.w0, tc.w1)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (s != nil) {
				t.Fatalf("NewProverSecret(%x, %x) = %v, %v; want error %v", tc.w0, tc.w1, s, err, tc.wantErr)
			}
		})
	}
}

func TestProverSecretFromPBKDF(t *testing.T) {
	n40 := bigBytes(bigN, wideScalarSize)
	for _, tc := range []struct {
		name    string
		output  []byte
		wantErr error
	}{
		{"80 bytes", bytes.Repeat([]byte{7}, 80), nil},
		{"128 bytes", bytes.Repeat([]byte{7}, 128), nil},
		{"78 bytes", bytes.Repeat([]byte{7}, 78), ErrInvalidSecret},
		{"81 bytes", bytes.Repeat([]byte{7}, 81), ErrInvalidSecret},
		{"130 bytes", bytes.Repeat([]byte{7}, 130), ErrInvalidSecret},
		{"empty", nil, ErrInvalidSecret},
		{"w0 reduces to zero", append(bytes.Clone(n40), bytes.Repeat([]byte{7}, 40)...), ErrInvalidSecret},
		{"w1 reduces to zero", append(bytes.Repeat([]byte{7}, 40), make([]byte, 40)...), ErrInvalidSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ProverSecretFromPBKDF(tc.output)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (s != nil) {
				t.Fatalf("ProverSecretFromPBKDF(%x) = %v, %v; want error %v", tc.output, s, err, tc.wantErr)
			}
		})
	}
}

func TestVerifierRecordRoundTrip(t *testing.T) {
	for range 10 {
		r := randomSecret(t).Record()
		enc, err := r.AppendBinary([]byte("prefix"))
		if err != nil || !bytes.HasPrefix(enc, []byte("prefix")) || len(enc) != len("prefix")+VerifierRecordSize {
			t.Fatalf("AppendBinary(prefix) = %x, %v", enc, err)
		}
		enc = enc[len("prefix"):]
		got, err := ParseVerifierRecord(enc)
		if err != nil {
			t.Fatalf("ParseVerifierRecord(%x) = %v", enc, err)
		}
		if !got.Equal(r) {
			t.Errorf("ParseVerifierRecord(%x) differs from the record encoded", enc)
		}
		// The parsed record runs the protocol.
		p, _ := NewProver(CCC{}, randomSecret(t))
		if _, err := NewVerifier(CCC{}, got, p.Share()); err != nil {
			t.Errorf("NewVerifier with a parsed record = %v", err)
		}
		// No strict prefix parses, nor a longer string.
		for i := range enc {
			if _, err := ParseVerifierRecord(enc[:i]); !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("ParseVerifierRecord(%x) = %v, want %v", enc[:i], err, ErrInvalidSecret)
			}
		}
		if _, err := ParseVerifierRecord(append(enc, 0)); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("ParseVerifierRecord(record‖00) = %v, want %v", err, ErrInvalidSecret)
		}
	}
}

func TestParseVerifierRecordInvalid(t *testing.T) {
	valid, _ := randomSecret(t).Record().AppendBinary(nil)
	other, _ := randomSecret(t).Record().AppendBinary(nil)
	with := func(f func(b []byte)) []byte {
		b := bytes.Clone(valid)
		f(b)
		return b
	}
	if r1, _ := ParseVerifierRecord(valid); r1 != nil {
		if r2, _ := ParseVerifierRecord(other); r2 == nil || r1.Equal(r2) {
			t.Errorf("Equal(two different records) = true")
		}
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"w0 zero", with(func(b []byte) { clear(b[:scalarSize]) })},
		{"w0 n", with(func(b []byte) { copy(b, bigBytes(bigN, scalarSize)) })},
		{"L off curve", with(func(b []byte) { b[VerifierRecordSize-1] ^= 1 })},
		{"L prefix 02", with(func(b []byte) { b[scalarSize] = 2 })},
		{"L zeros", with(func(b []byte) { clear(b[scalarSize:]) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := ParseVerifierRecord(tc.b); !errors.Is(err, ErrInvalidSecret) || r != nil {
				t.Errorf("ParseVerifierRecord(%x) = %v, %v; want nil, %v", tc.b, r, err, ErrInvalidSecret)
			}
		})
	}
}
