// Package storetest is the conformance suite of keyservice.Store: one set of
// tests that every store of the key service passes (keyservice/boltstore,
// keyservice/pgstore), so that the service behaves the same on either.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// Backend is a store under test.
type Backend struct {
	// New prepares empty storage for one test and returns a function that
	// opens a store on it; the test closes what it opens.
	New func(t *testing.T) (open func() keyservice.Store)
	// Shared reports that the storage may be opened again while a store
	// on it is open, as several instances of the service do (PostgreSQL);
	// otherwise it is opened again only after the previous store closed
	// (bbolt).
	Shared bool
}

// Run runs the suite.
func Run(t *testing.T, b Backend) {
	for _, tt := range []struct {
		name string
		f    func(*testing.T, func() keyservice.Store)
	}{
		{"Mailboxes", testMailboxes},
		{"Expiry", testExpiry},
		{"Inventory", testInventory},
		{"DeviceIndex", testDeviceIndex},
		{"Commands", testCommands},
		{"Queues", testQueues},
		{"Rollback", testRollback},
		{"ReadOnly", testReadOnly},
		{"Subscribe", testSubscribe},
		{"Context", testContext},
		{"ConcurrentEnqueue", testConcurrentEnqueue},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"Durable", func(t *testing.T, open func() keyservice.Store) { testDurable(t, open, b.Shared) }},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, b.New(t)) })
	}
	if b.Shared {
		t.Run("SharedSubscribe", func(t *testing.T) { testSharedSubscribe(t, b.New(t)) })
	}
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T, open func() keyservice.Store) keyservice.Store {
	t.Helper()
	s := open()
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t *testing.T, s keyservice.Store, fn func(keyservice.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s keyservice.Store, fn func(keyservice.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// same compares two records by their persisted form, which is
// deterministic.
func same(t *testing.T, what string, got, want interface{ MarshalBinary() ([]byte, error) }) {
	t.Helper()
	g, err := got.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s read back = %+v, want %+v", what, got, want)
	}
}

func mailbox(i byte, sender byte, expires time.Time) *keyservice.Mailbox {
	return &keyservice.Mailbox{
		ID: sharing.MailboxID{i, 1}, Sender: sharing.DeviceID{sender}, Expires: expires,
		Display: []byte("a key from Alice"), SenderContent: bytes.Repeat([]byte{i}, 300),
		SenderToken: keyservice.TokenHash{1, i}, FetchToken: keyservice.TokenHash{2, i},
	}
}

func testMailboxes(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	a, b := mailbox(1, 7, t0.Add(time.Hour)), mailbox(2, 7, t0.Add(2*time.Hour))
	view(t, s, func(tx keyservice.Tx) error {
		if _, err := tx.Mailbox(a.ID); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("Mailbox of none = %v, want ErrNotFound", err)
		}
		return nil
	})
	update(t, s, func(tx keyservice.Tx) error {
		if err := tx.PutMailbox(a); err != nil {
			return err
		}
		return tx.PutMailbox(b)
	})
	view(t, s, func(tx keyservice.Tx) error {
		got, err := tx.Mailbox(a.ID)
		if err != nil {
			return err
		}
		same(t, "mailbox", got, a)
		if n, err := tx.SenderMailboxes(a.Sender); n != 2 || err != nil {
			t.Errorf("SenderMailboxes = %d, %v; want 2", n, err)
		}
		if n, _ := tx.SenderMailboxes(sharing.DeviceID{8}); n != 0 {
			t.Errorf("SenderMailboxes of another device = %d", n)
		}
		return nil
	})
	// Replace: the fetch moves content and sets the receiver token.
	a2 := *a
	a2.SenderContent, a2.ReceiverToken, a2.ReceiverContent = nil, keyservice.TokenHash{3}, []byte{9, 9}
	update(t, s, func(tx keyservice.Tx) error { return tx.PutMailbox(&a2) })
	view(t, s, func(tx keyservice.Tx) error {
		got, err := tx.Mailbox(a.ID)
		if err != nil {
			return err
		}
		same(t, "replaced mailbox", got, &a2)
		if !got.Fetched() || got.SenderContent != nil {
			t.Errorf("replaced mailbox = %+v", got)
		}
		if n, _ := tx.SenderMailboxes(a.Sender); n != 2 {
			t.Errorf("SenderMailboxes after a replace = %d, want 2", n)
		}
		return nil
	})
	update(t, s, func(tx keyservice.Tx) error {
		if err := tx.DeleteMailbox(a.ID); err != nil {
			return err
		}
		return tx.DeleteMailbox(sharing.MailboxID{99}) // none: not an error
	})
	view(t, s, func(tx keyservice.Tx) error {
		if _, err := tx.Mailbox(a.ID); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("Mailbox after delete = %v", err)
		}
		if n, _ := tx.SenderMailboxes(a.Sender); n != 1 {
			t.Errorf("SenderMailboxes after delete = %d, want 1", n)
		}
		return nil
	})
}

