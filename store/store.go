package store

import (
	"errors"
	"fmt"
)

// Limits on keys, values and batches.
const (
	// MaxKeySize bounds the size of a key.
	MaxKeySize = 512
	// MaxValueSize bounds the size of a value.
	MaxValueSize = 16 << 20
	// MaxBatchOps bounds the operations of one batch.
	MaxBatchOps = 1 << 16
)

// Errors of every implementation.
var (
	// ErrNotFound reports a key that holds no value.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed reports a call on a closed store.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt reports storage that cannot be read as written: a
	// truncated or damaged file.
	ErrCorrupt = errors.New("store: storage is corrupt")
	// ErrInvalid reports an operation outside the limits: an empty or
	// oversized key, an oversized value, a batch too large.
	ErrInvalid = errors.New("store: invalid operation")
)

// Op is one operation of a batch: a put of Value under Key, or the delete
// of Key. A batch applies its operations in order.
type Op struct {
	Key    []byte
	Value  []byte
	Delete bool
}

// Put returns the operation that stores value under key.
func Put(key, value []byte) Op { return Op{Key: key, Value: value} }

// Delete returns the operation that deletes key. Deleting an absent key is
// not an error.
func Delete(key []byte) Op { return Op{Key: key, Delete: true} }

// Check validates a batch against the limits, for implementations to call
// before they apply anything.
func Check(ops []Op) error {
	if len(ops) > MaxBatchOps {
		return fmt.Errorf("%w: batch of %d operations, more than %d", ErrInvalid, len(ops), MaxBatchOps)
	}
	for i := range ops {
		if err := CheckKey(ops[i].Key); err != nil {
			return err
		}
		if !ops[i].Delete && len(ops[i].Value) > MaxValueSize {
			return fmt.Errorf("%w: value of %d bytes, more than %d", ErrInvalid, len(ops[i].Value), MaxValueSize)
		}
	}
	return nil
}

// CheckKey validates a key: 1 to MaxKeySize bytes.
func CheckKey(key []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes", ErrInvalid, len(key))
	}
	return nil
}
