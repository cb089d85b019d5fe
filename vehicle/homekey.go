package vehicle

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// The Home Key profile's reader (doc.go, "Home Key"): the lock of a home
// learns a key it does not know from the attestation document the phone
// holds, signed by an issuer the lock trusts.

// AttestPolicy says when a Home Key reader runs the attestation flow.
type AttestPolicy uint8

const (
	// AttestUnknown runs the flow when AUTH1 names a key that is not
	// enrolled (and was not removed), and an issuer is enrolled: the
	// default.
	AttestUnknown AttestPolicy = iota
	// AttestAlways also runs it in every standard transaction of an
	// enrolled key, whose document must then verify and bind the enrolled
	// key. Fast transactions never run it.
	AttestAlways
	// AttestNever never runs it: unknown keys are refused (CONTROL FLOW
	// 0001), as in the CCC profile.
	AttestNever
)

// String returns the policy's name.
func (p AttestPolicy) String() string {
	switch p {
	case AttestUnknown:
		return "unknown keys"
	case AttestAlways:
		return "always"
	case AttestNever:
		return "never"
	}
	return fmt.Sprintf("AttestPolicy(%d)", uint8(p))
}

// HomeKeyConfig configures the attestation flow of a Home Key reader.
type HomeKeyConfig struct {
	// Attest says when the reader runs the flow; the zero value is
	// AttestUnknown.
	Attest AttestPolicy
	// Profile is the access profile of a key enrolled by attestation; nil
	// means dkey.AccessOnly (lock, unlock): a home member's key opens the
	// home's locks.
	Profile *dkey.AccessProfile
	// Request is the document request; nil means the one public Home Key
	// readers send (mdoc.HomeKey.DefaultRequest: credential_id).
	Request *mdoc.ReaderConfig
}

// ErrAttestation reports a Home Key attestation that did not enroll or
// confirm the key: the device did not take the EXCHANGE or serve the
// document, or the document did not verify (it wraps the mdoc error: an
// unknown issuer, a bad signature, a tampered element, another device
// key, outside its validity, a message that does not decrypt), or the
// document's key is not the one that signed AUTH1 (it wraps
// transaction.ErrAuthentication) or does not name the slot AUTH1 named.
var ErrAttestation = errors.New("vehicle: Home Key attestation refused")

// HomeKeyGroupID returns the reader group identifier of the Home Key reader
// private key whose 32-byte scalar is scalar: SHA-256("key-identifier" ‖
// scalar)[:8] (docs/protocol.md §10.4), the first 8 bytes of the reader
// identifier (AUTH0 tag 4D) that every lock of a home, sharing the home's
// reader key, sends. A lock whose key sits in an HSM gets its group from
// the home's controller instead.
func HomeKeyGroupID(scalar []byte) [8]byte {
	h := sha256.New()
	h.Write([]byte("key-identifier"))
	h.Write(scalar)
	var sum [sha256.Size]byte
	return [8]byte(h.Sum(sum[:0]))
}

// HomeKeySlot returns the key slot identifier a Home Key endpoint names
// itself by in AUTH1 (tag 4E): SHA-1(04 ‖ X ‖ Y)[:6] of its public key
// (docs/protocol.md §4.3, §10.4).
func HomeKeySlot(pub *dkey.PublicKey) dkey.KeySlot {
	h := sha1.Sum(pub.Bytes())
	s, _ := dkey.NewKeySlot(h[:6]) // cannot fail: 6 bytes
	return s
}

// homeKeyConfig returns the reader's Home Key configuration, never nil.
func (r *Reader) homeKeyConfig() *HomeKeyConfig {
	if r.hk == nil {
		return &HomeKeyConfig{}
	}
	return r.hk
}

// attestsUnknown reports whether a standard transaction whose AUTH1 names
// slot, which is not enrolled, runs the attestation flow: Home Key
// profile, a policy that allows it, an issuer enrolled, and slot not a key
// the reader removed (whose device is told to delete it instead). r.mu is
// held.
func (r *Reader) attestsUnknownLocked(slot dkey.KeySlot) bool {
	return r.v.Profile() == dkey.HomeKey && r.homeKeyConfig().Attest != AttestNever && len(r.issuers) > 0 &&
		!slices.ContainsFunc(r.removed, func(ki KeyInfo) bool { return ki.Slot == slot })
}

