package vehicle

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Config configures a Reader.
type Config struct {
	// Profile selects the CCC applet or Home Key; the zero value is CCC.
	Profile dkey.Profile
	// VehicleID identifies the vehicle to endpoints.
	VehicleID dkey.VehicleID
	// Key is the vehicle's long-term P-256 key (in the vehicle's secure
	// element or HSM); it signs AUTH1.
	Key crypto.Signer
	// Time returns the current time, for validity windows and last use;
	// nil means time.Now.
	Time func() time.Time
	// Link describes what the NFC reader can carry (extended length,
	// largest command); nil means short APDUs with command chaining.
	Link *transport.ClientConfig
	// Versions are the applet protocol versions the vehicle accepts, highest
	// first; the zero value means the profile's. A Home Key reader that
	// lists only 2.0 refuses endpoints stripped down to 1.0, which binds no
	// version list into its key derivation (PROTOCOL.md §4.4).
	Versions dkey.VersionList
	// Pairing configures owner pairing (Reader.Pair): the vehicle's
	// certificates, the Device OEM roots and the attempt limit. Nil means
	// the reader does not pair (CCC profile only).
	Pairing *PairingConfig
	// Revocations is the vehicle's record of keys revoked for good, loaded
	// from its secure storage (sharing.ParseRevocationStore); nil means a
	// new, empty in-memory store of sharing.DefaultMaxRevocations. The
	// reader records in it every key it removes, and every termination it
	// processes, before the key goes; the caller persists it
	// (Reader.Revocations) after each change.
	Revocations *sharing.RevocationStore
	// TrackingKeys are the keys of the automaker's key tracking service,
	// which sign the tracking receipts devices hand over in their statement
	// area; none means receipts are refused.
	TrackingKeys []*dkey.PublicKey
}

// Enrollment describes a key the vehicle accepts.
type Enrollment struct {
	// PublicKey is the endpoint's long-term public key.
	PublicKey *dkey.PublicKey
	// Slot is the key slot identifier the endpoint returns in AUTH1.
	Slot dkey.KeySlot
	// Role is owner or friend; zero means owner.
	Role dkey.KeyRole
	// Profile is what the key may do; a profile without entitlements allows
	// nothing.
	Profile dkey.AccessProfile
	// NotBefore and NotAfter bound the key's validity; zero means unbounded.
	NotBefore, NotAfter time.Time
	// ImmobilizerToken, when set, is written into the key's confidential
	// mailbox at TokenOffset in the key's first standard transaction and
	// checked at every engine start (PROTOCOL.md §5.2). Keys without a token
	// start the engine on the standard transaction alone.
	ImmobilizerToken []byte
	TokenOffset      uint16
	// Mailboxes is the mailbox configuration the vehicle gave the key (at
	// pairing). When its confidential AUTH1 subset covers the token, the
	// vehicle reads the token from the AUTH1 response instead of by EXCHANGE.
	Mailboxes dkey.MailboxConfig
	// StatementArea says that the key's private mailbox starts with a
	// statement area (package sharing: the terminations, re-issued key
	// attestations and tracking receipts its device queues for the
	// vehicle). The reader then reads the area in the key's standard
	// transactions, processes every statement and ends with CONTROL FLOW
	// 4082, on which the device clears it. The area header comes from the
	// AUTH1 private subset when Mailboxes returns offsets 0 to 3 there, at
	// no cost; otherwise it costs one EXCHANGE per standard transaction.
	// Owner keys enrolled by Pair and friend keys admitted from their key
	// attestation have one.
	StatementArea bool
	// AttestationID and SharedBy are, for a shared key, the ID of its key
	// attestation and the slot of the key that signed it.
	AttestationID attest.ID
	SharedBy      dkey.KeySlot
}

// KeyInfo describes an enrolled key.
type KeyInfo struct {
	Slot      dkey.KeySlot
	PublicKey *dkey.PublicKey
	Role      dkey.KeyRole
	// Profile is what the key may do; the vehicle enforces it, the speed
	// limit included.
	Profile dkey.AccessProfile
	State   dkey.KeyState
	// NotBefore is the first instant the key is valid and NotAfter the
	// first instant it no longer is; zero means unbounded. (A friend key's
	// attested NotAfter is the last valid second: NotAfter is a second
	// later.)
	NotBefore time.Time
	NotAfter  time.Time
	// AttestationID and SharedBy are, for a shared key, the ID of its key
	// attestation and the slot of the key that signed it (the dashboard
	// shows who shared it; it stays enrolled when that key goes).
	AttestationID attest.ID
	SharedBy      dkey.KeySlot
	// Tracked reports that the key's device handed over a tracking receipt
	// of the automaker's key tracking service that the vehicle verified.
	Tracked bool
	// LastUse is when the key last completed a transaction; zero if never.
	LastUse time.Time
	// HasPersistent reports whether the key can run a fast transaction.
	HasPersistent bool
	// TokenProvisioned reports whether the immobilizer token is in the
	// key's mailbox.
	TokenProvisioned bool
}

