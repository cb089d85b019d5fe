package pcsc

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/opencarkey/sdk/transport"
)

var _ transport.Transceiver = (*Conn)(nil)

// Conn is a connection to the card in one reader (an SCARDHANDLE): a
// [transport.Transceiver]. A Conn is used by one goroutine at a time;
// different Conns of one [Client] may be used concurrently.
//
// When the card leaves the field or is reset, pcscd fails every call on the
// Conn with RemovedCard or ResetCard (transport.ErrCardRemoved) until
// [Conn.Reconnect] starts a session with the card now in the reader.
type Conn struct {
	c        *Client
	reader   string
	handle   uint32
	protocol Protocol
	closed   bool // guarded by c.sem
}

// Reader returns the name of the reader.
func (cn *Conn) Reader() string { return cn.reader }

// Protocol returns the protocol negotiated with the card.
func (cn *Conn) Protocol() Protocol { return cn.protocol }

// Transceive sends command to the card (SCardTransmit) and appends the
// response APDU, data and status word, to dst. Commands of up to
// [MaxCommand] bytes are sent, short or extended alike; responses of up to
// [MaxResponse] bytes are accepted. Transceive does not handle 61xx or 6Cxx:
// that is the APDU layer's job.
//
// A failure reported by pcscd is an [*Error] with its Code (RemovedCard,
// ResetCard, NoSmartcard, ...). A reply that breaks the protocol, or a
// response shorter than a status word, is an [*Error] with Code CommError
// (transport.ErrProtocol). When ctx ends, the error wraps ctx.Err(); the
// card may still complete the command (see [Client]).
//
// A card that leaves the field during a command shows first as a transmit
// with no response (SCARD_E_NOT_TRANSACTED, or an empty response), and only
// at pcscd's next poll of the reader as a removal. After such a transmit,
// Transceive asks pcscd for the card's status for up to one second (within
// ctx): if the card is gone, the error has the Code of that answer,
// RemovedCard or ResetCard (transport.ErrCardRemoved), and wraps the
// original failure; otherwise it is the original failure.
//
// With a context that has no Done channel and a dst with room for the
// response, Transceive does not allocate.
func (cn *Conn) Transceive(ctx context.Context, dst, command []byte) ([]byte, error) {
	out, err := cn.transmit(ctx, dst, command)
	if err != nil {
		if pe, ok := err.(*Error); ok && (pe.Code == NotTransacted || pe.Err == errShortResponse) {
			return dst, cn.confirmRemoval(ctx, pe)
		}
		return dst, err
	}
	return out, nil
}

// transmit is one SCARD_TRANSMIT exchange.
func (cn *Conn) transmit(ctx context.Context, dst, command []byte) ([]byte, error) {
	const op = "transmit"
	if len(command) > MaxCommand {
		return dst, &Error{Op: op, Code: InsufficientBuffer, Err: errCommandLength}
	}
	c := cn.c
	if err := c.begin(ctx, op); err != nil {
		return dst, err
	}
	defer c.end()
	if cn.closed {
		return dst, &Error{Op: op, Code: NoService, Err: ErrClosed}
	}

	b := appendHeader(c.wbuf[:0], cmdTransmit, transmitSize)
	b = ne.AppendUint32(b, cn.handle)
	b = ne.AppendUint32(b, uint32(cn.protocol)) // ioSendPci.dwProtocol: pcscd checks it against the card's
	b = ne.AppendUint32(b, ioRequestSize)
	b = ne.AppendUint32(b, uint32(len(command)))
	b = ne.AppendUint32(b, uint32(cn.protocol)) // ioRecvPci
	b = ne.AppendUint32(b, ioRequestSize)
	b = ne.AppendUint32(b, MaxResponse) // pcbRecvLength: the room we offer
	b = ne.AppendUint32(b, uint32(Success))
	b = append(b, command...)
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, transmitSize, true)
	if err != nil {
		return dst, err
	}
	if ne.Uint32(reply) != cn.handle {
		return dst, c.malformed(op)
	}
	if rv := Code(ne.Uint32(reply[28:])); rv != Success {
		return dst, &Error{Op: op, Code: rv}
	}
	n := ne.Uint32(reply[24:])
	if n > MaxResponse {
		// pcscd never sends more than the room offered: this is not a
		// transmit reply, and nothing is allocated for it.
		return dst, c.malformed(op)
	}
	out := slices.Grow(dst, int(n))
	resp := out[len(out) : len(out)+int(n)]
	if err := c.readTail(ctx, op, resp); err != nil {
		return dst, err
	}
	if n < 2 {
		return dst, &Error{Op: op, Code: CommError, Err: errShortResponse}
	}
	return out[:len(out)+int(n)], nil
}

