// Package urskslots keeps the index of the ranging keys (URSK) that the
// device's applet and the vehicle hold for UWB sessions, and the rules
// both apply to them (docs/protocol.md §2.4, §8.5): a bounded number of slots
// (the applet's CREATE RANGING KEY answers 6484 when they are full), a
// lifetime per URSK (URSK TTL), one URSK per UWB session ID, and the
// memory of the sessions whose URSK was revoked (a terminated key, lost
// mode), so that a lookup tells a revoked URSK from one that never was.
//
// The package holds no key: the applet keeps its URSKs in its secure
// element, the vehicle in its sealed records (Record). It is sans I/O: a
// caller plans a change (Plan), stores it, then applies it (Apply), so
// that memory changes only once the store did.
package urskslots

import (
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/internal/seal"
)

// Session is a UWB session ID, the last four bytes of the transaction
// identifier of the standard transaction that derived the URSK.
type Session = [4]byte

// MaxSlots bounds the slots a configuration may ask for.
const MaxSlots = 256

// MaxRevoked is how many revoked sessions a Table remembers; the oldest is
// forgotten first, and a lookup then reports it as unknown.
const MaxRevoked = 64

// ErrFull reports that every slot holds a live URSK.
var ErrFull = errors.New("urskslots: no URSK slot left")

// Entry is one URSK of the index: the key that owns it, its session and
// when it expires.
type Entry[O comparable] struct {
	Owner   O
	Session Session
	Expires time.Time
}

// Expired reports whether e has expired at now.
func (e *Entry[O]) Expired(now time.Time) bool { return !now.Before(e.Expires) }

// Config is what bounds a Table.
type Config struct {
	Slots int
	TTL   time.Duration
}

// Resolve returns c with its defaults: slots (1 to MaxSlots) and ttl
// (above zero) when c's are zero, an error when they are out of range.
func (c Config) Resolve(slots int, ttl time.Duration) (Config, error) {
	if c.Slots == 0 {
		c.Slots = slots
	}
	if c.TTL == 0 {
		c.TTL = ttl
	}
	if c.Slots < 1 || c.Slots > MaxSlots || c.TTL <= 0 {
		return c, fmt.Errorf("%d URSK slots with a lifetime of %v: want 1 to %d slots and a positive lifetime", c.Slots, c.TTL, MaxSlots)
	}
	return c, nil
}

// Table is the index. The zero value is empty. It is not safe for
// concurrent use: its owner's lock guards it.
type Table[O comparable] struct {
	entries []Entry[O]
	revoked []Session
}

// Plan returns what storing a new URSK of owner for session at now
// changes: the entry to add, with its expiry, and the entries it drops,
// which the caller erases with it — expired ones, and the one of the same
// session. It fails with ErrFull when every slot holds a live URSK of
// another session.
func (t *Table[O]) Plan(c Config, owner O, session Session, now time.Time) (Entry[O], []Entry[O], error) {
	var drop []Entry[O]
	live := 0
	for _, e := range t.entries {
		switch {
		case e.Session == session, e.Expired(now):
			drop = append(drop, e)
		default:
			live++
		}
	}
	if live >= c.Slots {
		return Entry[O]{}, nil, fmt.Errorf("%w: %d of %d slots hold a live URSK", ErrFull, live, c.Slots)
	}
	return Entry[O]{Owner: owner, Session: session, Expires: now.Add(c.TTL)}, drop, nil
}

// HasRoom reports whether Plan would succeed.
func (t *Table[O]) HasRoom(c Config, session Session, now time.Time) bool {
	var zero O
	_, _, err := t.Plan(c, zero, session, now)
	return err == nil
}

// Apply applies a change the caller stored: it removes the entries of
// drop and adds add when it is not nil. Removed entries are not revoked.
func (t *Table[O]) Apply(add *Entry[O], drop []Entry[O]) {
	t.remove(drop, false)
	if add != nil {
		t.entries = append(t.entries, *add)
		t.forget(add.Session)
	}
}

// Revoke removes the entries of drop and remembers their sessions as
// revoked: the key they belong to was terminated or suspended.
func (t *Table[O]) Revoke(drop []Entry[O]) { t.remove(drop, true) }

func (t *Table[O]) remove(drop []Entry[O], revoke bool) {
	for _, d := range drop {
		for i, e := range t.entries {
			if e == d {
				t.entries = append(t.entries[:i], t.entries[i+1:]...)
				break
			}
		}
		if revoke {
			t.forget(d.Session)
			if len(t.revoked) == MaxRevoked {
				t.revoked = append(t.revoked[:0], t.revoked[1:]...)
			}
			t.revoked = append(t.revoked, d.Session)
		}
	}
}

