package cmac

import (
	"crypto/aes"
	"fmt"
)

// SetKey rekeys c in place with key, which must be 16 or 32 bytes long;
// otherwise it returns an error wrapping [ErrKeySize] and leaves c unchanged.
// It works on a zero CMAC and on a closed one, so that a CMAC can be a field
// of a longer-lived struct and rekeyed for every message, as the per-round
// keys of the UWB key schedule are (docs/protocol.md §8.5).
//
// SetKey allocates the AES key schedule (crypto/aes offers no way to expand
// a key into existing memory), which is one allocation; [New] costs two.
func (c *CMAC) SetKey(key []byte) error {
	if len(key) != 16 && len(key) != 32 {
		return fmt.Errorf("%w, got %d bytes", ErrKeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("cmac: %w", err)
	}
	c.b = b
	// SP 800-38B §6.1: L = CIPH_K(0^128), K1 = dbl(L), K2 = dbl(K1).
	clear(c.x[:])
	clear(c.buf[:])
	c.n = 0
	b.Encrypt(c.x[:], c.x[:])
	double(&c.k1, &c.x)
	double(&c.k2, &c.k1)
	clear(c.x[:])
	return nil
}
