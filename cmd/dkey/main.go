// Command dkey is the test-bench tool of the opencarkey SDK: it decodes
// recorded APDU traces of Digital Key sessions (decrypting them with a key
// log) and sets up the test PKI a bench needs, with its keys in files or in
// an HSM.
//
// Usage:
//
//	dkey [-q] trace decode [-keylog FILE] [-json] TRACE
//	dkey [-q] pki init [-dir DIR] [-days N] [-device-root-key URI] [-instance-ca-key URI]
//	                   [-vehicle-root-key URI] [-vehicle-key URI]
//	dkey [-q] pki issue [-dir DIR] -kind instance-ca|vehicle -name NAME [-key URI] [-issuer-key URI] [-days N]
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
// Every command prints progress lines on standard error ("dkey: ..."), which
// -q silences. -h prints a command's usage and exits 0. An error prints one
// line, "dkey: ...", and exits 1 (2 for a usage error).
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
		if first != args[0] {
			continue
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
