// Package pgstore is the PostgreSQL store of the key service (package
// keyservice), for fleets: several instances of the service share one
// database, and a command posted to one instance reaches a vehicle whose
// long poll waits on another. `dkserver -postgres URL` uses it.
//
// # Schema and migrations
//
// Open migrates the database to the schema this package knows, under an
// advisory lock so that instances starting together migrate once, in one
// transaction each, recorded in dk_schema. Records are the versioned CBOR
// forms of package keyservice, with the columns the queries need beside
// them:
//
//	dk_mailboxes   (id, sender, expires, record)
//	dk_inventories (vehicle, record)
//	dk_device_keys (device, vehicle, slot)          -- keys per device
//	dk_commands    (id, record)
//	dk_seqs        (recipient, last)                -- last sequence number per queue
//	dk_queue       (recipient, seq, command)
//
// # Transactions
//
// An Update runs at READ COMMITTED and locks, until it commits, every
// record it reads to change: a mailbox (SELECT ... FOR UPDATE), a vehicle's
// inventory (a transaction-level advisory lock on the vehicle, taken before
// the read, so that two transactions creating the first inventory of a
// vehicle serialize too), and a queue's sequence row, which each enqueue
// updates (so numbers follow commit order). Command identifiers are unique
// by constraint (INSERT ... ON CONFLICT DO NOTHING). Read-modify-write of
// each record is therefore atomic without SERIALIZABLE, whose predicate
// locks on B-tree pages made a third of the transactions under load fail
// and retry on conflicts that were not there (measured: 3,544 rollbacks
// for 8,639 commits). Reads of records an Update does not change (the
// device index, a count of a device's mailboxes) see what is committed: a
// device at its mailbox limit may end one over under a race. An Update
// that meets a deadlock or a serialization failure (SQLSTATE 40P01, 40001)
// is retried, up to 20 times; the keyservice.Store contract lets fn run
// more than once. A View is one REPEATABLE READ, READ ONLY snapshot.
// Commit is synchronous (PostgreSQL's default), so an Update that returned
// survives a crash or restart of the database.
//
// # Notifications: LISTEN/NOTIFY
//
// An enqueue runs pg_notify('dk_queue', recipient) in its transaction;
// PostgreSQL delivers it at commit, to every instance. Each Store keeps one
// connection of its own in LISTEN dk_queue and wakes the subscribers of the
// recipient. A notification lost while that connection is down (a database
// restart) is made up for by the service's long polls, which read their
// queue again every keyservice.Config.PollInterval; the listener
// reconnects with backoff. The instance that committed also wakes its own
// subscribers directly.
package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// channel is the NOTIFY channel of queue changes.
const channel = "dk_queue"

// maxAttempts bounds the retries of a transaction that conflicted.
const maxAttempts = 20

// migrationLock is the advisory lock key of migrations: "dkserver" in
// ASCII.
const migrationLock = 0x646b736572766572

// migrations are the schema changes, in order; migrations[i] brings the
// schema to version i+1.
var migrations = []string{
	`CREATE TABLE dk_mailboxes (
		id bytea PRIMARY KEY,
		sender bytea NOT NULL,
		expires bigint NOT NULL,
		record bytea NOT NULL
	);
	CREATE INDEX dk_mailboxes_sender ON dk_mailboxes (sender);
	CREATE INDEX dk_mailboxes_expires ON dk_mailboxes (expires);
	CREATE TABLE dk_inventories (
		vehicle bytea PRIMARY KEY,
		record bytea NOT NULL
	);
	CREATE TABLE dk_device_keys (
		device bytea NOT NULL,
		vehicle bytea NOT NULL,
		slot bytea NOT NULL,
		PRIMARY KEY (device, vehicle, slot)
	);
	CREATE INDEX dk_device_keys_vehicle ON dk_device_keys (vehicle);
	CREATE TABLE dk_commands (
		id bytea PRIMARY KEY,
		record bytea NOT NULL
	);
	CREATE TABLE dk_seqs (
		recipient text PRIMARY KEY,
		last bigint NOT NULL
	);
	CREATE TABLE dk_queue (
		recipient text NOT NULL,
		seq bigint NOT NULL,
		command bytea NOT NULL REFERENCES dk_commands (id),
		PRIMARY KEY (recipient, seq)
	);`,
}

