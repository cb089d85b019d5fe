package keyservice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// Errors of the stores.
var (
	// ErrNotFound reports a record that does not exist.
	ErrNotFound = errors.New("keyservice: not found")
	// ErrDuplicate reports a command identifier already stored.
	ErrDuplicate = errors.New("keyservice: duplicate")
	// ErrCorrupt reports a stored record that does not parse.
	ErrCorrupt = errors.New("keyservice: corrupt record")
	// ErrCapacity reports a record or a queue at its limit.
	ErrCapacity = errors.New("keyservice: capacity exceeded")
)

// Code is the machine-readable kind of a refusal, the "code" member of
// every error body.
type Code string

// Error codes, with the HTTP status each goes with.
const (
	CodeMalformed            Code = "malformed"              // 400: the request does not parse or breaks a limit
	CodeUnauthenticated      Code = "unauthenticated"        // 401: no client certificate, or one that does not verify
	CodeAccessDenied         Code = "access_denied"          // 403: a relay token that is not the mailbox's
	CodeForbidden            Code = "forbidden"              // 403: authenticated, but not allowed this
	CodeBadSignature         Code = "bad_signature"          // 403: a command or statement that does not verify
	CodeNotFound             Code = "not_found"              // 404: no such mailbox, vehicle, key or endpoint
	CodeMethodNotAllowed     Code = "method_not_allowed"     // 405
	CodeDuplicate            Code = "duplicate"              // 409: a command already accepted (a replay or a retry)
	CodeKeyTerminated        Code = "key_terminated"         // 409: the key is terminated for good
	CodeStale                Code = "stale"                  // 409: a signed command older than the service accepts
	CodeTooLarge             Code = "too_large"              // 413: the body is over the endpoint's limit
	CodeUnsupportedMediaType Code = "unsupported_media_type" // 415
	CodeCapacity             Code = "capacity"               // 429: the device or vehicle is at a limit
	CodeInternal             Code = "internal"               // 500
	CodeUnavailable          Code = "unavailable"            // 503: the store does not answer; retry
)

// Status returns the HTTP status code that goes with c.
func (c Code) Status() int {
	switch c {
	case CodeMalformed:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeAccessDenied, CodeForbidden, CodeBadSignature:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeDuplicate, CodeKeyTerminated, CodeStale:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case CodeCapacity:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ProblemType is the media type of every error body (RFC 9457).
const ProblemType = "application/problem+json"

// Error is a refusal of the service: the body of every response that is not
// a success, as application/problem+json (RFC 9457):
//
//	{"type": "about:blank", "status": 403, "title": "Forbidden",
//	 "code": "forbidden", "detail": "the signer may not manage keys"}
//
// The client returns it as the error of a call; errors.Is matches the
// sentinels of package sharing and dkey its code stands for (ErrNotFound,
// ErrAccessDenied, ErrMalformed, ErrCapacity, dkey.ErrKeyTerminated), so
// that the client's errors keep the contracts of sharing.Relay and
// sharing.KeyServer.
type Error struct {
	Status int
	Code   Code
	Detail string
}

// Error returns "keyservice: <status> <code>: <detail>".
func (e *Error) Error() string {
	s := "keyservice: " + strconv.Itoa(e.Status) + " " + string(e.Code)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel of package sharing or dkey the code stands
// for, if any.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeNotFound:
		return sharing.ErrNotFound
	case CodeAccessDenied, CodeForbidden, CodeUnauthenticated, CodeBadSignature:
		return sharing.ErrAccessDenied
	case CodeMalformed, CodeTooLarge, CodeUnsupportedMediaType:
		return sharing.ErrMalformed
	case CodeCapacity:
		return sharing.ErrCapacity
	case CodeKeyTerminated:
		return dkey.ErrKeyTerminated
	}
	return nil
}

// Temporary reports whether the same request may succeed later: the store
// was unavailable, or the service failed.
func (e *Error) Temporary() bool {
	return e.Code == CodeUnavailable || e.Code == CodeInternal
}

type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Title  string `json:"title"`
	Code   Code   `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// MarshalJSON returns the problem+json body.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(problem{Type: "about:blank", Status: e.Status, Title: http.StatusText(e.Status), Code: e.Code, Detail: e.Detail})
}

// maxProblemSize bounds an error body.
const maxProblemSize = 4096

// ParseError parses an error body. It returns an error when b is not one.
func ParseError(b []byte) (*Error, error) {
	if len(b) > maxProblemSize {
		return nil, fmt.Errorf("keyservice: error body of %d bytes", len(b))
	}
	var p problem
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("keyservice: error body: %w", err)
	}
	if p.Code == "" || p.Status < 400 || p.Status > 599 {
		return nil, errors.New("keyservice: error body without code or status")
	}
	return &Error{Status: p.Status, Code: p.Code, Detail: p.Detail}, nil
}

// refuse returns the Error of code with a detail.
func refuse(code Code, format string, args ...any) *Error {
	return &Error{Status: code.Status(), Code: code, Detail: fmt.Sprintf(format, args...)}
}
