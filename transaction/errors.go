package transaction

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

// Errors of the transaction cores. Each has the status word the endpoint
// answers for it; [StatusWordFor] maps any error to one.
var (
	// ErrOutOfSequence reports a message that does not fit the state of the
	// session: AUTH1 before AUTH0, EXCHANGE before authentication, a second
	// AUTH1. Status word 6985.
	ErrOutOfSequence = errors.New("transaction: command out of sequence")
	// ErrMalformed reports a message that does not parse: wrong tags,
	// lengths or order. Status word 6A80.
	ErrMalformed = errors.New("transaction: malformed message")
	// ErrWrongParameters reports unknown P1 flags or an invalid transaction
	// code in AUTH0. Status word 6B00.
	ErrWrongParameters = errors.New("transaction: wrong P1-P2")
	// ErrVersion reports a protocol version that the other side did not
	// offer: a downgrade attempt or no common version. Status word 6A80.
	ErrVersion = errors.New("transaction: protocol version not offered")
	// ErrAuthentication is the one opaque error of a signature that does not
	// verify, on either side. Status word 6982.
	ErrAuthentication = errors.New("transaction: authentication failed")
	// ErrChannel reports a secure-messaging failure: a MAC that does not
	// verify, a broken or exhausted channel. Status word 6988.
	ErrChannel = errors.New("transaction: secure channel failure")
	// ErrInvalidOp reports a malformed or out-of-range mailbox operation, or
	// operations whose read results would not fit one response. Status word
	// 6A80.
	ErrInvalidOp = errors.New("transaction: invalid mailbox operation")
	// ErrInvalidPersistentKey reports a stored Kpersistent of the wrong size.
	ErrInvalidPersistentKey = errors.New("transaction: invalid persistent key")
)

// StatusWordFor returns the status word an endpoint answers for err: the
// status word err wraps, if any, otherwise the one documented for the
// sentinel it wraps, otherwise 6F00 (no precise diagnosis).
func StatusWordFor(err error) dkey.StatusWord {
	var sw dkey.StatusWord
	switch {
	case err == nil:
		return dkey.SWSuccess
	case errors.As(err, &sw):
		return sw
	case errors.Is(err, ErrOutOfSequence):
		return dkey.SWConditionsNotSatisfied
	case errors.Is(err, ErrWrongParameters):
		return dkey.SWWrongP1P2
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrVersion), errors.Is(err, ErrInvalidOp):
		return dkey.SWWrongData
	case errors.Is(err, ErrAuthentication):
		return dkey.SWSecurityNotSatisfied
	case errors.Is(err, ErrChannel):
		return dkey.SWSecureMessagingIncorrect
	case errors.Is(err, dkey.ErrUnknownVehicle):
		return dkey.SWFileNotFound
	case errors.Is(err, dkey.ErrKeySuspended), errors.Is(err, dkey.ErrKeyTerminated),
		errors.Is(err, dkey.ErrUserAuthenticationRequired):
		return dkey.SWConditionsNotSatisfied
	}
	return dkey.SWNoPreciseDiagnosis
}

// malformed wraps ErrMalformed with what was being parsed.
func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// ControlFlow is the P1‖P2 of the CONTROL FLOW command that ends every
// transaction (docs/protocol.md §4.9): P1 00 failure, 01 success, 40 continue;
// P2 the detail.
type ControlFlow uint16

// CONTROL FLOW codes (docs/protocol.md §4.9).
const (
	CFFailure              ControlFlow = 0x0000 // failure, no information
	CFKeyNotFound          ControlFlow = 0x0001 // endpoint public key not found
	CFKeyExpired           ControlFlow = 0x0002 // key expired
	CFKeyNotTrusted        ControlFlow = 0x0003 // key not trusted (chain or attestation)
	CFInvalidSignature     ControlFlow = 0x0004 // invalid signature
	CFInvalidChannel       ControlFlow = 0x0005 // invalid secure channel
	CFInvalidDataFormat    ControlFlow = 0x0006 // invalid data format
	CFInvalidDataContent   ControlFlow = 0x0007 // invalid data content
	CFKeyDeleted           ControlFlow = 0x00A0 // key deleted or unknown: the endpoint removes it
	CFDoorOpen             ControlFlow = 0x00B1 // cannot lock, a door is open
	CFSuccess              ControlFlow = 0x0100 // success
	CFSuccessFirstApproach ControlFlow = 0x01B0 // success: fast authentication (first approach)
	CFPairingComplete      ControlFlow = 0x0181 // end of owner pairing phase 3; owner immobilizer token provisioned
	CFTracked              ControlFlow = 0x0190 // key tracked by the tracking server and mailbox written
	CFNotTracked           ControlFlow = 0x0191 // success, key not tracked; sharing not yet possible
	CFTokenRefill          ControlFlow = 0x4081 // continue: immobilizer-token refill started
	CFDeleteAttestation    ControlFlow = 0x4082 // continue: delete the attestation package (vehicle consumed it)
	CFServiceData          ControlFlow = 0x4083 // continue: service data written
	CFReceiptInDevice      ControlFlow = 0x4088 // continue: tracking response received in device
	CFReceiptInCar         ControlFlow = 0x4089 // continue: tracking response received in car
	CFMoreTime             ControlFlow = 0x4090 // continue: reader needs more time
	CFLongProcessing       ControlFlow = 0x40A0 // continue: long processing time expected
)

// P1 returns the first parameter byte.
func (c ControlFlow) P1() byte { return byte(c >> 8) }

// P2 returns the second parameter byte.
func (c ControlFlow) P2() byte { return byte(c) }

// Success reports whether c reports success (P1 01).
func (c ControlFlow) Success() bool { return c.P1() == 0x01 }

// Failure reports whether c reports failure (P1 00).
func (c ControlFlow) Failure() bool { return c.P1() == 0x00 }

// Continue reports whether c asks the device to continue (P1 40).
func (c ControlFlow) Continue() bool { return c.P1() == 0x40 }

// String returns the code in hexadecimal with its meaning.
func (c ControlFlow) String() string {
	for _, n := range controlFlowNames {
		if n.c == c {
			return fmt.Sprintf("%04X (%s)", uint16(c), n.name)
		}
	}
	return fmt.Sprintf("%04X", uint16(c))
}

var controlFlowNames = [...]struct {
	c    ControlFlow
	name string
}{
	{CFFailure, "failure"}, {CFKeyNotFound, "key not found"}, {CFKeyExpired, "key expired"},
	{CFKeyNotTrusted, "key not trusted"}, {CFInvalidSignature, "invalid signature"},
	{CFInvalidChannel, "invalid channel"}, {CFInvalidDataFormat, "invalid data format"},
	{CFInvalidDataContent, "invalid data content"}, {CFKeyDeleted, "key deleted"},
	{CFDoorOpen, "door open"}, {CFSuccess, "success"}, {CFSuccessFirstApproach, "success, first approach"},
	{CFPairingComplete, "pairing complete"}, {CFTracked, "key tracked"}, {CFNotTracked, "key not tracked"},
	{CFTokenRefill, "token refill"}, {CFDeleteAttestation, "delete attestation"},
	{CFServiceData, "service data written"}, {CFReceiptInDevice, "receipt in device"},
	{CFReceiptInCar, "receipt in car"}, {CFMoreTime, "more time"}, {CFLongProcessing, "long processing"},
}
