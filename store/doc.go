// Package store is durable key-value storage with atomic batches, for the
// state of the device applet and the vehicle reader (docs/design.md, "State,
// secrets and durability").
//
// It knows nothing of keys or protocols. A consumer (package device,
// package vehicle) defines the small interface it needs, which [Memory] and
// store/bolt's Store satisfy:
//
//	Write(ops []store.Op) error        // one atomic batch of puts and deletes
//	Get(key []byte) ([]byte, error)    // ErrNotFound when absent
//	Scan(prefix []byte, fn func(key, value []byte) error) error
//	Close() error
//
// and owns the encoding of its records: versioned, and sealed where they
// hold secrets. A batch is applied whole or not at all, and once Write
// returns nil it survives a crash of the process (store/bolt: and of the
// machine, after fsync). Scan visits keys in byte order.
//
// [Memory] keeps everything in process memory, for tests and for
// applications that persist nothing; store/bolt keeps one file, on
// go.etcd.io/bbolt.
//
// # Where the project chose
//
//   - Keys are at most MaxKeySize bytes and values at most MaxValueSize;
//     a batch holds at most MaxBatchOps operations. Records of the device
//     and the vehicle are far smaller; the limits keep a bug from filling a
//     disk.
//   - Values passed to Scan's callback are valid only during the call (as
//     in bbolt, which hands out its memory map); Get returns a copy.
package store
