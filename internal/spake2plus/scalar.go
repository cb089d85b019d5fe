package spake2plus

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
)

// Scalars are 32-byte big-endian integers modulo the order n of the P-256
// group. nistec multiplies points by such byte strings but offers no
// arithmetic modulo n, and math/big is not constant time, so this file holds
// the little that SPAKE2+ needs, written over four 64-bit limbs with
// math/bits and no secret-dependent branch or memory access:
//
//   - reduce: a wide integer (the 40-byte halves of a password hash, or 40
//     random bytes) modulo n or n−1, by shift-and-conditional-subtract, one
//     input bit at a time. It is simple enough to check by eye, and its 320
//     steps of a few limb operations cost a few microseconds, little next to
//     a scalar multiplication and nothing next to scrypt.
//   - addOne, for the CCC reduction w = (z mod (n−1)) + 1.
//   - isCanonicalNonZero, to validate scalars given as bytes.
//
// SPAKE2+ needs no scalar multiplication or inversion: Y − w0·N is computed
// with point negation and addition, so the group math never leaves nistec.

// scalarSize is the length of an encoded scalar.
const scalarSize = 32

// wideScalarSize is the length of the integers reduced into scalars: 256 bits
// plus 64, so that the reduction has a bias of at most 2^-64 (RFC 9383 §3.2).
const wideScalarSize = scalarSize + 8

// limbs is a 256-bit integer, least significant limb first.
type limbs [4]uint64

// orderN is n, the order of the P-256 base point.
// n = ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551.
var orderN = limbs{0xf3b9cac2fc632551, 0xbce6faada7179e84, 0xffffffffffffffff, 0xffffffff00000000}

// orderNMinus1 is n − 1, the modulus of the CCC reduction.
var orderNMinus1 = limbs{0xf3b9cac2fc632550, 0xbce6faada7179e84, 0xffffffffffffffff, 0xffffffff00000000}

// reduce sets out to the big-endian encoding of OS2IP(in) mod m, where m is
// orderN or orderNMinus1. Its running time depends on len(in) only.
func reduce(out *[scalarSize]byte, in []byte, m *limbs) {
	var r limbs // invariant: r < m
	for _, b := range in {
		for i := 7; i >= 0; i-- {
			// r = 2r + bit; the bit shifted out of the top limb is c, so the
			// true value is c·2^256 + r < 2m.
			c := r[3] >> 63
			r[3] = r[3]<<1 | r[2]>>63
			r[2] = r[2]<<1 | r[1]>>63
			r[1] = r[1]<<1 | r[0]>>63
			r[0] = r[0]<<1 | uint64(b>>uint(i))&1
			// Subtract m when c·2^256 + r ≥ m, that is when c is set or the
			// subtraction r − m does not borrow.
			var t limbs
			var borrow uint64
			t[0], borrow = bits.Sub64(r[0], m[0], 0)
			t[1], borrow = bits.Sub64(r[1], m[1], borrow)
			t[2], borrow = bits.Sub64(r[2], m[2], borrow)
			t[3], borrow = bits.Sub64(r[3], m[3], borrow)
			mask := -(c | (borrow ^ 1))
			for j := range r {
				r[j] = r[j]&^mask | t[j]&mask
			}
		}
	}
	r.bytes(out)
	clear(r[:])
}

// addOne sets s to s + 1. The caller guarantees that s + 1 < 2^256: it is
// applied to values below n − 1.
func addOne(s *[scalarSize]byte) {
	var r limbs
	r.setBytes(s)
	var carry uint64
	r[0], carry = bits.Add64(r[0], 1, 0)
	r[1], carry = bits.Add64(r[1], 0, carry)
	r[2], carry = bits.Add64(r[2], 0, carry)
	r[3], _ = bits.Add64(r[3], 0, carry)
	r.bytes(s)
	clear(r[:])
}

// isCanonicalNonZero returns 1 if 0 < s < n and 0 otherwise, in constant time.
func isCanonicalNonZero(s *[scalarSize]byte) int {
	var r limbs
	r.setBytes(s)
	var borrow uint64
	_, borrow = bits.Sub64(r[0], orderN[0], 0)
	_, borrow = bits.Sub64(r[1], orderN[1], borrow)
	_, borrow = bits.Sub64(r[2], orderN[2], borrow)
	_, borrow = bits.Sub64(r[3], orderN[3], borrow)
	acc := r[0] | r[1] | r[2] | r[3]
	nonZero := (acc | -acc) >> 63
	clear(r[:])
	return int(borrow & nonZero)
}

// reduceCCC sets out to (OS2IP(in) mod (n−1)) + 1, a scalar in [1, n−1]: the
// reduction of docs/protocol.md §3.3 (CCC TS Listing 18-1 via [MERS]).
func reduceCCC(out *[scalarSize]byte, in []byte) {
	reduce(out, in, &orderNMinus1)
	addOne(out)
}

// randomScalar sets out to a uniformly random scalar in [1, n−1] (bias at most
// 2^-64), from crypto/rand.
func randomScalar(out *[scalarSize]byte) {
	var buf [wideScalarSize]byte
	// crypto/rand.Read never returns an error (it crashes the program if the
	// system's randomness fails), as documented since Go 1.24.
	rand.Read(buf[:])
	reduceCCC(out, buf[:])
	clear(buf[:])
}

func (r *limbs) setBytes(s *[scalarSize]byte) {
	r[3] = binary.BigEndian.Uint64(s[0:8])
	r[2] = binary.BigEndian.Uint64(s[8:16])
	r[1] = binary.BigEndian.Uint64(s[16:24])
	r[0] = binary.BigEndian.Uint64(s[24:32])
}

func (r *limbs) bytes(s *[scalarSize]byte) {
	binary.BigEndian.PutUint64(s[0:8], r[3])
	binary.BigEndian.PutUint64(s[8:16], r[2])
	binary.BigEndian.PutUint64(s[16:24], r[1])
	binary.BigEndian.PutUint64(s[24:32], r[0])
}
