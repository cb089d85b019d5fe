package ranging

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func pipeConns(t *testing.T) (vehicleEnd, deviceEnd net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestRunOverStream runs the setup, a suspend, a recovery and a
// configurable recovery over a byte stream with the DK message framing.
func TestRunOverStream(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 3)
	ve, de := pipeConns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- b.d.Serve(ctx, NewStreamConn(de)) }()

	conn := NewStreamConn(ve)
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
	conn.Numbering = NumberingGlobal
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
	ve, de := pipeConns(t)
	go func() { _, _ = io.Copy(io.Discard, de) }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.v.Run(ctx, NewStreamConn(ve), testSession); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run against a silent device = %v, want context.DeadlineExceeded", err)
	}
	// The stream still works with a new context: the deadline was lifted.
	go func() {
		var buf [4]byte
		_, _ = io.ReadFull(de, buf[:])
	}()
	if err := NewStreamConn(ve).WriteMessage(context.Background(), MsgSuspendRQ, nil); err != nil {
		t.Errorf("WriteMessage after a timed-out read = %v", err)
	}
}

// TestServeFailure checks that a device without the URSK stops serving with
// the key store's error and that the vehicle sees the connection close.
func TestServeFailure(t *testing.T) {
	b := newBench(t, Capabilities{}, Capabilities{}, 1)
	b.dkeys.Revoke(testSession)
	ve, de := pipeConns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		err := b.d.Serve(ctx, NewStreamConn(de))
		de.Close()
		served <- err
	}()
	if _, err := b.v.Run(ctx, NewStreamConn(ve), testSession); !errors.Is(err, ErrConnClosed) {
		t.Errorf("Run = %v, want ErrConnClosed", err)
	}
	if err := <-served; !errors.Is(err, ErrRangingKeyRevoked) {
		t.Errorf("Serve = %v, want ErrRangingKeyRevoked", err)
	}
}

// rw is an io.ReadWriter over fixed input that records output.
type rw struct {
	r io.Reader
	w bytes.Buffer
}

func (x *rw) Read(p []byte) (int, error)  { return x.r.Read(p) }
func (x *rw) Write(p []byte) (int, error) { return x.w.Write(p) }

func TestStreamConnFraming(t *testing.T) {
	ctx := context.Background()
	s := &rw{r: bytes.NewReader(nil)}
	c := NewStreamConn(s)
	rq := SuspendRequest{SessionID: SessionID{0xA1, 0xB2, 0xC3, 0xD4}}
	if err := c.WriteMessage(ctx, MsgSuspendRQ, rq.Append(nil)); err != nil {
		t.Fatal(err)
	}
	c.Numbering = NumberingGlobal
	crq := ConfigurableRecoveryRequest{SessionID: rq.SessionID, RANMultiplier: 2}
	if err := c.WriteMessage(ctx, MsgConfigurableRecoveryRQ, crq.Append(nil)); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "02 07 0004 a1b2c3d4  02 12 0005 a1b2c3d4 02")
	if !bytes.Equal(s.w.Bytes(), want) {
		t.Errorf("frames = %x, want %x", s.w.Bytes(), want)
	}
	if err := c.WriteMessage(ctx, MsgSuspendRQ, make([]byte, MaxPayload+1)); err == nil {
		t.Errorf("WriteMessage of an oversize payload succeeded")
	}

	r := NewStreamConn(&rw{r: bytes.NewReader(want)})
	for _, wid := range []MessageID{MsgSuspendRQ, MsgConfigurableRecoveryRQ} {
		id, payload, err := r.ReadMessage(ctx, nil)
		if err != nil || id != wid {
			t.Fatalf("ReadMessage = %v, %x, %v, want %v", id, payload, err, wid)
		}
		if _, err := ParseMessage(id, payload); err != nil {
			t.Errorf("%v payload %x: %v", id, payload, err)
		}
	}
	if _, _, err := r.ReadMessage(ctx, nil); !errors.Is(err, ErrConnClosed) {
		t.Errorf("ReadMessage at the end = %v, want ErrConnClosed", err)
	}
	for _, tc := range []struct{ name, hex string }{
		{"type 1", "01 07 0004 a1b2c3d4"},
		{"unknown ID", "02 0d 0000"},
		{"oversize", "02 01 0041"},
	} {
		r := NewStreamConn(&rw{r: bytes.NewReader(unhex(t, tc.hex))})
		if _, _, err := r.ReadMessage(ctx, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ReadMessage = %v, want ErrMalformed", tc.name, err)
		}
	}
	r = NewStreamConn(&rw{r: bytes.NewReader(unhex(t, "02 07 0004 a1b2"))})
	if _, _, err := r.ReadMessage(ctx, nil); !errors.Is(err, ErrConnClosed) {
		t.Errorf("truncated frame: %v, want ErrConnClosed", err)
	}
}

// FuzzStreamConn feeds arbitrary bytes to the frame reader: nothing panics,
// errors are typed, and every message read re-frames to its input bytes.
func FuzzStreamConn(f *testing.F) {
	f.Add(unhex(f, "02 07 0004 a1b2c3d4  02 12 0005 a1b2c3d4 02"))
	f.Add(unhex(f, "02 01 0008 02 0100 02 0001 01 12"))
	f.Add(unhex(f, "01 07 0004 a1b2c3d4"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewStreamConn(&rw{r: bytes.NewReader(b)})
		var consumed int
		for {
			id, payload, err := r.ReadMessage(context.Background(), nil)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrConnClosed) {
					t.Fatalf("ReadMessage: %v is neither ErrMalformed nor ErrConnClosed", err)
				}
				return
			}
			frame := b[consumed : consumed+4+len(payload)]
			consumed += len(frame)
			if frame[1] != byte(id) && frame[1] != NumberingGlobal.Wire(id) {
				t.Fatalf("frame %x read as %v", frame, id)
			}
			if !bytes.Equal(frame[4:], payload) {
				t.Fatalf("frame %x: payload %x", frame, payload)
			}
		}
	})
}
