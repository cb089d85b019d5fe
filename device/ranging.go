package device

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/internal/urskslots"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Ranging keys (Release 3, docs/protocol.md §2.3, §2.4, §8.5): the URSK that a
// standard transaction derives, kept in the secure element under the UWB
// session ID when the vehicle asks for it with CREATE RANGING KEY, for the
// ranging setup (package ranging) and the UWB chip.

// RangingConfig bounds the ranging keys (URSK) the applet keeps. The zero
// value works: DefaultRangingSlots slots, each URSK living DefaultURSKTTL.
type RangingConfig struct {
	// Slots is how many URSKs the applet holds at once, every key
	// together; zero means DefaultRangingSlots, at most 256. CREATE RANGING
	// KEY answers 6484 when every slot holds a live URSK.
	Slots int
	// TTL is how long a URSK lives after the transaction that created it
	// (URSK TTL); zero means DefaultURSKTTL.
	TTL time.Duration
}

// Defaults of RangingConfig. The specification's values are not public:
// 12 hours is the URSK TTL Android's UWB stack configures by default (720
// minutes), and four slots let a phone range with a few vehicles at once
// (project choice).
const (
	DefaultRangingSlots = 4
	DefaultURSKTTL      = 12 * time.Hour
)

// maxRangingData bounds the optional arbitrary_data of CREATE RANGING KEY
// (docs/protocol.md §2.3: at most 127 bytes).
const maxRangingData = 127

// RangingKeyInfo describes a ranging key the applet holds, as the host
// app sees it: never the key.
type RangingKeyInfo struct {
	Vehicle dkey.VehicleID
	Session ranging.SessionID
	Expires time.Time
}

// rangingState is the applet's index of its URSKs (the keys are in the
// secure element, SecretRanging under the key's ID and the session) and
// the URSK a CREATE RANGING KEY staged for the transaction in progress.
type rangingState struct {
	cfg    urskslots.Config
	table  urskslots.Table[KeyID]
	staged stagedURSK
}

// stagedURSK is the URSK of the standard transaction in progress, which
// the vehicle asked the applet to keep: stored when the vehicle reports
// success with CONTROL FLOW, as Kpersistent is.
type stagedURSK struct {
	key     *key
	session ranging.SessionID
	ursk    transaction.RangingKey
}

func (s *stagedURSK) clear() { s.ursk.Zeroize(); *s = stagedURSK{} }

// takeStaged returns the staged URSK and forgets it.
func (r *rangingState) takeStaged() stagedURSK {
	s := r.staged
	r.staged = stagedURSK{}
	return s
}

var _ ranging.KeyStore = (*Applet)(nil)

// createRangingKey answers CREATE RANGING KEY (80 71 00 00, docs/protocol.md
// §2.3): the vehicle asks the applet to keep the URSK of the standard
// transaction in progress, under the UWB session ID, the last four bytes
// of the transaction identifier (§8.4). The applet stages it and stores
// it in the secure element when the vehicle reports the transaction's
// success with CONTROL FLOW (controlFlow), as it does Kpersistent: a
// transaction that fails after it leaves no URSK on either side.
//
// Refusals: 6985 outside an authenticated standard transaction of the CCC
// profile (a fast transaction or Home Key derive no URSK) and in power
// reserve (the applet cannot read the host's clock for the URSK's
// lifetime); 6484 when every slot holds a live URSK (docs/protocol.md §2.4);
// 6B00 for P1-P2 other than 00 00; 6700 for more than 127 bytes of data.
//
// The command carries an optional arbitrary_data of up to 127 bytes whose
// use is not public (§2.3): the applet accepts it and binds nothing to it
// (project choice). It travels in clear like CONTROL FLOW: a relay that
// injects it can only make the applet keep the URSK of the authenticated
// transaction, which the vehicle holds too.
func (a *Applet) createRangingKey(dst []byte, cmd *transport.Command) ([]byte, error) {
	k := a.current
	switch {
	case cmd.P1 != 0 || cmd.P2 != 0:
		return dst, fmt.Errorf("%w: CREATE RANGING KEY P1 %02X P2 %02X", transaction.ErrWrongParameters, cmd.P1, cmd.P2)
	case len(cmd.Data) > maxRangingData:
		return dst, fmt.Errorf("device: CREATE RANGING KEY with %d bytes of data: %w", len(cmd.Data), dkey.SWWrongLength)
	case k == nil || !a.sess.Standard():
		return dst, fmt.Errorf("device: CREATE RANGING KEY: %w", transaction.ErrOutOfSequence)
	case a.power:
		return dst, fmt.Errorf("device: CREATE RANGING KEY: %w: %w", ErrPowerReserve, dkey.SWConditionsNotSatisfied)
	}
	ursk := a.sess.RangingKey()
	txid, ok := a.sess.TransactionID()
	if !ursk.Valid() || !ok {
		return dst, fmt.Errorf("device: CREATE RANGING KEY: no URSK in this transaction: %w", dkey.SWConditionsNotSatisfied)
	}
	id, err := ranging.SessionIDFromTransaction(txid[:])
	if err != nil {
		return dst, err
	}
	if !a.rng.table.HasRoom(a.rng.cfg, id, a.now()) {
		return dst, fmt.Errorf("device: CREATE RANGING KEY: %w: %w", ranging.ErrKeySlotsFull, dkey.SWRangingKeyFull)
	}
	a.rng.staged.clear()
	a.rng.staged = stagedURSK{key: k, session: id, ursk: ursk}
	return dst, nil
}

