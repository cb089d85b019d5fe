package vehicle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/internal/urskslots"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/bolt"
	"github.com/opencarkey/sdk/transaction"
)

func testKEK(t testing.TB, b byte) KeyEncryptionKey {
	t.Helper()
	k, err := SoftwareKEK(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// readerState compares what a reader restores: every field of the Reader
// and of its keys, but for those listed here as not stored, so that a
// field added later fails the round trip until it is stored or listed
// with its reason.
var readerState = cmp.Options{
	cmp.AllowUnexported(Reader{}, enrolled{}, transaction.FastKey{}, transaction.PersistentKey{}, pendingReplace{}),
	cmpopts.IgnoreFields(Reader{},
		// Configuration and collaborators, given again at NewReader
		// (the revocations, compared apart, live in share).
		"v", "now", "link", "share", "trackingKeys", "pairCfg", "maxAttempts", "st", "sec", "hk",
		// Locks, pools and the pairing in progress: a restart ends them.
		"mu", "sessions", "pairingBusy", "closed",
		// The configuration and sessions of other interfaces (ble.go).
		"ifaces"),
	// Ranging keys (ranging.go): the index and the keys are stored; the
	// configuration is given again, and the memory of revoked sessions
	// is not stored (after a restart a revoked URSK is reported unknown).
	cmp.AllowUnexported(rangingState{}, urskslots.Table[dkey.KeySlot]{}),
	cmpopts.IgnoreFields(rangingState{}, "cfg"),
	cmpopts.IgnoreFields(urskslots.Table[dkey.KeySlot]{}, "revoked"),
	cmp.Comparer(func(a, b *dkey.PublicKey) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(b) }),
	cmp.Comparer(func(a, b *pairing.Verifier) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(b) }),
	cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b }),
	cmp.Comparer(func(a, b *mdoc.IssuerKey) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(b) }),
}