// SchemaVersion is the schema version this package migrates to.
var SchemaVersion = len(migrations)

// Store is a keyservice.Store in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	url  string

	subs keyservice.Subscriptions

	stop     context.CancelFunc
	listened sync.WaitGroup
	// onListenError sees the errors of the listener connection, which it
	// retries (Options.OnListenError).
	onListenError func(error)
}

var _ keyservice.Store = (*Store)(nil)

// Options configures Open.
type Options struct {
	// MaxConns bounds the pool's connections; 0 means pgxpool's default
	// (the larger of 4 and the number of CPUs).
	MaxConns int32
	// OnListenError, when set, sees each failure of the LISTEN connection
	// before it is retried.
	OnListenError func(error)
}

// Open connects to the database of url (a PostgreSQL connection URL or
// key=value string, as pgx takes it), migrates its schema, and starts the
// listener. It fails when the database's schema is newer than this
// package's.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if opts != nil && opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{pool: pool, url: url}
	if opts != nil {
		s.onListenError = opts.OnListenError
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	ready := make(chan error, 1)
	s.listened.Go(func() { s.listen(lctx, ready) })
	select {
	case err := <-ready:
		if err != nil {
			s.Close()
			return nil, err
		}
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	return s, nil
}

// migrate brings the schema to SchemaVersion.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migration: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("pgstore: migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS dk_schema (version integer NOT NULL)"); err != nil {
		return fmt.Errorf("pgstore: migration: %w", err)
	}
	var version int
	err = tx.QueryRow(ctx, "SELECT version FROM dk_schema").Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, "INSERT INTO dk_schema (version) VALUES (0)"); err != nil {
			return fmt.Errorf("pgstore: migration: %w", err)
		}
	case err != nil:
		return fmt.Errorf("pgstore: migration: %w", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("pgstore: the database has schema %d, this program knows %d", version, SchemaVersion)
	}
	for v := version; v < SchemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("pgstore: migration to %d: %w", v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE dk_schema SET version = $1", SchemaVersion); err != nil {
		return fmt.Errorf("pgstore: migration: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migration: %w", err)
	}
	return nil
}

// listen holds a connection in LISTEN and wakes subscribers, reconnecting
// with backoff until ctx is done. It reports the first connection's outcome
// on ready.
func (s *Store) listen(ctx context.Context, ready chan<- error) {
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		conn, err := pgx.Connect(ctx, s.url)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+channel); err != nil {
				conn.Close(context.Background())
			}
		}
		reconnected := !first
		if first {
			ready <- err
			first = false
			if err != nil {
				return
			}
		}
		if err != nil {
			if s.onListenError != nil && ctx.Err() == nil {
				s.onListenError(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if reconnected {
			// Commits while the listener was down notified nobody: wake
			// every subscriber, who reads its queue again.
			s.subs.NotifyAll()
		}
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				if s.onListenError != nil && ctx.Err() == nil {
					s.onListenError(err)
				}
				break
			}
			if r, err := keyservice.ParseRecipient(n.Payload); err == nil {
				s.subs.Notify(r)
			}
		}
		conn.Close(context.Background())
	}
}

// Close implements keyservice.Store.
func (s *Store) Close() error {
	if s.stop != nil {
		s.stop()
	}
	s.listened.Wait()
	s.pool.Close()
	return nil
}

// Ping implements keyservice.Store.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// retryable reports a transaction to run again: a serialization failure or
// a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Update implements keyservice.Store.
func (s *Store) Update(ctx context.Context, fn func(keyservice.Tx) error) error {
	for attempt := 0; ; attempt++ {
		t, err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, true, fn)
		if err == nil {
			s.subs.Notify(t.enqueued...)
			return nil
		}
		if !retryable(err) || attempt == maxAttempts-1 {
			return err
		}
		// A jittered pause that grows, so that conflicting writers
		// spread out.
		var b [2]byte
		_, _ = rand.Read(b[:])
		d := time.Duration(binary.BigEndian.Uint16(b[:])%uint16(1<<min(attempt, 8))+1) * time.Millisecond
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
	}
}

