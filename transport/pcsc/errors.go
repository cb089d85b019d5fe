package pcsc

import (
	"context"
	"errors"
	"strconv"

	"github.com/opencarkey/sdk/transport"
)

// Code is a PC/SC return code (the LONG that every SCard* call returns), as
// defined by pcsc-lite's pcsclite.h and the Windows smart card API.
//
// A Code is an error: errors.Is(err, pcsc.RemovedCard) matches an [*Error]
// carrying that code, and a Code matches the transport failure it stands
// for (see [Code.Is]).
type Code uint32

// PC/SC return codes. Success (SCARD_S_SUCCESS) is never returned as an
// error.
const (
	Success                Code = 0x00000000 // SCARD_S_SUCCESS
	InternalError          Code = 0x80100001 // SCARD_F_INTERNAL_ERROR
	Cancelled              Code = 0x80100002 // SCARD_E_CANCELLED
	InvalidHandle          Code = 0x80100003 // SCARD_E_INVALID_HANDLE
	InvalidParameter       Code = 0x80100004 // SCARD_E_INVALID_PARAMETER
	InvalidTarget          Code = 0x80100005 // SCARD_E_INVALID_TARGET
	NoMemory               Code = 0x80100006 // SCARD_E_NO_MEMORY
	WaitedTooLong          Code = 0x80100007 // SCARD_F_WAITED_TOO_LONG
	InsufficientBuffer     Code = 0x80100008 // SCARD_E_INSUFFICIENT_BUFFER
	UnknownReader          Code = 0x80100009 // SCARD_E_UNKNOWN_READER
	Timeout                Code = 0x8010000A // SCARD_E_TIMEOUT
	SharingViolation       Code = 0x8010000B // SCARD_E_SHARING_VIOLATION
	NoSmartcard            Code = 0x8010000C // SCARD_E_NO_SMARTCARD
	UnknownCard            Code = 0x8010000D // SCARD_E_UNKNOWN_CARD
	CantDispose            Code = 0x8010000E // SCARD_E_CANT_DISPOSE
	ProtoMismatch          Code = 0x8010000F // SCARD_E_PROTO_MISMATCH
	NotReady               Code = 0x80100010 // SCARD_E_NOT_READY
	InvalidValue           Code = 0x80100011 // SCARD_E_INVALID_VALUE
	SystemCancelled        Code = 0x80100012 // SCARD_E_SYSTEM_CANCELLED
	CommError              Code = 0x80100013 // SCARD_F_COMM_ERROR
	UnknownError           Code = 0x80100014 // SCARD_F_UNKNOWN_ERROR
	InvalidATR             Code = 0x80100015 // SCARD_E_INVALID_ATR
	NotTransacted          Code = 0x80100016 // SCARD_E_NOT_TRANSACTED
	ReaderUnavailable      Code = 0x80100017 // SCARD_E_READER_UNAVAILABLE
	Shutdown               Code = 0x80100018 // SCARD_P_SHUTDOWN
	PCITooSmall            Code = 0x80100019 // SCARD_E_PCI_TOO_SMALL
	ReaderUnsupported      Code = 0x8010001A // SCARD_E_READER_UNSUPPORTED
	DuplicateReader        Code = 0x8010001B // SCARD_E_DUPLICATE_READER
	CardUnsupported        Code = 0x8010001C // SCARD_E_CARD_UNSUPPORTED
	NoService              Code = 0x8010001D // SCARD_E_NO_SERVICE
	ServiceStopped         Code = 0x8010001E // SCARD_E_SERVICE_STOPPED
	Unexpected             Code = 0x8010001F // SCARD_E_UNEXPECTED (also SCARD_E_UNSUPPORTED_FEATURE in pcsc-lite)
	ICCInstallation        Code = 0x80100020 // SCARD_E_ICC_INSTALLATION
	ICCCreateOrder         Code = 0x80100021 // SCARD_E_ICC_CREATEORDER
	UnsupportedFeature     Code = 0x80100022 // SCARD_E_UNSUPPORTED_FEATURE (Windows value)
	DirNotFound            Code = 0x80100023 // SCARD_E_DIR_NOT_FOUND
	FileNotFound           Code = 0x80100024 // SCARD_E_FILE_NOT_FOUND
	NoDir                  Code = 0x80100025 // SCARD_E_NO_DIR
	NoFile                 Code = 0x80100026 // SCARD_E_NO_FILE
	NoAccess               Code = 0x80100027 // SCARD_E_NO_ACCESS
	WriteTooMany           Code = 0x80100028 // SCARD_E_WRITE_TOO_MANY
	BadSeek                Code = 0x80100029 // SCARD_E_BAD_SEEK
	InvalidCHV             Code = 0x8010002A // SCARD_E_INVALID_CHV
	UnknownResMng          Code = 0x8010002B // SCARD_E_UNKNOWN_RES_MNG
	NoSuchCertificate      Code = 0x8010002C // SCARD_E_NO_SUCH_CERTIFICATE
	CertificateUnavailable Code = 0x8010002D // SCARD_E_CERTIFICATE_UNAVAILABLE
	NoReadersAvailable     Code = 0x8010002E // SCARD_E_NO_READERS_AVAILABLE
	CommDataLost           Code = 0x8010002F // SCARD_E_COMM_DATA_LOST
	NoKeyContainer         Code = 0x80100030 // SCARD_E_NO_KEY_CONTAINER
	ServerTooBusy          Code = 0x80100031 // SCARD_E_SERVER_TOO_BUSY
	UnsupportedCard        Code = 0x80100065 // SCARD_W_UNSUPPORTED_CARD
	UnresponsiveCard       Code = 0x80100066 // SCARD_W_UNRESPONSIVE_CARD
	UnpoweredCard          Code = 0x80100067 // SCARD_W_UNPOWERED_CARD
	ResetCard              Code = 0x80100068 // SCARD_W_RESET_CARD
	RemovedCard            Code = 0x80100069 // SCARD_W_REMOVED_CARD
	SecurityViolation      Code = 0x8010006A // SCARD_W_SECURITY_VIOLATION
	WrongCHV               Code = 0x8010006B // SCARD_W_WRONG_CHV
	CHVBlocked             Code = 0x8010006C // SCARD_W_CHV_BLOCKED
	EOF                    Code = 0x8010006D // SCARD_W_EOF
	CancelledByUser        Code = 0x8010006E // SCARD_W_CANCELLED_BY_USER
	CardNotAuthenticated   Code = 0x8010006F // SCARD_W_CARD_NOT_AUTHENTICATED
)

