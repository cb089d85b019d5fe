package vpcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
)

// echoCard answers SELECT (00 A4) with 9000, echoes the rest of any other
// command after its 4-byte header, and counts resets.
type echoCard struct {
	resets atomic.Int32
	calls  atomic.Int32
}

func (c *echoCard) ProcessAPDU(dst, cmd []byte) []byte {
	c.calls.Add(1)
	if len(cmd) >= 2 && cmd[0] == 0x00 && cmd[1] == 0xA4 {
		return append(dst, 0x90, 0x00)
	}
	if len(cmd) < 4 {
		return append(dst, 0x67, 0x00)
	}
	return append(append(dst, cmd[4:]...), 0x90, 0x00)
}

func (c *echoCard) Reset() { c.resets.Add(1) }

// cardFunc adapts a function to transport.Card.
type cardFunc func(dst, cmd []byte) []byte

func (f cardFunc) ProcessAPDU(dst, cmd []byte) []byte { return f(dst, cmd) }

// fakeVPCD is vpcd's side of the connection: it sends frames and reads
// the card's answers.
type fakeVPCD struct {
	t    testing.TB
	conn net.Conn
}

func (v *fakeVPCD) send(payload []byte) {
	v.t.Helper()
	hdr := binary.BigEndian.AppendUint16(nil, uint16(len(payload)))
	if _, err := v.conn.Write(append(hdr, payload...)); err != nil {
		v.t.Fatalf("vpcd write: %v", err)
	}
}

func (v *fakeVPCD) recv() []byte {
	v.t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(v.conn, hdr[:]); err != nil {
		v.t.Fatalf("vpcd read: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(v.conn, b); err != nil {
		v.t.Fatalf("vpcd read: %v", err)
	}
	return b
}

func (v *fakeVPCD) exchange(payload []byte) []byte {
	v.t.Helper()
	v.send(payload)
	return v.recv()
}

// servePipe runs Serve on one end of a TCP connection over loopback and
// returns vpcd's end and a channel with Serve's result.
func servePipe(t testing.TB, ctx context.Context, card transport.Card, cfg *Config) (*fakeVPCD, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			done <- err
			return
		}
		done <- Serve(ctx, conn, card, cfg)
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fakeVPCD{t: t, conn: conn}, done
}

func TestServe(t *testing.T) {
	card := &echoCard{}
	v, done := servePipe(t, t.Context(), card, nil)

	v.send([]byte{ctrlPowerOn})
	if got, want := v.exchange([]byte{ctrlATR}), []byte{0x3B, 0x80, 0x80, 0x01, 0x01}; !bytes.Equal(got, want) {
		t.Errorf("GET ATR = %x, want %x", got, want)
	}
	if got, want := v.exchange([]byte{0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA}), []byte{0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("SELECT = %x, want %x", got, want)
	}
	v.send([]byte{ctrlReset})
	v.send([]byte{ctrlPowerOff})
	v.send([]byte{0x03}) // unknown control code: ignored
	// A frame after the control codes proves they were handled in order.
	if got, want := v.exchange([]byte{0x80, 0x10, 0x00, 0x00, 0x42}), []byte{0x42, 0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("echo = %x, want %x", got, want)
	}
	if got := card.resets.Load(); got != 2 {
		t.Errorf("resets after 02 and 00 = %d, want 2", got)
	}
	// The longest frame vpcd sends.
	long := make([]byte, MaxFrame)
	for i := range long {
		long[i] = byte(i)
	}
	got := v.exchange(long)
	if want := append(bytes.Clone(long[4:]), 0x90, 0x00); !bytes.Equal(got, want) {
		t.Errorf("echo of a %d-byte frame = %d bytes, want %d", len(long), len(got), len(want))
	}

	v.conn.Close() // vpcd goes away between frames
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve() = %v, want %v", err, ErrClosed)
	}
	if got := card.resets.Load(); got != 3 {
		t.Errorf("resets after the connection ended = %d, want 3", got)
	}
}

