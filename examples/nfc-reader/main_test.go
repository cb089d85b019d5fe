package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/internal/statefile"
)

// TestSimulated runs the example as `go run ./examples/nfc-reader -once`
// does: a simulated controller and phone, one tap, one unlock.
func TestSimulated(t *testing.T) {
	for _, args := range [][]string{{"-once"}, {"-once", "-sim", "nci"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			if err := run(ctx, args, &out, &errOut); err != nil {
				t.Fatalf("run(%q) = %v\n%s%s", args, err, out.String(), errOut.String())
			}
			for _, want := range []string{"polling with ECP frame 6A02C30209017E57", "unlock OK, standard transaction"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestTwoTaps keeps the example running: the phone taps twice, the second
// tap is a fast transaction.
func TestTwoTaps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := lockedWriter{w: new(bytes.Buffer)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, &out, &out) }()
	deadline := time.After(20 * time.Second)
	for strings.Count(out.String(), "unlock OK") < 2 {
		select {
		case <-deadline:
			t.Fatalf("no two unlocks in 20 s:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("run after cancel = %v", err)
	}
	if !strings.Contains(out.String(), "unlock OK, fast transaction") {
		t.Errorf("the second tap was not fast:\n%s", out.String())
	}
}

func TestNoECP(t *testing.T) {
	// Without ECP the express phone never answers: the run times out.
	var out bytes.Buffer
	err := run(context.Background(), []string{"-no-ecp", "-once", "-timeout", "1s"}, &out, &out)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(out.String(), "unlock OK") {
		t.Errorf("run(-no-ecp) = %v\n%s", err, out.String())
	}
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 {
		t.Errorf("run(-h) = %v, exit %d; want flag.ErrHelp and 0", err, exitCode(err))
	}
	if !strings.Contains(out.String(), "-pn532") || !strings.Contains(out.String(), "-nci-i2c") {
		t.Errorf("-h output lacks the controller flags:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"-pn532", "/dev/a", "-nci-uart", "/dev/b"},
		{"-nci-i2c", "/dev/i2c-1"},
		{"-timeout", "-1s"},
		{"-sim", "acr122"},
		{"-tci", "0102"},
		{"-nci-i2c", "/dev/null", "-nci-gpio", "bad"},
		{"-pn532", "/nonexistent/ttyUSB9"},
		{"-nci-uart", "/nonexistent/ttyACM9"},
		{"-nci-uart", "/nonexistent/ttyACM9", "-nci-ecp", "zz"},
		{"-kek", "x.kek"},
		{"-state", "/nonexistent/dir/car.db"},
	} {
		if err := run(context.Background(), args, &out, &out); err == nil || exitCode(err) != 1 {
			t.Errorf("run(%q) = %v, exit %d; want an error", args, err, exitCode(err))
		}
	}
	for _, args := range [][]string{{"extra"}, {"-nope"}} {
		if err := run(context.Background(), args, &out, &out); exitCode(err) != 2 {
			t.Errorf("run(%q) = %v, exit %d; want a usage error, exit 2", args, err, exitCode(err))
		}
	}
	if exitCode(nil) != 0 || exitCode(context.Canceled) != 0 {
		t.Error("exitCode of success or an interrupt is not 0")
	}
}

// TestStateAcrossRestarts runs the example twice on the same state files,
// as `nfc-reader -once -state FILE` twice: the vehicle and the simulated
// phone come back with their keys and Kpersistent, so the first tap of
// the second run is fast, and the phone's key is enrolled once. The
// second run uses the other simulated controller: the state is the
// vehicle's and the phone's, not the controller's.
func TestStateAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "car.db")
	for i, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-once", "-state", state}, "unlock OK, standard transaction"},
		{[]string{"-once", "-state", state, "-sim", "nci"}, "unlock OK, fast transaction"},
		{[]string{"-once", "-state", state}, "unlock OK, fast transaction"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var out bytes.Buffer
		err := run(ctx, tt.args, &out, &out)
		cancel()
		if err != nil {
			t.Fatalf("run %d (%q) = %v\n%s", i+1, tt.args, err, out.String())
		}
		for _, want := range []string{"vehicle state in " + state + ": keys enrolled: 1", tt.want} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d (%q) lacks %q:\n%s", i+1, tt.args, want, out.String())
			}
		}
	}
	for _, f := range []string{"car.db", "car.db.kek", "car.db.phone", "car.db.phone.kek"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("state file %s: %v", f, err)
		}
	}
	// Without the phone's state the phone is new: the vehicle enrolls its
	// key next to the old one, and its first tap is standard.
	os.Remove(filepath.Join(dir, "car.db.phone"))
	os.Remove(filepath.Join(dir, "car.db.phone.kek"))
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-once", "-state", state}, &out, &out); err != nil ||
		!strings.Contains(out.String(), "keys enrolled: 2") || !strings.Contains(out.String(), "unlock OK, standard transaction") {
		t.Errorf("run with a new phone = %v:\n%s", err, out.String())
	}
	// A state file without its key file is refused.
	os.Remove(state + ".kek")
	out.Reset()
	if err := run(t.Context(), []string{"-once", "-state", state}, &out, &out); !errors.Is(err, statefile.ErrNoKEK) || exitCode(err) != 1 {
		t.Errorf("run without the key file = %v, want %v", err, statefile.ErrNoKEK)
	}
}