func testExpiry(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	update(t, s, func(tx keyservice.Tx) error {
		for i := range 5 {
			if err := tx.PutMailbox(mailbox(byte(i), 1, t0.Add(time.Duration(i)*time.Minute))); err != nil {
				return err
			}
		}
		return nil
	})
	// Expiry moved later: the old expiry does not delete it.
	m := mailbox(0, 1, t0.Add(time.Hour))
	update(t, s, func(tx keyservice.Tx) error { return tx.PutMailbox(m) })
	var n int
	update(t, s, func(tx keyservice.Tx) error {
		var err error
		n, err = tx.ExpireMailboxes(t0.Add(3*time.Minute+time.Second), 2)
		return err
	})
	if n != 2 {
		t.Errorf("ExpireMailboxes(limit 2) = %d", n)
	}
	update(t, s, func(tx keyservice.Tx) error {
		var err error
		n, err = tx.ExpireMailboxes(t0.Add(3*time.Minute+time.Second), 10)
		return err
	})
	if n != 1 {
		t.Errorf("ExpireMailboxes again = %d, want 1", n)
	}
	view(t, s, func(tx keyservice.Tx) error {
		for i, want := range []bool{true, false, false, false, true} {
			_, err := tx.Mailbox(sharing.MailboxID{byte(i), 1})
			if (err == nil) != want {
				t.Errorf("mailbox %d after expiry: %v, want kept %v", i, err, want)
			}
		}
		if n, _ := tx.SenderMailboxes(sharing.DeviceID{1}); n != 2 {
			t.Errorf("SenderMailboxes after expiry = %d, want 2", n)
		}
		return nil
	})
}

func key(t *testing.T, slot string) (*dkey.PublicKey, dkey.KeySlot) {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := dkey.NewKeySlot([]byte(slot))
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey(), s
}

func vehicle(t *testing.T, name string) dkey.VehicleID {
	t.Helper()
	v, err := dkey.NewVehicleID([]byte(name))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testInventory(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	ok, os := key(t, "owner001")
	fk, fs := key(t, "friend01")
	inv := &keyservice.Inventory{Vehicle: v, Reported: t0, Keys: []keyservice.Key{
		{Slot: fs, PublicKey: fk, KeyHash: attest.KeyHash(fk), Role: dkey.RoleFriend, Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock, MaxSpeed: 80},
			State: dkey.KeySuspended, NotBefore: t0, NotAfter: t0.Add(time.Hour), Reported: true, Pending: true, Tracked: true, Device: sharing.DeviceID{5}, Receipt: []byte{0xD2}, Updated: t0},
		{Slot: os, PublicKey: ok, KeyHash: attest.KeyHash(ok), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive, Reported: true, Updated: t0},
	}}
	view(t, s, func(tx keyservice.Tx) error {
		if _, err := tx.Inventory(v); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("Inventory of none = %v", err)
		}
		return nil
	})
	update(t, s, func(tx keyservice.Tx) error { return tx.PutInventory(inv) })
	view(t, s, func(tx keyservice.Tx) error {
		got, err := tx.Inventory(v)
		if err != nil {
			return err
		}
		same(t, "inventory", got, inv)
		if k := got.Key(fs); k == nil || !k.PublicKey.Equal(fk) || !k.Pending || k.Device != (sharing.DeviceID{5}) {
			t.Errorf("Key(%v) = %+v", fs, k)
		}
		return nil
	})
	// Keys in slot order are required of the record, and a refused write
	// leaves the stored one.
	bad := &keyservice.Inventory{Vehicle: v, Keys: []keyservice.Key{inv.Keys[1], inv.Keys[0]}}
	if err := s.Update(context.Background(), func(tx keyservice.Tx) error { return tx.PutInventory(bad) }); err == nil {
		t.Error("PutInventory of keys out of slot order succeeded")
	}
	view(t, s, func(tx keyservice.Tx) error {
		got, err := tx.Inventory(v)
		if err != nil {
			return err
		}
		same(t, "inventory after a refused write", got, inv)
		return nil
	})
}