// View implements keyservice.Store.
func (s *Store) View(ctx context.Context, fn func(keyservice.Tx) error) error {
	_, err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false, fn)
	return err
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, write bool, fn func(keyservice.Tx) error) (*tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ptx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	t := &tx{ctx: ctx, tx: ptx, write: write}
	if err := fn(t); err != nil {
		_ = ptx.Rollback(context.Background())
		return nil, err
	}
	if err := ptx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: commit: %w", err)
	}
	return t, nil
}

// Subscribe implements keyservice.Store.
func (s *Store) Subscribe(r keyservice.Recipient) (<-chan struct{}, func()) {
	return s.subs.Subscribe(r)
}

// tx is one PostgreSQL transaction; write is an Update's, which locks
// what it reads.
type tx struct {
	ctx      context.Context
	tx       pgx.Tx
	write    bool
	enqueued []keyservice.Recipient
}

// forUpdate is the locking clause of a read in an Update.
func (t *tx) forUpdate() string {
	if t.write {
		return " FOR UPDATE"
	}
	return ""
}

func (t *tx) Mailbox(id sharing.MailboxID) (*keyservice.Mailbox, error) {
	var b []byte
	err := t.tx.QueryRow(t.ctx, "SELECT record FROM dk_mailboxes WHERE id = $1"+t.forUpdate(), id[:]).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, keyservice.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return keyservice.ParseMailbox(b)
}

func (t *tx) PutMailbox(m *keyservice.Mailbox) error {
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(t.ctx, `INSERT INTO dk_mailboxes (id, sender, expires, record) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET sender = excluded.sender, expires = excluded.expires, record = excluded.record`,
		m.ID[:], m.Sender[:], m.Expires.Unix(), b)
	return err
}

func (t *tx) DeleteMailbox(id sharing.MailboxID) error {
	_, err := t.tx.Exec(t.ctx, "DELETE FROM dk_mailboxes WHERE id = $1", id[:])
	return err
}

func (t *tx) SenderMailboxes(d sharing.DeviceID) (int, error) {
	var n int
	err := t.tx.QueryRow(t.ctx, "SELECT count(*) FROM dk_mailboxes WHERE sender = $1", d[:]).Scan(&n)
	return n, err
}

