//go:build !unix

package pgtest

import "testing"

// lockServer does nothing where there is no flock: scripts/postgres/run.sh,
// which provides the restartable server, runs on Unix systems only.
func lockServer(tb testing.TB, path string) {}
