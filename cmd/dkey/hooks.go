package main

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/vehicle"
)

// prefixWriter writes each line it is given after "dkey: ", so that the
// log lines look like the other lines on standard error. slog's handlers
// write a record in one Write.
type prefixWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, "dkey: "); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// logger returns the log of the commands that run a vehicle or an applet:
// the hooks' events as log/slog text records on standard error, without
// the time (the lines come as they happen). Events are at level Info,
// refusals and failures at Warn; -q keeps Warn and above, -v adds the
// Debug records (each transaction's start).
func (e *env) logger() *slog.Logger {
	level := slog.LevelInfo
	switch {
	case e.quiet:
		level = slog.LevelWarn
	case e.verbose:
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(&prefixWriter{w: e.stderr}, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// errAttr is the attribute of an error, none for nil.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("err", oneLine(err.Error()))
}

// errLevel is Info for a success and Warn for a failure.
func errLevel(err error) slog.Level {
	if err != nil {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// vehicleHooks wires a reader's hooks to l.
func vehicleHooks(l *slog.Logger) *vehicle.Hooks {
	ctx := context.Background()
	return &vehicle.Hooks{
		TransactionStart: func(i vehicle.TransactionStartInfo) {
			l.Debug("transaction start", "action", i.Action.String())
		},
		FastMiss: func(i vehicle.FastMissInfo) {
			l.Info("fast cryptogram matched no key, standard transaction follows", "action", i.Action.String(), "version", i.Version.String())
		},
		KeyRefused: func(i vehicle.KeyRefusedInfo) {
			l.Warn("key refused", "action", i.Action.String(), "slot", i.Slot.String(), "reason", oneLine(i.Reason.Error()), "control_flow", i.ControlFlow.String())
		},
		Statement: func(i vehicle.StatementInfo) {
			l.Log(ctx, errLevel(i.Err), "statement", "kind", i.Kind.String(), "from", i.Delivered.String(), "slot", i.Slot.String(), errAttr(i.Err))
		},
		TransactionDone: func(i vehicle.TransactionDoneInfo) {
			r := &i.Result
			l.Log(ctx, errLevel(r.Err), "transaction done", "action", r.Action.String(), "ok", r.OK(), "fast", r.Fast,
				"fast_miss", i.FastMiss, "slot", r.Slot.String(), "role", r.Role.String(), "control_flow", r.ControlFlow.String(),
				"delivered", r.ControlFlowDelivered, "first_friend", r.FirstFriend, "elapsed", i.Elapsed, errAttr(r.Err))
		},
		PairingStart: func(i vehicle.PairingStartInfo) {
			l.Info("pairing start", "attempts_left", i.AttemptsLeft)
		},
		PairingAttempt: func(i vehicle.PairingAttemptInfo) {
			l.Info("pairing attempt spent, SPAKE2+ VERIFY follows", "attempts_left", i.Remaining)
		},
		PairingDone: func(i vehicle.PairingDoneInfo) {
			l.Log(ctx, errLevel(i.Err), "pairing done", "slot", i.Result.Slot.String(), "elapsed", i.Elapsed, errAttr(i.Err))
		},
	}
}

// deviceHooks wires an applet's hooks to l. They run inside the applet:
// they only log.
func deviceHooks(l *slog.Logger) *device.Hooks {
	ctx := context.Background()
	return &device.Hooks{
		TransactionStart: func(i device.TransactionStartInfo) {
			l.Debug("transaction start", "vehicle", printable(i.Vehicle), "slot", i.Slot.String(), "action", i.Action.String(), "cryptogram", i.Cryptogram)
		},
		KeyRefused: func(i device.KeyRefusedInfo) {
			l.Warn("transaction refused", "vehicle", printable(i.Vehicle), "slot", i.Slot.String(), "action", i.Action.String(), "reason", oneLine(i.Reason.Error()))
		},
		StatementsCleared: func(i device.StatementsClearedInfo) {
			l.Info("statement area consumed by the vehicle", "vehicle", printable(i.Vehicle), "slot", i.Slot.String())
		},
		TransactionDone: func(i device.TransactionDoneInfo) {
			l.Log(ctx, errLevel(i.Err), "transaction done", "vehicle", printable(i.Vehicle), "slot", i.Slot.String(), "standard", i.Standard,
				"control_flow", i.ControlFlow.String(), "new_kpersistent", i.Committed, errAttr(i.Err))
		},
		PairingStart: func(i device.PairingStartInfo) {
			l.Info("pairing: deriving the keys from the password (scrypt)", "requests_left", i.RequestsLeft)
		},
		PairingAttempt: func(i device.PairingAttemptInfo) {
			l.Log(ctx, errLevel(i.Err), "pairing attempt", "password_ok", i.Err == nil, errAttr(i.Err))
		},
		PairingDone: func(i device.PairingDoneInfo) {
			l.Log(ctx, errLevel(i.Err), "pairing done", "vehicle", printable(i.Vehicle), "slot", i.Slot.String(), errAttr(i.Err))
		},
	}
}
