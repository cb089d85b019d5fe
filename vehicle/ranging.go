package vehicle

import (
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/internal/urskslots"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport"
)

// Ranging keys (Release 3, docs/protocol.md §2.3, §8.4, §8.5): the vehicle's
// copy of the URSK of a standard transaction that asked the device to keep
// its own (CREATE RANGING KEY), under the UWB session ID, for the ranging
// setup (package ranging) and the vehicle's UWB anchors.

// RangingConfig bounds the ranging keys (URSK) the reader keeps, with the
// rules the device's applet applies to its own. The zero value works:
// DefaultRangingSlots slots, each URSK living DefaultURSKTTL.
type RangingConfig struct {
	// Slots is how many URSKs the reader holds at once, every key
	// together; zero means DefaultRangingSlots, at most 256. A ranging
	// transaction fails before CREATE RANGING KEY when every slot holds a
	// live URSK.
	Slots int
	// TTL is how long a URSK lives after its transaction; zero means
	// DefaultURSKTTL. The device's applet counts its own.
	TTL time.Duration
}

// Defaults of RangingConfig: the TTL is the device's (device.
// DefaultURSKTTL, 12 hours); a vehicle serves several keys, hence more
// slots (project choice).
const (
	DefaultRangingSlots = 16
	DefaultURSKTTL      = 12 * time.Hour
)

// rangingState is the reader's index of its URSKs and the keys
// themselves, sealed in their records.
type rangingState struct {
	cfg   urskslots.Config
	table urskslots.Table[dkey.KeySlot]
	keys  map[ranging.SessionID]*ranging.URSK
}

// insCreateRangingKey is the instruction of CREATE RANGING KEY
// (docs/protocol.md §2.3).
const insCreateRangingKey = 0x71

var _ ranging.KeyStore = (*Reader)(nil)

// wantsRangingKey reports whether a transaction for action asks the
// device to keep the URSK: the ranging-key transaction (P2 10, docs/protocol.md
// §2.5), a standard one.
func wantsRangingKey(action dkey.Action) bool { return action == dkey.ActionRangingKey }

// createRangingKey asks the device to keep the URSK of this standard
// transaction (CREATE RANGING KEY, 80 71 00 00 without data, in clear as
// the table of docs/protocol.md §2.3 has it) and stages the vehicle's copy,
// which record stores with the transaction's outcome. It fails when the
// transaction derived no URSK (Home Key), when the reader has no room
// (ranging.ErrKeySlotsFull, checked before the command so that the
// device keeps nothing the vehicle would not), and when the device
// refuses (6484: its slots are full, an error wrapping both
// ranging.ErrKeySlotsFull and ErrRefused).
func (x *run) createRangingKey() error {
	r := x.r
	ursk := x.s.RangingKey()
	txid, ok := x.s.TransactionID()
	if !ursk.Valid() || !ok {
		return fmt.Errorf("vehicle: %w: the %v profile derives no URSK", ranging.ErrNoRangingKey, r.v.Profile())
	}
	id, err := ranging.SessionIDFromTransaction(txid[:])
	if err != nil {
		return err
	}
	r.mu.Lock()
	room := r.rng.table.HasRoom(r.rng.cfg, id, r.now())
	r.mu.Unlock()
	if !room {
		return fmt.Errorf("vehicle: %w: the vehicle's %d slots hold live URSKs", ranging.ErrKeySlotsFull, r.rng.cfg.Slots)
	}
	resp, err := x.do(transport.Command{CLA: 0x80, INS: insCreateRangingKey})
	if err != nil {
		return fmt.Errorf("vehicle: CREATE RANGING KEY: %w", err)
	}
	switch {
	case resp.SW == dkey.SWRangingKeyFull:
		return fmt.Errorf("vehicle: CREATE RANGING KEY: %w: %w: %w", ranging.ErrKeySlotsFull, ErrRefused, resp.SW)
	case !resp.SW.OK():
		return fmt.Errorf("vehicle: CREATE RANGING KEY: %w: %w", ErrRefused, resp.SW)
	}
	x.ursk.session = id
	copy(x.ursk.key[:], ursk.Bytes())
	x.ursk.ok = true
	return nil
}

// stagedURSK is the vehicle's copy of the URSK the device agreed to keep
// in the transaction in progress.
type stagedURSK struct {
	session ranging.SessionID
	key     ranging.URSK
	ok      bool
}

func (s *stagedURSK) clear() { s.key.Clear(); *s = stagedURSK{} }