// codeNames maps each known code to its PC/SC name. It is never modified.
var codeNames = map[Code]string{
	Success:                "SCARD_S_SUCCESS",
	InternalError:          "SCARD_F_INTERNAL_ERROR",
	Cancelled:              "SCARD_E_CANCELLED",
	InvalidHandle:          "SCARD_E_INVALID_HANDLE",
	InvalidParameter:       "SCARD_E_INVALID_PARAMETER",
	InvalidTarget:          "SCARD_E_INVALID_TARGET",
	NoMemory:               "SCARD_E_NO_MEMORY",
	WaitedTooLong:          "SCARD_F_WAITED_TOO_LONG",
	InsufficientBuffer:     "SCARD_E_INSUFFICIENT_BUFFER",
	UnknownReader:          "SCARD_E_UNKNOWN_READER",
	Timeout:                "SCARD_E_TIMEOUT",
	SharingViolation:       "SCARD_E_SHARING_VIOLATION",
	NoSmartcard:            "SCARD_E_NO_SMARTCARD",
	UnknownCard:            "SCARD_E_UNKNOWN_CARD",
	CantDispose:            "SCARD_E_CANT_DISPOSE",
	ProtoMismatch:          "SCARD_E_PROTO_MISMATCH",
	NotReady:               "SCARD_E_NOT_READY",
	InvalidValue:           "SCARD_E_INVALID_VALUE",
	SystemCancelled:        "SCARD_E_SYSTEM_CANCELLED",
	CommError:              "SCARD_F_COMM_ERROR",
	UnknownError:           "SCARD_F_UNKNOWN_ERROR",
	InvalidATR:             "SCARD_E_INVALID_ATR",
	NotTransacted:          "SCARD_E_NOT_TRANSACTED",
	ReaderUnavailable:      "SCARD_E_READER_UNAVAILABLE",
	Shutdown:               "SCARD_P_SHUTDOWN",
	PCITooSmall:            "SCARD_E_PCI_TOO_SMALL",
	ReaderUnsupported:      "SCARD_E_READER_UNSUPPORTED",
	DuplicateReader:        "SCARD_E_DUPLICATE_READER",
	CardUnsupported:        "SCARD_E_CARD_UNSUPPORTED",
	NoService:              "SCARD_E_NO_SERVICE",
	ServiceStopped:         "SCARD_E_SERVICE_STOPPED",
	Unexpected:             "SCARD_E_UNEXPECTED",
	ICCInstallation:        "SCARD_E_ICC_INSTALLATION",
	ICCCreateOrder:         "SCARD_E_ICC_CREATEORDER",
	UnsupportedFeature:     "SCARD_E_UNSUPPORTED_FEATURE",
	DirNotFound:            "SCARD_E_DIR_NOT_FOUND",
	FileNotFound:           "SCARD_E_FILE_NOT_FOUND",
	NoDir:                  "SCARD_E_NO_DIR",
	NoFile:                 "SCARD_E_NO_FILE",
	NoAccess:               "SCARD_E_NO_ACCESS",
	WriteTooMany:           "SCARD_E_WRITE_TOO_MANY",
	BadSeek:                "SCARD_E_BAD_SEEK",
	InvalidCHV:             "SCARD_E_INVALID_CHV",
	UnknownResMng:          "SCARD_E_UNKNOWN_RES_MNG",
	NoSuchCertificate:      "SCARD_E_NO_SUCH_CERTIFICATE",
	CertificateUnavailable: "SCARD_E_CERTIFICATE_UNAVAILABLE",
	NoReadersAvailable:     "SCARD_E_NO_READERS_AVAILABLE",
	CommDataLost:           "SCARD_E_COMM_DATA_LOST",
	NoKeyContainer:         "SCARD_E_NO_KEY_CONTAINER",
	ServerTooBusy:          "SCARD_E_SERVER_TOO_BUSY",
	UnsupportedCard:        "SCARD_W_UNSUPPORTED_CARD",
	UnresponsiveCard:       "SCARD_W_UNRESPONSIVE_CARD",
	UnpoweredCard:          "SCARD_W_UNPOWERED_CARD",
	ResetCard:              "SCARD_W_RESET_CARD",
	RemovedCard:            "SCARD_W_REMOVED_CARD",
	SecurityViolation:      "SCARD_W_SECURITY_VIOLATION",
	WrongCHV:               "SCARD_W_WRONG_CHV",
	CHVBlocked:             "SCARD_W_CHV_BLOCKED",
	EOF:                    "SCARD_W_EOF",
	CancelledByUser:        "SCARD_W_CANCELLED_BY_USER",
	CardNotAuthenticated:   "SCARD_W_CARD_NOT_AUTHENTICATED",
}

