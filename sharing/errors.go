package sharing

import (
	"errors"
	"strconv"

	"github.com/opencarkey/sdk/attest"
)

// Sentinel errors. Protocol failures come wrapped in an [*Error] that carries
// the Table 11-27 code to report to the peer; callers branch with errors.Is.
var (
	// ErrDecrypt is the one opaque error of a sealed message that does not
	// open: sealed to another recipient key (the wrong device or link
	// secret), a wrong activation code, or any byte changed on the way.
	ErrDecrypt = errors.New("sharing: message authentication failed")
	// ErrMalformed reports bytes outside their format: a sealed envelope,
	// a message outside its CDDL or not in deterministic encoding, a
	// mailbox area, a key command or a persisted revocation store.
	ErrMalformed = errors.New("sharing: malformed message")
	// ErrCodeRequired reports an invitation that requires an activation
	// code opened without one, or a signing request that does not carry
	// the code its invitation requires.
	ErrCodeRequired = errors.New("sharing: activation code required")
	// ErrInvalidCode reports an activation code that CheckActivationCode
	// refuses: too long, other characters than letters, digits and
	// separators, below MinCodeBits, or a repetition or run.
	ErrInvalidCode = errors.New("sharing: invalid activation code")
	// ErrTooManyAttempts reports an owner session that received
	// MaxCodeAttempts answers that did not open with its activation code:
	// it refuses every further answer.
	ErrTooManyAttempts = errors.New("sharing: too many activation code attempts")
	// ErrInvitationExpired reports an invitation used after its expiry.
	ErrInvitationExpired = errors.New("sharing: invitation expired")
	// ErrWrongInvitation reports a message that names another invitation.
	ErrWrongInvitation = errors.New("sharing: message for another invitation")
	// ErrUnexpectedMessage reports a message type that is not one the
	// session expects at this point.
	ErrUnexpectedMessage = errors.New("sharing: unexpected message type")
	// ErrCancelled reports a cancellation (SenderCancel or ReceiverCancel)
	// received from the peer; the *Error carries the peer's code.
	ErrCancelled = errors.New("sharing: sharing cancelled by the peer")
	// ErrMismatch reports a signing request, created key or attestation
	// that does not match what it must match: its certificate chain, the
	// slot the owner assigned, the key the friend created, the invitation.
	ErrMismatch = errors.New("sharing: content does not match")
	// ErrSessionState reports a session method called out of order, or a
	// session that is finished.
	ErrSessionState = errors.New("sharing: session used out of order")
	// ErrRevoked reports a key, slot or statement the vehicle has revoked
	// for good; it is returned together with dkey.ErrKeyTerminated.
	ErrRevoked = errors.New("sharing: revoked for good")
	// ErrStoreFull reports a revocation store at its capacity.
	ErrStoreFull = errors.New("sharing: revocation store full")
	// ErrNotFound reports a relay mailbox or server record that does not
	// exist (or no longer does: expired or deleted).
	ErrNotFound = errors.New("sharing: not found")
	// ErrAccessDenied reports a relay operation with a wrong access token.
	ErrAccessDenied = errors.New("sharing: access denied")
	// ErrCapacity reports an in-memory server at its capacity.
	ErrCapacity = errors.New("sharing: server capacity exceeded")
)

// ErrorCode is a sharing error code of CCC TS Table 11-27 (docs/protocol.md §6.1,
// sharing error TLV tag 5A): what one side reports to the other when it
// refuses a message or cancels. It implements error, so that
// errors.Is(err, CodeInvalidChain) matches an [*Error] with that code.
type ErrorCode uint8

// Sharing error codes (docs/protocol.md §6.1, S [YKB] Table 11-27).
const (
	CodeMissingField                ErrorCode = 0x00 // a mandatory field is missing
	CodeInvalidStructure            ErrorCode = 0x01 // the structure is invalid
	CodeInvalidContent              ErrorCode = 0x02 // the content is invalid
	CodeVersionNotSupported         ErrorCode = 0x03 // the version is not supported
	CodeCertificateExpired          ErrorCode = 0x04 // a certificate is expired (or not yet valid)
	CodeInvalidCertificateStructure ErrorCode = 0x05 // a certificate does not parse
	CodeInvalidCertificateContent   ErrorCode = 0x06 // a certificate's content is not allowed
	CodeInvalidChain                ErrorCode = 0x07 // the chain does not verify
	CodeRequestRejected             ErrorCode = 0x08 // the request is rejected
	CodeSharingCancelled            ErrorCode = 0x20 // sharing cancelled
	CodeCancelledByOwner            ErrorCode = 0x21 // cancelled by the owner (no valid PIN)
	CodeCancelledByFriend           ErrorCode = 0x22 // cancelled by the friend
	CodeUnspecified                 ErrorCode = 0xFF // unspecified
)

