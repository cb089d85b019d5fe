package cmac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
)

const (
	// Size is the size of a full CMAC tag and of the AES block.
	Size = aes.BlockSize
	// MinTagSize is the shortest truncated tag that [CMAC.Verify] accepts
	// (64 bits, SP 800-38B §7 and Appendix A).
	MinTagSize = 8
)

// ErrKeySize is returned by [New] for a key that is neither 16 (AES-128) nor
// 32 (AES-256) bytes.
var ErrKeySize = errors.New("cmac: key must be 16 (AES-128) or 32 (AES-256) bytes")

// rb is the constant R_128 of SP 800-38B §5.3, in its last byte.
const rb = 0x87

// CMAC computes AES-CMAC tags under one key. Create it with [New]. It is not
// safe for concurrent use.
type CMAC struct {
	b      cipher.Block
	k1, k2 [Size]byte
	// x is the running CBC-MAC state and buf the pending (last) block; both
	// live here rather than on the stack because cipher.Block is an
	// interface, and slices passed to it escape to the heap.
	x   [Size]byte
	buf [Size]byte
	n   int // bytes pending in buf
}

// New returns a CMAC keyed with key, which must be 16 or 32 bytes long;
// otherwise it returns an error wrapping [ErrKeySize]. New allocates the AES
// key schedule; nothing after it allocates.
func New(key []byte) (*CMAC, error) {
	c := new(CMAC)
	if err := c.SetKey(key); err != nil {
		return nil, err
	}
	return c, nil
}

// double sets dst to the doubling of src in GF(2^128) (SP 800-38B §6.1
// steps 2 and 3): a left shift by one bit and, if the bit shifted out was
// set, an XOR of R_128 into the last byte. It runs in constant time.
func double(dst, src *[Size]byte) {
	msb := src[0] >> 7
	for i := range Size - 1 {
		dst[i] = src[i]<<1 | src[i+1]>>7
	}
	dst[Size-1] = src[Size-1]<<1 ^ byte(-int8(msb))&rb
}

// Sum appends the 16-byte tag of msg to dst and returns the extended slice.
func (c *CMAC) Sum(dst, msg []byte) []byte {
	var tag [Size]byte
	c.Sum2(&tag, msg, nil)
	dst = append(dst, tag[:]...)
	clear(tag[:])
	return dst
}

// Sum2 sets out to the 16-byte tag of the concatenation a ‖ b, without
// copying a and b together.
func (c *CMAC) Sum2(out *[Size]byte, a, b []byte) {
	if c.b == nil {
		panic("cmac: use of a closed or zero CMAC")
	}
	c.write(a)
	c.write(b)
	c.final(out)
}

// Verify reports, in constant time with respect to the tag's contents,
// whether tag is the tag of msg or its leftmost len(tag) bytes. A tag
// shorter than [MinTagSize] or longer than [Size] never verifies.
func (c *CMAC) Verify(tag, msg []byte) bool {
	var want [Size]byte
	c.Sum2(&want, msg, nil)
	ok := len(tag) >= MinTagSize && len(tag) <= Size &&
		subtle.ConstantTimeCompare(tag, want[:len(tag)]) == 1
	clear(want[:])
	return ok
}

// Close zeroizes the subkeys and the scratch state and drops the AES key
// schedule. The CMAC must not be used afterwards; doing so panics. Close is
// idempotent.
func (c *CMAC) Close() {
	clear(c.k1[:])
	clear(c.k2[:])
	clear(c.x[:])
	clear(c.buf[:])
	c.n = 0
	c.b = nil
}

// block absorbs one complete block that is not the last one of the message.
func (c *CMAC) block(p []byte) {
	subtle.XORBytes(c.x[:], c.x[:], p[:Size])
	c.b.Encrypt(c.x[:], c.x[:])
}

// write absorbs p. The last block of a message is special (SP 800-38B §6.2
// step 4), so a complete block stays pending in buf until more input proves
// that it is not the last.
func (c *CMAC) write(p []byte) {
	if len(p) == 0 {
		return
	}
	if c.n > 0 {
		k := copy(c.buf[c.n:], p)
		c.n += k
		p = p[k:]
		if len(p) == 0 {
			return
		}
		c.block(c.buf[:])
		c.n = 0
	}
	for len(p) > Size {
		c.block(p[:Size])
		p = p[Size:]
	}
	c.n = copy(c.buf[:], p)
}

// final absorbs the pending last block with K1 (complete) or K2 (padded with
// 80 00…), writes the tag to out and clears the scratch state.
func (c *CMAC) final(out *[Size]byte) {
	k := &c.k1
	if c.n < Size {
		// SP 800-38B §6.2 step 4: Mn = K2 ⊕ (Mn* ‖ 10^j).
		c.buf[c.n] = 0x80
		clear(c.buf[c.n+1:])
		k = &c.k2
	}
	subtle.XORBytes(c.buf[:], c.buf[:], k[:])
	c.block(c.buf[:])
	*out = c.x
	clear(c.x[:])
	clear(c.buf[:])
	c.n = 0
}
