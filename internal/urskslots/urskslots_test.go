package urskslots

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/internal/seal"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func session(b byte) Session { return Session{0, 0, 0, b} }

func TestTable(t *testing.T) {
	c, err := Config{Slots: 2, TTL: time.Hour}.Resolve(9, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var tab Table[string]
	add := func(owner string, s Session, now time.Time) error {
		t.Helper()
		e, drop, err := tab.Plan(c, owner, s, now)
		if err != nil {
			return err
		}
		if !e.Expires.Equal(now.Add(time.Hour)) || e.Owner != owner || e.Session != s {
			t.Fatalf("Plan = %+v", e)
		}
		tab.Apply(&e, drop)
		return nil
	}
	if err := add("a", session(1), t0); err != nil {
		t.Fatal(err)
	}
	if err := add("b", session(2), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := add("c", session(3), t0.Add(2*time.Minute)); !errors.Is(err, ErrFull) {
		t.Fatalf("third URSK in 2 slots: %v, want ErrFull", err)
	}
	if tab.HasRoom(c, session(3), t0) || !tab.HasRoom(c, session(2), t0) {
		t.Errorf("HasRoom: a new session has room in a full table, or the same session has none")
	}
	// The same session replaces its URSK.
	if err := add("b", session(2), t0.Add(3*time.Minute)); err != nil || tab.Len() != 2 {
		t.Fatalf("replacing session 2: %v, %d entries", err, tab.Len())
	}
	// Once the first expires there is room, and it goes.
	if err := add("c", session(3), t0.Add(time.Hour)); err != nil {
		t.Fatalf("after the first expired: %v", err)
	}
	if _, ok := tab.Find(session(1)); ok || tab.Len() != 2 || tab.Revoked(session(1)) {
		t.Errorf("the expired URSK is still there, or was taken for revoked")
	}
	e, ok := tab.Find(session(3))
	if !ok || e.Owner != "c" || e.Expired(t0.Add(time.Hour)) || !e.Expired(t0.Add(2*time.Hour)) {
		t.Errorf("Find(3) = %+v, %v", e, ok)
	}
	// Revocation.
	tab.Revoke(tab.Select(func(e *Entry[string]) bool { return e.Owner == "b" }))
	if _, ok := tab.Find(session(2)); ok || !tab.Revoked(session(2)) || tab.Len() != 1 {
		t.Errorf("after Revoke: %d entries, revoked %v", tab.Len(), tab.Revoked(session(2)))
	}
	// A new URSK of a revoked session is not revoked.
	if err := add("b", session(2), t0.Add(time.Hour)); err != nil || tab.Revoked(session(2)) {
		t.Errorf("a revoked session again: %v, revoked %v", err, tab.Revoked(session(2)))
	}
	// The memory of revocations is bounded.
	for i := range MaxRevoked + 1 {
		e := Entry[string]{Owner: "x", Session: Session{1, 0, byte(i >> 8), byte(i)}, Expires: t0}
		tab.Apply(&e, nil)
		tab.Revoke([]Entry[string]{e})
	}
	if tab.Revoked(Session{1, 0, 0, 0}) || !tab.Revoked(Session{1, 0, 0, MaxRevoked}) || len(tab.revoked) != MaxRevoked {
		t.Errorf("revoked sessions: %d remembered", len(tab.revoked))
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		in Config
		ok bool
	}{
		{Config{}, true},
		{Config{Slots: MaxSlots, TTL: time.Second}, true},
		{Config{Slots: -1}, false},
		{Config{Slots: MaxSlots + 1}, false},
		{Config{TTL: -time.Second}, false},
	} {
		c, err := tc.in.Resolve(4, time.Hour)
		if (err == nil) != tc.ok {
			t.Errorf("Resolve(%+v) = %+v, %v", tc.in, c, err)
		}
		if err == nil && (c.Slots < 1 || c.TTL <= 0) {
			t.Errorf("Resolve(%+v) = %+v", tc.in, c)
		}
	}
}

func TestRecord(t *testing.T) {
	s := Session{0x0B, 0xAD, 0xCA, 0xFE}
	for _, ursk := range [][]byte{nil, bytes.Repeat([]byte{7}, URSKSize)} {
		b, err := Encode([]byte("owner"), s, t0, ursk)
		if err != nil {
			t.Fatal(err)
		}
		owner, session, expires, k, err := Decode("u/0badcafe", b)
		if err != nil || string(owner) != "owner" || session != s || !expires.Equal(t0) || !bytes.Equal(k, ursk) {
			t.Errorf("Decode(Encode) = %q %x %v %x, %v", owner, session, expires, k, err)
		}
		if _, _, _, _, err := Decode("u/0badcaff", b); !errors.Is(err, seal.ErrCorrupt) {
			t.Errorf("a record under another name: %v", err)
		}
	}
	if _, err := Encode([]byte("o"), s, t0, make([]byte, 16)); err == nil {
		t.Errorf("Encode accepted a 16-byte URSK")
	}
	for name, rec := range map[string]record{
		"no owner":      {Session: s[:], Expires: seal.AppendTime(nil, t0)},
		"short session": {Owner: []byte{1}, Session: s[:3], Expires: seal.AppendTime(nil, t0)},
		"short URSK":    {Owner: []byte{1}, Session: s[:], Expires: seal.AppendTime(nil, t0), URSK: []byte{1}},
		"zero expiry":   {Owner: []byte{1}, Session: s[:], Expires: seal.AppendTime(nil, time.Time{})},
		"bad expiry":    {Owner: []byte{1}, Session: s[:], Expires: []byte{1}},
	} {
		b, err := seal.Encode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := Decode(Name(s), b); !errors.Is(err, seal.ErrCorrupt) {
			t.Errorf("%s: %v, want seal.ErrCorrupt", name, err)
		}
	}
	if Name(s) != "u/0badcafe" {
		t.Errorf("Name = %q", Name(s))
	}
}

// FuzzDecode decodes arbitrary bytes as a URSK record: never a panic,
// every error seal.ErrCorrupt, and what decodes encodes back to the same
// bytes.
func FuzzDecode(f *testing.F) {
	s := Session{0x0B, 0xAD, 0xCA, 0xFE}
	for _, ursk := range [][]byte{nil, bytes.Repeat([]byte{7}, URSKSize)} {
		b, err := Encode([]byte{0, 0, 0, 0, 0, 0, 0, 1}, s, t0, ursk)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		owner, session, expires, ursk, err := Decode(Name(s), b)
		if err != nil {
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Fatalf("Decode(%X) = %v, not seal.ErrCorrupt", b, err)
			}
			return
		}
		out, err := Encode(owner, session, expires, ursk)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("Decode(%X) re-encodes as %X, %v", b, out, err)
		}
	})
}

func TestLookup(t *testing.T) {
	notFound, revoked := errors.New("not found"), errors.New("revoked")
	var tab Table[int]
	e := Entry[int]{Owner: 1, Session: session(1), Expires: t0}
	tab.Apply(&e, nil)
	if got, err := tab.Lookup(session(1), notFound, revoked); err != nil || got != e {
		t.Errorf("Lookup(1) = %+v, %v", got, err)
	}
	if _, err := tab.Lookup(session(2), notFound, revoked); !errors.Is(err, notFound) {
		t.Errorf("Lookup(2) = %v, want not found", err)
	}
	tab.Revoke([]Entry[int]{e})
	if _, err := tab.Lookup(session(1), notFound, revoked); !errors.Is(err, revoked) {
		t.Errorf("Lookup(1) after Revoke = %v, want revoked", err)
	}
}
