package vehicle

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/store"
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
	// version list into its key derivation (docs/protocol.md §4.4).
	Versions dkey.VersionList
	// Pairing configures owner pairing (Reader.Pair): the vehicle's
	// certificates, the Device OEM roots and the attempt limit. Nil means
	// the reader does not pair (CCC profile only).
	Pairing *PairingConfig
	// Revocations is the vehicle's record of keys revoked for good; nil
	// means a new, empty store of sharing.DefaultMaxRevocations. The reader
	// records in it every key it removes, and every termination it
	// processes, before the key goes. With a Store, the reader stores each
	// revocation with the change that made it, and fills this store with
	// the stored ones at NewReader (and stores those it holds that the
	// file lacks). Without one, the caller persists it (Reader.Revocations,
	// sharing.RevocationStore.MarshalBinary) after each change.
	Revocations *sharing.RevocationStore
	// TrackingKeys are the keys of the automaker's key tracking service,
	// which sign the tracking receipts devices hand over in their statement
	// area; none means receipts are refused.
	TrackingKeys []*dkey.PublicKey
	// Store keeps the reader's state across restarts: enrolled keys with
	// their Kpersistent and immobilizer tokens, removed keys, revocations,
	// the pairing verifier and its attempt count. NewReader restores what
	// it holds, and every change is one atomic batch in it (doc.go, "State
	// and durability"). Nil means in memory only: the state lasts
	// as long as the Reader, and nothing is encoded or written. The Reader
	// closes it in Close.
	Store Store
	// KEK seals the records of Store; it is required with a Store.
	KEK KeyEncryptionKey
	// Ranging bounds the ranging keys (URSK) the reader keeps for UWB
	// (ranging.go); the zero value means the defaults.
	Ranging RangingConfig
	// HomeKey configures the attestation flow of a Home Key reader
	// (homekey.go); nil means the defaults. The issuers it trusts are
	// enrolled with EnrollIssuer.
	HomeKey *HomeKeyConfig
	// Hooks, when not nil, are called as the reader works: transactions,
	// fast misses, refusals, statements, pairing (see Hooks). For test
	// benches, diagnostics and metrics; nil costs nothing.
	Hooks *Hooks
	// Rand, when not nil, replaces crypto/rand as the source of the
	// reader's protocol randomness: each transaction's ephemeral key and
	// transaction identifier (transaction.VehicleConfig.Rand), the SPAKE2+
	// scalar of owner pairing (pairing.VehicleConfig.Rand) and the
	// immobilizer token of a paired owner key (see "Key log and
	// deterministic randomness" in the package documentation). It is for
	// tests and conformance vectors only: a predictable source gives away
	// every session key and every token. Nil, the default, means
	// crypto/rand.
	Rand io.Reader
	// KeyLog, when not nil, receives the session keys of every
	// transaction and the keys of every pairing channel the reader runs,
	// in the key log format of package transaction (transaction.
	// VehicleConfig.KeyLog, pairing.VehicleConfig.KeyLog), for dkey trace
	// decode -keylog.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// sessions, read the mailboxes they carried (immobilizer tokens
	// included), and with Kpersistent answer the next fast transaction of
	// any key in its place. Use it on test benches only, never in a
	// vehicle. Nil, the default, logs nothing.
	KeyLog io.Writer
	// EphemeralKeys, when above zero, is the number of ephemeral key pairs
	// the reader keeps ready, generated in the background between taps,
	// so that no transaction waits for its own (transaction.EphemeralPool:
	// each key used once and erased; a tap that finds none ready makes its
	// own). One or two per transaction the reader runs at once (NFC
	// readers of the vehicle, BLE links) is enough; at most
	// transaction.MaxEphemeralKeys. Close stops the background work.
	// With Rand set there is no pool: the deterministic mode draws every
	// ephemeral key from Rand in order. Zero, the default, means no pool
	// and no goroutine.
	EphemeralKeys int
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
	// checked at every engine start (docs/protocol.md §5.2). Keys without a token
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