// storedWorld is a paired vehicle with its state in a store, with keys of
// every kind and state: the owner (pairing secret, Kpersistent, token
// provisioned, tracked), a friend admitted at its first transaction
// (Kpersistent, shared), a suspended friend key with a token not yet
// provisioned, a removed key (and its revocation), the revocation of a key
// never enrolled, a verifier of a change of owner with attempts spent.
func storedWorld(t testing.TB) (*shareWorld, *store.Memory, KeyEncryptionKey) {
	t.Helper()
	m, kek := store.NewMemory(), testKEK(t, 1)
	friend, other := newPairPhone(t), newPairPhone(t)
	w := newShareWorld(t, shareOptions{store: m, kek: kek, phones: []*pairPhone{newPairPhone(t), friend, other}})
	w.share(t, w.owner, friend, unlockOnly())
	if res, _, err := w.transact(friend, dkey.ActionUnlock); err != nil || !res.FirstFriend {
		t.Fatalf("first friend transaction = %+v, %v", res, err)
	}
	if _, _, err := w.transact(w.owner, dkey.ActionEngineStart); err != nil {
		t.Fatal(err)
	}
	if err := w.reader.update(w.slot, func(k *enrolled) { k.info.Tracked = true }); err != nil {
		t.Fatal(err)
	}
	fk, sk := pairKey(t), pairKey(t)
	fs, ss := slotOf(t, "suspend1"), slotOf(t, "removed1")
	for _, e := range []Enrollment{
		{PublicKey: fk.PublicKey(), Slot: fs, Role: dkey.RoleFriend, Profile: unlockOnly().Profile,
			NotBefore: pairNow, NotAfter: pairNow.Add(time.Hour), SharedBy: w.slot, ImmobilizerToken: []byte("tok"), TokenOffset: 2,
			Mailboxes: dkey.MailboxConfig{PrivateSize: 10, ConfidentialSize: 10}},
		{PublicKey: sk.PublicKey(), Slot: ss, Profile: dkey.OwnerProfile()},
	} {
		if err := w.reader.Enroll(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.reader.SetState(fs, dkey.KeySuspended); err != nil {
		t.Fatal(err)
	}
	if err := w.reader.Remove(ss); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reader.share.ProcessTermination(w.terminations(t, 1)[0], w.reader.terminationSigners()); err != nil {
		t.Fatal(err)
	}
	v, err := pairing.NewVerifier([]byte("000000"), []byte("salt-0123456789!"), pairParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reader.ReplaceOwner(v); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reader.spendAttempt(); err != nil {
		t.Fatal(err)
	}
	return w, m, kek
}

// flush stores what the reader keeps in memory between batches, as Close
// does, without closing it.
func flush(t testing.TB, r *Reader) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.commitLocked(nil, nil); err != nil {
		t.Fatal(err)
	}
}

// reopen returns a new reader on the state of w's store.
func reopen(t testing.TB, w *shareWorld, m *store.Memory, kek KeyEncryptionKey) (*Reader, error) {
	t.Helper()
	cfg := *w.cfg
	cfg.Store, cfg.KEK, cfg.Revocations = m.Reopen(), kek, nil
	return NewReader(&cfg)
}

func TestStateRoundTrip(t *testing.T) {
	w, m, kek := storedWorld(t)
	flush(t, w.reader)
	r, err := reopen(t, w, m, kek)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w.reader, r, readerState); diff != "" {
		t.Errorf("restored reader differs (-saved +restored):\n%s", diff)
	}
	if diff := cmp.Diff(w.reader.Revocations().Revocations(), r.Revocations().Revocations(), readerState); diff != "" {
		t.Errorf("restored revocations differ (-saved +restored):\n%s", diff)
	}
	// Every kind of key and state is there to compare.
	kinds := map[string]bool{}
	for i, k := range w.reader.keys {
		kinds[fmt.Sprint(k.info.Role, k.info.State, !k.info.SharedBy.IsZero(), k.info.Tracked, k.hasLTSS, w.reader.fast[i].Valid(), k.provisioned, len(k.token) > 0)] = true
	}
	if len(kinds) != 3 || len(w.reader.removed) != 1 || w.reader.Revocations().Len() != 2 || w.reader.verifier == nil || w.reader.spent != 1 || w.reader.replace != replaceOwner {
		t.Errorf("the saved state covers %d kinds of key (want 3), %d removed, %d revocations, spent %d", len(kinds), len(w.reader.removed), w.reader.Revocations().Len(), w.reader.spent)
	}
	// The restored reader transacts as before: the owner's unlock is fast.
	w.reader = r
	if res, _, err := w.transact(w.owner, dkey.ActionUnlock); err != nil || !res.Fast {
		t.Errorf("unlock after the restart = fast %v, %v", res.Fast, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := r.Transact(context.Background(), w.owner.card, dkey.ActionUnlock); !errors.Is(err, ErrClosed) {
		t.Errorf("Transact after Close = %v, want ErrClosed", err)
	}
	if err := r.Enroll(Enrollment{PublicKey: pairKey(t).PublicKey(), Slot: slotOf(t, "late")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enroll after Close = %v, want ErrClosed", err)
	}
}

// TestStateNoStore: without a Store the reader stores nothing and needs
// no key-encryption key; a Store without a KEK is refused.
func TestStateNoStore(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	if w.reader.sec != nil || w.reader.Close() != nil {
		t.Error("a reader without a store opened one")
	}
	vk := pairKey(t)
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	if _, err := NewReader(&Config{VehicleID: vid, Key: vk, Store: store.NewMemory()}); err == nil {
		t.Error("NewReader with a Store and no KEK succeeded")
	}
}

// TestStateDamaged: a wrong key-encryption key, a future schema, a flipped
// byte in any record, two records swapped, a truncated file: NewReader
// fails with the typed error and serves nothing; never a panic.
func TestStateDamaged(t *testing.T) {
	w, m, kek := storedWorld(t)
	flush(t, w.reader)
	open := func(k KeyEncryptionKey) error {
		cfg := *w.cfg
		cfg.Store, cfg.KEK, cfg.Revocations = m.Reopen(), k, nil
		r, err := NewReader(&cfg)
		if err == nil {
			r.Close()
		}
		return err
	}
	if err := open(kek); err != nil {
		t.Fatalf("the intact state does not open: %v", err)
	}
	if err := open(testKEK(t, 2)); !errors.Is(err, ErrStateKEK) {
		t.Errorf("wrong KEK: %v, want ErrStateKEK", err)
	}
	var names []string
	_ = m.Scan(nil, func(k, v []byte) error { names = append(names, string(k)); return nil })
	if len(names) < 8 {
		t.Fatalf("only %d records: %q", len(names), names)
	}
	for _, name := range names {
		good, _ := m.Get([]byte(name))
		for _, i := range []int{0, len(good) / 2, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[i] ^= 0x01
			_ = m.Write([]store.Op{store.Put([]byte(name), bad)})
			err := open(kek)
			_ = m.Write([]store.Op{store.Put([]byte(name), good)})
			switch {
			case strings.HasSuffix(name, "#header") && (errors.Is(err, ErrStateKEK) || errors.Is(err, ErrStateVersion)):
			case !errors.Is(err, ErrStateCorrupt):
				t.Errorf("%s, byte %d flipped: %v, want ErrStateCorrupt", name, i, err)
			}
		}
	}
	// Records swapped, one deleted.
	var keys []string
	_ = m.Scan([]byte(statePrefix+recKey), func(k, v []byte) error { keys = append(keys, string(k)); return nil })
	k0, _ := m.Get([]byte(keys[0]))
	k1, _ := m.Get([]byte(keys[1]))
	_ = m.Write([]store.Op{store.Put([]byte(keys[0]), k1), store.Put([]byte(keys[1]), k0)})
	if err := open(kek); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("swapped key records: %v, want ErrStateCorrupt", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(keys[0]), k0), store.Delete([]byte(keys[1]))})
	if err := open(kek); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a key record deleted: %v, want ErrStateCorrupt", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(keys[1]), k1)})
	// A future schema.
	hdr, _ := m.Get([]byte(statePrefix + "#header"))
	h, err := seal.ParseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	h.Schema = stateSchema + 1
	_ = m.Write([]store.Op{store.Put([]byte(statePrefix+"#header"), h.Append(nil))})
	if err := open(kek); !errors.Is(err, ErrStateVersion) {
		t.Errorf("future schema: %v, want ErrStateVersion", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(statePrefix+"#header"), hdr)})

	// A bbolt file cut short.
	path := filepath.Join(t.TempDir(), "vehicle.db")
	bs, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Scan(nil, func(k, v []byte) error { return bs.Write([]store.Op{store.Put(k, v)}) })
	bs.Close()
	raw, _ := os.ReadFile(path)
	refused := 0
	for _, n := range []int{4096, 2 * 4096, 3 * 4096, len(raw) / 2, len(raw) - 4096} {
		if err := os.WriteFile(path, raw[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		// The file is refused, or what it serves is the whole state.
		bs, err := bolt.Open(path, nil)
		if err == nil {
			cfg := *w.cfg
			cfg.Store, cfg.KEK, cfg.Revocations = bs, kek, nil
			var r *Reader
			if r, err = NewReader(&cfg); err == nil {
				if len(r.Keys()) != len(w.reader.Keys()) {
					t.Errorf("file cut to %d bytes: %d keys served, want %d", n, len(r.Keys()), len(w.reader.Keys()))
				}
				r.Close()
				continue
			}
			bs.Close()
		}
		if !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("file cut to %d of %d bytes: %v, want store.ErrCorrupt", n, len(raw), err)
		}
		refused++
	}
	if refused == 0 {
		t.Error("no cut was refused")
	}
}

// TestFormatRedacts: no verb prints Kpersistent, an immobilizer token, the
// ranging key or the verifier.
func TestFormatRedacts(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	res, err := w.reader.Transact(context.Background(), w.card, dkey.ActionEngineStart)
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := res.RangingKey()
	urk := rk.Bytes()
	if !ok || len(urk) != transaction.RangingKeySize {
		t.Fatal("no ranging key")
	}
	e := Enrollment{ImmobilizerToken: []byte("SECRET-TOKEN")}
	pk := w.reader.keys[0].persistent.Bytes()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{res, &res, e, w.reader, PairResult{FirstTransaction: res}} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range [][]byte{urk[:], pk, []byte("SECRET-TOKEN")} {
				if strings.Contains(out, string(secret)) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", secret)) || strings.Contains(out, fmt.Sprint(secret)) {
					t.Errorf("Sprintf(%q, %T) prints a secret: %s", verb, v, out)
				}
			}
		}
	}
}

