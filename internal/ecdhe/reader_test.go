package ecdhe

import (
	"bytes"
	"crypto/ecdh"
	crand "crypto/rand"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/cryptotest"
)

// TestGenerateFromMatchesGenerate draws keys with GenerateFrom from
// crypto/rand's stream and with Generate from the same stream replayed by
// testing/cryptotest.SetGlobalRandom: the keys must be the same.
func TestGenerateFromMatchesGenerate(t *testing.T) {
	var want [8][PublicKeySize]byte
	cryptotest.SetGlobalRandom(t, 3)
	for i := range want {
		var k PrivateKey
		if err := k.Generate(); err != nil {
			t.Fatal(err)
		}
		copy(want[i][:], k.Public().Bytes())
	}
	cryptotest.SetGlobalRandom(t, 3)
	for i := range want {
		var k PrivateKey
		if err := k.GenerateFrom(globalRand{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Public().Bytes(), want[i][:]) {
			t.Fatalf("key %d: GenerateFrom gave %x, Generate %x", i, k.Public().Bytes(), want[i])
		}
	}
}

// globalRand reads crypto/rand at call time, so that it follows
// SetGlobalRandom.
type globalRand struct{}

func (globalRand) Read(b []byte) (int, error) { return crand.Read(b) }

func TestGenerateFromRejects(t *testing.T) {
	// Candidates: n (rejected), 0 (rejected), then 1.
	one := make([]byte, ScalarSize)
	one[31] = 1
	src := bytes.NewReader(append(append(bytes.Clone(order[:]), make([]byte, ScalarSize)...), one...))
	var k PrivateKey
	if err := k.GenerateFrom(src); err != nil {
		t.Fatal(err)
	}
	ref, err := ecdh.P256().NewPrivateKey(one)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Public().Bytes(), ref.PublicKey().Bytes()) {
		t.Errorf("GenerateFrom(n, 0, 1) = %x, want the key of scalar 1", k.Public().Bytes())
	}
	if src.Len() != 0 {
		t.Errorf("%d bytes left unread", src.Len())
	}
	// The same seed gives the same key.
	var a, b PrivateKey
	if err := a.GenerateFrom(rand.NewChaCha8([32]byte{1})); err != nil {
		t.Fatal(err)
	}
	if err := b.GenerateFrom(rand.NewChaCha8([32]byte{1})); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Public().Bytes(), b.Public().Bytes()) {
		t.Error("the same seed gave two keys")
	}
}

func TestGenerateFromFails(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    io.Reader
	}{
		{"short", bytes.NewReader(make([]byte, 31))},
		{"empty", bytes.NewReader(nil)},
		{"all FF", bytes.NewReader(bytes.Repeat([]byte{0xFF}, ScalarSize*maxDraws*2))},
	} {
		var k PrivateKey
		err := k.GenerateFrom(tt.r)
		if !errors.Is(err, ErrRandom) {
			t.Errorf("%s: GenerateFrom = %v, want ErrRandom", tt.name, err)
		}
		if k.Public().Valid() {
			t.Errorf("%s: a failed GenerateFrom left a key", tt.name)
		}
	}
}
