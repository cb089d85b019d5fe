package vehicle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// Store is the durable storage a Reader keeps its state in: store.Memory,
// store/bolt's Store, or any store with atomic batches. Write applies a
// batch whole or not at all, and once it returns nil the batch survives a
// crash. Get returns store.ErrNotFound for an absent key; Scan visits the
// keys with a prefix in byte order, with values valid during the call.
// The Reader closes it in Close.
type Store interface {
	Write(ops []store.Op) error
	Get(key []byte) ([]byte, error)
	Scan(prefix []byte, fn func(key, value []byte) error) error
	Close() error
}

// KeyEncryptionKey is the key that seals the reader's records in its Store
// (AES-256-GCM under a data key it wraps): an HSM, a TPM or a KMS can
// implement it; SoftwareKEK holds one in process memory. The same value
// serves device.Config.KEK.
type KeyEncryptionKey = seal.KEK

// SoftwareKEK returns a KeyEncryptionKey in process memory whose key is
// key, 32 bytes (AES-256). It is for test benches and development
// vehicles: a production vehicle keeps its key-encryption key in its HSM.
func SoftwareKEK(key []byte) (KeyEncryptionKey, error) { return seal.NewSoftwareKEK(key) }

// The stored state (package seal): the section's role and schema version,
// and the names of its records.
const (
	stateRole   = "vehicle"
	stateSchema = 1
	statePrefix = "vehicle/"

	recKey     = "k/" // + slot in hex: an enrolled key
	recRemoved = "x/" // + sequence: a removed key the reader remembers
	recRevoked = "r/" // + index: a revocation, in the order recorded
	recUsage   = "usage"
	recPairing = "pairing"
)

// stateError returns err, an error opening or reading the stored state,
// wrapped in the reader's sentinel for it.
func stateError(what string, err error) error {
	switch {
	case errors.Is(err, seal.ErrKEK):
		return fmt.Errorf("vehicle: %s: %w: %w", what, ErrStateKEK, err)
	case errors.Is(err, seal.ErrSchema):
		return fmt.Errorf("vehicle: %s: %w: %w", what, ErrStateVersion, err)
	case errors.Is(err, seal.ErrCorrupt), errors.Is(err, store.ErrCorrupt):
		return fmt.Errorf("vehicle: %s: %w: %w", what, ErrStateCorrupt, err)
	}
	return fmt.Errorf("vehicle: %s: %w", what, err)
}

// keyRecord is an enrolled key (recKey) or a removed one (recRemoved,
// without secrets).
type keyRecord struct {
	_             struct{} `cbor:",toarray"`
	Slot          []byte
	PublicKey     []byte
	Role          uint8
	Entitlements  uint32
	MaxSpeed      uint16
	State         uint8
	NotBefore     []byte
	NotAfter      []byte
	AttestationID []byte
	SharedBy      []byte
	SharedFrom    []byte
	Tracked       bool
	Token         []byte
	TokenOffset   uint16
	Mailboxes     [6]uint16
	Provisioned   bool
	Statements    bool
	Persistent    []byte
	LongTermKey   []byte
}

// usageRecord is the order of the enrolled keys, most recently used first,
// and when each was used last: volatile data, written with the next batch
// and at Close.
type usageRecord struct {
	_       struct{} `cbor:",toarray"`
	Slots   [][]byte
	LastUse [][]byte
}

// revocationRecord is one entry of the revocation store.
type revocationRecord struct {
	_       struct{} `cbor:",toarray"`
	Slot    []byte
	KeyHash []byte
	ID      []byte
	At      []byte
}

// pairingRecord is the pairing state: the installed verifier, what its
// pairing replaces, the attempts spent against it (and against the
// verifier it remembers, by fingerprint, so that installing the same
// verifier again never resets them), and a replacement of owner keys that
// a completed pairing has yet to carry out.
type pairingRecord struct {
	_           struct{} `cbor:",toarray"`
	Verifier    []byte
	Replace     uint8
	Spent       uint32
	Fingerprint []byte
	PendingSlot []byte
	PendingMode uint8
	Previous    [][]byte
}

