package transporttest

import (
	"context"
	"fmt"
	"sync"

	"github.com/opencarkey/sdk/transport"
)

// HandlerFunc adapts a function to [transport.Card]: it appends the
// response APDU to dst and returns the extended slice.
type HandlerFunc func(dst, cmd []byte) []byte

// ProcessAPDU calls f(dst, command).
func (f HandlerFunc) ProcessAPDU(dst, command []byte) []byte { return f(dst, command) }

var _ transport.Card = HandlerFunc(nil)

// poison is the byte Card writes over the buffers it lent the inner card.
const poison = 0xEE

// Card is an in-memory card: a [transport.Transceiver] that hands every
// command APDU to a [transport.Card] in the same goroutine, as a reader
// with the card in its field would.
//
// It copies the command before the card sees it and the response before the
// caller does, and after each exchange overwrites the buffers it lent the
// card, so a card that keeps command or dst, or a caller that keeps a lent
// buffer, shows up as corrupted data in tests.
//
// Transceive is meant for one goroutine, like every Transceiver; Remove and
// Insert may be called from any goroutine and wait for an exchange under way.
type Card struct {
	mu      sync.Mutex
	card    transport.Card
	opts    options
	left    int // exchanges before the card leaves; < 0 never
	removed bool
	cbuf    []byte
	rbuf    []byte
}

var _ transport.Transceiver = (*Card)(nil)

type options struct {
	maxCommand  int
	removeAfter int
}

// Option configures a [Card].
type Option func(*options)

// MaxCommandLen makes the simulated reader refuse command APDUs longer than
// n bytes with an error wrapping [transport.ErrProtocol], as a reader
// without extended-length support does for anything above 261 bytes. Zero or
// less means no limit.
func MaxCommandLen(n int) Option { return func(o *options) { o.maxCommand = n } }

// RemoveAfter removes the card after n exchanges: the next one fails as
// after [Card.Remove]. It simulates a phone pulled away in the middle of a
// protocol run. A negative n means never, the default.
func RemoveAfter(n int) Option { return func(o *options) { o.removeAfter = n } }

// NewCard returns an in-memory card in the field of a simulated reader,
// answering with c.
func NewCard(c transport.Card, opts ...Option) *Card {
	o := options{removeAfter: -1}
	for _, opt := range opts {
		opt(&o)
	}
	return &Card{card: c, opts: o, left: o.removeAfter}
}

// Transceive hands a copy of command to the card and appends a copy of its
// response to dst. It fails with an error wrapping the context's error when
// ctx has ended, [transport.ErrCardRemoved] when the card has been removed,
// and [transport.ErrProtocol] when the command is longer than the
// [MaxCommandLen] limit or the card answered with fewer than two bytes.
func (c *Card) Transceive(ctx context.Context, dst, command []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, fmt.Errorf("transporttest: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left == 0 {
		c.remove()
	}
	if c.removed {
		return dst, fmt.Errorf("transporttest: %w", transport.ErrCardRemoved)
	}
	if c.left > 0 {
		c.left--
	}
	if c.opts.maxCommand > 0 && len(command) > c.opts.maxCommand {
		return dst, fmt.Errorf("transporttest: command of %d bytes over the reader's %d: %w",
			len(command), c.opts.maxCommand, transport.ErrProtocol)
	}
	c.cbuf = append(c.cbuf[:0], command...)
	resp := c.card.ProcessAPDU(c.rbuf[:0], c.cbuf)
	c.rbuf = resp
	fill(c.cbuf)
	if len(resp) < 2 {
		fill(resp)
		return dst, fmt.Errorf("transporttest: card answered %d bytes: %w", len(resp), transport.ErrProtocol)
	}
	dst = append(dst, resp...)
	fill(resp)
	return dst, nil
}

func fill(b []byte) {
	for i := range b {
		b[i] = poison
	}
}

// Remove takes the card out of the field: it resets the card if it
// implements [transport.Resetter], and every Transceive fails with an error
// wrapping [transport.ErrCardRemoved] until [Card.Insert].
func (c *Card) Remove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove()
}

func (c *Card) remove() {
	if c.removed {
		return
	}
	c.removed, c.left = true, -1
	if r, ok := c.card.(transport.Resetter); ok {
		r.Reset()
	}
}

// Insert brings a removed card back into the field, for a new session.
func (c *Card) Insert() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed = false
}
