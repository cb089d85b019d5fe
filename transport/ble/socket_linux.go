//go:build linux

package ble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SocketConn is a [Conn] over a connected SOCK_SEQPACKET socket: an LE
// credit-based L2CAP socket of the kernel's Bluetooth stack ([DialL2CAP],
// [L2CAPListener.Accept]) or, with the same SDU semantics, one end of an
// AF_UNIX SOCK_SEQPACKET pair. Each read and write moves one record, which
// on L2CAP is one SDU. The socket is non-blocking and waits in the Go
// runtime's poller, so a context ends a blocked call.
type SocketConn struct {
	f       *os.File
	rc      syscall.RawConn
	sendMTU int
	// closed is set by Close: the poller then reports its own error, which
	// is not exported, for the calls it cuts short.
	closed atomic.Bool
}

var _ Conn = (*SocketConn)(nil)

// NewSocketConn returns a SocketConn that owns fd, a connected
// SOCK_SEQPACKET socket, and closes it on Close. sendMTU is the largest SDU
// the peer accepts, which WriteSDU enforces before the kernel does; zero or
// less leaves the check to the kernel. On error fd is closed.
func NewSocketConn(fd int, sendMTU int) (*SocketConn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ble: socket: %w", err)
	}
	f, rc, err := pollable(fd, "ble-seqpacket")
	if err != nil {
		return nil, err
	}
	return &SocketConn{f: f, rc: rc, sendMTU: sendMTU}, nil
}

// pollable hands fd, a non-blocking socket, to the runtime's poller. On
// error fd is closed.
func pollable(fd int, name string) (*os.File, syscall.RawConn, error) {
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("ble: socket: %w", err)
	}
	return f, rc, nil
}

// SendMTU returns the largest SDU WriteSDU sends; zero when the kernel
// checks alone.
func (c *SocketConn) SendMTU() int { return c.sendMTU }

// ReadSDU implements [Conn]. A read of zero bytes is the peer's shutdown:
// the link is reported closed (a DK message is never empty).
func (c *SocketConn) ReadSDU(ctx context.Context, buf []byte) (int, error) {
	var n, flags int
	var rerr error
	err := withContext(ctx, c.f.SetReadDeadline, func() error {
		return c.rc.Read(func(fd uintptr) bool {
			n, _, flags, _, rerr = unix.Recvmsg(int(fd), buf, nil, 0)
			return rerr != unix.EAGAIN
		})
	})
	if err == nil {
		err = rerr
	}
	switch {
	case err != nil:
		return 0, c.error(ctx, "read", err)
	case flags&unix.MSG_TRUNC != 0:
		return 0, fmt.Errorf("ble: read: SDU longer than the buffer of %d: %w", len(buf), ErrSDUTooLarge)
	case n == 0:
		return 0, fmt.Errorf("ble: read: %w", ErrLinkClosed)
	}
	return n, nil
}

// WriteSDU implements [Conn].
func (c *SocketConn) WriteSDU(ctx context.Context, sdu []byte) error {
	if c.sendMTU > 0 && len(sdu) > c.sendMTU {
		return fmt.Errorf("ble: write: SDU of %d bytes over the MTU of %d: %w", len(sdu), c.sendMTU, ErrSDUTooLarge)
	}
	var werr error
	err := withContext(ctx, c.f.SetWriteDeadline, func() error {
		return c.rc.Write(func(fd uintptr) bool {
			_, werr = unix.Write(int(fd), sdu)
			return werr != unix.EAGAIN
		})
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return c.error(ctx, "write", err)
	}
	return nil
}

// Close closes the socket, which disconnects the channel.
func (c *SocketConn) Close() error {
	c.closed.Store(true)
	if err := c.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("ble: close: %w", err)
	}
	return nil
}

// withContext runs op, a poller-backed operation, with the deadline of ctx
// and a cancellation of ctx turned into an expired deadline, and waits for
// the cancellation to have run before it returns, so a late one cannot cut
// short a later operation.
func withContext(ctx context.Context, setDeadline func(time.Time) error, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, _ := ctx.Deadline()
	if err := setDeadline(d); err != nil {
		return err
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		setDeadline(time.Unix(1, 0))
		close(done)
	})
	err := op()
	if !stop() {
		<-done
	}
	return err
}

// error is socketError, with every failure after Close a closed link.
func (c *SocketConn) error(ctx context.Context, op string, err error) error {
	if c.closed.Load() {
		return fmt.Errorf("ble: %s: %w (%w)", op, ErrLinkClosed, err)
	}
	return socketError(ctx, op, err)
}

// socketError turns an error of a socket call into the package's: the
// context's error when the deadline it set expired, ErrLinkClosed for a
// closed socket or a link that went, ErrSDUTooLarge for EMSGSIZE.
func socketError(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("ble: %s: %w", op, cerr)
		}
		return fmt.Errorf("ble: %s: %w", op, context.DeadlineExceeded)
	case errors.Is(err, os.ErrClosed), errors.Is(err, unix.ECONNRESET), errors.Is(err, unix.ENOTCONN),
		errors.Is(err, unix.EPIPE), errors.Is(err, unix.ECONNABORTED), errors.Is(err, unix.EHOSTDOWN),
		errors.Is(err, unix.ETIMEDOUT), errors.Is(err, unix.ESHUTDOWN), errors.Is(err, unix.EBADF):
		return fmt.Errorf("ble: %s: %w (%w)", op, ErrLinkClosed, err)
	case errors.Is(err, unix.EMSGSIZE):
		return fmt.Errorf("ble: %s: %w (%w)", op, ErrSDUTooLarge, err)
	}
	return fmt.Errorf("ble: %s: %w", op, err)
}
