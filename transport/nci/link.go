package nci

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/transport/internal/serialio"
	"github.com/opencarkey/sdk/transport/polling"
)

// Link carries whole NCI packets between the host (the DH) and the
// controller (the NFCC): the transport mapping of NCI over UART or I2C.
type Link interface {
	// WritePacket sends one packet.
	WritePacket(ctx context.Context, p []byte) error
	// ReadPacket appends the next packet from the NFCC to dst, waiting
	// until deadline (the zero time waits for ever) or until ctx ends. It
	// returns an error wrapping os.ErrDeadlineExceeded when the deadline
	// passes.
	ReadPacket(ctx context.Context, dst []byte, deadline time.Time) ([]byte, error)
}

// Port is a serial line: Read waits at most the read timeout and then
// returns 0 bytes and no error, as a go.bug.st/serial Port does.
type Port interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetReadTimeout(d time.Duration) error
}

// StreamLink is NCI over a UART: packets back to back on a byte stream,
// each delimited by its header's length.
type StreamLink struct {
	port Port
	rx   [2 * MaxPacketLen]byte
	r, w int
}

// NewStreamLink returns a Link over a serial port.
func NewStreamLink(port Port) *StreamLink { return &StreamLink{port: port} }

// WritePacket writes p.
func (l *StreamLink) WritePacket(ctx context.Context, p []byte) error {
	if err := serialio.WriteFull(l.port, p); err != nil {
		return fmt.Errorf("nci: writing a packet: %w", err)
	}
	return nil
}

// ReadPacket reads the next packet. A header with unknown values means the
// stream lost its framing: the bytes received are dropped and the error
// returned.
func (l *StreamLink) ReadPacket(ctx context.Context, dst []byte, deadline time.Time) ([]byte, error) {
	for {
		_, n, err := ScanPacket(l.rx[l.r:l.w])
		if err != nil {
			l.r, l.w = 0, 0
			return dst, err
		}
		if n > 0 {
			dst = append(dst, l.rx[l.r:l.r+n]...)
			l.r += n
			return dst, nil
		}
		if l.r == l.w {
			l.r, l.w = 0, 0
		} else if l.w == len(l.rx) {
			l.w = copy(l.rx[:], l.rx[l.r:l.w])
			l.r = 0
		}
		m, err := serialio.Read(ctx, l.port, l.rx[l.w:], deadline)
		if err != nil {
			return dst, err
		}
		l.w += m
	}
}

// Bus is an I2C device: each Read and each Write is one I2C transaction
// with the NFCC's address. Linux i2c-dev is one (OpenI2C).
type Bus interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
}

// IRQ is the NFCC's interrupt line, high while it has a packet for the DH.
type IRQ interface {
	// WaitHigh returns when the line is high: at once if it is, otherwise
	// at its rising edge. It returns an error wrapping
	// os.ErrDeadlineExceeded when deadline (not the zero time) passes
	// first, and ctx's error when ctx ends.
	WaitHigh(ctx context.Context, deadline time.Time) error
}

// writeRetry is the pause before a write is tried again: an NXP NFCC in
// standby does not acknowledge the first I2C transaction that wakes it
// (Linux drivers/nfc/nxp-nci/i2c.c, nxp_nci_i2c_write: "Retry, chip was in
// standby", msleep(110)).
const writeRetry = 110 * time.Millisecond

// I2CLink is NCI over I2C with the interrupt line (NCI's I2C transport
// mapping as NXP controllers implement it): the DH writes a packet in one
// transaction; when the IRQ line goes high, it reads the 3-byte header in
// one transaction and the payload in a second (Linux
// drivers/nfc/nxp-nci/i2c.c, nxp_nci_i2c_nci_read).
type I2CLink struct {
	bus Bus
	irq IRQ
	// testingOnlySleep replaces the pause before a write is tried again.
	testingOnlySleep func(ctx context.Context, d time.Duration) error
}

// NewI2CLink returns a Link over an I2C bus and the NFCC's interrupt line.
func NewI2CLink(bus Bus, irq IRQ) *I2CLink { return &I2CLink{bus: bus, irq: irq} }

// WritePacket writes p in one transaction, once more after 110 ms if the
// first fails (the NFCC was in standby).
func (l *I2CLink) WritePacket(ctx context.Context, p []byte) error {
	n, err := l.bus.Write(p)
	if err != nil {
		sleep := polling.Sleep
		if l.testingOnlySleep != nil {
			sleep = l.testingOnlySleep
		}
		if err := sleep(ctx, writeRetry); err != nil {
			return err
		}
		n, err = l.bus.Write(p)
	}
	if err != nil {
		return fmt.Errorf("nci: I2C write: %w", err)
	}
	if n != len(p) {
		return fmt.Errorf("nci: I2C write of %d of %d bytes", n, len(p))
	}
	return nil
}

// ReadPacket waits for the interrupt line and reads one packet.
func (l *I2CLink) ReadPacket(ctx context.Context, dst []byte, deadline time.Time) ([]byte, error) {
	if err := l.irq.WaitHigh(ctx, deadline); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0)
	if n, err := l.bus.Read(dst[start:]); err != nil || n != HeaderLen {
		return dst[:start], fmt.Errorf("nci: I2C read of the header: %d bytes, %w", n, errors.Join(err, ErrMalformedPacket))
	}
	// Check the header before trusting its length.
	if _, _, err := ScanPacket(dst[start:]); err != nil {
		return dst[:start], err
	}
	plen := int(dst[start+2])
	if plen == 0 {
		return dst, nil
	}
	dst = slices.Grow(dst, plen)[:len(dst)+plen]
	if n, err := l.bus.Read(dst[start+HeaderLen:]); err != nil || n != plen {
		return dst[:start], fmt.Errorf("nci: I2C read of a %d-byte payload: %d bytes, %w", plen, n, errors.Join(err, ErrMalformedPacket))
	}
	return dst, nil
}