// Known reports whether c is one of the codes of Table 11-27.
func (c ErrorCode) Known() bool {
	switch c {
	case CodeMissingField, CodeInvalidStructure, CodeInvalidContent, CodeVersionNotSupported,
		CodeCertificateExpired, CodeInvalidCertificateStructure, CodeInvalidCertificateContent,
		CodeInvalidChain, CodeRequestRejected, CodeSharingCancelled, CodeCancelledByOwner,
		CodeCancelledByFriend, CodeUnspecified:
		return true
	}
	return false
}

// String returns the meaning of c and its value, for example
// "invalid chain (07)".
func (c ErrorCode) String() string {
	var s string
	switch c {
	case CodeMissingField:
		s = "missing mandatory field"
	case CodeInvalidStructure:
		s = "invalid structure"
	case CodeInvalidContent:
		s = "invalid content"
	case CodeVersionNotSupported:
		s = "version not supported"
	case CodeCertificateExpired:
		s = "certificate expired"
	case CodeInvalidCertificateStructure:
		s = "invalid certificate structure"
	case CodeInvalidCertificateContent:
		s = "invalid certificate content"
	case CodeInvalidChain:
		s = "invalid chain"
	case CodeRequestRejected:
		s = "request rejected"
	case CodeSharingCancelled:
		s = "sharing cancelled"
	case CodeCancelledByOwner:
		s = "cancelled by owner"
	case CodeCancelledByFriend:
		s = "cancelled by friend"
	case CodeUnspecified:
		s = "unspecified"
	default:
		s = "ErrorCode"
	}
	const hex = "0123456789abcdef"
	return s + " (" + string([]byte{hex[c>>4], hex[c&0xf]}) + ")"
}

// Error returns "sharing: <meaning> (<code>)".
func (c ErrorCode) Error() string { return "sharing: " + c.String() }

// Error is a refused or cancelled sharing exchange: the Table 11-27 code to
// report to the peer (in a SenderCancel or ReceiverCancel) and the cause.
// errors.Is matches both the code and the cause.
type Error struct {
	Code ErrorCode
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Code.Error()
	}
	return "sharing: " + e.Code.String() + ": " + e.Err.Error()
}

// Unwrap returns the code and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code}
	}
	return []error{e.Code, e.Err}
}

func fail(code ErrorCode, err error) error { return &Error{Code: code, Err: err} }

// Check names a check of the vehicle's intake of a statement, in the order
// they run (see [VehicleIntake.AdmitFriend]).
type Check uint8

// Vehicle intake checks.
const (
	CheckStatement  Check = iota + 1 // the attest checklist; Err wraps an *attest.VerifyError
	CheckSlot                        // the attested slot is the slot that authenticated
	CheckRevocation                  // the key, slot and statement are not revoked
	CheckCapacity                    // the revocation store has room to revoke the key later
)

// String returns the name of the check.
func (c Check) String() string {
	switch c {
	case CheckStatement:
		return "statement"
	case CheckSlot:
		return "slot"
	case CheckRevocation:
		return "revocation"
	case CheckCapacity:
		return "capacity"
	}
	return "Check(" + strconv.Itoa(int(c)) + ")"
}

// VehicleError is the error of a statement the vehicle refuses: the check
// that failed and an error wrapping a sentinel of this package or of attest.
type VehicleError struct {
	Check Check
	Err   error
}

// Error returns "sharing: vehicle: <check>: <error>"; "no cause" stands
// for a nil Err (a VehicleError not filled in, such as an errors.As
// target).
func (e *VehicleError) Error() string {
	if e == nil {
		return "sharing: vehicle: <nil VehicleError>"
	}
	if e.Err == nil {
		return "sharing: vehicle: " + e.Check.String() + ": no cause"
	}
	return "sharing: vehicle: " + e.Check.String() + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *VehicleError) Unwrap() error { return e.Err }

// ControlFlow returns the P1‖P2 of the CONTROL FLOW command the vehicle sends
// to end the transaction (docs/protocol.md §4.9), as a transaction.ControlFlow
// value:
//
//	0002 key expired         the attested validity window does not hold now
//	0006 invalid data format the statement does not parse
//	00A0 key deleted         the key is revoked: the device deletes it
//	0003 key not trusted     every other refusal
func (e *VehicleError) ControlFlow() uint16 {
	const (
		cfKeyExpired     = 0x0002
		cfKeyNotTrusted  = 0x0003
		cfInvalidFormat  = 0x0006
		cfKeyDeleted     = 0x00A0
		cfFailureGeneric = 0x0000
	)
	switch e.Check {
	case CheckRevocation:
		return cfKeyDeleted
	case CheckCapacity:
		return cfFailureGeneric
	case CheckStatement:
		switch {
		case errors.Is(e.Err, attest.ErrExpired), errors.Is(e.Err, attest.ErrNotYetValid):
			return cfKeyExpired
		case errors.Is(e.Err, attest.ErrMalformed):
			return cfInvalidFormat
		}
	}
	return cfKeyNotTrusted
}
