package device

import (
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/store"
)

// The stored secure element's section of a store (package seal).
const (
	seRole   = "device/se"
	seSchema = 1
	sePrefix = "device/se/"
)

// StoredElement is a SecureElement that keeps its keys and secrets in a
// store, each record sealed under a key-encryption key: the default
// secure element of an applet with a Config.Store, and the second
// implementation of the interface beside SoftwareElement. It is a
// development and test-bench element (a virtual card, an emulator): the
// private keys are in the process while it signs, and as safe at rest as
// the key-encryption key. Every change is one atomic batch of the store.
// It is safe for concurrent use.
type StoredElement struct {
	sec  *seal.Section
	mu   sync.Mutex
	keys map[KeyID]*dkey.SoftwareKey // loaded keys
}

var _ SecureElement = (*StoredElement)(nil)

// OpenStoredElement opens the element kept in st (its records under
// "device/se/", beside the applet's), sealed with kek. Errors are those of
// the applet's state: ErrStateKEK, ErrStateVersion, ErrStateCorrupt. It
// does not close st.
func OpenStoredElement(st Store, kek KeyEncryptionKey) (*StoredElement, error) {
	if st == nil || kek == nil {
		return nil, errors.New("device: a stored element needs a store and a key-encryption key")
	}
	sec, _, err := seal.OpenSection(st, sePrefix, kek, seRole, seSchema)
	if err != nil {
		return nil, stateError("opening the secure element", err)
	}
	return &StoredElement{sec: sec, keys: make(map[KeyID]*dkey.SoftwareKey)}, nil
}

func seKeyName(id KeyID) string { return fmt.Sprintf("k/%016x", uint64(id)) }

func seSecretPrefix(id KeyID) string { return fmt.Sprintf("s/%016x/", uint64(id)) }

func seSecretName(id SecretID) string {
	return fmt.Sprintf("%s%02x/%08x", seSecretPrefix(id.Key), uint8(id.Kind), id.Session)
}

// GenerateKey creates a key under id and stores it, with nothing else
// under id, in one batch.
func (e *StoredElement) GenerateKey(id KeyID) (crypto.Signer, error) {
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return e.put(id, k)
}

// ImportKey stores the key of scalar under id: test benches and
// provisioning only.
func (e *StoredElement) ImportKey(id KeyID, scalar []byte) (crypto.Signer, error) {
	k, err := dkey.NewSoftwareKey(scalar)
	if err != nil {
		return nil, fmt.Errorf("device: importing a key: %w", err)
	}
	return e.put(id, k)
}

func (e *StoredElement) put(id KeyID, k *dkey.SoftwareKey) (crypto.Signer, error) {
	if id == 0 {
		return nil, errors.New("device: key 0")
	}
	scalar, err := k.Bytes()
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	defer clear(scalar)
	e.mu.Lock()
	defer e.mu.Unlock()
	ops, err := e.deleteOps(id)
	if err != nil {
		return nil, err
	}
	if ops, err = e.sec.Put(ops, seKeyName(id), scalar); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if err := e.sec.Write(ops); err != nil {
		return nil, fmt.Errorf("device: storing a key: %w", err)
	}
	e.keys[id] = k
	return k, nil
}

// deleteOps returns the batch that deletes the key under id and its
// secrets. e.mu is held.
func (e *StoredElement) deleteOps(id KeyID) ([]store.Op, error) {
	ops := e.sec.Delete(nil, seKeyName(id))
	err := e.sec.Scan(seSecretPrefix(id), func(name string, _ []byte) error {
		ops = e.sec.Delete(ops, name)
		return nil
	})
	if err != nil {
		return nil, stateError("reading the secure element", err)
	}
	return ops, nil
}

// Key returns the key under id, loading it from the store.
func (e *StoredElement) Key(id KeyID) (crypto.Signer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k, ok := e.keys[id]; ok {
		return k, nil
	}
	scalar, err := e.sec.Get(seKeyName(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: key %d", ErrNoSecret, id)
	}
	if err != nil {
		return nil, stateError("reading the secure element", err)
	}
	defer clear(scalar)
	k, err := decodeStoredKey(scalar)
	if err != nil {
		return nil, stateError("reading the secure element", err)
	}
	e.keys[id] = k
	return k, nil
}

// hasKeyLocked reports whether the element holds a key under id: loaded,
// or stored. e.mu is held.
func (e *StoredElement) hasKeyLocked(id KeyID) bool {
	if _, ok := e.keys[id]; ok {
		return true
	}
	v, err := e.sec.Get(seKeyName(id))
	clear(v)
	return !errors.Is(err, store.ErrNotFound)
}

// decodeStoredKey parses the record of a stored key: its 32-byte scalar.
func decodeStoredKey(b []byte) (*dkey.SoftwareKey, error) {
	k, err := dkey.NewSoftwareKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: stored key: %w", seal.ErrCorrupt, err)
	}
	return k, nil
}

// DeleteKey deletes the key under id and its secrets in one batch.
func (e *StoredElement) DeleteKey(id KeyID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.hasKeyLocked(id) {
		// Nothing to delete: no write. (An applet that restarts deletes
		// the keys of its terminated records again.)
		empty := true
		_ = e.sec.Scan(seSecretPrefix(id), func(string, []byte) error { empty = false; return nil })
		if empty {
			delete(e.keys, id)
			return nil
		}
	}
	ops, err := e.deleteOps(id)
	if err != nil {
		return err
	}
	if err := e.sec.Write(ops); err != nil {
		return fmt.Errorf("device: deleting a key: %w", err)
	}
	delete(e.keys, id)
	return nil
}

// PutSecret stores secret under id.
func (e *StoredElement) PutSecret(id SecretID, secret []byte) error {
	if err := id.check(len(secret)); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.hasKeyLocked(id.Key) {
		return fmt.Errorf("%w: key %d", ErrNoSecret, id.Key)
	}
	ops, err := e.sec.Put(nil, seSecretName(id), secret)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if err := e.sec.Write(ops); err != nil {
		return fmt.Errorf("device: storing a secret: %w", err)
	}
	return nil
}

// Secret appends the secret under id to dst.
func (e *StoredElement) Secret(dst []byte, id SecretID) ([]byte, error) {
	v, err := e.sec.Get(seSecretName(id))
	if errors.Is(err, store.ErrNotFound) {
		return dst, fmt.Errorf("%w: %v of key %d", ErrNoSecret, id.Kind, id.Key)
	}
	if err != nil {
		return dst, stateError("reading the secure element", err)
	}
	defer clear(v)
	if err := id.check(len(v)); err != nil {
		return dst, stateError("reading the secure element", fmt.Errorf("%w: %w", seal.ErrCorrupt, err))
	}
	return append(dst, v...), nil
}

// DeleteSecret erases the secret under id.
func (e *StoredElement) DeleteSecret(id SecretID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.sec.Get(seSecretName(id)); errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err := e.sec.Write(e.sec.Delete(nil, seSecretName(id))); err != nil {
		return fmt.Errorf("device: deleting a secret: %w", err)
	}
	return nil
}

// String describes the element without its keys.
func (e *StoredElement) String() string { return "device.StoredElement{redacted}" }

// GoString is String: keys and secrets are never printed.
func (e *StoredElement) GoString() string { return e.String() }

// Format prints String for every verb.
func (e *StoredElement) Format(f fmt.State, _ rune) { fmt.Fprint(f, e.String()) }
