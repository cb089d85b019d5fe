package uwb

import (
	"errors"
	"fmt"
)

// Errors of the UCI host. Callers branch on them with errors.Is.
var (
	// ErrFraming reports bytes that are not a well-formed UCI packet or
	// message: a bad header, a segment out of place, an oversize message.
	// After a framing error on the byte stream the host is out of step and
	// stops.
	ErrFraming = errors.New("uwb: UCI framing error")
	// ErrMalformed reports a message whose payload does not parse: a wrong
	// length, an unknown parameter or value, trailing bytes.
	ErrMalformed = errors.New("uwb: malformed UCI message")
	// ErrTimeout reports a command the UWB subsystem did not answer in
	// time.
	ErrTimeout = errors.New("uwb: UWB subsystem did not answer")
	// ErrClosed reports a host that was closed or whose byte stream ended.
	ErrClosed = errors.New("uwb: host closed")
	// ErrOverflow reports notifications dropped because the queue was full;
	// Notification returns it once, then the notifications that remain.
	ErrOverflow = errors.New("uwb: notification queue overflowed")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Status is a UCI status code (FiRa UCI status codes; google/pica and
// Android uci_packets.pdl). A Status other than [StatusOK] is an error:
// errors.Is(err, uwb.StatusRejected) matches it.
type Status uint8

// Status codes.
const (
	StatusOK                      Status = 0x00
	StatusRejected                Status = 0x01
	StatusFailed                  Status = 0x02
	StatusSyntaxError             Status = 0x03
	StatusInvalidParam            Status = 0x04
	StatusInvalidRange            Status = 0x05
	StatusInvalidMessageSize      Status = 0x06
	StatusUnknownGID              Status = 0x07
	StatusUnknownOID              Status = 0x08
	StatusReadOnly                Status = 0x09
	StatusCommandRetry            Status = 0x0A
	StatusUnknown                 Status = 0x0B
	StatusNotApplicable           Status = 0x0C
	StatusSessionNotExist         Status = 0x11
	StatusSessionDuplicate        Status = 0x12
	StatusSessionActive           Status = 0x13
	StatusMaxSessionsExceeded     Status = 0x14
	StatusSessionNotConfigured    Status = 0x15
	StatusActiveSessionsOngoing   Status = 0x16
	StatusOKNegativeDistance      Status = 0x1B
	StatusRangingTxFailed         Status = 0x20
	StatusRangingRxTimeout        Status = 0x21
	StatusRangingRxPhyDecFailed   Status = 0x22
	StatusRangingRxPhyToAFailed   Status = 0x23
	StatusRangingRxPhySTSFailed   Status = 0x24
	StatusRangingRxMacDecFailed   Status = 0x25
	StatusRangingRxMacIEDecFailed Status = 0x26
	StatusRangingRxMacIEMissing   Status = 0x27
	StatusCCCSEBusy               Status = 0x50
	StatusCCCLifecycle            Status = 0x51
)

// Error returns the status name.
func (s Status) Error() string { return "uwb: UCI status " + s.String() }

// String names the status.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusRejected:
		return "REJECTED"
	case StatusFailed:
		return "FAILED"
	case StatusSyntaxError:
		return "SYNTAX_ERROR"
	case StatusInvalidParam:
		return "INVALID_PARAM"
	case StatusInvalidRange:
		return "INVALID_RANGE"
	case StatusInvalidMessageSize:
		return "INVALID_MESSAGE_SIZE"
	case StatusUnknownGID:
		return "UNKNOWN_GID"
	case StatusUnknownOID:
		return "UNKNOWN_OID"
	case StatusReadOnly:
		return "READ_ONLY"
	case StatusCommandRetry:
		return "COMMAND_RETRY"
	case StatusUnknown:
		return "UNKNOWN"
	case StatusNotApplicable:
		return "NOT_APPLICABLE"
	case StatusSessionNotExist:
		return "SESSION_NOT_EXIST"
	case StatusSessionDuplicate:
		return "SESSION_DUPLICATE"
	case StatusSessionActive:
		return "SESSION_ACTIVE"
	case StatusMaxSessionsExceeded:
		return "MAX_SESSIONS_EXCEEDED"
	case StatusSessionNotConfigured:
		return "SESSION_NOT_CONFIGURED"
	case StatusActiveSessionsOngoing:
		return "ACTIVE_SESSIONS_ONGOING"
	case StatusOKNegativeDistance:
		return "OK_NEGATIVE_DISTANCE_REPORT"
	case StatusRangingTxFailed:
		return "RANGING_TX_FAILED"
	case StatusRangingRxTimeout:
		return "RANGING_RX_TIMEOUT"
	case StatusRangingRxPhyDecFailed:
		return "RANGING_RX_PHY_DEC_FAILED"
	case StatusRangingRxPhyToAFailed:
		return "RANGING_RX_PHY_TOA_FAILED"
	case StatusRangingRxPhySTSFailed:
		return "RANGING_RX_PHY_STS_FAILED"
	case StatusRangingRxMacDecFailed:
		return "RANGING_RX_MAC_DEC_FAILED"
	case StatusRangingRxMacIEDecFailed:
		return "RANGING_RX_MAC_IE_DEC_FAILED"
	case StatusRangingRxMacIEMissing:
		return "RANGING_RX_MAC_IE_MISSING"
	case StatusCCCSEBusy:
		return "ERROR_CCC_SE_BUSY"
	case StatusCCCLifecycle:
		return "ERROR_CCC_LIFECYCLE"
	}
	return fmt.Sprintf("0x%02x", uint8(s))
}

// Err returns nil for StatusOK and s otherwise.
func (s Status) Err() error {
	if s == StatusOK {
		return nil
	}
	return s
}

// AppConfigError reports the application-configuration parameters a
// SESSION_SET_APP_CONFIG command was refused for, each with its status.
type AppConfigError struct {
	Status  Status            // the response's status
	Refused []AppConfigStatus // the parameters whose status is not OK
}

func (e *AppConfigError) Error() string {
	s := fmt.Sprintf("uwb: SESSION_SET_APP_CONFIG: status %v", e.Status)
	for _, r := range e.Refused {
		s += fmt.Sprintf(", %v %v", r.ID, r.Status)
	}
	return s
}

// Unwrap returns the response's status.
func (e *AppConfigError) Unwrap() error { return e.Status }
