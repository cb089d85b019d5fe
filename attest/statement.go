package attest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// formatVersion is the version of the statement formats of this package,
// field 1 of every payload.
const formatVersion = 1

// maxTime is the latest time a statement can carry: 9999-12-31T23:59:59Z.
const maxTime = 253402300799

// IDSize is the size of a statement identifier.
const IDSize = 16

// ID is the unique identifier of a statement: 16 random bytes, so that the
// vehicle and the servers can record each statement and refuse a replay.
type ID [IDSize]byte

// NewID returns a random ID. Randomness comes from crypto/rand.
func NewID() ID {
	var id ID
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	return id
}

// IsZero reports whether id is all zeros, which no statement carries.
func (id ID) IsZero() bool { return id == ID{} }

// String returns id in lowercase hexadecimal.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// KeyHash returns the SHA-256 of the 65-byte encoding of k, by which
// termination attestations and tracking receipts name a key.
func KeyHash(k *dkey.PublicKey) [sha256.Size]byte {
	var buf [dkey.PublicKeySize]byte
	return sha256.Sum256(k.Append(buf[:0]))
}

// KeyAttestation is what the owner endpoint signs when it shares a key
// (docs/protocol.md §6.2): the friend's endpoint key, its key slot and access
// profile, a validity window and the vehicle it is for.
type KeyAttestation struct {
	// ID identifies the attestation; use [NewID].
	ID ID
	// VehicleID is the vehicle the friend key opens.
	VehicleID dkey.VehicleID
	// FriendKey is the friend's endpoint public key.
	FriendKey *dkey.PublicKey
	// FriendSlot is the key slot the friend key occupies.
	FriendSlot dkey.KeySlot
	// Profile is the access profile granted to the friend key. It must not
	// be empty and must hold known entitlements only.
	Profile dkey.AccessProfile
	// NotBefore and NotAfter bound the validity, both inclusive, to the
	// second.
	NotBefore, NotAfter time.Time
	// IssuedAt is when the owner signed.
	IssuedAt time.Time
	// SignerSlot is the key slot of the signing key, so that the vehicle
	// knows which enrolled key signed. It travels as the kid of the
	// protected header.
	SignerSlot dkey.KeySlot
}

// keyAttestationPayload is the CBOR payload of a KeyAttestation (CDDL in
// doc.go).
type keyAttestationPayload struct {
	Version      uint64 `cbor:"1,keyasint"`
	ID           []byte `cbor:"2,keyasint"`
	Vehicle      []byte `cbor:"3,keyasint"`
	FriendKey    []byte `cbor:"4,keyasint"`
	FriendSlot   []byte `cbor:"5,keyasint"`
	Entitlements uint64 `cbor:"6,keyasint"`
	MaxSpeed     uint64 `cbor:"7,keyasint,omitempty"`
	NotBefore    uint64 `cbor:"8,keyasint"`
	NotAfter     uint64 `cbor:"9,keyasint"`
	IssuedAt     uint64 `cbor:"10,keyasint"`
}

// Sign returns the statement signed by signer, the key in SignerSlot, as a
// tagged COSE_Sign1.
func (a *KeyAttestation) Sign(signer crypto.Signer) ([]byte, error) {
	payload, err := a.payload()
	if err != nil {
		return nil, err
	}
	return seal(ContentTypeKeyAttestation, a.SignerSlot.Bytes(), payload, signer)
}

// payload validates a and returns its deterministic payload encoding.
func (a *KeyAttestation) payload() ([]byte, error) {
	switch {
	case a.ID.IsZero():
		return nil, fmt.Errorf("%w: zero ID", ErrMalformed)
	case a.VehicleID.IsZero():
		return nil, fmt.Errorf("%w: no vehicle identifier", ErrMalformed)
	case a.FriendKey == nil:
		return nil, fmt.Errorf("%w: no friend key", ErrMalformed)
	case a.FriendSlot.IsZero() || a.SignerSlot.IsZero():
		return nil, fmt.Errorf("%w: no key slot", ErrMalformed)
	}
	if err := checkProfile(a.Profile); err != nil {
		return nil, err
	}
	nb, err := seconds(a.NotBefore)
	if err != nil {
		return nil, err
	}
	na, err := seconds(a.NotAfter)
	if err != nil {
		return nil, err
	}
	iat, err := seconds(a.IssuedAt)
	if err != nil {
		return nil, err
	}
	if nb > na {
		return nil, fmt.Errorf("%w: NotBefore after NotAfter", ErrMalformed)
	}
	return encMode.Marshal(keyAttestationPayload{
		Version:      formatVersion,
		ID:           a.ID[:],
		Vehicle:      a.VehicleID.Bytes(),
		FriendKey:    a.FriendKey.Bytes(),
		FriendSlot:   a.FriendSlot.Bytes(),
		Entitlements: uint64(a.Profile.Entitlements),
		MaxSpeed:     uint64(a.Profile.MaxSpeed),
		NotBefore:    nb,
		NotAfter:     na,
		IssuedAt:     iat,
	})
}