// String describes the enrolment without its immobilizer token.
func (e Enrollment) String() string {
	return fmt.Sprintf("{PublicKey:%v Slot:%v Role:%v Profile:%+v NotBefore:%v NotAfter:%v ImmobilizerToken:[redacted] TokenOffset:%d Mailboxes:%+v StatementArea:%v AttestationID:%v SharedBy:%v}",
		e.PublicKey, e.Slot, e.Role, e.Profile, e.NotBefore, e.NotAfter, e.TokenOffset, e.Mailboxes, e.StatementArea, e.AttestationID, e.SharedBy)
}

// GoString is String: the token is never printed.
func (e Enrollment) GoString() string { return "vehicle.Enrollment" + e.String() }

// Format prints String for every verb (GoString for %#v).
func (e Enrollment) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, e.GoString())
		return
	}
	fmt.Fprint(f, e.String())
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
	// SharedFrom is, for a shared key, the key at the top of its chain of
	// key attestations: the owner key (or a key enrolled directly) whose
	// shares, and re-shares, it belongs to. A change of owner
	// (ReplaceOwner) removes every key shared from a replaced owner key;
	// a device change of the same owner (ReplaceOwnerDevice) moves them to
	// the new owner key.
	SharedFrom dkey.KeySlot
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
	// Issuer is, for a Home Key key enrolled by attestation, the issuer
	// whose document vouched for it (homekey.go); zero otherwise.
	Issuer mdoc.IssuerID
}

type enrolled struct {
	info        KeyInfo
	token       []byte
	tokenOff    uint16
	mailboxes   dkey.MailboxConfig
	provisioned bool
	// statements: the private mailbox starts with a statement area.
	statements bool
	// persistent is the Kpersistent behind the key's FastKey, kept to
	// store it.
	persistent transaction.PersistentKey
	// ltss is the LONG_TERM_SHARED_SECRET of an owner key from pairing.
	ltss    [pairing.LongTermSecretSize]byte
	hasLTSS bool
	// issuer is Issuer of KeyInfo (homekey_state.go stores it).
	issuer mdoc.IssuerID
}

// zeroize erases the key's secrets.
func (k *enrolled) zeroize() {
	clear(k.token)
	k.persistent.Zeroize()
	clear(k.ltss[:])
}

// Reader is the vehicle side: the enrolled keys, the policy of what each
// may do, and the transactions run over any transport.Transceiver (an NFC
// reader at a door handle, the console reader, a BLE link). It runs the fast
// transaction first when the action allows it and falls back to the
// standard one (docs/protocol.md §4.1); engine start always takes a standard
// transaction and reads the immobilizer token.
//
// A Reader is safe for concurrent use: several NFC readers of one vehicle
// share it. Make one with NewReader: a Reader it did not make (the zero
// value) answers ErrNotInitialized, reports no keys, prints, and closes as
// a no-op.
type Reader struct {
	v    *transaction.VehicleParams
	now  func() time.Time
	link *transport.ClientConfig
	// share is the intake of sharing statements, with the revocation
	// store (sharing.go).
	share        *sharing.VehicleIntake
	trackingKeys []*dkey.PublicKey
	// hooks are Config.Hooks (hooks.go), rand Config.Rand.
	hooks *Hooks
	rand  io.Reader

	mu sync.Mutex
	// keys and fast are parallel, most recently used first: the fast lookup
	// tries keys in that order (docs/protocol.md §4.5).
	keys []*enrolled
	fast []transaction.FastKey
	// removed remembers keys removed from the vehicle, so that their next
	// transaction tells the device to delete them (CONTROL FLOW 00A0);
	// removedSeq numbers their records, and nextRemoved the next one.
	removed     []KeyInfo
	removedSeq  []uint64
	nextRemoved uint64

	sessions sync.Pool

	// The stored state (state.go): the section of the store, how many of
	// the revocation store's entries are stored (revocations are recorded
	// in memory first, by package sharing, and stored with the next
	// batch) and the number of the next revocation record.
	st       Store
	sec      *seal.Section
	revSaved int
	revNext  uint64
	closed   bool

	// Owner pairing (pairing.go).
	pairCfg     *pairing.VehicleConfig
	maxAttempts int
	verifier    *pairing.Verifier
	replace     replaceMode
	spent       int
	fingerprint [sha256.Size]byte
	pending     *pendingReplace
	pairingBusy bool

	// Release 3: the sessions of other interfaces than NFC (ble.go), the
	// BLE keys of owner keys from pairing, and the ranging keys
	// (ranging.go).
	ifaces interfaces
	ble    map[dkey.KeySlot]*pairing.BLEKeys
	rng    rangingState
	// Home Key (homekey.go): the configuration, and the enrolled issuers
	// by identifier.
	hk      *HomeKeyConfig
	issuers []*mdoc.IssuerKey
	// ephemeral is the pool of Config.EphemeralKeys (ephemeral.go), nil
	// without one.
	ephemeral *transaction.EphemeralPool
}

