package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/internal/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t,
		func(*testing.T) storetest.Store { return store.NewMemory() },
		func(t *testing.T, s storetest.Store) storetest.Store {
			m := s.(*store.Memory)
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			return m.Reopen()
		})
}

// TestZeroMemoryMisuse: a Memory not made by NewMemory (the zero value,
// new(Memory)) is an empty open store: it passes the conformance suite,
// and each of Write, Get, Scan, Len, Reopen and Close works on it first.
func TestZeroMemoryMisuse(t *testing.T) {
	storetest.Run(t,
		func(*testing.T) storetest.Store { return new(store.Memory) },
		func(t *testing.T, s storetest.Store) storetest.Store {
			m := s.(*store.Memory)
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			return m.Reopen()
		})
	first := map[string]func(m *store.Memory) error{
		"Write": func(m *store.Memory) error { return m.Write([]store.Op{store.Put([]byte("k"), []byte("v"))}) },
		"Get": func(m *store.Memory) error {
			if _, err := m.Get([]byte("k")); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("Get = %w, want ErrNotFound", err)
			}
			return nil
		},
		"Scan": func(m *store.Memory) error {
			return m.Scan(nil, func(k, _ []byte) error { return fmt.Errorf("key %q in an empty store", k) })
		},
		"Len": func(m *store.Memory) error {
			if n := m.Len(); n != 0 {
				return fmt.Errorf("Len() = %d", n)
			}
			return nil
		},
		"Reopen": func(m *store.Memory) error {
			r := m.Reopen()
			if err := r.Write([]store.Op{store.Put([]byte("k"), []byte("v"))}); err != nil {
				return err
			}
			if v, err := m.Get([]byte("k")); err != nil || string(v) != "v" {
				return fmt.Errorf("the reopened handle's write reads back %q, %v", v, err)
			}
			return nil
		},
		"Close": func(m *store.Memory) error {
			if err := m.Close(); err != nil {
				return err
			}
			if err := m.Write(nil); !errors.Is(err, store.ErrClosed) {
				return fmt.Errorf("Write after Close = %w, want ErrClosed", err)
			}
			return nil
		},
	}
	for name, f := range first {
		t.Run(name, func(t *testing.T) {
			var m store.Memory
			if err := f(&m); err != nil {
				t.Errorf("%s on a zero Memory: %v", name, err)
			}
		})
	}
}

func TestMemoryLen(t *testing.T) {
	m := store.NewMemory()
	if err := m.Write([]store.Op{store.Put([]byte("a"), nil), store.Put([]byte("b"), nil), store.Delete([]byte("a"))}); err != nil {
		t.Fatal(err)
	}
	if n := m.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
}

func ExampleMemory() {
	m := store.NewMemory()
	_ = m.Write([]store.Op{store.Put([]byte("key/2"), []byte("two")), store.Put([]byte("key/1"), []byte("one")), store.Put([]byte("other"), nil)})
	_ = m.Scan([]byte("key/"), func(k, v []byte) error {
		fmt.Printf("%s=%s\n", k, v)
		return nil
	})
	// Output:
	// key/1=one
	// key/2=two
}