// parseKeyAttestation decodes an authenticated payload.
func parseKeyAttestation(payload []byte, kid []byte) (*KeyAttestation, error) {
	var p keyAttestationPayload
	if err := decodePayload(payload, &p); err != nil {
		return nil, err
	}
	if p.Version != formatVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrMalformed, p.Version)
	}
	a := new(KeyAttestation)
	var err error
	if a.ID, err = parseID(p.ID); err != nil {
		return nil, err
	}
	if a.VehicleID, err = dkey.NewVehicleID(p.Vehicle); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.FriendKey, err = dkey.ParsePublicKey(p.FriendKey); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.FriendSlot, err = dkey.NewKeySlot(p.FriendSlot); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.SignerSlot, err = dkey.NewKeySlot(kid); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if p.Entitlements > math.MaxUint32 || p.MaxSpeed > math.MaxUint16 {
		return nil, fmt.Errorf("%w: access profile out of range", ErrMalformed)
	}
	a.Profile = dkey.AccessProfile{Entitlements: dkey.Entitlements(p.Entitlements), MaxSpeed: uint16(p.MaxSpeed)}
	if err := checkProfile(a.Profile); err != nil {
		return nil, err
	}
	if a.NotBefore, err = fromSeconds(p.NotBefore); err != nil {
		return nil, err
	}
	if a.NotAfter, err = fromSeconds(p.NotAfter); err != nil {
		return nil, err
	}
	if a.IssuedAt, err = fromSeconds(p.IssuedAt); err != nil {
		return nil, err
	}
	if p.NotBefore > p.NotAfter {
		return nil, fmt.Errorf("%w: NotBefore after NotAfter", ErrMalformed)
	}
	return a, nil
}

// TerminationAttestation states that an endpoint deleted a key
// (docs/protocol.md §7), so that the vehicle and the servers can refuse the key
// for good. Either the deleted key signs it, just before the secure element
// deletes it (SignerSlot equals Slot), or a key holding EntitleManage, such
// as the owner key, signs it for another key.
type TerminationAttestation struct {
	// ID identifies the attestation; use [NewID].
	ID ID
	// VehicleID is the vehicle the terminated key opened.
	VehicleID dkey.VehicleID
	// Slot is the key slot of the terminated key.
	Slot dkey.KeySlot
	// KeyHash is the SHA-256 of the terminated key's 65-byte encoding; see
	// [KeyHash].
	KeyHash [sha256.Size]byte
	// TerminatedAt is when the key was deleted.
	TerminatedAt time.Time
	// SignerSlot is the key slot of the signing key; it travels as the kid
	// of the protected header.
	SignerSlot dkey.KeySlot
}

// terminationPayload is the CBOR payload of a TerminationAttestation.
type terminationPayload struct {
	Version      uint64 `cbor:"1,keyasint"`
	ID           []byte `cbor:"2,keyasint"`
	Vehicle      []byte `cbor:"3,keyasint"`
	Slot         []byte `cbor:"4,keyasint"`
	KeyHash      []byte `cbor:"5,keyasint"`
	TerminatedAt uint64 `cbor:"6,keyasint"`
}

// Sign returns the statement signed by signer, the key in SignerSlot, as a
// tagged COSE_Sign1.
func (a *TerminationAttestation) Sign(signer crypto.Signer) ([]byte, error) {
	payload, err := a.payload()
	if err != nil {
		return nil, err
	}
	return seal(ContentTypeTerminationAttestation, a.SignerSlot.Bytes(), payload, signer)
}

func (a *TerminationAttestation) payload() ([]byte, error) {
	switch {
	case a.ID.IsZero():
		return nil, fmt.Errorf("%w: zero ID", ErrMalformed)
	case a.VehicleID.IsZero():
		return nil, fmt.Errorf("%w: no vehicle identifier", ErrMalformed)
	case a.Slot.IsZero() || a.SignerSlot.IsZero():
		return nil, fmt.Errorf("%w: no key slot", ErrMalformed)
	case a.KeyHash == [sha256.Size]byte{}:
		return nil, fmt.Errorf("%w: no key hash", ErrMalformed)
	}
	t, err := seconds(a.TerminatedAt)
	if err != nil {
		return nil, err
	}
	return encMode.Marshal(terminationPayload{
		Version:      formatVersion,
		ID:           a.ID[:],
		Vehicle:      a.VehicleID.Bytes(),
		Slot:         a.Slot.Bytes(),
		KeyHash:      a.KeyHash[:],
		TerminatedAt: t,
	})
}

func parseTermination(payload []byte, kid []byte) (*TerminationAttestation, error) {
	var p terminationPayload
	if err := decodePayload(payload, &p); err != nil {
		return nil, err
	}
	if p.Version != formatVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrMalformed, p.Version)
	}
	a := new(TerminationAttestation)
	var err error
	if a.ID, err = parseID(p.ID); err != nil {
		return nil, err
	}
	if a.VehicleID, err = dkey.NewVehicleID(p.Vehicle); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.Slot, err = dkey.NewKeySlot(p.Slot); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.SignerSlot, err = dkey.NewKeySlot(kid); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.KeyHash, err = parseKeyHash(p.KeyHash); err != nil {
		return nil, err
	}
	if a.TerminatedAt, err = fromSeconds(p.TerminatedAt); err != nil {
		return nil, err
	}
	return a, nil
}

