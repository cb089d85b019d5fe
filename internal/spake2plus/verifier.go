package spake2plus

import (
	"crypto/subtle"

	"filippo.io/nistec"
)

// Verifier is one run of the verifier: the vehicle in the CCC profile.
// NewVerifier takes the prover's share X, draws y and computes the share Y,
// the keys and the verifier's confirmation; Finish checks the prover's
// confirmation and only then releases the shared key. A Verifier is single
// use and not safe for concurrent use.
//
//	v, err := spake2plus.NewVerifier(profile, record, X)
//	send(v.Share(), v.Confirmation())        // Y, confirmV
//	key, err := v.Finish(confirmP)
type Verifier struct {
	suite    *suite
	share    [pointSize]byte // Y
	confirm  [maxConfirmSize]byte
	expected [maxConfirmSize]byte // the prover's confirmation
	shared   [maxSharedSize]byte
	finished bool
}

// NewVerifier starts a run of the verifier with record and the prover's
// share (CCC: X from the SPAKE2+ REQUEST response, tag 50), drawing y
// uniformly from [1, n−1] with crypto/rand. An invalid share returns
// ErrAuthentication; a nil profile ErrInvalidProfile, a nil or zeroized
// record ErrInvalidSecret.
func NewVerifier(profile Profile, record *VerifierRecord, peerShare []byte) (*Verifier, error) {
	var y [scalarSize]byte
	randomScalar(&y)
	v, err := newVerifier(profile, record, peerShare, &y)
	clear(y[:])
	return v, err
}

// newVerifier is NewVerifier with the ephemeral scalar y given: the
// derandomized twin for known-answer tests.
func newVerifier(profile Profile, record *VerifierRecord, peerShare []byte, y *[scalarSize]byte) (*Verifier, error) {
	if profile == nil {
		return nil, ErrInvalidProfile
	}
	// A nil or zeroized record is the caller's mistake.
	if record == nil || isCanonicalNonZero(&record.w0) != 1 {
		return nil, ErrInvalidSecret
	}
	s, err := profile.compile()
	if err != nil {
		return nil, err
	}
	var sh shares
	defer sh.erase()
	if !computeVerifierShares(&sh, record, peerShare, y) {
		return nil, ErrAuthentication
	}

	var k keySchedule
	defer k.erase()
	s.schedule(&k, &sh)
	v := &Verifier{suite: s, share: sh.y}
	copy(v.confirm[:], k.verifierConfirm[:])
	copy(v.expected[:], k.proverConfirm[:])
	copy(v.shared[:], k.shared[:])
	return v, nil
}

// computeVerifierShares checks the prover's share and fills sh with X, Y, Z,
// V and w0. It reports false if the share is invalid.
func computeVerifierShares(sh *shares, record *VerifierRecord, peerShare []byte, y *[scalarSize]byte) bool {
	var pX, unblinded, point nistec.P256Point
	defer erasePoint(&unblinded)
	defer erasePoint(&point)
	// RFC 9383 §3.3: "Upon receipt of X, the verifier checks the received
	// element for group membership and aborts if X is not in the large
	// prime-order subgroup", and h·(X − w0·M) must not be the identity.
	if !parseShare(&pX, peerShare) || !unblind(&unblinded, &pX, &record.w0M) {
		return false
	}
	sh.x, sh.w0 = [pointSize]byte(peerShare), record.w0
	// Y = y·P + w0·N.
	mulAdd(&point, y, &record.w0N)
	encodePoint(&sh.y, &point)
	// Z = h·y·(X − w0·M), V = h·y·L, h = 1; neither is the identity.
	point.ScalarMult(&unblinded, y[:])
	encodePoint(&sh.z, &point)
	point.ScalarMult(&record.lPoint, y[:])
	encodePoint(&sh.v, &point)
	return true
}

// Share returns the verifier's share Y, 65 bytes uncompressed (CCC: tag 52
// of SPAKE2+ VERIFY).
func (v *Verifier) Share() []byte {
	s := v.share
	return s[:]
}

// Confirmation returns the verifier's confirmation (RFC 9383: confirmV, 32
// bytes; CCC: the vehicle evidence M1, 16 bytes, tag 57). It reveals nothing
// the prover could not compute itself from the password.
func (v *Verifier) Confirmation() []byte {
	return append([]byte(nil), v.confirm[:v.suite.confirmSize()]...)
}

// Finish checks the prover's confirmation (RFC 9383: confirmP; CCC: the
// device evidence M2, tag 58) in constant time and, if it matches, returns
// the shared key (RFC 9383: K_shared, 32 bytes; CCC: SK, 16 bytes). A
// mismatch returns ErrAuthentication. Finish erases the run's secrets
// whatever the outcome; a second call returns ErrFinished.
func (v *Verifier) Finish(peerConfirm []byte) ([]byte, error) {
	if v.finished {
		return nil, ErrFinished
	}
	v.finished = true
	defer v.erase()
	if subtle.ConstantTimeCompare(v.expected[:v.suite.confirmSize()], peerConfirm) != 1 {
		return nil, ErrAuthentication
	}
	return append([]byte(nil), v.shared[:v.suite.sharedSize()]...), nil
}

func (v *Verifier) erase() {
	clear(v.expected[:])
	clear(v.shared[:])
}
