package ecdhe

import (
	"errors"
	"fmt"
	"io"
)

// maxDraws bounds the candidates GenerateFrom reads. A uniform source hits a
// value outside [1, n-1] with probability about 2^-32 per candidate; a
// source that keeps producing them is broken (all 0xFF, say).
const maxDraws = 64

// ErrRandom reports a source given to GenerateFrom that fails, ends, or
// yields no valid scalar in maxDraws candidates.
var ErrRandom = errors.New("ecdhe: randomness source failed")

// GenerateFrom is Generate with the randomness read from r instead of
// crypto/rand, for tests and conformance vectors: it reads 32 bytes, takes
// them as a big-endian scalar, and reads 32 more while the value is 0 or not
// below the group order n (the procedure of Generate, so that r giving the
// bytes crypto/rand would have given yields the same key), then computes the
// public key. Go 1.26's crypto/ecdh ignores a reader given to GenerateKey;
// this does not.
func (k *PrivateKey) GenerateFrom(r io.Reader) error {
	for range maxDraws {
		if _, err := io.ReadFull(r, k.scalar[:]); err != nil {
			k.Zeroize()
			return fmt.Errorf("%w: %w", ErrRandom, err)
		}
		if validScalar(&k.scalar) == 1 {
			return k.computePublic()
		}
	}
	k.Zeroize()
	return fmt.Errorf("%w: no scalar in [1, n-1] in %d candidates", ErrRandom, maxDraws)
}