func TestServeATR(t *testing.T) {
	atr := []byte{0x3B, 0x8A, 0x80, 0x01, 0x00, 0x31, 0xC1, 0x73, 0xC8, 0x40, 0x00, 0x00, 0x90, 0x00, 0x90}
	v, _ := servePipe(t, t.Context(), &echoCard{}, &Config{ATR: atr})
	if got := v.exchange([]byte{ctrlATR}); !bytes.Equal(got, atr) {
		t.Errorf("GET ATR = %x, want %x", got, atr)
	}
}

func TestServeBadResponses(t *testing.T) {
	tests := []struct {
		name string
		resp []byte
	}{
		{name: "empty", resp: nil},
		{name: "one byte", resp: []byte{0x90}},
		{name: "longer than a frame", resp: make([]byte, MaxFrame+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := cardFunc(func(dst, _ []byte) []byte { return append(dst, tt.resp...) })
			v, _ := servePipe(t, t.Context(), card, nil)
			if got, want := v.exchange([]byte{0x00, 0xB0, 0x00, 0x00}), []byte{0x6F, 0x00}; !bytes.Equal(got, want) {
				t.Errorf("response = %x, want %x", got, want)
			}
		})
	}
	// The longest response that fits is sent as it is.
	card := cardFunc(func(dst, _ []byte) []byte { return append(dst, make([]byte, MaxFrame)...) })
	v, _ := servePipe(t, t.Context(), card, nil)
	if got := v.exchange([]byte{0x00, 0xB0, 0x00, 0x00}); len(got) != MaxFrame {
		t.Errorf("response = %d bytes, want %d", len(got), MaxFrame)
	}
}

func TestServeBrokenFrames(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{name: "half a length", raw: []byte{0x00}},
		{name: "payload cut short", raw: []byte{0x00, 0x05, 0x00, 0xA4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := &echoCard{}
			v, done := servePipe(t, t.Context(), card, nil)
			v.conn.Write(tt.raw)
			v.conn.Close()
			err := <-done
			if !errors.Is(err, transport.ErrProtocol) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("Serve() = %v, want %v and %v", err, transport.ErrProtocol, io.ErrUnexpectedEOF)
			}
			var ve *Error
			if !errors.As(err, &ve) || ve.Op != "read" {
				t.Errorf("Serve() = %#v, want *Error{Op: read}", err)
			}
			if got := card.calls.Load(); got != 0 {
				t.Errorf("card called %d times, want 0", got)
			}
		})
	}
}

func TestServeCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	release := make(chan struct{})
	started := make(chan struct{})
	var resets atomic.Int32
	card := &resetFunc{
		card: cardFunc(func(dst, _ []byte) []byte {
			close(started)
			<-release
			return append(dst, 0x90, 0x00)
		}),
		reset: func() { resets.Add(1) },
	}
	v, done := servePipe(t, ctx, card, nil)
	v.send([]byte{0x80, 0x20, 0x00, 0x00})
	<-started
	cancel() // the card leaves the field while it works
	// vpcd sees the connection close at once, before the card returns.
	v.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := v.conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("vpcd read after cancel = %d, %v, want EOF", n, err)
	}
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve() = %v, want %v", err, context.Canceled)
	}
	if got := resets.Load(); got != 1 {
		t.Errorf("resets = %d, want 1", got)
	}
}

type resetFunc struct {
	card  transport.Card
	reset func()
}

func (r *resetFunc) ProcessAPDU(dst, cmd []byte) []byte { return r.card.ProcessAPDU(dst, cmd) }
func (r *resetFunc) Reset()                             { r.reset() }

