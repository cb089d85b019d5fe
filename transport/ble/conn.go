package ble

import (
	"context"
	"fmt"
	"sync"
)

// Conn is one LE credit-based L2CAP connection-oriented channel seen as a
// sequence of SDUs: each call moves one whole SDU, and one SDU carries one
// DK message (§8.2; the one-message-per-SDU mapping is N). The Linux
// adapter ([SocketConn]) and the in-process pair ([Pipe]) implement it.
//
// ReadSDU reads the next SDU into buf and returns its length. An SDU longer
// than buf is dropped and reported with an error wrapping [ErrSDUTooLarge];
// the link stays usable. WriteSDU sends sdu as one SDU, and fails with
// [ErrSDUTooLarge] when sdu is longer than the peer accepts. Both fail with
// an error wrapping [ErrLinkClosed] once the link is gone (closed by either
// side or dropped), and with one wrapping the context's error when ctx ends
// first; neither keeps buf or sdu after it returns.
//
// One goroutine may read while another writes; two concurrent reads or two
// concurrent writes are not allowed. Close ends the link for both sides and
// unblocks every call under way; it may be called more than once.
type Conn interface {
	ReadSDU(ctx context.Context, buf []byte) (int, error)
	WriteSDU(ctx context.Context, sdu []byte) error
	Close() error
}

// DefaultMaxSDU is the largest SDU a [Pipe] carries and a [Channel]
// receives when no size is configured. The public sources do not give the
// MTU of the DK channel; 1024 bytes holds every short APDU and response
// with room for the supplementary messages (project choice).
const DefaultMaxSDU = 1024

// DefaultCredits is the number of SDUs a [Pipe] buffers in each direction:
// the credits one side grants the other.
const DefaultCredits = 4

// PipeConn is one end of an in-process L2CAP channel made by [Pipe]. It
// keeps the semantics of an LE credit-based channel: SDU boundaries, an MTU,
// a bounded number of SDUs in flight per direction (a sender without
// credits waits), and a disconnect that either side causes and both see.
// SDUs still queued when the link closes are lost, as on a real link.
type PipeConn struct {
	rx, tx *pipeQueue
	link   *pipeLink
	maxSDU int
}

type pipeQueue struct {
	free chan []byte // credits: empty buffers of maxSDU bytes
	full chan []byte // SDUs in flight
}

type pipeLink struct {
	once sync.Once
	done chan struct{}
}

var _ Conn = (*PipeConn)(nil)

func newPipeQueue(maxSDU, credits int) *pipeQueue {
	q := &pipeQueue{free: make(chan []byte, credits), full: make(chan []byte, credits)}
	for range credits {
		q.free <- make([]byte, 0, maxSDU)
	}
	return q
}

// Pipe returns the two ends of an in-process L2CAP channel whose SDUs are
// at most maxSDU bytes (DefaultMaxSDU when maxSDU ≤ 0), with DefaultCredits
// SDUs buffered in each direction. Moving an SDU copies it twice and
// allocates nothing.
func Pipe(maxSDU int) (*PipeConn, *PipeConn) {
	if maxSDU <= 0 {
		maxSDU = DefaultMaxSDU
	}
	ab, ba := newPipeQueue(maxSDU, DefaultCredits), newPipeQueue(maxSDU, DefaultCredits)
	link := &pipeLink{done: make(chan struct{})}
	return &PipeConn{rx: ba, tx: ab, link: link, maxSDU: maxSDU}, &PipeConn{rx: ab, tx: ba, link: link, maxSDU: maxSDU}
}

// MaxSDU returns the largest SDU the pipe carries.
func (c *PipeConn) MaxSDU() int { return c.maxSDU }

// ReadSDU implements [Conn].
func (c *PipeConn) ReadSDU(ctx context.Context, buf []byte) (int, error) {
	select {
	case <-c.link.done:
		return 0, fmt.Errorf("ble: read: %w", ErrLinkClosed)
	default:
	}
	select {
	case b := <-c.rx.full:
		n := copy(buf, b)
		tooLarge := len(b) > len(buf)
		c.rx.free <- b[:0]
		if tooLarge {
			return 0, fmt.Errorf("ble: read: SDU of %d bytes, buffer of %d: %w", len(b), len(buf), ErrSDUTooLarge)
		}
		return n, nil
	case <-c.link.done:
		return 0, fmt.Errorf("ble: read: %w", ErrLinkClosed)
	case <-ctx.Done():
		return 0, fmt.Errorf("ble: read: %w", ctx.Err())
	}
}

// WriteSDU implements [Conn].
func (c *PipeConn) WriteSDU(ctx context.Context, sdu []byte) error {
	if len(sdu) > c.maxSDU {
		return fmt.Errorf("ble: write: SDU of %d bytes over the MTU of %d: %w", len(sdu), c.maxSDU, ErrSDUTooLarge)
	}
	select {
	case <-c.link.done:
		return fmt.Errorf("ble: write: %w", ErrLinkClosed)
	default:
	}
	select {
	case b := <-c.tx.free:
		// full has room for every credit, so this send never blocks.
		c.tx.full <- append(b, sdu...)
		return nil
	case <-c.link.done:
		return fmt.Errorf("ble: write: %w", ErrLinkClosed)
	case <-ctx.Done():
		return fmt.Errorf("ble: write: %w", ctx.Err())
	}
}

// Close disconnects the link for both ends.
func (c *PipeConn) Close() error {
	c.link.once.Do(func() { close(c.link.done) })
	return nil
}
