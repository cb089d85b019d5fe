// Command vcard serves a virtual card to vsmartcard's vpcd, so that every
// PC/SC application on the machine sees the card in a reader: the vehicle
// side (package transport/pcsc, examples/pcsc-reader) can then be tried
// without a phone.
//
// Usage:
//
//	vcard [-host localhost] [-port 35963] [-card demo] [-atr 3B80800101] [-state FILE [-kek FILE]] [-v]
//
// vpcd must be running inside pcscd (Debian: apt-get install pcscd
// vsmartcard-vpcd; scripts/pcsc/run.sh starts a private one). Port 35963 is
// vpcd's first reader ("Virtual PCD 00 00"), 35964 its second. vcard
// reconnects whenever vpcd goes away, until interrupted; each connection is
// the card entering the reader's field, and the end of one (vcard stopped, or
// vpcd dropping it) the card leaving it.
//
// The cards it can serve, by -card:
//
//   - demo: answers SELECT of the Digital Key applet with the version list of
//     docs/protocol.md §2.2 and nothing else.
//   - applet: the Digital Key applet of package device (CCC profile) with one
//     owner key, the demo key, for the demo vehicle "DEMO-VIN" that
//     examples/pcsc-reader plays: `go run ./examples/pcsc-reader` unlocks
//     it. The applet keeps its state (Kpersistent, mailboxes) for as long as
//     vcard runs, so the second tap of the same reader process is a fast
//     transaction; with -state FILE it keeps it in FILE (store/bolt, sealed
//     under the key-encryption key in FILE.kek, or -kek), so that a vcard
//     started again is the same phone, and with `pcsc-reader -state` its
//     first tap after a restart of either is fast too.
//
// The demo key is for tests and demonstrations only: its private key is
// public (see applet.go), and it opens nothing but the demo vehicle.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/vpcd"
)

// cards are the cards vcard serves, by the name given to -card: each
// returns the card and the function that closes it. The demo card has no
// state; the applet keeps its state in the -state file when there is one.
var cards = map[string]func(statePath, kekPath string) (transport.Card, func() error, error){
	"demo": func(statePath, _ string) (transport.Card, func() error, error) {
		if statePath != "" {
			return nil, nil, errors.New("-state needs -card applet")
		}
		return demoCard{}, func() error { return nil }, nil
	},
	"applet": newAppletCard,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stderr)
	if code := exitCode(err); code != 0 {
		if code == 1 {
			fmt.Fprintln(os.Stderr, "vcard:", err)
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

// run parses args and serves the card until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("vcard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "localhost", "host where vpcd listens")
	port := fs.Int("port", 35963, "vpcd port: 35963 for the first reader, 35964 for the second")
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range cards {
			if !yield(n) {
				return
			}
		}
	})
	name := fs.String("card", "demo", "card to serve: "+strings.Join(names, ", "))
	atrHex := fs.String("atr", "", "answer to reset in hex (default 3B80800101, a contactless card on which pcscd negotiates T=1)")
	statePath := fs.String("state", "", "file that keeps the applet's state across runs (-card applet)")
	kekPath := fs.String("kek", "", "file of the key-encryption key of -state (default: the -state file with .kek appended; created when missing)")
	verbose := fs.Bool("v", false, "log every command and response")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return errUsage
	}
	newCard, ok := cards[*name]
	if !ok {
		return fmt.Errorf("unknown card %q (have %s)", *name, strings.Join(names, ", "))
	}
	if *port <= 0 || *port > 65535 {
		return fmt.Errorf("invalid port %d", *port)
	}
	cfg := &vpcd.Config{}
	if *atrHex != "" {
		atr, err := hex.DecodeString(*atrHex)
		if err != nil {
			return fmt.Errorf("invalid -atr: %w", err)
		}
		cfg.ATR = atr
	}
	if *kekPath != "" && *statePath == "" {
		return errors.New("-kek needs -state")
	}
	card, closeCard, err := newCard(*statePath, *kekPath)
	if err != nil {
		return fmt.Errorf("card %q: %w", *name, err)
	}
	defer func() {
		if cerr := closeCard(); cerr != nil && err == nil {
			err = fmt.Errorf("card %q: %w", *name, cerr)
		}
	}()
	var mu sync.Mutex // serializes writes to stderr
	logf := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, format+"\n", a...)
	}
	if *verbose {
		card = &tracingCard{card: card, logf: logf}
	}
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	cfg.OnConnect = func() { logf("vcard: card %q inserted into the reader at %s", *name, addr) }
	cfg.OnDisconnect = func(err error) {
		if !errors.Is(err, context.Canceled) {
			logf("vcard: card removed: %v", err)
		}
	}
	if *name == "applet" {
		logf("vcard: the applet holds the demo key (TEST ONLY: its private key is public) for vehicle %q, slot %q", demoVehicleID, demoSlot)
		if *statePath != "" {
			logf("vcard: the applet's state is in %s", *statePath)
		}
	}
	logf("vcard: waiting for vpcd at %s", addr)
	return vpcd.Run(ctx, addr, card, cfg)
}

// tracingCard logs each command and response of the card it wraps.
type tracingCard struct {
	card transport.Card
	logf func(format string, a ...any)
}

func (t *tracingCard) ProcessAPDU(dst, cmd []byte) []byte {
	n := len(dst)
	dst = t.card.ProcessAPDU(dst, cmd)
	t.logf("vcard: > %X\nvcard: < %X", cmd, dst[n:])
	return dst
}

func (t *tracingCard) Reset() {
	t.logf("vcard: reset")
	if r, ok := t.card.(transport.Resetter); ok {
		r.Reset()
	}
}