func testDeviceIndex(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v1, v2 := vehicle(t, "VIN00001"), vehicle(t, "VIN00002VIN00002")
	k1, s1 := key(t, "a")
	k2, s2 := key(t, "bbbbbbbb")
	d1, d2 := sharing.DeviceID{1}, sharing.DeviceID{2}
	tracked := func(k *dkey.PublicKey, slot dkey.KeySlot, d sharing.DeviceID) keyservice.Key {
		return keyservice.Key{Slot: slot, PublicKey: k, KeyHash: attest.KeyHash(k), Role: dkey.RoleFriend, State: dkey.KeyActive, Tracked: true, Device: d}
	}
	update(t, s, func(tx keyservice.Tx) error {
		if err := tx.PutInventory(&keyservice.Inventory{Vehicle: v1, Keys: []keyservice.Key{tracked(k1, s1, d1), tracked(k2, s2, d2)}}); err != nil {
			return err
		}
		return tx.PutInventory(&keyservice.Inventory{Vehicle: v2, Keys: []keyservice.Key{tracked(k2, s2, d1)}})
	})
	refs := func(d sharing.DeviceID) []string {
		var out []string
		view(t, s, func(tx keyservice.Tx) error {
			rs, err := tx.DeviceKeys(d)
			for _, r := range rs {
				out = append(out, r.Vehicle.String()+"/"+r.Slot.String())
			}
			return err
		})
		slices.Sort(out)
		return out
	}
	want := []string{v1.String() + "/" + s1.String(), v2.String() + "/" + s2.String()}
	slices.Sort(want)
	if got := refs(d1); !slices.Equal(got, want) {
		t.Errorf("DeviceKeys(d1) = %v, want %v", got, want)
	}
	if got := refs(d2); !slices.Equal(got, []string{v1.String() + "/" + s2.String()}) {
		t.Errorf("DeviceKeys(d2) = %v", got)
	}
	// The index follows the inventory: a key moves to another device, a
	// key is no longer tracked.
	update(t, s, func(tx keyservice.Tx) error {
		untracked := tracked(k1, s1, d1)
		untracked.Tracked, untracked.Device = false, sharing.DeviceID{}
		return tx.PutInventory(&keyservice.Inventory{Vehicle: v1, Keys: []keyservice.Key{untracked, tracked(k2, s2, d1)}})
	})
	want = []string{v1.String() + "/" + s2.String(), v2.String() + "/" + s2.String()}
	slices.Sort(want)
	if got := refs(d1); !slices.Equal(got, want) {
		t.Errorf("DeviceKeys(d1) after the change = %v, want %v", got, want)
	}
	if got := refs(d2); len(got) != 0 {
		t.Errorf("DeviceKeys(d2) after the change = %v", got)
	}
}

