package ble

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// FunctionID identifies a vehicle function that remote keyless entry
// drives (§8.6, TS R3 tables 19-6x as [CNDK] quotes them).
type FunctionID uint16

// Function IDs.
const (
	FunctionCentralLocking        FunctionID = 0x0001
	FunctionLockAndSecure         FunctionID = 0x0002
	FunctionDrivingReadiness      FunctionID = 0x0010
	FunctionLowPowerMode          FunctionID = 0x0011 // vehicle low-power mode
	FunctionLowFuelStatus         FunctionID = 0x0012
	FunctionRemoteClimatisation   FunctionID = 0x0100
	FunctionPanicAlarm            FunctionID = 0x0101
	FunctionFuelLid               FunctionID = 0x0102
	FunctionTrunkManual           FunctionID = 0x0110 // release the trunk lock, opened by hand
	FunctionTrunkPowerConfirm     FunctionID = 0x0111 // power trunk, with confirmation
	FunctionTrunkPower            FunctionID = 0x0112 // power trunk, without confirmation
	FunctionFrunkManual           FunctionID = 0x0120
	FunctionFrunkPowerConfirm     FunctionID = 0x0121
	FunctionFrunkPower            FunctionID = 0x0122
	FunctionDoorFrontLeftConfirm  FunctionID = 0x0130 // power doors: see Known for the order
	FunctionDoorFrontLeft         FunctionID = 0x0131
	FunctionDoorFrontRightConfirm FunctionID = 0x0132
	FunctionDoorFrontRight        FunctionID = 0x0133
	FunctionDoorRearLeftConfirm   FunctionID = 0x0134
	FunctionDoorRearLeft          FunctionID = 0x0135
	FunctionDoorRearRightConfirm  FunctionID = 0x0136
	FunctionDoorRearRight         FunctionID = 0x0137
	FunctionWindows               FunctionID = 0x0140
	FunctionRoof                  FunctionID = 0x0141
)

// name returns the name of f, or "" for an unknown function. The sources
// give 0130–0137 as "power doors FL/FR/RL/RR, each with and without
// confirm"; the order within each pair follows the trunk's (with
// confirmation first), which is the project's reading (N).
func (f FunctionID) name() string {
	switch f {
	case FunctionCentralLocking:
		return "central locking"
	case FunctionLockAndSecure:
		return "lock and secure"
	case FunctionDrivingReadiness:
		return "driving readiness"
	case FunctionLowPowerMode:
		return "vehicle low-power mode"
	case FunctionLowFuelStatus:
		return "low fuel status"
	case FunctionRemoteClimatisation:
		return "remote climatisation"
	case FunctionPanicAlarm:
		return "panic alarm"
	case FunctionFuelLid:
		return "fuel lid"
	case FunctionTrunkManual:
		return "trunk (manual)"
	case FunctionTrunkPowerConfirm:
		return "trunk (power, with confirmation)"
	case FunctionTrunkPower:
		return "trunk (power)"
	case FunctionFrunkManual:
		return "frunk (manual)"
	case FunctionFrunkPowerConfirm:
		return "frunk (power, with confirmation)"
	case FunctionFrunkPower:
		return "frunk (power)"
	case FunctionDoorFrontLeftConfirm:
		return "front left door (with confirmation)"
	case FunctionDoorFrontLeft:
		return "front left door"
	case FunctionDoorFrontRightConfirm:
		return "front right door (with confirmation)"
	case FunctionDoorFrontRight:
		return "front right door"
	case FunctionDoorRearLeftConfirm:
		return "rear left door (with confirmation)"
	case FunctionDoorRearLeft:
		return "rear left door"
	case FunctionDoorRearRightConfirm:
		return "rear right door (with confirmation)"
	case FunctionDoorRearRight:
		return "rear right door"
	case FunctionWindows:
		return "windows"
	case FunctionRoof:
		return "roof"
	}
	return ""
}

// Known reports whether f is one of the functions of the table.
func (f FunctionID) Known() bool { return f.name() != "" }

// String returns the function ID in hexadecimal with its name.
func (f FunctionID) String() string {
	s := fmt.Sprintf("%04X", uint16(f))
	if n := f.name(); n != "" {
		return s + " (" + n + ")"
	}
	return s
}

