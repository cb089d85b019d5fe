package bolt_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/bolt"
	"github.com/opencarkey/sdk/store/internal/storetest"
)

func TestStore(t *testing.T) {
	paths := map[storetest.Store]string{}
	storetest.Run(t,
		func(t *testing.T) storetest.Store {
			p := filepath.Join(t.TempDir(), "state.db")
			s, err := bolt.Open(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			paths[s] = p
			return s
		},
		func(t *testing.T, s storetest.Store) storetest.Store {
			p := paths[s]
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			n, err := bolt.Open(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			return n
		})
}

// noSync spares the damaged-file tests thousands of fsyncs.
var noSync = &bolt.Options{NoSync: true}

// filled returns the path of a closed store file holding a few records.
func filled(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "state.db")
	s, err := bolt.Open(p, noSync)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.Write([]store.Op{store.Put(fmt.Appendf(nil, "key/%03d", i), make([]byte, 100+i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// intact reports whether s holds the records filled wrote, or the error
// that stopped it from reading them.
func intact(s *bolt.Store) error {
	n := 0
	err := s.Scan(nil, func(k, v []byte) error {
		if want := fmt.Sprintf("key/%03d", n); string(k) != want || len(v) != 100+n {
			return fmt.Errorf("record %d: %q of %d bytes", n, k, len(v))
		}
		n++
		return nil
	})
	if err == nil && n != 50 {
		err = fmt.Errorf("%d records", n)
	}
	return err
}

// TestDamagedFile opens files cut short and files with a byte flipped at
// offsets all over: never a panic or a crash. A file that opens either
// holds its records (a cut or a flip in unused space) or fails with
// store.ErrCorrupt; every other error is store.ErrCorrupt.
func TestDamagedFile(t *testing.T) {
	p := filled(t)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 100, 4096, 8192, len(good) / 2, len(good) - 4096, len(good) - 1} {
		if err := os.WriteFile(p, good[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := bolt.Open(p, nil)
		if err == nil {
			err = intact(s)
			s.Close()
		}
		if err != nil && !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("file cut to %d of %d bytes: %v, want ErrCorrupt", n, len(good), err)
		}
	}
	step := 41
	if testing.Short() {
		step = 211
	}
	corrupt, changed := 0, 0
	for off := 0; off < len(good); off += step {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0x55
		// A new file each time: rewriting one bbolt mapped is slow.
		p := filepath.Join(filepath.Dir(p), fmt.Sprintf("flip%d.db", off))
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		s, err := bolt.Open(p, noSync)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("Open(byte %d flipped) = %v, want ErrCorrupt", off, err)
			}
			corrupt++
			continue
		}
		// What opens reads and writes without a panic. (bbolt checksums
		// only its meta pages: a flip in a value goes unseen here, and
		// the consumer's sealed records catch it; a flip in a page header
		// may make a write fail with an I/O error.)
		if err := intact(s); err != nil && !errors.Is(err, store.ErrCorrupt) {
			changed++ // a flip in a key or a value: the scan read it
		}
		_ = s.Write([]store.Op{store.Put([]byte("key/new"), []byte("x"))})
		s.Close()
	}
	t.Logf("%d of %d flips refused at Open, %d changed a record", corrupt, (len(good)+step-1)/step, changed)
}

// TestNoSync: without fsync a batch is still whole and still there for the
// next open (the process's death does not lose the operating system's
// pages).
func TestNoSync(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.db")
	s, err := bolt.Open(p, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]store.Op{store.Put([]byte("a"), []byte("1"))}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = bolt.Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Errorf("Get after a NoSync write = %q, %v", v, err)
	}
}

func TestNotABoltFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(p, make([]byte, 1<<14), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(p, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Open(zeros) = %v, want ErrCorrupt", err)
	}
	if _, err := bolt.Open(filepath.Join(t.TempDir(), "no", "such", "dir"), nil); err == nil || errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Open(missing directory) = %v, want an I/O error", err)
	}
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	s, err := bolt.Open(filepath.Join(dir, "state.db"), nil)
	if err != nil {
		panic(err)
	}
	_ = s.Write([]store.Op{store.Put([]byte("greeting"), []byte("hello"))})
	s.Close()
	s, _ = bolt.Open(filepath.Join(dir, "state.db"), nil)
	defer s.Close()
	v, _ := s.Get([]byte("greeting"))
	fmt.Println(string(v))
	// Output: hello
}
