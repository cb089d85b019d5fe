package ble

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// recordConn records the SDUs written through it.
type recordConn struct {
	Conn
	mu   sync.Mutex
	sent [][]byte
}

func (r *recordConn) WriteSDU(ctx context.Context, b []byte) error {
	r.mu.Lock()
	r.sent = append(r.sent, slices.Clone(b))
	r.mu.Unlock()
	return r.Conn.WriteSDU(ctx, b)
}

func (r *recordConn) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

// testCard answers every command with its INS byte and 9000, records the
// commands, and counts resets. onCommand, when set, runs first.
type testCard struct {
	mu        sync.Mutex
	commands  [][]byte
	resets    int
	onCommand func([]byte)
}

func (c *testCard) ProcessAPDU(dst, cmd []byte) []byte {
	if c.onCommand != nil {
		c.onCommand(cmd)
	}
	c.mu.Lock()
	c.commands = append(c.commands, slices.Clone(cmd))
	c.mu.Unlock()
	return append(dst, cmd[1], 0x90, 0x00)
}

func (c *testCard) Reset() {
	c.mu.Lock()
	c.resets++
	c.mu.Unlock()
}

func (c *testCard) state() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.commands), c.resets
}

// ifaceCard is a testCard that binds the interface byte.
type ifaceCard struct {
	testCard
	iface byte
}

func (c *ifaceCard) ProcessAPDUOn(iface byte, dst, cmd []byte) []byte {
	c.iface = iface
	return c.ProcessAPDU(dst, cmd)
}

// link is a vehicle tunnel and a device served over a Pipe.
type link struct {
	vehicle *recordConn
	device  *PipeConn
	ch      *Channel
	tunnel  *Tunnel
	served  chan error
}

func newLink(t *testing.T, card transport.Card, tcfg *TunnelConfig, scfg *ServerConfig) *link {
	t.Helper()
	a, b := Pipe(0)
	l := &link{vehicle: &recordConn{Conn: a}, device: b, served: make(chan error, 1)}
	l.ch = NewChannel(l.vehicle, nil)
	l.tunnel = NewTunnel(l.ch, tcfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { l.served <- Serve(ctx, NewChannel(b, nil), card, scfg) }()
	t.Cleanup(func() {
		cancel()
		a.Close()
		<-l.served
	})
	return l
}

func TestTunnelSelect(t *testing.T) {
	card := &testCard{}
	l := newLink(t, card, nil, nil)
	resp, err := l.tunnel.Transceive(context.Background(), []byte{0xAA}, unhex(t, selectAPDU))
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0xAA, 0xA4, 0x90, 0x00}; !bytes.Equal(resp, want) {
		t.Errorf("Transceive(SELECT) = %X, want %X", resp, want)
	}
	if got := l.vehicle.sent[0]; !bytes.Equal(got, unhex(t, selectDK)) {
		t.Errorf("SDU on the air %X, want the spec's %s", got, selectDK)
	}
	if n, _ := card.state(); n != 1 || !bytes.Equal(card.commands[0], unhex(t, selectAPDU)) {
		t.Errorf("card saw %X", card.commands)
	}
	if l.tunnel.InterfaceByte() != InterfaceBLE {
		t.Errorf("InterfaceByte = %02X, want C3", l.tunnel.InterfaceByte())
	}
}

func TestTunnelGlobalNumbering(t *testing.T) {
	// A vehicle sending global IDs, a device answering per-type: both read
	// the other.
	a, b := Pipe(0)
	defer a.Close()
	go Serve(context.Background(), NewChannel(b, nil), &testCard{}, nil)
	rec := &recordConn{Conn: a}
	tun := NewTunnel(NewChannel(rec, &Config{Numbering: Global}), nil)
	if _, err := tun.Transceive(context.Background(), nil, []byte{0x80, 0xCA, 0, 0}); err != nil {
		t.Fatal(err)
	}
	ch := NewChannel(a, &Config{Numbering: Global})
	if err := ch.Send(context.Background(), KindTimeSync, make([]byte, TimeSyncSize)); err != nil {
		t.Fatal(err)
	}
	if ch.Numbering() != Global {
		t.Error("Numbering() not Global")
	}
}

