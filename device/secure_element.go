package device

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/opencarkey/sdk/dkey"
)

// KeyID names a key of the applet inside its secure element. The applet
// numbers its keys from 1, in creation order, and never reuses the number
// of a key it stored.
type KeyID uint64

// SecretKind is what a secret the secure element holds for a key is.
type SecretKind uint8

// The secrets of a key. Each is erased with the key (DeleteKey).
const (
	// SecretPersistent is the key's Kpersistent (transaction.
	// PersistentKeySize bytes): the secret of its fast transactions,
	// replaced after every standard transaction (docs/protocol.md §4.5). A
	// Home Key key holds one per lock, named by SecretID.Session.
	SecretPersistent SecretKind = 1
	// SecretPairing is the LONG_TERM_SHARED_SECRET of a key from owner
	// pairing (pairing.LongTermSecretSize bytes, docs/protocol.md §3.3).
	SecretPairing SecretKind = 2
	// SecretRanging is the UWB ranging key URSK (transaction.
	// RangingKeySize bytes) of one UWB session of the key, named by
	// SecretID.Session, the UWB session ID (docs/protocol.md §8.5): a key may
	// hold one per session, and the ranging setup stores and deletes them
	// one by one.
	SecretRanging SecretKind = 3
	// SecretBLE is Kble_intro ‖ Kble_oob_master (2 × pairing.BLEKeySize
	// bytes) of a key from owner pairing: the keys of the first approach
	// over BLE (docs/protocol.md §3.3, §8.1).
	SecretBLE SecretKind = 4
)

// String returns the name of the kind.
func (k SecretKind) String() string {
	switch k {
	case SecretPersistent:
		return "Kpersistent"
	case SecretPairing:
		return "pairing secret"
	case SecretRanging:
		return "ranging key"
	case SecretBLE:
		return "BLE keys"
	}
	return fmt.Sprintf("SecretKind(%d)", uint8(k))
}

// SecretID names a secret of a key: its kind and, for a ranging key, the
// UWB session ID; for the Kpersistent of a Home Key key, the number of the
// lock it is for (1 to MaxHomeKeyReaders, homekey.go); zero otherwise.
type SecretID struct {
	Key     KeyID
	Kind    SecretKind
	Session uint32
}

// maxSecretSize bounds a secret: the kinds above are 16 or 32 bytes.
const maxSecretSize = 64

// check validates id and the size of a secret for it.
func (id SecretID) check(n int) error {
	switch {
	case id.Key == 0:
		return errors.New("device: secret of key 0")
	case id.Kind < SecretPersistent || id.Kind > SecretBLE:
		return fmt.Errorf("device: unknown secret kind %v", id.Kind)
	case id.Kind == SecretPairing && id.Session != 0:
		return fmt.Errorf("device: a session ID for a %v", id.Kind)
	case n > maxSecretSize:
		return fmt.Errorf("device: secret of %d bytes", n)
	}
	return nil
}

// SecureElement holds every secret of the applet: the long-term private
// keys of its endpoints, which never leave it (the applet sees only
// crypto.Signer handles), and the secrets each key accumulates —
// Kpersistent, the pairing LONG_TERM_SHARED_SECRET, the ranging keys of
// its UWB sessions. A phone's embedded secure element, an HSM through
// PKCS#11 or a test double can implement it; [SoftwareElement] keeps
// everything in process memory and is the default without a store, and
// [StoredElement] keeps it sealed in a store, the default with one.
//
// Errors: a key or a secret that is not there is ErrNoSecret. Each method
// is atomic, and once it returns nil its change survives a restart of a
// persistent element. Implementations must be safe for concurrent use.
type SecureElement interface {
	// GenerateKey creates a new P-256 key pair under id and returns its
	// handle, replacing whatever id held (a key whose creation a crash
	// interrupted). Signatures from the handle are ECDSA over SHA-256
	// digests (crypto.SHA256 options), DER encoded.
	GenerateKey(id KeyID) (crypto.Signer, error)
	// ImportKey stores the P-256 private key whose scalar is the 32
	// bytes of scalar under id, as GenerateKey does. It exists for test
	// benches and provisioning lines only: a key that was ever outside a
	// secure element is not a secure element's key, and a production
	// phone never imports one.
	ImportKey(id KeyID, scalar []byte) (crypto.Signer, error)
	// Key returns the handle of the key under id, for an applet that
	// restarts.
	Key(id KeyID) (crypto.Signer, error)
	// DeleteKey destroys the key under id and every secret held for it,
	// so that nothing signs with it or uses its secrets again. Deleting
	// an absent key is not an error.
	DeleteKey(id KeyID) error
	// PutSecret stores secret under id, replacing the one it held. The
	// key id must exist.
	PutSecret(id SecretID, secret []byte) error
	// Secret appends the secret under id to dst.
	Secret(dst []byte, id SecretID) ([]byte, error)
	// DeleteSecret erases the secret under id. Deleting an absent secret
	// is not an error.
	DeleteSecret(id SecretID) error
}