func mailboxArray(m dkey.MailboxConfig) [6]uint16 {
	return [6]uint16{m.PrivateSize, m.ConfidentialSize, m.PrivateAuth1.Offset, m.PrivateAuth1.Length, m.ConfidentialAuth1.Offset, m.ConfidentialAuth1.Length}
}

func mailboxConfig(a [6]uint16) dkey.MailboxConfig {
	return dkey.MailboxConfig{
		PrivateSize: a[0], ConfidentialSize: a[1],
		PrivateAuth1: dkey.MailboxRange{Offset: a[2], Length: a[3]}, ConfidentialAuth1: dkey.MailboxRange{Offset: a[4], Length: a[5]},
	}
}

func slotBytes(s dkey.KeySlot) []byte {
	if s.IsZero() {
		return nil
	}
	return s.Bytes()
}

// parseSlot parses an optional slot: empty is the zero slot.
func parseSlot(b []byte) (dkey.KeySlot, error) {
	if len(b) == 0 {
		return dkey.KeySlot{}, nil
	}
	s, err := dkey.NewKeySlot(b)
	if err != nil {
		return s, fmt.Errorf("%w: %w", seal.ErrCorrupt, err)
	}
	return s, nil
}

// encodeKey returns the record of k; removed records carry no secret.
func encodeKey(k *enrolled, secrets bool) ([]byte, error) {
	i := &k.info
	r := keyRecord{
		Slot: i.Slot.Bytes(), PublicKey: i.PublicKey.Bytes(), Role: uint8(i.Role),
		Entitlements: uint32(i.Profile.Entitlements), MaxSpeed: i.Profile.MaxSpeed, State: uint8(i.State),
		NotBefore: seal.AppendTime(nil, i.NotBefore), NotAfter: seal.AppendTime(nil, i.NotAfter),
		SharedBy: slotBytes(i.SharedBy), SharedFrom: slotBytes(i.SharedFrom), Tracked: i.Tracked,
		TokenOffset: k.tokenOff, Mailboxes: mailboxArray(k.mailboxes), Provisioned: k.provisioned, Statements: k.statements,
	}
	if !i.AttestationID.IsZero() {
		r.AttestationID = i.AttestationID[:]
	}
	if secrets {
		r.Token = k.token
		r.Persistent = k.persistent.Bytes()
		if k.hasLTSS {
			r.LongTermKey = k.ltss[:]
		}
	}
	return seal.Encode(&r)
}

// decodeKey parses a key record. Every field is checked: a record that
// does not describe a key the reader could have enrolled is ErrCorrupt.
func decodeKey(b []byte) (*enrolled, error) {
	var r keyRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	k := &enrolled{tokenOff: r.TokenOffset, mailboxes: mailboxConfig(r.Mailboxes), provisioned: r.Provisioned, statements: r.Statements}
	i := &k.info
	var err error
	bad := func(what string) error { return fmt.Errorf("%w: key record: %s", seal.ErrCorrupt, what) }
	if i.Slot, err = parseSlot(r.Slot); err != nil || i.Slot.IsZero() {
		return nil, bad("slot")
	}
	if i.PublicKey, err = dkey.ParsePublicKey(r.PublicKey); err != nil {
		return nil, bad("public key")
	}
	i.Role, i.State = dkey.KeyRole(r.Role), dkey.KeyState(r.State)
	if i.Role != dkey.RoleOwner && i.Role != dkey.RoleFriend {
		return nil, bad("role")
	}
	if i.State != dkey.KeyActive && i.State != dkey.KeySuspended && i.State != dkey.KeyTerminated {
		return nil, bad("state")
	}
	i.Profile = dkey.AccessProfile{Entitlements: dkey.Entitlements(r.Entitlements), MaxSpeed: r.MaxSpeed}
	if !i.Profile.Entitlements.Known() {
		return nil, bad("entitlements")
	}
	if i.NotBefore, err = seal.ParseTime(r.NotBefore); err != nil {
		return nil, err
	}
	if i.NotAfter, err = seal.ParseTime(r.NotAfter); err != nil {
		return nil, err
	}
	switch len(r.AttestationID) {
	case 0:
	case attest.IDSize:
		if i.AttestationID = attest.ID(r.AttestationID); i.AttestationID.IsZero() {
			return nil, bad("attestation ID")
		}
	default:
		return nil, bad("attestation ID")
	}
	if i.SharedBy, err = parseSlot(r.SharedBy); err != nil {
		return nil, err
	}
	if i.SharedFrom, err = parseSlot(r.SharedFrom); err != nil {
		return nil, err
	}
	i.Tracked = r.Tracked
	if err := k.mailboxes.Validate(); err != nil {
		return nil, bad("mailboxes")
	}
	if n := len(r.Token); n > 0 {
		if n > transaction.MaxWriteLength || int(r.TokenOffset)+n > int(k.mailboxes.ConfidentialSize) {
			return nil, bad("immobilizer token")
		}
		k.token = r.Token
	} else if r.TokenOffset != 0 || r.Provisioned {
		return nil, bad("immobilizer token")
	}
	if len(r.Persistent) > 0 {
		if k.persistent, err = transaction.NewPersistentKey(r.Persistent); err != nil {
			return nil, bad("Kpersistent")
		}
	}
	switch len(r.LongTermKey) {
	case 0:
	case pairing.LongTermSecretSize:
		k.ltss, k.hasLTSS = [pairing.LongTermSecretSize]byte(r.LongTermKey), true
	default:
		return nil, bad("pairing secret")
	}
	return k, nil
}

