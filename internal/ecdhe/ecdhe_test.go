package ecdhe

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

func TestAgainstCryptoECDH(t *testing.T) {
	for i := 0; i < 50; i++ {
		var a PrivateKey
		if err := a.Generate(); err != nil {
			t.Fatal(err)
		}
		b, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		// Our public key is what crypto/ecdh derives from the same scalar.
		ref, err := ecdh.P256().NewPrivateKey(a.scalar[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ref.PublicKey().Bytes(), a.Public().Bytes()) {
			t.Fatalf("public key of %x = %x, want %x", a.scalar, a.Public().Bytes(), ref.PublicKey().Bytes())
		}
		var peer PublicKey
		if err := peer.SetBytes(b.PublicKey().Bytes()); err != nil {
			t.Fatal(err)
		}
		var z [SharedSize]byte
		if err := a.ECDH(&z, &peer); err != nil {
			t.Fatal(err)
		}
		want, err := b.ECDH(ref.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(z[:], want) {
			t.Fatalf("ECDH = %x, want %x", z, want)
		}
	}
}

func TestScalarRange(t *testing.T) {
	n := order
	nm1 := order
	nm1[31]--
	np1 := order
	np1[31]++
	one := make([]byte, 32)
	one[31] = 1
	for _, tt := range []struct {
		name string
		s    []byte
		ok   bool
	}{
		{"zero", make([]byte, 32), false},
		{"one", one, true},
		{"n-1", nm1[:], true},
		{"n", n[:], false},
		{"n+1", np1[:], false},
		{"all ff", bytes.Repeat([]byte{0xff}, 32), false},
		{"short", one[1:], false},
	} {
		var k PrivateKey
		err := k.SetScalar(tt.s)
		if (err == nil) != tt.ok {
			t.Errorf("%s: SetScalar(%x) = %v, want ok=%v", tt.name, tt.s, err, tt.ok)
		}
		if err != nil && (k.Public().Valid() || !errors.Is(err, ErrInvalidScalar)) {
			t.Errorf("%s: failed SetScalar left a key or wrong error %v", tt.name, err)
		}
		// Over a key set before, a rejected scalar changes nothing.
		var set PrivateKey
		if err := set.SetScalar(one); err != nil {
			t.Fatal(err)
		}
		if err := set.SetScalar(tt.s); err != nil && (set.scalar != [ScalarSize]byte(one) || !set.Public().Valid()) {
			t.Errorf("%s: a rejected SetScalar changed the key set before", tt.name)
		}
	}
	// 1·G is the generator.
	var k PrivateKey
	if err := k.SetScalar(one); err != nil {
		t.Fatal(err)
	}
	const gx = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
	if got := hex.EncodeToString(k.Public().X()); got != gx {
		t.Errorf("1·G X = %s, want %s", got, gx)
	}
}

func TestInvalidPeer(t *testing.T) {
	var k PrivateKey
	if err := k.Generate(); err != nil {
		t.Fatal(err)
	}
	good := bytes.Clone(k.Public().Bytes())
	off := bytes.Clone(good)
	off[64] ^= 1
	for _, b := range [][]byte{nil, good[:64], append(bytes.Clone(good), 0), off, append([]byte{0x04}, make([]byte, 64)...), append([]byte{0x02}, good[1:33]...)} {
		var p PublicKey
		if err := p.SetBytes(b); !errors.Is(err, ErrInvalidPublicKey) || p.Valid() {
			t.Errorf("SetBytes(%x) = %v, valid=%v", b, err, p.Valid())
		}
		var z [SharedSize]byte
		if err := k.ECDH(&z, &p); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("ECDH with rejected peer = %v", err)
		}
	}
	var empty PrivateKey
	var z [SharedSize]byte
	if err := empty.ECDH(&z, k.Public()); !errors.Is(err, ErrNoKey) {
		t.Errorf("ECDH without key = %v", err)
	}
	k.Zeroize()
	if k.scalar != [32]byte{} || k.Public().Valid() {
		t.Errorf("Zeroize left key material")
	}
}

func TestAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	var a, b PrivateKey
	var z [SharedSize]byte
	if err := b.Generate(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := a.Generate(); err != nil {
			t.Fatal(err)
		}
		var p PublicKey
		if err := p.SetBytes(b.Public().Bytes()); err != nil {
			t.Fatal(err)
		}
		if err := a.ECDH(&z, &p); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Generate+SetBytes+ECDH allocated %v times, want 0", n)
	}
}

func BenchmarkGenerate(b *testing.B) {
	var k PrivateKey
	b.ReportAllocs()
	for b.Loop() {
		if err := k.Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkECDH(b *testing.B) {
	var k, peer PrivateKey
	_ = k.Generate()
	_ = peer.Generate()
	var z [SharedSize]byte
	b.ReportAllocs()
	for b.Loop() {
		var p PublicKey
		if err := p.SetBytes(peer.Public().Bytes()); err != nil {
			b.Fatal(err)
		}
		if err := k.ECDH(&z, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStdlibGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdh.P256().GenerateKey(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