func (t *tx) ExpireMailboxes(now time.Time, limit int) (int, error) {
	tag, err := t.tx.Exec(t.ctx, `DELETE FROM dk_mailboxes WHERE id IN (
		SELECT id FROM dk_mailboxes WHERE expires < $1 ORDER BY expires LIMIT $2)`, now.Unix(), limit)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// inventoryLock is the class of the advisory locks on inventories: "dkinv"
// in ASCII, with the vehicle's hash as the other half of the key.
const inventoryLock = 0x646b696e76

func (t *tx) Inventory(v dkey.VehicleID) (*keyservice.Inventory, error) {
	if t.write {
		// Locks the vehicle's inventory whether it exists or not.
		if _, err := t.tx.Exec(t.ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", int32(inventoryLock&0x7fffffff), v.String()); err != nil {
			return nil, err
		}
	}
	var b []byte
	err := t.tx.QueryRow(t.ctx, "SELECT record FROM dk_inventories WHERE vehicle = $1", v.Bytes()).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, keyservice.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return keyservice.ParseInventory(b)
}

func (t *tx) PutInventory(inv *keyservice.Inventory) error {
	b, err := inv.MarshalBinary()
	if err != nil {
		return err
	}
	v := inv.Vehicle.Bytes()
	if t.write {
		// The lock Inventory takes, for a writer that did not read first.
		if _, err := t.tx.Exec(t.ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", int32(inventoryLock&0x7fffffff), inv.Vehicle.String()); err != nil {
			return err
		}
	}
	if _, err := t.tx.Exec(t.ctx, `INSERT INTO dk_inventories (vehicle, record) VALUES ($1, $2)
		ON CONFLICT (vehicle) DO UPDATE SET record = excluded.record`, v, b); err != nil {
		return err
	}
	if _, err := t.tx.Exec(t.ctx, "DELETE FROM dk_device_keys WHERE vehicle = $1", v); err != nil {
		return err
	}
	for _, k := range inv.Keys {
		if !k.Tracked {
			continue
		}
		if _, err := t.tx.Exec(t.ctx, "INSERT INTO dk_device_keys (device, vehicle, slot) VALUES ($1, $2, $3)", k.Device[:], v, k.Slot.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) DeviceKeys(d sharing.DeviceID) ([]keyservice.KeyRef, error) {
	rows, err := t.tx.Query(t.ctx, "SELECT vehicle, slot FROM dk_device_keys WHERE device = $1 ORDER BY vehicle, slot LIMIT $2", d[:], keyservice.MaxDeviceKeys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyservice.KeyRef
	for rows.Next() {
		var vb, sb []byte
		if err := rows.Scan(&vb, &sb); err != nil {
			return nil, err
		}
		v, err := dkey.NewVehicleID(vb)
		if err != nil {
			return nil, fmt.Errorf("%w: device index: %w", keyservice.ErrCorrupt, err)
		}
		slot, err := dkey.NewKeySlot(sb)
		if err != nil {
			return nil, fmt.Errorf("%w: device index: %w", keyservice.ErrCorrupt, err)
		}
		out = append(out, keyservice.KeyRef{Vehicle: v, Slot: slot})
	}
	return out, rows.Err()
}

func (t *tx) Command(id keyservice.CommandID) (*keyservice.Command, error) {
	var b []byte
	err := t.tx.QueryRow(t.ctx, "SELECT record FROM dk_commands WHERE id = $1", id[:]).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, keyservice.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return keyservice.ParseCommand(b)
}

func (t *tx) PutCommand(c *keyservice.Command) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	// ON CONFLICT DO NOTHING: a unique violation would abort the whole
	// transaction.
	tag, err := t.tx.Exec(t.ctx, "INSERT INTO dk_commands (id, record) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", c.ID[:], b)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return keyservice.ErrDuplicate
	}
	return nil
}

func (t *tx) Enqueue(r keyservice.Recipient, id keyservice.CommandID) (uint64, error) {
	var exists bool
	if err := t.tx.QueryRow(t.ctx, "SELECT EXISTS (SELECT 1 FROM dk_commands WHERE id = $1)", id[:]).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, fmt.Errorf("pgstore: enqueue of command %v: %w", id, keyservice.ErrNotFound)
	}
	var seq int64
	err := t.tx.QueryRow(t.ctx, `INSERT INTO dk_seqs (recipient, last) VALUES ($1, 1)
		ON CONFLICT (recipient) DO UPDATE SET last = dk_seqs.last + 1 RETURNING last`, string(r)).Scan(&seq)
	if err != nil {
		return 0, err
	}
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO dk_queue (recipient, seq, command) VALUES ($1, $2, $3)", string(r), seq, id[:]); err != nil {
		return 0, err
	}
	if _, err := t.tx.Exec(t.ctx, "SELECT pg_notify($1, $2)", channel, string(r)); err != nil {
		return 0, err
	}
	t.enqueued = append(t.enqueued, r)
	return uint64(seq), nil
}

func (t *tx) Pending(r keyservice.Recipient, limit int) ([]keyservice.Queued, error) {
	rows, err := t.tx.Query(t.ctx, `SELECT q.seq, c.record FROM dk_queue q JOIN dk_commands c ON c.id = q.command
		WHERE q.recipient = $1 ORDER BY q.seq LIMIT $2`, string(r), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyservice.Queued
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, err
		}
		c, err := keyservice.ParseCommand(b)
		if err != nil {
			return nil, err
		}
		out = append(out, keyservice.Queued{Seq: uint64(seq), Command: c})
	}
	return out, rows.Err()
}

func (t *tx) Ack(r keyservice.Recipient, through uint64) error {
	if through > 1<<62 {
		through = 1 << 62
	}
	_, err := t.tx.Exec(t.ctx, "DELETE FROM dk_queue WHERE recipient = $1 AND seq <= $2", string(r), int64(through))
	return err
}