// ActionID is the action an RKE request asks of a function (tag 81 of the
// request). The public sources do not list the action IDs; the project
// defines two (N):
//
//	function                                      00 deactivate   01 activate
//	central locking, lock and secure              unlock          lock
//	trunk, frunk, fuel lid, doors, windows, roof  close           open (release)
//	driving readiness, climatisation, alarm,      stop, off       start, on
//	low-power mode, low fuel status
//
// Other values are rejected as unknown.
type ActionID uint8

// Action IDs (project choice, see ActionID).
const (
	ActionDeactivate ActionID = 0x00
	ActionActivate   ActionID = 0x01
)

// Known reports whether a is one of the defined action IDs.
func (a ActionID) Known() bool { return a == ActionDeactivate || a == ActionActivate }

// String returns the action name.
func (a ActionID) String() string {
	switch a {
	case ActionDeactivate:
		return "deactivate"
	case ActionActivate:
		return "activate"
	}
	return "ActionID(" + hexName(uint8(a), "") + ")"
}

// Entitlement returns the entitlement a key needs to ask function f for
// action a, or 0 for a status function, which any key with at least one
// entitlement may query. The mapping is the project's (the sources give the
// functions, not who may use them); unknown functions and actions need
// every entitlement, so no key gets them:
//   - central locking, lock and secure: unlock (00) needs EntitleUnlock,
//     lock (01) EntitleLock;
//   - trunk and frunk: EntitleTrunk;
//   - fuel lid, doors, windows, roof: open (01) needs EntitleUnlock, close
//     (00) EntitleLock;
//   - driving readiness, remote climatisation, low-power mode:
//     EntitleEngineStart;
//   - panic alarm: EntitleLock (any key that may lock may sound it);
//   - low fuel status: none beyond holding a key.
func (f FunctionID) Entitlement(a ActionID) dkey.Entitlements {
	if !a.Known() {
		return ^dkey.Entitlements(0)
	}
	open := a == ActionActivate
	switch f {
	case FunctionCentralLocking, FunctionLockAndSecure:
		if open { // activate = lock
			return dkey.EntitleLock
		}
		return dkey.EntitleUnlock
	case FunctionTrunkManual, FunctionTrunkPowerConfirm, FunctionTrunkPower,
		FunctionFrunkManual, FunctionFrunkPowerConfirm, FunctionFrunkPower:
		return dkey.EntitleTrunk
	case FunctionFuelLid, FunctionWindows, FunctionRoof,
		FunctionDoorFrontLeftConfirm, FunctionDoorFrontLeft, FunctionDoorFrontRightConfirm, FunctionDoorFrontRight,
		FunctionDoorRearLeftConfirm, FunctionDoorRearLeft, FunctionDoorRearRightConfirm, FunctionDoorRearRight:
		if open {
			return dkey.EntitleUnlock
		}
		return dkey.EntitleLock
	case FunctionDrivingReadiness, FunctionRemoteClimatisation, FunctionLowPowerMode:
		return dkey.EntitleEngineStart
	case FunctionPanicAlarm:
		return dkey.EntitleLock
	case FunctionLowFuelStatus:
		return 0
	}
	return ^dkey.Entitlements(0)
}

// ActionType says how a vehicle offers a function (§8.6): the RKE
// configuration of a vehicle ([RKEConfig.Functions]) lists one per
// function.
type ActionType uint8

// Action types.
const (
	ActionTypeFunctionNotSupported ActionType = 0x00
	ActionTypeEvent                ActionType = 0x01
	ActionTypeExecution            ActionType = 0x02
	ActionTypeEnduring             ActionType = 0x03 // enduring, without confirmation
	ActionTypeEnduringConfirm      ActionType = 0x04 // enduring, with confirmation
	ActionTypeActionNotSupported   ActionType = 0xFF
)

// Valid reports whether t is one of the action types of the table.
func (t ActionType) Valid() bool {
	return t <= ActionTypeEnduringConfirm || t == ActionTypeActionNotSupported
}

// Supported reports whether t offers the function: a valid type other
// than "function not supported" and "action not supported".
func (t ActionType) Supported() bool {
	return t.Valid() && t != ActionTypeFunctionNotSupported && t != ActionTypeActionNotSupported
}

