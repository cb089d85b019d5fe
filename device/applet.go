package device

import (
	"crypto"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/internal/urskslots"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Config configures an Applet. The zero value works: CCC profile, software
// secure element, system clock, state in memory.
type Config struct {
	// Profile selects the CCC Digital Key applet or Home Key.
	Profile dkey.Profile
	// SecureElement holds the endpoint keys and every secret of the keys
	// (Kpersistent, pairing secret, ranging keys). Nil means a
	// StoredElement in Store when there is one, a new SoftwareElement
	// otherwise. An element that forgets its keys cannot serve a Store:
	// the applet refuses to open keys it cannot find.
	SecureElement SecureElement
	// Store keeps the applet's state across restarts: its keys with their
	// mailboxes, states and pairing records, lost mode and power reserve
	// (doc.go, "State and durability"). NewApplet restores what it holds,
	// and every change is one atomic batch. Nil means in memory only: the
	// state lasts as long as the Applet. The Applet closes it in Close.
	Store Store
	// KEK seals the records of Store (and of the StoredElement in it); it
	// is required with a Store.
	KEK KeyEncryptionKey
	// Time returns the current time, for user-authentication expiry; nil
	// means time.Now.
	Time func() time.Time
	// Pairing offers owner pairing through the Digital Key framework with
	// the applet's instance CA (CCC profile only); nil means the framework
	// is not offered. See Applet.StartPairing. Its instance CA, when
	// InstanceCA is nil, is the applet's; when nil, InstanceCA is used.
	Pairing *pairing.DeviceConfig
	// InstanceCA is the applet instance's certificate authority, which
	// certifies the keys the applet creates for sharing (CreateSharedKey)
	// and, when Pairing names none, at owner pairing. Nil means the one of
	// Pairing; with neither, the applet does not create shared keys. When
	// both are set they must be the same certificate.
	InstanceCA *InstanceCA
	// Ranging bounds the ranging keys (URSK) the applet keeps for UWB
	// (CREATE RANGING KEY, ranging.go); the zero value means the defaults.
	Ranging RangingConfig
	// Hooks, when not nil, are called as the applet answers vehicles:
	// transactions, refusals, statement areas, pairing (see Hooks). For
	// test benches and the host app; nil costs nothing.
	Hooks *Hooks
	// Rand, when not nil, replaces crypto/rand as the source of the
	// applet's protocol randomness: each transaction's ephemeral key
	// (transaction.EndpointConfig.Rand), the SPAKE2+ scalar and slot
	// identifier of owner pairing (pairing.DeviceConfig.Rand, unless
	// Pairing sets its own) and the slot identifier CreateKey derives in
	// the CCC profile (see "Key log and deterministic randomness" in the
	// package documentation). It is for tests and conformance vectors
	// only: a predictable source gives away every session key. Key pairs
	// come from the secure element, and the sealing of stored records
	// from crypto/rand, whatever Rand is. Nil, the default, means
	// crypto/rand.
	Rand io.Reader
	// KeyLog, when not nil, receives the session keys of every
	// transaction and the keys of every pairing channel the applet runs,
	// in the key log format of package transaction (transaction.
	// EndpointConfig.KeyLog, and pairing.DeviceConfig.KeyLog unless
	// Pairing sets its own), for dkey trace decode -keylog.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// sessions, read the mailboxes they carried, and with Kpersistent
	// answer the vehicle's next fast transaction in the phone's place. Use
	// it on test benches only, never in a device. Nil, the default, logs
	// nothing.
	KeyLog io.Writer
	// EphemeralKeys, when above zero, is the number of ephemeral key pairs
	// the applet keeps ready, generated in the background between taps, so
	// that no AUTH0 waits for its own (transaction.EphemeralPool: each key
	// used once and erased; an AUTH0 that finds none ready makes its own).
	// One transaction runs at a time: one or two keys are enough; at most
	// transaction.MaxEphemeralKeys. Close stops the background work. With
	// Rand set there is no pool: the deterministic mode draws every
	// ephemeral key from Rand in order. Zero, the default, means no pool
	// and no goroutine.
	EphemeralKeys int
}

// KeyConfig describes a key to create in the applet.
type KeyConfig struct {
	// VehicleID is the vehicle the key opens (AUTH0 tag 4D).
	VehicleID dkey.VehicleID
	// VehicleKey is the vehicle's long-term public key, which signs AUTH1.
	VehicleKey *dkey.PublicKey
	// Slot is the key slot identifier. The zero value derives one: the
	// first six bytes of SHA-1 over the public key in the Home Key profile
	// (docs/protocol.md §10.4), eight random bytes in the CCC profile.
	Slot dkey.KeySlot
	// Role says whether this is an owner or a friend key; zero means owner.
	Role dkey.KeyRole
	// Mailboxes sizes the key's two mailboxes and the subsets returned in
	// AUTH1.
	Mailboxes dkey.MailboxConfig
	// PowerReserve marks the key for power reserve: it transacts, with
	// express mode on, while the phone is out of battery (see
	// EnterPowerReserve).
	PowerReserve bool
	// PrivateKey, when set, is the 32-byte P-256 scalar of the key, which
	// the secure element imports (SecureElement.ImportKey) instead of
	// generating one. It is for test benches and provisioning lines only:
	// a key that was ever outside a secure element is not a phone's key.
	PrivateKey []byte
}

// String describes the key configuration without its private key.
func (c KeyConfig) String() string {
	pk := "none"
	if c.PrivateKey != nil {
		pk = "[redacted]"
	}
	return fmt.Sprintf("{VehicleID:%v VehicleKey:%v Slot:%v Role:%v Mailboxes:%+v PowerReserve:%v PrivateKey:%s}",
		c.VehicleID, c.VehicleKey, c.Slot, c.Role, c.Mailboxes, c.PowerReserve, pk)
}

// GoString is String: the private key is never printed.
func (c KeyConfig) GoString() string { return "device.KeyConfig" + c.String() }

// Format prints String for every verb (GoString for %#v).
func (c KeyConfig) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// KeyInfo describes a key the applet holds, as the host app sees it.
type KeyInfo struct {
	VehicleID dkey.VehicleID
	// VehicleKey is the vehicle's long-term public key.
	VehicleKey *dkey.PublicKey
	Slot       dkey.KeySlot
	PublicKey  *dkey.PublicKey
	Role       dkey.KeyRole
	State      dkey.KeyState
	// AwaitingImport reports a shared key created by CreateSharedKey whose
	// key attestation ImportSharedKey has not stored yet: it is suspended
	// until then.
	AwaitingImport bool
	// Express reports whether the key transacts without user
	// authentication.
	Express bool
	// PowerReserve reports whether the key transacts in power reserve.
	PowerReserve bool
	// HasPersistent reports whether a fast transaction is possible.
	HasPersistent bool
	// Transactions counts the transactions with this key that the vehicle
	// reported successful (CONTROL FLOW 01xx). CONTROL FLOW is not
	// authenticated, so the count is for display only.
	Transactions int
	// LastControlFlow is the outcome the vehicle reported last.
	LastControlFlow transaction.ControlFlow
	// VehicleDeleted reports that the vehicle said, after authenticating
	// itself, that it deleted this key (CONTROL FLOW 00A0). The key is
	// suspended; the host app confirms the deletion (with the automaker's
	// server or the user) and calls Terminate, or Resume if it was forged.
	VehicleDeleted bool
}

// key is one endpoint the applet hosts.
type key struct {
	// id names the key in the secure element, and its record.
	id           KeyID
	vehicle      dkey.VehicleID
	role         dkey.KeyRole
	state        dkey.KeyState
	express      bool
	powerReserve bool
	mailboxes    dkey.MailboxConfig
	cred         transaction.Credential
	private      []byte
	conf         []byte
	txCount      int
	lastCF       transaction.ControlFlow
	// dirty marks display data (txCount, lastCF) changed since the key
	// was last stored: written with the next batch, and at Close.
	dirty bool
	// pairing is what owner pairing left, nil for a key from elsewhere.
	pairing *PairingInfo
	// vehicleDeleted records a CONTROL FLOW 00A0 after AUTH1.
	vehicleDeleted bool
	// awaitingImport marks a shared key without its key attestation yet
	// (sharing.go): suspended until ImportSharedKey.
	awaitingImport bool
	// privGen counts the host's writes to the private mailbox, so that a
	// CONTROL FLOW 4082 clears only the statement area the vehicle read
	// (controlFlow).
	privGen uint64
	// home is what a key of the Home Key profile holds besides its
	// credential (homekey.go); nil for none.
	home *homeKey
}

// selection is which applet of the instance answers commands.
type selection uint8

const (
	selNone selection = iota
	selDK
	selFramework
	selConfiguration // the Home Key configuration applet (homekey.go)
)

// Applet is the device side: one Digital Key applet instance hosting every
// key of the device, for any number of vehicles, as the secure element of a
// phone or watch does (docs/protocol.md §1, §4, §5). It answers command APDUs
// (it is a transport.Card), enforces the device's policy (key states, lost
// mode, express mode and user authentication) and offers the host app a
// management API.
//
// An Applet is safe for concurrent use: the management API may run while a
// vehicle talks to it. Make one with NewApplet: an Applet it did not make
// (the zero value) answers every APDU with 6F00 and management calls with
// ErrNotInitialized, prints, and closes as a no-op.
type Applet struct {
	cfg     Config
	se      SecureElement
	now     func() time.Time
	ca      *InstanceCA // nil: no shared keys
	mu      sync.Mutex
	sess    *transaction.EndpointSession
	sel     selection
	current *key // key of the transaction in progress
	// pending is the Kpersistent of the standard transaction in progress,
	// committed to the current key on a success CONTROL FLOW.
	pending transaction.PersistentKey
	keys    []*key
	lost    bool
	authTil time.Time
	results []byte
	// areaSeen is how far from offset 0 the vehicle read the private
	// mailbox of the current key in this transaction (AUTH1 subset, then
	// EXCHANGE reads), and areaGen the key's privGen at AUTH1: CONTROL
	// FLOW 4082 clears the statement area only when the vehicle read all
	// of it and the host app changed nothing since.
	areaSeen int
	areaGen  uint64
	// Owner pairing (pairing.go): the password the owner entered, the
	// SPAKE2+ requests left to it, the run in progress, and whether that
	// run is deriving outside the lock (pairBusy) and was ended meanwhile
	// (pairClosed).
	pairPassword []byte
	pairRequests int
	pairRun      *pairing.DeviceSession
	pairBusy     bool
	pairClosed   bool
	// pairKey is the ID of the key the run in progress created.
	pairKey KeyID
	// testingOnlyDeriving, set by a test, runs while a SPAKE2+ REQUEST
	// derives outside the lock.
	testingOnlyDeriving func()
	// power is power reserve (power.go).
	power bool
	// Release 3: the session of each interface (ble.go) and the ranging
	// keys (ranging.go).
	iface interfaces
	rng   rangingState
	// hk is the Home Key state between commands (homekey.go).
	hk homeKeyTx
	// The stored state (state.go); nextID is the last key ID given out.
	st     Store
	sec    *seal.Section
	nextID KeyID
	closed bool
	// ephemeral is the pool of Config.EphemeralKeys (ephemeral.go), nil
	// without one.
	ephemeral *transaction.EphemeralPool
}

var (
	_ transport.Card     = (*Applet)(nil)
	_ transport.Resetter = (*Applet)(nil)
)

// NewApplet returns an applet with the state cfg.Store holds: its keys,
// with their mailboxes, Kpersistent (so that the first unlock after a
// restart is fast) and pairing records, lost mode and power reserve. A new
// store, or none, gives an applet with no keys.
//
// A store written with the wrong key-encryption key is refused with an
// error wrapping ErrStateKEK, one of a schema this version does not know
// with ErrStateVersion, and one with a damaged or tampered record, or
// whose secure element lacks a key a record names, with ErrStateCorrupt:
// nothing is served from it.
func NewApplet(cfg *Config) (_ *Applet, err error) {
	if cfg == nil {
		cfg = &Config{}
	}
	// No pool (nil, and no goroutine) without EphemeralKeys or in the
	// deterministic mode.
	pool, err := transaction.NewEphemeralPoolFor(cfg.EphemeralKeys, cfg.Rand != nil)
	if err != nil {
		return nil, fmt.Errorf("device: Config.EphemeralKeys: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	a := &Applet{cfg: *cfg, now: cfg.Time, results: make([]byte, 0, transaction.MaxExchangeData), ephemeral: pool}
	if a.sess, err = a.newSession(0); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if a.ca, err = resolveInstanceCA(cfg); err != nil {
		return nil, err
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rng.cfg, err = a.rangingConfig(); err != nil {
		return nil, err
	}
	if err := a.open(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// made reports whether NewApplet made a: NewApplet always sets now, so
// the zero Applet, which has no session, is the one without it.
func (a *Applet) made() bool { return a.now != nil }

// Close stores what the applet keeps in memory only between writes (the
// display data of its keys) and closes the store. The Applet must not be
// used afterwards; a secure element from Config.SecureElement is left
// open. Closing twice is not an error.
func (a *Applet) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || !a.made() {
		// Closing an Applet NewApplet did not make is a no-op.
		return nil
	}
	err := a.commitLocked(nil)
	a.abortLocked()
	a.closed = true
	a.ephemeral.Close()
	clear(a.pairPassword)
	a.pairPassword = nil
	for _, k := range a.keys {
		k.cred.Persistent.Zeroize()
		k.home.zeroize()
		clear(k.private)
		clear(k.conf)
	}
	if a.st != nil {
		err = errors.Join(err, a.st.Close())
	}
	return err
}

// String describes the applet without its secrets.
func (a *Applet) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.made() {
		return "device.Applet{not initialized}"
	}
	return fmt.Sprintf("device.Applet{%v, %d keys, lost mode %v, power reserve %v}", a.cfg.Profile, len(a.keys), a.lost, a.power)
}

// GoString is String: Kpersistent, mailboxes and the pairing password
// are never printed.
func (a *Applet) GoString() string { return a.String() }

// Format prints String for every verb.
func (a *Applet) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.String()) }

// usableLocked refuses management calls on a closed applet, and in power
// reserve, where the host is off. a.mu is held.
func (a *Applet) usableLocked() error {
	switch {
	case !a.made():
		return ErrNotInitialized
	case a.closed:
		return ErrClosed
	case a.power:
		return ErrPowerReserve
	}
	return nil
}

// Profile returns the applet's profile.
func (a *Applet) Profile() dkey.Profile { return a.cfg.Profile }

// find returns the live (not terminated) key for vehicle, or nil.
func (a *Applet) find(vehicle dkey.VehicleID) *key {
	vehicle = a.keyVehicle(vehicle)
	for _, k := range a.keys {
		if k.vehicle == vehicle && k.state != dkey.KeyTerminated {
			return k
		}
	}
	return nil
}

// CreateKey creates a key for a vehicle: a new key pair in the secure
// element (or, for test benches and provisioning only, the key of
// c.PrivateKey), empty mailboxes of the configured sizes, express mode on.
// It returns ErrKeyExists if the applet already holds a live key for the
// vehicle.
func (a *Applet) CreateKey(c KeyConfig) (KeyInfo, error) {
	if !a.made() {
		return KeyInfo{}, ErrNotInitialized
	}
	k, err := a.createKey(c, false)
	if err != nil {
		return KeyInfo{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return k.info(), nil
}

// createKey creates a key as CreateKey does; a pending key is suspended
// and awaits the import of its key attestation (sharing.go). The secure
// element stores the key first, then the applet its record: a crash in
// between leaves an orphan the next key created under the same ID
// replaces, never a record without its key.
func (a *Applet) createKey(c KeyConfig, pending bool) (*key, error) {
	if !validKeyVehicle(a.cfg.Profile, c.VehicleID) {
		return nil, fmt.Errorf("device: %w: %d bytes for profile %v", dkey.ErrInvalidVehicleID, c.VehicleID.Len(), a.cfg.Profile)
	}
	c.VehicleID = a.keyVehicle(c.VehicleID)
	if c.VehicleKey == nil || c.VehicleKey.ECDSA() == nil {
		return nil, errors.New("device: no vehicle key")
	}
	if err := c.Mailboxes.Validate(); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if c.Role == 0 {
		c.Role = dkey.RoleOwner
	}
	if c.Role != dkey.RoleOwner && c.Role != dkey.RoleFriend {
		return nil, fmt.Errorf("device: unknown role %v", c.Role)
	}
	a.mu.Lock()
	if err := a.usableLocked(); err != nil {
		a.mu.Unlock()
		return nil, err
	}
	if a.find(c.VehicleID) != nil {
		a.mu.Unlock()
		return nil, ErrKeyExists
	}
	id := a.newIDLocked()
	a.mu.Unlock()
	// The secure element may be slow; the applet keeps answering APDUs
	// while it creates the key.
	var signer crypto.Signer
	var err error
	if c.PrivateKey != nil {
		signer, err = a.se.ImportKey(id, c.PrivateKey)
	} else {
		signer, err = a.se.GenerateKey(id)
	}
	if err != nil {
		return nil, fmt.Errorf("device: creating key: %w", err)
	}
	k, err := a.newKey(id, c, signer)
	if err != nil {
		_ = a.se.DeleteKey(id)
		return nil, err
	}
	if pending {
		k.state, k.awaitingImport = dkey.KeySuspended, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.addLocked(k); err != nil {
		_ = a.se.DeleteKey(id)
		return nil, err
	}
	return k, nil
}

// newIDLocked gives out the next key ID. a.mu is held.
func (a *Applet) newIDLocked() KeyID {
	a.nextID++
	return a.nextID
}

// newKey builds the record of a key created in the secure element.
func (a *Applet) newKey(id KeyID, c KeyConfig, signer crypto.Signer) (*key, error) {
	pub, err := dkey.PublicKeyOf(signer)
	if err != nil {
		return nil, fmt.Errorf("device: secure element key: %w", err)
	}
	slot := c.Slot
	if slot.IsZero() {
		if slot, err = a.deriveSlot(pub); err != nil {
			return nil, err
		}
	}
	return &key{
		id: id, vehicle: c.VehicleID, role: c.Role, state: dkey.KeyActive, express: true, powerReserve: c.PowerReserve, mailboxes: c.Mailboxes,
		cred:    transaction.Credential{Slot: slot, Key: signer, PublicKey: pub, VehicleKey: c.VehicleKey},
		private: make([]byte, c.Mailboxes.PrivateSize),
		conf:    make([]byte, c.Mailboxes.ConfidentialSize),
	}, nil
}

// addLocked adds k, and stores it, unless a live key for its vehicle, or
// with its slot, exists already. a.mu is held.
func (a *Applet) addLocked(k *key) error {
	if err := a.usableLocked(); err != nil {
		return err
	}
	if a.find(k.vehicle) != nil {
		return ErrKeyExists
	}
	for _, o := range a.keys {
		if o.state != dkey.KeyTerminated && o.cred.Slot == k.cred.Slot {
			return fmt.Errorf("%w: slot %v is taken", ErrKeyExists, k.cred.Slot)
		}
	}
	ops, err := a.keyOps(nil, k)
	if err != nil {
		return err
	}
	if err := a.commitLocked(ops); err != nil {
		return err
	}
	a.keys = append(a.keys, k)
	return nil
}

// deriveSlot returns a key slot identifier for a new key.
func (a *Applet) deriveSlot(pub *dkey.PublicKey) (dkey.KeySlot, error) {
	if a.cfg.Profile == dkey.HomeKey {
		// Home Key: SHA-1(04‖X‖Y)[0:6] (docs/protocol.md §4.3, §10.4), verified
		// against a real Apple Watch in the transaction tests.
		h := sha1.Sum(pub.Bytes())
		return dkey.NewKeySlot(h[:6])
	}
	var b [dkey.MaxKeySlotLen]byte
	if err := a.readRand(b[:]); err != nil {
		return dkey.KeySlot{}, fmt.Errorf("device: key slot: %w", err)
	}
	return dkey.NewKeySlot(b[:])
}

func (k *key) info() KeyInfo {
	return KeyInfo{
		VehicleID: k.vehicle, VehicleKey: k.cred.VehicleKey, Slot: k.cred.Slot, PublicKey: k.cred.PublicKey, Role: k.role, State: k.state,
		AwaitingImport: k.awaitingImport, Express: k.express, PowerReserve: k.powerReserve, HasPersistent: k.hasPersistent(), Transactions: k.txCount,
		LastControlFlow: k.lastCF, VehicleDeleted: k.vehicleDeleted,
	}
}

// Key returns the live key for vehicle.
func (a *Applet) Key(vehicle dkey.VehicleID) (KeyInfo, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.find(vehicle)
	if k == nil {
		return KeyInfo{}, false
	}
	return k.info(), true
}

// Keys returns every key the applet knows, terminated ones included, in
// creation order.
func (a *Applet) Keys() []KeyInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]KeyInfo, len(a.keys))
	for i, k := range a.keys {
		out[i] = k.info()
	}
	return out
}

// live returns the live key for vehicle or ErrUnknownVehicle.
func (a *Applet) live(vehicle dkey.VehicleID) (*key, error) {
	k := a.find(vehicle)
	if k == nil {
		return nil, fmt.Errorf("device: %w: %v", dkey.ErrUnknownVehicle, vehicle)
	}
	return k, nil
}

// SetExpress turns express mode on or off for the key of vehicle. With
// express mode off, the key transacts only while a user authentication
// recorded with AuthenticateUser is valid.
func (a *Applet) SetExpress(vehicle dkey.VehicleID, on bool) error {
	return a.change(vehicle, func(k *key) error {
		return a.saveKeyLocked(k, func(c *key) { c.express = on })
	})
}

// change runs f on the live key of vehicle, under the applet's lock, and
// ends the transaction of that key if one is in progress.
func (a *Applet) change(vehicle dkey.VehicleID, f func(k *key) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	if err := f(k); err != nil {
		return err
	}
	if a.current == k {
		a.abortLocked()
	}
	return nil
}

// AuthenticateUser records that the host app authenticated the user (face,
// fingerprint, passcode) and that keys without express mode may transact
// until the given time. It is not stored: a restarted applet has no valid
// user authentication.
func (a *Applet) AuthenticateUser(until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.authTil = until
}

// SetLostMode suspends (on) or resumes (off) every key of the applet, as
// when the device is reported lost. Keys terminated meanwhile stay
// terminated; keys suspended one by one stay suspended. It is accepted in
// every mode, power reserve included. It returns an error, and changes
// nothing, when the store fails.
func (a *Applet) SetLostMode(on bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.made() {
		return ErrNotInitialized
	}
	if a.closed {
		return ErrClosed
	}
	if err := a.saveAppletLocked(func(a *Applet) { a.lost = on }); err != nil {
		return err
	}
	a.abortLocked()
	if on {
		// Lost mode deletes every ranging key (ranging.go); lookups
		// refuse them meanwhile, and a restart finishes a deletion a
		// crash cut short.
		return a.dropRangingLocked(func(*urskslots.Entry[KeyID]) bool { return true }, true)
	}
	return nil
}

// LostMode reports whether lost mode is on.
func (a *Applet) LostMode() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lost
}

// Suspend suspends the key of vehicle until Resume.
func (a *Applet) Suspend(vehicle dkey.VehicleID) error {
	return a.setState(vehicle, dkey.KeySuspended)
}

// Resume makes a suspended key of vehicle active again. A shared key
// awaiting its key attestation is refused with ErrAwaitingImport: it
// becomes active when ImportSharedKey stores the attestation.
func (a *Applet) Resume(vehicle dkey.VehicleID) error {
	return a.setState(vehicle, dkey.KeyActive)
}

func (a *Applet) setState(vehicle dkey.VehicleID, s dkey.KeyState) error {
	return a.change(vehicle, func(k *key) error {
		if s == dkey.KeyActive && k.awaitingImport {
			return ErrAwaitingImport
		}
		return a.saveKeyLocked(k, func(c *key) {
			c.state = s
			if s == dkey.KeyActive {
				c.vehicleDeleted = false
			}
		})
	})
}

// Terminate deletes the key of vehicle for good: the secure element
// destroys the private key with every secret of the key (Kpersistent, the
// LONG_TERM_SHARED_SECRET of a key from owner pairing, ranging keys), the
// mailboxes and the pairing record are erased, and the key never transacts
// again, whether or not the vehicle has heard of it. The applet keeps a
// record of the terminated key (its public key and slot).
// TerminateAttested also signs the termination attestation the vehicle
// needs.
func (a *Applet) Terminate(vehicle dkey.VehicleID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	return a.terminateLocked(k)
}

// terminateLocked terminates k: its record first, in one batch, then the
// secure element's key and secrets. A crash in between leaves a
// terminated record whose key the applet deletes again when it restarts:
// never a terminated key that transacts. a.mu is held.
func (a *Applet) terminateLocked(k *key) error {
	if a.current == k {
		a.abortLocked()
	}
	private, conf, home := k.private, k.conf, k.home
	err := a.saveKeyLocked(k, func(c *key) {
		c.state = dkey.KeyTerminated
		c.private, c.conf = nil, nil
		c.awaitingImport = false
		c.pairing = nil
		c.home = nil
	})
	if err != nil {
		return err
	}
	// The record no longer holds them; erase the memory too.
	clear(private)
	clear(conf)
	home.zeroize()
	err = a.se.DeleteKey(k.id)
	k.cred.Key = nil
	k.cred.Persistent.Zeroize()
	if err != nil {
		return fmt.Errorf("device: key terminated, but the secure element failed to delete it: %w", err)
	}
	// Its ranging keys went with it; the index forgets them (ranging.go).
	return a.dropRangingLocked(func(e *urskslots.Entry[KeyID]) bool { return e.Owner == k.id }, true)
}

// ReadPrivateMailbox reads n bytes at off of the private mailbox of the key
// of vehicle, as the device framework may (docs/protocol.md §5.1). The
// confidential mailbox has no such method: only the vehicle reads it.
func (a *Applet) ReadPrivateMailbox(vehicle dkey.VehicleID, off, n int) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.live(vehicle)
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off > len(k.private) || n > len(k.private)-off {
		return nil, fmt.Errorf("%w: [%d,%d) outside the private mailbox of %d bytes", ErrMailboxAccess, off, off+n, len(k.private))
	}
	return slices.Clone(k.private[off : off+n]), nil
}

