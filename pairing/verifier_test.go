package pairing

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/internal/spake2plus"
)

func TestVerifierEncoding(t *testing.T) {
	salt := []byte("0123456789abcdef")
	v, err := NewVerifier([]byte("314159"), salt, fastParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != VerifierSize || b[0] != verifierFormat || !bytes.Equal(b[1:17], salt) ||
		!bytes.Equal(b[17:25], []byte{0, 0, 0x04, 0, 0, 8, 0, 1}) {
		t.Fatalf("MarshalBinary = %x", b)
	}
	// The record is the one DeriveCCCSecret gives, independently derived.
	secret, err := spake2plus.DeriveCCCSecret([]byte("314159"), salt, spake2plus.ScryptParams{N: fastParams.N, R: fastParams.R, P: fastParams.P})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := secret.Record().AppendBinary(nil)
	if !bytes.Equal(b[25:], rec) {
		t.Errorf("record = %x, want %x", b[25:], rec)
	}
	w, err := ParseVerifier(b)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Equal(v) || w.Params() != fastParams {
		t.Errorf("ParseVerifier(MarshalBinary) differs")
	}
	other, _ := NewVerifier([]byte("314158"), salt, fastParams)
	if other.Equal(v) {
		t.Error("verifiers of different passwords are equal")
	}
	// Every strict prefix, a wrong format byte, and parameters out of range
	// are refused.
	for i := range b {
		if _, err := ParseVerifier(b[:i]); err == nil {
			t.Fatalf("ParseVerifier(%x) of %d bytes succeeded", b[:i], i)
		}
	}
	for _, tt := range []struct {
		name string
		edit func([]byte)
	}{
		{"format", func(b []byte) { b[0] = 2 }},
		{"N not a power of two", func(b []byte) { b[19] = 5 }},
		{"r zero", func(b []byte) { b[21], b[22] = 0, 0 }},
		{"w0 zero", func(b []byte) { clear(b[25:57]) }},
		{"L off the curve", func(b []byte) { b[len(b)-1] ^= 1 }},
	} {
		bad := bytes.Clone(b)
		tt.edit(bad)
		if _, err := ParseVerifier(bad); err == nil {
			t.Errorf("ParseVerifier with a bad %s succeeded", tt.name)
		}
	}
	v.Zeroize()
	if _, err := v.MarshalBinary(); err == nil {
		t.Error("MarshalBinary after Zeroize succeeded")
	}
	if v.Equal(w) {
		t.Error("zeroized verifier equals another")
	}
}

func TestNewVerifierParameters(t *testing.T) {
	salt := make([]byte, SaltSize)
	for _, tt := range []struct {
		name   string
		salt   []byte
		params ScryptParams
	}{
		{"short salt", salt[:15], fastParams},
		{"long salt", append(salt, 0), fastParams},
		{"N too small", salt, ScryptParams{N: MinScryptN / 2, R: 8, P: 1}},
		{"N not a power of two", salt, ScryptParams{N: 3000, R: 8, P: 1}},
		{"N too large", salt, ScryptParams{N: MaxScryptN * 2, R: 8, P: 1}},
		{"r zero", salt, ScryptParams{N: MinScryptN, R: 0, P: 1}},
		{"p too large", salt, ScryptParams{N: MinScryptN, R: 1, P: MaxScryptP + 1}},
		{"memory", salt, ScryptParams{N: MaxScryptN, R: MaxScryptR, P: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewVerifier([]byte("1"), tt.salt, tt.params); !errors.Is(err, ErrParameters) {
				t.Errorf("NewVerifier(%+v) = %v, want %v", tt.params, err, ErrParameters)
			}
		})
	}
	if err := DefaultScryptParams().Validate(); err != nil {
		t.Errorf("DefaultScryptParams().Validate() = %v", err)
	}
	if d := DefaultScryptParams(); d != (ScryptParams{N: 32768, R: 8, P: 1}) {
		t.Errorf("DefaultScryptParams() = %+v", d)
	}
}

func TestAttemptsError(t *testing.T) {
	for _, tt := range []struct {
		err       *AttemptsError
		text      string
		exhausted bool
	}{
		{&AttemptsError{Remaining: 6, Err: ErrAuthentication}, "pairing: wrong pairing password or tampered exchange (6 attempts left)", false},
		{&AttemptsError{Remaining: 1, Err: ErrAuthentication}, "pairing: wrong pairing password or tampered exchange (1 attempt left)", false},
		{&AttemptsError{Remaining: 0, Err: ErrAuthentication}, "pairing: wrong pairing password or tampered exchange (no attempt left)", true},
		{&AttemptsError{Remaining: 0, Err: ErrAttemptsExhausted}, "pairing: no pairing attempt left", true},
	} {
		var err error = fmt.Errorf("vehicle: %w", tt.err)
		if got := tt.err.Error(); got != tt.text {
			t.Errorf("Error() = %q, want %q", got, tt.text)
		}
		var ae *AttemptsError
		if !errors.As(err, &ae) || ae.Remaining != tt.err.Remaining || !errors.Is(err, tt.err.Err) {
			t.Errorf("%v does not unwrap to itself", err)
		}
		if got := errors.Is(err, ErrAttemptsExhausted); got != tt.exhausted {
			t.Errorf("errors.Is(%v, ErrAttemptsExhausted) = %v, want %v", err, got, tt.exhausted)
		}
	}
}

func TestOpControlFlow(t *testing.T) {
	for _, tt := range []struct {
		c                            OpControlFlow
		valid, cont, complete, abort bool
		text                         string
	}{
		{OpKeyDataSent, true, true, false, false, "1001 (key-creation data sent)"},
		{OpKeepAlive, true, true, false, false, "100F (keep-alive)"},
		{OpPairingComplete, true, false, true, false, "1111 (pairing complete)"},
		{OpAbortEvidence, true, false, false, true, "1209 (abort: evidence verification failed)"},
		{0x1205, true, false, false, true, "1205 (abort: timer expired)"},
		{OpAbortOther, true, false, false, true, "127F (abort: other)"},
		{0x120E, false, false, false, true, "120E (unknown)"},
		{0x1004, false, true, false, false, "1004 (unknown)"},
		{0x1112, false, false, false, false, "1112 (unknown)"},
		{0x0100, false, false, false, false, "0100 (unknown)"},
	} {
		if tt.c.Valid() != tt.valid || tt.c.Continue() != tt.cont || tt.c.Complete() != tt.complete || tt.c.Abort() != tt.abort || tt.c.String() != tt.text {
			t.Errorf("%04X: Valid %v Continue %v Complete %v Abort %v String %q; want %v %v %v %v %q", uint16(tt.c),
				tt.c.Valid(), tt.c.Continue(), tt.c.Complete(), tt.c.Abort(), tt.c.String(), tt.valid, tt.cont, tt.complete, tt.abort, tt.text)
		}
	}
	if OpAbortInvalidPoint.P1() != 0x12 || OpAbortInvalidPoint.P2() != 0x0C {
		t.Errorf("P1 P2 of %v", OpAbortInvalidPoint)
	}
	if EvidenceOwnShare.String() != "own share" || EvidencePeerShare.String() != "peer share" || Evidence(9).String() != "Evidence(9)" {
		t.Error("Evidence.String")
	}
}

func TestKeyConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*OwnerKeyConfig)
		ok   bool
	}{
		{"default", func(*OwnerKeyConfig) {}, true},
		{"no attestation area", func(c *OwnerKeyConfig) { c.Mapping.AttestationLength = 0 }, true},
		{"no token", func(c *OwnerKeyConfig) { c.Mapping.ImmobilizerTokenLength = 0 }, true},
		{"end past the mailbox", func(c *OwnerKeyConfig) { c.Mapping.End = 513 }, false},
		{"bitmap at the end", func(c *OwnerKeyConfig) { c.Mapping.SignalingBitmap = 512 }, false},
		{"attestation past the end", func(c *OwnerKeyConfig) { c.Mapping.AttestationLength = 510 }, false},
		{"bitmap in the attestation area", func(c *OwnerKeyConfig) { c.Mapping.SignalingBitmap = 20 }, false},
		{"token larger than the mailbox", func(c *OwnerKeyConfig) { c.Mapping.ImmobilizerTokenLength = 65 }, false},
		{"AUTH1 subset outside", func(c *OwnerKeyConfig) { c.Mailboxes.ConfidentialAuth1.Offset = 60 }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultOwnerKeyConfig()
			tt.edit(&c)
			err := c.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrKeyConfig)) {
				t.Errorf("Validate(%+v) = %v, want ok=%v", c, err, tt.ok)
			}
		})
	}
}
