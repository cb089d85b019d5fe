package ranging

import (
	"errors"
	"fmt"
)

// Errors of the ranging setup. Callers branch on them with errors.Is; the
// package wraps them with detail.
var (
	// ErrMalformed reports a message that does not parse: a wrong length, a
	// reserved bit set, a value outside its range.
	ErrMalformed = errors.New("ranging: malformed message")
	// ErrUnexpectedMessage reports a message that does not fit the state of
	// the exchange; the error is an *[UnexpectedMessageError].
	ErrUnexpectedMessage = errors.New("ranging: unexpected message")
	// ErrNoCommonParameter reports that the two sides share no value of a
	// parameter (no common channel, configuration, version…); the error is a
	// *[NegotiationError] naming the parameter.
	ErrNoCommonParameter = errors.New("ranging: no common parameter")
	// ErrNotOffered reports a peer that selected a value the other side did
	// not offer, or a RAN multiplier below the device's minimum: a
	// misbehaving or downgrading peer.
	ErrNotOffered = errors.New("ranging: selected value was not offered")
	// ErrNoRangingKey reports a UWB session identifier that matches no
	// URSK.
	ErrNoRangingKey = errors.New("ranging: no URSK for the UWB session")
	// ErrRangingKeyExpired reports a URSK past its lifetime (URSK TTL); a new
	// standard transaction must derive a fresh one.
	ErrRangingKeyExpired = errors.New("ranging: URSK expired")
	// ErrRangingKeyRevoked reports a URSK deleted because its key was
	// terminated or suspended (lost mode).
	ErrRangingKeyRevoked = errors.New("ranging: URSK revoked")
	// ErrKeySlotsFull reports a key store with no free URSK slot (the
	// applet's CREATE RANGING KEY answers 6484, docs/protocol.md §2.4).
	ErrKeySlotsFull = errors.New("ranging: no URSK slot left")
	// ErrWrongSession reports a suspend or recovery request for a UWB session
	// other than the one set up.
	ErrWrongSession = errors.New("ranging: request for another UWB session")
	// ErrSessionState reports an operation the session's state does not
	// allow: suspending a suspended session, recovering after the URSK
	// expired, anything after Close.
	ErrSessionState = errors.New("ranging: operation not allowed in the session state")
)

// UnexpectedMessageError reports a message that arrived when another was
// expected. It matches [ErrUnexpectedMessage].
type UnexpectedMessageError struct {
	Want MessageID // the message the exchange waited for (0: none)
	Got  MessageID // the message that arrived
}

func (e *UnexpectedMessageError) Error() string {
	if e.Want == 0 {
		return fmt.Sprintf("ranging: unexpected message %v", e.Got)
	}
	return fmt.Sprintf("ranging: unexpected message %v, want %v", e.Got, e.Want)
}

// Is reports whether target is [ErrUnexpectedMessage].
func (e *UnexpectedMessageError) Is(target error) bool { return target == ErrUnexpectedMessage }

// Parameter names a negotiated parameter of the ranging setup.
type Parameter uint8

// The negotiated parameters (docs/protocol.md §8.4).
const (
	ParamVersion Parameter = iota + 1
	ParamConfigID
	ParamPulseShape
	ParamChannel
	ParamSlotLength
	ParamSlotsPerRound
	ParamSyncCode
	ParamHopping
	ParamRANMultiplier
)

// String names the parameter.
func (p Parameter) String() string {
	switch p {
	case ParamVersion:
		return "protocol version"
	case ParamConfigID:
		return "UWB configuration"
	case ParamPulseShape:
		return "pulse-shape combination"
	case ParamChannel:
		return "UWB channel"
	case ParamSlotLength:
		return "slot length"
	case ParamSlotsPerRound:
		return "slots per round"
	case ParamSyncCode:
		return "SYNC code"
	case ParamHopping:
		return "hopping configuration"
	case ParamRANMultiplier:
		return "RAN multiplier"
	}
	return fmt.Sprintf("Parameter(%d)", uint8(p))
}

// NegotiationError reports a parameter for which the two sides have no value
// in common. It matches [ErrNoCommonParameter].
type NegotiationError struct {
	Param Parameter
}

func (e *NegotiationError) Error() string {
	return "ranging: no common " + e.Param.String()
}

// Is reports whether target is [ErrNoCommonParameter].
func (e *NegotiationError) Is(target error) bool { return target == ErrNoCommonParameter }

func noCommon(p Parameter) error { return &NegotiationError{Param: p} }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func notOffered(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotOffered}, args...)...)
}