// NewReader returns a Reader with the state cfg.Store holds: the keys
// enrolled, their Kpersistent (so that the first unlock after a restart is
// fast), removed keys, revocations, the pairing verifier and its attempt
// count. A new store, or none, gives a reader with no enrolled key.
//
// A store written with the wrong key-encryption key is refused with an
// error wrapping ErrStateKEK, one of a schema this version does not know
// with ErrStateVersion, and one with a damaged or tampered record with
// ErrStateCorrupt: nothing is served from it.
func NewReader(cfg *Config) (_ *Reader, err error) {
	if cfg == nil {
		return nil, errors.New("vehicle: NewReader needs a Config (the vehicle's identifier and key)")
	}
	// No pool (nil, and no goroutine) without EphemeralKeys or in the
	// deterministic mode.
	pool, err := transaction.NewEphemeralPoolFor(cfg.EphemeralKeys, cfg.Rand != nil)
	if err != nil {
		return nil, fmt.Errorf("vehicle: Config.EphemeralKeys: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	vcfg := transaction.VehicleConfig{
		Profile: cfg.Profile, VehicleID: cfg.VehicleID, Key: cfg.Key, Versions: cfg.Versions, Rand: cfg.Rand, KeyLog: cfg.KeyLog,
		Ephemeral: pool,
	}
	v, err := transaction.NewVehicleParams(&vcfg)
	if err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	r := &Reader{v: v, now: cfg.Time, link: cfg.Link, trackingKeys: slices.Clone(cfg.TrackingKeys), hooks: cfg.Hooks, rand: cfg.Rand, ephemeral: pool}
	r.ifaces.base = vcfg
	if r.rng.cfg, err = resolveRanging(cfg.Ranging); err != nil {
		return nil, err
	}
	if cfg.HomeKey != nil {
		hk := *cfg.HomeKey
		r.hk = &hk
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.share, err = sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: cfg.VehicleID, Revocations: cfg.Revocations, Time: r.now}); err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	r.sessions.New = func() any { return &pooled{s: v.NewSession(), buf: make([]byte, 0, 4096)} }
	if err := r.initPairing(cfg); err != nil {
		return nil, err
	}
	if err := r.open(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens the stored state of cfg and restores it. Without a Store
// the reader keeps its state in memory only, and stores nothing.
func (r *Reader) open(cfg *Config) error {
	if cfg.Store == nil {
		r.revSaved = r.share.Revocations().Len()
		return nil
	}
	if cfg.KEK == nil {
		return errors.New("vehicle: a Store needs a KEK")
	}
	sec, _, err := seal.OpenSection(cfg.Store, statePrefix, cfg.KEK, stateRole, stateSchema)
	if err != nil {
		return stateError("opening the stored state", err)
	}
	r.st, r.sec = cfg.Store, sec
	if err := r.restore(); err != nil {
		return err
	}
	return r.finishReplacement()
}

// Close stores what the reader keeps in memory only between writes (when
// each key was used last, and the order of use) and closes the store.
// The Reader must not be used afterwards. Closing twice is not an error.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.v == nil {
		// Closing a Reader NewReader did not make is a no-op.
		return nil
	}
	r.closed = true
	r.ephemeral.Close()
	err := r.commitLocked(nil, nil)
	for _, k := range r.keys {
		k.zeroize()
	}
	for i := range r.fast {
		r.fast[i].Zeroize()
	}
	for _, k := range r.ble {
		k.Zeroize()
	}
	for _, k := range r.rng.keys {
		k.Clear()
	}
	if r.verifier != nil {
		r.verifier.Zeroize()
	}
	if r.st != nil {
		err = errors.Join(err, r.st.Close())
	}
	return err
}

