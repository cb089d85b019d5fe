// Command dkey is the test-bench tool of the opencarkey SDK: it decodes
// recorded APDU traces of Digital Key sessions (decrypting them with a key
// log), sets up the test PKI a bench needs, with its keys in files or in an
// HSM, and runs vehicles and phones kept in state files: pairing, sharing,
// transactions on a PC/SC reader or in process, the applet as a virtual
// card, and the keys of either side.
//
// Usage:
//
//	dkey [-q] trace decode [-keylog FILE] [-json] TRACE
//	dkey [-q] pki init [-dir DIR] [-days N] [-device-root-key URI] [-instance-ca-key URI]
//	                   [-vehicle-root-key URI] [-vehicle-key URI]
//	dkey [-q] pki issue [-dir DIR] -kind instance-ca|vehicle -name NAME [-key URI] [-issuer-key URI] [-days N]
//	dkey [-q] pair -vehicle FILE (-device FILE | -reader NAME) -password PW [-pki DIR] [-vehicle-id ID]
//	               [-vehicle-cert NAME] [-instance-ca NAME] [-replace owner|device] [-scrypt-n N] [-keylog FILE] [-v]
//	dkey [-q] share -from FILE -to FILE [-pki DIR] [-entitlements LIST] [-max-speed KMH] [-days N] [-vehicle ID]
//	dkey [-q] reader -state FILE [-reader NAME | -card FILE] [-action unlock|lock|engine-start] [-once]
//	                 [-timeout D] [-keylog FILE] [-v]
//	dkey [-q] card -state FILE [-pki DIR] [-pair PW] [-host HOST] [-port PORT] [-atr HEX] [-keylog FILE] [-v]
//	dkey [-q] keys list|suspend|resume|remove -state FILE [SLOT]
//
// trace decode reads a trace in the transcript form of
// transport/transporttest (lines "> command", "< response", "! error",
// "# note"; plain hexadecimal lines are the simplest case), or "-" for
// standard input, and prints every exchange named and decoded (package
// apdutrace). With -keylog it verifies and decrypts the secure messaging of
// the transactions and pairings the key log covers: the key log that
// transaction.VehicleConfig.KeyLog, EndpointConfig.KeyLog and pairing's
// VehicleConfig.KeyLog and DeviceConfig.KeyLog write. -json prints the same
// as JSON.
//
// pki init writes a test PKI into a directory (default "pki"): a Device OEM
// root, an instance CA issued by it, a Vehicle OEM root and a vehicle
// certificate issued by it, as PEM files NAME.crt, and pki.json, which
// records each certificate and the URI of its key. Each key is created at
// the URI given (package keyuri: softkms:path=FILE, or pkcs11:... in a
// program built with -tags pkcs11 and cgo), or as DIR/NAME.key by default;
// a key that already exists at a pkcs11: URI is used as it is. pki issue
// adds a certificate to that PKI: another instance CA (a second applet
// instance) under the Device OEM root, or another vehicle under the Vehicle
// OEM root. pki.json never holds a pin-value: give the issuer's key URI
// again with -issuer-key, or use pin-source=FILE in it.
//
// # State files
//
// A state file (-state, -vehicle, -device, -from, -to) holds a vehicle
// (vehicle.Config.Store) or a phone's applet (device.Config.Store) with
// everything they keep: keys, Kpersistent, tokens, mailboxes, revocations,
// pairing attempts. It is a store/bolt file sealed under the
// key-encryption key in the file beside it, FILE.kek (or -kek FILE),
// created with a new state file; a state file without its key file is
// refused. dkey keeps in it, sealed too, what the role is: a vehicle's
// identifier, certificates and the URI of its key; a phone's applet
// instance CA and the URI of its key; the Device OEM roots. pair creates a
// vehicle and a phone from a test PKI (-pki, from pki init) when their
// files hold none, share the friend's phone, card a phone. Keys stay where
// the PKI keeps them (a file, an HSM); a URI with a PIN is not kept, give
// it again with -key or -instance-ca-key. Each program run is a restart of
// the vehicle or the phone: the first transaction after it is fast. One
// program at a time opens a state file. TEST BENCH ONLY: the
// key-encryption key beside the state protects nothing from whoever can
// read both.
//
// pair runs owner pairing: the vehicle OEM server's part (a verifier from
// -password, scrypt with -scrypt-n), then SPAKE2+, the certificate
// exchange and the first transaction, with the phone of -device in this
// process, or with the card in a PC/SC reader (-reader: a phone, or dkey
// card -pair PW). A vehicle with an owner pairs again with -replace owner
// (sold: the previous owner's keys and their shares go) or -replace device
// (the owner's new phone). share has the owner's phone (-from) share a key
// with a friend's phone (-to): the invitation sealed end to end, the key
// created in the friend's applet, the key attestation signed (the bench
// authenticates the owner) and imported; the vehicle enrols it at the
// friend's first transaction. reader runs the vehicle: on a PC/SC reader
// a transaction at each tap (-once: one), or one transaction with the
// phone of -card in this process. card serves the phone as a virtual card
// of vsmartcard's vpcd until interrupted; with -pair it waits for owner
// pairing. keys lists the keys of either side, or suspends, resumes or
// removes one by its slot (on a vehicle, remove revokes the key for good;
// on a phone it terminates it).
//
// # Output
//
// Results go to standard output, one line each (reader: one per
// transaction). Every command prints progress lines on standard error
// ("dkey: ..."), which -q silences. The commands that run a vehicle or a
// phone wire their hooks (vehicle.Hooks, device.Hooks) to log/slog, on
// standard error after "dkey: ": transactions, fast misses, refusals,
// statements, pairing attempts, at level Info (refusals and failures at
// Warn; -q keeps those, -v adds each transaction's start). -keylog appends
// the session keys of what they run to a file, for trace decode -keylog:
// whoever reads it can decrypt the sessions and answer the next fast
// transaction. -h prints a command's usage and exits 0. An error prints one
// line, "dkey: ...", and exits 1 (2 for a usage error); reader exits 1 when
// its transaction failed (-once, -card). reader (without -once) and card run
// until interrupted (Ctrl-C, SIGTERM), and then exit 0.
//
// The PKI is for tests and benches: its validity starts now (or at -start)
// and its keys are as safe as where they are kept.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is an error in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	quiet  bool
	// verbose adds the Debug records of the hooks' log (-v).
	verbose bool
}