// FuzzStateRecord decodes arbitrary bytes as each record of the reader
// (the plaintext once unsealed): never a panic, every error is
// seal.ErrCorrupt, and what decodes encodes back to the same bytes.
func FuzzStateRecord(f *testing.F) {
	_, m, kek := storedWorld(f)
	sec, _, err := seal.OpenSection(m, statePrefix, kek, stateRole, stateSchema)
	if err != nil {
		f.Fatal(err)
	}
	_ = sec.Scan("", func(name string, p []byte) error {
		var kind byte
		switch {
		case strings.HasPrefix(name, recKey):
			kind = 0
		case strings.HasPrefix(name, recRemoved):
			kind = 1
		case strings.HasPrefix(name, recRevoked):
			kind = 2
		case name == recUsage:
			kind = 3
		case name == recPairing:
			kind = 4
		case strings.HasPrefix(name, recBLE):
			kind = 5
		}
		f.Add(kind, bytes.Clone(p))
		return nil
	})
	// A URSK record (ranging.go), which the stored world holds none of.
	ursk, err := urskslots.Encode([]byte{1, 2, 3, 4, 5, 6, 7, 8}, urskslots.Session{0x0B, 0xAD, 0xCA, 0xFE}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), make([]byte, urskslots.URSKSize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(byte(6), ursk)
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		var out []byte
		var err error
		switch kind % 7 {
		case 0:
			var k *enrolled
			if k, err = decodeKey(b); err == nil {
				out, err = encodeKey(k, true)
			}
		case 1:
			var info KeyInfo
			if info, err = decodeRemoved(b); err == nil {
				out, err = encodeKey(&enrolled{info: info}, false)
			}
		case 2:
			var r sharing.Revocation
			if r, err = decodeRevocation(b); err == nil {
				out, err = encodeRevocation(&r)
			}
		case 3:
			var slots []dkey.KeySlot
			var times []time.Time
			if slots, times, err = decodeUsage(b); err == nil {
				keys := make([]*enrolled, len(slots))
				for i := range slots {
					keys[i] = &enrolled{info: KeyInfo{Slot: slots[i], LastUse: times[i]}}
				}
				out, err = encodeUsage(keys)
			}
		case 4:
			var p *pairingState
			if p, err = decodePairing(b); err == nil {
				out, err = encodePairing(p)
			}
		case 5:
			var k *pairing.BLEKeys
			if k, err = decodeBLE(b); err == nil {
				out, err = encodeBLE(k)
			}
		case 6:
			// The record's name is the one of its session.
			var owner, ursk []byte
			var session urskslots.Session
			var expires time.Time
			name := urskslots.Name(urskslots.Session{0x0B, 0xAD, 0xCA, 0xFE})
			if owner, session, expires, ursk, err = urskslots.Decode(name, b); err == nil {
				out, err = urskslots.Encode(owner, session, expires, ursk)
			}
		}
		if err != nil {
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Fatalf("record kind %d: error %v is not seal.ErrCorrupt", kind%7, err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("record kind %d %X decodes and re-encodes as %X", kind%7, b, out)
		}
	})
}