// TrackingReceipt is what the automaker's key tracking service signs when it
// has registered a key (docs/protocol.md §6.5); the device hands it to the
// vehicle at the end of a later transaction.
type TrackingReceipt struct {
	// ID identifies the receipt; use [NewID].
	ID ID
	// VehicleID is the vehicle the key opens.
	VehicleID dkey.VehicleID
	// Slot is the key slot of the registered key.
	Slot dkey.KeySlot
	// KeyHash is the SHA-256 of the registered endpoint key's 65-byte
	// encoding; see [KeyHash].
	KeyHash [sha256.Size]byte
	// RegisteredAt is when the service registered the key.
	RegisteredAt time.Time
}

// trackingReceiptPayload is the CBOR payload of a TrackingReceipt.
type trackingReceiptPayload struct {
	Version      uint64 `cbor:"1,keyasint"`
	ID           []byte `cbor:"2,keyasint"`
	Vehicle      []byte `cbor:"3,keyasint"`
	Slot         []byte `cbor:"4,keyasint"`
	KeyHash      []byte `cbor:"5,keyasint"`
	RegisteredAt uint64 `cbor:"6,keyasint"`
}

// Sign returns the receipt signed by signer, a key of the tracking service,
// as a tagged COSE_Sign1 without kid.
func (r *TrackingReceipt) Sign(signer crypto.Signer) ([]byte, error) {
	payload, err := r.payload()
	if err != nil {
		return nil, err
	}
	return seal(ContentTypeTrackingReceipt, nil, payload, signer)
}

func (r *TrackingReceipt) payload() ([]byte, error) {
	switch {
	case r.ID.IsZero():
		return nil, fmt.Errorf("%w: zero ID", ErrMalformed)
	case r.VehicleID.IsZero():
		return nil, fmt.Errorf("%w: no vehicle identifier", ErrMalformed)
	case r.Slot.IsZero():
		return nil, fmt.Errorf("%w: no key slot", ErrMalformed)
	case r.KeyHash == [sha256.Size]byte{}:
		return nil, fmt.Errorf("%w: no key hash", ErrMalformed)
	}
	t, err := seconds(r.RegisteredAt)
	if err != nil {
		return nil, err
	}
	return encMode.Marshal(trackingReceiptPayload{
		Version:      formatVersion,
		ID:           r.ID[:],
		Vehicle:      r.VehicleID.Bytes(),
		Slot:         r.Slot.Bytes(),
		KeyHash:      r.KeyHash[:],
		RegisteredAt: t,
	})
}

func parseTrackingReceipt(payload []byte) (*TrackingReceipt, error) {
	var p trackingReceiptPayload
	if err := decodePayload(payload, &p); err != nil {
		return nil, err
	}
	if p.Version != formatVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrMalformed, p.Version)
	}
	r := new(TrackingReceipt)
	var err error
	if r.ID, err = parseID(p.ID); err != nil {
		return nil, err
	}
	if r.VehicleID, err = dkey.NewVehicleID(p.Vehicle); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if r.Slot, err = dkey.NewKeySlot(p.Slot); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if r.KeyHash, err = parseKeyHash(p.KeyHash); err != nil {
		return nil, err
	}
	if r.RegisteredAt, err = fromSeconds(p.RegisteredAt); err != nil {
		return nil, err
	}
	return r, nil
}

func parseID(b []byte) (ID, error) {
	var id ID
	if len(b) != IDSize {
		return id, fmt.Errorf("%w: ID of %d bytes, want %d", ErrMalformed, len(b), IDSize)
	}
	copy(id[:], b)
	if id.IsZero() {
		return id, fmt.Errorf("%w: zero ID", ErrMalformed)
	}
	return id, nil
}

func parseKeyHash(b []byte) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	if len(b) != sha256.Size {
		return h, fmt.Errorf("%w: key hash of %d bytes, want %d", ErrMalformed, len(b), sha256.Size)
	}
	copy(h[:], b)
	if h == [sha256.Size]byte{} {
		return h, fmt.Errorf("%w: zero key hash", ErrMalformed)
	}
	return h, nil
}

// checkProfile rejects an empty profile and unknown entitlement bits.
func checkProfile(p dkey.AccessProfile) error {
	if p.Entitlements == 0 || !p.Entitlements.Known() {
		return fmt.Errorf("%w: access profile %v", ErrMalformed, p)
	}
	return nil
}

// seconds converts t to whole seconds since the Unix epoch, between 1970
// and 9999.
func seconds(t time.Time) (uint64, error) {
	s := t.Unix()
	if s < 0 || s > maxTime {
		return 0, fmt.Errorf("%w: time %v out of range", ErrMalformed, t)
	}
	return uint64(s), nil
}

func fromSeconds(s uint64) (time.Time, error) {
	if s > maxTime {
		return time.Time{}, fmt.Errorf("%w: time %d out of range", ErrMalformed, s)
	}
	return time.Unix(int64(s), 0).UTC(), nil
}
