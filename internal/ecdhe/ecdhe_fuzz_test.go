package ecdhe

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/testvec"
)

// fuzzVectors loads the external ECDH known answers of internal/testvec
// (Aliro 1.0 section 14.3 and Home Key vectors, provenance in their
// testdata READMEs) that the fuzz targets seed from.
func fuzzVectors(f *testing.F) (aliro *testvec.AliroTransaction, homeKey *testvec.HomeKeyTransaction) {
	f.Helper()
	aliro, err := testvec.AliroSpecStandard()
	if err != nil {
		f.Fatal(err)
	}
	homeKey, err = testvec.HomeKeyStandard()
	if err != nil {
		f.Fatal(err)
	}
	return aliro, homeKey
}

// addPointSeeds adds the real public keys of the vectors and malformed
// variants of them: compressed, hybrid, truncated, overlong, off the curve,
// the identity's encodings, coordinates not below p.
func addPointSeeds(f *testing.F, a *testvec.AliroTransaction, h *testvec.HomeKeyTransaction) {
	good := [][]byte{
		a.EndpointEphemeralPublicKey, a.ReaderEphemeralPublicKey, a.ReaderPublicKey, a.CredentialPublicKey,
		h.ReaderEphemeralPublicKey, h.EndpointEphemeralPublicKey,
	}
	for _, g := range good {
		f.Add(bytes.Clone(g))
		off := bytes.Clone(g)
		off[64] ^= 1
		f.Add(off)
		compressed := append([]byte{0x02 | g[64]&1}, g[1:33]...)
		f.Add(compressed)
		hybrid := bytes.Clone(g)
		hybrid[0] = 0x06 | g[64]&1
		f.Add(hybrid)
		f.Add(bytes.Clone(g[:64]))
		f.Add(append(bytes.Clone(g), 0))
	}
	p := []byte{0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	f.Add(append([]byte{0x04}, make([]byte, 64)...)) // identity as zeros
	f.Add([]byte{0x00})                              // identity, SEC 1 encoding
	f.Add(append(append([]byte{0x04}, p...), a.EndpointEphemeralPublicKey[33:]...))
	f.Add(append(append([]byte{0x04}, a.EndpointEphemeralPublicKey[1:33]...), p...))
	f.Add([]byte{})
}

// FuzzPublicKeySetBytes checks that SetBytes accepts exactly the points
// crypto/ecdh accepts, keeps them verbatim, and that ECDH with a fixed
// private key agrees with crypto/ecdh (and with the Aliro known answer for
// the vector's own peer key). A rejected key leaves p empty, even when p held
// a key before, and ECDH with it fails without touching the output.
func FuzzPublicKeySetBytes(f *testing.F) {
	a, h := fuzzVectors(f)
	addPointSeeds(f, a, h)
	var k PrivateKey
	if err := k.SetScalar(a.ReaderEphemeralPrivateKey); err != nil {
		f.Fatal(err)
	}
	ref, err := ecdh.P256().NewPrivateKey(a.ReaderEphemeralPrivateKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		var p PublicKey
		if err := p.SetBytes(a.EndpointEphemeralPublicKey); err != nil {
			t.Fatal(err)
		}
		err := p.SetBytes(b)
		if !bytes.Equal(b, in) {
			t.Fatalf("SetBytes modified its input")
		}
		refPub, refErr := ecdh.P256().NewPublicKey(b)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("SetBytes(%x) = %v, crypto/ecdh NewPublicKey = %v", b, err, refErr)
		}
		var z [SharedSize]byte
		if err != nil {
			if !errors.Is(err, ErrInvalidPublicKey) || p.Valid() {
				t.Fatalf("SetBytes(%x) = %v, valid=%v; want ErrInvalidPublicKey and an empty key", b, err, p.Valid())
			}
			z = [SharedSize]byte{0xaa}
			if err := k.ECDH(&z, &p); !errors.Is(err, ErrInvalidPublicKey) || z != [SharedSize]byte{0xaa} {
				t.Fatalf("ECDH with a rejected key = %v, out %x", err, z)
			}
			return
		}
		if !p.Valid() || !bytes.Equal(p.Bytes(), b) || !bytes.Equal(p.X(), b[1:33]) {
			t.Fatalf("SetBytes(%x) kept %x (X %x), valid=%v", b, p.Bytes(), p.X(), p.Valid())
		}
		if err := k.ECDH(&z, &p); err != nil {
			t.Fatalf("ECDH with accepted key %x = %v", b, err)
		}
		want, err := ref.ECDH(refPub)
		if err != nil {
			t.Fatalf("crypto/ecdh ECDH with %x = %v", b, err)
		}
		if !bytes.Equal(z[:], want) {
			t.Fatalf("ECDH(%x) = %x, crypto/ecdh = %x", b, z, want)
		}
		if bytes.Equal(b, a.EndpointEphemeralPublicKey) && !bytes.Equal(z[:], a.SharedSecret) {
			t.Fatalf("ECDH with the Aliro 14.3 endpoint key = %x, vector Z_AB = %x", z, a.SharedSecret)
		}
	})
}

