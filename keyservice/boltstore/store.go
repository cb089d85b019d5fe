// Package boltstore is the embedded store of the key service (package
// keyservice): one bbolt file (go.etcd.io/bbolt), ACID, each transaction
// fsynced at commit, for a service on one machine. `dkserver -data DIR`
// keeps it in DIR/dkserver.db.
//
// # Layout
//
// Buckets, keys and values (records in the versioned CBOR forms of package
// keyservice):
//
//	meta         "version"                       → 1
//	mailboxes    mailbox id (16)                 → mailbox record
//	senders      device (32) ‖ mailbox id (16)   → empty        (mailboxes per device)
//	expiry       expiry seconds (8, BE) ‖ id (16) → empty       (expiry order)
//	inventories  vehicle identifier              → inventory record
//	devices      device (32) ‖ len ‖ vehicle ‖ slot → empty     (keys per device)
//	commands     command id (16)                 → command record
//	queues       recipient ‖ 00 ‖ seq (8, BE)    → command id
//	seqs         recipient                       → last seq (8, BE)
//
// bbolt allows one writer at a time, so every Update is serializable; a
// queue's sequence numbers follow commit order. Concurrent Updates are
// committed together (bbolt's Batch: one transaction, one fsync, within 10
// ms), so an Update's function may run twice when another in its batch
// fails, as the keyservice.Store contract allows. Subscribers
// are woken in-process after the commit: the file is locked by one process
// (a second Open waits, then fails), so there is no other instance to tell.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
	bolt "go.etcd.io/bbolt"
)

const layoutVersion = 1

var (
	bucketMeta        = []byte("meta")
	bucketMailboxes   = []byte("mailboxes")
	bucketSenders     = []byte("senders")
	bucketExpiry      = []byte("expiry")
	bucketInventories = []byte("inventories")
	bucketDevices     = []byte("devices")
	bucketCommands    = []byte("commands")
	bucketQueues      = []byte("queues")
	bucketSeqs        = []byte("seqs")
	allBuckets        = [][]byte{bucketMeta, bucketMailboxes, bucketSenders, bucketExpiry, bucketInventories, bucketDevices, bucketCommands, bucketQueues, bucketSeqs}
	keyVersion        = []byte("version")
)

// Store is a keyservice.Store in a bbolt file.
type Store struct {
	db *bolt.DB

	subs keyservice.Subscriptions
}

var _ keyservice.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in the file path. It waits
// up to 5 seconds for another process holding the file to let go.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keyVersion); {
		case v == nil:
			return meta.Put(keyVersion, []byte{layoutVersion})
		case len(v) != 1 || v[0] != layoutVersion:
			return fmt.Errorf("layout version %x, this program knows %d", v, layoutVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	return &Store{db: db}, nil
}

// Close implements keyservice.Store.
func (s *Store) Close() error { return s.db.Close() }

// Ping implements keyservice.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("boltstore: no meta bucket")
		}
		return nil
	})
}

// Update implements keyservice.Store.
func (s *Store) Update(ctx context.Context, fn func(keyservice.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &tx{}
	// Batch: concurrent Updates share one transaction and one fsync (group
	// commit, within bbolt's MaxBatchDelay); a function that fails is
	// taken out and the others run again, which the Store contract allows.
	err := s.db.Batch(func(btx *bolt.Tx) error {
		t.tx, t.enqueued = btx, t.enqueued[:0]
		return fn(t)
	})
	if err == nil {
		s.subs.Notify(t.enqueued...)
	}
	return err
}

// View implements keyservice.Store.
func (s *Store) View(ctx context.Context, fn func(keyservice.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{tx: btx}) })
}

// Subscribe implements keyservice.Store.
func (s *Store) Subscribe(r keyservice.Recipient) (<-chan struct{}, func()) {
	return s.subs.Subscribe(r)
}

// tx is one bbolt transaction.
type tx struct {
	tx       *bolt.Tx
	enqueued []keyservice.Recipient
}

