// Package ecdhe is ephemeral P-256 Diffie-Hellman without allocations: the
// key pairs that both sides of a Digital Key transaction generate for every
// AUTH0 (vehicle_ePK, tag 87; endpoint_ePK, tag 86, docs/protocol.md §4.2) and the
// shared X coordinate of the standard transaction (§4.4).
//
// crypto/ecdh does the same arithmetic (both use the fiat-crypto and
// assembly P-256 of the Go project, which filippo.io/nistec exports), but it
// allocates a key object per generation and per shared secret. The fast
// transaction must run without allocating, because the vehicle runs it on
// every door-handle touch, so this package keeps keys in fixed arrays owned
// by the caller's session. Private scalars are zeroized by [PrivateKey.Zeroize].
package ecdhe

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"

	"filippo.io/nistec"
)

// Sizes of the encodings.
const (
	PublicKeySize = 65 // uncompressed point 04‖X‖Y
	ScalarSize    = 32
	SharedSize    = 32 // X coordinate of the shared point
)

var (
	// ErrInvalidPublicKey reports bytes that are not an uncompressed P-256
	// point on the curve.
	ErrInvalidPublicKey = errors.New("ecdhe: invalid P-256 public key")
	// ErrInvalidScalar reports a private scalar that is 0 or not below the
	// group order.
	ErrInvalidScalar = errors.New("ecdhe: invalid private scalar")
	// ErrNoKey reports use of a PrivateKey before Generate or SetScalar.
	ErrNoKey = errors.New("ecdhe: no private key")
)

// order is the order n of the P-256 group, big-endian.
var order = [ScalarSize]byte{
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
}

// validScalar returns 1 if 0 < s < n, in constant time.
func validScalar(s *[ScalarSize]byte) int {
	// Compute s - n and keep the final borrow: borrow set means s < n.
	var borrow uint32
	var nonzero byte
	for i := ScalarSize - 1; i >= 0; i-- {
		d := uint32(s[i]) - uint32(order[i]) - borrow
		borrow = (d >> 8) & 1
		nonzero |= s[i]
	}
	isZero := subtle.ConstantTimeByteEq(nonzero, 0)
	return int(borrow) & (1 ^ isZero)
}

// PublicKey is a validated uncompressed P-256 point. The zero value holds no
// key; SetBytes fills it.
type PublicKey struct {
	raw [PublicKeySize]byte
	ok  bool
}

// SetBytes validates b, a 65-byte uncompressed point, and stores it in p. On
// error p is left empty.
func (p *PublicKey) SetBytes(b []byte) error {
	p.ok = false
	if len(b) != PublicKeySize || b[0] != 0x04 {
		return ErrInvalidPublicKey
	}
	var q nistec.P256Point
	if _, err := q.SetBytes(b); err != nil {
		return ErrInvalidPublicKey
	}
	copy(p.raw[:], b)
	p.ok = true
	return nil
}

// Valid reports whether p holds a key.
func (p *PublicKey) Valid() bool { return p.ok }

// Bytes returns the 65-byte encoding. The caller must not modify it.
func (p *PublicKey) Bytes() []byte { return p.raw[:] }

// X returns the 32-byte X coordinate. The caller must not modify it.
func (p *PublicKey) X() []byte { return p.raw[1 : 1+SharedSize] }

// PrivateKey is an ephemeral P-256 key pair held in place. The zero value
// holds no key; Generate fills it.
type PrivateKey struct {
	scalar [ScalarSize]byte
	pub    PublicKey
}

// Generate draws a new scalar uniformly from [1, n-1] with crypto/rand
// (rejection sampling, as crypto/ecdh does) and computes the public key.
func (k *PrivateKey) Generate() error {
	for {
		if _, err := rand.Read(k.scalar[:]); err != nil {
			k.Zeroize()
			return err
		}
		if validScalar(&k.scalar) == 1 {
			break
		}
	}
	return k.computePublic()
}

// SetScalar sets the private scalar, a 32-byte big-endian value in [1, n-1],
// for known-answer tests. Protocol code uses Generate. On an error, of
// either length or range, k is left as it was.
func (k *PrivateKey) SetScalar(s []byte) error {
	if len(s) != ScalarSize {
		return ErrInvalidScalar
	}
	var c [ScalarSize]byte
	copy(c[:], s)
	defer clear(c[:])
	if validScalar(&c) != 1 {
		return ErrInvalidScalar
	}
	k.scalar = c
	return k.computePublic()
}

func (k *PrivateKey) computePublic() error {
	var q nistec.P256Point
	if _, err := q.ScalarBaseMult(k.scalar[:]); err != nil {
		k.Zeroize()
		return ErrInvalidScalar
	}
	// q = s·G with s in [1, n-1] (every caller checked it): a point on
	// the curve other than the identity, whose encoding needs none of the
	// checks SetBytes makes of a peer's key.
	b := q.Bytes()
	if len(b) != PublicKeySize {
		k.Zeroize()
		return ErrInvalidScalar
	}
	copy(k.pub.raw[:], b)
	k.pub.ok = true
	return nil
}

// Public returns the public key. It is empty if k holds no key.
func (k *PrivateKey) Public() *PublicKey { return &k.pub }

// ECDH computes the X coordinate of k·peer into out.
func (k *PrivateKey) ECDH(out *[SharedSize]byte, peer *PublicKey) error {
	if !k.pub.ok {
		return ErrNoKey
	}
	if !peer.ok {
		return ErrInvalidPublicKey
	}
	var q nistec.P256Point
	if _, err := q.SetBytes(peer.raw[:]); err != nil {
		return ErrInvalidPublicKey
	}
	if _, err := q.ScalarMult(&q, k.scalar[:]); err != nil {
		return ErrInvalidScalar
	}
	// The peer point is on the curve and the scalar is in [1, n-1]; P-256 has
	// cofactor 1, so the product is never the identity.
	x, err := q.BytesX()
	if err != nil {
		return ErrInvalidPublicKey
	}
	copy(out[:], x)
	return nil
}

// Zeroize erases the private scalar and forgets the key.
func (k *PrivateKey) Zeroize() {
	clear(k.scalar[:])
	k.pub = PublicKey{}
}
