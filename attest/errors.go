package attest

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Verification returns a [*VerifyError] that wraps one of
// them; callers branch with errors.Is.
var (
	// ErrMalformed reports a statement that is not in the strict encoding:
	// not a tagged COSE_Sign1 of the expected kind, a header or payload
	// outside its CDDL, a non-deterministic encoding, or a field out of
	// range.
	ErrMalformed = errors.New("attest: malformed statement")
	// ErrUnknownSigner reports a statement whose signer (kid) is none of
	// the keys the verifier knows, or a receipt verified without tracking
	// keys.
	ErrUnknownSigner = errors.New("attest: unknown signer")
	// ErrBadSignature is the one opaque error of a signature that does not
	// verify.
	ErrBadSignature = errors.New("attest: signature verification failed")
	// ErrSignerNotAuthorised reports a signer that may not make the
	// statement: a key attestation signed by a key without EntitleShare, a
	// termination of another key signed by a key without EntitleManage.
	ErrSignerNotAuthorised = errors.New("attest: signer not authorised")
	// ErrWrongVehicle reports a statement made for another vehicle.
	ErrWrongVehicle = errors.New("attest: statement for another vehicle")
	// ErrNotYetValid reports a key attestation whose validity window has not
	// begun.
	ErrNotYetValid = errors.New("attest: key attestation not yet valid")
	// ErrExpired reports a key attestation whose validity window has ended.
	ErrExpired = errors.New("attest: key attestation expired")
	// ErrExceedsGrant reports a key attestation granting more than its
	// signer holds.
	ErrExceedsGrant = errors.New("attest: access profile exceeds the signer's own")
	// ErrOutsideSignerValidity reports a key attestation whose validity
	// window does not lie within its signer's own: a re-shared key that
	// would outlive, or precede, the key that shared it.
	ErrOutsideSignerValidity = errors.New("attest: validity window outside the signer's own")

	// errNotDeterministic is the detail of an encoding that decodes but is
	// not the deterministic one.
	errNotDeterministic = errors.New("attest: not in Core Deterministic Encoding")
)

// Step names a check of the verification checklist, in the order they run.
type Step uint8

// Verification steps.
const (
	StepParse      Step = iota + 1 // strict decoding of the envelope, header and payload
	StepSigner                     // finding the signer's key
	StepSignature                  // the ES256 signature
	StepAuthorised                 // the signer may make this statement
	StepVehicle                    // the statement names the verifying vehicle
	StepValidity                   // the validity window contains the current time
	StepGrant                      // the granted profile and window are within the signer's
)

// String returns the name of the step.
func (s Step) String() string {
	switch s {
	case StepParse:
		return "parse"
	case StepSigner:
		return "signer"
	case StepSignature:
		return "signature"
	case StepAuthorised:
		return "authorisation"
	case StepVehicle:
		return "vehicle"
	case StepValidity:
		return "validity"
	case StepGrant:
		return "grant"
	}
	return "Step(" + strconv.Itoa(int(s)) + ")"
}

// VerifyError is the error of a failed verification: the step that failed
// and an error wrapping one of the sentinels.
type VerifyError struct {
	Step Step
	Err  error
}

// Error returns "attest: <step>: <error>"; "no cause" stands for a nil
// Err (a VerifyError not filled in, such as an errors.As target).
func (e *VerifyError) Error() string {
	if e == nil {
		return "attest: <nil VerifyError>"
	}
	if e.Err == nil {
		return "attest: " + e.Step.String() + ": no cause"
	}
	return "attest: " + e.Step.String() + ": " + strings.TrimPrefix(e.Err.Error(), "attest: ")
}

// Unwrap returns the underlying error.
func (e *VerifyError) Unwrap() error { return e.Err }