// String returns the action type in hexadecimal with its meaning.
func (t ActionType) String() string {
	var n string
	switch t {
	case ActionTypeFunctionNotSupported:
		n = "function not supported"
	case ActionTypeEvent:
		n = "event"
	case ActionTypeExecution:
		n = "execution"
	case ActionTypeEnduring:
		n = "enduring without confirmation"
	case ActionTypeEnduringConfirm:
		n = "enduring with confirmation"
	case ActionTypeActionNotSupported:
		n = "action not supported"
	}
	return hexName(uint8(t), n)
}

// ExecutionStatus is what the vehicle reports of a requested action (tag
// 82 of a vehicle status, §8.6).
type ExecutionStatus uint8

// Execution statuses. 50 to EF are OEM-specific and valid; the meanings of
// F0 to F7 follow the order in which the sources list them (N).
const (
	ExecSucceeded                ExecutionStatus = 0x00
	ExecStarted                  ExecutionStatus = 0x01
	ExecStoppedByUser            ExecutionStatus = 0x02
	ExecEnded                    ExecutionStatus = 0x03 // ended, for example a limit was reached
	ExecNotPossible              ExecutionStatus = 0x10 // not possible or cancelled
	ExecNotPossibleVehicleState  ExecutionStatus = 0x11
	ExecAuthenticationError      ExecutionStatus = 0x12
	ExecDeviceTimeout            ExecutionStatus = 0x13 // device response timeout
	ExecDeviceOutOfRange         ExecutionStatus = 0x14
	ExecOEMFirst                 ExecutionStatus = 0x50
	ExecOEMLast                  ExecutionStatus = 0xEF
	ExecFunctionNotSupported     ExecutionStatus = 0xF0 // function not supported by the vehicle
	ExecActionNotSupported       ExecutionStatus = 0xF1
	ExecFunctionUnavailable      ExecutionStatus = 0xF2 // function temporarily unavailable
	ExecActionUnavailable        ExecutionStatus = 0xF3
	ExecFunctionNotPurchased     ExecutionStatus = 0xF4
	ExecActionNotPurchased       ExecutionStatus = 0xF5
	ExecInsufficientEntitlements ExecutionStatus = 0xF6
	ExecWrongRKESecurityPolicy   ExecutionStatus = 0xF7
	ExecGenericError             ExecutionStatus = 0xFE
	ExecNoStatus                 ExecutionStatus = 0xFF // no explicit status
)

// Valid reports whether s is in the table, OEM range included.
func (s ExecutionStatus) Valid() bool { return s.name() != "" }

func (s ExecutionStatus) name() string {
	if s >= ExecOEMFirst && s <= ExecOEMLast {
		return "OEM-specific"
	}
	switch s {
	case ExecSucceeded:
		return "executed successfully"
	case ExecStarted:
		return "execution started"
	case ExecStoppedByUser:
		return "stopped on user request"
	case ExecEnded:
		return "ended"
	case ExecNotPossible:
		return "not possible or cancelled"
	case ExecNotPossibleVehicleState:
		return "not possible due to vehicle state"
	case ExecAuthenticationError:
		return "authentication error"
	case ExecDeviceTimeout:
		return "device response timeout"
	case ExecDeviceOutOfRange:
		return "device out of range"
	case ExecFunctionNotSupported:
		return "function not supported by vehicle"
	case ExecActionNotSupported:
		return "action not supported by vehicle"
	case ExecFunctionUnavailable:
		return "function temporarily unavailable"
	case ExecActionUnavailable:
		return "action temporarily unavailable"
	case ExecFunctionNotPurchased:
		return "function not purchased"
	case ExecActionNotPurchased:
		return "action not purchased"
	case ExecInsufficientEntitlements:
		return "insufficient entitlements"
	case ExecWrongRKESecurityPolicy:
		return "wrong RKE security policy"
	case ExecGenericError:
		return "generic error"
	case ExecNoStatus:
		return "no explicit status"
	}
	return ""
}

// String returns the status in hexadecimal with its meaning.
func (s ExecutionStatus) String() string { return hexName(uint8(s), s.name()) }