// String describes the reader without its secrets.
func (r *Reader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.v == nil {
		return "vehicle.Reader{not initialized}"
	}
	return fmt.Sprintf("vehicle.Reader{%v, %v, %d keys}", r.v.Profile(), r.v.ID(), len(r.keys))
}

// GoString is String: Kpersistent, tokens and the verifier are never
// printed.
func (r *Reader) GoString() string { return r.String() }

// Format prints String for every verb.
func (r *Reader) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.String()) }

// ID returns the vehicle identifier (zero for a Reader NewReader did not
// make).
func (r *Reader) ID() dkey.VehicleID {
	if r.v == nil {
		return dkey.VehicleID{}
	}
	return r.v.ID()
}

// PublicKey returns the vehicle's long-term public key, which devices use to
// verify AUTH1 (nil for a Reader NewReader did not make).
func (r *Reader) PublicKey() *dkey.PublicKey {
	if r.v == nil {
		return nil
	}
	return r.v.PublicKey()
}

// Profile returns the profile (zero for a Reader NewReader did not make).
func (r *Reader) Profile() dkey.Profile {
	if r.v == nil {
		return 0
	}
	return r.v.Profile()
}

// Enroll adds a key. It returns ErrEnrolled if the slot or the public key is
// already enrolled, and an error wrapping sharing.ErrRevoked and
// dkey.ErrKeyTerminated if the revocation store has revoked either: a key
// removed once is never enrolled again.
func (r *Reader) Enroll(e Enrollment) error {
	_, err := r.enroll(e, nil, nil)
	return err
}