func command(t *testing.T, v dkey.VehicleID, recipients ...keyservice.Recipient) *keyservice.Command {
	t.Helper()
	_, slot := key(t, "friend01")
	c, err := sharing.NewKeyCommand(sharing.ActionSuspend, v, slot, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &keyservice.Command{ID: keyservice.CommandID(c.ID), Wire: w, Authority: []byte{0x84}, Accepted: t0, Recipients: recipients}
}

func testCommands(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	c := command(t, v, keyservice.VehicleRecipient(v), keyservice.DeviceRecipient(sharing.DeviceID{3}))
	update(t, s, func(tx keyservice.Tx) error { return tx.PutCommand(c) })
	view(t, s, func(tx keyservice.Tx) error {
		got, err := tx.Command(c.ID)
		if err != nil {
			return err
		}
		same(t, "command", got, c)
		if _, err := tx.Command(keyservice.CommandID{1}); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("Command of none = %v", err)
		}
		return nil
	})
	err := s.Update(context.Background(), func(tx keyservice.Tx) error { return tx.PutCommand(c) })
	if !errors.Is(err, keyservice.ErrDuplicate) {
		t.Errorf("PutCommand of a stored ID = %v, want ErrDuplicate", err)
	}
	if err := s.Update(context.Background(), func(tx keyservice.Tx) error {
		_, err := tx.Enqueue(keyservice.VehicleRecipient(v), keyservice.CommandID{1})
		return err
	}); err == nil {
		t.Error("Enqueue of a command not stored succeeded")
	}
}

func testQueues(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	rv, rd := keyservice.VehicleRecipient(v), keyservice.DeviceRecipient(sharing.DeviceID{3})
	var cs []*keyservice.Command
	var seqs []uint64
	for i := range 5 {
		c := command(t, v, rv)
		cs = append(cs, c)
		update(t, s, func(tx keyservice.Tx) error {
			if err := tx.PutCommand(c); err != nil {
				return err
			}
			seq, err := tx.Enqueue(rv, c.ID)
			seqs = append(seqs, seq)
			if i%2 == 0 {
				_, err = tx.Enqueue(rd, c.ID)
			}
			return err
		})
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence numbers %v do not increase", seqs)
		}
	}
	pending := func(r keyservice.Recipient, n int) []keyservice.Queued {
		var q []keyservice.Queued
		view(t, s, func(tx keyservice.Tx) error {
			var err error
			q, err = tx.Pending(r, n)
			return err
		})
		return q
	}
	q := pending(rv, 10)
	if len(q) != 5 {
		t.Fatalf("Pending = %d commands, want 5", len(q))
	}
	for i, e := range q {
		if e.Seq != seqs[i] || e.Command.ID != cs[i].ID || !bytes.Equal(e.Command.Wire, cs[i].Wire) {
			t.Errorf("Pending[%d] = %d %v, want %d %v", i, e.Seq, e.Command.ID, seqs[i], cs[i].ID)
		}
	}
	if q := pending(rv, 2); len(q) != 2 || q[0].Seq != seqs[0] {
		t.Errorf("Pending(2) = %+v", q)
	}
	if q := pending(rd, 10); len(q) != 3 || q[1].Command.ID != cs[2].ID {
		t.Errorf("Pending of the device = %d", len(q))
	}
	update(t, s, func(tx keyservice.Tx) error { return tx.Ack(rv, seqs[2]) })
	update(t, s, func(tx keyservice.Tx) error { return tx.Ack(rv, seqs[1]) }) // again, older: nothing
	if q := pending(rv, 10); len(q) != 2 || q[0].Seq != seqs[3] {
		t.Errorf("Pending after Ack = %+v, want the last two", q)
	}
	if q := pending(rd, 10); len(q) != 3 {
		t.Errorf("Ack of the vehicle touched the device's queue: %d left", len(q))
	}
	update(t, s, func(tx keyservice.Tx) error { return tx.Ack(rv, seqs[4]+100) })
	if q := pending(rv, 10); len(q) != 0 {
		t.Errorf("Pending after acknowledging all = %d", len(q))
	}
	// A command queued after an acknowledgement past its number is still
	// delivered: numbers only grow.
	c := command(t, v, rv)
	var seq uint64
	update(t, s, func(tx keyservice.Tx) error {
		if err := tx.PutCommand(c); err != nil {
			return err
		}
		var err error
		seq, err = tx.Enqueue(rv, c.ID)
		return err
	})
	if seq <= seqs[4] {
		t.Errorf("sequence %d after %d", seq, seqs[4])
	}
	if q := pending(rv, 10); len(q) != 1 || q[0].Command.ID != c.ID {
		t.Errorf("Pending of a later command = %+v", q)
	}
}