// rangingOps plans the storage of the staged URSK of key slot at the
// transaction's success: the record ops (the new URSK, the expired ones
// and one of the same session dropped) and the change to apply once they
// are stored. r.mu is held.
func (r *Reader) rangingOps(ops []store.Op, slot dkey.KeySlot, s *stagedURSK) ([]store.Op, func(), error) {
	add, drop, err := r.rng.table.Plan(r.rng.cfg, slot, s.session, r.now())
	if err != nil {
		return ops, nil, fmt.Errorf("vehicle: %w: %w", ranging.ErrKeySlotsFull, err)
	}
	k := s.key
	ops, err = r.rangingRecordOps(ops, &add, &k, drop)
	if err != nil {
		k.Clear()
		return ops, nil, err
	}
	apply := func() {
		r.rng.table.Apply(&add, drop)
		r.forgetURSKs(drop)
		if r.rng.keys == nil {
			r.rng.keys = map[ranging.SessionID]*ranging.URSK{}
		}
		r.rng.keys[add.Session] = &k
	}
	return ops, apply, nil
}

// rangingRecordOps appends the records of a change of the index: add's,
// with its URSK (nil: none), and the deletion of drop's.
func (r *Reader) rangingRecordOps(ops []store.Op, add *urskslots.Entry[dkey.KeySlot], k *ranging.URSK, drop []urskslots.Entry[dkey.KeySlot]) ([]store.Op, error) {
	if r.sec == nil {
		return ops, nil
	}
	for _, d := range drop {
		if add == nil || d.Session != add.Session {
			ops = r.sec.Delete(ops, urskslots.Name(d.Session))
		}
	}
	if add != nil {
		b, err := urskslots.Encode(add.Owner.Bytes(), add.Session, add.Expires, k[:])
		if err != nil {
			return ops, fmt.Errorf("vehicle: %w", err)
		}
		defer clear(b)
		if ops, err = r.sec.Put(ops, urskslots.Name(add.Session), b); err != nil {
			return ops, fmt.Errorf("vehicle: %w", err)
		}
	}
	return ops, nil
}

// forgetURSKs erases the URSKs of entries from memory. r.mu is held.
func (r *Reader) forgetURSKs(entries []urskslots.Entry[dkey.KeySlot]) {
	for _, e := range entries {
		if k := r.rng.keys[e.Session]; k != nil {
			k.Clear()
			delete(r.rng.keys, e.Session)
		}
	}
}

// keyGoneOps appends to ops the deletion of what Release 3 keeps for the
// key of slot, which is going: its BLE keys and its ranging keys. Once
// the batch is stored, keyGoneLocked forgets them. r.mu is held.
func (r *Reader) keyGoneOps(ops []store.Op, slot dkey.KeySlot) []store.Op {
	if r.sec == nil {
		return ops
	}
	ops = r.sec.Delete(ops, bleName(slot))
	for _, e := range r.rng.table.Select(func(e *urskslots.Entry[dkey.KeySlot]) bool { return e.Owner == slot }) {
		ops = r.sec.Delete(ops, urskslots.Name(e.Session))
	}
	return ops
}

// keyGoneLocked forgets the BLE keys and the ranging keys of slot, whose
// key went (removed, terminated, rolled back): its URSKs are revoked.
// r.mu is held.
func (r *Reader) keyGoneLocked(slot dkey.KeySlot) {
	if k := r.ble[slot]; k != nil {
		k.Zeroize()
		delete(r.ble, slot)
	}
	drop := r.rng.table.Select(func(e *urskslots.Entry[dkey.KeySlot]) bool { return e.Owner == slot })
	r.rng.table.Revoke(drop)
	r.forgetURSKs(drop)
}

// RangingKey copies the vehicle's URSK of UWB session id into dst, for
// the ranging setup (ranging.VehicleConfig.Keys) and the UWB anchors: it
// implements ranging.KeyStore. It fails with an error wrapping
// ranging.ErrNoRangingKey when no URSK has the session ID (or the reader
// is closed), ranging.ErrRangingKeyExpired when the URSK outlived its TTL,
// and ranging.ErrRangingKeyRevoked when its key was removed or terminated,
// is suspended, or is outside its validity window, as a transaction with
// the key would be refused. A lookup changes nothing.
func (r *Reader) RangingKey(id ranging.SessionID, dst *ranging.URSK) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.v == nil {
		return fmt.Errorf("%w: %w", ErrNotInitialized, ranging.ErrNoRangingKey)
	}
	if r.closed {
		return fmt.Errorf("%w: %w", ErrClosed, ranging.ErrNoRangingKey)
	}
	e, err := r.rng.table.Lookup(id, ranging.ErrNoRangingKey, ranging.ErrRangingKeyRevoked)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	k := r.lookup(e.Owner)
	now := r.now()
	switch {
	case k == nil:
		return fmt.Errorf("vehicle: %w: session %v: %w", ranging.ErrRangingKeyRevoked, id, dkey.ErrKeyTerminated)
	case k.info.State == dkey.KeySuspended:
		return fmt.Errorf("vehicle: %w: session %v: %w", ranging.ErrRangingKeyRevoked, id, dkey.ErrKeySuspended)
	case !inWindow(k, now):
		return fmt.Errorf("vehicle: %w: session %v: %w", ranging.ErrRangingKeyRevoked, id, dkey.ErrKeyExpired)
	case e.Expired(now):
		return fmt.Errorf("vehicle: %w: session %v", ranging.ErrRangingKeyExpired, id)
	}
	u := r.rng.keys[id]
	if u == nil {
		return fmt.Errorf("vehicle: %w: session %v", ranging.ErrNoRangingKey, id)
	}
	*dst = *u
	return nil
}