// enroll enrolls e, with the pairing secret ltss of an owner key from
// pairing, in one batch with what extra adds to it (the pairing state),
// and returns the key. extra runs with r.mu held.
func (r *Reader) enroll(e Enrollment, ltss *[pairing.LongTermSecretSize]byte, extra func(ops []store.Op, k *enrolled) ([]store.Op, error)) (*enrolled, error) {
	if e.PublicKey == nil || e.Slot.IsZero() {
		return nil, errors.New("vehicle: enrolment needs a public key and a slot")
	}
	if !e.Profile.Entitlements.Known() {
		return nil, fmt.Errorf("vehicle: unknown entitlements %v", e.Profile.Entitlements)
	}
	if e.Role == 0 {
		e.Role = dkey.RoleOwner
	}
	if e.Role != dkey.RoleOwner && e.Role != dkey.RoleFriend {
		return nil, fmt.Errorf("vehicle: unknown role %v", e.Role)
	}
	if err := e.Mailboxes.Validate(); err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	if n := len(e.ImmobilizerToken); n > 0 {
		// The token is written by one EXCHANGE write and read back by one
		// read (or from the AUTH1 subset), inside the confidential mailbox.
		if n > transaction.MaxWriteLength || n > transaction.MaxReadLength || int(e.TokenOffset)+n > int(e.Mailboxes.ConfidentialSize) {
			return nil, fmt.Errorf("vehicle: immobilizer token of %d bytes at %d does not fit the confidential mailbox of %d bytes", n, e.TokenOffset, e.Mailboxes.ConfidentialSize)
		}
	} else if e.TokenOffset != 0 {
		return nil, errors.New("vehicle: a token offset without an immobilizer token")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return nil, err
	}
	for _, k := range r.keys {
		if k.info.Slot == e.Slot || k.info.PublicKey.Equal(e.PublicKey) {
			return nil, ErrEnrolled
		}
	}
	if err := r.share.Revocations().Check(e.Slot, e.PublicKey, e.AttestationID); err != nil {
		return nil, fmt.Errorf("vehicle: enrolment: %w", err)
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
	if ltss != nil {
		k.ltss, k.hasLTSS = *ltss, true
	}
	if !e.SharedBy.IsZero() {
		// The chain of attestations goes up to the signer's top, or the
		// signer itself when it was not shared (docs/protocol.md §6).
		k.info.SharedFrom = e.SharedBy
		if s := r.lookup(e.SharedBy); s != nil && !s.info.SharedFrom.IsZero() {
			k.info.SharedFrom = s.info.SharedFrom
		}
	}
	ops, err := r.keyOps(nil, k)
	if err != nil {
		return nil, err
	}
	if extra != nil {
		if ops, err = extra(ops, k); err != nil {
			return nil, err
		}
	}
	// A key enrolled again in the slot of a removed one (the store
	// allows it only when the removal was not recorded as a revocation)
	// is no longer removed.
	ri := slices.IndexFunc(r.removed, func(ki KeyInfo) bool { return ki.Slot == e.Slot })
	if ri >= 0 {
		ops = r.sec.Delete(ops, seqName(recRemoved, r.removedSeq[ri]))
	}
	keys := append(slices.Clip(r.keys), k)
	if err := r.commitLocked(ops, keys); err != nil {
		return nil, err
	}
	r.keys = keys
	r.fast = append(r.fast, transaction.FastKey{})
	if ri >= 0 {
		r.removed = slices.Delete(r.removed, ri, ri+1)
		r.removedSeq = slices.Delete(r.removedSeq, ri, ri+1)
	}
	return k, nil
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
		out[i].Issuer = k.issuer
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

// removedList is the record of removed keys as a batch changes it.
type removedList struct {
	infos []KeyInfo
	seqs  []uint64
	next  uint64
}

// removedLocked returns a copy of the record of removed keys. r.mu is
// held.
func (r *Reader) removedLocked() *removedList {
	return &removedList{infos: slices.Clone(r.removed), seqs: slices.Clone(r.removedSeq), next: r.nextRemoved}
}

// setRemovedLocked makes l the record of removed keys. r.mu is held.
func (r *Reader) setRemovedLocked(l *removedList) {
	r.removed, r.removedSeq, r.nextRemoved = l.infos, l.seqs, l.next
}

// addRemoved adds a removed key to l, forgetting the oldest when l is
// full, and appends the records that change to ops.
func (r *Reader) addRemoved(ops []store.Op, l *removedList, info KeyInfo) ([]store.Op, error) {
	info.State = dkey.KeyTerminated
	info.HasPersistent, info.TokenProvisioned = false, false
	// Its record keeps the key's identity and profile only (decodeRemoved).
	info.LastUse = time.Time{}
	if r.sec != nil {
		b, err := encodeKey(&enrolled{info: info}, false)
		if err != nil {
			return ops, fmt.Errorf("vehicle: %w", err)
		}
		if ops, err = r.sec.Put(ops, seqName(recRemoved, l.next), b); err != nil {
			return ops, fmt.Errorf("vehicle: %w", err)
		}
	}
	if len(l.infos) >= maxRemoved {
		if r.sec != nil {
			ops = r.sec.Delete(ops, seqName(recRemoved, l.seqs[0]))
		}
		l.infos, l.seqs = slices.Delete(l.infos, 0, 1), slices.Delete(l.seqs, 0, 1)
	}
	l.infos, l.seqs = append(l.infos, info), append(l.seqs, l.next)
	l.next++
	return ops, nil
}

// Remove removes a key from the vehicle for good (the dashboard's "remove
// key"). The revocation store records the key's slot and public key first,
// so that no key attestation ever re-admits it; then the key goes, in the
// same batch of the store. Its next transaction is refused and tells the
// device to delete it. A full store does not stop a removal: a vehicle
// whose store is full admits no key at all (sharing.CheckCapacity), so the
// removal holds.
func (r *Reader) Remove(slot dkey.KeySlot) error {
	return r.removeAll([]dkey.KeySlot{slot}, nil, nil)
}

// removeAll removes the enrolled keys of slots and records their
// revocations, with what extra adds, in one batch; slots not enrolled are
// skipped, and an error wrapping dkey.ErrUnknownKey is returned when none
// of them is. Revocations recorded in memory meanwhile (a termination
// whose key is not enrolled) are stored with the batch all the same.
func (r *Reader) removeAll(slots []dkey.KeySlot, extraOps []store.Op, after func()) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return err
	}
	keys := slices.Clone(r.keys)
	removed := r.removedLocked()
	ops := extraOps
	var gone []*enrolled
	for _, slot := range slots {
		i := slices.IndexFunc(keys, func(k *enrolled) bool { return k.info.Slot == slot })
		if i < 0 {
			continue
		}
		k := keys[i]
		if err := r.share.Revoke(slot, k.info.PublicKey); err != nil && !errors.Is(err, sharing.ErrStoreFull) {
			return fmt.Errorf("vehicle: recording the revocation: %w", err)
		}
		ops = r.sec.Delete(ops, keyName(slot))
		ops = r.keyGoneOps(ops, slot)
		ops = r.sec.Delete(ops, attestedName(slot))
		var err error
		if ops, err = r.addRemoved(ops, removed, k.info); err != nil {
			return err
		}
		gone = append(gone, k)
		keys = slices.Delete(keys, i, i+1)
	}
	// With nothing enrolled to remove, the batch still stores the
	// revocations recorded in memory (a termination of a key not
	// enrolled).
	if err := r.commitLocked(ops, keys); err != nil {
		return err
	}
	r.setRemovedLocked(removed)
	for _, k := range gone {
		r.keyGoneLocked(k.info.Slot)
		i := r.indexOf(k)
		r.fast[i].Zeroize()
		k.zeroize()
		r.keys = slices.Delete(r.keys, i, i+1)
		r.fast = slices.Delete(r.fast, i, i+1)
	}
	if after != nil {
		after()
	}
	if len(gone) == 0 && len(slots) > 0 {
		return fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slots)
	}
	return nil
}

// SetState suspends (dkey.KeySuspended) or resumes (dkey.KeyActive) a key.
func (r *Reader) SetState(slot dkey.KeySlot, s dkey.KeyState) error {
	if s != dkey.KeyActive && s != dkey.KeySuspended {
		return fmt.Errorf("vehicle: SetState to %v: use Remove to terminate", s)
	}
	return r.update(slot, func(k *enrolled) { k.info.State = s })
}

// update applies change to the key of slot and stores it, in one batch.
func (r *Reader) update(slot dkey.KeySlot, change func(k *enrolled)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return err
	}
	i := r.index(slot)
	if i < 0 {
		return fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slot)
	}
	return r.updateLocked(r.keys[i], change)
}

// updateLocked applies change to a copy of k, stores it and then the
// change. r.mu is held.
func (r *Reader) updateLocked(k *enrolled, change func(k *enrolled)) error {
	c := *k
	change(&c)
	ops, err := r.keyOps(nil, &c)
	if err != nil {
		return err
	}
	if err := r.commitLocked(ops, nil); err != nil {
		return err
	}
	*k = c
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
