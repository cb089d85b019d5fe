package device

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Config configures an Applet. The zero value works: CCC profile, software
// secure element, system clock.
type Config struct {
	// Profile selects the CCC Digital Key applet or Home Key.
	Profile dkey.Profile
	// SecureElement holds the endpoint keys; nil means SoftwareElement.
	SecureElement SecureElement
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
}

// KeyConfig describes a key to create in the applet.
type KeyConfig struct {
	// VehicleID is the vehicle the key opens (AUTH0 tag 4D).
	VehicleID dkey.VehicleID
	// VehicleKey is the vehicle's long-term public key, which signs AUTH1.
	VehicleKey *dkey.PublicKey
	// Slot is the key slot identifier. The zero value derives one: the
	// first six bytes of SHA-1 over the public key in the Home Key profile
	// (PROTOCOL.md §10.4), eight random bytes in the CCC profile.
	Slot dkey.KeySlot
	// Role says whether this is an owner or a friend key; zero means owner.
	Role dkey.KeyRole
	// Mailboxes sizes the key's two mailboxes and the subsets returned in
	// AUTH1.
	Mailboxes dkey.MailboxConfig
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
	vehicle   dkey.VehicleID
	role      dkey.KeyRole
	state     dkey.KeyState
	express   bool
	mailboxes dkey.MailboxConfig
	cred      transaction.Credential
	private   []byte
	conf      []byte
	txCount   int
	lastCF    transaction.ControlFlow
	// vehicleDeleted records a CONTROL FLOW 00A0 after AUTH1.
	vehicleDeleted bool
	// awaitingImport marks a shared key without its key attestation yet
	// (sharing.go): suspended until ImportSharedKey.
	awaitingImport bool
	// privGen counts the host's writes to the private mailbox, so that a
	// CONTROL FLOW 4082 clears only the statement area the vehicle read
	// (controlFlow).
	privGen uint64
}

// selection is which applet of the instance answers commands.
type selection uint8

const (
	selNone selection = iota
	selDK
	selFramework
)

// Applet is the device side: one Digital Key applet instance hosting every
// key of the device, for any number of vehicles, as the secure element of a
// phone or watch does (PROTOCOL.md §1, §4, §5). It answers command APDUs
// (it is a transport.Card), enforces the device's policy (key states, lost
// mode, express mode and user authentication) and offers the host app a
// management API.
//
// An Applet is safe for concurrent use: the management API may run while a
// vehicle talks to it.
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
	// Owner pairing (pairing.go): the password the owner entered, the run
	// in progress, and what completed runs left.
	pairPassword []byte
	pairRun      *pairing.Device
	paired       []*pairedKey
}

var (
	_ transport.Card     = (*Applet)(nil)
	_ transport.Resetter = (*Applet)(nil)
)