// forget drops session from the revoked ones: a new URSK has it.
func (t *Table[O]) forget(session Session) {
	for i, r := range t.revoked {
		if r == session {
			t.revoked = append(t.revoked[:i], t.revoked[i+1:]...)
			return
		}
	}
}

// Find returns the entry of session.
func (t *Table[O]) Find(session Session) (Entry[O], bool) {
	for _, e := range t.entries {
		if e.Session == session {
			return e, true
		}
	}
	return Entry[O]{}, false
}

// Lookup returns the entry of session, or an error wrapping revoked when
// its URSK was revoked and not replaced since, notFound otherwise: the
// caller's sentinels (package ranging's ErrRangingKeyRevoked and
// ErrNoRangingKey).
func (t *Table[O]) Lookup(session Session, notFound, revoked error) (Entry[O], error) {
	if e, ok := t.Find(session); ok {
		return e, nil
	}
	if t.Revoked(session) {
		return Entry[O]{}, fmt.Errorf("%w: session %x", revoked, session[:])
	}
	return Entry[O]{}, fmt.Errorf("%w: session %x", notFound, session[:])
}

// Revoked reports whether the URSK of session was revoked (and not
// replaced since).
func (t *Table[O]) Revoked(session Session) bool {
	for _, r := range t.revoked {
		if r == session {
			return true
		}
	}
	return false
}

// Select returns the entries for which keep reports true.
func (t *Table[O]) Select(keep func(e *Entry[O]) bool) []Entry[O] {
	var out []Entry[O]
	for i := range t.entries {
		if keep(&t.entries[i]) {
			out = append(out, t.entries[i])
		}
	}
	return out
}

// Len returns the number of entries, expired ones included.
func (t *Table[O]) Len() int { return len(t.entries) }

// Name returns the name of the record of session in its owner's section
// of a store: "u/" and the session in hexadecimal.
func Name(session Session) string { return fmt.Sprintf("u/%08x", session[:]) }

// Prefix is the prefix of the records' names.
const Prefix = "u/"

// record is one URSK of the index as its owner stores it (package seal):
// the owner's identity in its owner's encoding, the session, the expiry
// and, for a vehicle, the URSK itself (the applet keeps it in its secure
// element and stores none).
type record struct {
	_       struct{} `cbor:",toarray"`
	Owner   []byte
	Session []byte
	Expires []byte
	URSK    []byte
}

// URSKSize is the size of a URSK.
const URSKSize = 32

// Encode returns the record of an entry whose owner encodes as owner, with
// ursk (nil, or URSKSize bytes).
func Encode(owner []byte, session Session, expires time.Time, ursk []byte) ([]byte, error) {
	if len(ursk) != 0 && len(ursk) != URSKSize {
		return nil, fmt.Errorf("urskslots: URSK of %d bytes", len(ursk))
	}
	return seal.Encode(&record{Owner: owner, Session: session[:], Expires: seal.AppendTime(nil, expires), URSK: ursk})
}

// Decode parses a record; anything but what Encode writes, or a record
// stored under another name than the one of its session, is
// seal.ErrCorrupt. ursk aliases b's decoding; the caller erases it.
func Decode(name string, b []byte) (owner []byte, session Session, expires time.Time, ursk []byte, err error) {
	var r record
	if err := seal.Decode(b, &r); err != nil {
		return nil, session, expires, nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: URSK record: %s", seal.ErrCorrupt, what) }
	if len(r.Session) != len(session) {
		clear(r.URSK)
		return nil, session, expires, nil, bad("session")
	}
	session = Session(r.Session)
	if name != Name(session) {
		clear(r.URSK)
		return nil, session, expires, nil, bad("stored under " + name)
	}
	if len(r.Owner) == 0 {
		clear(r.URSK)
		return nil, session, expires, nil, bad("owner")
	}
	if len(r.URSK) != 0 && len(r.URSK) != URSKSize {
		clear(r.URSK)
		return nil, session, expires, nil, bad("URSK")
	}
	if expires, err = seal.ParseTime(r.Expires); err != nil || expires.IsZero() {
		clear(r.URSK)
		return nil, session, expires, nil, bad("expiry")
	}
	return r.Owner, session, expires, r.URSK, nil
}