// RefusalStatus returns the execution status a vehicle reports for an RKE
// request refused with err, as [RKEVehicle] and a link driver return them:
// F6 for a function the key is not entitled to, F0 for one the vehicle does
// not offer, 13 when the device did not answer in time, 14 when the link
// went, and 12 (authentication error) for every failure of the key or its
// signature, so the device learns nothing more. A nil err gives FF (no
// explicit status): what the vehicle did is for it to report.
func RefusalStatus(err error) ExecutionStatus {
	switch {
	case err == nil:
		return ExecNoStatus
	case errors.Is(err, dkey.ErrNotEntitled):
		return ExecInsufficientEntitlements
	case errors.Is(err, ErrFunctionNotSupported):
		return ExecFunctionNotSupported
	case errors.Is(err, context.DeadlineExceeded):
		return ExecDeviceTimeout
	case errors.Is(err, ErrLinkClosed):
		return ExecDeviceOutOfRange
	}
	return ExecAuthenticationError
}

// Tags of the RKE data objects (§8.6, I [CNDK]).
const (
	tagRKERequest   = 0x7F70 // RKE request: 80 function, 81 action
	tagActionStatus = 0x7F71 // last requested action execution status
	tagFunction     = 0x80
	tagAction       = 0x81
	tagExecution    = 0x82
)

// RKERequest is what the device asks the vehicle to do: the payload of an
// RKE request event (subevent 05, §8.6), 7F70 { 80 02 function, 81 01
// action }.
type RKERequest struct {
	Function FunctionID
	Action   ActionID
}

// Valid reports whether the function and the action are known.
func (r RKERequest) Valid() bool { return r.Function.Known() && r.Action.Known() }

// Entitlement returns the entitlement the request needs.
func (r RKERequest) Entitlement() dkey.Entitlements { return r.Function.Entitlement(r.Action) }

// String returns the request as "function: action".
func (r RKERequest) String() string { return r.Function.String() + ": " + r.Action.String() }

// Append appends the 7F70 data object of r to dst.
func (r RKERequest) Append(dst []byte) []byte {
	dst = append(appendTag(dst, tagRKERequest), 7)
	dst = append(dst, tagFunction, 2, byte(r.Function>>8), byte(r.Function))
	return append(dst, tagAction, 1, byte(r.Action))
}

func (r RKERequest) appendEvent(dst []byte) ([]byte, error) {
	if !r.Valid() {
		return dst, fmt.Errorf("ble: RKE request %v: %w", r, ErrUnknownValue)
	}
	return r.Append(append(dst, byte(SubeventRKERequest))), nil
}

// ParseRKERequest parses the 7F70 data object of an RKE request. It
// rejects anything but exactly 7F70 { 80 02 xx xx 81 01 xx } with a
// short-form length and nothing after it ([ErrMalformed]), and unknown
// functions and actions ([ErrUnknownValue]).
func ParseRKERequest(b []byte) (RKERequest, error) {
	body, rest, ok := readTLV(b, tagRKERequest)
	if !ok || len(rest) != 0 {
		return RKERequest{}, fmt.Errorf("%w: RKE request is not one 7F70 data object", ErrMalformed)
	}
	f, body, ok1 := readFixed(body, tagFunction, 2)
	a, body, ok2 := readFixed(body, tagAction, 1)
	if !ok1 || !ok2 || len(body) != 0 {
		return RKERequest{}, fmt.Errorf("%w: RKE request 7F70 content", ErrMalformed)
	}
	r := RKERequest{Function: FunctionID(binary.BigEndian.Uint16(f)), Action: ActionID(a[0])}
	if !r.Valid() {
		return RKERequest{}, fmt.Errorf("%w: RKE request %v", ErrUnknownValue, r)
	}
	return r, nil
}

// ActionStatus is the vehicle's report on a requested action: the payload
// of a vehicle-status event (subevent 04, §8.6), 7F71 { 80 02 function,
// 81 01 action, 82 01 execution status }.
type ActionStatus struct {
	Function FunctionID
	Action   ActionID
	Status   ExecutionStatus
}

// String returns the status as "function: action: status".
func (s ActionStatus) String() string {
	return s.Function.String() + ": " + s.Action.String() + ": " + s.Status.String()
}

