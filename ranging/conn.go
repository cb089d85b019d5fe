package ranging

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Conn carries ranging messages between the two sides. The BLE link carries
// them as DK messages of type 2 (PROTOCOL.md §8.3); [StreamConn] carries them
// over any byte stream.
//
// WriteMessage sends one message. ReadMessage receives the next one and
// appends its payload to dst. Both honour ctx; a Conn whose peer went away
// returns an error wrapping [ErrConnClosed]. One goroutine reads and one
// writes at a time.
type Conn interface {
	WriteMessage(ctx context.Context, id MessageID, payload []byte) error
	ReadMessage(ctx context.Context, dst []byte) (MessageID, []byte, error)
}

// messageTypeRanging is the DK message type of the UWB ranging service
// (PROTOCOL.md §8.3).
const messageTypeRanging = 0x02

// MaxPayload bounds the payload of a ranging message a [StreamConn] accepts.
// The largest ranging message, a capability request with full lists, is 43
// bytes.
const MaxPayload = 64

// StreamConn is a [Conn] over a byte stream (a pipe, a socket, a UART). Each
// message is framed as a DK message of type 2 (PROTOCOL.md §8.3): type 02,
// message ID, payload length (2 bytes, big-endian), payload. On receive it
// accepts both numberings of the configurable recovery messages; on send it
// uses Numbering.
//
// When the stream has deadlines (net.Conn, os.File), StreamConn maps the
// context's deadline and cancellation onto them; a plain io.ReadWriter
// blocks until it returns.
type StreamConn struct {
	rw        io.ReadWriter
	Numbering Numbering

	rmu, wmu sync.Mutex
	wbuf     [4 + MaxPayload]byte
}

// NewStreamConn returns a [StreamConn] over rw.
func NewStreamConn(rw io.ReadWriter) *StreamConn { return &StreamConn{rw: rw} }

type readDeadliner interface{ SetReadDeadline(time.Time) error }
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// withDeadline applies ctx to one blocking operation through set, which sets
// the stream's deadline: the context's deadline, and a deadline in the past
// when it is cancelled. The returned function lifts it again.
func withDeadline(ctx context.Context, set func(time.Time) error) (lift func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = set(d)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = set(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired // the cancellation ran; wait so that it cannot outlive the operation
		}
		_ = set(time.Time{})
	}
}

// WriteMessage implements [Conn].
func (c *StreamConn) WriteMessage(ctx context.Context, id MessageID, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("ranging: payload of %d bytes, limit %d", len(payload), MaxPayload)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if d, ok := c.rw.(writeDeadliner); ok {
		defer withDeadline(ctx, d.SetWriteDeadline)()
	}
	b := append(c.wbuf[:0], messageTypeRanging, c.Numbering.Wire(id))
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	b = append(b, payload...)
	if _, err := c.rw.Write(b); err != nil {
		return c.ioError(ctx, err)
	}
	return nil
}

// ReadMessage implements [Conn]. A frame of another DK message type, an
// unknown message ID or a payload over [MaxPayload] is an error wrapping
// [ErrMalformed]; the stream is out of step afterwards.
func (c *StreamConn) ReadMessage(ctx context.Context, dst []byte) (MessageID, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, dst, err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if d, ok := c.rw.(readDeadliner); ok {
		defer withDeadline(ctx, d.SetReadDeadline)()
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c.rw, hdr[:]); err != nil {
		return 0, dst, c.ioError(ctx, err)
	}
	if hdr[0] != messageTypeRanging {
		return 0, dst, malformed("DK message type 0x%02x, want 02", hdr[0])
	}
	id, err := ParseMessageID(hdr[1])
	if err != nil {
		return 0, dst, err
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n > MaxPayload {
		return 0, dst, malformed("payload of %d bytes, limit %d", n, MaxPayload)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	if _, err := io.ReadFull(c.rw, dst[start:]); err != nil {
		return 0, dst[:start], c.ioError(ctx, err)
	}
	return id, dst, nil
}

// ioError maps a stream error: the context's error when it ended, else
// ErrConnClosed for an orderly end of stream.
func (c *StreamConn) ioError(ctx context.Context, err error) error {
	if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
		<-ctx.Done() // the stream's deadline is the context's: report it as such
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("ranging: %w", ctxErr)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("%w: %w", ErrConnClosed, err)
	}
	return fmt.Errorf("ranging: %w", err)
}

var _ Conn = (*StreamConn)(nil)

// exchange sends one message and, when wait is set, reads the answer.
func exchange(ctx context.Context, conn Conn, id MessageID, payload, buf []byte) (MessageID, []byte, error) {
	if err := conn.WriteMessage(ctx, id, payload); err != nil {
		return 0, buf, err
	}
	return conn.ReadMessage(ctx, buf[:0])
}

// Run runs the vehicle's side of the ranging setup of session id over conn
// and returns the established session.
func (v *Vehicle) Run(ctx context.Context, conn Conn, id SessionID) (*Session, error) {
	var out, in [MaxPayload]byte
	mid, msg, err := v.Start(out[:0], id)
	for err == nil && mid != 0 {
		var rid MessageID
		var rsp []byte
		rid, rsp, err = exchange(ctx, conn, mid, msg, in[:0])
		if err != nil {
			break
		}
		mid, msg, err = v.Handle(out[:0], rid, rsp)
	}
	if err != nil {
		return nil, err
	}
	return v.session, nil
}

// Request sends a vehicle request built by [Vehicle.Suspend],
// [Vehicle.Recover] or [Vehicle.RecoverWith] over conn and applies the
// device's answer. build is one of those methods.
func (v *Vehicle) Request(ctx context.Context, conn Conn, build func(dst []byte) (MessageID, []byte, error)) error {
	var out, in [MaxPayload]byte
	mid, msg, err := build(out[:0])
	if err != nil {
		return err
	}
	rid, rsp, err := exchange(ctx, conn, mid, msg, in[:0])
	if err != nil {
		return err
	}
	_, _, err = v.Handle(out[:0], rid, rsp)
	return err
}

// Serve answers the vehicle's messages on conn until ctx ends, the
// connection closes, or a message fails; it returns that error. It owns d
// while it runs.
func (d *Device) Serve(ctx context.Context, conn Conn) error {
	var out, in [MaxPayload]byte
	for {
		id, msg, err := conn.ReadMessage(ctx, in[:0])
		if err != nil {
			return err
		}
		rid, rsp, err := d.Handle(out[:0], id, msg)
		if err != nil {
			return err
		}
		if rid != 0 {
			if err := conn.WriteMessage(ctx, rid, rsp); err != nil {
				return err
			}
		}
	}
}