// removalWait bounds how long [Conn.Transceive] waits for pcscd to notice
// that a card left: pcscd polls readers that do not signal events every
// 400 ms (PCSCLITE_STATUS_POLL_RATE), vpcd among them.
const removalWait = time.Second

// confirmRemoval runs after a transmit that got no response: pcscd reported
// SCARD_E_NOT_TRANSACTED, or an empty response (vpcd's answer when the card
// drops the connection during a command). With a contactless card this is
// what the card leaving the field looks like, but pcscd marks the card
// removed only at its next poll of the reader. confirmRemoval asks pcscd for
// the card's status until it reports the removal (or a reset), for at most
// removalWait and as long as ctx lasts. It returns that removal as an
// [*Error] whose Err is the original failure, or the original failure when
// the card is still there.
func (cn *Conn) confirmRemoval(ctx context.Context, cause *Error) error {
	ctx, cancel := context.WithTimeout(ctx, removalWait)
	defer cancel()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return cause
		case <-timer.C:
		}
		err := cn.Status(ctx)
		var pe *Error
		if errors.As(err, &pe) && pe.Is(transport.ErrCardRemoved) {
			return &Error{Op: cause.Op, Code: pe.Code, Err: cause}
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return cause
		}
		timer.Reset(cn.c.poll)
	}
}

// Status asks pcscd whether the session with the card is intact
// (SCardStatus). It returns nil when it is, and an [*Error] with Code
// RemovedCard or ResetCard (transport.ErrCardRemoved) after the card left or
// was reset.
func (cn *Conn) Status(ctx context.Context) error {
	const op = "status"
	c := cn.c
	if err := c.begin(ctx, op); err != nil {
		return err
	}
	defer c.end()
	if cn.closed {
		return &Error{Op: op, Code: NoService, Err: ErrClosed}
	}
	b := appendHeader(c.wbuf[:0], cmdStatus, statusSize)
	b = ne.AppendUint32(b, cn.handle)
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, statusSize, false)
	if err != nil {
		return err
	}
	if ne.Uint32(reply) != cn.handle {
		return c.malformed(op)
	}
	if rv := Code(ne.Uint32(reply[4:])); rv != Success {
		return &Error{Op: op, Code: rv}
	}
	return nil
}

// Reconnect starts a new session with the card in the reader
// (SCardReconnect): after RemovedCard or ResetCard, once a card is present
// again (see [Client.WaitForCard]), Reconnect(ctx, Leave) resumes with it;
// Reconnect(ctx, Reset) resets the card first, and Unpower cycles its power.
// Without a card it fails with NoSmartcard (transport.ErrNoCard).
func (cn *Conn) Reconnect(ctx context.Context, init Disposition) error {
	const op = "reconnect"
	c := cn.c
	if err := c.begin(ctx, op); err != nil {
		return err
	}
	defer c.end()
	if cn.closed {
		return &Error{Op: op, Code: NoService, Err: ErrClosed}
	}
	b := appendHeader(c.wbuf[:0], cmdReconnect, reconnectSize)
	b = ne.AppendUint32(b, cn.handle)
	b = ne.AppendUint32(b, shareShared)
	b = ne.AppendUint32(b, uint32(c.protocols))
	b = ne.AppendUint32(b, uint32(init))
	b = ne.AppendUint32(b, 0) // dwActiveProtocol
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, reconnectSize, false)
	if err != nil {
		return err
	}
	if ne.Uint32(reply) != cn.handle {
		return c.malformed(op)
	}
	if rv := Code(ne.Uint32(reply[20:])); rv != Success {
		return &Error{Op: op, Code: rv}
	}
	cn.protocol = Protocol(ne.Uint32(reply[16:]))
	return nil
}

// Disconnect ends the connection (SCardDisconnect), leaving the card as d
// says. The Conn is unusable afterwards, even when pcscd reports an error.
// Disconnecting a disconnected Conn returns nil.
func (cn *Conn) Disconnect(ctx context.Context, d Disposition) error {
	const op = "disconnect"
	c := cn.c
	if err := c.begin(ctx, op); err != nil {
		return err
	}
	defer c.end()
	if cn.closed {
		return nil
	}
	cn.closed = true
	b := appendHeader(c.wbuf[:0], cmdDisconnect, disconnectSize)
	b = ne.AppendUint32(b, cn.handle)
	b = ne.AppendUint32(b, uint32(d))
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, disconnectSize, false)
	if err != nil {
		return err
	}
	if ne.Uint32(reply) != cn.handle {
		return c.malformed(op)
	}
	if rv := Code(ne.Uint32(reply[8:])); rv != Success {
		return &Error{Op: op, Code: rv}
	}
	return nil
}
