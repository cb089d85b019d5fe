//go:build linux

package nci

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/opencarkey/sdk/transport/internal/serialio"
)

// Line flags of the GPIO character device, uAPI v2 (Linux
// include/uapi/linux/gpio.h, enum gpio_v2_line_flag).
const (
	gpioFlagInput      = 1 << 2
	gpioFlagOutput     = 1 << 3
	gpioFlagEdgeRising = 1 << 4
)

// gpioEventSize is the size of struct gpio_v2_line_event.
const gpioEventSize = int(unsafe.Sizeof(unix.GPIOV2LineEvent{}))

// GPIOLine is one line of a GPIO chip, requested through the character
// device (uAPI v2): an input with rising-edge events (the NFCC's IRQ, an
// [IRQ]) or an output (VEN).
type GPIOLine struct {
	f    *os.File
	fd   int
	buf  [16 * 48]byte
	edge bool
}

// gpioRequest builds the line request for one line.
func gpioRequest(line uint32, consumer string, flags uint64) *unix.GPIOV2LineRequest {
	var req unix.GPIOV2LineRequest
	req.Offsets[0] = line
	copy(req.Consumer[:len(req.Consumer)-1], consumer)
	req.Config.Flags = flags
	req.Num_lines = 1
	return &req
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

func requestLine(chip string, req *unix.GPIOV2LineRequest) (*GPIOLine, error) {
	c, err := os.OpenFile(chip, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("nci: %w", err)
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("nci: %w", err)
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = ioctlPtr(int(fd), unix.GPIO_V2_GET_LINE_IOCTL, unsafe.Pointer(req)) }); err != nil {
		ioErr = err
	}
	if ioErr != nil {
		return nil, fmt.Errorf("nci: requesting line %d of %s: %w", req.Offsets[0], chip, ioErr)
	}
	fd := int(req.Fd)
	// A non-blocking line file is polled by the runtime: reads of edge
	// events honour deadlines.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nci: %w", err)
	}
	return &GPIOLine{f: os.NewFile(uintptr(fd), fmt.Sprintf("%s line %d", chip, req.Offsets[0])), fd: fd, edge: req.Config.Flags&gpioFlagEdgeRising != 0}, nil
}

// OpenGPIOInput requests line of the GPIO chip (/dev/gpiochip0) as an
// input with rising-edge detection.
func OpenGPIOInput(chip string, line uint32, consumer string) (*GPIOLine, error) {
	return requestLine(chip, gpioRequest(line, consumer, gpioFlagInput|gpioFlagEdgeRising))
}

// OpenGPIOOutput requests line of the GPIO chip as an output, initially at
// value.
func OpenGPIOOutput(chip string, line uint32, consumer string, value bool) (*GPIOLine, error) {
	req := gpioRequest(line, consumer, gpioFlagOutput)
	req.Config.Num_attrs = 1
	req.Config.Attrs[0].Attr.Id = unix.GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES
	if value {
		req.Config.Attrs[0].Attr.Flags = 1 // the union's values bitmap
	}
	req.Config.Attrs[0].Mask = 1
	return requestLine(chip, req)
}

// Value reads the line (GPIO_V2_LINE_GET_VALUES_IOCTL).
func (l *GPIOLine) Value() (bool, error) {
	v := unix.GPIOV2LineValues{Mask: 1}
	if err := l.control(unix.GPIO_V2_LINE_GET_VALUES_IOCTL, unsafe.Pointer(&v)); err != nil {
		return false, fmt.Errorf("nci: reading %s: %w", l.f.Name(), err)
	}
	return v.Bits&1 != 0, nil
}

// Set drives an output line (GPIO_V2_LINE_SET_VALUES_IOCTL).
func (l *GPIOLine) Set(value bool) error {
	v := unix.GPIOV2LineValues{Mask: 1}
	if value {
		v.Bits = 1
	}
	if err := l.control(unix.GPIO_V2_LINE_SET_VALUES_IOCTL, unsafe.Pointer(&v)); err != nil {
		return fmt.Errorf("nci: setting %s: %w", l.f.Name(), err)
	}
	return nil
}

func (l *GPIOLine) control(req uint, arg unsafe.Pointer) error {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = ioctlPtr(int(fd), req, arg) }); err != nil {
		return err
	}
	return ioErr
}

// WaitHigh returns when the line is high ([IRQ]): at once if it is,
// otherwise at a rising edge, reading the line's edge events.
func (l *GPIOLine) WaitHigh(ctx context.Context, deadline time.Time) error {
	if !l.edge {
		return fmt.Errorf("nci: %s has no edge detection", l.f.Name())
	}
	for {
		high, err := l.Value()
		if err != nil {
			return err
		}
		if high {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		wait := 20 * time.Millisecond
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return serialio.ErrTimeout
			}
			wait = min(wait, left)
		}
		l.f.SetReadDeadline(time.Now().Add(wait))
		n, err := l.f.Read(l.buf[:])
		if err != nil && !os.IsTimeout(err) {
			return fmt.Errorf("nci: reading events of %s: %w", l.f.Name(), err)
		}
		for i := 0; i+gpioEventSize <= n; i += gpioEventSize {
			if binary.NativeEndian.Uint32(l.buf[i+8:]) == unix.GPIO_V2_LINE_EVENT_RISING_EDGE {
				return nil
			}
		}
	}
}

// Close releases the line.
func (l *GPIOLine) Close() error { return l.f.Close() }
