package tlv

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error returned by this package is a *SyntaxError
// whose Err field is one of these, so callers match the reason with
// errors.Is and the position with errors.As.
var (
	// ErrTruncatedTag: the input ends inside a tag field.
	ErrTruncatedTag = errors.New("tlv: truncated tag")
	// ErrTruncatedLength: the input ends inside a length field.
	ErrTruncatedLength = errors.New("tlv: truncated length")
	// ErrTruncatedValue: the value is shorter than its length field says
	// (or, inside a constructed value, runs past the end of its parent).
	ErrTruncatedValue = errors.New("tlv: truncated value")
	// ErrIndefiniteLength: a length field of 80 (BER indefinite form).
	ErrIndefiniteLength = errors.New("tlv: indefinite length")
	// ErrNonCanonicalLength: a length in a longer form than needed
	// (81 00–81 7F, 82 0000–82 00FF).
	ErrNonCanonicalLength = errors.New("tlv: non-canonical length")
	// ErrLengthTooLong: a length field of 83 or more, or a value longer than
	// Limits.MaxValueLen.
	ErrLengthTooLong = errors.New("tlv: length too long")
	// ErrInvalidTag: a tag field that ISO/IEC 7816-4 5.2.2.1 forbids (first
	// byte 00 or FF, second byte 00–1E or 80, more than three bytes).
	ErrInvalidTag = errors.New("tlv: invalid tag")
	// ErrTrailingData: bytes after the one data object the caller asked for.
	ErrTrailingData = errors.New("tlv: trailing data")
	// ErrTooDeep: constructed data objects nested deeper than
	// Limits.MaxDepth.
	ErrTooDeep = errors.New("tlv: nesting too deep")
	// ErrTooManyElements: more data objects than Limits.MaxElements.
	ErrTooManyElements = errors.New("tlv: too many elements")
	// ErrUnexpectedTag: a data object with another tag than the one the
	// caller asked for.
	ErrUnexpectedTag = errors.New("tlv: unexpected tag")
)

// SyntaxError reports malformed or unexpected input and where it is.
type SyntaxError struct {
	// Offset is the position, in the byte slice the caller passed, of the
	// first byte of the data object in which the problem was found (of the
	// first extra byte for ErrTrailingData).
	Offset int
	// Tag is the tag of that data object when it could be read, else 0.
	Tag Tag
	// Want is the tag the caller asked for, set only with ErrUnexpectedTag.
	Want Tag
	// Err is one of the package's sentinel errors.
	Err error
}

func (e *SyntaxError) Error() string {
	s := e.Err.Error()
	if e.Tag != 0 {
		s += " " + e.Tag.String()
	}
	if e.Want != 0 {
		s += " (want " + e.Want.String() + ")"
	}
	return s + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns e.Err, so that errors.Is(err, ErrTruncatedValue) works.
func (e *SyntaxError) Unwrap() error { return e.Err }

// code identifies a sentinel without allocating; the hot paths return codes
// and only the error-returning API turns them into a *SyntaxError.
type code uint8

const (
	ok code = iota
	truncatedTag
	truncatedLength
	truncatedValue
	indefiniteLength
	nonCanonicalLength
	lengthTooLong
	invalidTag
	trailingData
	tooDeep
	tooManyElements
	unexpectedTag
)

func (c code) err() error {
	switch c {
	case truncatedTag:
		return ErrTruncatedTag
	case truncatedLength:
		return ErrTruncatedLength
	case truncatedValue:
		return ErrTruncatedValue
	case indefiniteLength:
		return ErrIndefiniteLength
	case nonCanonicalLength:
		return ErrNonCanonicalLength
	case lengthTooLong:
		return ErrLengthTooLong
	case invalidTag:
		return ErrInvalidTag
	case trailingData:
		return ErrTrailingData
	case tooDeep:
		return ErrTooDeep
	case tooManyElements:
		return ErrTooManyElements
	case unexpectedTag:
		return ErrUnexpectedTag
	}
	return nil
}

func syntaxError(c code, off int, t Tag) error {
	return &SyntaxError{Offset: off, Tag: t, Err: c.err()}
}