// FuzzSetScalar checks that SetScalar accepts exactly the scalars
// crypto/ecdh's NewPrivateKey accepts, derives the same public key, and
// computes the same shared secret with a peer key derived from the input. A
// rejected scalar, of any length, leaves the key set before it unchanged.
func FuzzSetScalar(f *testing.F) {
	a, _ := fuzzVectors(f)
	one := make([]byte, ScalarSize)
	one[31] = 1
	nm1, np1 := order, order
	nm1[31]--
	np1[31]++
	for _, s := range [][]byte{
		a.ReaderEphemeralPrivateKey, a.EndpointEphemeralPrivateKey, a.ReaderPrivateKey, a.CredentialPrivateKey,
		one, nm1[:], order[:], np1[:], make([]byte, ScalarSize), bytes.Repeat([]byte{0xff}, ScalarSize),
		one[1:], append(bytes.Clone(one), 0), nil,
	} {
		f.Add(bytes.Clone(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		var k PrivateKey
		if err := k.SetScalar(one); err != nil {
			t.Fatal(err)
		}
		before := k
		err := k.SetScalar(s)
		ref, refErr := ecdh.P256().NewPrivateKey(s)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("SetScalar(%x) = %v, crypto/ecdh NewPrivateKey = %v", s, err, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidScalar) || k.scalar != before.scalar || !bytes.Equal(k.Public().Bytes(), before.Public().Bytes()) {
				t.Fatalf("SetScalar(%x) = %v and changed the key set before", s, err)
			}
			return
		}
		if !bytes.Equal(k.Public().Bytes(), ref.PublicKey().Bytes()) {
			t.Fatalf("public key of %x = %x, crypto/ecdh %x", s, k.Public().Bytes(), ref.PublicKey().Bytes())
		}
		// A peer that depends on the input, so the fuzzer varies both sides.
		peerScalar := sha256.Sum256(s)
		peerRef, err := ecdh.P256().NewPrivateKey(peerScalar[:])
		if err != nil {
			return // about 2^-32 of hashes are not below n
		}
		var peer PublicKey
		if err := peer.SetBytes(peerRef.PublicKey().Bytes()); err != nil {
			t.Fatal(err)
		}
		var z [SharedSize]byte
		if err := k.ECDH(&z, &peer); err != nil {
			t.Fatal(err)
		}
		want, err := ref.ECDH(peerRef.PublicKey())
		if err != nil || !bytes.Equal(z[:], want) {
			t.Fatalf("ECDH(%x, peer %x) = %x, crypto/ecdh %x (%v)", s, peerScalar, z, want, err)
		}
	})
}

// FuzzGenerateFrom checks GenerateFrom against a model of its documented
// procedure: the key is the first of the first maxDraws whole 32-byte blocks
// of the stream that crypto/ecdh accepts as a scalar; without one, the error
// is ErrRandom and no key is left.
func FuzzGenerateFrom(f *testing.F) {
	a, _ := fuzzVectors(f)
	ff := bytes.Repeat([]byte{0xff}, ScalarSize)
	f.Add(bytes.Clone(a.ReaderEphemeralPrivateKey))
	f.Add(append(bytes.Clone(ff), a.ReaderEphemeralPrivateKey...))
	f.Add(append(make([]byte, ScalarSize), a.EndpointEphemeralPrivateKey...))
	f.Add(append(bytes.Clone(order[:]), a.EndpointEphemeralPrivateKey[:31]...))
	f.Add(bytes.Repeat(ff, maxDraws))
	f.Add(append(bytes.Repeat(ff, maxDraws), a.ReaderEphemeralPrivateKey...))
	f.Add(append(bytes.Repeat(ff, maxDraws-1), a.ReaderEphemeralPrivateKey...))
	f.Add([]byte(a.ReaderEphemeralPrivateKey[:31]))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, stream []byte) {
		var want *ecdh.PrivateKey
		for i := 0; i < maxDraws && (i+1)*ScalarSize <= len(stream); i++ {
			if k, err := ecdh.P256().NewPrivateKey(stream[i*ScalarSize : (i+1)*ScalarSize]); err == nil {
				want = k
				break
			}
		}
		var k PrivateKey
		err := k.GenerateFrom(bytes.NewReader(stream))
		if want == nil {
			if !errors.Is(err, ErrRandom) || k.Public().Valid() || k.scalar != [ScalarSize]byte{} {
				t.Fatalf("GenerateFrom(%d bytes) = %v, valid=%v; want ErrRandom and no key", len(stream), err, k.Public().Valid())
			}
			return
		}
		if err != nil {
			t.Fatalf("GenerateFrom = %v, want the scalar %x", err, want.Bytes())
		}
		if !bytes.Equal(k.scalar[:], want.Bytes()) || !bytes.Equal(k.Public().Bytes(), want.PublicKey().Bytes()) {
			t.Fatalf("GenerateFrom took %x (public %x), want %x", k.scalar, k.Public().Bytes(), want.Bytes())
		}
	})
}
