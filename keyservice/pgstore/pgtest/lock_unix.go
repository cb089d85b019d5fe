//go:build unix

package pgtest

import (
	"os"
	"syscall"
	"testing"
)

// lockServer takes an exclusive lock on the file at path, waiting for
// another process's test to release it, and releases it when tb ends.
func lockServer(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		tb.Fatalf("pgtest: locking %s: %v", path, err)
	}
	tb.Cleanup(func() { f.Close() }) // closing the file releases the lock
}