func TestInvalidATR(t *testing.T) {
	for _, atr := range [][]byte{{}, {0x3B}, make([]byte, 34)} {
		client, server := net.Pipe()
		if err := Serve(t.Context(), client, &echoCard{}, &Config{ATR: atr}); !errors.Is(err, ErrInvalidATR) {
			t.Errorf("Serve(ATR %x) = %v, want %v", atr, err, ErrInvalidATR)
		}
		if _, err := server.Write([]byte{0}); err == nil {
			t.Errorf("Serve(ATR %x) left the connection open", atr)
		}
		if err := Run(t.Context(), "", &echoCard{}, &Config{ATR: atr}); !errors.Is(err, ErrInvalidATR) {
			t.Errorf("Run(ATR %x) = %v, want %v", atr, err, ErrInvalidATR)
		}
	}
}

// TestRun checks the reconnection policy: Run connects when vpcd starts
// listening, and again after vpcd drops the connection.
func TestRun(t *testing.T) {
	// Find a free port, and leave it closed: vpcd is not up yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var mu sync.Mutex
	var events []string
	cfg := &Config{
		RetryInterval: 10 * time.Millisecond,
		OnConnect:     func() { mu.Lock(); events = append(events, "connect"); mu.Unlock() },
		OnDisconnect: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, ErrClosed) {
				events = append(events, "closed")
			} else {
				events = append(events, "disconnect: "+err.Error())
			}
		},
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	card := &echoCard{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, addr, card, cfg) }()

	time.Sleep(50 * time.Millisecond) // a few refused attempts
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer ln.Close()
	for i := range 2 {
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		v := &fakeVPCD{t: t, conn: conn}
		if got, want := v.exchange([]byte{0x80, 0x10, 0x00, 0x00, byte(i)}), []byte{byte(i), 0x90, 0x00}; !bytes.Equal(got, want) {
			t.Errorf("connection %d: echo = %x, want %x", i, got, want)
		}
		conn.Close()
	}
	conn, err := ln.Accept() // the third connection: cancel Run while it is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	v := &fakeVPCD{t: t, conn: conn}
	v.exchange([]byte{ctrlATR})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want %v", err, context.Canceled)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"connect", "closed", "connect", "closed", "connect", "disconnect: vpcd: context canceled"}
	if len(events) != len(want) {
		t.Fatalf("events = %q, want %q", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("events = %q, want %q", events, want)
			break
		}
	}
}

func TestRunCancelWhileDialing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := Run(ctx, addr, &echoCard{}, &Config{RetryInterval: 5 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run() = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestServeAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	v, _ := servePipe(t, t.Context(), &echoCard{}, nil)
	cmd := binary.BigEndian.AppendUint16(nil, 5)
	cmd = append(cmd, 0x80, 0x10, 0x00, 0x00, 0x42)
	resp := make([]byte, 5)
	v.exchange(cmd[2:]) // warm up: Serve grows its buffers once
	if n := testing.AllocsPerRun(100, func() {
		v.conn.Write(cmd)
		io.ReadFull(v.conn, resp)
	}); n > 0 {
		t.Errorf("a frame cost %v allocations, want 0", n)
	}
}

func FuzzServe(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x04})
	f.Add([]byte{0x00, 0x01, 0x01, 0x00, 0x01, 0x02, 0x00, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0x00})
	f.Add([]byte{0x00, 0x00, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, stream []byte) {
		client, server := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- Serve(context.Background(), client, &echoCard{}, nil) }()
		go io.Copy(io.Discard, server) // vpcd reads every answer
		server.Write(stream)
		server.Close()
		if err := <-done; err == nil {
			t.Errorf("Serve() = nil after the connection closed")
		}
	})
}

// BenchmarkServe is a SELECT round trip between a vpcd that writes the
// length and the payload apart (as Debian's vpcd 3.3 does) and Serve over
// loopback TCP: with delayed acknowledgements it would take 40 ms.
func BenchmarkServe(b *testing.B) {
	v, _ := servePipe(b, b.Context(), &echoCard{}, nil)
	length := []byte{0x00, 0x06}
	sel := []byte{0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA}
	resp := make([]byte, 4)
	b.ReportAllocs()
	for b.Loop() {
		v.conn.Write(length)
		v.conn.Write(sel)
		if _, err := io.ReadFull(v.conn, resp); err != nil {
			b.Fatal(err)
		}
	}
}
