package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/opencarkey/sdk/store"
)

// bucket is the one bucket of a file.
var bucket = []byte("opencarkey")

// DefaultTimeout is how long Open waits for the file lock by default.
const DefaultTimeout = 5 * time.Second

// Options configures Open. The zero value works.
type Options struct {
	// Timeout bounds the wait for the file lock held by another process;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Mode is the permission of a new file; zero means 0600.
	Mode os.FileMode
	// NoSync skips the fsync of each commit. A batch then survives the
	// death of the process (the operating system holds the pages) but not
	// a crash of the machine or a power cut. It is for tests that kill
	// processes, never for a car or a phone.
	NoSync bool
}

// Store is a store in one bbolt file. It is safe for concurrent use.
type Store struct {
	db *bbolt.DB
	mu sync.Mutex
	// broken is set when bbolt failed in a way that leaves the file in
	// doubt: every later call fails with it.
	broken error
	closed bool
}

// Open opens the store in the file at path, creating it when it does not
// exist. A file that is not a bbolt file, or a damaged one, gives an error
// wrapping store.ErrCorrupt.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	db, err := openDB(path, o)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db}
	if err := s.check(path); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openDB(path string, o Options) (db *bbolt.DB, err error) {
	// bbolt.Open may panic on a damaged file, after it opened and locked
	// it: keep the file to close it then.
	var f *os.File
	defer func() {
		if r := recover(); r != nil {
			if f != nil {
				// Its memory map keeps the file, and the lock, alive:
				// release the lock itself (the map leaks).
				unlock(f)
				f.Close()
			}
			db, err = nil, fmt.Errorf("%w: bolt: opening %s: %v", store.ErrCorrupt, path, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = os.OpenFile(name, flag, perm)
		return f, err
	}
	db, err = bbolt.Open(path, o.Mode, &bbolt.Options{Timeout: o.Timeout, OpenFile: openFile, NoSync: o.NoSync, NoGrowSync: o.NoSync})
	if err != nil {
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) ||
			errors.Is(err, berrors.ErrInvalidMapping) ||
			// bbolt has no sentinel for a file shorter than its two
			// meta pages.
			bytes.Contains([]byte(err.Error()), []byte("file size too small")) {
			return nil, fmt.Errorf("%w: bolt: opening %s: %w", store.ErrCorrupt, path, err)
		}
		return nil, fmt.Errorf("bolt: opening %s: %w", path, err)
	}
	return db, nil
}

// check refuses a truncated file (pages beyond its end would fault when
// read) and reads every record once, so that a damaged page fails Open
// rather than a later call.
func (s *Store) check(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	return s.guard(func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			if tx.Size() > info.Size() {
				return fmt.Errorf("%w: bolt: %s holds %d bytes, its pages %d (truncated)", store.ErrCorrupt, path, info.Size(), tx.Size())
			}
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			n := 0
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					return fmt.Errorf("%w: bolt: nested bucket %x", store.ErrCorrupt, k)
				}
				if n++; len(k) == 0 || len(k) > store.MaxKeySize || len(v) > store.MaxValueSize {
					return fmt.Errorf("%w: bolt: record %d of %d bytes under a key of %d", store.ErrCorrupt, n, len(v), len(k))
				}
				return nil
			})
		})
	})
}

// guard runs f with faults turned into panics, and a panic inside bbolt
// into store.ErrCorrupt, after which the store refuses every call.
func (s *Store) guard(f func() error) (err error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return store.ErrClosed
	case s.broken != nil:
		s.mu.Unlock()
		return s.broken
	}
	s.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: bolt: %v", store.ErrCorrupt, r)
			s.mu.Lock()
			s.broken = err
			s.mu.Unlock()
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return f()
}

// Write applies ops in one bbolt transaction, committed and synced to disk
// before it returns; on an error nothing is applied.
func (s *Store) Write(ops []store.Op) error {
	if err := store.Check(ops); err != nil {
		return err
	}
	return s.guard(func() error {
		return s.db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return fmt.Errorf("bolt: %w", err)
			}
			for _, op := range ops {
				if op.Delete {
					err = b.Delete(op.Key)
				} else {
					// bbolt keeps the slice until the commit: give it
					// its own copy.
					err = b.Put(op.Key, bytes.Clone(op.Value))
				}
				if errors.Is(err, berrors.ErrIncompatibleValue) {
					// The file holds no nested bucket: a damaged page
					// says it does.
					return fmt.Errorf("%w: bolt: %w", store.ErrCorrupt, err)
				}
				if err != nil {
					return fmt.Errorf("bolt: %w", err)
				}
			}
			return nil
		})
	})
}

// Get returns a copy of the value under key, or store.ErrNotFound.
func (s *Store) Get(key []byte) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	var out []byte
	err := s.guard(func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return store.ErrNotFound
			}
			v := b.Get(key)
			if v == nil {
				return store.ErrNotFound
			}
			out = bytes.Clone(v)
			return nil
		})
	})
	return out, err
}

// Scan calls fn for every key that starts with prefix, in byte order,
// inside one read transaction; it stops at the first error fn returns and
// returns it. key and value are valid only during the call.
func (s *Store) Scan(prefix []byte, fn func(key, value []byte) error) error {
	return s.guard(func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if err := fn(k, v); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// Close closes the file. Closing twice is not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	return nil
}