// rangingConfig resolves Config.Ranging, which NewApplet keeps in a.rng.
func (a *Applet) rangingConfig() (urskslots.Config, error) {
	c, err := urskslots.Config{Slots: a.cfg.Ranging.Slots, TTL: a.cfg.Ranging.TTL}.Resolve(DefaultRangingSlots, DefaultURSKTTL)
	if err != nil {
		return c, fmt.Errorf("device: Config.Ranging: %s", err)
	}
	return c, nil
}

// commitRangingLocked stores the URSK staged for k, at the success of its
// standard transaction: the secure element first, then the applet's
// index record, with the expired URSKs and one of the same session
// dropped, in one batch. A crash in between leaves a secret the index
// does not name, which nothing reads and which goes with the key. a.mu
// is held.
func (a *Applet) commitRangingLocked(k *key, s *stagedURSK) error {
	if s.key == nil || s.key != k || !s.ursk.Valid() {
		return nil
	}
	add, drop, err := a.rng.table.Plan(a.rng.cfg, k.id, s.session, a.now())
	if err != nil {
		return fmt.Errorf("device: %w: %w", ranging.ErrKeySlotsFull, err)
	}
	b := s.ursk.Bytes()
	err = a.se.PutSecret(rangingSecret(k.id, s.session), b)
	clear(b)
	if err != nil {
		return fmt.Errorf("device: storing the URSK: %w", err)
	}
	ops, err := a.rangingOps(nil, &add, drop)
	if err == nil {
		err = a.commitLocked(ops)
	}
	if err != nil {
		if old, ok := a.rng.table.Find(s.session); !ok || old.Owner != k.id {
			_ = a.se.DeleteSecret(rangingSecret(k.id, s.session))
		}
		return err
	}
	a.rng.table.Apply(&add, drop)
	a.eraseRanging(drop, &add)
	return nil
}

// rangingSecret names the URSK of session of key id in the secure element.
func rangingSecret(id KeyID, session ranging.SessionID) SecretID {
	return SecretID{Key: id, Kind: SecretRanging, Session: session.Uint32()}
}

// rangingOps appends to ops the records of a change of the index: add's
// (nil: none) and the deletion of drop's.
func (a *Applet) rangingOps(ops []store.Op, add *urskslots.Entry[KeyID], drop []urskslots.Entry[KeyID]) ([]store.Op, error) {
	if a.sec == nil {
		return ops, nil
	}
	for _, d := range drop {
		ops = a.sec.Delete(ops, urskslots.Name(d.Session))
	}
	if add != nil {
		b, err := urskslots.Encode(binary.BigEndian.AppendUint64(nil, uint64(add.Owner)), add.Session, add.Expires, nil)
		if err != nil {
			return ops, fmt.Errorf("device: %w", err)
		}
		if ops, err = a.sec.Put(ops, urskslots.Name(add.Session), b); err != nil {
			return ops, fmt.Errorf("device: %w", err)
		}
	}
	return ops, nil
}

// eraseRanging deletes the URSKs of drop from the secure element, but the
// secret of keep (nil: none), which a new URSK of the same key and session
// has just replaced.
func (a *Applet) eraseRanging(drop []urskslots.Entry[KeyID], keep *urskslots.Entry[KeyID]) {
	for _, d := range drop {
		if keep != nil && d.Owner == keep.Owner && d.Session == keep.Session {
			continue
		}
		// An error leaves a secret the index no longer names: nothing
		// reads it, and it goes with its key.
		_ = a.se.DeleteSecret(rangingSecret(d.Owner, d.Session))
	}
}

// dropRangingLocked removes the URSKs for which which reports true, from
// the index (a batch) and from the secure element, remembering them as
// revoked when revoke is set. a.mu is held.
func (a *Applet) dropRangingLocked(which func(e *urskslots.Entry[KeyID]) bool, revoke bool) error {
	drop := a.rng.table.Select(which)
	if len(drop) == 0 {
		return nil
	}
	ops, err := a.rangingOps(nil, nil, drop)
	if err == nil {
		err = a.commitLocked(ops)
	}
	if err != nil {
		return err
	}
	if revoke {
		a.rng.table.Revoke(drop)
	} else {
		a.rng.table.Apply(nil, drop)
	}
	a.eraseRanging(drop, nil)
	return nil
}

