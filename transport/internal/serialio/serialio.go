package serialio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.bug.st/serial"
)

// Port is a serial line. A go.bug.st/serial Port is one: Read waits at most
// the read timeout and then returns 0 bytes and no error.
type Port interface {
	io.Reader
	io.Writer
	SetReadTimeout(d time.Duration) error
}

// PortCloser is a Port that can be closed.
type PortCloser interface {
	Port
	io.Closer
}

// pollSlice bounds one Read, so that a context that ends is noticed within
// about this time.
const pollSlice = 20 * time.Millisecond

// ErrTimeout reports that the deadline passed before the bytes arrived. It
// wraps os.ErrDeadlineExceeded.
var ErrTimeout = fmt.Errorf("serialio: %w", os.ErrDeadlineExceeded)

// ErrPortCount reports a port whose Read or Write claimed more bytes than
// it was given, which io.Reader and io.Writer forbid: a broken driver.
var ErrPortCount = errors.New("serialio: the port reported more bytes than the buffer holds")

// Open opens the serial device at path in raw mode, 8 data bits, no parity,
// one stop bit, at baud bits per second. A pseudo-terminal's slave opens the
// same way. Reading a port that was closed returns io.EOF, so that a
// reader blocked in Read ends cleanly when Close is called.
func Open(path string, baud int) (PortCloser, error) {
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("serialio: opening %s: %w", path, err)
	}
	return port{p}, nil
}

// port maps the error of a closed go.bug.st/serial port onto io.EOF.
type port struct{ serial.Port }

func (p port) Read(b []byte) (int, error) {
	n, err := p.Port.Read(b)
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return n, io.EOF
	}
	return n, err
}

// Read reads what is available into buf, at least one byte, waiting until
// deadline (the zero time waits for ever) or until ctx ends. It returns
// ErrTimeout when the deadline passes, ctx's error when ctx ends, and the
// port's error when the port fails.
func Read(ctx context.Context, p Port, buf []byte, deadline time.Time) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		wait := pollSlice
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return 0, ErrTimeout
			}
			wait = min(wait, left)
		}
		if err := p.SetReadTimeout(wait); err != nil {
			return 0, fmt.Errorf("serialio: setting the read timeout: %w", err)
		}
		n, err := p.Read(buf)
		if n > len(buf) || n < 0 {
			return 0, ErrPortCount
		}
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
	}
}

// ReadFull reads exactly len(buf) bytes, with the deadline and context of
// [Read].
func ReadFull(ctx context.Context, p Port, buf []byte, deadline time.Time) error {
	for len(buf) > 0 {
		n, err := Read(ctx, p, buf, deadline)
		if err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}

// WriteFull writes all of b.
func WriteFull(p io.Writer, b []byte) error {
	for len(b) > 0 {
		n, err := p.Write(b)
		if err != nil {
			return err
		}
		if n > len(b) || n < 0 {
			return ErrPortCount
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}
