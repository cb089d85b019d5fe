package seal

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/store"
)

// Backend is the store a section lives in: the methods of store.Memory
// and store/bolt's Store that a section uses.
type Backend interface {
	Write(ops []store.Op) error
	Get(key []byte) ([]byte, error)
	Scan(prefix []byte, fn func(key, value []byte) error) error
}

// headerName is the name of the header record in a section; record names
// are chosen by the role and never start with '#'.
const headerName = "#header"

// Section is the records of one role under a key prefix of a store: a
// clear header, then records sealed by a Box. It is safe for concurrent
// use.
type Section struct {
	b      Backend
	prefix string
	box    *Box
}

// OpenSection opens the section of role under prefix in b with kek:
// ErrSchema for a header of another role or schema, ErrKEK for a kek that
// does not open it, ErrCorrupt for a damaged header. A store with no
// header under prefix gets a new section, whose header is written at once;
// fresh reports it.
func OpenSection(b Backend, prefix string, kek KEK, role string, schema uint16) (s *Section, fresh bool, err error) {
	if b == nil || kek == nil {
		return nil, false, errors.New("seal: a section needs a store and a key-encryption key")
	}
	s = &Section{b: b, prefix: prefix}
	raw, err := b.Get([]byte(prefix + headerName))
	switch {
	case errors.Is(err, store.ErrNotFound):
		box, h, err := NewBox(kek, role, schema)
		if err != nil {
			return nil, false, err
		}
		if err := b.Write([]store.Op{store.Put([]byte(prefix+headerName), h.Append(nil))}); err != nil {
			return nil, false, fmt.Errorf("seal: writing the header: %w", err)
		}
		s.box = box
		return s, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("seal: reading the header: %w", err)
	}
	h, err := ParseHeader(raw)
	if err != nil {
		return nil, false, err
	}
	if s.box, err = OpenBox(kek, &h, role, schema); err != nil {
		return nil, false, err
	}
	return s, false, nil
}

// key returns the store key of the record name.
func (s *Section) key(name string) []byte { return []byte(s.prefix + name) }

// Put appends to ops the operation that stores plaintext, sealed, as the
// record name.
func (s *Section) Put(ops []store.Op, name string, plaintext []byte) ([]store.Op, error) {
	if name == "" || name[0] == '#' {
		return ops, fmt.Errorf("seal: invalid record name %q", name)
	}
	v, err := s.box.Seal(nil, []byte(name), plaintext)
	if err != nil {
		return ops, err
	}
	return append(ops, store.Put(s.key(name), v)), nil
}

// Delete appends to ops the operation that deletes the record name. On a
// nil Section, the state of a role that stores nothing, it does nothing.
func (s *Section) Delete(ops []store.Op, name string) []store.Op {
	if s == nil {
		return ops
	}
	return append(ops, store.Delete(s.key(name)))
}

// Write applies ops atomically.
func (s *Section) Write(ops []store.Op) error {
	if len(ops) == 0 {
		return nil
	}
	return s.b.Write(ops)
}

// Get returns the plaintext of the record name, store.ErrNotFound when
// there is none, ErrCorrupt when it does not open.
func (s *Section) Get(name string) ([]byte, error) {
	v, err := s.b.Get(s.key(name))
	if err != nil {
		return nil, err
	}
	return s.box.Open(nil, []byte(name), v)
}

// Scan calls fn with the name and plaintext of every record whose name
// starts with prefix, in byte order; plaintext is valid only during the
// call, and erased after the scan. A record that does not open stops the
// scan with ErrCorrupt naming it.
func (s *Section) Scan(prefix string, fn func(name string, plaintext []byte) error) error {
	full := s.prefix + prefix
	var buf []byte
	defer func() { clear(buf[:cap(buf)]) }()
	return s.b.Scan([]byte(full), func(k, v []byte) error {
		name := string(k[len(s.prefix):])
		if name == headerName {
			return nil
		}
		var err error
		if buf, err = s.box.Open(buf[:0], []byte(name), v); err != nil {
			return err
		}
		return fn(name, buf)
	})
}