// decodeRemoved parses the record of a removed key: a key record without
// secrets, in state terminated.
func decodeRemoved(b []byte) (KeyInfo, error) {
	k, err := decodeKey(b)
	if err != nil {
		return KeyInfo{}, err
	}
	// A removed key keeps its identity and profile only: what its next
	// transaction reports.
	if k.info.State != dkey.KeyTerminated || len(k.token) > 0 || k.persistent.Valid() || k.hasLTSS ||
		k.mailboxes != (dkey.MailboxConfig{}) || k.provisioned || k.statements || k.tokenOff != 0 {
		return KeyInfo{}, fmt.Errorf("%w: removed-key record", seal.ErrCorrupt)
	}
	return k.info, nil
}

func encodeRevocation(r *sharing.Revocation) ([]byte, error) {
	rec := revocationRecord{Slot: slotBytes(r.Slot), KeyHash: r.KeyHash[:], At: seal.AppendTime(nil, r.At)}
	if !r.ID.IsZero() {
		rec.ID = r.ID[:]
	}
	return seal.Encode(&rec)
}

func decodeRevocation(b []byte) (sharing.Revocation, error) {
	var rec revocationRecord
	var r sharing.Revocation
	if err := seal.Decode(b, &rec); err != nil {
		return r, err
	}
	var err error
	if r.Slot, err = parseSlot(rec.Slot); err != nil {
		return r, err
	}
	if len(rec.KeyHash) != sha256.Size || [sha256.Size]byte(rec.KeyHash) == ([sha256.Size]byte{}) {
		return r, fmt.Errorf("%w: revocation: key hash", seal.ErrCorrupt)
	}
	r.KeyHash = [sha256.Size]byte(rec.KeyHash)
	switch len(rec.ID) {
	case 0:
	case attest.IDSize:
		if r.ID = attest.ID(rec.ID); r.ID.IsZero() {
			return r, fmt.Errorf("%w: revocation: ID", seal.ErrCorrupt)
		}
	default:
		return r, fmt.Errorf("%w: revocation: ID", seal.ErrCorrupt)
	}
	if r.At, err = seal.ParseTime(rec.At); err != nil {
		return r, err
	}
	return r, nil
}

// replaceMode is what the next pairing does to the owner keys before it.
type replaceMode uint8

const (
	replaceNone   replaceMode = iota // InstallVerifier: no owner key yet
	replaceOwner                     // ReplaceOwner: a new owner; the old one and its shares go
	replaceDevice                    // ReplaceOwnerDevice: the same owner on a new device; shares stay
)

// pendingReplace is a replacement of owner keys that a completed pairing
// has yet to carry out (enrollOwner), stored so that a restart finishes
// it.
type pendingReplace struct {
	slot     dkey.KeySlot
	mode     replaceMode
	previous []dkey.KeySlot
}

