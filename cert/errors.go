package cert

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. A failed chain verification returns a [*ChainError] whose
// Reason is one of them; errors.Is matches them through the ChainError.
var (
	// ErrMalformedCertificate reports bytes that are not a DER certificate,
	// or a certificate larger than MaxCertificateSize.
	ErrMalformedCertificate = errors.New("cert: malformed certificate")
	// ErrExpired reports a certificate whose notAfter is before the current
	// time.
	ErrExpired = errors.New("cert: certificate expired")
	// ErrNotYetValid reports a certificate whose notBefore is after the
	// current time.
	ErrNotYetValid = errors.New("cert: certificate not yet valid")
	// ErrUnknownRoot reports a chain that does not lead to a configured
	// trust anchor (including a certificate whose signature does not verify
	// under its issuer, which crypto/x509 reports the same way).
	ErrUnknownRoot = errors.New("cert: certificate signed by unknown authority")
	// ErrInvalidChain reports any other failure of crypto/x509 path
	// validation.
	ErrInvalidChain = errors.New("cert: invalid certificate chain")
	// ErrWrongVehicle reports an endpoint certificate bound to another
	// vehicle (vehicle_identifier or vehicle_PK).
	ErrWrongVehicle = errors.New("cert: endpoint certificate bound to another vehicle")
	// ErrMissingExtension reports a certificate without the CCC extension its
	// position in the chain requires.
	ErrMissingExtension = errors.New("cert: missing CCC extension")
	// ErrMalformedExtension reports a CCC extension that is not valid DER for
	// its profile, or that is not marked critical.
	ErrMalformedExtension = errors.New("cert: malformed CCC extension")
	// ErrMisplacedExtension reports a CCC extension that does not belong at
	// the certificate's position in the chain.
	ErrMisplacedExtension = errors.New("cert: CCC extension in the wrong position")
	// ErrUnknownCriticalExtension reports a critical extension that neither
	// crypto/x509 nor this package handles.
	ErrUnknownCriticalExtension = errors.New("cert: unhandled critical extension")
	// ErrPathTooLong reports a chain with more certificates than the profile
	// allows, or a violated path length constraint.
	ErrPathTooLong = errors.New("cert: certificate chain too long")
	// ErrWrongAlgorithm reports a key that is not ECDSA P-256 or a signature
	// that is not ecdsa-with-SHA256.
	ErrWrongAlgorithm = errors.New("cert: algorithm not allowed by the profile")
	// ErrKeyUsage reports basic constraints or key usage that do not fit the
	// certificate's position (a CA as leaf, a CA without keyCertSign, a leaf
	// without digitalSignature).
	ErrKeyUsage = errors.New("cert: basic constraints or key usage not allowed by the profile")

	// errSPKI is the detail of a SubjectPublicKeyInfo in a CCC extension
	// that is not an uncompressed P-256 key.
	errSPKI = errors.New("cert: subjectPublicKeyInfo is not an uncompressed P-256 key")

	// Details of ChainError.
	errNoVehicle   = errors.New("cert: no vehicle identifier or vehicle key to bind")
	errEmptyChain  = errors.New("cert: empty chain")
	errNoRoots     = errors.New("cert: no trust anchors configured")
	errTooLarge    = errors.New("cert: certificate larger than MaxCertificateSize")
	errMissingCA   = errors.New("cert: intermediate certificate missing")
	errNotCritical = errors.New("cert: CCC extension not marked critical")
	errLeafIsRoot  = errors.New("cert: leaf certificate is a trust anchor")
)

// ChainError is the error of a failed chain verification.
type ChainError struct {
	// Reason is one of the sentinel errors of the package.
	Reason error
	// Depth is the position in the chain of the certificate at fault: 0 for
	// the leaf, then its issuers in order; -1 when the failure is not about
	// one certificate.
	Depth int
	// Err is the underlying error, if any: a crypto/x509 error, an
	// [*ExtensionError], or a description.
	Err error
}

// Error returns "cert: certificate <depth>: <reason>[: <detail>]".
func (e *ChainError) Error() string {
	var b strings.Builder
	b.WriteString("cert: ")
	if e.Depth >= 0 {
		b.WriteString("certificate ")
		b.WriteString(strconv.Itoa(e.Depth))
		b.WriteString(": ")
	}
	if e.Reason != nil {
		b.WriteString(strings.TrimPrefix(e.Reason.Error(), "cert: "))
	} else {
		b.WriteString("verification failed")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "cert: "))
	}
	return b.String()
}

// Unwrap returns the Reason and the underlying error.
func (e *ChainError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Reason != nil {
		errs = append(errs, e.Reason)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// ExtensionError reports a CCC extension value that does not parse, or a
// value that cannot be encoded. It matches [ErrMalformedExtension] with
// errors.Is.
type ExtensionError struct {
	// Field names the ASN.1 field at fault, as docs/protocol.md §10.2 names it
	// (for example "vehicle_identifier"), or "extension" for the whole value.
	Field string
	// Err is the underlying error, if any (for example from dkey).
	Err error
}

// Error returns "cert: malformed CCC extension: <field>[: <detail>]".
func (e *ExtensionError) Error() string {
	s := ErrMalformedExtension.Error() + ": " + e.Field
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrMalformedExtension and the underlying error.
func (e *ExtensionError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMalformedExtension}
	}
	return []error{ErrMalformedExtension, e.Err}
}

func extErr(field string) error { return &ExtensionError{Field: field} }

func extErrWrap(field string, err error) error { return &ExtensionError{Field: field, Err: err} }
