package vehicle

import (
	"errors"
	"fmt"
	"sync"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Release 3 over Bluetooth LE (docs/protocol.md §8): the interface byte of the
// transactions, the framing of a BLE link, remote keyless entry and the
// BLE keys of owner pairing.
//
// The reader takes what a BLE link says of itself through methods of
// package transport/ble's types declared here (interfaceReporter,
// linkDescriber) and implements ble.RKEKeys with dkey types, so that it
// runs over a BLE link without importing that package, which no library
// package may import.

// interfaceReporter is the method set of transport/ble's
// InterfaceReporter: a Transceiver that knows the interface byte of its
// radio (ble.Tunnel).
type interfaceReporter interface{ InterfaceByte() byte }

// linkDescriber is a Transceiver that says what APDUs it carries
// (ble.Tunnel: extended length, no command chaining).
type linkDescriber interface {
	ClientConfig() transport.ClientConfig
}

// interfaces holds the transaction configuration of each interface byte
// other than NFC's (whose is Reader.v and Reader.sessions): the byte is
// bound into the key derivation (docs/protocol.md §4.4), so a transaction runs
// in a session of its interface.
type interfaces struct {
	base transaction.VehicleConfig
	mu   sync.Mutex
	by   map[byte]*interfaceSessions
}

type interfaceSessions struct {
	pool sync.Pool
}

// sessionPool returns the pool of transaction sessions for the interface
// t runs over: the transceiver's InterfaceByte (ble.Tunnel: C3 unless
// configured, docs/protocol.md §11 row 7), NFC's 5E when it has none.
func (r *Reader) sessionPool(t transport.Transceiver) (*sync.Pool, error) {
	ir, ok := t.(interfaceReporter)
	if !ok {
		return &r.sessions, nil
	}
	iface := ir.InterfaceByte()
	if iface == 0 || iface == transaction.InterfaceNFC {
		return &r.sessions, nil
	}
	r.ifaces.mu.Lock()
	defer r.ifaces.mu.Unlock()
	if s := r.ifaces.by[iface]; s != nil {
		return &s.pool, nil
	}
	cfg := r.ifaces.base
	cfg.Interface = iface
	v, err := transaction.NewVehicleParams(&cfg)
	if err != nil {
		return nil, fmt.Errorf("vehicle: interface %02X: %w", iface, err)
	}
	s := &interfaceSessions{}
	s.pool.New = func() any { return &pooled{s: v.NewSession(), buf: make([]byte, 0, 4096)} }
	if r.ifaces.by == nil {
		r.ifaces.by = map[byte]*interfaceSessions{}
	}
	r.ifaces.by[iface] = s
	return &s.pool, nil
}

// newClient returns the APDU client of a protocol run over t, framing
// APDUs as t says it carries them (a BLE tunnel carries extended-length
// APDUs and refuses chained ones, docs/protocol.md §8.3), as Config.Link says
// otherwise.
func (r *Reader) newClient(t transport.Transceiver) *transport.Client {
	c := new(transport.Client)
	r.resetClient(c, t)
	return c
}

// resetClient makes c the APDU client of a protocol run over t, as
// newClient does, keeping the buffers c has grown (a transaction reuses
// its session's client, so that it allocates nothing).
func (r *Reader) resetClient(c *transport.Client, t transport.Transceiver) {
	if d, ok := t.(linkDescriber); ok {
		cfg := d.ClientConfig()
		c.Reset(t, &cfg)
		return
	}
	c.Reset(t, r.link)
}

// RKEKey returns the public key, state and access profile of the key of
// slot, for remote keyless entry over BLE (package transport/ble's
// RKEVehicle, whose RKEKeys interface it implements): the RKE core checks
// the state and the entitlements, as Transact does. A slot that is not
// enrolled (removed keys included) fails with an error wrapping
// dkey.ErrUnknownKey, a key outside its validity window with one wrapping
// dkey.ErrKeyExpired, a closed reader with ErrClosed.
func (r *Reader) RKEKey(slot dkey.KeySlot) (*dkey.PublicKey, dkey.KeyState, dkey.AccessProfile, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return nil, 0, dkey.AccessProfile{}, err
	}
	k := r.lookup(slot)
	switch {
	case k == nil:
		return nil, 0, dkey.AccessProfile{}, fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slot)
	case !inWindow(k, r.now()):
		return nil, 0, dkey.AccessProfile{}, fmt.Errorf("vehicle: slot %v: %w", slot, dkey.ErrKeyExpired)
	}
	return k.info.PublicKey, k.info.State, k.info.Profile, nil
}