func TestTunnelRefusesCLA(t *testing.T) {
	card := &testCard{}
	l := newLink(t, card, nil, nil)
	ctx := context.Background()
	for _, cla := range []byte{0x10, 0x01, 0x04, 0x0C, 0x90, 0x94, 0x81, 0xA0, 0xFF} {
		if _, err := l.tunnel.Transceive(ctx, nil, []byte{cla, 0xA4, 4, 0}); !errors.Is(err, ErrCLA) {
			t.Errorf("Transceive with CLA %02X: %v, want ErrCLA", cla, err)
		}
	}
	if _, err := l.tunnel.Transceive(ctx, nil, []byte{0x00, 0xA4, 4}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Transceive of 3 bytes: %v, want ErrMalformed", err)
	}
	if n := l.vehicle.count(); n != 0 {
		t.Errorf("refused commands sent %d SDUs", n)
	}
	// The tunnel still works.
	for _, cla := range []byte{0x00, 0x80, 0x84} {
		if _, err := l.tunnel.Transceive(ctx, nil, []byte{cla, 0xA4, 4, 0}); err != nil {
			t.Errorf("CLA %02X: %v", cla, err)
		}
	}
}

// TestServeRefusesCLA sends DK_APDU_RQ the vehicle's tunnel would refuse,
// as a foreign vehicle might: the card never sees them.
func TestServeRefusesCLA(t *testing.T) {
	card := &testCard{}
	l := newLink(t, card, nil, nil)
	ctx := context.Background()
	for _, tt := range []struct {
		cmd  []byte
		want dkey.StatusWord
	}{
		{[]byte{0x90, 0xD4, 0, 0, 1, 0}, dkey.SWClassNotSupported},
		{[]byte{0x01, 0xA4, 4, 0}, dkey.SWClassNotSupported},
		{[]byte{0x00, 0xA4, 4}, dkey.SWWrongLength},
		{nil, dkey.SWWrongLength},
	} {
		if err := l.ch.Send(ctx, KindDKAPDURQ, tt.cmd); err != nil {
			t.Fatal(err)
		}
		m, err := l.ch.Receive(ctx)
		if err != nil || m.Kind != KindDKAPDURS {
			t.Fatalf("answer to %X: %v %v", tt.cmd, m.Kind, err)
		}
		if r, err := transport.ParseResponse(m.Data); err != nil || r.SW != tt.want || len(r.Data) != 0 {
			t.Errorf("answer to %X = %X, want %v", tt.cmd, m.Data, tt.want)
		}
	}
	if n, _ := card.state(); n != 0 {
		t.Errorf("the card saw %d refused commands", n)
	}
}

func TestOversizeSDU(t *testing.T) {
	ctx := context.Background()
	t.Run("send", func(t *testing.T) {
		l := newLink(t, &testCard{}, nil, nil)
		big := append([]byte{0x80, 0xD4, 0, 0}, make([]byte, DefaultMaxSDU)...)
		_, err := l.tunnel.Transceive(ctx, nil, big)
		if !errors.Is(err, ErrSDUTooLarge) || !errors.Is(err, transport.ErrProtocol) {
			t.Errorf("Transceive of %d bytes: %v, want ErrSDUTooLarge and ErrProtocol", len(big), err)
		}
		if _, err := l.tunnel.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0}); err != nil {
			t.Errorf("after the oversize command: %v", err)
		}
	})
	t.Run("receive", func(t *testing.T) {
		a, b := Pipe(4096)
		defer a.Close()
		ch := NewChannel(a, &Config{MaxSDU: 64})
		if err := b.WriteSDU(ctx, append([]byte{0x04, 0x01, 0, 96}, make([]byte, 96)...)); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteSDU(ctx, []byte{0x04, 0x01, 0, 1, 7}); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Receive(ctx); !errors.Is(err, ErrSDUTooLarge) {
			t.Errorf("Receive of a 100-byte SDU with MaxSDU 64: %v, want ErrSDUTooLarge", err)
		}
		if m, err := ch.Receive(ctx); err != nil || m.Kind != KindOEMPassThrough || !bytes.Equal(m.Data, []byte{7}) {
			t.Errorf("next message: %v %X %v", m.Kind, m.Data, err)
		}
	})
}

