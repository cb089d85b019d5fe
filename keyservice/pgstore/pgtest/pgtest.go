// Package pgtest gives tests a private PostgreSQL database: the server
// scripts/postgres/run.sh starts (initdb in a temporary directory, a Unix
// socket there, no TCP port), one fresh database per test.
//
// The script exports URLEnv, the URL of the server's administrative
// database; RestartURLEnv, the same for a second server that only the test
// restarting its server under load uses (so that the restart disturbs no
// other package's tests, which go test runs at the same time); and
// RestartEnv, the script that restarts that second server. Without them the
// PostgreSQL tests skip and say how to run them; under CI=true that is a
// failure instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables scripts/postgres/run.sh sets.
const (
	URLEnv        = "OPENCARKEY_POSTGRES_URL"
	RestartURLEnv = "OPENCARKEY_POSTGRES_RESTART_URL"
	RestartEnv    = "OPENCARKEY_POSTGRES_RESTART"
)

// Help says how to run the tests that skip.
const Help = "the PostgreSQL tests need a private server: run them as root with " +
	"`bash scripts/postgres/run.sh go test ./...` (it installs Debian's postgresql when missing, " +
	"runs initdb in a temporary directory as an unprivileged user with a Unix socket there and no TCP port, " +
	"and sets " + URLEnv + ")"

// URL returns the administrative URL of the private server, and false when
// there is none: then the test is skipped, or under CI=true failed.
func URL(tb testing.TB) (string, bool) {
	tb.Helper()
	if u := os.Getenv(URLEnv); u != "" {
		return u, true
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(Help + "; under CI=true this is a failure, not a skip")
	}
	return "", false
}

// RestartURL returns the administrative URL of the server that Restart
// restarts, or skips tb (fails it under CI=true).
//
// The tests of several packages restart that server, and go test runs
// packages in parallel processes: RestartURL makes tb the server's only
// user until tb ends (an exclusive lock on a file beside the restart
// script, released by tb's cleanup), so that one test never connects while
// another's restart has the server down.
func RestartURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(RestartURLEnv)
	script := os.Getenv(RestartEnv)
	if u != "" && script != "" {
		lockServer(tb, filepath.Join(filepath.Dir(script), "restart-user.lock"))
	}
	if u == "" || script == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(Help + "; under CI=true this is a failure, not a skip")
		}
		tb.Skip(Help)
	}
	return u
}

// Require returns the administrative URL, or skips tb (fails it under
// CI=true).
func Require(tb testing.TB) string {
	tb.Helper()
	u, ok := URL(tb)
	if !ok {
		tb.Skip(Help)
	}
	return u
}

// NewDatabase creates a fresh database on the server of admin, returns its
// URL, and drops it when tb ends.
func NewDatabase(tb testing.TB, admin string) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "dk_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: connecting to %s: %v", admin, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", URLEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Transactions returns how many transactions the database of url
// committed and rolled back (pg_stat_database), for a load test to report.
func Transactions(tb testing.TB, url string) (commits, rollbacks int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()").Scan(&commits, &rollbacks); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return commits, rollbacks
}

// Restart restarts the server of RestartURL as RestartEnv's script does: an
// immediate shutdown, as a crash, then a start on the same data directory,
// which recovers from the WAL. It fails tb when the script is not there.
func Restart(tb testing.TB) {
	tb.Helper()
	script := os.Getenv(RestartEnv)
	if script == "" {
		tb.Fatalf("pgtest: %s is not set: run under scripts/postgres/run.sh", RestartEnv)
	}
	out, err := exec.Command("bash", script).CombinedOutput()
	if err != nil {
		tb.Fatalf("pgtest: restarting PostgreSQL: %v\n%s", err, out)
	}
}