type enrolled struct {
	info        KeyInfo
	token       []byte
	tokenOff    uint16
	mailboxes   dkey.MailboxConfig
	provisioned bool
	// statements: the private mailbox starts with a statement area.
	statements bool
}

// Reader is the vehicle side: the enrolled keys, the policy of what each
// may do, and the transactions run over any transport.Transceiver (an NFC
// reader at a door handle, the console reader, a BLE link). It runs the fast
// transaction first when the action allows it and falls back to the
// standard one (PROTOCOL.md §4.1); engine start always takes a standard
// transaction and reads the immobilizer token.
//
// A Reader is safe for concurrent use: several NFC readers of one vehicle
// share it.
type Reader struct {
	v    *transaction.Vehicle
	now  func() time.Time
	link *transport.ClientConfig
	// share is the intake of sharing statements, with the revocation
	// store (sharing.go).
	share        *sharing.Vehicle
	trackingKeys []*dkey.PublicKey

	mu sync.Mutex
	// keys and fast are parallel, most recently used first: the fast lookup
	// tries keys in that order (PROTOCOL.md §4.5).
	keys []*enrolled
	fast []transaction.FastKey
	// removed remembers keys removed from the vehicle, so that their next
	// transaction tells the device to delete them (CONTROL FLOW 00A0).
	removed []KeyInfo

	sessions sync.Pool

	// Owner pairing (pairing.go).
	pairCfg      *pairing.VehicleConfig
	maxAttempts  int
	verifier     *pairing.Verifier
	replaceOwner bool
	spent        int
	pairingBusy  bool
	ownerSecrets []ownerSecret
}

// NewReader returns a Reader with no enrolled key.
func NewReader(cfg *Config) (*Reader, error) {
	v, err := transaction.NewVehicle(&transaction.VehicleConfig{Profile: cfg.Profile, VehicleID: cfg.VehicleID, Key: cfg.Key, Versions: cfg.Versions})
	if err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	r := &Reader{v: v, now: cfg.Time, link: cfg.Link, trackingKeys: slices.Clone(cfg.TrackingKeys)}
	if r.now == nil {
		r.now = time.Now
	}
	if r.share, err = sharing.NewVehicle(&sharing.VehicleConfig{Vehicle: cfg.VehicleID, Revocations: cfg.Revocations, Time: r.now}); err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	r.sessions.New = func() any { return &pooled{s: v.NewSession(), buf: make([]byte, 0, 4096)} }
	if err := r.initPairing(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// ID returns the vehicle identifier.
func (r *Reader) ID() dkey.VehicleID { return r.v.ID() }

// PublicKey returns the vehicle's long-term public key, which devices use to
// verify AUTH1.
func (r *Reader) PublicKey() *dkey.PublicKey { return r.v.PublicKey() }

// Profile returns the profile.
func (r *Reader) Profile() dkey.Profile { return r.v.Profile() }

// Enroll adds a key. It returns ErrEnrolled if the slot or the public key is
// already enrolled, and an error wrapping sharing.ErrRevoked and
// dkey.ErrKeyTerminated if the revocation store has revoked either: a key
// removed once is never enrolled again.
func (r *Reader) Enroll(e Enrollment) error {
	if e.PublicKey == nil || e.Slot.IsZero() {
		return errors.New("vehicle: enrolment needs a public key and a slot")
	}
	if !e.Profile.Entitlements.Known() {
		return fmt.Errorf("vehicle: unknown entitlements %v", e.Profile.Entitlements)
	}
	if e.Role == 0 {
		e.Role = dkey.RoleOwner
	}
	if err := e.Mailboxes.Validate(); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if n := len(e.ImmobilizerToken); n > 0 {
		// The token is written by one EXCHANGE write and read back by one
		// read (or from the AUTH1 subset), inside the confidential mailbox.
		if n > transaction.MaxWriteLength || n > transaction.MaxReadLength || int(e.TokenOffset)+n > int(e.Mailboxes.ConfidentialSize) {
			return fmt.Errorf("vehicle: immobilizer token of %d bytes at %d does not fit the confidential mailbox of %d bytes", n, e.TokenOffset, e.Mailboxes.ConfidentialSize)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys {
		if k.info.Slot == e.Slot || k.info.PublicKey.Equal(e.PublicKey) {
			return ErrEnrolled
		}
	}
	if err := r.share.Revocations().Check(e.Slot, e.PublicKey, e.AttestationID); err != nil {
		return fmt.Errorf("vehicle: enrolment: %w", err)
	}
	k := &enrolled{
		info: KeyInfo{
			Slot: e.Slot, PublicKey: e.PublicKey, Role: e.Role, Profile: e.Profile, State: dkey.KeyActive,
			NotBefore: e.NotBefore, NotAfter: e.NotAfter, AttestationID: e.AttestationID, SharedBy: e.SharedBy,
		},
		token:      bytes.Clone(e.ImmobilizerToken),
		tokenOff:   e.TokenOffset,
		mailboxes:  e.Mailboxes,
		statements: e.StatementArea,
	}
	r.keys = append(r.keys, k)
	r.fast = append(r.fast, transaction.FastKey{})
	r.removed = slices.DeleteFunc(r.removed, func(ki KeyInfo) bool { return ki.Slot == e.Slot })
	return nil
}

// Keys returns the enrolled keys, most recently used first.
func (r *Reader) Keys() []KeyInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]KeyInfo, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.info
		out[i].HasPersistent = r.fast[i].Valid()
		out[i].TokenProvisioned = k.provisioned
	}
	return out
}

func (r *Reader) index(slot dkey.KeySlot) int {
	for i, k := range r.keys {
		if k.info.Slot == slot {
			return i
		}
	}
	return -1
}

// lookup returns the enrolled key of slot, or nil. r.mu is held.
func (r *Reader) lookup(slot dkey.KeySlot) *enrolled {
	if i := r.index(slot); i >= 0 {
		return r.keys[i]
	}
	return nil
}

// indexOf returns the index of k among the enrolled keys, or -1 when it was
// removed. r.mu is held.
func (r *Reader) indexOf(k *enrolled) int {
	if k == nil {
		return -1
	}
	for i, e := range r.keys {
		if e == k {
			return i
		}
	}
	return -1
}

// maxRemoved bounds the record of removed keys kept to tell their devices
// to delete them; the oldest is forgotten first.
const maxRemoved = 1024

// rememberRemoved records a removed key. r.mu is held.
func (r *Reader) rememberRemoved(info KeyInfo) {
	if len(r.removed) == maxRemoved {
		r.removed = slices.Delete(r.removed, 0, 1)
	}
	r.removed = append(r.removed, info)
}

// Remove removes a key from the vehicle for good (the dashboard's "remove
// key"). The revocation store records the key's slot and public key first,
// so that no key attestation ever re-admits it; then the key goes. Its
// next transaction is refused and tells the device to delete it. A full
// store does not stop a removal: a vehicle whose store is full admits no
// key at all (sharing.CheckCapacity), so the removal holds.
func (r *Reader) Remove(slot dkey.KeySlot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(slot)
	if i < 0 {
		return fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slot)
	}
	info := r.keys[i].info
	if err := r.share.Revoke(slot, info.PublicKey); err != nil && !errors.Is(err, sharing.ErrStoreFull) {
		return fmt.Errorf("vehicle: recording the revocation: %w", err)
	}
	info.State = dkey.KeyTerminated
	r.rememberRemoved(info)
	r.fast[i].Zeroize()
	clear(r.keys[i].token)
	r.keys = slices.Delete(r.keys, i, i+1)
	r.fast = slices.Delete(r.fast, i, i+1)
	return nil
}

