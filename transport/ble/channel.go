package ble

import (
	"context"
	"fmt"
	"sync"
)

// Config configures a [Channel]. The zero value works: per-type numbering,
// SDUs up to DefaultMaxSDU.
type Config struct {
	// Numbering is the message-ID numbering of the messages the channel
	// sends; the zero value is PerType ([NXPDK]). Both are accepted on
	// receive (docs/protocol.md §11 row 5).
	Numbering Numbering
	// MaxSDU is the largest SDU the channel receives: the MTU this side
	// announces. Zero or less means DefaultMaxSDU; more than MaxMessageLen
	// means MaxMessageLen.
	MaxSDU int
}

// Channel carries DK messages over a [Conn], one message per SDU (§8.2,
// §8.3). It reuses one receive and one send buffer: a received Message is
// valid until the next Receive.
//
// Send may be called from several goroutines, and while another goroutine
// receives; Receive is for one goroutine at a time. A message that does not
// parse is reported by Receive and dropped; the channel stays usable.
type Channel struct {
	conn Conn
	num  Numbering
	rbuf []byte

	wmu  sync.Mutex
	wbuf []byte
}

// NewChannel returns a Channel over conn. cfg may be nil; the channel reads
// it once.
func NewChannel(conn Conn, cfg *Config) *Channel {
	if cfg == nil {
		cfg = &Config{}
	}
	n := cfg.MaxSDU
	switch {
	case n <= 0:
		n = DefaultMaxSDU
	case n > MaxMessageLen:
		n = MaxMessageLen
	}
	return &Channel{conn: conn, num: cfg.Numbering, rbuf: make([]byte, n), wbuf: make([]byte, 0, n)}
}

// Numbering returns the numbering the channel sends with.
func (c *Channel) Numbering() Numbering { return c.num }

// Send sends one message of kind k with data, numbered as configured. It
// fails with the errors of [Message.Append] and of [Conn.WriteSDU]: an
// error wrapping [ErrLinkClosed] when the link is gone.
func (c *Channel) Send(ctx context.Context, k Kind, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	m := Message{Kind: k, Numbering: c.num, Data: data}
	b, err := m.Append(c.wbuf[:0])
	if err != nil {
		return err
	}
	c.wbuf = b[:0]
	return c.conn.WriteSDU(ctx, b)
}

// Receive waits for the next message. The message's Data aliases the
// channel's buffer until the next Receive. It fails with the errors of
// [Conn.ReadSDU] and of [ParseMessage]; after a parse error the channel
// stays usable.
func (c *Channel) Receive(ctx context.Context) (Message, error) {
	n, err := c.conn.ReadSDU(ctx, c.rbuf)
	if err != nil {
		return Message{}, err
	}
	m, err := ParseMessage(c.rbuf[:n])
	if err != nil {
		return Message{}, fmt.Errorf("ble: receive: %w", err)
	}
	return m, nil
}

// Expect receives the next message and checks that it is of kind want; a
// message of another kind is dropped and reported with an
// *UnexpectedMessageError. It suits a run whose next message is known, such
// as the RKE_Auth_RS after an RKE_Auth_RQ.
func (c *Channel) Expect(ctx context.Context, want Kind) (Message, error) {
	m, err := c.Receive(ctx)
	if err != nil {
		return Message{}, err
	}
	if m.Kind != want {
		return Message{}, &UnexpectedMessageError{Want: want, Got: m.Kind}
	}
	return m, nil
}

// Close closes the underlying connection: the link ends for both sides.
func (c *Channel) Close() error { return c.conn.Close() }
