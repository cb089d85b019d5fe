package ble

import (
	"context"
	"fmt"
	"sync"
)

// MaxRangingData bounds the data of a ranging message a [RangingLink]
// accepts: the largest message of §8.4, a capability request with full
// lists, is 43 bytes (package ranging's MaxPayload).
const MaxRangingData = 64

// RangingKind returns the DK message of type 2 (UWB ranging service, §8.4)
// whose per-type message ID is id: the value of package ranging's
// MessageID. It fails with an error wrapping [ErrUnknownID] for any other
// value, global IDs included: the per-type ID names the message, the
// channel's numbering puts it on the wire.
func RangingKind(id byte) (Kind, error) {
	for k := Kind(1); k < numKinds; k++ {
		if kinds[k].typ == TypeRanging && kinds[k].perType == id {
			return k, nil
		}
	}
	return 0, fmt.Errorf("ble: ranging message ID %02X: %w", id, ErrUnknownID)
}

// RangingLinkConfig configures a [RangingLink]. The zero value works: the
// link reads the channel itself and refuses other messages.
type RangingLinkConfig struct {
	// Fed makes the link receive only what Deliver hands it, instead of
	// reading the channel: the device's side, where [Serve] reads every
	// message of the link and its ServerConfig.Handle passes those of type
	// 2 to Deliver.
	Fed bool
	// Unsolicited receives every other message that arrives while
	// ReceiveRanging reads the channel (an event notification, a time
	// sync), as TunnelConfig.Unsolicited does. Nil means such a message
	// fails the receive with an *UnexpectedMessageError.
	Unsolicited func(ctx context.Context, m Message) error
}

// RangingLink carries the messages of the UWB ranging service (§8.4) as
// DK messages of type 2 over a [Channel]: the header and the two
// message-ID numberings are those of the package's codec, and the channel's
// Config.Numbering decides which ID goes on the wire (Configurable_Ranging
// _Recovery is 0B/0C per type, 12/13 global; both are accepted). It
// implements package ranging's Conn, whose methods take per-type message
// IDs as bytes, so that neither package imports the other:
//
//	link := ble.NewRangingLink(ch, nil)      // the vehicle
//	session, err := rangingVehicle.Run(ctx, link, sessionID)
//
// On the device, whose [Serve] loop owns the channel, a fed link takes the
// ranging messages from ServerConfig.Handle:
//
//	link := ble.NewRangingLink(ch, &ble.RangingLinkConfig{Fed: true})
//	go rangingDevice.Serve(ctx, link)
//	handle := func(ctx context.Context, m ble.Message) error {
//		if m.Kind.Type() == ble.TypeRanging {
//			return link.Deliver(ctx, m)
//		}
//		…
//	}
//
// One goroutine receives and one sends at a time, as on a Channel.
type RangingLink struct {
	ch          *Channel
	unsolicited func(context.Context, Message) error

	// The inbox of a fed link: delivered messages, copied, and closed by
	// Close.
	fed    bool
	inbox  chan rangingMessage
	done   chan struct{}
	closed sync.Once
}

type rangingMessage struct {
	id   byte
	n    int
	data [MaxRangingData]byte
}

// rangingInbox is how many delivered messages a fed link holds before
// Deliver waits: the ranging setup has one message in flight at a time.
const rangingInbox = 2

// NewRangingLink returns a RangingLink over ch. cfg may be nil; the link
// reads it once.
func NewRangingLink(ch *Channel, cfg *RangingLinkConfig) *RangingLink {
	if cfg == nil {
		cfg = &RangingLinkConfig{}
	}
	l := &RangingLink{ch: ch, unsolicited: cfg.Unsolicited, fed: cfg.Fed, done: make(chan struct{})}
	if l.fed {
		l.inbox = make(chan rangingMessage, rangingInbox)
	}
	return l
}

