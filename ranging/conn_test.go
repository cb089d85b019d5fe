package ranging

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// errMemClosed is what a memConn returns once either end closed it.
var errMemClosed = errors.New("memConn closed")

type memMessage struct {
	id      byte
	payload []byte
}

// memConn is one end of an in-memory Conn pair: each message is handed
// over whole, as the BLE link does. The link itself (transport/ble's
// RangingLink) is tested over a BLE pipe in ble_test.go.
type memConn struct {
	in, out chan memMessage
	done    chan struct{}
	once    *sync.Once
}

func memConns(t *testing.T) (vehicleEnd, deviceEnd *memConn) {
	t.Helper()
	ab, ba := make(chan memMessage, 1), make(chan memMessage, 1)
	done, once := make(chan struct{}), new(sync.Once)
	a := &memConn{in: ba, out: ab, done: done, once: once}
	b := &memConn{in: ab, out: ba, done: done, once: once}
	t.Cleanup(func() { a.Close() })
	return a, b
}

func (c *memConn) Close() { c.once.Do(func() { close(c.done) }) }

func (c *memConn) SendRanging(ctx context.Context, id byte, payload []byte) error {
	select {
	case c.out <- memMessage{id, append([]byte(nil), payload...)}:
		return nil
	case <-c.done:
		return errMemClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *memConn) ReceiveRanging(ctx context.Context, dst []byte) (byte, []byte, error) {
	select {
	case m := <-c.in:
		return m.id, append(dst, m.payload...), nil
	case <-c.done:
		return 0, dst, errMemClosed
	case <-ctx.Done():
		return 0, dst, ctx.Err()
	}
}

// TestRunOverConn runs the setup, a suspend, a recovery and a configurable
// recovery over a Conn.
func TestRunOverConn(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 3)
	conn, de := memConns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- b.d.Serve(ctx, de) }()

	s, err := b.v.Run(ctx, conn, testSession)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if s.State() != StateEstablished || b.d.Session() == nil {
		t.Fatalf("after Run: vehicle %v, device session %v", s.State(), b.d.Session())
	}
	if err := b.v.Request(ctx, conn, b.v.Suspend); err != nil {
		t.Fatalf("suspend: %v", err)
	}
	if s.State() != StateSuspended {
		t.Errorf("state %v after suspend", s.State())
	}
	if err := b.v.Request(ctx, conn, b.v.Recover); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if err := b.v.Request(ctx, conn, func(dst []byte) (MessageID, []byte, error) { return b.v.RecoverWith(dst, 3) }); err != nil {
		t.Fatalf("configurable recovery: %v", err)
	}
	if s.State() != StateRecovered || s.Params().RANMultiplier != 3 {
		t.Errorf("state %v, RAN %d after configurable recovery", s.State(), s.Params().RANMultiplier)
	}
	checkSameKeys(t, s, b.d.Session())
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve after cancel = %v, want context.Canceled", err)
	}
}

// TestRunSilentDevice checks that a device that never answers ends the run
// at the context's deadline instead of hanging.
func TestRunSilentDevice(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 1)
	conn, de := memConns(t)
	go func() {
		for {
			if _, _, err := de.ReceiveRanging(context.Background(), nil); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.v.Run(ctx, conn, testSession); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run against a silent device = %v, want context.DeadlineExceeded", err)
	}
}

// TestServeFailure checks that a device without the URSK stops serving with
// the key store's error and that the vehicle sees the link's error.
func TestServeFailure(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 1)
	b.dkeys.Revoke(testSession)
	conn, de := memConns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		err := b.d.Serve(ctx, de)
		de.Close()
		served <- err
	}()
	if _, err := b.v.Run(ctx, conn, testSession); !errors.Is(err, errMemClosed) {
		t.Errorf("Run = %v, want the link's error", err)
	}
	if err := <-served; !errors.Is(err, ErrRangingKeyRevoked) {
		t.Errorf("Serve = %v, want ErrRangingKeyRevoked", err)
	}
}

// TestReceiveChecks checks what the drivers refuse from a Conn: an ID that
// names no ranging message (a global ID the link should have mapped
// included) and a payload over MaxPayload.
func TestReceiveChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    memMessage
	}{
		{"unknown ID", memMessage{0x0D, nil}},
		{"global ID", memMessage{0x12, make([]byte, 5)}},
		{"oversize", memMessage{byte(MsgSuspendRQ), make([]byte, MaxPayload+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, Capabilities{}, Capabilities{}, 1)
			conn, de := memConns(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := conn.SendRanging(ctx, tc.m.id, tc.m.payload); err != nil {
				t.Fatal(err)
			}
			if err := b.d.Serve(ctx, de); !errors.Is(err, ErrMalformed) {
				t.Errorf("Serve = %v, want ErrMalformed", err)
			}
			if b.d.Session() != nil {
				t.Errorf("a refused message left a session")
			}
		})
	}
}
