package vehicle

import (
	"errors"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

// Hooks are functions a Reader calls as it works, in the style of
// net/http/httptrace: a test bench logs them, a vehicle counts them for
// its diagnostics. Set them in Config.Hooks; every field may be nil, and a
// nil Hooks costs nothing (no call, no allocation, no clock reading).
//
// A hook runs synchronously, on the goroutine of the call that reached it
// (Transact, Pair), never with the reader's lock held: it may call the
// Reader's methods, but a slow hook slows the transaction it observes. The
// information is passed by value; hooks of transactions running at once
// (several NFC readers of one vehicle) run at once.
type Hooks struct {
	// TransactionStart is called when Transact begins.
	TransactionStart func(TransactionStartInfo)
	// FastMiss is called when the device answered AUTH0 with a fast
	// cryptogram that no enrolled key's Kpersistent reproduces: the
	// vehicle and the device disagree about Kpersistent (a lost
	// acknowledgement, a restored backup, a key unknown to the vehicle),
	// and the reader falls back to a standard transaction.
	FastMiss func(FastMissInfo)
	// KeyRefused is called when a transaction ended because of the state
	// of the key (KeyRefusedInfo.Reason): the vehicle's policy refused it,
	// or the device refused to transact. It comes before TransactionDone.
	KeyRefused func(KeyRefusedInfo)
	// Statement is called for each statement of a key's statement area
	// that the transaction processed (Result.Statements), before
	// TransactionDone.
	Statement func(StatementInfo)
	// TransactionDone is called when Transact returns, with its result.
	TransactionDone func(TransactionDoneInfo)
	// PairingStart is called when Pair begins to run owner pairing with
	// a device.
	PairingStart func(PairingStartInfo)
	// PairingAttempt is called when a pairing attempt has been spent and
	// stored, just before SPAKE2+ VERIFY goes to the device.
	PairingAttempt func(PairingAttemptInfo)
	// PairingDone is called when Pair returns, with its result.
	PairingDone func(PairingDoneInfo)
}

// TransactionStartInfo describes a transaction that begins.
type TransactionStartInfo struct {
	Action dkey.Action
}

// FastMissInfo describes a fast cryptogram that matched no enrolled key.
type FastMissInfo struct {
	Action dkey.Action
	// Version is the protocol version the transaction selected.
	Version dkey.Version
}

// KeyRefusedInfo describes a transaction refused because of the key's
// state.
type KeyRefusedInfo struct {
	Action dkey.Action
	// Slot is the key refused; zero when the device refused before the
	// key identified itself, or the slot is unknown.
	Slot dkey.KeySlot
	// Reason is the class of the refusal, one of: dkey.ErrKeySuspended,
	// dkey.ErrKeyExpired, dkey.ErrNotEntitled, dkey.ErrKeyTerminated (a
	// removed or revoked key), dkey.ErrUnknownKey (a slot the vehicle
	// does not know), ErrRefused (the device refused: no key for this
	// vehicle, key suspended, lost mode, user authentication required).
	Reason error
	// ControlFlow is the outcome reported to the device.
	ControlFlow transaction.ControlFlow
	// Err is the transaction's error, with its detail.
	Err error
}

// StatementInfo describes one statement a transaction processed.
type StatementInfo struct {
	// Delivered is the key whose statement area held the statement.
	Delivered dkey.KeySlot
	StatementResult
}

// TransactionDoneInfo describes a transaction that ended.
type TransactionDoneInfo struct {
	// Result is what Transact returns; Result.Err its error.
	Result Result
	// FastMiss reports that the device offered a fast cryptogram that
	// matched no key (FastMiss was called), and the transaction fell back
	// to a standard one.
	FastMiss bool
	// Elapsed is the time Transact took, on the monotonic clock (not
	// Config.Time).
	Elapsed time.Duration
}

// PairingStartInfo describes a pairing that begins.
type PairingStartInfo struct {
	// AttemptsLeft is the number of pairing attempts left with the
	// installed verifier.
	AttemptsLeft int
}

// PairingAttemptInfo describes a pairing attempt spent.
type PairingAttemptInfo struct {
	// Remaining is the number of attempts left after this one.
	Remaining int
}

// PairingDoneInfo describes a pairing that ended.
type PairingDoneInfo struct {
	// Result is what Pair returns, Err its error.
	Result PairResult
	Err    error
	// Elapsed is the time Pair took, on the monotonic clock.
	Elapsed time.Duration
}

// refusalReasons are the classes of KeyRefusedInfo.Reason, in the order
// they are looked for in a transaction's error.
var refusalReasons = [...]error{
	dkey.ErrKeySuspended, dkey.ErrKeyExpired, dkey.ErrNotEntitled, dkey.ErrKeyTerminated, sharing.ErrRevoked, dkey.ErrUnknownKey, ErrRefused,
}

// refusalReason returns the class of a refusal for the key's state, nil
// when err is another failure. A revocation is reported as a terminated
// key.
func refusalReason(err error) error {
	for _, r := range refusalReasons {
		if errors.Is(err, r) {
			if r == sharing.ErrRevoked {
				return dkey.ErrKeyTerminated
			}
			return r
		}
	}
	return nil
}

// clock reads the clock (its monotonic reading measures Elapsed) when
// timed, the zero time otherwise.
func (h *Hooks) clock(timed bool) time.Time {
	if h == nil || !timed {
		return time.Time{}
	}
	return time.Now()
}

func (h *Hooks) transactionStart(a dkey.Action) time.Time {
	if h == nil {
		return time.Time{}
	}
	if h.TransactionStart != nil {
		h.TransactionStart(TransactionStartInfo{Action: a})
	}
	return h.clock(h.TransactionDone != nil)
}

func (h *Hooks) fastMiss(res *Result) {
	if h != nil && h.FastMiss != nil {
		h.FastMiss(FastMissInfo{Action: res.Action, Version: res.Version})
	}
}

// transactionDone calls the hooks of a transaction that ended: its
// refusal, its statements, then its end.
func (h *Hooks) transactionDone(res *Result, missed bool, start time.Time) {
	if h == nil {
		return
	}
	if h.KeyRefused != nil && res.Err != nil {
		if reason := refusalReason(res.Err); reason != nil {
			h.KeyRefused(KeyRefusedInfo{Action: res.Action, Slot: res.Slot, Reason: reason, ControlFlow: res.ControlFlow, Err: res.Err})
		}
	}
	if h.Statement != nil {
		for _, s := range res.Statements {
			h.Statement(StatementInfo{Delivered: res.Slot, StatementResult: s})
		}
	}
	if h.TransactionDone != nil {
		h.TransactionDone(TransactionDoneInfo{Result: *res, FastMiss: missed, Elapsed: time.Since(start)})
	}
}

func (h *Hooks) pairingStart(attempts int) time.Time {
	if h == nil {
		return time.Time{}
	}
	if h.PairingStart != nil {
		h.PairingStart(PairingStartInfo{AttemptsLeft: attempts})
	}
	return h.clock(h.PairingDone != nil)
}

func (h *Hooks) pairingAttempt(remaining int) {
	if h != nil && h.PairingAttempt != nil {
		h.PairingAttempt(PairingAttemptInfo{Remaining: remaining})
	}
}

// pairingDone calls PairingDone and returns Pair's results.
func (h *Hooks) pairingDone(res PairResult, err error, start time.Time) (PairResult, error) {
	if h != nil && h.PairingDone != nil {
		h.PairingDone(PairingDoneInfo{Result: res, Err: err, Elapsed: time.Since(start)})
	}
	return res, err
}
