package mdoc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Callers branch with errors.Is; the functions wrap them
// with detail.
var (
	// ErrMalformed reports input outside the strict encoding: not
	// well-formed CBOR or NDEF, an indefinite length, a non-minimal head, a
	// field outside its structure, a missing or duplicated field, an unknown
	// value, trailing bytes, or a value over a limit of limits.go.
	ErrMalformed = errors.New("mdoc: malformed input")
	// ErrDecrypt is the one opaque error of an AES-GCM message that does not
	// open: wrong key, wrong counter, altered ciphertext or tag.
	ErrDecrypt = errors.New("mdoc: message authentication failed")
	// ErrUnknownIssuer reports a document whose issuer (the kid of its
	// issuerAuth) is none of the trusted issuer keys.
	ErrUnknownIssuer = errors.New("mdoc: unknown issuer")
	// ErrBadSignature is the one opaque error of an issuer signature that
	// does not verify.
	ErrBadSignature = errors.New("mdoc: issuer signature verification failed")
	// ErrDocTypeMismatch reports a document whose docType differs from the
	// one its mobile security object signs, or one that was not requested.
	ErrDocTypeMismatch = errors.New("mdoc: document type mismatch")
	// ErrDigestMismatch reports a data element whose digest is not the one
	// the mobile security object signs under its name space and digest ID.
	ErrDigestMismatch = errors.New("mdoc: data element digest mismatch")
	// ErrDeviceKeyMismatch reports a document signed for another device key.
	ErrDeviceKeyMismatch = errors.New("mdoc: document bound to another device key")
	// ErrNotYetValid reports a document before its validFrom.
	ErrNotYetValid = errors.New("mdoc: document not yet valid")
	// ErrExpired reports a document after its validUntil.
	ErrExpired = errors.New("mdoc: document expired")
	// ErrNoDocument reports that no document answers the request: the
	// device holds none for the reader group or the requested type, or the
	// response carries none.
	ErrNoDocument = errors.New("mdoc: no document")
	// ErrOutOfSequence reports a message that the session does not expect
	// now, or any use of a session after it failed or ended.
	ErrOutOfSequence = errors.New("mdoc: message out of sequence")
)

// Step names a check of the document verification, in the order
// [Document.Verify] runs them.
type Step uint8

// Verification steps.
const (
	StepIssuer    Step = iota + 1 // finding the issuer key by kid
	StepSignature                 // the issuer's signature over the mobile security object
	StepDocType                   // the document's docType is the signed one
	StepDigests                   // every returned element's digest is signed
	StepDeviceKey                 // the signed device key is the expected one
	StepValidity                  // the validity window contains the current time
)

// String returns the name of the step.
func (s Step) String() string {
	switch s {
	case StepIssuer:
		return "issuer"
	case StepSignature:
		return "signature"
	case StepDocType:
		return "doctype"
	case StepDigests:
		return "digests"
	case StepDeviceKey:
		return "device key"
	case StepValidity:
		return "validity"
	}
	return "Step(" + strconv.Itoa(int(s)) + ")"
}

// VerifyError is the error of a failed document verification: the step that
// failed and an error wrapping one of the sentinels.
type VerifyError struct {
	DocType string
	Step    Step
	Err     error
}

// Error returns "mdoc: <doctype>: <step>: <error>".
func (e *VerifyError) Error() string {
	return "mdoc: " + strconv.Quote(e.DocType) + ": " + e.Step.String() + ": " + strings.TrimPrefix(e.Err.Error(), "mdoc: ")
}

// Unwrap returns the underlying error.
func (e *VerifyError) Unwrap() error { return e.Err }

// StatusError reports a SessionData that carries a status instead of data:
// the peer ended the session (ISO/IEC 18013-5 §9.1.1.4, Table 20).
type StatusError struct {
	Status SessionStatus
}

// Error returns "mdoc: peer ended the session: <status>".
func (e *StatusError) Error() string {
	return "mdoc: peer ended the session: " + e.Status.String()
}

// UnexpectedMessageError reports an APDU or message other than the one the
// session waits for. It matches [ErrOutOfSequence].
type UnexpectedMessageError struct {
	Want, Got string
}

// Error returns "mdoc: want <want>, got <got>".
func (e *UnexpectedMessageError) Error() string {
	return fmt.Sprintf("mdoc: want %s, got %s", e.Want, e.Got)
}

// Is reports whether target is ErrOutOfSequence.
func (e *UnexpectedMessageError) Is(target error) bool { return target == ErrOutOfSequence }

// malformed returns an error wrapping ErrMalformed with detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
