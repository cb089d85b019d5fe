package pn532

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/transport"
)

// Status is the error code in the status byte of a PN532 response (the low
// six bits; UM0701-02 §7.1, "Error handling", as libnfc's pn53x-internal.h
// and pn532.js quote it).
type Status uint8

// Error codes of the status byte.
const (
	StatusOK               Status = 0x00
	StatusTimeout          Status = 0x01 // the target has not answered
	StatusCRC              Status = 0x02 // CRC error detected by the CIU
	StatusParity           Status = 0x03 // parity error detected by the CIU
	StatusBitCount         Status = 0x04 // erroneous bit count in anticollision
	StatusFraming          Status = 0x05 // framing error during a MIFARE operation
	StatusCollision        Status = 0x06 // abnormal bit collision in anticollision
	StatusBufferSize       Status = 0x07 // communication buffer too small
	StatusRFBufferOverflow Status = 0x09 // RF buffer overflow detected by the CIU
	StatusRFFieldTimeout   Status = 0x0A // RF field not switched on in time
	StatusRFProtocol       Status = 0x0B // RF protocol error
	StatusTemperature      Status = 0x0D // overheating: antenna drivers switched off
	StatusInternalOverflow Status = 0x0E // internal buffer overflow
	StatusInvalidParameter Status = 0x10 // invalid parameter (range, format)
	StatusDEPCommand       Status = 0x12 // DEP command not supported in target mode
	StatusDataFormat       Status = 0x13 // data format does not match the specification
	StatusAuthentication   Status = 0x14 // MIFARE authentication error
	StatusUIDCheck         Status = 0x23 // ISO/IEC 14443-3 UID check byte wrong
	StatusDEPState         Status = 0x25 // invalid device state for DEP
	StatusNotAllowed       Status = 0x26 // operation not allowed in this configuration
	StatusWrongContext     Status = 0x27 // command not acceptable in the current context
	StatusReleased         Status = 0x29 // the PN532 as target was released by its initiator
	StatusCardIDMismatch   Status = 0x2A // ISO/IEC 14443-3B: the card was exchanged
	StatusCardDisappeared  Status = 0x2B // ISO/IEC 14443-3B: the card has disappeared
	StatusNFCID3Mismatch   Status = 0x2C // NFCID3 mismatch in DEP passive 212/424 kbps
	StatusOverCurrent      Status = 0x2D // over-current event detected
	StatusNADMissing       Status = 0x2E // NAD missing in a DEP frame
	statusMI                      = 0x40 // "more information" bit of the status byte
	statusNAD                     = 0x80 // NAD present bit of the status byte
	statusCode                    = 0x3F
)

var statusNames = map[Status]string{
	StatusOK: "success", StatusTimeout: "target timeout", StatusCRC: "CRC error", StatusParity: "parity error",
	StatusBitCount: "erroneous bit count", StatusFraming: "framing error", StatusCollision: "bit collision",
	StatusBufferSize: "buffer size insufficient", StatusRFBufferOverflow: "RF buffer overflow",
	StatusRFFieldTimeout: "RF field not switched on in time", StatusRFProtocol: "RF protocol error",
	StatusTemperature: "temperature error", StatusInternalOverflow: "internal buffer overflow",
	StatusInvalidParameter: "invalid parameter", StatusDEPCommand: "DEP command not supported",
	StatusDataFormat: "data format error", StatusAuthentication: "authentication error",
	StatusUIDCheck: "UID check byte wrong", StatusDEPState: "invalid DEP device state",
	StatusNotAllowed: "operation not allowed", StatusWrongContext: "command not acceptable in context",
	StatusReleased: "target released", StatusCardIDMismatch: "card ID mismatch",
	StatusCardDisappeared: "card disappeared", StatusNFCID3Mismatch: "NFCID3 mismatch",
	StatusOverCurrent: "over-current", StatusNADMissing: "NAD missing",
}

// String names the status.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%s (%02X)", n, uint8(s))
	}
	return fmt.Sprintf("unknown status %02X", uint8(s))
}

// Known reports whether s is a status code the user manual defines.
func (s Status) Known() bool {
	_, ok := statusNames[s]
	return ok
}

// lostTarget reports the statuses with which an exchange with an activated
// ISO-DEP target fails when the target leaves the field or stops
// answering: a timeout, transmission errors, a broken ISO-DEP exchange, a
// vanished card. libnfc (pn53x.c, pn53x_transceive) groups the same codes
// as RF transmission errors.
func (s Status) lostTarget() bool {
	switch s {
	case StatusTimeout, StatusCRC, StatusParity, StatusBitCount, StatusFraming, StatusCollision,
		StatusRFProtocol, StatusDataFormat, StatusUIDCheck, StatusDEPState, StatusCardIDMismatch,
		StatusCardDisappeared, StatusRFFieldTimeout:
		return true
	}
	return false
}

var (
	// ErrTimeout reports a PN532 that did not acknowledge or answer a
	// command in time; the driver aborted the command. It matches
	// transport.ErrNoReader.
	ErrTimeout = fmt.Errorf("pn532: controller did not answer in time: %w", transport.ErrNoReader)
	// ErrSyntax reports an error frame: the PN532 found a syntax error in a
	// command (UM0701-02 §6.2.1.5).
	ErrSyntax = errors.New("pn532: controller reported a syntax error")
	// ErrNotPN532 reports a controller whose firmware version is not a
	// PN532's.
	ErrNotPN532 = errors.New("pn532: not a PN532")
	// ErrReleased reports an exchange with a target already released.
	ErrReleased = errors.New("pn532: target released")
)

// StatusError is a PN532 response whose status byte is not success. It
// matches transport.ErrCardRemoved when the status says the target stopped
// answering an exchange.
type StatusError struct {
	// Command is the command code.
	Command byte
	// Status is the error code.
	Status Status
	// exchange marks an exchange with an activated target.
	exchange bool
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("pn532: command %02X: %v", e.Command, e.Status)
}

// Is matches transport.ErrCardRemoved for a target that left during an
// exchange.
func (e *StatusError) Is(target error) bool {
	return target == transport.ErrCardRemoved && e.exchange && e.Status.lostTarget()
}

// ProtocolError reports a response that breaks the host controller
// protocol: a frame that is not the answer to the command, a retransmission
// that never came right. It matches transport.ErrProtocol.
type ProtocolError struct {
	Command byte
	Err     error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("pn532: command %02X: %v", e.Command, e.Err)
}

func (e *ProtocolError) Unwrap() []error { return []error{e.Err, transport.ErrProtocol} }
