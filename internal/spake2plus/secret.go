package spake2plus

import (
	"crypto/subtle"

	"filippo.io/nistec"
)

// ProverSecret is what the prover holds: the password-derived scalars w0 and
// w1 (RFC 9383 §3.2). In the CCC profile the device is the prover and derives
// them from the pairing password with DeriveCCCSecret.
//
// A ProverSecret may be used for any number of runs, concurrently. Zeroize
// erases it.
type ProverSecret struct {
	w0, w1   [scalarSize]byte
	w0M, w0N nistec.P256Point // w0·M and w0·N, used by every run
}

// VerifierRecord is what the verifier stores: w0 and L = w1·G, never the
// password or w1 (RFC 9383 §3.2). In the CCC profile the vehicle is the
// verifier; the vehicle OEM server computes the record and installs it
// (docs/protocol.md §3.1 phase 0).
//
// A VerifierRecord may be used for any number of runs, concurrently. Zeroize
// erases it.
type VerifierRecord struct {
	w0       [scalarSize]byte
	l        [pointSize]byte
	lPoint   nistec.P256Point
	w0M, w0N nistec.P256Point
}

// VerifierRecordSize is the length of an encoded VerifierRecord: w0 (32
// bytes, big endian) followed by L (65 bytes, SEC 1 uncompressed).
const VerifierRecordSize = scalarSize + pointSize

// NewProverSecret returns the prover secret of the scalars w0 and w1, each
// 32 bytes big endian, in [1, n−1] where n is the order of P-256. Zero is
// refused: RFC 9383 allows it with probability 2^-256, and it would make L or
// the password mask the identity.
func NewProverSecret(w0, w1 []byte) (*ProverSecret, error) {
	if len(w0) != scalarSize || len(w1) != scalarSize {
		return nil, ErrInvalidSecret
	}
	s := new(ProverSecret)
	copy(s.w0[:], w0)
	copy(s.w1[:], w1)
	if isCanonicalNonZero(&s.w0)&isCanonicalNonZero(&s.w1) != 1 {
		s.Zeroize()
		return nil, ErrInvalidSecret
	}
	s.precompute()
	return s, nil
}

// ProverSecretFromPBKDF returns the prover secret of a password-hash output
// w0s‖w1s, reduced as RFC 9383 §3.2 says: w0 = w0s mod n, w1 = w1s mod n.
// Each half must be 40 to 64 bytes, so that the reduction is unbiased to
// 2^-64 (the RFC's minimum for P-256 is 80 bytes in all). The caller chooses
// the password hash and its input; RFC 9383 recommends
// PBKDF(len(pw)‖pw‖len(idProver)‖idProver‖len(idVerifier)‖idVerifier).
// The CCC profile reduces differently: use DeriveCCCSecret there.
func ProverSecretFromPBKDF(output []byte) (*ProverSecret, error) {
	half := len(output) / 2
	if len(output)%2 != 0 || half < wideScalarSize || half > 64 {
		return nil, ErrInvalidSecret
	}
	s := new(ProverSecret)
	reduce(&s.w0, output[:half], &orderN)
	reduce(&s.w1, output[half:], &orderN)
	if isCanonicalNonZero(&s.w0)&isCanonicalNonZero(&s.w1) != 1 {
		s.Zeroize()
		return nil, ErrInvalidSecret
	}
	s.precompute()
	return s, nil
}

// newCCCProverSecret reduces a CCC scrypt output z into the prover secret:
// w0 = (OS2IP(z[0:40]) mod (n−1)) + 1, w1 = (OS2IP(z[40:80]) mod (n−1)) + 1
// (docs/protocol.md §3.3). Both land in [1, n−1], so no check is needed.
func newCCCProverSecret(z *[2 * wideScalarSize]byte) *ProverSecret {
	s := new(ProverSecret)
	reduceCCC(&s.w0, z[:wideScalarSize])
	reduceCCC(&s.w1, z[wideScalarSize:])
	s.precompute()
	return s
}

func (s *ProverSecret) precompute() {
	var c nistec.P256Point
	s.w0M.ScalarMult(setConstant(&c, pointM), s.w0[:])
	s.w0N.ScalarMult(setConstant(&c, pointN), s.w0[:])
}

// Record returns the verifier record (w0, L = w1·G) of s, for the verifier
// to store.
func (s *ProverSecret) Record() *VerifierRecord {
	r := new(VerifierRecord)
	r.w0 = s.w0
	r.lPoint.ScalarBaseMult(s.w1[:])
	encodePoint(&r.l, &r.lPoint)
	r.w0M.Set(&s.w0M)
	r.w0N.Set(&s.w0N)
	return r
}

// Zeroize overwrites w0, w1 and the values derived from them. The secret
// must not be used afterwards. Copies the Go runtime made (stack moves,
// garbage not yet reused) are out of its reach.
func (s *ProverSecret) Zeroize() {
	clear(s.w0[:])
	clear(s.w1[:])
	erasePoint(&s.w0M)
	erasePoint(&s.w0N)
}

// ParseVerifierRecord decodes a record encoded by AppendBinary: w0 (32 bytes,
// big endian, in [1, n−1]) then L (65 bytes, uncompressed, a valid point other
// than the identity). It does not keep b.
func ParseVerifierRecord(b []byte) (*VerifierRecord, error) {
	if len(b) != VerifierRecordSize {
		return nil, ErrInvalidSecret
	}
	r := new(VerifierRecord)
	copy(r.w0[:], b[:scalarSize])
	copy(r.l[:], b[scalarSize:])
	if isCanonicalNonZero(&r.w0) != 1 || !parseShare(&r.lPoint, r.l[:]) {
		r.Zeroize()
		return nil, ErrInvalidSecret
	}
	var c nistec.P256Point
	r.w0M.ScalarMult(setConstant(&c, pointM), r.w0[:])
	r.w0N.ScalarMult(setConstant(&c, pointN), r.w0[:])
	return r, nil
}

// AppendBinary appends the encoding of r, w0‖L (VerifierRecordSize bytes), to
// dst. It holds the secret w0: store it as such. The error is always nil; the
// signature is that of encoding.BinaryAppender.
func (r *VerifierRecord) AppendBinary(dst []byte) ([]byte, error) {
	dst = append(dst, r.w0[:]...)
	return append(dst, r.l[:]...), nil
}

// Equal reports whether r and o hold the same w0 and L, in constant time.
func (r *VerifierRecord) Equal(o *VerifierRecord) bool {
	return subtle.ConstantTimeCompare(r.w0[:], o.w0[:])&subtle.ConstantTimeCompare(r.l[:], o.l[:]) == 1
}

// Zeroize overwrites w0 and the values derived from it. The record must not
// be used afterwards.
func (r *VerifierRecord) Zeroize() {
	clear(r.w0[:])
	clear(r.l[:])
	erasePoint(&r.lPoint)
	erasePoint(&r.w0M)
	erasePoint(&r.w0N)
}