func encodePairing(ps *pairingState) ([]byte, error) {
	rec := pairingRecord{Replace: uint8(ps.replace), Spent: uint32(ps.spent)}
	if ps.verifier != nil {
		v, err := ps.verifier.MarshalBinary()
		if err != nil {
			return nil, err
		}
		rec.Verifier = v
		defer clear(v)
	}
	if ps.fingerprint != ([sha256.Size]byte{}) {
		rec.Fingerprint = ps.fingerprint[:]
	}
	if p := ps.pending; p != nil {
		rec.PendingSlot, rec.PendingMode = p.slot.Bytes(), uint8(p.mode)
		for _, s := range p.previous {
			rec.Previous = append(rec.Previous, s.Bytes())
		}
	}
	return seal.Encode(&rec)
}

// pairingState is the restored pairing record.
type pairingState struct {
	verifier    *pairing.Verifier
	replace     replaceMode
	spent       int
	fingerprint [sha256.Size]byte
	pending     *pendingReplace
}

func decodePairing(b []byte) (*pairingState, error) {
	var rec pairingRecord
	if err := seal.Decode(b, &rec); err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: pairing record: %s", seal.ErrCorrupt, what) }
	p := &pairingState{replace: replaceMode(rec.Replace), spent: int(rec.Spent)}
	if p.replace > replaceDevice || rec.Spent > 1<<16 {
		return nil, bad("mode or attempts")
	}
	if len(rec.Verifier) > 0 {
		v, err := pairing.ParseVerifier(rec.Verifier)
		if err != nil {
			return nil, bad("verifier")
		}
		p.verifier = v
	} else if p.replace != replaceNone {
		return nil, bad("mode without a verifier")
	}
	switch len(rec.Fingerprint) {
	case 0:
		if p.verifier != nil || p.spent != 0 {
			return nil, bad("fingerprint")
		}
	case sha256.Size:
		p.fingerprint = [sha256.Size]byte(rec.Fingerprint)
	default:
		return nil, bad("fingerprint")
	}
	if len(rec.PendingSlot) > 0 {
		pr := &pendingReplace{mode: replaceMode(rec.PendingMode)}
		var err error
		if pr.slot, err = parseSlot(rec.PendingSlot); err != nil || (pr.mode != replaceOwner && pr.mode != replaceDevice) {
			return nil, bad("pending replacement")
		}
		for _, s := range rec.Previous {
			ps, err := parseSlot(s)
			if err != nil || ps.IsZero() {
				return nil, bad("pending replacement")
			}
			pr.previous = append(pr.previous, ps)
		}
		p.pending = pr
	} else if rec.PendingMode != 0 || len(rec.Previous) > 0 {
		return nil, bad("pending replacement")
	}
	return p, nil
}

func encodeUsage(keys []*enrolled) ([]byte, error) {
	rec := usageRecord{Slots: make([][]byte, len(keys)), LastUse: make([][]byte, len(keys))}
	for i, k := range keys {
		rec.Slots[i] = k.info.Slot.Bytes()
		rec.LastUse[i] = seal.AppendTime(nil, k.info.LastUse)
	}
	return seal.Encode(&rec)
}

func decodeUsage(b []byte) ([]dkey.KeySlot, []time.Time, error) {
	var rec usageRecord
	if err := seal.Decode(b, &rec); err != nil {
		return nil, nil, err
	}
	if len(rec.Slots) != len(rec.LastUse) {
		return nil, nil, fmt.Errorf("%w: usage record", seal.ErrCorrupt)
	}
	slots := make([]dkey.KeySlot, len(rec.Slots))
	times := make([]time.Time, len(rec.Slots))
	for i := range rec.Slots {
		var err error
		if slots[i], err = parseSlot(rec.Slots[i]); err != nil || slots[i].IsZero() {
			return nil, nil, fmt.Errorf("%w: usage record", seal.ErrCorrupt)
		}
		if times[i], err = seal.ParseTime(rec.LastUse[i]); err != nil {
			return nil, nil, err
		}
	}
	return slots, times, nil
}

func keyName(s dkey.KeySlot) string { return recKey + s.String() }

func seqName(prefix string, n uint64) string { return fmt.Sprintf("%s%016x", prefix, n) }

