package transport

import (
	"context"
	"errors"
)

// Transceiver carries command APDUs to a card and brings back its responses:
// a PC/SC reader, a BLE link tunnelling APDUs, or an in-memory card.
//
// Transceive sends one command APDU and appends the response APDU (response
// data followed by SW1 SW2) to dst, returning the extended slice. It returns
// an error only when no response arrived: the context ended, the card went
// away, the reader failed. A status word other than 9000 is a response, not an
// error. Transceive does not keep command or dst after it returns.
//
// Implementations need not be safe for concurrent use: one protocol run owns
// a Transceiver at a time.
type Transceiver interface {
	Transceive(ctx context.Context, dst, command []byte) ([]byte, error)
}

// Card answers command APDUs, as an applet in a secure element does: the
// other end of a [Transceiver].
//
// ProcessAPDU handles one command APDU and appends the response APDU
// (response data followed by SW1 SW2) to dst, returning the extended slice.
// It never fails: every error is a status word. It must not keep command or
// dst after it returns.
type Card interface {
	ProcessAPDU(dst, command []byte) []byte
}

// Resetter is implemented by a [Card] that keeps per-session state. Reset is
// called when the RF field drops or the card is reset: every applet is
// deselected and volatile session state is cleared.
type Resetter interface {
	Reset()
}

// Transport failures that every [Transceiver] implementation reports by
// wrapping one of these, so that protocol code branches on them without
// knowing the implementation. A context that ended is reported by wrapping
// the context's error (context.Canceled or context.DeadlineExceeded).
var (
	// ErrNoReader reports that no reader is available.
	ErrNoReader = errors.New("transport: no reader")
	// ErrNoCard reports that no card (phone, watch) is present.
	ErrNoCard = errors.New("transport: no card present")
	// ErrCardRemoved reports that the card left the field or was reset during
	// an exchange; the session with it is over.
	ErrCardRemoved = errors.New("transport: card removed")
	// ErrProtocol reports a malformed exchange at the transport level: a
	// response shorter than a status word, a broken framing, a reader error.
	ErrProtocol = errors.New("transport: protocol error")
)