func TestUnknownTypeFromDevice(t *testing.T) {
	ctx := context.Background()
	a, b := Pipe(0)
	defer a.Close()
	tun := NewTunnel(NewChannel(a, nil), nil)
	go func() {
		buf := make([]byte, DefaultMaxSDU)
		if _, err := b.ReadSDU(ctx, buf); err == nil {
			b.WriteSDU(ctx, []byte{0x07, 0x01, 0x00, 0x02, 0x90, 0x00})
		}
	}()
	_, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0})
	if !errors.Is(err, ErrUnknownType) || !errors.Is(err, transport.ErrProtocol) {
		t.Errorf("answer of type 7: %v, want ErrUnknownType and ErrProtocol", err)
	}
}

func TestShortResponse(t *testing.T) {
	ctx := context.Background()
	a, b := Pipe(0)
	defer a.Close()
	tun := NewTunnel(NewChannel(a, nil), nil)
	dev := NewChannel(b, nil)
	go func() {
		if _, err := dev.Receive(ctx); err == nil {
			dev.Send(ctx, KindDKAPDURS, []byte{0x90})
		}
	}()
	if _, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0}); !errors.Is(err, transport.ErrProtocol) {
		t.Errorf("one-byte response: %v, want ErrProtocol", err)
	}
}

// TestLinkDrop drops the link while the device processes a command: the
// vehicle sees a removed card, the device's session ends with a reset.
func TestLinkDrop(t *testing.T) {
	card := &testCard{}
	l := newLink(t, card, nil, nil)
	card.onCommand = func(cmd []byte) {
		if cmd[1] == 0x80 { // AUTH0
			l.device.Close()
		}
	}
	ctx := context.Background()
	if _, err := l.tunnel.Transceive(ctx, nil, unhex(t, selectAPDU)); err != nil {
		t.Fatal(err)
	}
	_, err := l.tunnel.Transceive(ctx, nil, []byte{0x80, 0x80, 0, 1})
	if !errors.Is(err, ErrLinkClosed) || !errors.Is(err, transport.ErrCardRemoved) {
		t.Errorf("Transceive over a dropped link: %v, want ErrLinkClosed and ErrCardRemoved", err)
	}
	if err := <-l.served; !errors.Is(err, ErrLinkClosed) {
		t.Errorf("Serve returned %v, want ErrLinkClosed", err)
	}
	l.served <- nil // for the cleanup
	if _, resets := card.state(); resets != 1 {
		t.Errorf("card reset %d times, want 1", resets)
	}
	if _, err := l.tunnel.Transceive(ctx, nil, unhex(t, selectAPDU)); !errors.Is(err, transport.ErrCardRemoved) {
		t.Errorf("Transceive after the drop: %v", err)
	}
}

func TestTunnelContext(t *testing.T) {
	a, _ := Pipe(0)
	defer a.Close()
	tun := NewTunnel(NewChannel(a, nil), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Transceive with no device: %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("Transceive with a cancelled context: %v, want Canceled", err)
	}
}