// restore loads the stored state into r, which NewReader has configured:
// every record is read and checked before the reader serves anything, and
// any record that does not open or parse fails the whole open.
func (r *Reader) restore() error {
	byName := map[string]*enrolled{}
	err := r.sec.Scan(recKey, func(name string, p []byte) error {
		k, err := decodeKey(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name != keyName(k.info.Slot) || k.info.State == dkey.KeyTerminated {
			return fmt.Errorf("%w: %s holds slot %v in state %v", seal.ErrCorrupt, name, k.info.Slot, k.info.State)
		}
		byName[name] = k
		return nil
	})
	if err != nil {
		return stateError("reading the enrolled keys", err)
	}
	order, times, err := r.readUsage()
	if err != nil {
		return err
	}
	if len(order) != len(byName) {
		return stateError("reading the key order", fmt.Errorf("%w: %d keys in the order, %d enrolled", seal.ErrCorrupt, len(order), len(byName)))
	}
	for i, s := range order {
		k := byName[keyName(s)]
		if k == nil {
			return stateError("reading the key order", fmt.Errorf("%w: slot %v is not enrolled", seal.ErrCorrupt, s))
		}
		delete(byName, keyName(s))
		k.info.LastUse = times[i]
		r.keys = append(r.keys, k)
		var f transaction.FastKey
		if k.persistent.Valid() {
			f = transaction.NewFastKey(k.info.PublicKey, &k.persistent)
		}
		r.fast = append(r.fast, f)
	}
	for _, k := range r.keys {
		if slices.ContainsFunc(r.keys, func(o *enrolled) bool { return o != k && o.info.PublicKey.Equal(k.info.PublicKey) }) {
			return stateError("reading the enrolled keys", fmt.Errorf("%w: a public key enrolled twice", seal.ErrCorrupt))
		}
	}

	err = r.sec.Scan(recRemoved, func(name string, p []byte) error {
		var n uint64
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, recRemoved), "%016x", &n); err != nil || name != seqName(recRemoved, n) || (len(r.removedSeq) > 0 && n <= r.removedSeq[len(r.removedSeq)-1]) {
			return fmt.Errorf("%w: record name %q", seal.ErrCorrupt, name)
		}
		info, err := decodeRemoved(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.removed, r.removedSeq = append(r.removed, info), append(r.removedSeq, n)
		return nil
	})
	if err != nil {
		return stateError("reading the removed keys", err)
	}
	if len(r.removed) > maxRemoved {
		return stateError("reading the removed keys", fmt.Errorf("%w: %d removed keys", seal.ErrCorrupt, len(r.removed)))
	}
	if n := len(r.removedSeq); n > 0 {
		r.nextRemoved = r.removedSeq[n-1] + 1
	}

	if err := r.restoreRevocations(); err != nil {
		return err
	}
	if err := r.restorePairing(); err != nil {
		return err
	}
	if err := r.restoreR3(); err != nil {
		return err
	}
	return r.restoreHomeKey()
}

func (r *Reader) readUsage() ([]dkey.KeySlot, []time.Time, error) {
	p, err := r.sec.Get(recUsage)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, stateError("reading the key order", err)
	}
	order, times, err := decodeUsage(p)
	if err != nil {
		return nil, nil, stateError("reading the key order", err)
	}
	return order, times, nil
}

// revocationID is what identifies a revocation: its identifiers.
type revocationID struct {
	slot dkey.KeySlot
	hash [sha256.Size]byte
	id   attest.ID
}

