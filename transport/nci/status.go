package nci

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/transport"
)

// Status is an NCI status code (NCI 2.0 Table 140, as NXP's libnfc-nci
// nci_defs.h and Linux include/net/nfc/nci.h define them).
type Status uint8

// Status codes. Generic:
const (
	StatusOK                  Status = 0x00
	StatusRejected            Status = 0x01
	StatusRFFrameCorrupted    Status = 0x02 // NCI 2.0: STATUS_MESSAGE_CORRUPTED
	StatusFailed              Status = 0x03
	StatusNotInitialized      Status = 0x04
	StatusSyntaxError         Status = 0x05
	StatusSemanticError       Status = 0x06
	StatusUnknownGID          Status = 0x07 // NCI 1.0
	StatusUnknownOID          Status = 0x08 // NCI 1.0
	StatusInvalidParam        Status = 0x09
	StatusMessageSizeExceeded Status = 0x0A
	StatusNotSupported        Status = 0x0B // not in Table 140; NXP libnfc-nci nci_defs.h defines it
	StatusOK1Bit              Status = 0x11 // NCI 2.0: frames with n bits in the last byte
	StatusOK2Bit              Status = 0x12
	StatusOK3Bit              Status = 0x13
	StatusOK4Bit              Status = 0x14
	StatusOK5Bit              Status = 0x15
	StatusOK6Bit              Status = 0x16
	StatusOK7Bit              Status = 0x17
)

// RF discovery:
const (
	StatusDiscoveryAlreadyStarted         Status = 0xA0
	StatusDiscoveryTargetActivationFailed Status = 0xA1
	StatusDiscoveryTearDown               Status = 0xA2
)

// RF interface:
const (
	StatusRFTransmissionError Status = 0xB0
	StatusRFProtocolError     Status = 0xB1
	StatusRFTimeoutError      Status = 0xB2
	StatusRFUnexpectedData    Status = 0xB3 // NCI 2.0
)

// NFCEE interface:
const (
	StatusNFCEEInterfaceActivationFailed Status = 0xC0
	StatusNFCEETransmissionError         Status = 0xC1
	StatusNFCEEProtocolError             Status = 0xC2
	StatusNFCEETimeoutError              Status = 0xC3
)

var statusNames = map[Status]string{
	StatusOK: "STATUS_OK", StatusRejected: "STATUS_REJECTED", StatusRFFrameCorrupted: "STATUS_RF_FRAME_CORRUPTED",
	StatusFailed: "STATUS_FAILED", StatusNotInitialized: "STATUS_NOT_INITIALIZED", StatusSyntaxError: "STATUS_SYNTAX_ERROR",
	StatusSemanticError: "STATUS_SEMANTIC_ERROR", StatusUnknownGID: "STATUS_UNKNOWN_GID", StatusUnknownOID: "STATUS_UNKNOWN_OID",
	StatusInvalidParam: "STATUS_INVALID_PARAM", StatusMessageSizeExceeded: "STATUS_MESSAGE_SIZE_EXCEEDED",
	StatusNotSupported: "STATUS_NOT_SUPPORTED",
	StatusOK1Bit:       "STATUS_OK_1_BIT", StatusOK2Bit: "STATUS_OK_2_BIT", StatusOK3Bit: "STATUS_OK_3_BIT", StatusOK4Bit: "STATUS_OK_4_BIT",
	StatusOK5Bit: "STATUS_OK_5_BIT", StatusOK6Bit: "STATUS_OK_6_BIT", StatusOK7Bit: "STATUS_OK_7_BIT",
	StatusDiscoveryAlreadyStarted: "DISCOVERY_ALREADY_STARTED", StatusDiscoveryTargetActivationFailed: "DISCOVERY_TARGET_ACTIVATION_FAILED",
	StatusDiscoveryTearDown:   "DISCOVERY_TEAR_DOWN",
	StatusRFTransmissionError: "RF_TRANSMISSION_ERROR", StatusRFProtocolError: "RF_PROTOCOL_ERROR", StatusRFTimeoutError: "RF_TIMEOUT_ERROR",
	StatusRFUnexpectedData:               "RF_UNEXPECTED_DATA",
	StatusNFCEEInterfaceActivationFailed: "NFCEE_INTERFACE_ACTIVATION_FAILED", StatusNFCEETransmissionError: "NFCEE_TRANSMISSION_ERROR",
	StatusNFCEEProtocolError: "NFCEE_PROTOCOL_ERROR", StatusNFCEETimeoutError: "NFCEE_TIMEOUT_ERROR",
}

// String names the status as the specification does.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%s (%02X)", n, uint8(s))
	}
	if s >= 0xE0 {
		return fmt.Sprintf("proprietary status %02X", uint8(s))
	}
	return fmt.Sprintf("unknown status %02X", uint8(s))
}

// Known reports whether s is a status the specification defines (the
// proprietary range E0 to FF is not).
func (s Status) Known() bool {
	_, ok := statusNames[s]
	return ok
}