// String returns the PC/SC name of c, such as "SCARD_W_REMOVED_CARD", or its
// value in hexadecimal when c is not a known code.
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

// Error returns "pcsc: " followed by the PC/SC name and value of c.
func (c Code) Error() string { return "pcsc: " + c.text() }

// text is the name and value of c.
func (c Code) text() string {
	return c.String() + " (0x" + strconv.FormatUint(uint64(c), 16) + ")"
}

// Is reports whether c is the kind of failure that target names:
//
//   - [transport.ErrNoReader]: NoReadersAvailable, UnknownReader,
//     ReaderUnavailable, ReaderUnsupported, DuplicateReader, NoService,
//     ServiceStopped, Shutdown and SharingViolation (the reader is held by
//     another application).
//   - [transport.ErrNoCard]: NoSmartcard, UnknownCard, CardUnsupported,
//     UnsupportedCard and UnresponsiveCard.
//   - [transport.ErrCardRemoved]: RemovedCard, ResetCard and UnpoweredCard:
//     the session with the card is over; [Conn.Reconnect] starts a new one.
//   - [context.DeadlineExceeded]: Timeout and WaitedTooLong.
//   - [context.Canceled]: Cancelled and SystemCancelled.
//   - [transport.ErrProtocol]: every other code, including CommError,
//     NotTransacted, ProtoMismatch and InsufficientBuffer.
func (c Code) Is(target error) bool {
	switch target {
	case transport.ErrNoReader:
		switch c {
		case NoReadersAvailable, UnknownReader, ReaderUnavailable, ReaderUnsupported,
			DuplicateReader, NoService, ServiceStopped, Shutdown, SharingViolation:
			return true
		}
	case transport.ErrNoCard:
		switch c {
		case NoSmartcard, UnknownCard, CardUnsupported, UnsupportedCard, UnresponsiveCard:
			return true
		}
	case transport.ErrCardRemoved:
		switch c {
		case RemovedCard, ResetCard, UnpoweredCard:
			return true
		}
	case context.DeadlineExceeded:
		return c == Timeout || c == WaitedTooLong
	case context.Canceled:
		return c == Cancelled || c == SystemCancelled
	case transport.ErrProtocol:
		return c != Success && !c.Is(transport.ErrNoReader) && !c.Is(transport.ErrNoCard) &&
			!c.Is(transport.ErrCardRemoved) && !c.Is(context.DeadlineExceeded) && !c.Is(context.Canceled)
	}
	return false
}