// RangingKeyInfo describes a ranging key the reader holds: never the key.
type RangingKeyInfo struct {
	Slot    dkey.KeySlot
	Session ranging.SessionID
	Expires time.Time
}

// RangingKeys describes the URSKs the reader holds, expired ones
// included.
func (r *Reader) RangingKeys() []RangingKeyInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RangingKeyInfo
	for _, e := range r.rng.table.Select(func(*urskslots.Entry[dkey.KeySlot]) bool { return true }) {
		out = append(out, RangingKeyInfo{Slot: e.Owner, Session: e.Session, Expires: e.Expires})
	}
	return out
}

// DeleteRangingKey deletes the URSK of UWB session id, as the vehicle does
// when the session is over; deleting an absent one is not an error.
func (r *Reader) DeleteRangingKey(id ranging.SessionID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.usableLocked(); err != nil {
		return err
	}
	drop := r.rng.table.Select(func(e *urskslots.Entry[dkey.KeySlot]) bool { return e.Session == id })
	if len(drop) == 0 {
		return nil
	}
	ops, err := r.rangingRecordOps(nil, nil, nil, drop)
	if err == nil {
		err = r.commitLocked(ops, nil)
	}
	if err != nil {
		return err
	}
	r.rng.table.Apply(nil, drop)
	r.forgetURSKs(drop)
	return nil
}

// restoreRanging loads the URSKs from the stored state and returns the
// deletion of those whose key is no longer enrolled and of the expired
// ones: a URSK survives a restart while its TTL allows. r.keys is
// restored.
func (r *Reader) restoreRanging() ([]store.Op, error) {
	var ops []store.Op
	now := r.now()
	err := r.sec.Scan(urskslots.Prefix, func(name string, p []byte) error {
		owner, session, expires, ursk, err := urskslots.Decode(name, p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer clear(ursk)
		slot, err := parseSlot(owner)
		if err != nil || slot.IsZero() || len(ursk) != ranging.URSKSize {
			return fmt.Errorf("%w: %s: URSK record of the vehicle", seal.ErrCorrupt, name)
		}
		e := urskslots.Entry[dkey.KeySlot]{Owner: slot, Session: session, Expires: expires}
		if r.lookup(slot) == nil || e.Expired(now) {
			ops = r.sec.Delete(ops, name)
			return nil
		}
		k := new(ranging.URSK)
		copy(k[:], ursk)
		r.rng.table.Apply(&e, nil)
		if r.rng.keys == nil {
			r.rng.keys = map[ranging.SessionID]*ranging.URSK{}
		}
		r.rng.keys[session] = k
		return nil
	})
	if err != nil {
		return nil, stateError("reading the ranging keys", err)
	}
	return ops, nil
}

// resolveRanging resolves Config.Ranging.
func resolveRanging(c RangingConfig) (urskslots.Config, error) {
	rc, err := urskslots.Config{Slots: c.Slots, TTL: c.TTL}.Resolve(DefaultRangingSlots, DefaultURSKTTL)
	if err != nil {
		return rc, fmt.Errorf("vehicle: Config.Ranging: %s", err)
	}
	return rc, nil
}

// restoreR3 loads what Release 3 keeps (ble.go, ranging.go) once the keys
// are restored, and deletes, in one batch, the records of keys no longer
// enrolled and the expired URSKs.
func (r *Reader) restoreR3() error {
	ops, err := r.restoreBLE()
	if err != nil {
		return err
	}
	more, err := r.restoreRanging()
	if err != nil {
		return err
	}
	if ops = append(ops, more...); len(ops) == 0 {
		return nil
	}
	if err := r.sec.Write(ops); err != nil {
		return fmt.Errorf("vehicle: dropping the records of keys gone: %w", err)
	}
	return nil
}
