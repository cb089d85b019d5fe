package spake2plus

import (
	"errors"
	"fmt"
	"io"
)

// ErrRandom reports a randomness source given to NewProverFrom or
// NewVerifierFrom that fails or ends.
var ErrRandom = errors.New("spake2plus: randomness source failed")

// scalarFrom sets out to a scalar in [1, n−1] read from r as randomScalar
// reads crypto/rand: 40 bytes reduced modulo n−1, plus 1. Nil r means
// crypto/rand.
func scalarFrom(out *[scalarSize]byte, r io.Reader) error {
	if r == nil {
		randomScalar(out)
		return nil
	}
	var buf [wideScalarSize]byte
	defer clear(buf[:])
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return fmt.Errorf("%w: %w", ErrRandom, err)
	}
	reduceCCC(out, buf[:])
	return nil
}

// NewProverFrom is NewProver with the ephemeral scalar x drawn from r
// instead of crypto/rand, for tests and conformance vectors only: 40 bytes
// read from r, reduced as NewProver reduces crypto/rand's (so that r giving
// the bytes crypto/rand would have given yields the same run). Nil r means
// crypto/rand. A source that fails returns an error wrapping ErrRandom.
func NewProverFrom(r io.Reader, profile Profile, secret *ProverSecret) (*Prover, error) {
	var x [scalarSize]byte
	defer clear(x[:])
	if err := scalarFrom(&x, r); err != nil {
		return nil, err
	}
	return newProver(profile, secret, &x)
}

// NewVerifierFrom is NewVerifier with the ephemeral scalar y drawn from r
// instead of crypto/rand, for tests and conformance vectors only, as
// NewProverFrom draws x. Nil r means crypto/rand.
func NewVerifierFrom(r io.Reader, profile Profile, record *VerifierRecord, peerShare []byte) (*Verifier, error) {
	var y [scalarSize]byte
	defer clear(y[:])
	if err := scalarFrom(&y, r); err != nil {
		return nil, err
	}
	return newVerifier(profile, record, peerShare, &y)
}
