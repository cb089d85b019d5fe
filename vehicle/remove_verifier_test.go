package vehicle

import (
	"errors"
	"testing"

	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/store"
)

// TestReaderRemoveVerifier: RemoveVerifier leaves pairing mode (no
// attempts, Pair refused with ErrNoVerifier) and the removal is stored: a
// reader restarted from the store is not in pairing mode either. The
// attempts spent against the verifier are remembered when it is installed
// again; removing twice is not an error, after Close it is ErrClosed.
func TestReaderRemoveVerifier(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 1)
	w := newPairWorldWith(t, 3, func(c *Config) { c.Store, c.KEK = m, kek })
	restart := func() *Reader {
		t.Helper()
		cfg := *w.cfg
		cfg.Store = m.Reopen()
		r, err := NewReader(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	w.install(t, pairCode)
	if _, err := w.pair(t, w.phone, "999999"); !errors.Is(err, pairing.ErrAuthentication) {
		t.Fatalf("wrong password: %v", err)
	}
	if n := w.reader.PairingAttempts(); n != 2 {
		t.Fatalf("PairingAttempts after a wrong password = %d, want 2", n)
	}
	if n := restart().PairingAttempts(); n != 2 {
		t.Fatalf("a restarted reader before RemoveVerifier has %d attempts, want 2", n)
	}

	if err := w.reader.RemoveVerifier(); err != nil {
		t.Fatal(err)
	}
	if n := w.reader.PairingAttempts(); n != 0 {
		t.Errorf("PairingAttempts after RemoveVerifier = %d, want 0", n)
	}
	if _, err := w.pair(t, w.phone, pairCode); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("Pair after RemoveVerifier = %v, want ErrNoVerifier", err)
	}
	if err := w.reader.RemoveVerifier(); err != nil {
		t.Errorf("second RemoveVerifier = %v, want nil", err)
	}

	// The removal is in the store.
	r := restart()
	if n := r.PairingAttempts(); n != 0 {
		t.Errorf("a restarted reader after RemoveVerifier has %d attempts, want 0", n)
	}
	w.reader = r
	if _, err := w.pair(t, w.phone, pairCode); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("Pair on the restarted reader = %v, want ErrNoVerifier", err)
	}
	// Installed again, the same verifier has the attempts it had left.
	w.install(t, pairCode)
	if n := r.PairingAttempts(); n != 2 {
		t.Errorf("PairingAttempts after installing the removed verifier again = %d, want 2", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveVerifier(); !errors.Is(err, ErrClosed) {
		t.Errorf("RemoveVerifier after Close = %v, want ErrClosed", err)
	}
}