var errRollback = errors.New("storetest: roll back")

func testRollback(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	r := keyservice.VehicleRecipient(v)
	ch, cancel := s.Subscribe(r)
	defer cancel()
	c := command(t, v, r)
	err := s.Update(context.Background(), func(tx keyservice.Tx) error {
		if err := tx.PutMailbox(mailbox(1, 1, t0)); err != nil {
			return err
		}
		if err := tx.PutCommand(c); err != nil {
			return err
		}
		if _, err := tx.Enqueue(r, c.ID); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	view(t, s, func(tx keyservice.Tx) error {
		if _, err := tx.Mailbox(sharing.MailboxID{1, 1}); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("mailbox after a rollback: %v", err)
		}
		if _, err := tx.Command(c.ID); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("command after a rollback: %v", err)
		}
		if q, _ := tx.Pending(r, 10); len(q) != 0 {
			t.Errorf("queue after a rollback: %d", len(q))
		}
		return nil
	})
	select {
	case <-ch:
		t.Error("a rolled-back enqueue notified")
	default:
	}
}

func testReadOnly(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	err := s.View(context.Background(), func(tx keyservice.Tx) error { return tx.PutMailbox(mailbox(1, 1, t0)) })
	if err == nil {
		t.Error("a write in View succeeded")
	}
	view(t, s, func(tx keyservice.Tx) error {
		if _, err := tx.Mailbox(sharing.MailboxID{1, 1}); !errors.Is(err, keyservice.ErrNotFound) {
			t.Errorf("the write in View was kept: %v", err)
		}
		return nil
	})
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

// waitFor waits for a notification; the bound is for a broken store, not
// a measurement.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("no notification %s", what)
	}
}

func enqueue(t *testing.T, s keyservice.Store, r keyservice.Recipient, v dkey.VehicleID) {
	t.Helper()
	c := command(t, v, r)
	update(t, s, func(tx keyservice.Tx) error {
		if err := tx.PutCommand(c); err != nil {
			return err
		}
		_, err := tx.Enqueue(r, c.ID)
		return err
	})
}

func testSubscribe(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	r, other := keyservice.VehicleRecipient(v), keyservice.VehicleRecipient(vehicle(t, "VIN00002"))
	ch, cancel := s.Subscribe(r)
	ch2, cancel2 := s.Subscribe(r)
	defer cancel2()
	och, ocancel := s.Subscribe(other)
	defer ocancel()
	enqueue(t, s, r, v)
	waitFor(t, ch, "after an enqueue")
	waitFor(t, ch2, "to the second subscriber")
	// Several commits coalesce into at least one value.
	enqueue(t, s, r, v)
	enqueue(t, s, r, v)
	waitFor(t, ch, "after two enqueues")
	select {
	case <-och:
		t.Error("a subscriber of another queue was notified")
	default:
	}
	cancel()
	cancel() // twice is fine
	enqueue(t, s, r, v)
	waitFor(t, ch2, "after the first subscriber left")
}

func testContext(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := s.Update(ctx, func(keyservice.Tx) error { ran = true; return nil }); err == nil || ran {
		t.Errorf("Update with a cancelled context = %v, ran %v", err, ran)
	}
	if err := s.View(ctx, func(keyservice.Tx) error { return nil }); err == nil {
		t.Error("View with a cancelled context succeeded")
	}
}