// restoreRevocations loads the stored revocations into the reader's
// revocation store (Config.Revocations, or a new one) and stores at once
// those of the configured store that the file lacks.
func (r *Reader) restoreRevocations() error {
	revs := r.share.Revocations()
	stored := map[revocationID]bool{}
	n := uint64(0)
	err := r.sec.Scan(recRevoked, func(name string, p []byte) error {
		if name != seqName(recRevoked, n) {
			return fmt.Errorf("%w: record name %q", seal.ErrCorrupt, name)
		}
		rev, err := decodeRevocation(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n++
		stored[revocationID{rev.Slot, rev.KeyHash, rev.ID}] = true
		if err := revs.Revoke(rev); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return stateError("reading the revocations", err)
	}
	list := revs.Revocations()
	var ops []store.Op
	for i := range list {
		if stored[revocationID{list[i].Slot, list[i].KeyHash, list[i].ID}] {
			continue
		}
		b, err := encodeRevocation(&list[i])
		if err != nil {
			return fmt.Errorf("vehicle: %w", err)
		}
		if ops, err = r.sec.Put(ops, seqName(recRevoked, n), b); err != nil {
			return fmt.Errorf("vehicle: %w", err)
		}
		n++
	}
	if err := r.sec.Write(ops); err != nil {
		return fmt.Errorf("vehicle: storing the configured revocations: %w", err)
	}
	r.revSaved, r.revNext = len(list), n
	return nil
}

// usableLocked refuses calls on a reader NewReader did not make and on a
// closed one. r.mu is held.
func (r *Reader) usableLocked() error {
	if r.v == nil {
		return ErrNotInitialized
	}
	if r.closed {
		return ErrClosed
	}
	return nil
}

// keyOps appends to ops the record of the enrolled key k.
func (r *Reader) keyOps(ops []store.Op, k *enrolled) ([]store.Op, error) {
	if r.sec == nil {
		return ops, nil
	}
	b, err := encodeKey(k, true)
	if err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	defer clear(b)
	if ops, err = r.sec.Put(ops, keyName(k.info.Slot), b); err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	return ops, nil
}

// commitLocked writes ops as one batch of the store, with the revocations
// recorded in memory since the last batch and the order of use of keys,
// the enrolled keys once ops are applied (nil: unchanged). On an error
// nothing is written, and the caller changes nothing in memory. r.mu is
// held.
func (r *Reader) commitLocked(ops []store.Op, keys []*enrolled) error {
	if r.sec == nil {
		r.revSaved = r.share.Revocations().Len()
		return nil
	}
	if keys == nil {
		keys = r.keys
	}
	revs := r.share.Revocations()
	var n int
	if revs.Len() > r.revSaved {
		list := revs.Revocations()[r.revSaved:]
		for i := range list {
			b, err := encodeRevocation(&list[i])
			if err != nil {
				return fmt.Errorf("vehicle: %w", err)
			}
			if ops, err = r.sec.Put(ops, seqName(recRevoked, r.revNext+uint64(i)), b); err != nil {
				return fmt.Errorf("vehicle: %w", err)
			}
		}
		n = len(list)
	}
	b, err := encodeUsage(keys)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if ops, err = r.sec.Put(ops, recUsage, b); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if err := r.sec.Write(ops); err != nil {
		return fmt.Errorf("vehicle: storing the state: %w", err)
	}
	r.revSaved += n
	r.revNext += uint64(n)
	return nil
}

// pairingOps appends the pairing record of the state change to ops: set
// it in a copy of the reader's pairing fields, as the caller will after
// the write. r.mu is held.
func (r *Reader) pairingOps(ops []store.Op, change func(p *pairingState)) ([]store.Op, *pairingState, error) {
	p := &pairingState{verifier: r.verifier, replace: r.replace, spent: r.spent, fingerprint: r.fingerprint, pending: r.pending}
	change(p)
	if r.sec == nil {
		return ops, p, nil
	}
	b, err := encodePairing(p)
	if err != nil {
		return ops, nil, fmt.Errorf("vehicle: %w", err)
	}
	defer clear(b)
	if ops, err = r.sec.Put(ops, recPairing, b); err != nil {
		return ops, nil, fmt.Errorf("vehicle: %w", err)
	}
	return ops, p, nil
}

// setPairingLocked makes p the reader's pairing state, erasing a verifier
// it replaces. r.mu is held.
func (r *Reader) setPairingLocked(p *pairingState) {
	if r.verifier != nil && r.verifier != p.verifier {
		r.verifier.Zeroize()
	}
	r.verifier, r.replace, r.spent, r.fingerprint, r.pending = p.verifier, p.replace, p.spent, p.fingerprint, p.pending
}

// restorePairing loads the pairing record.
func (r *Reader) restorePairing() error {
	b, err := r.sec.Get(recPairing)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return stateError("reading the pairing state", err)
	}
	p, err := decodePairing(b)
	clear(b)
	if err != nil {
		return stateError("reading the pairing state", err)
	}
	if p.verifier != nil && r.pairCfg == nil {
		return errors.New("vehicle: the stored state holds a pairing verifier and Config.Pairing is nil")
	}
	r.setPairingLocked(p)
	return nil
}