// SetState suspends (dkey.KeySuspended) or resumes (dkey.KeyActive) a key.
func (r *Reader) SetState(slot dkey.KeySlot, s dkey.KeyState) error {
	if s != dkey.KeyActive && s != dkey.KeySuspended {
		return fmt.Errorf("vehicle: SetState to %v: use Remove to terminate", s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(slot)
	if i < 0 {
		return fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slot)
	}
	r.keys[i].info.State = s
	return nil
}

// touch moves key i to the front (most recently used) and returns its new
// index, 0.
func (r *Reader) touch(i int) {
	if i == 0 {
		return
	}
	k, f := r.keys[i], r.fast[i]
	copy(r.keys[1:i+1], r.keys[:i])
	copy(r.fast[1:i+1], r.fast[:i])
	r.keys[0], r.fast[0] = k, f
}

// check applies the vehicle's policy to key k for action at now and
// returns the CONTROL FLOW code of a refusal with its error.
func check(k *enrolled, action dkey.Action, now time.Time) (transaction.ControlFlow, error) {
	switch {
	case k.info.State == dkey.KeySuspended:
		return transaction.CFFailure, dkey.ErrKeySuspended
	case !inWindow(k, now):
		return transaction.CFKeyExpired, dkey.ErrKeyExpired
	case !k.info.Profile.Allows(action):
		return transaction.CFFailure, fmt.Errorf("%w: %v", dkey.ErrNotEntitled, action)
	}
	return transaction.CFSuccess, nil
}

// inWindow reports whether now is within the validity window of k.
func inWindow(k *enrolled, now time.Time) bool {
	return (k.info.NotBefore.IsZero() || !now.Before(k.info.NotBefore)) &&
		(k.info.NotAfter.IsZero() || now.Before(k.info.NotAfter))
}

// tokenMatches compares an immobilizer token in constant time.
func tokenMatches(got, want []byte) bool {
	return len(got) == len(want) && subtle.ConstantTimeCompare(got, want) == 1
}