// testConcurrentEnqueue: writers on one queue get distinct numbers, and
// the queue holds every command once, in number order.
func testConcurrentEnqueue(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	r := keyservice.VehicleRecipient(v)
	const writers, each = 4, 5
	var mu sync.Mutex
	got := map[uint64]keyservice.CommandID{}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				c := command(t, v, r)
				var seq uint64
				err := s.Update(context.Background(), func(tx keyservice.Tx) error {
					if err := tx.PutCommand(c); err != nil {
						return err
					}
					var err error
					seq, err = tx.Enqueue(r, c.ID)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := got[seq]; dup {
					t.Errorf("sequence number %d given twice", seq)
				}
				got[seq] = c.ID
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var q []keyservice.Queued
	view(t, s, func(tx keyservice.Tx) error {
		var err error
		q, err = tx.Pending(r, 100)
		return err
	})
	if len(q) != writers*each {
		t.Fatalf("queue of %d, want %d", len(q), writers*each)
	}
	for i, e := range q {
		if got[e.Seq] != e.Command.ID || (i > 0 && e.Seq <= q[i-1].Seq) {
			t.Fatalf("queue entry %d = %d %v", i, e.Seq, e.Command.ID)
		}
	}
}

// testConcurrentUpdate: read-modify-write transactions on one record lose
// no update.
func testConcurrentUpdate(t *testing.T, open func() keyservice.Store) {
	s := openStore(t, open)
	v := vehicle(t, "VIN00001")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, slot := key(t, fmt.Sprintf("k%d", i))
			err := s.Update(context.Background(), func(tx keyservice.Tx) error {
				inv, err := tx.Inventory(v)
				if errors.Is(err, keyservice.ErrNotFound) {
					inv, err = &keyservice.Inventory{Vehicle: v}, nil
				}
				if err != nil {
					return err
				}
				inv.Keys = append(inv.Keys, keyservice.Key{Slot: slot, PublicKey: k, KeyHash: attest.KeyHash(k), Role: dkey.RoleFriend, State: dkey.KeyActive})
				slices.SortFunc(inv.Keys, func(a, b keyservice.Key) int { return bytes.Compare(a.Slot.Bytes(), b.Slot.Bytes()) })
				return tx.PutInventory(inv)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	view(t, s, func(tx keyservice.Tx) error {
		inv, err := tx.Inventory(v)
		if err != nil {
			return err
		}
		if len(inv.Keys) != n {
			t.Errorf("inventory of %d keys after %d concurrent additions", len(inv.Keys), n)
		}
		return nil
	})
}

func testDurable(t *testing.T, open func() keyservice.Store, shared bool) {
	s := open()
	v := vehicle(t, "VIN00001")
	r := keyservice.VehicleRecipient(v)
	c := command(t, v, r)
	m := mailbox(4, 4, t0.Add(time.Hour))
	update(t, s, func(tx keyservice.Tx) error {
		if err := tx.PutMailbox(m); err != nil {
			return err
		}
		if err := tx.PutCommand(c); err != nil {
			return err
		}
		_, err := tx.Enqueue(r, c.ID)
		return err
	})
	if !shared {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s2 := open()
	defer s2.Close()
	if shared {
		defer s.Close()
	}
	view(t, s2, func(tx keyservice.Tx) error {
		got, err := tx.Mailbox(m.ID)
		if err != nil {
			return err
		}
		same(t, "mailbox after reopening", got, m)
		q, err := tx.Pending(r, 10)
		if err != nil {
			return err
		}
		if len(q) != 1 || q[0].Command.ID != c.ID {
			t.Errorf("queue after reopening = %+v", q)
		}
		return nil
	})
}

// testSharedSubscribe: a command enqueued through one instance wakes a
// subscriber of another on the same storage.
func testSharedSubscribe(t *testing.T, open func() keyservice.Store) {
	a, b := openStore(t, open), openStore(t, open)
	v := vehicle(t, "VIN00001")
	r := keyservice.VehicleRecipient(v)
	ch, cancel := b.Subscribe(r)
	defer cancel()
	// The listener of b may need a moment to start: enqueue until it
	// hears, a bounded number of times.
	for i := 0; ; i++ {
		enqueue(t, a, r, v)
		select {
		case <-ch:
			return
		case <-time.After(2 * time.Second):
			if i == 10 {
				t.Fatal("a command enqueued through one instance never woke a subscriber of the other")
			}
		}
	}
}