// attestsKnown reports whether a standard transaction of an enrolled key
// runs the attestation flow (AttestAlways).
func (r *Reader) attestsKnown() bool {
	return r.v.Profile() == dkey.HomeKey && r.homeKeyConfig().Attest == AttestAlways
}

// attest runs the Home Key attestation flow after ReadAuth1 (docs/protocol.md
// §2, §4.8, §4.9, package mdoc), for the key known, already verified, or
// for an unknown one (known nil):
//
//  1. EXCHANGE 00 8E 22 C0 20 <fresh secret>, answered with the R-MAC
//     alone;
//  2. CONTROL FLOW 40A0: the device switches to the configuration applet
//     and commits the transaction's Kpersistent; this is the
//     transaction's CONTROL FLOW;
//  3. SELECT A0000008580102, the handover ENVELOPE, the request ENVELOPE
//     (GET RESPONSE rounds included);
//  4. the document verifies against the enrolled issuers at the reader's
//     time, and binds the enrolled key (known) or a key whose slot is the
//     one AUTH1 named;
//  5. unknown key: the AUTH1 signature verifies with the document's key
//     (the binding step: the document is public, the signature proves
//     the phone holds the key), and the key is enrolled, with the issuer
//     that vouched for it.
//
// Any failure before the enrolment changes nothing stored. The policy
// applies to the key like to any other; the CONTROL FLOW code returned is
// 40A0, already sent (x.cfSent).
func (x *run) attest(action dkey.Action, a1 *transaction.Auth1Result, known *enrolled) (transaction.ControlFlow, error) {
	s, r := x.s, x.r
	failf := func(cf transaction.ControlFlow, format string, args ...any) (transaction.ControlFlow, error) {
		return cf, fmt.Errorf("%w: "+format, append([]any{ErrAttestation}, args...)...)
	}
	secret, err := mdoc.NewSecret()
	if err != nil {
		return transaction.CFFailure, fmt.Errorf("vehicle: %w", err)
	}
	defer secret.Zeroize()
	var plain [5 + mdoc.SecretSize]byte
	cmd, err := s.AttestationExchange(mdoc.AppendHomeKeyExchange(plain[:0], secret))
	clear(plain[:])
	if err != nil {
		return transaction.CFFailure, err
	}
	resp, err := x.do(cmd)
	if err != nil {
		return transaction.CFFailure, err
	}
	if !resp.SW.OK() {
		return failf(transaction.CFFailure, "EXCHANGE: %w", resp.SW)
	}
	got, err := s.ReadExchange(resp)
	switch {
	case errors.Is(err, transaction.ErrChannel):
		return transaction.CFInvalidChannel, err
	case err != nil:
		return transaction.CFFailure, err
	case len(got) != 0:
		return failf(transaction.CFInvalidDataFormat, "EXCHANGE answered with %d bytes of data", len(got))
	}

	x.cfSent = true
	if err := x.controlFlow(transaction.CFLongProcessing); err != nil {
		return transaction.CFLongProcessing, err
	}
	x.cfDelivered = true
	hk := r.homeKeyConfig()
	dr, err := mdoc.ReadHomeKey(x.ctx, x.c, secret, hk.Request)
	if err != nil {
		return failf(transaction.CFLongProcessing, "%w", err)
	}
	r.mu.Lock()
	opts := &mdoc.VerifyOptions{Issuers: slices.Clone(r.issuers), Time: r.now}
	if known != nil {
		opts.DeviceKey = known.info.PublicKey
	}
	r.mu.Unlock()
	vs, err := dr.Verify(opts)
	if err != nil {
		return failf(transaction.CFLongProcessing, "%w", err)
	}
	if len(vs) == 0 {
		return failf(transaction.CFLongProcessing, "%w", mdoc.ErrNoDocument)
	}
	v := vs[0]
	k := known
	if k == nil {
		if HomeKeySlot(v.DeviceKey) != a1.Slot {
			return failf(transaction.CFLongProcessing, "the document's key is not slot %v", a1.Slot)
		}
		pk, err := s.VerifyEndpoint(v.DeviceKey)
		if err != nil {
			return failf(transaction.CFLongProcessing, "AUTH1 signature: %w", err)
		}
		x.pending = pk
		pk.Zeroize()
		profile := dkey.AccessProfile{Entitlements: dkey.AccessOnly}
		if hk.Profile != nil {
			profile = *hk.Profile
		}
		issuer := v.Issuer.ID()
		k, err = r.enroll(Enrollment{PublicKey: v.DeviceKey, Slot: a1.Slot, Profile: profile}, nil,
			func(ops []store.Op, k *enrolled) ([]store.Op, error) {
				k.issuer = issuer
				return r.attestedOps(ops, k)
			})
		if err != nil {
			return transaction.CFLongProcessing, err
		}
	}
	x.key = k
	x.res.Attested = true

	r.mu.Lock()
	defer r.mu.Unlock()
	x.res.Slot, x.res.Role, x.res.Profile = k.info.Slot, k.info.Role, k.info.Profile
	i := r.indexOf(k)
	if i < 0 {
		return transaction.CFLongProcessing, fmt.Errorf("vehicle: %w: slot %v was removed during the transaction", dkey.ErrKeyTerminated, k.info.Slot)
	}
	if _, err := check(k, action, r.now()); err != nil {
		return transaction.CFLongProcessing, err
	}
	k.info.LastUse = r.now()
	r.touch(i)
	return transaction.CFLongProcessing, nil
}