// progress prints a status line on standard error unless -q.
func (e *env) progress(format string, a ...any) {
	if !e.quiet {
		fmt.Fprintf(e.stderr, "dkey: "+format+"\n", a...)
	}
}

// command is one subcommand: its path ("pki init"), a one-line summary,
// the usage line and its function.
type command struct {
	path, summary, usage string
	run                  func(e *env, args []string) error
}

// allCommands returns the subcommands. It is a function, not a variable,
// because each command's usage (printed by parse) refers back to the list.
func allCommands() []command {
	return []command{
		{"trace decode", "name and decode the exchanges of an APDU trace, decrypting with a key log",
			"dkey trace decode [-q] [-keylog FILE] [-json] TRACE", traceDecode},
		{"pki init", "write a test PKI (Device OEM root, instance CA, Vehicle OEM root, vehicle) into a directory",
			"dkey pki init [-q] [-dir DIR] [-days N] [-start DATE] [-device-root-key URI] [-instance-ca-key URI] [-vehicle-root-key URI] [-vehicle-key URI]", pkiInit},
		{"pki issue", "issue another instance CA or vehicle certificate in a test PKI",
			"dkey pki issue [-q] [-dir DIR] -kind instance-ca|vehicle -name NAME [-key URI] [-issuer-key URI] [-days N] [-start DATE]", pkiIssue},
		{"pair", "owner pairing of the vehicle in a state file with the phone in another, or with the card in a PC/SC reader",
			"dkey pair [-q] [-v] -vehicle FILE (-device FILE | -reader NAME) -password PW [-pki DIR] [-vehicle-id ID] [-replace owner|device] [-keylog FILE] ...", pairCmd},
		{"share", "share a key from the owner's phone in a state file with a friend's phone in another",
			"dkey share [-q] -from FILE -to FILE [-pki DIR] [-entitlements LIST] [-max-speed KMH] [-days N] [-vehicle ID]", shareCmd},
		{"reader", "the vehicle in a state file on a PC/SC reader: a transaction at each tap",
			"dkey reader [-q] [-v] -state FILE [-reader NAME | -card FILE] [-action unlock|lock|engine-start] [-once] [-timeout D] [-keylog FILE]", readerCmd},
		{"card", "the phone in a state file as a virtual card of vpcd (pcscd's virtual reader)",
			"dkey card [-q] [-v] -state FILE [-pki DIR] [-pair PW] [-host HOST] [-port PORT] [-atr HEX] [-keylog FILE]", cardCmd},
		{"keys list", "list the keys of the vehicle or the phone in a state file",
			"dkey keys list [-q] -state FILE", keysCmd("list")},
		{"keys suspend", "suspend a key of the vehicle or the phone in a state file",
			"dkey keys suspend [-q] -state FILE SLOT", keysCmd("suspend")},
		{"keys resume", "resume a suspended key of the vehicle or the phone in a state file",
			"dkey keys resume [-q] -state FILE SLOT", keysCmd("resume")},
		{"keys remove", "remove a key from the vehicle for good (revoked), or terminate it on the phone",
			"dkey keys remove [-q] -state FILE SLOT", keysCmd("remove")},
	}
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: dkey [-q] command [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range allCommands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.path, c.summary)
	}
	fmt.Fprintln(w, "\nRun dkey COMMAND -h for a command's flags. -q silences the progress lines.")
}

