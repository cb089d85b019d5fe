package attest

import (
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// MaxTrackingKeys bounds VerifyOptions.TrackingKeys: a receipt carries no
// kid, so each key is tried in turn.
const MaxTrackingKeys = 4

// Signer is a key the verifier has enrolled and may accept statements from:
// its public key, its key slot (the kid of the statements it signs), the
// access profile it holds and its own validity window.
type Signer struct {
	Key   *dkey.PublicKey
	Slot  dkey.KeySlot
	Grant dkey.AccessProfile
	// NotBefore and NotAfter bound the signer's own validity as a
	// KeyAttestation's window does: valid from NotBefore and through the
	// whole second NotAfter. A zero value leaves that end unbounded, as for
	// an owner key. A friend key entitled to share passes the window it was
	// enrolled with, so that no key it attests outlives it.
	NotBefore, NotAfter time.Time
}

// CheckGrant reports whether s may grant a key the access profile p for the
// validity window [notBefore, notAfter] (inclusive, to the second, as in a
// KeyAttestation): p must lie within s.Grant ([dkey.AccessProfile.Within];
// ErrExceedsGrant otherwise) and the window within the signer's own
// (ErrOutsideSignerValidity otherwise). Applied at every attestation along
// a chain of re-sharing (owner → friend entitled to share → its friend ...),
// it bounds every key by all the keys above it. VerifyKeyAttestation runs
// it at StepGrant; a sharing device runs it before it signs.
func (s *Signer) CheckGrant(p dkey.AccessProfile, notBefore, notAfter time.Time) error {
	// A key never grants more than it holds.
	if !p.Within(s.Grant) {
		return ErrExceedsGrant
	}
	// Nor for longer (issue 12, finding 2): the window starts no earlier
	// than the signer's and ends no later. The attested NotAfter and the
	// signer's are both last valid seconds, so whole seconds compare.
	if (!s.NotBefore.IsZero() && notBefore.Before(s.NotBefore)) ||
		(!s.NotAfter.IsZero() && notAfter.Unix() > s.NotAfter.Unix()) {
		return ErrOutsideSignerValidity
	}
	return nil
}

// VerifyOptions is what a verifier knows. Its zero value accepts nothing.
type VerifyOptions struct {
	// Vehicle is the verifying vehicle (or, on a server, the vehicle the
	// statement is checked for).
	Vehicle dkey.VehicleID
	// Signers are the enrolled keys, looked up by key slot.
	Signers []Signer
	// TrackingKeys are the keys of the automaker's key tracking service,
	// at most MaxTrackingKeys.
	TrackingKeys []*dkey.PublicKey
	// Time returns the current time for validity windows. Nil means
	// time.Now.
	Time func() time.Time
}

func (o *VerifyOptions) now() time.Time {
	if o.Time == nil {
		return time.Now()
	}
	return o.Time()
}

// signer returns the enrolled key whose slot is kid.
func (o *VerifyOptions) signer(kid []byte) (*Signer, bool) {
	for i := range o.Signers {
		if o.Signers[i].Key != nil && !o.Signers[i].Slot.IsZero() && o.Signers[i].Slot.EqualBytes(kid) {
			return &o.Signers[i], true
		}
	}
	return nil, false
}

func fail(step Step, err error) error { return &VerifyError{Step: step, Err: err} }

// VerifyKeyAttestation verifies a key attestation for opts.Vehicle and
// returns its contents. The checks run in order, and the first that fails
// returns a [*VerifyError] naming its step:
//
//  1. parse: a strict COSE_Sign1_Tagged of content type
//     ContentTypeKeyAttestation with a kid (ErrMalformed);
//  2. signer: the kid is the slot of one of opts.Signers (ErrUnknownSigner);
//  3. signature: ES256 by that signer's key (ErrBadSignature, opaque);
//  4. parse: the now authenticated payload decodes strictly (ErrMalformed);
//  5. authorisation: the signer holds EntitleShare (ErrSignerNotAuthorised);
//  6. vehicle: the attestation names opts.Vehicle (ErrWrongVehicle);
//  7. validity: NotBefore ≤ now ≤ NotAfter at opts.Time, to the second
//     (ErrNotYetValid, ErrExpired);
//  8. grant: the granted profile is within the signer's Grant
//     ([dkey.AccessProfile.Within]) (ErrExceedsGrant), and the validity
//     window within the signer's own NotBefore and NotAfter
//     (ErrOutsideSignerValidity); see [Signer.CheckGrant].
//
// The payload is decoded only after the signature verifies, so
// unauthenticated bytes reach the CBOR decoder only in the envelope and the
// protected header.
func VerifyKeyAttestation(statement []byte, opts VerifyOptions) (*KeyAttestation, error) {
	env, err := open(statement, ContentTypeKeyAttestation, true)
	if err != nil {
		return nil, fail(StepParse, err)
	}
	signer, ok := opts.signer(env.kid)
	if !ok {
		return nil, fail(StepSigner, ErrUnknownSigner)
	}
	if !env.verify(signer.Key) {
		return nil, fail(StepSignature, ErrBadSignature)
	}
	a, err := parseKeyAttestation(env.payload, env.kid)
	if err != nil {
		return nil, fail(StepParse, err)
	}
	// Only a key entitled to share may attest another key (docs/protocol.md §9).
	if !signer.Grant.Entitlements.Has(dkey.EntitleShare) {
		return nil, fail(StepAuthorised, ErrSignerNotAuthorised)
	}
	if !a.VehicleID.Equal(opts.Vehicle) {
		return nil, fail(StepVehicle, ErrWrongVehicle)
	}
	// The vehicle enforces the attested validity window with its own clock
	// (docs/protocol.md §9).
	now := opts.now().Unix()
	switch {
	case now < a.NotBefore.Unix():
		return nil, fail(StepValidity, ErrNotYetValid)
	case now > a.NotAfter.Unix():
		return nil, fail(StepValidity, ErrExpired)
	}
	// A key never grants more than it holds, nor for longer.
	if err := signer.CheckGrant(a.Profile, a.NotBefore, a.NotAfter); err != nil {
		return nil, fail(StepGrant, err)
	}
	return a, nil
}

// VerifyTerminationAttestation verifies a termination attestation for
// opts.Vehicle and returns its contents. The checks run in order, each
// failure a [*VerifyError] naming its step:
//
//  1. parse: a strict COSE_Sign1_Tagged of content type
//     ContentTypeTerminationAttestation with a kid (ErrMalformed);
//  2. signer: the kid is the slot of one of opts.Signers (ErrUnknownSigner);
//  3. signature: ES256 by that signer's key (ErrBadSignature, opaque);
//  4. parse: the authenticated payload decodes strictly (ErrMalformed);
//  5. authorisation (ErrSignerNotAuthorised): when the signer's slot is the
//     terminated slot, the statement is the deleted key's own and KeyHash
//     must be the hash of the signer's enrolled key; otherwise the signer
//     must hold EntitleManage;
//  6. vehicle: the attestation names opts.Vehicle (ErrWrongVehicle).
//
// There is no time check: a termination stays true, and a clock difference
// must never keep a deleted key alive. The caller records the ID and
// terminates the key for good.
func VerifyTerminationAttestation(statement []byte, opts VerifyOptions) (*TerminationAttestation, error) {
	env, err := open(statement, ContentTypeTerminationAttestation, true)
	if err != nil {
		return nil, fail(StepParse, err)
	}
	signer, ok := opts.signer(env.kid)
	if !ok {
		return nil, fail(StepSigner, ErrUnknownSigner)
	}
	if !env.verify(signer.Key) {
		return nil, fail(StepSignature, ErrBadSignature)
	}
	a, err := parseTermination(env.payload, env.kid)
	if err != nil {
		return nil, fail(StepParse, err)
	}
	if a.SignerSlot == a.Slot {
		// Signed by the deleted key itself: it must be the key enrolled in
		// that slot.
		if KeyHash(signer.Key) != a.KeyHash {
			return nil, fail(StepAuthorised, ErrSignerNotAuthorised)
		}
	} else if !signer.Grant.Entitlements.Has(dkey.EntitleManage) {
		return nil, fail(StepAuthorised, ErrSignerNotAuthorised)
	}
	if !a.VehicleID.Equal(opts.Vehicle) {
		return nil, fail(StepVehicle, ErrWrongVehicle)
	}
	return a, nil
}

// VerifyTrackingReceipt verifies a key tracking receipt for opts.Vehicle and
// returns its contents. The checks run in order, each failure a
// [*VerifyError] naming its step:
//
//  1. parse: a strict COSE_Sign1_Tagged of content type
//     ContentTypeTrackingReceipt without kid (ErrMalformed);
//  2. signer: opts.TrackingKeys holds 1 to MaxTrackingKeys keys
//     (ErrUnknownSigner);
//  3. signature: ES256 by one of them (ErrBadSignature, opaque);
//  4. parse: the authenticated payload decodes strictly (ErrMalformed);
//  5. vehicle: the receipt names opts.Vehicle (ErrWrongVehicle).
//
// The caller checks that Slot and KeyHash are those of the key it tracks.
func VerifyTrackingReceipt(statement []byte, opts VerifyOptions) (*TrackingReceipt, error) {
	env, err := open(statement, ContentTypeTrackingReceipt, false)
	if err != nil {
		return nil, fail(StepParse, err)
	}
	if len(opts.TrackingKeys) == 0 || len(opts.TrackingKeys) > MaxTrackingKeys {
		return nil, fail(StepSigner, ErrUnknownSigner)
	}
	verified := false
	for _, k := range opts.TrackingKeys {
		if k != nil && env.verify(k) {
			verified = true
			break
		}
	}
	if !verified {
		return nil, fail(StepSignature, ErrBadSignature)
	}
	r, err := parseTrackingReceipt(env.payload)
	if err != nil {
		return nil, fail(StepParse, err)
	}
	if !r.VehicleID.Equal(opts.Vehicle) {
		return nil, fail(StepVehicle, ErrWrongVehicle)
	}
	return r, nil
}
