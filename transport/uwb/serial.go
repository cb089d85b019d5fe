package uwb

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.bug.st/serial"
)

// DefaultBaudRate is the UART speed of common UWB development boards
// (115200 bit/s, 8N1).
const DefaultBaudRate = 115200

// OpenSerial opens the serial device at path (a UART to a UWB development
// board, /dev/ttyACM0 or /dev/ttyUSB0 on Linux) in raw mode, 8 data bits,
// no parity, one stop bit, at baud bits per second (0 means
// [DefaultBaudRate]), for [NewHost]. Reads block until data arrives; Close
// interrupts them. It uses go.bug.st/serial, not hand-written termios.
//
// ctx is checked before the device is opened; opening itself does not
// block.
func OpenSerial(ctx context.Context, path string, baud int) (io.ReadWriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if baud == 0 {
		baud = DefaultBaudRate
	}
	if baud < 0 {
		return nil, fmt.Errorf("uwb: baud rate %d", baud)
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("uwb: opening %s: %w", path, err)
	}
	return &serialPort{p: p}, nil
}

// serialPort maps the errors of a closed port onto io.EOF, which the host
// reports as ErrClosed.
type serialPort struct{ p serial.Port }

func (s *serialPort) Read(b []byte) (int, error) {
	n, err := s.p.Read(b)
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return n, io.EOF
	}
	return n, err
}

func (s *serialPort) Write(b []byte) (int, error) { return s.p.Write(b) }
func (s *serialPort) Close() error                { return s.p.Close() }