func (s ActionStatus) appendEvent(dst []byte) ([]byte, error) {
	if !s.Function.Known() || !s.Action.Known() || !s.Status.Valid() {
		return dst, fmt.Errorf("ble: vehicle status %v: %w", s, ErrUnknownValue)
	}
	dst = append(appendTag(append(dst, byte(SubeventVehicleStatus)), tagActionStatus), 10)
	dst = append(dst, tagFunction, 2, byte(s.Function>>8), byte(s.Function))
	return append(dst, tagAction, 1, byte(s.Action), tagExecution, 1, byte(s.Status)), nil
}

func parseActionStatus(b []byte) (ActionStatus, error) {
	if len(b) >= 2 && (b[0] != tagActionStatus>>8 || b[1] != tagActionStatus&0xFF) {
		return ActionStatus{}, fmt.Errorf("%w: vehicle status container %02X%02X", ErrUnsupported, b[0], b[1])
	}
	body, rest, ok := readTLV(b, tagActionStatus)
	if !ok || len(rest) != 0 {
		return ActionStatus{}, fmt.Errorf("%w: vehicle status is not one 7F71 data object", ErrMalformed)
	}
	f, body, ok1 := readFixed(body, tagFunction, 2)
	a, body, ok2 := readFixed(body, tagAction, 1)
	x, body, ok3 := readFixed(body, tagExecution, 1)
	if !ok1 || !ok2 || !ok3 || len(body) != 0 {
		return ActionStatus{}, fmt.Errorf("%w: vehicle status 7F71 content", ErrMalformed)
	}
	s := ActionStatus{Function: FunctionID(binary.BigEndian.Uint16(f)), Action: ActionID(a[0]), Status: ExecutionStatus(x[0])}
	if !s.Function.Known() || !s.Action.Known() || !s.Status.Valid() {
		return ActionStatus{}, fmt.Errorf("%w: vehicle status %v", ErrUnknownValue, s)
	}
	return s, nil
}

// ChallengeSize is the size of an RKE challenge.
const ChallengeSize = 16

// Challenge is the random challenge of an RKE_Auth_RQ: the message's whole
// data (§8.6).
type Challenge [ChallengeSize]byte

// ParseChallenge parses the data of an RKE_Auth_RQ: exactly 16 bytes.
func ParseChallenge(b []byte) (Challenge, error) {
	if len(b) != ChallengeSize {
		return Challenge{}, fmt.Errorf("%w: RKE challenge of %d bytes, want %d", ErrMalformed, len(b), ChallengeSize)
	}
	return Challenge(b), nil
}

// ParseRKEResponse parses the data of an RKE_Auth_RS: the raw 64-byte
// signature r‖s and nothing else (the project's reading of §8.6, which
// names only the signature). The error wraps [ErrMalformed] and
// dkey.ErrInvalidSignature.
func ParseRKEResponse(b []byte) (dkey.Signature, error) {
	sig, err := dkey.ParseSignature(b)
	if err != nil {
		return sig, fmt.Errorf("%w: RKE_Auth_RS: %w", ErrMalformed, err)
	}
	return sig, nil
}

// RKEDigest returns arbitrary_data = SHA-256(challenge ‖ function ID (2,
// big-endian) ‖ action ID (1)), the digest the endpoint key signs with
// ECDSA P-256 (§8.6, I [NXPDK]). Whether the SE hashes arbitrary_data once
// more before signing is not public (N); the project signs the digest as
// it is, so the signature is an ordinary ECDSA-SHA256 signature over
// challenge ‖ function ‖ action.
func RKEDigest(c *Challenge, r RKERequest) [sha256.Size]byte {
	var b [ChallengeSize + 3]byte
	copy(b[:], c[:])
	binary.BigEndian.PutUint16(b[ChallengeSize:], uint16(r.Function))
	b[ChallengeSize+2] = byte(r.Action)
	return sha256.Sum256(b[:])
}

