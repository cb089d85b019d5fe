// Command pcsc-reader is the vehicle side of a Digital Key on a PC/SC
// reader: it waits for a phone (or a virtual card) on the reader, unlocks
// with it, prints the result, and does it again at the next tap.
//
//	go run ./examples/pcsc-reader [-reader name] [-once] [-timeout d] [-state FILE [-kek FILE]]
//
// It talks to pcscd through package transport/pcsc (pure Go, no cgo) and runs
// each transaction with package vehicle: fast when the vehicle and the phone
// share Kpersistent from an earlier standard transaction, standard
// otherwise. Without -state the vehicle forgets at exit; with it, its state
// is in FILE, and the first tap after a restart is fast (with `vcard -state`
// on the phone's side, across restarts of the phone too).
//
// The vehicle is the demo vehicle "DEMO-VIN", with one owner key enrolled:
// the demo key that `go run ./cmd/vcard -card applet` serves as a virtual
// card. The demo keys are for tests and demonstrations only: their private
// halves are public (demo.go). To try it without a phone on Debian, with
// pcscd and vsmartcard's vpcd driver (which adds two virtual readers):
//
//	apt-get install pcscd vsmartcard-vpcd
//	go run ./cmd/vcard -card applet        # the card, in the first reader
//	go run ./examples/pcsc-reader          # in another terminal
//
// Stopping vcard takes the card out of the reader; starting it again is the
// next tap. The PC/SC integration tests (transport/pcsc,
// TestIntegrationPCSCReaderExample) run both programs this way against a
// private pcscd: scripts/pcsc/run.sh.
//
// A real phone holds no demo key: it refuses AUTH0 for a vehicle it does not
// know, and the result says so.
//
// Flags:
//
//	-reader name  the reader to use; default: the first one pcscd lists
//	-once         stop after the first transaction; the exit status says
//	              whether it succeeded
//	-timeout d    give up when no card comes within d; default 0: wait for
//	              ever
//	-state FILE   keep the vehicle's state (enrolled key, Kpersistent,
//	              immobilizer token) in FILE, a store/bolt file sealed under
//	              the key-encryption key in FILE.kek (created when missing;
//	              TEST BENCH ONLY: a vehicle keeps it in its HSM)
//	-kek FILE     the key-encryption key of -state elsewhere
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
	"github.com/opencarkey/sdk/vehicle"
)

// tapTimeout bounds one transaction, connection included: a tap at a door
// handle is over in well under a second.
const tapTimeout = 5 * time.Second

// pollInterval is the pause between two looks for the card leaving.
const pollInterval = 100 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if code := exitCode(err); code != 0 {
		if code == 1 {
			fmt.Fprintln(os.Stderr, "pcsc-reader:", err)
		}
		os.Exit(code)
	}
}

// errUsage reports a command line that the flag set refused; it has said
// why on standard error already.
var errUsage = errors.New("usage")

// usageError maps a flag.Parse error onto errUsage, keeping flag.ErrHelp.
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

// exitCode maps the outcome of run to the exit status: 0 for success, -h
// and an interrupt, 2 for a bad command line, 1 otherwise.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// run parses args and serves taps until ctx ends, the first tap with -once,
// or a wait longer than -timeout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("pcsc-reader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	readerName := fs.String("reader", "", "PC/SC reader to use (default: the first one)")
	once := fs.Bool("once", false, "stop after the first transaction")
	timeout := fs.Duration("timeout", 0, "give up when no card comes within this time (0: wait for ever)")
	statePath := fs.String("state", "", "file that keeps the vehicle's state across runs")
	kekPath := fs.String("kek", "", "file of the key-encryption key of -state (default: the -state file with .kek appended; created when missing)")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return errUsage
	}
	if *timeout < 0 {
		return fmt.Errorf("invalid -timeout %v", *timeout)
	}

	if *kekPath != "" && *statePath == "" {
		return errors.New("-kek needs -state")
	}
	v, err := newDemoVehicle(*statePath, *kekPath)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := v.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	c, err := pcsc.Establish(ctx, nil)
	if err != nil {
		return fmt.Errorf("is pcscd running? %w", err)
	}
	defer c.Release(context.Background())
	name, err := pickReader(ctx, c, *readerName)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reader %q: waiting for a card (a phone, or `go run ./cmd/vcard -card applet`)\n", name)
	for {
		if err := waitForCard(ctx, c, name, *timeout); err != nil {
			return err
		}
		start := time.Now()
		res, err := tap(ctx, c, name, v)
		report(stdout, &res, time.Since(start))
		if *once {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := waitForRemoval(ctx, c, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reader %q: waiting for the next card\n", name)
	}
}

// pickReader returns name if pcscd knows it, or the first reader when name
// is empty.
func pickReader(ctx context.Context, c *pcsc.Client, name string) (string, error) {
	names, err := c.Readers(ctx)
	if err != nil {
		return "", err
	}
	if name == "" {
		return names[0], nil
	}
	if !slices.Contains(names, name) {
		return "", fmt.Errorf("no reader %q (pcscd has %q): %w", name, names, transport.ErrNoReader)
	}
	return name, nil
}

// waitForCard waits for a card in the reader, for at most timeout when it is
// positive.
func waitForCard(ctx context.Context, c *pcsc.Client, name string, timeout time.Duration) error {
	wctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, err := c.WaitForCard(wctx, name)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no card within %v: %w", timeout, err)
	}
	return err
}

// tap runs one unlock with the card in the reader: connect, transact,
// disconnect.
func tap(ctx context.Context, c *pcsc.Client, name string, v *vehicle.Reader) (vehicle.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, tapTimeout)
	defer cancel()
	cn, err := c.Connect(ctx, name)
	if err != nil {
		err = fmt.Errorf("connecting to the card: %w", err)
		return vehicle.Result{Action: dkey.ActionUnlock, Err: err}, err
	}
	defer func() {
		// A context of its own: the tap's may have ended, and pcscd must
		// still hear of the disconnection.
		dctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cn.Disconnect(dctx, pcsc.Leave)
	}()
	return unlock(ctx, v, cn)
}

// unlock runs the transaction itself, over any transport.Transceiver.
func unlock(ctx context.Context, v *vehicle.Reader, t transport.Transceiver) (vehicle.Result, error) {
	return v.Transact(ctx, t, dkey.ActionUnlock)
}

// report prints the outcome of one transaction on one line.
func report(w io.Writer, res *vehicle.Result, elapsed time.Duration) {
	elapsed = elapsed.Round(time.Millisecond)
	if !res.OK() {
		fmt.Fprintf(w, "%v: failed after %v: %v (control flow %v)\n", res.Action, elapsed, res.Err, res.ControlFlow)
		return
	}
	kind := "standard"
	if res.Fast {
		kind = "fast"
	}
	fmt.Fprintf(w, "%v: OK, %s transaction in %v, %v key %v, protocol %v, control flow %v\n",
		res.Action, kind, elapsed, res.Role, res.Slot, res.Version, res.ControlFlow)
}

// waitForRemoval waits until the reader has no card: a phone that stays in
// the field is not unlocked again and again.
func waitForRemoval(ctx context.Context, c *pcsc.Client, name string) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		states, err := c.ReaderStates(ctx)
		if err != nil {
			return err
		}
		present := false
		for _, s := range states {
			if s.Name == name && s.CardPresent() {
				present = true
			}
		}
		if !present {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