// EnrollIssuer adds key, the Ed25519 key of a home member's HomeKit
// identity, to the issuers whose attestation documents the reader accepts
// (Home Key profile only). Enrolling a key twice is not an error.
func (r *Reader) EnrollIssuer(key *mdoc.IssuerKey) error {
	if r.v == nil {
		return ErrNotInitialized
	}
	if r.v.Profile() != dkey.HomeKey {
		return fmt.Errorf("vehicle: issuers in the %v profile: Home Key only", r.v.Profile())
	}
	if key == nil || key.Dialect() != mdoc.HomeKey {
		return errors.New("vehicle: not a Home Key issuer key")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return err
	}
	if slices.ContainsFunc(r.issuers, func(k *mdoc.IssuerKey) bool { return k.ID() == key.ID() }) {
		if slices.ContainsFunc(r.issuers, key.Equal) {
			return nil
		}
		return fmt.Errorf("vehicle: another issuer key has identifier %x", key.ID())
	}
	ops, err := r.issuerOps(nil, key)
	if err != nil {
		return err
	}
	if err := r.commitLocked(ops, nil); err != nil {
		return err
	}
	r.issuers = append(r.issuers, key)
	slices.SortFunc(r.issuers, compareIssuers)
	return nil
}

// RemoveIssuer removes the issuer id, and suspends every key enrolled by
// its attestation, in one batch: a member who leaves the home leaves with
// the keys they invited. Resume them with SetState, or remove them.
// Removing an issuer that is not enrolled is an error wrapping
// dkey.ErrUnknownKey.
func (r *Reader) RemoveIssuer(id mdoc.IssuerID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return err
	}
	i := slices.IndexFunc(r.issuers, func(k *mdoc.IssuerKey) bool { return k.ID() == id })
	if i < 0 {
		return fmt.Errorf("vehicle: %w: issuer %x", dkey.ErrUnknownKey, id)
	}
	ops := r.sec.Delete(nil, issuerName(id))
	var suspended []*enrolled
	for _, k := range r.keys {
		if k.issuer != id || k.info.State != dkey.KeyActive {
			continue
		}
		c := *k
		c.info.State = dkey.KeySuspended
		var err error
		if ops, err = r.keyOps(ops, &c); err != nil {
			return err
		}
		suspended = append(suspended, k)
	}
	if err := r.commitLocked(ops, nil); err != nil {
		return err
	}
	for _, k := range suspended {
		k.info.State = dkey.KeySuspended
	}
	r.issuers = slices.Delete(r.issuers, i, i+1)
	return nil
}

// Issuers returns the enrolled issuer keys, by identifier.
func (r *Reader) Issuers() []*mdoc.IssuerKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.issuers)
}

func compareIssuers(a, b *mdoc.IssuerKey) int {
	ai, bi := a.ID(), b.ID()
	return slices.Compare(ai[:], bi[:])
}