// SendRanging sends the ranging message whose per-type ID is id with
// payload, numbered as the channel is configured. It fails with an error
// wrapping [ErrUnknownID] for an ID of no ranging message, with
// [ErrTooLarge] for a payload over MaxRangingData, and with the channel's
// errors ([ErrLinkClosed] once the link is gone).
func (l *RangingLink) SendRanging(ctx context.Context, id byte, payload []byte) error {
	k, err := RangingKind(id)
	if err != nil {
		return err
	}
	if len(payload) > MaxRangingData {
		return fmt.Errorf("ble: %v with %d bytes of data, limit %d: %w", k, len(payload), MaxRangingData, ErrTooLarge)
	}
	return l.ch.Send(ctx, k, payload)
}

// ReceiveRanging waits for the next ranging message, appends its data to
// dst and returns its per-type message ID, whichever numbering it arrived
// in. Data over MaxRangingData is refused with an error wrapping
// [ErrMalformed], and the message dropped. A link that reads the channel
// hands other messages to the configured Unsolicited function, or fails
// with an *UnexpectedMessageError; a fed link fails with [ErrLinkClosed]
// once closed.
func (l *RangingLink) ReceiveRanging(ctx context.Context, dst []byte) (byte, []byte, error) {
	if l.fed {
		select {
		case m := <-l.inbox:
			return m.id, append(dst, m.data[:m.n]...), nil
		case <-l.done:
			return 0, dst, fmt.Errorf("ble: ranging: %w", ErrLinkClosed)
		case <-ctx.Done():
			return 0, dst, fmt.Errorf("ble: ranging: %w", ctx.Err())
		}
	}
	for {
		m, err := l.ch.Receive(ctx)
		if err != nil {
			return 0, dst, err
		}
		if m.Kind.Type() == TypeRanging {
			if len(m.Data) > MaxRangingData {
				return 0, dst, fmt.Errorf("ble: %v with %d bytes of data, limit %d: %w", m.Kind, len(m.Data), MaxRangingData, ErrMalformed)
			}
			return m.Kind.ID(PerType), append(dst, m.Data...), nil
		}
		if l.unsolicited == nil {
			return 0, dst, &UnexpectedMessageError{Want: KindRangingCapabilityRQ, Got: m.Kind}
		}
		if err := l.unsolicited(ctx, m); err != nil {
			return 0, dst, err
		}
	}
}

// Deliver hands a fed link the ranging message m, which it copies: the
// device's ServerConfig.Handle calls it for every message of type 2. It
// waits while the link holds undelivered messages, and fails with an
// error wrapping [ErrMalformed] for a message of another type or data
// over MaxRangingData, with [ErrLinkClosed] once the link is closed, and
// with the context's error. A link that reads the channel itself refuses
// every delivery.
func (l *RangingLink) Deliver(ctx context.Context, m Message) error {
	if !l.fed {
		return fmt.Errorf("ble: delivery to a ranging link that reads its channel: %w", ErrUnsupported)
	}
	if m.Kind.Type() != TypeRanging || len(m.Data) > MaxRangingData {
		return fmt.Errorf("ble: %v with %d bytes of data on the ranging link: %w", m.Kind, len(m.Data), ErrMalformed)
	}
	rm := rangingMessage{id: m.Kind.ID(PerType), n: len(m.Data)}
	copy(rm.data[:], m.Data)
	select {
	case <-l.done:
		return fmt.Errorf("ble: ranging: %w", ErrLinkClosed)
	default:
	}
	select {
	case l.inbox <- rm:
		return nil
	case <-l.done:
		return fmt.Errorf("ble: ranging: %w", ErrLinkClosed)
	case <-ctx.Done():
		return fmt.Errorf("ble: ranging: %w", ctx.Err())
	}
}

// Close ends a fed link: a receive under way and every later one fail
// with [ErrLinkClosed]. The channel is not closed (it is the Serve loop's
// or the caller's). Closing twice is not an error.
func (l *RangingLink) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}