// Error is a failed PC/SC call. Code is the return code pcscd sent, or the
// code the C client library (libpcsclite) would return for a failure seen
// by the client itself: CommError for a broken or malformed reply,
// NoService when pcscd cannot be reached or the [Client] is closed,
// NoReadersAvailable when no reader is known.
//
// errors.Is(err, target) is true when target is Code, or when Code stands
// for target (see [Code.Is]); Err, when not nil, is the underlying cause
// (a socket error, [ErrClosed]) and is matched too.
type Error struct {
	Op   string // the call: "establish", "readers", "connect", "transmit", ...
	Code Code
	Err  error
}

// Error returns "pcsc: op: CODE (0x...)" followed by the cause, if any.
func (e *Error) Error() string {
	s := "pcsc: " + e.Op + ": " + e.Code.text()
	err := e.Err
	if cause, ok := err.(*Error); ok {
		s += " after " + cause.Code.text()
		err = cause.Err
	}
	if err != nil {
		s += ": " + err.Error()
	}
	return s
}

// Is reports whether e.Code is target, or stands for it (see [Code.Is]).
func (e *Error) Is(target error) bool {
	if c, ok := target.(Code); ok {
		return e.Code == c
	}
	return e.Code.Is(target)
}

// Unwrap returns the underlying cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

var (
	// ErrClosed is the cause of every failure on a [Client] after
	// [Client.Release], or after pcscd closed the connection or sent a reply
	// that broke the protocol, and on a [Conn] after [Conn.Disconnect]. It
	// comes wrapped in an [*Error] with Code NoService, so it also matches
	// transport.ErrNoReader: establish a new Client.
	ErrClosed = errors.New("pcsc: closed")
	// ErrUnsupportedPlatform is the cause of the error of Establish on a
	// system whose PC/SC middleware is not pcsc-lite (macOS, Windows): the
	// package speaks pcscd's socket protocol only, on Linux and the BSDs.
	// It comes wrapped in an [*Error] with Code NoService.
	ErrUnsupportedPlatform = errors.New("pcsc: this system's PC/SC middleware is not pcsc-lite (the package works on Linux and the BSDs)")
	// errMalformed is the cause of a CommError for a reply whose content is
	// impossible: a length past the buffer we offered, a bad ATR length.
	errMalformed = errors.New("pcsc: malformed reply from pcscd")
	// errVersion is the cause of the error of a pcscd that does not speak
	// client protocol 4.4.
	errVersion = errors.New("pcsc: pcscd does not speak client protocol 4.4")
	// errShortResponse is the cause of a CommError for a response APDU
	// shorter than a status word.
	errShortResponse = errors.New("pcsc: response shorter than a status word")
	// errCommandLength is the cause of an InsufficientBuffer error for a
	// command longer than pcscd accepts.
	errCommandLength = errors.New("pcsc: command longer than 65548 bytes")
	// errReaderName is the cause of an UnknownReader error for a reader
	// name that cannot be sent (empty, 128 bytes or more, or with a NUL).
	errReaderName = errors.New("pcsc: invalid reader name")
)