func TestUnsolicited(t *testing.T) {
	ctx := context.Background()
	event := []byte{byte(SubeventCommandComplete), byte(StatusDeviceBusy)}
	setup := func(t *testing.T, tcfg *TunnelConfig) *Tunnel {
		a, b := Pipe(0)
		t.Cleanup(func() { a.Close() })
		dev := NewChannel(b, nil)
		go func() {
			if _, err := dev.Receive(ctx); err == nil {
				dev.Send(ctx, KindEventNotification, event)
				dev.Send(ctx, KindDKAPDURS, []byte{0x90, 0x00})
			}
		}()
		return NewTunnel(NewChannel(a, nil), tcfg)
	}
	t.Run("handled", func(t *testing.T) {
		var got []Event
		tun := setup(t, &TunnelConfig{Unsolicited: func(_ context.Context, m Message) error {
			e, err := ParseEvent(m.Data)
			got = append(got, e)
			return err
		}})
		resp, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0})
		if err != nil || !bytes.Equal(resp, []byte{0x90, 0x00}) {
			t.Fatalf("Transceive = %X, %v", resp, err)
		}
		if len(got) != 1 || got[0].Status != StatusDeviceBusy {
			t.Errorf("unsolicited events %v", got)
		}
	})
	t.Run("unhandled", func(t *testing.T) {
		tun := setup(t, nil)
		_, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0})
		var u *UnexpectedMessageError
		if !errors.As(err, &u) || u.Got != KindEventNotification || u.Want != KindDKAPDURS || !errors.Is(err, transport.ErrProtocol) {
			t.Errorf("unhandled event: %v", err)
		}
	})
	t.Run("handler error", func(t *testing.T) {
		stop := errors.New("stop")
		tun := setup(t, &TunnelConfig{Unsolicited: func(context.Context, Message) error { return stop }})
		if _, err := tun.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0}); !errors.Is(err, stop) {
			t.Errorf("handler error: %v", err)
		}
	})
}

func TestInterfaceByte(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		configure byte
		want      byte
	}{{"default", 0, InterfaceBLE}, {"NFC byte", InterfaceNFC, InterfaceNFC}} {
		t.Run(tt.name, func(t *testing.T) {
			card := &ifaceCard{}
			l := newLink(t, card, &TunnelConfig{Interface: tt.configure}, &ServerConfig{Interface: tt.configure})
			if _, err := l.tunnel.Transceive(ctx, nil, unhex(t, selectAPDU)); err != nil {
				t.Fatal(err)
			}
			var r InterfaceReporter = l.tunnel
			if card.iface != tt.want || r.InterfaceByte() != tt.want {
				t.Errorf("card got interface %02X, tunnel reports %02X; want %02X", card.iface, r.InterfaceByte(), tt.want)
			}
		})
	}
}

func TestFrameworkTunnel(t *testing.T) {
	card := &testCard{}
	l := newLink(t, card, &TunnelConfig{Framework: true}, nil)
	resp, err := l.tunnel.Transceive(context.Background(), nil, []byte{0x80, 0x30, 0, 0})
	if err != nil || !bytes.Equal(resp, []byte{0x30, 0x90, 0x00}) {
		t.Fatalf("Transceive = %X, %v", resp, err)
	}
	if got := l.vehicle.sent[0]; !bytes.Equal(got, []byte{0x00, 0x0B, 0x00, 0x04, 0x80, 0x30, 0, 0}) {
		t.Errorf("framework SDU %X", got)
	}
}