// RKEKeys looks up the vehicle's enrolled keys; vehicle.Reader is meant to
// implement it. The method uses dkey types only, so that the vehicle
// package implements it without importing this one (docs/architecture.md: no library
// package imports a transport implementation).
//
// RKEKey returns the public key, the state and the access profile of the key
// of slot, as they are at the time of the call (a key suspended since its
// challenge is refused at verification). It fails with an error wrapping
// dkey.ErrUnknownKey when no key has the slot, and with one wrapping
// dkey.ErrKeyExpired when the key is outside its validity window, which the
// vehicle keeps; RKEVehicle checks the state and the entitlements.
type RKEKeys interface {
	RKEKey(slot dkey.KeySlot) (*dkey.PublicKey, dkey.KeyState, dkey.AccessProfile, error)
}

// RKEConfig configures an [RKEVehicle].
type RKEConfig struct {
	// Keys are the vehicle's enrolled keys. Required.
	Keys RKEKeys
	// Functions lists the functions the vehicle offers, with how it offers
	// each; a function absent or listed as not supported is refused. Nil
	// means every known function. NewRKEVehicle copies the map.
	Functions map[FunctionID]ActionType
	// Time returns the current time, for challenge lifetimes; nil means
	// time.Now.
	Time func() time.Time
	// ChallengeLifetime is how long a challenge may be answered; zero or
	// less means DefaultChallengeLifetime.
	ChallengeLifetime time.Duration
}

// DefaultChallengeLifetime is how long an RKE challenge may be answered
// (project choice: the sources give no timeout).
const DefaultChallengeLifetime = 30 * time.Second

// Bounds of the challenge bookkeeping of an RKEVehicle: the challenges
// waiting for an answer (the oldest is forgotten first) and the answered
// ones remembered to tell a replay from an unknown challenge.
const (
	MaxPendingChallenges    = 16
	rememberedUsedChallenge = 64
)

type pendingChallenge struct {
	c      Challenge
	slot   dkey.KeySlot
	req    RKERequest
	issued time.Time
}

// RKEVehicle is the vehicle's side of remote keyless entry over BLE, sans
// I/O (§8.6): it checks an RKE request against the key's state and access
// profile and the functions the vehicle offers, issues a fresh random
// challenge for it, and verifies the device's signature over the challenge,
// the function and the action, accepting each challenge at most once.
//
// The link driver reads the RKE request event, calls Challenge with the
// slot of the key the link authenticated (the standard transaction run
// over it), sends the challenge in an RKE_Auth_RQ, passes the signature of
// the RKE_Auth_RS to Verify, acts on the grant, and reports the outcome in
// a vehicle-status event (RefusalStatus for a refusal).
//
// An RKEVehicle is safe for concurrent use; one serves every link of the
// vehicle.
type RKEVehicle struct {
	keys  RKEKeys
	funcs map[FunctionID]ActionType
	now   func() time.Time
	ttl   time.Duration

	mu      sync.Mutex
	pending []pendingChallenge
	used    [rememberedUsedChallenge]Challenge
	nUsed   int // number of valid entries of used
	next    int // where the next used challenge goes
}

// NewRKEVehicle returns an RKEVehicle. It fails when cfg has no Keys or
// lists an action type outside the table.
func NewRKEVehicle(cfg *RKEConfig) (*RKEVehicle, error) {
	if cfg == nil || cfg.Keys == nil {
		return nil, errors.New("ble: RKE needs the vehicle's keys")
	}
	v := &RKEVehicle{keys: cfg.Keys, now: cfg.Time, ttl: cfg.ChallengeLifetime}
	if cfg.Functions != nil {
		v.funcs = make(map[FunctionID]ActionType, len(cfg.Functions))
		for f, t := range cfg.Functions {
			if !t.Valid() {
				return nil, fmt.Errorf("ble: RKE function %v: action type %v: %w", f, t, ErrUnknownValue)
			}
			v.funcs[f] = t
		}
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.ttl <= 0 {
		v.ttl = DefaultChallengeLifetime
	}
	return v, nil
}

// RKEGrant is what a verified RKE response authorises: the key and the
// request it signed, with the key's profile (its speed limit applies).
type RKEGrant struct {
	Slot    dkey.KeySlot
	Request RKERequest
	Profile dkey.AccessProfile
}

// Challenge checks that the key of slot may make req and returns a fresh
// challenge for it, which the vehicle sends in an RKE_Auth_RQ. It refuses,
// issuing nothing, a request for a function the vehicle does not offer
// ([ErrFunctionNotSupported]) and a key that is unknown, suspended,
// terminated, outside its validity window or not entitled (errors wrapping
// the dkey sentinels; RKEKeys reports the first and the validity window).
func (v *RKEVehicle) Challenge(slot dkey.KeySlot, req RKERequest) (Challenge, error) {
	if _, _, err := v.authorize(slot, req); err != nil {
		return Challenge{}, err
	}
	var c Challenge
	rand.Read(c[:])
	v.issue(slot, req, c, v.now())
	return c, nil
}

// issue records c as the pending challenge of req by the key of slot: the
// derandomized part of Challenge, which known-answer tests call.
func (v *RKEVehicle) issue(slot dkey.KeySlot, req RKERequest, c Challenge, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.pending) == MaxPendingChallenges {
		v.pending = append(v.pending[:0], v.pending[1:]...)
	}
	v.pending = append(v.pending, pendingChallenge{c: c, slot: slot, req: req, issued: now})
}

