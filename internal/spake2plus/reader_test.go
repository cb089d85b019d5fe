package spake2plus

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"testing/cryptotest"
)

// TestFromReader checks that NewProverFrom and NewVerifierFrom take their
// scalars from the reader (40 bytes each, reduced as for crypto/rand), that
// the resulting runs complete, and that a reader giving crypto/rand's bytes
// reproduces NewProver and NewVerifier exactly.
func TestFromReader(t *testing.T) {
	prof := CCC{}
	secret := randomSecret(t)
	record := secret.Record()
	xb, yb := bytes.Repeat([]byte{0x11}, wideScalarSize), bytes.Repeat([]byte{0x22}, wideScalarSize)
	p, err := NewProverFrom(bytes.NewReader(xb), prof, secret)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := newProver(prof, secret, fixedScalar(0x11))
	if !bytes.Equal(p.Share(), ref.Share()) {
		t.Errorf("NewProverFrom share %x, want the share of x = reduce(11...)", p.Share())
	}
	v, err := NewVerifierFrom(bytes.NewReader(yb), prof, record, p.Share())
	if err != nil {
		t.Fatal(err)
	}
	vref, _ := newVerifier(prof, record, p.Share(), fixedScalar(0x22))
	if !bytes.Equal(v.Share(), vref.Share()) || !bytes.Equal(v.Confirmation(), vref.Confirmation()) {
		t.Errorf("NewVerifierFrom share %x, want the share of y = reduce(22...)", v.Share())
	}
	confirm, pk, err := p.Finish(v.Share(), v.Confirmation())
	if err != nil {
		t.Fatal(err)
	}
	vk, err := v.Finish(confirm)
	if err != nil || !bytes.Equal(pk, vk) {
		t.Fatalf("derandomized run: keys %x %x, %v", pk, vk, err)
	}

	// The seeded crypto/rand stream through the reader gives what
	// NewProver and NewVerifier give from it.
	cryptotest.SetGlobalRandom(t, 5)
	p1, _ := NewProver(prof, secret)
	v1, _ := NewVerifier(prof, record, p1.Share())
	cryptotest.SetGlobalRandom(t, 5)
	p2, _ := NewProverFrom(globalRand{}, prof, secret)
	v2, _ := NewVerifierFrom(globalRand{}, prof, record, p2.Share())
	if !bytes.Equal(p1.Share(), p2.Share()) || !bytes.Equal(v1.Share(), v2.Share()) {
		t.Error("the reader path consumed crypto/rand's stream differently")
	}
	// Nil means crypto/rand.
	if p3, err := NewProverFrom(nil, prof, secret); err != nil || bytes.Equal(p3.Share(), p2.Share()) {
		t.Errorf("NewProverFrom(nil) = %v, or the same share twice", err)
	}

	for _, r := range [][]byte{nil, make([]byte, wideScalarSize-1)} {
		if _, err := NewProverFrom(bytes.NewReader(r), prof, secret); !errors.Is(err, ErrRandom) {
			t.Errorf("NewProverFrom(%d bytes) = %v, want ErrRandom", len(r), err)
		}
		if _, err := NewVerifierFrom(bytes.NewReader(r), prof, record, p.Share()); !errors.Is(err, ErrRandom) {
			t.Errorf("NewVerifierFrom(%d bytes) = %v, want ErrRandom", len(r), err)
		}
	}
}

type globalRand struct{}

func (globalRand) Read(b []byte) (int, error) { return rand.Read(b) }
