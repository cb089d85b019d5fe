//go:build unix

package bolt

import (
	"os"
	"syscall"
)

// unlock releases bbolt's advisory lock on f.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
