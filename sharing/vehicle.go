package sharing

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
)

// VehicleConfig configures the vehicle side of sharing.
type VehicleConfig struct {
	// Vehicle is the vehicle identifier.
	Vehicle dkey.VehicleID
	// Revocations is the vehicle's revocation store, loaded from its
	// secure storage; nil means a new, empty one of the default capacity.
	Revocations *RevocationStore
	// Time returns the current time for validity windows; nil means
	// time.Now.
	Time func() time.Time
}

// VehicleIntake is the vehicle side of sharing and key management: the intake of
// key attestations (first friend transaction, re-issued attestations),
// termination attestations and key-management commands, against the
// vehicle's revocation store. It holds no enrolled keys: the caller
// (vehicle.Reader) passes the keys it has enrolled as attest.Signer values
// and enrolls or removes keys on the decisions it returns. It is safe for
// concurrent use.
type VehicleIntake struct {
	id    dkey.VehicleID
	store *RevocationStore
	now   func() time.Time
}

// NewVehicleIntake returns the vehicle side of sharing for cfg.
func NewVehicleIntake(cfg *VehicleConfig) (*VehicleIntake, error) {
	if cfg == nil || cfg.Vehicle.IsZero() {
		return nil, errors.New("sharing: no vehicle identifier")
	}
	v := &VehicleIntake{id: cfg.Vehicle, store: cfg.Revocations, now: cfg.Time}
	if v.store == nil {
		v.store = NewRevocationStore(0)
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Revocations returns the vehicle's revocation store.
func (v *VehicleIntake) Revocations() *RevocationStore { return v.store }

// Friend is the enrolment decision for a shared key: what the vehicle
// enrolls (vehicle.Enrollment with Role dkey.RoleFriend).
type Friend struct {
	// PublicKey and Slot are the friend's endpoint key and key slot.
	PublicKey *dkey.PublicKey
	Slot      dkey.KeySlot
	// Profile is what the key may do; the vehicle enforces it, its speed
	// limit included.
	Profile dkey.AccessProfile
	// NotBefore and NotAfter bound the key's validity, both inclusive, to
	// the second: the key is valid through the whole second NotAfter.
	NotBefore, NotAfter time.Time
	// AttestationID is the ID of the key attestation, and SignerSlot the
	// slot of the key that signed it.
	AttestationID attest.ID
	SignerSlot    dkey.KeySlot
}

// Revocation returns the revocation that terminates f for good: its slot,
// its key and its attestation.
func (f *Friend) Revocation(at time.Time) Revocation {
	return Revocation{Slot: f.Slot, KeyHash: attest.KeyHash(f.PublicKey), ID: f.AttestationID, At: at}
}

// AdmitFriend verifies a key attestation and returns the enrolment decision
// for the key it attests, or a [*VehicleError] naming the check that
// failed. Nothing is recorded: the caller enrolls the key.
//
// At a first friend transaction (docs/protocol.md §6.4) statement is the key
// attestation read from the friend key's private mailbox and slot the key
// slot the endpoint returned in AUTH1; the caller then verifies the AUTH1
// signature with Friend.PublicKey before it enrolls the key. A zero slot
// admits an attestation that arrived another way (a re-issued attestation
// through the owner's mailbox or the automaker's server), enrolled ahead of
// the friend's first transaction.
//
// signers are the keys the vehicle has enrolled, with the access profiles
// they hold and their own validity windows (attest.Signer NotBefore and
// NotAfter, zero for an unbounded owner key). The checks, in order:
//
//  1. CheckStatement: attest.VerifyKeyAttestation for this vehicle at the
//     current time: strict parse, the signer (kid) is enrolled, its
//     signature, it holds dkey.EntitleShare, the vehicle, the validity
//     window, the profile and the window within the signer's own (the error
//     wraps the *attest.VerifyError);
//  2. CheckSlot: the attested slot is the slot that authenticated;
//  3. CheckRevocation: neither the slot, the key nor the attestation has
//     been revoked (ErrRevoked, dkey.ErrKeyTerminated): an old attestation
//     never re-activates a terminated key;
//  4. CheckCapacity: the revocation store has room, so that the key can be
//     revoked later (ErrStoreFull): the vehicle admits no key it could not
//     revoke.
func (v *VehicleIntake) AdmitFriend(statement []byte, slot dkey.KeySlot, signers []attest.Signer) (*Friend, error) {
	a, err := attest.VerifyKeyAttestation(statement, attest.VerifyOptions{Vehicle: v.id, Signers: signers, Time: v.now})
	if err != nil {
		return nil, &VehicleError{Check: CheckStatement, Err: err}
	}
	if !slot.IsZero() && a.FriendSlot != slot {
		return nil, &VehicleError{Check: CheckSlot, Err: fmt.Errorf("%w: attested slot %v, authenticated slot %v", ErrMismatch, a.FriendSlot, slot)}
	}
	if err := v.store.Check(a.FriendSlot, a.FriendKey, a.ID); err != nil {
		return nil, &VehicleError{Check: CheckRevocation, Err: err}
	}
	if v.store.Full() {
		return nil, &VehicleError{Check: CheckCapacity, Err: ErrStoreFull}
	}
	return &Friend{
		PublicKey: a.FriendKey, Slot: a.FriendSlot, Profile: a.Profile,
		NotBefore: a.NotBefore, NotAfter: a.NotAfter,
		AttestationID: a.ID, SignerSlot: a.SignerSlot,
	}, nil
}

// ProcessTermination verifies a termination attestation
// (attest.VerifyTerminationAttestation against signers, the enrolled keys)
// and records the revocation of its slot, key and ID in the store, for
// good. It returns the revocation; the caller then removes the key in
// Revocation.Slot (vehicle.Reader.Remove) if it is enrolled. Processing the
// same termination again changes nothing. Errors are [*VehicleError]
// values: CheckStatement for the verification, CheckCapacity when the store
// is full.
func (v *VehicleIntake) ProcessTermination(statement []byte, signers []attest.Signer) (*Revocation, error) {
	return v.terminate(statement, signers, nil)
}

// terminate verifies a termination, checks that it names slot when slot is
// not nil, and records it.
func (v *VehicleIntake) terminate(statement []byte, signers []attest.Signer, slot *dkey.KeySlot) (*Revocation, error) {
	t, err := attest.VerifyTerminationAttestation(statement, attest.VerifyOptions{Vehicle: v.id, Signers: signers, Time: v.now})
	if err != nil {
		return nil, &VehicleError{Check: CheckStatement, Err: err}
	}
	if slot != nil && t.Slot != *slot {
		return nil, fmt.Errorf("sharing: %w: termination of slot %v in a command for %v", ErrMismatch, t.Slot, *slot)
	}
	r := Revocation{Slot: t.Slot, KeyHash: t.KeyHash, ID: t.ID, At: v.now()}
	if err := v.store.Revoke(r); err != nil {
		return nil, &VehicleError{Check: CheckCapacity, Err: err}
	}
	r.At = r.At.Truncate(time.Second).UTC()
	return &r, nil
}

// CheckReceipt verifies a key tracking receipt (docs/protocol.md §6.5) that a
// device handed over in its statement area: signed by one of trackingKeys
// (attest.VerifyTrackingReceipt), for this vehicle, and for the key key in
// slot (ErrMismatch otherwise). Errors are [*VehicleError] values at
// CheckStatement, or CheckSlot for another key.
func (v *VehicleIntake) CheckReceipt(statement []byte, trackingKeys []*dkey.PublicKey, slot dkey.KeySlot, key *dkey.PublicKey) (*attest.TrackingReceipt, error) {
	r, err := attest.VerifyTrackingReceipt(statement, attest.VerifyOptions{Vehicle: v.id, TrackingKeys: trackingKeys, Time: v.now})
	if err != nil {
		return nil, &VehicleError{Check: CheckStatement, Err: err}
	}
	if key == nil || r.Slot != slot || r.KeyHash != attest.KeyHash(key) {
		return nil, &VehicleError{Check: CheckSlot, Err: fmt.Errorf("%w: the receipt is for slot %v and another key", ErrMismatch, r.Slot)}
	}
	return r, nil
}

// Revoke records that the vehicle removed the key key in slot, from its
// dashboard or for any reason of its own, so that no attestation of it is
// ever admitted again. The caller records the revocation before it removes
// the key.
func (v *VehicleIntake) Revoke(slot dkey.KeySlot, key *dkey.PublicKey) error {
	if key == nil {
		return errors.New("sharing: Revoke needs the key")
	}
	return v.store.Revoke(Revocation{Slot: slot, KeyHash: attest.KeyHash(key), At: v.now()})
}

// Termination is a key deletion to attest (docs/protocol.md §7): a key deleting
// itself just before the secure element destroys it, or the owner
// terminating a friend key (or an old key of its own, at device change).
type Termination struct {
	// Vehicle is the vehicle the terminated key opens.
	Vehicle dkey.VehicleID
	// Slot and Key are the terminated key.
	Slot dkey.KeySlot
	Key  *dkey.PublicKey
	// At is when the key was deleted; zero means now.
	At time.Time
}

// Sign returns the termination attestation signed by signer, the key in
// signerSlot, and its content. When signerSlot is Slot the key terminates
// itself, and signer must hold Key: the device signs, then deletes the key.
// Otherwise the signer must hold dkey.EntitleManage at the vehicle, which
// checks it.
func (t *Termination) Sign(signer crypto.Signer, signerSlot dkey.KeySlot) ([]byte, *attest.TerminationAttestation, error) {
	if t.Key == nil || t.Slot.IsZero() || t.Vehicle.IsZero() || signer == nil || signerSlot.IsZero() {
		return nil, nil, errors.New("sharing: a termination needs a vehicle, a key, its slot and a signer")
	}
	if signerSlot == t.Slot {
		pub, err := dkey.PublicKeyOf(signer)
		if err != nil || !pub.Equal(t.Key) {
			return nil, nil, fmt.Errorf("sharing: %w: a key terminating itself must sign with itself", ErrMismatch)
		}
	}
	at := t.At
	if at.IsZero() {
		at = time.Now()
	}
	a := &attest.TerminationAttestation{
		ID: attest.NewID(), VehicleID: t.Vehicle, Slot: t.Slot, KeyHash: attest.KeyHash(t.Key),
		TerminatedAt: at, SignerSlot: signerSlot,
	}
	stmt, err := a.Sign(signer)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: signing the termination: %w", err)
	}
	return stmt, a, nil
}