func (t *tx) b(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

func (t *tx) Mailbox(id sharing.MailboxID) (*keyservice.Mailbox, error) {
	v := t.b(bucketMailboxes).Get(id[:])
	if v == nil {
		return nil, keyservice.ErrNotFound
	}
	return keyservice.ParseMailbox(bytes.Clone(v))
}

func expiryKey(m *keyservice.Mailbox) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 24), uint64(max(m.Expires.Unix(), 0)))
	return append(k, m.ID[:]...)
}

func senderKey(m *keyservice.Mailbox) []byte {
	return append(m.Sender[:len(m.Sender):len(m.Sender)], m.ID[:]...)
}

func (t *tx) PutMailbox(m *keyservice.Mailbox) error {
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := t.unindexMailbox(m.ID); err != nil {
		return err
	}
	if err := t.b(bucketMailboxes).Put(m.ID[:], b); err != nil {
		return err
	}
	if err := t.b(bucketSenders).Put(senderKey(m), nil); err != nil {
		return err
	}
	return t.b(bucketExpiry).Put(expiryKey(m), nil)
}

// unindexMailbox removes the index entries of the stored mailbox id.
func (t *tx) unindexMailbox(id sharing.MailboxID) error {
	old, err := t.Mailbox(id)
	if errors.Is(err, keyservice.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.b(bucketSenders).Delete(senderKey(old)); err != nil {
		return err
	}
	return t.b(bucketExpiry).Delete(expiryKey(old))
}

func (t *tx) DeleteMailbox(id sharing.MailboxID) error {
	if err := t.unindexMailbox(id); err != nil {
		return err
	}
	return t.b(bucketMailboxes).Delete(id[:])
}

func (t *tx) SenderMailboxes(d sharing.DeviceID) (int, error) {
	n := 0
	c := t.b(bucketSenders).Cursor()
	for k, _ := c.Seek(d[:]); k != nil && bytes.HasPrefix(k, d[:]); k, _ = c.Next() {
		n++
	}
	return n, nil
}

func (t *tx) ExpireMailboxes(now time.Time, limit int) (int, error) {
	var ids []sharing.MailboxID
	c := t.b(bucketExpiry).Cursor()
	for k, _ := c.First(); k != nil && len(ids) < limit; k, _ = c.Next() {
		if len(k) != 24 || int64(binary.BigEndian.Uint64(k)) >= now.Unix() {
			break
		}
		ids = append(ids, sharing.MailboxID(k[8:]))
	}
	for _, id := range ids {
		if err := t.DeleteMailbox(id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (t *tx) Inventory(v dkey.VehicleID) (*keyservice.Inventory, error) {
	b := t.b(bucketInventories).Get(v.Bytes())
	if b == nil {
		return nil, keyservice.ErrNotFound
	}
	return keyservice.ParseInventory(bytes.Clone(b))
}

func deviceKey(d sharing.DeviceID, ref keyservice.KeyRef) []byte {
	k := append(d[:len(d):len(d)], byte(ref.Vehicle.Len()))
	k = ref.Vehicle.Append(k)
	return ref.Slot.Append(k)
}

func (t *tx) PutInventory(inv *keyservice.Inventory) error {
	b, err := inv.MarshalBinary()
	if err != nil {
		return err
	}
	dev := t.b(bucketDevices)
	old, err := t.Inventory(inv.Vehicle)
	switch {
	case err == nil:
		for _, k := range old.Keys {
			if k.Tracked {
				if err := dev.Delete(deviceKey(k.Device, keyservice.KeyRef{Vehicle: inv.Vehicle, Slot: k.Slot})); err != nil {
					return err
				}
			}
		}
	case !errors.Is(err, keyservice.ErrNotFound):
		return err
	}
	for _, k := range inv.Keys {
		if k.Tracked {
			if err := dev.Put(deviceKey(k.Device, keyservice.KeyRef{Vehicle: inv.Vehicle, Slot: k.Slot}), nil); err != nil {
				return err
			}
		}
	}
	return t.b(bucketInventories).Put(inv.Vehicle.Bytes(), b)
}

func (t *tx) DeviceKeys(d sharing.DeviceID) ([]keyservice.KeyRef, error) {
	var out []keyservice.KeyRef
	c := t.b(bucketDevices).Cursor()
	for k, _ := c.Seek(d[:]); k != nil && bytes.HasPrefix(k, d[:]) && len(out) < keyservice.MaxDeviceKeys; k, _ = c.Next() {
		rest := k[len(d):]
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return nil, fmt.Errorf("%w: device index entry %x", keyservice.ErrCorrupt, k)
		}
		v, err := dkey.NewVehicleID(rest[1 : 1+rest[0]])
		if err != nil {
			return nil, fmt.Errorf("%w: device index: %w", keyservice.ErrCorrupt, err)
		}
		slot, err := dkey.NewKeySlot(rest[1+rest[0]:])
		if err != nil {
			return nil, fmt.Errorf("%w: device index: %w", keyservice.ErrCorrupt, err)
		}
		out = append(out, keyservice.KeyRef{Vehicle: v, Slot: slot})
	}
	return out, nil
}

func (t *tx) Command(id keyservice.CommandID) (*keyservice.Command, error) {
	b := t.b(bucketCommands).Get(id[:])
	if b == nil {
		return nil, keyservice.ErrNotFound
	}
	return keyservice.ParseCommand(bytes.Clone(b))
}

func (t *tx) PutCommand(c *keyservice.Command) error {
	bk := t.b(bucketCommands)
	if bk.Get(c.ID[:]) != nil {
		return keyservice.ErrDuplicate
	}
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	return bk.Put(c.ID[:], b)
}

func queuePrefix(r keyservice.Recipient) []byte { return append([]byte(r), 0) }

func (t *tx) Enqueue(r keyservice.Recipient, id keyservice.CommandID) (uint64, error) {
	if t.b(bucketCommands).Get(id[:]) == nil {
		return 0, fmt.Errorf("boltstore: enqueue of command %v: %w", id, keyservice.ErrNotFound)
	}
	seqs := t.b(bucketSeqs)
	var seq uint64 = 1
	if v := seqs.Get([]byte(r)); v != nil {
		if len(v) != 8 {
			return 0, fmt.Errorf("%w: sequence of %s", keyservice.ErrCorrupt, r)
		}
		seq = binary.BigEndian.Uint64(v) + 1
	}
	if err := seqs.Put([]byte(r), binary.BigEndian.AppendUint64(nil, seq)); err != nil {
		return 0, err
	}
	if err := t.b(bucketQueues).Put(binary.BigEndian.AppendUint64(queuePrefix(r), seq), id[:]); err != nil {
		return 0, err
	}
	t.enqueued = append(t.enqueued, r)
	return seq, nil
}

func (t *tx) Pending(r keyservice.Recipient, limit int) ([]keyservice.Queued, error) {
	p := queuePrefix(r)
	var out []keyservice.Queued
	c := t.b(bucketQueues).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(out) < limit; k, v = c.Next() {
		if len(k) != len(p)+8 || len(v) != len(keyservice.CommandID{}) {
			return nil, fmt.Errorf("%w: queue entry %x", keyservice.ErrCorrupt, k)
		}
		cmd, err := t.Command(keyservice.CommandID(v))
		if err != nil {
			return nil, fmt.Errorf("boltstore: queued command: %w", err)
		}
		out = append(out, keyservice.Queued{Seq: binary.BigEndian.Uint64(k[len(p):]), Command: cmd})
	}
	return out, nil
}

func (t *tx) Ack(r keyservice.Recipient, through uint64) error {
	p := queuePrefix(r)
	q := t.b(bucketQueues)
	var done [][]byte
	c := q.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		if len(k) != len(p)+8 || binary.BigEndian.Uint64(k[len(p):]) > through {
			break
		}
		done = append(done, bytes.Clone(k))
	}
	for _, k := range done {
		if err := q.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