// RangingKey copies the URSK of UWB session id into dst, for the ranging
// setup (ranging.DeviceConfig.Keys) and the UWB chip: it implements
// ranging.KeyStore. It fails with an error wrapping ranging.ErrNoRangingKey
// when no URSK has the session ID (or the applet is closed or in power
// reserve), ranging.ErrRangingKeyExpired when the URSK outlived its TTL,
// and ranging.ErrRangingKeyRevoked when its key was terminated or is
// suspended, or lost mode is on. A lookup changes nothing.
func (a *Applet) RangingKey(id ranging.SessionID, dst *ranging.URSK) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return fmt.Errorf("%w: %w", ErrClosed, ranging.ErrNoRangingKey)
	case a.power:
		return fmt.Errorf("%w: %w", ErrPowerReserve, ranging.ErrNoRangingKey)
	}
	e, err := a.rng.table.Lookup(id, ranging.ErrNoRangingKey, ranging.ErrRangingKeyRevoked)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	k := a.keyByID(e.Owner)
	switch {
	case k == nil || k.state == dkey.KeyTerminated:
		return fmt.Errorf("device: %w: session %v: %w", ranging.ErrRangingKeyRevoked, id, dkey.ErrKeyTerminated)
	case a.lost || k.state == dkey.KeySuspended:
		return fmt.Errorf("device: %w: session %v: %w", ranging.ErrRangingKeyRevoked, id, dkey.ErrKeySuspended)
	case e.Expired(a.now()):
		return fmt.Errorf("device: %w: session %v", ranging.ErrRangingKeyExpired, id)
	}
	var buf [ranging.URSKSize]byte
	defer clear(buf[:])
	b, err := a.se.Secret(buf[:0], rangingSecret(e.Owner, id))
	if err != nil || len(b) != ranging.URSKSize {
		clear(b)
		return fmt.Errorf("device: %w: session %v: %w", ranging.ErrNoRangingKey, id, errors.Join(err, ErrStateCorrupt))
	}
	copy(dst[:], b)
	return nil
}

// keyByID returns the key of ID id, or nil. a.mu is held.
func (a *Applet) keyByID(id KeyID) *key {
	for _, k := range a.keys {
		if k.id == id {
			return k
		}
	}
	return nil
}

// RangingKeys describes the URSKs the applet holds, expired ones
// included, without the keys.
func (a *Applet) RangingKeys() []RangingKeyInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []RangingKeyInfo
	for _, e := range a.rng.table.Select(func(*urskslots.Entry[KeyID]) bool { return true }) {
		info := RangingKeyInfo{Session: e.Session, Expires: e.Expires}
		if k := a.keyByID(e.Owner); k != nil {
			info.Vehicle = k.vehicle
		}
		out = append(out, info)
	}
	return out
}

// DeleteRangingKey deletes the URSK of UWB session id, as the host does
// when the session is over; deleting an absent one is not an error.
func (a *Applet) DeleteRangingKey(id ranging.SessionID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	return a.dropRangingLocked(func(e *urskslots.Entry[KeyID]) bool { return e.Session == id }, false)
}

// restoreRanging loads the index of the URSKs from the stored state,
// checking that the secure element holds each, and drops, in one batch,
// those whose key is gone or terminated, those of every key in lost mode,
// and (unless the applet is in power reserve, where it reads no clock)
// the expired ones: a URSK survives a restart while its TTL allows.
func (a *Applet) restoreRanging() error {
	var entries []urskslots.Entry[KeyID]
	err := a.sec.Scan(urskslots.Prefix, func(name string, p []byte) error {
		owner, session, expires, ursk, err := urskslots.Decode(name, p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(owner) != 8 || len(ursk) != 0 {
			return fmt.Errorf("%w: %s: URSK record of the applet", seal.ErrCorrupt, name)
		}
		entries = append(entries, urskslots.Entry[KeyID]{Owner: KeyID(binary.BigEndian.Uint64(owner)), Session: session, Expires: expires})
		return nil
	})
	if err != nil {
		return stateError("reading the ranging keys", err)
	}
	now := time.Time{}
	if !a.power {
		now = a.now()
	}
	var drop []urskslots.Entry[KeyID]
	for _, e := range entries {
		k := a.keyByID(e.Owner)
		gone := k == nil || k.state == dkey.KeyTerminated || a.lost || (!now.IsZero() && e.Expired(now))
		if gone {
			drop = append(drop, e)
			continue
		}
		var buf [ranging.URSKSize]byte
		b, err := a.se.Secret(buf[:0], rangingSecret(e.Owner, e.Session))
		clear(buf[:])
		if err != nil || len(b) != ranging.URSKSize {
			return stateError("loading a ranging key", fmt.Errorf("%w: session %v of key %d: %w", seal.ErrCorrupt, ranging.SessionID(e.Session), e.Owner, err))
		}
		a.rng.table.Apply(&e, nil)
	}
	if len(drop) == 0 {
		return nil
	}
	ops, err := a.rangingOps(nil, nil, drop)
	if err == nil {
		err = a.sec.Write(ops)
	}
	if err != nil {
		return fmt.Errorf("device: dropping ranging keys: %w", err)
	}
	a.eraseRanging(drop, nil)
	return nil
}
