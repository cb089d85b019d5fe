// Package bolt is a store in one file, on go.etcd.io/bbolt (pure Go,
// ACID): the default durable store of the device applet and the vehicle
// reader, with the methods their store interfaces ask for (package store) (docs/design.md, "State, secrets and
// durability").
//
// Every Write is one bbolt read-write transaction: it commits whole or not
// at all, and returns after fsync, so a batch that Write acknowledged
// survives a crash of the process or of the machine. A file holds one
// bucket of keys and values; the consumer's records (package device,
// package vehicle) are versioned and sealed by the consumer.
//
// # Where the project chose
//
//   - One process opens a file at a time: Open takes bbolt's exclusive file
//     lock and waits at most Options.Timeout for it.
//   - A damaged file is an error, never a panic: Open refuses a file whose
//     meta pages do not validate, whose pages extend beyond its end (a
//     truncated file) or whose records cannot all be read, with an error
//     wrapping store.ErrCorrupt; a fault or panic inside bbolt while
//     reading or writing is turned into the same error, and the store then
//     refuses every call.
package bolt
