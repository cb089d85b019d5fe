package store_test

import (
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
