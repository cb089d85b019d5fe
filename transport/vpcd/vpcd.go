package vpcd

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/opencarkey/sdk/transport"
)

// DefaultAddr is where vpcd's first reader listens for its card. vpcd opens
// one port per slot: the second reader of the default configuration listens
// on localhost:35964.
const DefaultAddr = "localhost:35963"

// MaxFrame is the largest payload of a frame: its length is a 2-byte field.
// A command APDU longer than this cannot reach the card through vpcd, and a
// response longer than this is replaced by status word 6F00.
const MaxFrame = 0xFFFF

// Control codes: a frame with a 1-byte payload from vpcd.
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlATR      = 0x04
)

// contactlessATR is the ATR of an ISO/IEC 14443-4 card without historical
// bytes as a PC/SC reader builds it (PC/SC Part 3, 3.1.3.2.3.1): TS 3B, T0
// 80 (TD1 follows, no historical bytes), TD1 80 (T=0, TD2 follows), TD2 01
// (T=1), TCK 01. pcscd negotiates T=1 on it.
const contactlessATR = "\x3B\x80\x80\x01\x01"

// swNoPreciseDiagnosis answers a command whose response cannot be framed.
const swNoPreciseDiagnosis = "\x6F\x00"

var (
	// ErrClosed reports that vpcd closed the connection between two frames:
	// pcscd stopped, or the reader was removed.
	ErrClosed = errors.New("vpcd: connection closed by vpcd")
	// ErrInvalidATR reports a Config.ATR that is not 2 to 33 bytes long.
	ErrInvalidATR = errors.New("vpcd: invalid ATR")
)

// Config configures [Serve] and [Run]. The zero value (or nil) is the
// default. A Config must not be modified after it has been passed to Serve
// or Run.
type Config struct {
	// ATR is the answer to reset the card gives when vpcd asks for it.
	// Nil means 3B 80 80 01 01, a contactless card as a PC/SC reader
	// presents it, on which pcscd negotiates T=1. It must be 2 to 33 bytes.
	ATR []byte
	// RetryInterval is the pause of [Run] before each new connection
	// attempt. Zero means 500 ms.
	RetryInterval time.Duration
	// OnConnect, if not nil, is called by Run when a connection to vpcd is
	// made, before the card is served on it.
	OnConnect func()
	// OnDisconnect, if not nil, is called by Run when a connection made
	// ends, with the reason (as [Serve] returns it).
	OnDisconnect func(err error)
}

func (c *Config) atr() ([]byte, error) {
	if c == nil || c.ATR == nil {
		return []byte(contactlessATR), nil
	}
	if len(c.ATR) < 2 || len(c.ATR) > 33 {
		return nil, ErrInvalidATR
	}
	return c.ATR, nil
}

func (c *Config) retryInterval() time.Duration {
	if c != nil && c.RetryInterval > 0 {
		return c.RetryInterval
	}
	return 500 * time.Millisecond
}

