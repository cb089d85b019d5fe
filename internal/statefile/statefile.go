package statefile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/bolt"
)

// KEKSize is the size of the key in a key-encryption key file.
const KEKSize = 32

// The program's own section of a state file.
const (
	benchPrefix = "bench/"
	benchRole   = "bench"
	benchSchema = 1
	// keyPrefix names the key records in the section.
	keyPrefix = "key/"
)

// Errors of Open and of the records.
var (
	// ErrNoKEK reports a state file that exists without its key-encryption
	// key file.
	ErrNoKEK = errors.New("statefile: the state file exists but its key-encryption key file does not")
	// ErrKEKFile reports a key-encryption key file that does not hold
	// KEKSize bytes.
	ErrKEKFile = errors.New("statefile: invalid key-encryption key file")
	// ErrRecord reports a key record that does not hold a P-256 scalar.
	ErrRecord = errors.New("statefile: invalid key record")
)

// File is an open state file.
type File struct {
	// Store is the state file. Hand it to device.Config.Store or
	// vehicle.Config.Store, which closes it; otherwise close it.
	Store *bolt.Store
	// KEK is the key-encryption key of the key file: device.Config.KEK or
	// vehicle.Config.KEK.
	KEK seal.KEK
	// Path and KEKPath are the paths of the state file and of its key
	// file.
	Path, KEKPath string
	// Created reports that Open created the state file, and KEKCreated
	// that it created its key file (a key file may serve several state
	// files).
	Created, KEKCreated bool

	sec *seal.Section
}

// Open opens the state file at path, creating it when it does not exist,
// and its key-encryption key in kekPath (path + ".kek" when empty),
// creating the key file, KEKSize random bytes with mode 0600, along with a
// new state file. A state file that exists without its key file is
// refused with ErrNoKEK. The state file is locked while it is open: a
// second Open, from this process or another, waits for it (up to
// bolt.DefaultTimeout) and then fails.
func Open(path, kekPath string) (*File, error) {
	if path == "" {
		return nil, errors.New("statefile: no state file named")
	}
	if kekPath == "" {
		kekPath = path + ".kek"
	}
	_, err := os.Stat(path)
	created := errors.Is(err, fs.ErrNotExist)
	if err != nil && !created {
		return nil, fmt.Errorf("statefile: %w", err)
	}
	key, err := os.ReadFile(kekPath)
	newKEK := false
	switch {
	case errors.Is(err, fs.ErrNotExist) && !created:
		return nil, fmt.Errorf("%w: %s has no %s", ErrNoKEK, path, kekPath)
	case errors.Is(err, fs.ErrNotExist):
		if key, err = newKEKFile(kekPath); err != nil {
			return nil, err
		}
		newKEK = true
	case err != nil:
		return nil, fmt.Errorf("statefile: reading the key-encryption key: %w", err)
	}
	defer clear(key)
	if len(key) != KEKSize {
		return nil, fmt.Errorf("%w: %s holds %d bytes, want %d", ErrKEKFile, kekPath, len(key), KEKSize)
	}
	kek, err := seal.NewSoftwareKEK(key)
	if err != nil {
		return nil, fmt.Errorf("statefile: %w", err)
	}
	st, err := bolt.Open(path, nil)
	if err != nil {
		if newKEK {
			// Nothing to seal: the key file made for it goes too.
			os.Remove(kekPath)
		}
		return nil, fmt.Errorf("statefile: opening %s: %w", path, err)
	}
	return &File{Store: st, KEK: kek, Path: path, KEKPath: kekPath, Created: created, KEKCreated: newKEK}, nil
}

// newKEKFile creates the key file at path with a new key and returns the
// key. It never replaces a file.
func newKEKFile(path string) ([]byte, error) {
	key := make([]byte, KEKSize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("statefile: creating the key-encryption key: %w", err)
	}
	_, err = f.Write(key)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("statefile: creating the key-encryption key: %w", err)
	}
	return key, nil
}

// section opens the program's section of the file, once.
func (f *File) section() (*seal.Section, error) {
	if f.sec != nil {
		return f.sec, nil
	}
	sec, _, err := seal.OpenSection(f.Store, benchPrefix, f.KEK, benchRole, benchSchema)
	if err != nil {
		return nil, fmt.Errorf("statefile: %s: %w", f.Path, err)
	}
	f.sec = sec
	return sec, nil
}

// Get returns the program's record name, sealed in the file, or an error
// wrapping store.ErrNotFound when there is none.
func (f *File) Get(name string) ([]byte, error) {
	sec, err := f.section()
	if err != nil {
		return nil, err
	}
	b, err := sec.Get(name)
	if err != nil {
		return nil, fmt.Errorf("statefile: record %q: %w", name, err)
	}
	return b, nil
}

// Put stores b as the program's record name, sealed, in one batch.
func (f *File) Put(name string, b []byte) error {
	sec, err := f.section()
	if err != nil {
		return err
	}
	ops, err := sec.Put(nil, name, b)
	if err == nil {
		err = sec.Write(ops)
	}
	if err != nil {
		return fmt.Errorf("statefile: record %q: %w", name, err)
	}
	return nil
}

// SigningKey returns the software P-256 key stored under name in the
// file, creating and storing a new one when there is none; created
// reports it. TEST BENCH ONLY: the key is as safe as the state file and its
// key file together.
func (f *File) SigningKey(name string) (key *dkey.SoftwareKey, created bool, err error) {
	rec := keyPrefix + name
	raw, err := f.Get(rec)
	switch {
	case err == nil:
		defer clear(raw)
		if len(raw) != dkey.CoordinateSize {
			return nil, false, fmt.Errorf("%w: %q holds %d bytes", ErrRecord, name, len(raw))
		}
		k, err := dkey.NewSoftwareKey(raw)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %q: %w", ErrRecord, name, err)
		}
		return k, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, false, err
	}
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, false, err
	}
	raw, err = k.Bytes()
	if err != nil {
		return nil, false, err
	}
	defer clear(raw)
	if err := f.Put(rec, raw); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// Close closes the state file, unless its Store was handed over.
func (f *File) Close() error { return f.Store.Close() }