// WritePrivateMailbox writes data at off of the private mailbox of the key
// of vehicle. ImportSharedKey stores a key attestation and AppendStatement
// queues a statement for the vehicle; this is the raw access.
func (a *Applet) WritePrivateMailbox(vehicle dkey.VehicleID, off int, data []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	if off < 0 || off > len(k.private) || len(data) > len(k.private)-off {
		return fmt.Errorf("%w: [%d,%d) outside the private mailbox of %d bytes", ErrMailboxAccess, off, off+len(data), len(k.private))
	}
	return a.writePrivateLocked(k, func(mb []byte) { copy(mb[off:], data) })
}

// writePrivateLocked changes the private mailbox of k with write, on a
// copy, stores it and counts a host write (controlFlow). a.mu is held.
func (a *Applet) writePrivateLocked(k *key, write func(mb []byte)) error {
	old := k.private
	err := a.saveKeyLocked(k, func(c *key) {
		c.private = slices.Clone(c.private)
		write(c.private)
		c.privGen++
	})
	if err == nil {
		clear(old)
	}
	return err
}

// Reset ends any transaction in progress, as when the RF field drops.
func (a *Applet) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abortLocked()
	a.sel = selNone
}

func (a *Applet) abortLocked() {
	if a.sess != nil { // nil in an Applet NewApplet did not make
		a.sess.Deselect()
	}
	a.rng.staged.clear()
	a.resetHomeKeyLocked()
	a.current = nil
	a.areaSeen = 0
	a.pending.Zeroize()
	a.abortPairingLocked()
}
