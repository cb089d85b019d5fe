package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/store"
)

// Store is what the device and the vehicle consume.
type Store interface {
	Write(ops []store.Op) error
	Get(key []byte) ([]byte, error)
	Scan(prefix []byte, fn func(key, value []byte) error) error
	Close() error
}

// Run runs the conformance tests. open returns a new, empty store;
// reopen, when not nil, closes s and returns a new handle on the same
// contents.
func Run(t *testing.T, open func(t *testing.T) Store, reopen func(t *testing.T, s Store) Store) {
	t.Run("PutGetDelete", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		if _, err := s.Get([]byte("a")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(absent) = %v, want ErrNotFound", err)
		}
		val := []byte("value")
		if err := s.Write([]store.Op{store.Put([]byte("a"), val), store.Put([]byte("b"), nil)}); err != nil {
			t.Fatal(err)
		}
		val[0] = 'X' // the store keeps its own copy
		got, err := s.Get([]byte("a"))
		if err != nil || string(got) != "value" {
			t.Fatalf("Get(a) = %q, %v", got, err)
		}
		got[0] = 'Y' // and hands out copies
		if got, _ := s.Get([]byte("a")); string(got) != "value" {
			t.Fatalf("Get(a) after changing a returned copy = %q", got)
		}
		if got, err := s.Get([]byte("b")); err != nil || len(got) != 0 {
			t.Fatalf("Get(b) = %q, %v, want empty", got, err)
		}
		if err := s.Write([]store.Op{store.Delete([]byte("a")), store.Delete([]byte("absent"))}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get([]byte("a")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(deleted) = %v", err)
		}
	})
	t.Run("BatchOrder", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		err := s.Write([]store.Op{store.Put([]byte("k"), []byte("1")), store.Delete([]byte("k")), store.Put([]byte("k"), []byte("2"))})
		if got, _ := s.Get([]byte("k")); err != nil || string(got) != "2" {
			t.Fatalf("Get after put, delete, put = %q, %v", got, err)
		}
	})
	t.Run("InvalidBatchAppliesNothing", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		for _, ops := range [][]store.Op{
			{store.Put([]byte("ok"), nil), store.Put(nil, []byte("x"))},
			{store.Put([]byte("ok"), nil), store.Put(bytes.Repeat([]byte("k"), store.MaxKeySize+1), nil)},
			{store.Put([]byte("ok"), nil), store.Put([]byte("big"), make([]byte, store.MaxValueSize+1))},
			make([]store.Op, store.MaxBatchOps+1),
		} {
			if err := s.Write(ops); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Write(invalid batch of %d) = %v, want ErrInvalid", len(ops), err)
			}
			if _, err := s.Get([]byte("ok")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an invalid batch applied part of itself: %v", err)
			}
		}
		if _, err := s.Get(nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Get(nil) = %v, want ErrInvalid", err)
		}
	})
	t.Run("Scan", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		var ops []store.Op
		for _, k := range []string{"k/2", "k/10", "k/1", "j", "l", "k"} {
			ops = append(ops, store.Put([]byte(k), []byte("v"+k)))
		}
		if err := s.Write(ops); err != nil {
			t.Fatal(err)
		}
		var seen []string
		err := s.Scan([]byte("k/"), func(k, v []byte) error {
			if string(v) != "v"+string(k) {
				return fmt.Errorf("value %q under %q", v, k)
			}
			seen = append(seen, string(k))
			return nil
		})
		if got := strings.Join(seen, " "); err != nil || got != "k/1 k/10 k/2" {
			t.Fatalf("Scan(k/) = %q, %v", got, err)
		}
		stop := errors.New("stop")
		n := 0
		err = s.Scan(nil, func(k, v []byte) error {
			if n++; n == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 2 {
			t.Fatalf("Scan stopped by its callback = %v after %d keys", err, n)
		}
		n = 0
		if err := s.Scan(nil, func(k, v []byte) error { n++; return nil }); err != nil || n != 6 {
			t.Fatalf("Scan(all) = %d keys, %v", n, err)
		}
	})
	t.Run("Closed", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if err := s.Write([]store.Op{store.Put([]byte("a"), nil)}); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Write after Close = %v", err)
		}
		if _, err := s.Get([]byte("a")); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Get after Close = %v", err)
		}
		if err := s.Scan(nil, func(k, v []byte) error { return nil }); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Scan after Close = %v", err)
		}
	})
	if reopen == nil {
		return
	}
	t.Run("Reopen", func(t *testing.T) {
		s := open(t)
		if err := s.Write([]store.Op{store.Put([]byte("a"), []byte("1")), store.Put([]byte("b"), []byte("2"))}); err != nil {
			t.Fatal(err)
		}
		if err := s.Write([]store.Op{store.Delete([]byte("b"))}); err != nil {
			t.Fatal(err)
		}
		s = reopen(t, s)
		defer s.Close()
		if got, err := s.Get([]byte("a")); err != nil || string(got) != "1" {
			t.Fatalf("Get(a) after reopening = %q, %v", got, err)
		}
		if _, err := s.Get([]byte("b")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(b) after reopening = %v", err)
		}
	})
}