// Sentinels of the status classes: a *StatusError matches the one of its
// status (errors.Is).
var (
	// ErrRejected matches STATUS_REJECTED and STATUS_FAILED: the NFCC
	// refused or could not carry out the command.
	ErrRejected = errors.New("nci: command rejected")
	// ErrSyntax matches the statuses of a message the NFCC did not
	// understand: syntax, semantic, unknown GID or OID, invalid parameter,
	// size exceeded, not supported, corrupted message.
	ErrSyntax = errors.New("nci: message not understood")
	// ErrNotInitialized matches STATUS_NOT_INITIALIZED.
	ErrNotInitialized = errors.New("nci: controller not initialized")
	// ErrDiscovery matches the RF discovery statuses A0 to A2.
	ErrDiscovery = errors.New("nci: RF discovery error")
	// ErrRF matches the RF interface statuses B0 to B3: the exchange with
	// the remote endpoint failed.
	ErrRF = errors.New("nci: RF interface error")
	// ErrNFCEE matches the NFCEE interface statuses C0 to C3.
	ErrNFCEE = errors.New("nci: NFCEE interface error")
	// ErrProprietary matches proprietary statuses (E0 to FF) and codes the
	// specification does not define.
	ErrProprietary = errors.New("nci: proprietary or unknown status")
)

// class returns the sentinel of s's class, nil for the success codes.
func (s Status) class() error {
	switch s {
	case StatusOK, StatusOK1Bit, StatusOK2Bit, StatusOK3Bit, StatusOK4Bit, StatusOK5Bit, StatusOK6Bit, StatusOK7Bit:
		return nil
	case StatusRejected, StatusFailed:
		return ErrRejected
	case StatusRFFrameCorrupted, StatusSyntaxError, StatusSemanticError, StatusUnknownGID, StatusUnknownOID,
		StatusInvalidParam, StatusMessageSizeExceeded, StatusNotSupported:
		return ErrSyntax
	case StatusNotInitialized:
		return ErrNotInitialized
	case StatusDiscoveryAlreadyStarted, StatusDiscoveryTargetActivationFailed, StatusDiscoveryTearDown:
		return ErrDiscovery
	case StatusRFTransmissionError, StatusRFProtocolError, StatusRFTimeoutError, StatusRFUnexpectedData:
		return ErrRF
	case StatusNFCEEInterfaceActivationFailed, StatusNFCEETransmissionError, StatusNFCEEProtocolError, StatusNFCEETimeoutError:
		return ErrNFCEE
	}
	return ErrProprietary
}

// StatusError is an NCI response or notification whose status is not
// success. Every status matches its class sentinel; an RF interface error
// of an exchange with an activated target also matches
// transport.ErrCardRemoved.
type StatusError struct {
	// GID and OID name the message that carried the status.
	GID    GroupID
	OID    uint8
	Status Status
	// exchange marks an error of a data exchange with an activated target.
	exchange bool
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("nci: %s: %v", opName(e.GID, e.OID), e.Status)
}

// Is matches the class sentinel, and transport.ErrCardRemoved for an RF
// error of an exchange.
func (e *StatusError) Is(target error) bool {
	if target == transport.ErrCardRemoved {
		return e.exchange && e.Status.class() == ErrRF
	}
	c := e.Status.class()
	return c != nil && target == c
}

// statusError returns nil for a success status and a *StatusError
// otherwise.
func statusError(gid GroupID, oid uint8, s Status) error {
	if s.class() == nil {
		return nil
	}
	return &StatusError{GID: gid, OID: oid, Status: s}
}

var (
	// ErrTimeout reports a controller that did not answer in time. It
	// matches transport.ErrNoReader.
	ErrTimeout = fmt.Errorf("nci: controller did not answer in time: %w", transport.ErrNoReader)
	// ErrUnexpected reports a message that breaks the protocol: the
	// response to another command, a notification out of place.
	ErrUnexpected = fmt.Errorf("nci: unexpected message: %w", transport.ErrProtocol)
	// ErrReleased reports an exchange with a target already released.
	ErrReleased = errors.New("nci: target released")
	// ErrNoECP reports a polling round with an ECP frame on a Device
	// configured without Config.ECP: NCI defines no way to send one, and
	// this driver does not invent the proprietary bytes.
	ErrNoECP = errors.New("nci: no ECP command configured for this controller")
	// ErrPresenceUnsupported reports a presence check on an NCI 1.0
	// controller, which lacks RF_ISO_DEP_NAK_PRESENCE.
	ErrPresenceUnsupported = errors.New("nci: presence check needs NCI 2.0")
)

// DeactivationError reports a target deactivated by the controller
// (RF_DEACTIVATE_NTF) during an exchange: the link was lost or the endpoint
// asked for it. It matches transport.ErrCardRemoved.
type DeactivationError struct {
	Type   DeactivationType
	Reason DeactivationReason
}

func (e *DeactivationError) Error() string {
	return fmt.Sprintf("nci: target deactivated (%v, %v)", e.Type, e.Reason)
}

// Is matches transport.ErrCardRemoved.
func (e *DeactivationError) Is(target error) bool { return target == transport.ErrCardRemoved }
