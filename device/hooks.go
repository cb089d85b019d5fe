package device

import (
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Hooks are functions an Applet calls as it answers a vehicle, in the
// style of net/http/httptrace: a test bench logs them, a host app shows
// them ("car unlocked"). Set them in Config.Hooks; every field may be nil,
// and a nil Hooks costs nothing (no call, no allocation).
//
// A hook runs synchronously inside ProcessAPDU, with the applet's lock
// held, except those of a SPAKE2+ REQUEST, which run around its password
// derivation, outside the lock: a hook must not call the Applet, and a slow
// hook slows the transaction (a phone has a few hundred milliseconds).
// Hand the information to another goroutine for anything but logging or
// counting.
type Hooks struct {
	// TransactionStart is called when the applet answers AUTH0 for a key:
	// the device's policy let the transaction go ahead.
	TransactionStart func(TransactionStartInfo)
	// KeyRefused is called when the applet refuses AUTH0 because of the
	// key's state or the device's: no key for the vehicle, lost mode, key
	// suspended, power reserve, user authentication required.
	KeyRefused func(KeyRefusedInfo)
	// StatementsCleared is called when the vehicle acknowledged the
	// statement area of a key (inside the secure channel) and the applet
	// cleared it: the vehicle has processed the statements.
	StatementsCleared func(StatementsClearedInfo)
	// TransactionDone is called when the applet has answered the CONTROL
	// FLOW that ends a transaction. A transaction that ends without one
	// (the phone left the field, another SELECT) reports nothing.
	TransactionDone func(TransactionDoneInfo)
	// PairingStart is called when a SPAKE2+ REQUEST reaches the applet
	// with a pairing password entered, before the password derivation
	// (scrypt: a quarter of a second and more), without the lock.
	PairingStart func(PairingStartInfo)
	// PairingAttempt is called when the applet has processed SPAKE2+
	// VERIFY, which uses the password up.
	PairingAttempt func(PairingAttemptInfo)
	// PairingDone is called when a pairing run ends: committed, failed, or
	// aborted by the vehicle. A run ended by a reset or another SELECT
	// reports nothing.
	PairingDone func(PairingDoneInfo)
}

// TransactionStartInfo describes a transaction the applet accepted.
type TransactionStartInfo struct {
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
	Action  dkey.Action
	// Cryptogram reports that the AUTH0 response carried a fast
	// cryptogram (the vehicle asked for it and the key has Kpersistent).
	Cryptogram bool
}

// KeyRefusedInfo describes an AUTH0 the applet refused.
type KeyRefusedInfo struct {
	Vehicle dkey.VehicleID
	// Slot is the key of the vehicle, zero when the applet holds none.
	Slot   dkey.KeySlot
	Action dkey.Action
	// Reason is why, for errors.Is: dkey.ErrUnknownVehicle,
	// dkey.ErrKeySuspended (lost mode, the key suspended, or, wrapped with
	// ErrPowerReserve, a key not marked for power reserve), or
	// dkey.ErrUserAuthenticationRequired.
	Reason error
}

// StatementsClearedInfo describes a statement area the vehicle consumed.
type StatementsClearedInfo struct {
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
}

// TransactionDoneInfo describes a transaction the vehicle ended with
// CONTROL FLOW.
type TransactionDoneInfo struct {
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
	// Standard reports a standard transaction (AUTH1), otherwise fast.
	Standard bool
	// ControlFlow is the vehicle's verdict; zero when Err is set.
	ControlFlow transaction.ControlFlow
	// Committed reports that the new Kpersistent of a standard
	// transaction was stored: the next transaction can be fast.
	Committed bool
	// Err is why the applet refused the CONTROL FLOW command, nil when it
	// answered 9000.
	Err error
}

// PairingStartInfo describes a pairing run that begins its SPAKE2+
// REQUEST.
type PairingStartInfo struct {
	// RequestsLeft is the number of SPAKE2+ REQUESTs the password entry
	// answers after this one.
	RequestsLeft int
}

// PairingAttemptInfo describes a SPAKE2+ VERIFY the applet processed.
type PairingAttemptInfo struct {
	// Err is nil when the vehicle's evidence verified (the password was
	// right), otherwise why it did not.
	Err error
}

// PairingDoneInfo describes a pairing run that ended.
type PairingDoneInfo struct {
	// Vehicle and Slot are the key the run committed; zero when Err is
	// set.
	Vehicle dkey.VehicleID
	Slot    dkey.KeySlot
	Err     error
}

func (h *Hooks) transactionStart(k *key, action dkey.Action, cryptogram bool) {
	if h != nil && h.TransactionStart != nil {
		h.TransactionStart(TransactionStartInfo{Vehicle: k.vehicle, Slot: k.cred.Slot, Action: action, Cryptogram: cryptogram})
	}
}

func (h *Hooks) keyRefused(vehicle dkey.VehicleID, k *key, action dkey.Action, reason error) {
	if h != nil && h.KeyRefused != nil {
		info := KeyRefusedInfo{Vehicle: vehicle, Action: action, Reason: reason}
		if k != nil {
			info.Slot = k.cred.Slot
		}
		h.KeyRefused(info)
	}
}

func (h *Hooks) statementsCleared(k *key) {
	if h != nil && h.StatementsCleared != nil {
		h.StatementsCleared(StatementsClearedInfo{Vehicle: k.vehicle, Slot: k.cred.Slot})
	}
}

// controlFlowHooked is controlFlow, reported to TransactionDone.
func (a *Applet) controlFlowHooked(dst []byte, cmd *transport.Command) ([]byte, error) {
	h := a.cfg.Hooks
	if h == nil || h.TransactionDone == nil {
		return a.controlFlow(dst, cmd)
	}
	k, standard, staged := a.current, a.sess.Standard(), a.pending.Valid()
	out, err := a.controlFlow(dst, cmd)
	if k != nil {
		info := TransactionDoneInfo{Vehicle: k.vehicle, Slot: k.cred.Slot, Standard: standard, Err: err}
		if err == nil {
			cf := k.lastCF
			info.ControlFlow = cf
			info.Committed = standard && staged && (cf.Success() || cf.Continue())
		}
		h.TransactionDone(info)
	}
	return out, err
}

// processPairing is run.Process, reported to the pairing hooks; left is
// the number of SPAKE2+ REQUESTs the password entry answers after a
// REQUEST.
func (a *Applet) processPairing(run *pairing.DeviceSession, dst []byte, cmd *transport.Command, left int) ([]byte, error) {
	h := a.cfg.Hooks
	if h == nil {
		return run.Process(dst, cmd)
	}
	if cmd.INS == insSpakeRequest && h.PairingStart != nil {
		h.PairingStart(PairingStartInfo{RequestsLeft: left})
	}
	attempted := run.Attempted()
	_, had := run.Result()
	out, err := run.Process(dst, cmd)
	if !attempted && run.Attempted() && h.PairingAttempt != nil {
		h.PairingAttempt(PairingAttemptInfo{Err: err})
	}
	if h.PairingDone != nil {
		switch res, ok := run.Result(); {
		case ok && !had:
			h.PairingDone(PairingDoneInfo{Vehicle: res.VehicleID, Slot: res.Slot})
		case err != nil:
			h.PairingDone(PairingDoneInfo{Err: err})
		case run.Err() != nil:
			h.PairingDone(PairingDoneInfo{Err: run.Err()})
		}
	}
	return out, err
}