// Serve plays card on conn, a connection to vpcd, until ctx ends or the
// connection fails. It answers each frame from vpcd in turn: a command APDU
// with the response card.ProcessAPDU gives, control code 04 with the ATR;
// control codes 00 (power off) and 02 (reset) call Reset when card is a
// [transport.Resetter], 01 (power on) and unknown control codes are ignored.
// A response shorter than a status word or longer than [MaxFrame] is
// replaced by status word 6F00, since vpcd takes an empty one for a removed
// card and cannot carry a longer one.
//
// Serve never calls card concurrently. It closes conn before it returns, and
// then calls Reset (when card is a Resetter): the card has left the field.
// Closing the connection is how a card is removed from the reader.
//
// It returns an error wrapping ctx.Err() when ctx ends, [ErrClosed] when
// vpcd closes the connection between frames, an error wrapping
// transport.ErrProtocol and io.ErrUnexpectedEOF when it does so inside a
// frame, or the socket error.
func Serve(ctx context.Context, conn net.Conn, card transport.Card, cfg *Config) error {
	atr, err := cfg.atr()
	if err != nil {
		conn.Close()
		return err
	}
	if r, ok := card.(transport.Resetter); ok {
		defer r.Reset() // runs last: the card has left the field
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var (
		hdr [2]byte
		in  []byte                    // the frame read, grown up to MaxFrame
		out = make([]byte, 2, 2+1024) // length prefix and response, grown as needed
	)
	qa := newQuickAcker(conn)
	for {
		qa.arm()
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return readError(ctx, err, true)
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if cap(in) < n {
			in = make([]byte, n)
		}
		in = in[:n]
		qa.arm()
		if _, err := io.ReadFull(conn, in); err != nil {
			return readError(ctx, err, false)
		}

		out = out[:2]
		switch {
		case n == 1:
			switch in[0] {
			case ctrlPowerOff, ctrlReset:
				if r, ok := card.(transport.Resetter); ok {
					r.Reset()
				}
				continue
			case ctrlATR:
				out = append(out, atr...)
			default: // power on, and codes this package does not know
				continue
			}
		default:
			out = card.ProcessAPDU(out, in)
			if len(out) < 2+2 || len(out) > 2+MaxFrame {
				out = append(out[:2], swNoPreciseDiagnosis...)
			}
		}
		binary.BigEndian.PutUint16(out, uint16(len(out)-2))
		if _, err := conn.Write(out); err != nil {
			if ctx.Err() != nil {
				return &ctxError{err: ctx.Err()}
			}
			return &Error{Op: "write", Err: err}
		}
	}
}

// readError says why a read from vpcd failed.
func readError(ctx context.Context, err error, atBoundary bool) error {
	if ctx.Err() != nil {
		return &ctxError{err: ctx.Err()}
	}
	if errors.Is(err, io.EOF) && atBoundary {
		return ErrClosed
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Op: "read", Err: io.ErrUnexpectedEOF}
	}
	return &Error{Op: "read", Err: err}
}

// Run connects to vpcd at addr (host:port; empty means [DefaultAddr]) and
// serves card on the connection as [Serve] does, until ctx ends; it then
// returns an error wrapping ctx.Err(), or [ErrInvalidATR] at once for a bad
// Config.
//
// Reconnection policy: whenever a connection attempt fails (vpcd is not
// listening: pcscd is not running, or runs without the vpcd driver) or a
// connection ends (pcscd stopped, or vpcd dropped the card after a failed
// exchange), Run waits Config.RetryInterval and connects again, for as long
// as ctx lasts. vpcd accepts one card per port, and only when pcscd polls
// the reader (every 400 ms or so), so the first exchange may come a little
// after the connection.
func Run(ctx context.Context, addr string, card transport.Card, cfg *Config) error {
	if _, err := cfg.atr(); err != nil {
		return err
	}
	if addr == "" {
		addr = DefaultAddr
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var d net.Dialer
	for {
		select {
		case <-ctx.Done():
			return &ctxError{err: ctx.Err()}
		case <-timer.C:
		}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			if cfg != nil && cfg.OnConnect != nil {
				cfg.OnConnect()
			}
			err = Serve(ctx, conn, card, cfg)
			if cfg != nil && cfg.OnDisconnect != nil {
				cfg.OnDisconnect(err)
			}
		}
		if ctx.Err() != nil {
			return &ctxError{err: ctx.Err()}
		}
		timer.Reset(cfg.retryInterval())
	}
}

// Error is a failed read or write on the connection to vpcd. It matches
// transport.ErrProtocol when the connection broke inside a frame.
type Error struct {
	Op  string // "read" or "write"
	Err error
}

func (e *Error) Error() string { return "vpcd: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause, and transport.ErrProtocol for a frame cut short.
func (e *Error) Unwrap() []error {
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		return []error{e.Err, transport.ErrProtocol}
	}
	return []error{e.Err}
}

type ctxError struct{ err error }

func (e *ctxError) Error() string { return "vpcd: " + e.err.Error() }
func (e *ctxError) Unwrap() error { return e.err }
