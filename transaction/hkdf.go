package transaction

import (
	"crypto/sha256"
	"hash"
)

// hmacSHA256 is HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) that
// allocate nothing once created: the fast transaction runs HKDF for every
// enrolled key it tries, and crypto/hkdf allocates on every call. It is
// checked against crypto/hkdf and crypto/hmac in hkdf_test.go.
//
// Keys are at most one SHA-256 block (64 bytes); the protocol's HMAC keys are
// 32-byte PRKs and Kdh values.
type hmacSHA256 struct {
	h    hash.Hash
	ipad [sha256.BlockSize]byte
	opad [sha256.BlockSize]byte
	sum  [sha256.Size]byte
	// t and ctr are HKDF-Expand state. They live here, not on the stack,
	// because slices passed to hash.Hash.Write escape.
	t   [sha256.Size]byte
	ctr [1]byte
}

func newHMAC() *hmacSHA256 { return &hmacSHA256{h: sha256.New()} }

// setKey keys the HMAC. len(key) must be at most 64.
func (m *hmacSHA256) setKey(key []byte) {
	clear(m.ipad[:])
	copy(m.ipad[:], key)
	for i := range m.ipad {
		m.opad[i] = m.ipad[i] ^ 0x5c
		m.ipad[i] ^= 0x36
	}
}

// mac computes HMAC(key, a‖b‖c) into out.
func (m *hmacSHA256) mac(out *[sha256.Size]byte, a, b, c []byte) {
	m.h.Reset()
	m.h.Write(m.ipad[:])
	m.h.Write(a)
	m.h.Write(b)
	m.h.Write(c)
	inner := m.h.Sum(m.sum[:0])
	m.h.Reset()
	m.h.Write(m.opad[:])
	m.h.Write(inner)
	m.h.Sum(out[:0])
}

// zeroSalt is the HKDF salt "not provided": HashLen zero bytes (RFC 5869 §2.2).
var zeroSalt [sha256.Size]byte

// extract computes PRK = HMAC(salt = 32 zero bytes, ikm) into prk.
func (m *hmacSHA256) extract(prk *[sha256.Size]byte, ikm []byte) {
	m.setKey(zeroSalt[:])
	m.mac(prk, ikm, nil, nil)
}

// expand fills out with HKDF-Expand(prk, info, len(out)). len(out) must be at
// most 255·32.
func (m *hmacSHA256) expand(out []byte, prk *[sha256.Size]byte, info []byte) {
	m.setKey(prk[:])
	var prev []byte
	m.ctr[0] = 0
	for len(out) > 0 {
		m.ctr[0]++
		m.mac(&m.t, prev, info, m.ctr[:])
		n := copy(out, m.t[:])
		out = out[n:]
		prev = m.t[:]
	}
	clear(m.t[:])
}

// zeroize erases the keyed state. Writing a block less one byte of zeros
// before the reset overwrites the partial-block buffer inside the SHA-256
// state, which Reset alone leaves as it was.
func (m *hmacSHA256) zeroize() {
	clear(m.ipad[:])
	clear(m.opad[:])
	clear(m.sum[:])
	clear(m.t[:])
	m.h.Reset()
	m.h.Write(m.ipad[:sha256.BlockSize-1])
	m.h.Reset()
}