// SoftwareElement is a SecureElement that keeps keys and secrets in
// process memory: the default backend without a store, for tests,
// examples and development devices. It offers none of the protection of a
// real secure element, and forgets everything with the process. The zero
// value is an empty element.
type SoftwareElement struct {
	mu      sync.Mutex
	keys    map[KeyID]*dkey.SoftwareKey
	secrets map[SecretID][]byte
}

var _ SecureElement = (*SoftwareElement)(nil)

// NewSoftwareElement returns an empty SoftwareElement.
func NewSoftwareElement() *SoftwareElement { return &SoftwareElement{} }

func (e *SoftwareElement) init() {
	if e.keys == nil {
		e.keys = make(map[KeyID]*dkey.SoftwareKey)
		e.secrets = make(map[SecretID][]byte)
	}
}

// GenerateKey returns a new dkey.SoftwareKey under id.
func (e *SoftwareElement) GenerateKey(id KeyID) (crypto.Signer, error) {
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return e.put(id, k)
}

// ImportKey stores the key of scalar under id: test benches and
// provisioning only.
func (e *SoftwareElement) ImportKey(id KeyID, scalar []byte) (crypto.Signer, error) {
	k, err := dkey.NewSoftwareKey(scalar)
	if err != nil {
		return nil, fmt.Errorf("device: importing a key: %w", err)
	}
	return e.put(id, k)
}

func (e *SoftwareElement) put(id KeyID, k *dkey.SoftwareKey) (crypto.Signer, error) {
	if id == 0 {
		return nil, errors.New("device: key 0")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.init()
	e.deleteLocked(id)
	e.keys[id] = k
	return k, nil
}

// Key returns the key under id.
func (e *SoftwareElement) Key(id KeyID) (crypto.Signer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k, ok := e.keys[id]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: key %d", ErrNoSecret, id)
}

// DeleteKey forgets the key under id and erases its secrets. The Go
// runtime gives no way to erase the scalar inside crypto/ecdsa; a real
// secure element destroys it.
func (e *SoftwareElement) DeleteKey(id KeyID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleteLocked(id)
	return nil
}

func (e *SoftwareElement) deleteLocked(id KeyID) {
	delete(e.keys, id)
	for s, v := range e.secrets {
		if s.Key == id {
			clear(v)
			delete(e.secrets, s)
		}
	}
}

// PutSecret stores secret under id.
func (e *SoftwareElement) PutSecret(id SecretID, secret []byte) error {
	if err := id.check(len(secret)); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.keys[id.Key]; !ok {
		return fmt.Errorf("%w: key %d", ErrNoSecret, id.Key)
	}
	if old, ok := e.secrets[id]; ok {
		clear(old)
	}
	e.secrets[id] = bytes.Clone(secret)
	return nil
}

// Secret appends the secret under id to dst.
func (e *SoftwareElement) Secret(dst []byte, id SecretID) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.secrets[id]
	if !ok {
		return dst, fmt.Errorf("%w: %v of key %d", ErrNoSecret, id.Kind, id.Key)
	}
	return append(dst, v...), nil
}

// DeleteSecret erases the secret under id.
func (e *SoftwareElement) DeleteSecret(id SecretID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.secrets[id]; ok {
		clear(v)
		delete(e.secrets, id)
	}
	return nil
}

// String describes the element without its keys.
func (e *SoftwareElement) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("device.SoftwareElement{%d keys, %d secrets}", len(e.keys), len(e.secrets))
}

// GoString is String: keys and secrets are never printed.
func (e *SoftwareElement) GoString() string { return e.String() }

// Format prints String for every verb.
func (e *SoftwareElement) Format(f fmt.State, _ rune) { fmt.Fprint(f, e.String()) }
