package ranging

import (
	"context"
)

// Conn carries ranging messages between the two sides: on a Release 3
// link, DK messages of type 2 (docs/protocol.md §8.3), which transport/ble's
// RangingLink sends and receives over its DK message codec, so that the
// message header and the two message-ID numberings are encoded in one
// place. The methods use plain bytes so that a link implements Conn
// without importing this package.
//
// SendRanging sends one message: id is the message ID in the per-type
// numbering, the value of its [MessageID]; the link puts it on the wire in
// the numbering it is configured for. ReceiveRanging receives the next
// ranging message, appends its payload to dst and returns its per-type ID
// (the link maps the global numbering's IDs back). Both honour ctx and
// fail with the link's errors; one goroutine receives and one sends at a
// time.
type Conn interface {
	SendRanging(ctx context.Context, id byte, payload []byte) error
	ReceiveRanging(ctx context.Context, dst []byte) (byte, []byte, error)
}

// MaxPayload bounds the payload of a ranging message: the largest, a
// capability request with full lists, is 43 bytes. The drivers below keep
// their buffers this size.
const MaxPayload = 64

// send sends one message over conn.
func send(ctx context.Context, conn Conn, id MessageID, payload []byte) error {
	return conn.SendRanging(ctx, byte(id), payload)
}

// receive reads the next message from conn and checks its ID: an ID that
// names no ranging message, or a payload over MaxPayload, is an error
// wrapping [ErrMalformed].
func receive(ctx context.Context, conn Conn, dst []byte) (MessageID, []byte, error) {
	b, payload, err := conn.ReceiveRanging(ctx, dst)
	if err != nil {
		return 0, dst, err
	}
	id, err := ParseMessageID(b)
	if err != nil {
		return 0, dst, err
	}
	if n := len(payload) - len(dst); n > MaxPayload {
		return 0, dst, malformed("%v of %d bytes, limit %d", id, n, MaxPayload)
	}
	return id, payload, nil
}

// exchange sends one message and reads the answer.
func exchange(ctx context.Context, conn Conn, id MessageID, payload, buf []byte) (MessageID, []byte, error) {
	if err := send(ctx, conn, id, payload); err != nil {
		return 0, buf, err
	}
	return receive(ctx, conn, buf[:0])
}

// Run runs the vehicle's side of the ranging setup of session id over conn
// and returns the established session.
func (v *Vehicle) Run(ctx context.Context, conn Conn, id SessionID) (*Session, error) {
	var out, in [MaxPayload]byte
	mid, msg, err := v.Start(out[:0], id)
	for err == nil && mid != 0 {
		var rid MessageID
		var rsp []byte
		rid, rsp, err = exchange(ctx, conn, mid, msg, in[:0])
		if err != nil {
			break
		}
		mid, msg, err = v.Handle(out[:0], rid, rsp)
	}
	if err != nil {
		return nil, err
	}
	return v.session, nil
}

// Request sends a vehicle request built by [Vehicle.Suspend],
// [Vehicle.Recover] or [Vehicle.RecoverWith] over conn and applies the
// device's answer. build is one of those methods.
func (v *Vehicle) Request(ctx context.Context, conn Conn, build func(dst []byte) (MessageID, []byte, error)) error {
	var out, in [MaxPayload]byte
	mid, msg, err := build(out[:0])
	if err != nil {
		return err
	}
	rid, rsp, err := exchange(ctx, conn, mid, msg, in[:0])
	if err != nil {
		return err
	}
	_, _, err = v.Handle(out[:0], rid, rsp)
	return err
}

// Serve answers the vehicle's messages on conn until ctx ends, the
// connection fails, or a message fails; it returns that error. It owns d
// while it runs.
func (d *Device) Serve(ctx context.Context, conn Conn) error {
	var out, in [MaxPayload]byte
	for {
		id, msg, err := receive(ctx, conn, in[:0])
		if err != nil {
			return err
		}
		rid, rsp, err := d.Handle(out[:0], id, msg)
		if err != nil {
			return err
		}
		if rid != 0 {
			if err := send(ctx, conn, rid, rsp); err != nil {
				return err
			}
		}
	}
}
