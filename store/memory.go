package store

import (
	"bytes"
	"slices"
	"strings"
	"sync"
)

// Memory is a store in process memory: the contents live as long as the
// process, and handles from Reopen share them, as two opens of one file
// would. It is safe for concurrent use. The zero value is an empty open
// store, as NewMemory returns.
type Memory struct {
	data   *memData   // nil in the zero value until first use
	mu     sync.Mutex // guards data and closed
	closed bool
}

type memData struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{data: &memData{m: make(map[string][]byte)}}
}

// Reopen returns a new open handle on the contents of m, which may be
// closed: what a restarted program sees when it opens the same file.
func (m *Memory) Reopen() *Memory {
	d, _ := m.contents()
	return &Memory{data: d}
}

// contents returns the contents of m, made on first use of a zero Memory,
// and ErrClosed when this handle is closed.
func (m *Memory) contents() (*memData, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		m.data = &memData{m: make(map[string][]byte)}
	}
	if m.closed {
		return m.data, ErrClosed
	}
	return m.data, nil
}

// Write applies ops atomically: all of them or, on an error, none.
func (m *Memory) Write(ops []Op) error {
	d, err := m.contents()
	if err != nil {
		return err
	}
	if err := Check(ops); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, op := range ops {
		if op.Delete {
			delete(d.m, string(op.Key))
		} else {
			d.m[string(op.Key)] = bytes.Clone(op.Value)
		}
	}
	return nil
}

// Get returns a copy of the value under key, or ErrNotFound.
func (m *Memory) Get(key []byte) ([]byte, error) {
	d, err := m.contents()
	if err != nil {
		return nil, err
	}
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	v, ok := d.m[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Scan calls fn for every key that starts with prefix, in byte order, on a
// snapshot taken when Scan starts; it stops at the first error fn returns
// and returns it.
func (m *Memory) Scan(prefix []byte, fn func(key, value []byte) error) error {
	d, err := m.contents()
	if err != nil {
		return err
	}
	d.mu.RLock()
	type kv struct{ k, v []byte }
	var snap []kv
	for k, v := range d.m {
		if strings.HasPrefix(k, string(prefix)) {
			snap = append(snap, kv{[]byte(k), bytes.Clone(v)})
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(snap, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	for _, e := range snap {
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// Close closes this handle; the contents stay for Reopen. Closing twice is
// not an error.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Len returns the number of keys held, for tests.
func (m *Memory) Len() int {
	d, _ := m.contents()
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.m)
}
