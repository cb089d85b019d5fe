package spake2plus

import (
	"errors"
	"fmt"
)

var (
	// ErrAuthentication is the one opaque error of a run that fails: a peer
	// share that is malformed, not on the curve, the identity or exactly the
	// password's mask, and a confirmation of the wrong length or value all
	// return it, so that a peer learns nothing about which check failed
	// (RFC 9383 §3.4 and §6).
	ErrAuthentication = errors.New("spake2plus: authentication failed")

	// ErrInvalidSecret reports w0, w1, a password-hash output or a
	// verifier record that is not acceptable: a scalar of the wrong length,
	// zero or not reduced below the group order, or an L that is not a valid
	// uncompressed point other than the identity.
	ErrInvalidSecret = errors.New("spake2plus: invalid secret or verifier record")

	// ErrInvalidProfile reports a profile option out of its range.
	ErrInvalidProfile = errors.New("spake2plus: invalid profile")

	// ErrFinished reports a second call to Finish: every run is single use,
	// and its secrets are erased by the first call, successful or not.
	ErrFinished = errors.New("spake2plus: run already finished")
)

// ScryptParamsError reports scrypt cost parameters outside the limits this
// package accepts. The parameters come from the vehicle, which the device
// does not trust with its memory and time (see ScryptParams.Validate).
type ScryptParamsError struct {
	// Params are the rejected parameters.
	Params ScryptParams
	// Field names the parameter that is out of range: "N", "r", "p" or
	// "memory" (128·N·r·p).
	Field string
}

func (e *ScryptParamsError) Error() string {
	switch e.Field {
	case "N":
		return fmt.Sprintf("spake2plus: scrypt N=%d is not a power of two in [2^%d, 2^%d]", e.Params.N, minScryptLogN, maxScryptLogN)
	case "r":
		return fmt.Sprintf("spake2plus: scrypt r=%d is not in [1, %d]", e.Params.R, MaxScryptR)
	case "p":
		return fmt.Sprintf("spake2plus: scrypt p=%d is not in [1, %d]", e.Params.P, MaxScryptP)
	default:
		return fmt.Sprintf("spake2plus: scrypt N=%d r=%d p=%d needs more than %d bytes (128·N·r·p)", e.Params.N, e.Params.R, e.Params.P, MaxScryptMemory)
	}
}
