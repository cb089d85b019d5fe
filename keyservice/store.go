package keyservice

import (
	"context"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// Store is the durable state of the service: relay mailboxes, key
// inventories, accepted commands and the command queues. keyservice/boltstore
// keeps it in one bbolt file; keyservice/pgstore in PostgreSQL, which
// several instances of the service share. keyservice/storetest is the
// conformance suite both pass.
//
// Every change goes through Update, whose transaction is atomic, holds each
// record it reads to change (a mailbox, a vehicle's inventory, a queue)
// until it commits, so that read-modify-write of a record loses no
// concurrent update, and is durable when Update returns nil: a response the
// service sends after Update is never undone by a crash. Implementations
// are safe for concurrent use.
type Store interface {
	// Update runs fn in a read-write transaction and commits it. When fn
	// returns an error nothing is changed and Update returns that error.
	// fn may run more than once (a store retries a transaction that
	// conflicted with another); it must have no effect outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent
	// state. Writes in it fail.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Subscribe returns a channel that receives a value after every
	// committed transaction that enqueued a command for r, on this
	// instance or, when the store is shared, on any other. Values
	// coalesce: one value may stand for several transactions, so the
	// subscriber reads the queue after each. cancel releases the
	// subscription.
	Subscribe(r Recipient) (ch <-chan struct{}, cancel func())
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Tx is a transaction of a Store. Its methods return ErrNotFound for a
// record that does not exist, ErrCorrupt for one that does not parse, and
// any other error of the store, which ends the transaction.
type Tx interface {
	// Mailbox returns the mailbox id.
	Mailbox(id sharing.MailboxID) (*Mailbox, error)
	// PutMailbox stores m, replacing the mailbox of the same ID.
	PutMailbox(m *Mailbox) error
	// DeleteMailbox deletes the mailbox id; deleting none is not an error.
	DeleteMailbox(id sharing.MailboxID) error
	// SenderMailboxes counts the mailboxes the device created that are
	// stored, expired or not.
	SenderMailboxes(sender sharing.DeviceID) (int, error)
	// ExpireMailboxes deletes up to max mailboxes whose expiry is before
	// now and returns how many it deleted.
	ExpireMailboxes(now time.Time, max int) (int, error)

	// Inventory returns the inventory of vehicle.
	Inventory(vehicle dkey.VehicleID) (*Inventory, error)
	// PutInventory stores inv, replacing the vehicle's, and keeps the
	// device index (DeviceKeys) in step with the tracked keys' devices.
	PutInventory(inv *Inventory) error
	// DeviceKeys returns the keys whose inventory entry names device,
	// at most MaxDeviceKeys, in no particular order.
	DeviceKeys(device sharing.DeviceID) ([]KeyRef, error)

	// Command returns the accepted command id.
	Command(id CommandID) (*Command, error)
	// PutCommand stores c; an ID already stored is ErrDuplicate.
	PutCommand(c *Command) error
	// Enqueue appends the stored command id to r's queue and returns its
	// sequence number there: numbers of one queue increase in commit
	// order, so a recipient that acknowledges through a number never
	// misses a command committed later.
	Enqueue(r Recipient, id CommandID) (uint64, error)
	// Pending returns up to max commands of r's queue, oldest first.
	Pending(r Recipient, max int) ([]Queued, error)
	// Ack removes the commands of r's queue up to and including through.
	Ack(r Recipient, through uint64) error
}