func TestServeEnds(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		handle func(context.Context, Message) error
		send   func(*Channel) error
		want   error
	}{
		{"unhandled time sync", nil, func(c *Channel) error {
			return c.Send(ctx, KindTimeSync, make([]byte, TimeSyncSize))
		}, nil},
		{"handler error", func(context.Context, Message) error { return ErrNoRequest }, func(c *Channel) error {
			return c.Send(ctx, KindRKEAuthRQ, make([]byte, ChallengeSize))
		}, ErrNoRequest},
		{"unknown type", nil, func(c *Channel) error {
			return c.conn.WriteSDU(ctx, []byte{0x09, 0x01, 0x00, 0x00})
		}, ErrUnknownType},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Pipe(0)
			defer a.Close()
			card := &testCard{}
			done := make(chan error, 1)
			go func() { done <- Serve(ctx, NewChannel(b, nil), card, &ServerConfig{Handle: tt.handle}) }()
			if err := tt.send(NewChannel(a, nil)); err != nil {
				t.Fatal(err)
			}
			err := <-done
			var u *UnexpectedMessageError
			if tt.want == nil && !errors.As(err, &u) || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Serve = %v, want %v", err, tt.want)
			}
			if _, resets := card.state(); resets != 1 {
				t.Errorf("card reset %d times", resets)
			}
			// Serve closed the link.
			if err := a.WriteSDU(ctx, []byte{1}); !errors.Is(err, ErrLinkClosed) {
				t.Errorf("link after Serve: %v", err)
			}
		})
	}
	t.Run("context", func(t *testing.T) {
		a, b := Pipe(0)
		defer a.Close()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := Serve(cctx, NewChannel(b, nil), &testCard{}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Serve with a cancelled context: %v", err)
		}
	})
}

func TestPipe(t *testing.T) {
	ctx := context.Background()
	a, b := Pipe(16)
	if a.MaxSDU() != 16 {
		t.Errorf("MaxSDU = %d", a.MaxSDU())
	}
	if err := a.WriteSDU(ctx, make([]byte, 17)); !errors.Is(err, ErrSDUTooLarge) {
		t.Errorf("17-byte SDU: %v", err)
	}
	// SDU boundaries hold, including an empty SDU.
	for _, sdu := range [][]byte{{1, 2, 3}, {}, {4}} {
		if err := a.WriteSDU(ctx, sdu); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 16)
	for _, want := range [][]byte{{1, 2, 3}, {}, {4}} {
		n, err := b.ReadSDU(ctx, buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("ReadSDU = %X, %v; want %X", buf[:n], err, want)
		}
	}
	// Without credits the writer waits.
	for range DefaultCredits {
		if err := a.WriteSDU(ctx, []byte{9}); err != nil {
			t.Fatal(err)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := a.WriteSDU(tctx, []byte{9}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("write without credits: %v", err)
	}
	// A read into a short buffer drops the SDU.
	if _, err := b.ReadSDU(ctx, buf[:0]); !errors.Is(err, ErrSDUTooLarge) {
		t.Errorf("read into an empty buffer: %v", err)
	}
	// Close unblocks both sides and is idempotent.
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := a.ReadSDU(ctx, buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	b.Close()
	b.Close()
	if err := <-errc; !errors.Is(err, ErrLinkClosed) {
		t.Errorf("read after close: %v", err)
	}
	if err := b.WriteSDU(ctx, []byte{1}); !errors.Is(err, ErrLinkClosed) {
		t.Errorf("write after close: %v", err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	c, _ := Pipe(0)
	if _, err := c.ReadSDU(cctx, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("read with a cancelled context: %v", err)
	}
}

func TestExpect(t *testing.T) {
	ctx := context.Background()
	a, b := Pipe(0)
	defer a.Close()
	ch, peer := NewChannel(a, nil), NewChannel(b, nil)
	peer.Send(ctx, KindTimeSync, make([]byte, TimeSyncSize))
	peer.Send(ctx, KindRKEAuthRS, make([]byte, 64))
	if m, err := ch.Expect(ctx, KindTimeSync); err != nil || len(m.Data) != TimeSyncSize {
		t.Errorf("Expect(Time_Sync) = %v, %v", m.Kind, err)
	}
	var u *UnexpectedMessageError
	if _, err := ch.Expect(ctx, KindRKEAuthRQ); !errors.As(err, &u) || u.Got != KindRKEAuthRS || u.Want != KindRKEAuthRQ {
		t.Errorf("Expect(RKE_Auth_RQ) on an RS: %v", err)
	}
	b.Close()
	if _, err := ch.Expect(ctx, KindTimeSync); !errors.Is(err, ErrLinkClosed) {
		t.Errorf("Expect on a closed link: %v", err)
	}
}