// Verify checks sig, the device's answer to challenge c, and returns what
// it authorises. The challenge is used up whatever the outcome: a second
// answer to it fails with [ErrChallengeUsed], an answer to a challenge the
// vehicle did not issue (or forgot) with [ErrUnknownChallenge], a late one
// with [ErrChallengeExpired]. The key is checked again as in Challenge,
// since it may have been suspended meanwhile, and a signature that does
// not verify with its public key fails with dkey.ErrVerification and
// nothing more.
func (v *RKEVehicle) Verify(c Challenge, sig dkey.Signature) (RKEGrant, error) {
	p, err := v.consume(c)
	if err != nil {
		return RKEGrant{}, err
	}
	if v.now().Sub(p.issued) > v.ttl {
		return RKEGrant{}, ErrChallengeExpired
	}
	pub, profile, err := v.authorize(p.slot, p.req)
	if err != nil {
		return RKEGrant{}, err
	}
	digest := RKEDigest(&c, p.req)
	if err := pub.VerifyDigest(digest[:], &sig); err != nil {
		return RKEGrant{}, fmt.Errorf("ble: RKE: %w", err)
	}
	return RKEGrant{Slot: p.slot, Request: p.req, Profile: profile}, nil
}

// consume takes c out of the pending challenges and records it as used.
func (v *RKEVehicle) consume(c Challenge) (pendingChallenge, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range v.pending {
		if sameChallenge(&v.pending[i].c, &c) {
			p := v.pending[i]
			v.pending = append(v.pending[:i], v.pending[i+1:]...)
			v.used[v.next] = c
			v.next = (v.next + 1) % rememberedUsedChallenge
			v.nUsed = min(v.nUsed+1, rememberedUsedChallenge)
			return p, nil
		}
	}
	for i := range v.nUsed {
		if sameChallenge(&v.used[i], &c) {
			return pendingChallenge{}, ErrChallengeUsed
		}
	}
	return pendingChallenge{}, ErrUnknownChallenge
}

// sameChallenge compares two challenges in constant time. Challenges travel
// in the clear, but the project compares challenges, MACs and cryptograms
// alike.
func sameChallenge(a, b *Challenge) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// authorize applies the vehicle's RKE policy to the key of slot and req,
// and returns the key's public key and profile.
func (v *RKEVehicle) authorize(slot dkey.KeySlot, req RKERequest) (*dkey.PublicKey, dkey.AccessProfile, error) {
	if !v.offers(req) {
		return nil, dkey.AccessProfile{}, fmt.Errorf("ble: RKE %v: %w", req, ErrFunctionNotSupported)
	}
	pub, state, profile, err := v.keys.RKEKey(slot)
	switch {
	case err != nil:
		return nil, dkey.AccessProfile{}, fmt.Errorf("ble: RKE: slot %v: %w", slot, err)
	case pub == nil:
		return nil, dkey.AccessProfile{}, fmt.Errorf("ble: RKE: slot %v: %w", slot, dkey.ErrUnknownKey)
	case state == dkey.KeySuspended:
		return nil, dkey.AccessProfile{}, fmt.Errorf("ble: RKE: %w", dkey.ErrKeySuspended)
	case state != dkey.KeyActive:
		return nil, dkey.AccessProfile{}, fmt.Errorf("ble: RKE: %w", dkey.ErrKeyTerminated)
	case profile.Entitlements == 0 || !profile.Entitlements.Has(req.Entitlement()):
		return nil, dkey.AccessProfile{}, fmt.Errorf("ble: RKE %v: %w", req, dkey.ErrNotEntitled)
	}
	return pub, profile, nil
}