// run runs dkey with args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(e, args)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "dkey: %s\n", oneLine(err.Error()))
		return 2
	}
	fmt.Fprintf(stderr, "dkey: %s\n", oneLine(err.Error()))
	return 1
}

// oneLine folds an error message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func dispatch(e *env, args []string) error {
	fs := flag.NewFlagSet("dkey", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&e.quiet, "q", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			topUsage(e.stdout)
			return err
		}
		return usagef("%v (see dkey -h)", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("no command (see dkey -h)")
	}
	var group []command
	for _, c := range allCommands() {
		first, second, _ := strings.Cut(c.path, " ")
		switch {
		case first != args[0]:
			continue
		case second == "":
			// A command of one word.
			return c.run(e, args[1:])
		}
		group = append(group, c)
		if len(args) > 1 && args[1] == second {
			return c.run(e, args[2:])
		}
	}
	if group == nil {
		return usagef("unknown command %q (see dkey -h)", args[0])
	}
	if len(args) > 1 && args[1] != "-h" && args[1] != "-help" && args[1] != "--help" {
		return usagef("unknown command %q (see dkey %s -h)", args[0]+" "+args[1], args[0])
	}
	if len(args) == 1 {
		var subs []string
		for _, c := range group {
			_, second, _ := strings.Cut(c.path, " ")
			subs = append(subs, second)
		}
		return usagef("%s needs a subcommand: %s (see dkey %s -h)", args[0], strings.Join(subs, " or "), args[0])
	}
	fmt.Fprintf(e.stdout, "usage:\n")
	for _, c := range group {
		fmt.Fprintf(e.stdout, "  %s\n      %s\n", c.usage, c.summary)
	}
	return flag.ErrHelp
}

// newFlags returns the flag set of a subcommand, which prints its usage on
// standard output for -h.
func newFlags(e *env, path string) *flag.FlagSet {
	fs := flag.NewFlagSet("dkey "+path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&e.quiet, "q", e.quiet, "no progress lines")
	return fs
}

// parse parses a subcommand's flags: on -h it prints the usage and the
// flags on standard output.
func parse(e *env, fs *flag.FlagSet, path string, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		for _, c := range allCommands() {
			if c.path == path {
				fmt.Fprintf(e.stdout, "usage: %s\n\n%s.\n\nflags:\n", c.usage, c.summary)
			}
		}
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return usagef("%s: %v (see dkey %s -h)", path, err, path)
	}
	return nil
}
