package uwb

import (
	"context"
	"fmt"
	"io"

	"github.com/opencarkey/sdk/transport/internal/serialio"
)

// DefaultBaudRate is the UART speed of common UWB development boards
// (115200 bit/s, 8N1).
const DefaultBaudRate = 115200

// OpenSerial opens the serial device at path (a UART to a UWB development
// board, /dev/ttyACM0 or /dev/ttyUSB0 on Linux) in raw mode, 8 data bits,
// no parity, one stop bit, at baud bits per second (0 means
// [DefaultBaudRate]), for [NewHost]. Reads block until data arrives; Close
// interrupts them, and a closed port reads io.EOF, which the host reports as
// ErrClosed. It uses go.bug.st/serial, not hand-written termios.
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
	p, err := serialio.Open(path, baud)
	if err != nil {
		return nil, fmt.Errorf("uwb: %w", err)
	}
	return p, nil
}
