package device

import (
	"errors"
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// Store is the durable storage an Applet keeps its state in: store.Memory,
// store/bolt's Store, or any store with atomic batches. Write applies a
// batch whole or not at all, and once it returns nil the batch survives a
// crash. Get returns store.ErrNotFound for an absent key; Scan visits the
// keys with a prefix in byte order, with values valid during the call.
// The Applet closes it in Close.
type Store interface {
	Write(ops []store.Op) error
	Get(key []byte) ([]byte, error)
	Scan(prefix []byte, fn func(key, value []byte) error) error
	Close() error
}

// KeyEncryptionKey is the key that seals the applet's records, and those
// of a StoredElement, in a Store (AES-256-GCM under a data key it wraps):
// the phone's secure element, a TPM or a KMS can implement it; SoftwareKEK
// holds one in process memory. The same value serves vehicle.Config.KEK.
type KeyEncryptionKey = seal.KEK

// SoftwareKEK returns a KeyEncryptionKey in process memory whose key is
// key, 32 bytes (AES-256). It is for test benches, virtual cards and
// development devices.
func SoftwareKEK(key []byte) (KeyEncryptionKey, error) { return seal.NewSoftwareKEK(key) }

// The applet's section of a store (package seal) and its records.
const (
	stateRole   = "device"
	stateSchema = 1
	statePrefix = "device/"

	recApplet = "applet"
	recKey    = "k/" // + key ID: a key, terminated ones included
)

// stateError returns err, an error opening or reading the stored state,
// wrapped in the applet's sentinel for it.
func stateError(what string, err error) error {
	switch {
	case errors.Is(err, seal.ErrKEK):
		return fmt.Errorf("device: %s: %w: %w", what, ErrStateKEK, err)
	case errors.Is(err, seal.ErrSchema):
		return fmt.Errorf("device: %s: %w: %w", what, ErrStateVersion, err)
	case errors.Is(err, seal.ErrCorrupt), errors.Is(err, store.ErrCorrupt):
		return fmt.Errorf("device: %s: %w: %w", what, ErrStateCorrupt, err)
	}
	return fmt.Errorf("device: %s: %w", what, err)
}

// appletRecord is the state of the applet instance.
type appletRecord struct {
	_            struct{} `cbor:",toarray"`
	Lost         bool
	PowerReserve bool
}

// keyRecord is one key. Its secrets (private key, Kpersistent, pairing
// secret) are in the secure element, under ID; its mailboxes are here.
type keyRecord struct {
	_               struct{} `cbor:",toarray"`
	ID              uint64
	Vehicle         []byte
	VehicleKey      []byte
	Slot            []byte
	PublicKey       []byte
	Role            uint8
	State           uint8
	Express         bool
	PowerReserve    bool
	Mailboxes       [6]uint16
	Private         []byte
	Confidential    []byte
	Transactions    uint64
	LastControlFlow uint16
	VehicleDeleted  bool
	AwaitingImport  bool
	Pairing         *pairingRecord
}

// pairingRecord is what owner pairing left for a key (PairingInfo).
type pairingRecord struct {
	_                   struct{} `cbor:",toarray"`
	VehicleRoot         []byte
	VehicleCertificates [][]byte
	Certificates        [][]byte
	Mailboxes           [6]uint16
	Mapping             [5]uint16
	Options             [2]uint8
	Brand               uint16
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

func encodeKey(k *key) ([]byte, error) {
	r := keyRecord{
		ID: uint64(k.id), Vehicle: k.vehicle.Bytes(), VehicleKey: k.cred.VehicleKey.Bytes(), Slot: k.cred.Slot.Bytes(),
		PublicKey: k.cred.PublicKey.Bytes(), Role: uint8(k.role), State: uint8(k.state), Express: k.express,
		PowerReserve: k.powerReserve, Mailboxes: mailboxArray(k.mailboxes), Private: k.private, Confidential: k.conf,
		Transactions: uint64(k.txCount), LastControlFlow: uint16(k.lastCF), VehicleDeleted: k.vehicleDeleted,
		AwaitingImport: k.awaitingImport,
	}
	if p := k.pairing; p != nil {
		kc := &p.KeyConfig
		m := &kc.Mapping
		r.Pairing = &pairingRecord{
			VehicleRoot: p.VehicleRoot, VehicleCertificates: p.VehicleCertificates, Certificates: p.Certificates,
			Mailboxes: mailboxArray(kc.Mailboxes),
			Mapping:   [5]uint16{m.AttestationOffset, m.SignalingBitmap, m.End, m.ImmobilizerTokenLength, m.AttestationLength},
			Options:   [2]uint8{kc.OptionGroup1, kc.OptionGroup2}, Brand: p.Brand,
		}
	}
	return seal.Encode(&r)
}

// decodeKey parses a key record for profile. Every field is checked: a
// record that does not describe a key the applet could hold is
// ErrCorrupt. The credential's key handle and Kpersistent come from the
// secure element.
func decodeKey(b []byte, profile dkey.Profile) (*key, error) {
	var r keyRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: key record: %s", seal.ErrCorrupt, what) }
	k := &key{
		id: KeyID(r.ID), role: dkey.KeyRole(r.Role), state: dkey.KeyState(r.State), express: r.Express,
		powerReserve: r.PowerReserve, mailboxes: mailboxConfig(r.Mailboxes), txCount: int(r.Transactions),
		lastCF: transaction.ControlFlow(r.LastControlFlow), vehicleDeleted: r.VehicleDeleted, awaitingImport: r.AwaitingImport,
	}
	var err error
	switch {
	case k.id == 0:
		return nil, bad("key ID")
	case k.role != dkey.RoleOwner && k.role != dkey.RoleFriend:
		return nil, bad("role")
	case k.state != dkey.KeyActive && k.state != dkey.KeySuspended && k.state != dkey.KeyTerminated:
		return nil, bad("state")
	case r.Transactions > 1<<53:
		return nil, bad("transaction count")
	}
	// A Home Key key is named by its reader group (homekey.go); a record
	// that names a whole reader identifier is read as its group.
	if k.vehicle, err = dkey.NewVehicleID(r.Vehicle); err != nil || !validKeyVehicle(profile, k.vehicle) {
		return nil, bad("vehicle")
	}
	if profile == dkey.HomeKey && k.vehicle.Len() != HomeKeyGroupLen {
		k.vehicle, _ = dkey.NewVehicleID(r.Vehicle[:HomeKeyGroupLen])
	}
	if k.cred.VehicleKey, err = dkey.ParsePublicKey(r.VehicleKey); err != nil {
		return nil, bad("vehicle key")
	}
	if k.cred.Slot, err = dkey.NewKeySlot(r.Slot); err != nil {
		return nil, bad("slot")
	}
	if k.cred.PublicKey, err = dkey.ParsePublicKey(r.PublicKey); err != nil {
		return nil, bad("public key")
	}
	if err := k.mailboxes.Validate(); err != nil {
		return nil, bad("mailboxes")
	}
	if k.state == dkey.KeyTerminated {
		// A terminated key keeps its identity only.
		if len(r.Private)+len(r.Confidential) > 0 || k.awaitingImport || r.Pairing != nil {
			return nil, bad("terminated key with data")
		}
	} else {
		if len(r.Private) != int(k.mailboxes.PrivateSize) || len(r.Confidential) != int(k.mailboxes.ConfidentialSize) {
			return nil, bad("mailbox contents")
		}
		// Each mailbox gets its own array: the decoder's may be shared.
		k.private, k.conf = slices.Clone(r.Private), slices.Clone(r.Confidential)
		if k.private == nil {
			k.private = []byte{}
		}
		if k.conf == nil {
			k.conf = []byte{}
		}
	}
	if k.awaitingImport && k.state != dkey.KeySuspended {
		return nil, bad("a key awaiting import that is not suspended")
	}
	if p := r.Pairing; p != nil {
		info := &PairingInfo{
			VehicleRoot: p.VehicleRoot, VehicleCertificates: p.VehicleCertificates, Certificates: p.Certificates, Brand: p.Brand,
			KeyConfig: pairing.OwnerKeyConfig{
				Mailboxes: mailboxConfig(p.Mailboxes), OptionGroup1: p.Options[0], OptionGroup2: p.Options[1],
				Mapping: pairing.MailboxMapping{
					AttestationOffset: p.Mapping[0], SignalingBitmap: p.Mapping[1], End: p.Mapping[2],
					ImmobilizerTokenLength: p.Mapping[3], AttestationLength: p.Mapping[4],
				},
			},
		}
		if len(info.VehicleRoot) == 0 || len(info.VehicleCertificates) == 0 || len(info.Certificates) == 0 || info.KeyConfig.Validate() != nil {
			return nil, bad("pairing record")
		}
		k.pairing = info
	}
	return k, nil
}

func encodeApplet(a *Applet) ([]byte, error) {
	return seal.Encode(&appletRecord{Lost: a.lost, PowerReserve: a.power})
}

func decodeApplet(b []byte) (*appletRecord, error) {
	var r appletRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func keyName(id KeyID) string { return fmt.Sprintf("%s%016x", recKey, uint64(id)) }

// open opens the stored state of cfg, and the secure element: cfg's, or
// a StoredElement in the same store. Without a Store the applet keeps its
// state in memory only, and stores nothing.
func (a *Applet) open(cfg *Config) error {
	a.se = cfg.SecureElement
	if cfg.Store == nil {
		if a.se == nil {
			a.se = NewSoftwareElement()
		}
		return nil
	}
	if cfg.KEK == nil {
		return errors.New("device: a Store needs a KEK")
	}
	sec, _, err := seal.OpenSection(cfg.Store, statePrefix, cfg.KEK, stateRole, stateSchema)
	if err != nil {
		return stateError("opening the stored state", err)
	}
	if a.se == nil {
		if a.se, err = OpenStoredElement(cfg.Store, cfg.KEK); err != nil {
			return err
		}
	}
	a.st, a.sec = cfg.Store, sec
	return a.restore()
}

// restore loads the stored state: every record is read and checked, and
// every live key's handle and Kpersistent fetched from the secure element,
// before the applet answers anything; a record that does not open or
// parse fails the whole open. Keys terminated before a crash could
// complete their deletion are deleted from the secure element again.
func (a *Applet) restore() error {
	if b, err := a.sec.Get(recApplet); err == nil {
		r, err := decodeApplet(b)
		if err != nil {
			return stateError("reading the applet", err)
		}
		a.lost, a.power = r.Lost, r.PowerReserve
	} else if !errors.Is(err, store.ErrNotFound) {
		return stateError("reading the applet", err)
	}
	err := a.sec.Scan(recKey, func(name string, p []byte) error {
		k, err := decodeKey(p, a.cfg.Profile)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name != keyName(k.id) {
			return fmt.Errorf("%w: %s holds key %d", seal.ErrCorrupt, name, k.id)
		}
		a.keys = append(a.keys, k)
		return nil
	})
	if err != nil {
		return stateError("reading the keys", err)
	}
	live := map[dkey.VehicleID]bool{}
	slots := map[dkey.KeySlot]bool{}
	for _, k := range a.keys {
		a.nextID = max(a.nextID, k.id)
		if k.state == dkey.KeyTerminated {
			if err := a.se.DeleteKey(k.id); err != nil {
				return fmt.Errorf("device: deleting terminated key %d: %w", k.id, err)
			}
			continue
		}
		if live[k.vehicle] || slots[k.cred.Slot] {
			return stateError("reading the keys", fmt.Errorf("%w: two live keys for vehicle %v or slot %v", seal.ErrCorrupt, k.vehicle, k.cred.Slot))
		}
		live[k.vehicle], slots[k.cred.Slot] = true, true
		if err := a.loadCredential(k); err != nil {
			return err
		}
	}
	if err := a.restoreRanging(); err != nil {
		return err
	}
	return a.restoreHomeKey()
}

// loadCredential fetches the key handle and Kpersistent of k from the
// secure element, checks the handle is k's key and, for a key from owner
// pairing, that the element holds its pairing secret.
func (a *Applet) loadCredential(k *key) error {
	signer, err := a.se.Key(k.id)
	if err != nil {
		return stateError("loading a key", fmt.Errorf("%w: key %d: %w", seal.ErrCorrupt, k.id, err))
	}
	pub, err := dkey.PublicKeyOf(signer)
	if err != nil || !pub.Equal(k.cred.PublicKey) {
		return stateError("loading a key", fmt.Errorf("%w: the secure element's key %d is not the record's", seal.ErrCorrupt, k.id))
	}
	k.cred.Key = signer
	if k.pairing != nil {
		// The pairing secret stays in the element; check it is there
		// and opens.
		var ltss [pairing.LongTermSecretSize]byte
		b, err := a.se.Secret(ltss[:0], SecretID{Key: k.id, Kind: SecretPairing})
		clear(ltss[:])
		if err != nil || len(b) != pairing.LongTermSecretSize {
			return stateError("loading the pairing secret", fmt.Errorf("%w: key %d: %w", seal.ErrCorrupt, k.id, err))
		}
		if err := a.checkBLEKeys(k); err != nil {
			return err
		}
	}
	var buf [transaction.PersistentKeySize]byte
	b, err := a.se.Secret(buf[:0], SecretID{Key: k.id, Kind: SecretPersistent})
	defer clear(buf[:])
	switch {
	case errors.Is(err, ErrNoSecret):
		return nil
	case err != nil:
		return stateError("loading Kpersistent", err)
	}
	if k.cred.Persistent, err = transaction.NewPersistentKey(b); err != nil {
		return stateError("loading Kpersistent", fmt.Errorf("%w: %w", seal.ErrCorrupt, err))
	}
	return nil
}

// keyOps appends the record of k to ops.
func (a *Applet) keyOps(ops []store.Op, k *key) ([]store.Op, error) {
	if a.sec == nil {
		return ops, nil
	}
	b, err := encodeKey(k)
	if err != nil {
		return ops, fmt.Errorf("device: %w", err)
	}
	defer clear(b)
	if ops, err = a.sec.Put(ops, keyName(k.id), b); err != nil {
		return ops, fmt.Errorf("device: %w", err)
	}
	return a.homeKeyOps(ops, k)
}

// commitLocked writes ops as one batch, with the records of keys whose
// display data (transaction count, last CONTROL FLOW) changed since the
// last batch. On an error nothing is written, and the caller changes
// nothing in memory. a.mu is held.
func (a *Applet) commitLocked(ops []store.Op) error {
	if a.sec == nil {
		return nil
	}
	var dirty []*key
	for _, k := range a.keys {
		if !k.dirty || slices.ContainsFunc(ops, func(op store.Op) bool { return string(op.Key) == statePrefix+keyName(k.id) }) {
			continue
		}
		var err error
		if ops, err = a.keyOps(ops, k); err != nil {
			return err
		}
		dirty = append(dirty, k)
	}
	if len(ops) == 0 {
		return nil
	}
	if err := a.sec.Write(ops); err != nil {
		return fmt.Errorf("device: storing the state: %w", err)
	}
	for _, k := range dirty {
		k.dirty = false
	}
	return nil
}

// saveKeyLocked applies change to a copy of k, stores the copy and then
// makes it k, so that k changes only once the change is stored. change
// gives the copy mailboxes of its own before it writes into them. a.mu is
// held.
func (a *Applet) saveKeyLocked(k *key, change func(c *key)) error {
	c := *k
	change(&c)
	c.dirty = false
	ops, err := a.keyOps(nil, &c)
	if err != nil {
		return err
	}
	if err := a.commitLocked(ops); err != nil {
		return err
	}
	*k = c
	return nil
}

// saveAppletLocked stores the applet record with change applied, then
// applies it. a.mu is held.
func (a *Applet) saveAppletLocked(change func(a *Applet)) error {
	if a.sec != nil {
		lost, power := a.lost, a.power
		change(a)
		b, err := encodeApplet(a)
		a.lost, a.power = lost, power
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		ops, err := a.sec.Put(nil, recApplet, b)
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		if err := a.commitLocked(ops); err != nil {
			return err
		}
	}
	change(a)
	return nil
}
