package ble

import (
	"errors"
	"fmt"
)

// Errors of the package. Callers branch on them with errors.Is; the
// functions wrap them with detail. Errors of the APDU tunnel also wrap the
// transport errors protocol code branches on (transport.ErrCardRemoved,
// transport.ErrProtocol), as their documentation says.
var (
	// ErrMalformed reports bytes that are not a well-formed DK message or
	// payload: shorter than its header, a length field that disagrees with
	// the SDU, reserved bits set, a field of the wrong size, trailing bytes.
	ErrMalformed = errors.New("ble: malformed message")
	// ErrUnknownType reports a DK message type outside 0 to 6 (§8.3).
	ErrUnknownType = errors.New("ble: unknown message type")
	// ErrUnknownID reports a message ID that neither numbering defines for
	// the message type (§8.3).
	ErrUnknownID = errors.New("ble: unknown message ID")
	// ErrUnknownValue reports a field whose value none of the tables
	// defines: a subevent, a status, a function ID.
	ErrUnknownValue = errors.New("ble: unknown value")
	// ErrUnsupported reports a message the package recognises but does not
	// decode because its layout is not public (the head-unit pairing
	// subevent, vehicle status containers other than 7F71).
	ErrUnsupported = errors.New("ble: unsupported message content")
	// ErrTooLarge reports data longer than a DK message carries (MaxDataLen).
	ErrTooLarge = errors.New("ble: message too large")
	// ErrSDUTooLarge reports an SDU longer than the receiving side's buffer
	// or the sending side's MTU. The SDU is dropped; the link stays usable.
	ErrSDUTooLarge = errors.New("ble: SDU larger than the MTU")
	// ErrLinkClosed reports that the L2CAP channel is gone: closed by either
	// side, or the BLE link dropped. Every later call fails with it.
	ErrLinkClosed = errors.New("ble: link closed")
	// ErrCLA reports a command APDU whose class byte the tunnel does not
	// carry: DK_APDU_RQ allows 00, 80 and 84 only (§8.3).
	ErrCLA = errors.New("ble: class byte not allowed in the APDU tunnel")

	// ErrMAC is the one opaque error of a first-approach message whose MAC
	// does not verify, or that carries no MAC where one is required.
	ErrMAC = errors.New("ble: first approach authentication failed")

	// ErrNoRequest reports an RKE_Auth_RQ the device did not ask for: it
	// has no RKE request waiting for a challenge.
	ErrNoRequest = errors.New("ble: no RKE request pending")
	// ErrUnknownChallenge reports an RKE response to a challenge the vehicle
	// never issued, or one it forgot (evicted or from before a restart).
	ErrUnknownChallenge = errors.New("ble: unknown RKE challenge")
	// ErrChallengeUsed reports an RKE response to a challenge that was
	// already answered: each challenge is accepted at most once.
	ErrChallengeUsed = errors.New("ble: RKE challenge already used")
	// ErrChallengeExpired reports an RKE response that came after the
	// challenge's lifetime.
	ErrChallengeExpired = errors.New("ble: RKE challenge expired")
	// ErrFunctionNotSupported reports an RKE request for a function or an
	// action the vehicle does not offer.
	ErrFunctionNotSupported = errors.New("ble: RKE function not supported by the vehicle")
)

// UnexpectedMessageError reports a DK message that arrived where another
// was wanted: a DK_APDU_RQ while the vehicle waits for DK_APDU_RS, or an
// event the caller did not handle.
type UnexpectedMessageError struct {
	Want, Got Kind
}

func (e *UnexpectedMessageError) Error() string {
	return fmt.Sprintf("ble: unexpected %v, want %v", e.Got, e.Want)
}
