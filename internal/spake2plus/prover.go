package spake2plus

import (
	"crypto/subtle"

	"filippo.io/nistec"
)

// Prover is one run of the prover: the device in the CCC profile. NewProver
// draws x and computes the share X; Finish takes the verifier's share Y and
// confirmation, checks them, and returns the prover's confirmation and the
// shared key. A Prover is single use and not safe for concurrent use.
//
//	p, err := spake2plus.NewProver(profile, secret)
//	send(p.Share())                          // X
//	confirm, key, err := p.Finish(Y, confirmV)
//	send(confirm)                            // only if err == nil
type Prover struct {
	suite    *suite
	x        [scalarSize]byte
	w0, w1   [scalarSize]byte
	w0N      nistec.P256Point
	share    [pointSize]byte // X
	finished bool
}

// NewProver starts a run of the prover with secret, drawing x uniformly from
// [1, n−1] with crypto/rand. It keeps a copy of the secret, which the caller
// may then zeroize. A nil profile returns ErrInvalidProfile, a nil or
// zeroized secret ErrInvalidSecret.
func NewProver(profile Profile, secret *ProverSecret) (*Prover, error) {
	var x [scalarSize]byte
	randomScalar(&x)
	p, err := newProver(profile, secret, &x)
	clear(x[:])
	return p, err
}

// newProver is NewProver with the ephemeral scalar x given: the derandomized
// twin for known-answer tests.
func newProver(profile Profile, secret *ProverSecret, x *[scalarSize]byte) (*Prover, error) {
	if profile == nil {
		return nil, ErrInvalidProfile
	}
	// A nil or zeroized secret is the caller's mistake; refuse it rather
	// than run with w0 = w1 = 0.
	if secret == nil || isCanonicalNonZero(&secret.w0)&isCanonicalNonZero(&secret.w1) != 1 {
		return nil, ErrInvalidSecret
	}
	s, err := profile.compile()
	if err != nil {
		return nil, err
	}
	p := &Prover{suite: s, x: *x, w0: secret.w0, w1: secret.w1}
	p.w0N.Set(&secret.w0N)
	// RFC 9383 §3.3: X = x·P + w0·M.
	var pX nistec.P256Point
	mulAdd(&pX, &p.x, &secret.w0M)
	encodePoint(&p.share, &pX)
	return p, nil
}

// Share returns the prover's share X, 65 bytes uncompressed: the payload of
// tag 50 in the CCC SPAKE2+ REQUEST response.
func (p *Prover) Share() []byte {
	s := p.share
	return s[:]
}

// Finish completes the run with the verifier's share and confirmation (CCC:
// Y and M1 from SPAKE2+ VERIFY, tags 52 and 57). It checks the share, derives
// the keys and compares the confirmation in constant time. On success it
// returns the prover's confirmation, to be sent to the verifier (RFC 9383:
// confirmP, 32 bytes; CCC: M2, 16 bytes, tag 58), and the shared key
// (RFC 9383: K_shared, 32 bytes; CCC: SK, 16 bytes).
//
// Every failure of the peer returns ErrAuthentication. Finish erases the
// run's secrets whatever the outcome; a second call returns ErrFinished.
func (p *Prover) Finish(peerShare, peerConfirm []byte) (confirm, sharedKey []byte, err error) {
	if p.finished {
		return nil, nil, ErrFinished
	}
	p.finished = true
	defer p.erase()

	var sh shares
	defer sh.erase()
	if !p.computeShares(&sh, peerShare) {
		return nil, nil, ErrAuthentication
	}

	var k keySchedule
	defer k.erase()
	p.suite.schedule(&k, &sh)
	n := p.suite.confirmSize()
	if subtle.ConstantTimeCompare(k.verifierConfirm[:n], peerConfirm) != 1 {
		return nil, nil, ErrAuthentication
	}
	confirm = append([]byte(nil), k.proverConfirm[:n]...)
	sharedKey = append([]byte(nil), k.shared[:p.suite.sharedSize()]...)
	return confirm, sharedKey, nil
}

// computeShares checks the verifier's share and fills sh with X, Y, Z, V
// and w0. It reports false if the share is invalid.
func (p *Prover) computeShares(sh *shares, peerShare []byte) bool {
	var pY, unblinded, point nistec.P256Point
	defer erasePoint(&unblinded)
	defer erasePoint(&point)
	// RFC 9383 §3.3: "Upon receipt of Y, the prover checks the received
	// element for group membership and aborts if Y is not in the large
	// prime-order subgroup", and h·(Y − w0·N) must not be the identity.
	if !parseShare(&pY, peerShare) || !unblind(&unblinded, &pY, &p.w0N) {
		return false
	}
	// Z = h·x·(Y − w0·N), V = h·w1·(Y − w0·N), h = 1. Neither is the
	// identity: Y − w0·N is not, and x and w1 are in [1, n−1].
	point.ScalarMult(&unblinded, p.x[:])
	encodePoint(&sh.z, &point)
	point.ScalarMult(&unblinded, p.w1[:])
	encodePoint(&sh.v, &point)
	sh.x, sh.y, sh.w0 = p.share, [pointSize]byte(peerShare), p.w0
	return true
}

func (p *Prover) erase() {
	clear(p.x[:])
	clear(p.w0[:])
	clear(p.w1[:])
	erasePoint(&p.w0N)
}