// NewApplet returns an applet with no keys.
func NewApplet(cfg *Config) (*Applet, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	sess, err := transaction.NewEndpointSession(&transaction.EndpointConfig{Profile: cfg.Profile})
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	a := &Applet{cfg: *cfg, se: cfg.SecureElement, now: cfg.Time, sess: sess, results: make([]byte, 0, transaction.MaxExchangeData)}
	if a.ca, err = resolveInstanceCA(cfg); err != nil {
		return nil, err
	}
	if a.se == nil {
		a.se = SoftwareElement{}
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Profile returns the applet's profile.
func (a *Applet) Profile() dkey.Profile { return a.cfg.Profile }

// find returns the live (not terminated) key for vehicle, or nil.
func (a *Applet) find(vehicle dkey.VehicleID) *key {
	for _, k := range a.keys {
		if k.vehicle == vehicle && k.state != dkey.KeyTerminated {
			return k
		}
	}
	return nil
}

// CreateKey creates a key for a vehicle: a new key pair in the secure
// element, empty mailboxes of the configured sizes, express mode on. It
// returns ErrKeyExists if the applet already holds a live key for the
// vehicle.
func (a *Applet) CreateKey(c KeyConfig) (KeyInfo, error) {
	k, err := a.createKey(c, false)
	if err != nil {
		return KeyInfo{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return k.info(), nil
}

// createKey creates a key as CreateKey does; a pending key is suspended
// and awaits the import of its key attestation (sharing.go).
func (a *Applet) createKey(c KeyConfig, pending bool) (*key, error) {
	if c.VehicleID.Len() != a.cfg.Profile.VehicleIDLen() {
		return nil, fmt.Errorf("device: %w: %d bytes for profile %v", dkey.ErrInvalidVehicleID, c.VehicleID.Len(), a.cfg.Profile)
	}
	if c.VehicleKey == nil || c.VehicleKey.ECDSA() == nil {
		return nil, errors.New("device: no vehicle key")
	}
	if err := c.Mailboxes.Validate(); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if c.Role == 0 {
		c.Role = dkey.RoleOwner
	}
	if a.liveKey(c.VehicleID) {
		return nil, ErrKeyExists
	}
	// The secure element may be slow; the applet keeps answering APDUs
	// while it creates the key.
	signer, err := a.se.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("device: creating key: %w", err)
	}
	k, err := a.newKey(c, signer)
	if err != nil {
		_ = a.se.DeleteKey(signer)
		return nil, err
	}
	if pending {
		k.state, k.awaitingImport = dkey.KeySuspended, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.addLocked(k); err != nil {
		_ = a.se.DeleteKey(signer)
		return nil, err
	}
	return k, nil
}

// liveKey reports whether the applet holds a live key for vehicle.
func (a *Applet) liveKey(vehicle dkey.VehicleID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.find(vehicle) != nil
}

// newKey builds the record of a key created in the secure element.
func (a *Applet) newKey(c KeyConfig, signer crypto.Signer) (*key, error) {
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
		vehicle: c.VehicleID, role: c.Role, state: dkey.KeyActive, express: true, mailboxes: c.Mailboxes,
		cred:    transaction.Credential{Slot: slot, Key: signer, PublicKey: pub, VehicleKey: c.VehicleKey},
		private: make([]byte, c.Mailboxes.PrivateSize),
		conf:    make([]byte, c.Mailboxes.ConfidentialSize),
	}, nil
}

// addLocked adds k unless a live key for its vehicle, or with its slot,
// exists already.
func (a *Applet) addLocked(k *key) error {
	if a.find(k.vehicle) != nil {
		return ErrKeyExists
	}
	for _, o := range a.keys {
		if o.state != dkey.KeyTerminated && o.cred.Slot == k.cred.Slot {
			return fmt.Errorf("%w: slot %v is taken", ErrKeyExists, k.cred.Slot)
		}
	}
	a.keys = append(a.keys, k)
	return nil
}

// deriveSlot returns a key slot identifier for a new key.
func (a *Applet) deriveSlot(pub *dkey.PublicKey) (dkey.KeySlot, error) {
	if a.cfg.Profile == dkey.HomeKey {
		// Home Key: SHA-1(04‖X‖Y)[0:6] (PROTOCOL.md §4.3, §10.4), verified
		// against a real Apple Watch in the transaction tests.
		h := sha1.Sum(pub.Bytes())
		return dkey.NewKeySlot(h[:6])
	}
	var b [dkey.MaxKeySlotLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return dkey.KeySlot{}, fmt.Errorf("device: key slot: %w", err)
	}
	return dkey.NewKeySlot(b[:])
}

func (k *key) info() KeyInfo {
	return KeyInfo{
		VehicleID: k.vehicle, VehicleKey: k.cred.VehicleKey, Slot: k.cred.Slot, PublicKey: k.cred.PublicKey, Role: k.role, State: k.state,
		AwaitingImport: k.awaitingImport, Express: k.express, HasPersistent: k.cred.Persistent.Valid(), Transactions: k.txCount,
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
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	k.express = on
	if !on && a.current == k {
		a.abortLocked()
	}
	return nil
}

// AuthenticateUser records that the host app authenticated the user (face,
// fingerprint, passcode) and that keys without express mode may transact
// until the given time.
func (a *Applet) AuthenticateUser(until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.authTil = until
}

// SetLostMode suspends (on) or resumes (off) every key of the applet, as
// when the device is reported lost. Keys terminated meanwhile stay
// terminated; keys suspended one by one stay suspended.
func (a *Applet) SetLostMode(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lost = on
	a.abortLocked()
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
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	if s == dkey.KeyActive && k.awaitingImport {
		return ErrAwaitingImport
	}
	k.state = s
	if s == dkey.KeyActive {
		k.vehicleDeleted = false
	}
	if a.current == k {
		a.abortLocked()
	}
	return nil
}

// Terminate deletes the key of vehicle for good: the secure element
// destroys the private key, the mailboxes and Kpersistent are erased, and
// the key never transacts again, whether or not the vehicle has heard of
// it. The applet keeps a record of the terminated key (its public key and
// slot); a key that came from owner pairing loses its pairing record and
// LONG_TERM_SHARED_SECRET. TerminateAttested also signs the termination
// attestation the vehicle needs.
func (a *Applet) Terminate(vehicle dkey.VehicleID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	return a.terminateLocked(k)
}

func (a *Applet) terminateLocked(k *key) error {
	if a.current == k {
		a.abortLocked()
	}
	k.state = dkey.KeyTerminated
	err := a.se.DeleteKey(k.cred.Key)
	k.cred.Key = nil
	k.cred.Persistent.Zeroize()
	clear(k.private)
	clear(k.conf)
	k.private, k.conf = nil, nil
	k.awaitingImport = false
	// The pairing record of the key, with its LONG_TERM_SHARED_SECRET,
	// goes with it.
	a.paired = slices.DeleteFunc(a.paired, func(p *pairedKey) bool {
		if p.k == k {
			clear(p.ltss[:])
			return true
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("device: key terminated, but the secure element failed to delete it: %w", err)
	}
	return nil
}

// ReadPrivateMailbox reads n bytes at off of the private mailbox of the key
// of vehicle, as the device framework may (PROTOCOL.md §5.1). The
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
	k, err := a.live(vehicle)
	if err != nil {
		return err
	}
	if off < 0 || off > len(k.private) || len(data) > len(k.private)-off {
		return fmt.Errorf("%w: [%d,%d) outside the private mailbox of %d bytes", ErrMailboxAccess, off, off+len(data), len(k.private))
	}
	copy(k.private[off:], data)
	k.privGen++
	return nil
}

// Reset ends any transaction in progress, as when the RF field drops.
func (a *Applet) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abortLocked()
	a.sel = selNone
}

func (a *Applet) abortLocked() {
	a.sess.Deselect()
	a.current = nil
	a.areaSeen = 0
	a.pending.Zeroize()
	a.abortPairingLocked()
}