// recBLE names the record of the BLE keys of an owner key from pairing:
// "b/" and the slot.
const recBLE = "b/"

func bleName(s dkey.KeySlot) string { return recBLE + s.String() }

// bleRecord is the BLE keys of owner pairing of one key (recBLE), sealed.
type bleRecord struct {
	_         struct{} `cbor:",toarray"`
	Intro     []byte
	OOBMaster []byte
}

func encodeBLE(k *pairing.BLEKeys) ([]byte, error) {
	return seal.Encode(&bleRecord{Intro: k.Intro[:], OOBMaster: k.OOBMaster[:]})
}

// decodeBLE parses a BLE keys record; anything else is seal.ErrCorrupt.
func decodeBLE(b []byte) (*pairing.BLEKeys, error) {
	var rec bleRecord
	if err := seal.Decode(b, &rec); err != nil {
		return nil, err
	}
	defer clear(rec.Intro)
	defer clear(rec.OOBMaster)
	if len(rec.Intro) != pairing.BLEKeySize || len(rec.OOBMaster) != pairing.BLEKeySize {
		return nil, fmt.Errorf("%w: BLE keys record", seal.ErrCorrupt)
	}
	return &pairing.BLEKeys{Intro: [pairing.BLEKeySize]byte(rec.Intro), OOBMaster: [pairing.BLEKeySize]byte(rec.OOBMaster)}, nil
}

// bleOps appends to ops the record of the BLE keys of slot.
func (r *Reader) bleOps(ops []store.Op, slot dkey.KeySlot, k *pairing.BLEKeys) ([]store.Op, error) {
	if r.sec == nil {
		return ops, nil
	}
	b, err := encodeBLE(k)
	if err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	defer clear(b)
	if ops, err = r.sec.Put(ops, bleName(slot), b); err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	return ops, nil
}

// BLEKeys returns Kble_intro and Kble_oob_master, which owner pairing
// derived with the key of slot (docs/protocol.md §3.3), for the first approach
// over BLE (package transport/ble's FirstApproach with ble.OwnerKeys).
// They are stored with the key's enrolment, sealed, and go with it. A key
// that did not come from owner pairing has none: the error wraps
// ErrNoBLEKeys; a slot that is not enrolled, dkey.ErrUnknownKey. The
// caller zeroizes the copy it gets.
func (r *Reader) BLEKeys(slot dkey.KeySlot) (pairing.BLEKeys, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return pairing.BLEKeys{}, err
	}
	if r.lookup(slot) == nil {
		return pairing.BLEKeys{}, fmt.Errorf("vehicle: %w: slot %v", dkey.ErrUnknownKey, slot)
	}
	k, ok := r.ble[slot]
	if !ok {
		return pairing.BLEKeys{}, fmt.Errorf("vehicle: slot %v: %w", slot, ErrNoBLEKeys)
	}
	return *k, nil
}

// ErrNoBLEKeys reports a key without BLE keys: one that did not come from
// owner pairing.
var ErrNoBLEKeys = errors.New("vehicle: no BLE keys for this key (not from owner pairing)")

// restoreBLE loads the BLE keys of the enrolled keys; the records of keys
// no longer enrolled are returned for deletion.
func (r *Reader) restoreBLE() ([]store.Op, error) {
	var ops []store.Op
	err := r.sec.Scan(recBLE, func(name string, p []byte) error {
		k, err := decodeBLE(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var slot dkey.KeySlot
		for _, e := range r.keys {
			if bleName(e.info.Slot) == name {
				slot = e.info.Slot
			}
		}
		if slot.IsZero() {
			// A key that went without its BLE keys (a crash cannot do
			// this; a removal path that forgot them can): drop them.
			k.Zeroize()
			ops = r.sec.Delete(ops, name)
			return nil
		}
		if r.ble == nil {
			r.ble = map[dkey.KeySlot]*pairing.BLEKeys{}
		}
		r.ble[slot] = k
		return nil
	})
	if err != nil {
		return nil, stateError("reading the BLE keys", err)
	}
	return ops, nil
}