// offers reports whether the vehicle offers req's function.
func (v *RKEVehicle) offers(req RKERequest) bool {
	if !req.Valid() {
		return false
	}
	if v.funcs == nil {
		return true
	}
	t, ok := v.funcs[req.Function]
	return ok && t.Supported()
}

// RKESigner signs RKE data with the endpoint key of a vehicle;
// device.Applet is meant to implement it, applying its own policy (key
// state, lost mode) before the secure element signs. SignRKE signs digest,
// the arbitrary_data of [RKEDigest], and returns the raw signature; it
// fails with an error wrapping dkey.ErrUnknownVehicle when it holds no key
// for vehicle.
type RKESigner interface {
	SignRKE(vehicle dkey.VehicleID, digest *[sha256.Size]byte) (dkey.Signature, error)
}

// CryptoRKESigner is an [RKESigner] over one crypto.Signer, the endpoint
// key of one vehicle: for tests, examples, and devices whose key handle is
// a crypto.Signer.
type CryptoRKESigner struct {
	Vehicle dkey.VehicleID
	Signer  crypto.Signer
}

var _ RKESigner = (*CryptoRKESigner)(nil)

// SignRKE implements [RKESigner].
func (s *CryptoRKESigner) SignRKE(vehicle dkey.VehicleID, digest *[sha256.Size]byte) (dkey.Signature, error) {
	if vehicle != s.Vehicle {
		return dkey.Signature{}, fmt.Errorf("ble: RKE for %v: %w", vehicle, dkey.ErrUnknownVehicle)
	}
	der, err := s.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return dkey.Signature{}, fmt.Errorf("ble: RKE signature: %w", err)
	}
	return dkey.SignatureFromASN1(der)
}

// RKEDevice is the device's side of remote keyless entry over one link,
// sans I/O (§8.6): Request records what the user asked and gives the event
// to send; Answer signs the vehicle's challenge for that request and
// nothing else, so a vehicle cannot make the device sign an action the
// user did not ask for. One request waits at a time; a new one replaces
// it. An RKEDevice is safe for concurrent use.
type RKEDevice struct {
	vehicle dkey.VehicleID
	signer  RKESigner

	mu      sync.Mutex
	pending RKERequest
	waiting bool
}

// NewRKEDevice returns the device side of RKE with vehicle, signing with
// signer.
func NewRKEDevice(vehicle dkey.VehicleID, signer RKESigner) *RKEDevice {
	return &RKEDevice{vehicle: vehicle, signer: signer}
}

// Request records req as the request waiting for the vehicle's challenge
// and returns the RKE request event that carries it. It fails for an
// unknown function or action ([ErrUnknownValue]).
func (d *RKEDevice) Request(req RKERequest) (Event, error) {
	if !req.Valid() {
		return Event{}, fmt.Errorf("ble: RKE request %v: %w", req, ErrUnknownValue)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending, d.waiting = req, true
	return Event{Subevent: SubeventRKERequest, RKE: req}, nil
}

// Answer signs challenge c for the waiting request, which it consumes
// whatever the outcome, and returns the signature to send in the
// RKE_Auth_RS with the request it answers. It fails with [ErrNoRequest]
// when no request waits, and with the signer's error.
func (d *RKEDevice) Answer(c Challenge) (dkey.Signature, RKERequest, error) {
	d.mu.Lock()
	req, ok := d.pending, d.waiting
	d.pending, d.waiting = RKERequest{}, false
	d.mu.Unlock()
	if !ok {
		return dkey.Signature{}, RKERequest{}, ErrNoRequest
	}
	digest := RKEDigest(&c, req)
	sig, err := d.signer.SignRKE(d.vehicle, &digest)
	if err != nil {
		return dkey.Signature{}, req, err
	}
	return sig, req, nil
}
