package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// actions are the transactions dkey reader runs, by -action.
var actions = map[string]dkey.Action{
	"unlock":       dkey.ActionUnlock,
	"lock":         dkey.ActionLock,
	"engine-start": dkey.ActionEngineStart,
}

// stateFlagSet adds the flags -name and -kekName of a state file holding
// what.
func stateFlagSet(fs *flag.FlagSet, sf *stateFlags, name, kekName, what string) {
	fs.StringVar(&sf.path, name, "", "state `FILE` of "+what)
	fs.StringVar(&sf.kek, kekName, "", "key-encryption key `FILE` of -"+name+" (default: FILE.kek, created with a new state file)")
}

// keyFlag adds the flag that overrides the URI of a key kept in a state
// record.
func keyFlag(fs *flag.FlagSet, sf *stateFlags, name, what string) {
	sf.keyFlag = name
	fs.StringVar(&sf.key, name, "", "`URI` of "+what+" (default: the one the state keeps; give it when that one needs a PIN)")
}

// openKeyLog opens the -keylog file for appending, mode 0600, and says
// what it is about to hold; nil for no file. closeLog closes it.
func (e *env) openKeyLog(path string) (w io.Writer, closeLog func(), err error) {
	if path == "" {
		return nil, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	e.progress("writing session keys to %s: whoever reads it can decrypt the sessions and answer the next fast transaction (benches only)", path)
	return f, func() { f.Close() }, nil
}

// readerCmd is dkey reader.
func readerCmd(e *env, args []string) (err error) {
	fs := newFlags(e, "reader")
	var sf, card stateFlags
	stateFlagSet(fs, &sf, "state", "kek", "the vehicle")
	keyFlag(fs, &sf, "key", "the vehicle key")
	readerName := fs.String("reader", "", "PC/SC reader `name` (default: the first one)")
	stateFlagSet(fs, &card, "card", "card-kek", "a phone to transact with in this process, instead of a PC/SC reader")
	actionName := fs.String("action", "unlock", "`action`: unlock, lock or engine-start")
	once := fs.Bool("once", false, "stop after the first transaction; the exit status says whether it succeeded")
	timeout := fs.Duration("timeout", 0, "give up when no card comes within this `duration` (0: wait for ever)")
	keyLogPath := fs.String("keylog", "", "append the session keys to `FILE` (test benches only)")
	fs.BoolVar(&e.verbose, "v", false, "log each transaction's start too")
	if err := parse(e, fs, "reader", args); err != nil {
		return err
	}
	action, ok := actions[*actionName]
	switch {
	case fs.NArg() != 0:
		return usagef("reader: unexpected arguments %q (see dkey reader -h)", fs.Args())
	case sf.path == "":
		return usagef("reader: -state FILE is required (see dkey reader -h)")
	case !ok:
		return usagef("reader: -action %q: want unlock, lock or engine-start", *actionName)
	case *timeout < 0:
		return usagef("reader: -timeout %v", *timeout)
	case card.path != "" && *readerName != "":
		return usagef("reader: -card and -reader exclude each other")
	}
	keyLog, closeKeyLog, err := e.openKeyLog(*keyLogPath)
	if err != nil {
		return err
	}
	defer closeKeyLog()
	log := e.logger()
	v, err := e.openVehicle(sf, nil, vehicleOptions{log: log.With("side", "vehicle"), keyLog: keyLog})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	e.progress("vehicle %s (%s): %s enrolled", printable(v.ID()), v.path, count(len(v.Keys()), "key"))

	if card.path != "" {
		d, err := e.openDevice(card, nil, deviceOptions{log: log.With("side", "phone"), keyLog: keyLog, noCA: true})
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, d.Close()) }()
		start := time.Now()
		res, err := v.Transact(e.ctx, transporttest.NewCard(transport.NewChainingCard(d)), action)
		report(e.stdout, &res, time.Since(start))
		return transactionError(err)
	}

	r, err := e.openReader(*readerName)
	if err != nil {
		return err
	}
	defer r.close()
	for {
		if err := e.waitForCard(r, *timeout); err != nil {
			return interrupted(e, err)
		}
		var res vehicle.Result
		start := time.Now()
		err := e.withCard(r, tapTimeout, func(ctx context.Context, t transport.Transceiver) error {
			var err error
			res, err = v.Transact(ctx, t, action)
			return err
		})
		if res.Action == 0 {
			res = vehicle.Result{Action: action, Err: err}
		}
		report(e.stdout, &res, time.Since(start))
		if *once {
			return transactionError(err)
		}
		if err := e.waitForRemoval(r); err != nil {
			return interrupted(e, err)
		}
	}
}

// interrupted is nil for an error caused by the interrupt that ends a
// command running until then (Ctrl-C), err otherwise.
func interrupted(e *env, err error) error {
	if e.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// transactionError is the error of a command whose transaction failed.
func transactionError(err error) error {
	if err != nil {
		return fmt.Errorf("transaction failed: %w", err)
	}
	return nil
}

// report prints the outcome of one transaction on one line.
func report(w io.Writer, res *vehicle.Result, elapsed time.Duration) {
	elapsed = elapsed.Round(100 * time.Microsecond)
	if !res.OK() {
		fmt.Fprintf(w, "%v: failed after %v: %v (control flow %v)\n", res.Action, elapsed, oneLine(res.Err.Error()), res.ControlFlow)
		return
	}
	kind := "standard"
	if res.Fast {
		kind = "fast"
	}
	extra := ""
	if res.FirstFriend {
		extra = ", first friend transaction"
	}
	fmt.Fprintf(w, "%v: OK, %s transaction in %v, %v key %v (%v), protocol %v, control flow %v%s\n",
		res.Action, kind, elapsed, res.Role, res.Slot, res.Profile, res.Version, res.ControlFlow, extra)
}
