//go:build linux

package ble

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns the two ends of an AF_UNIX SOCK_SEQPACKET pair, which
// keeps record boundaries as an L2CAP LE credit-based channel keeps SDUs.
func socketPair(t *testing.T, sendMTU int) (*SocketConn, *SocketConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewSocketConn(fds[0], sendMTU)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSocketConn(fds[1], sendMTU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestSocketSDUs(t *testing.T) {
	ctx := context.Background()
	a, b := socketPair(t, 64)
	if a.SendMTU() != 64 {
		t.Errorf("SendMTU = %d", a.SendMTU())
	}
	sdus := [][]byte{{1}, bytes.Repeat([]byte{2}, 64), {3, 3}}
	for _, s := range sdus {
		if err := a.WriteSDU(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for _, want := range sdus {
		n, err := b.ReadSDU(ctx, buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("ReadSDU = %X, %v; want %X", buf[:n], err, want)
		}
	}
	if err := a.WriteSDU(ctx, make([]byte, 65)); !errors.Is(err, ErrSDUTooLarge) {
		t.Errorf("SDU over the send MTU: %v", err)
	}
	// A record longer than the buffer is dropped and reported; the next
	// one arrives whole.
	c, d := socketPair(t, 0)
	if err := c.WriteSDU(ctx, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteSDU(ctx, []byte{7, 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadSDU(ctx, buf); !errors.Is(err, ErrSDUTooLarge) {
		t.Errorf("100-byte SDU into 64 bytes: %v", err)
	}
	if n, err := d.ReadSDU(ctx, buf); err != nil || !bytes.Equal(buf[:n], []byte{7, 7}) {
		t.Errorf("next SDU = %X, %v", buf[:n], err)
	}
	// The kernel's own limit is reported the same way.
	if err := c.WriteSDU(ctx, make([]byte, 4<<20)); !errors.Is(err, ErrSDUTooLarge) {
		t.Errorf("4 MiB SDU: %v", err)
	}
}

func TestSocketContext(t *testing.T) {
	a, b := socketPair(t, 0)
	buf := make([]byte, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.ReadSDU(ctx, buf); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read past the deadline: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if _, err := a.ReadSDU(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("read cancelled: %v", err)
	}
	if _, err := a.ReadSDU(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("read with a cancelled context: %v", err)
	}
	// A cancellation does not cut short the next call.
	if err := b.WriteSDU(context.Background(), []byte{5}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.ReadSDU(context.Background(), buf); err != nil || n != 1 {
		t.Errorf("read after a cancellation: %d, %v", n, err)
	}
	// A writer without buffer space waits until its context ends.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var err error
	for err == nil {
		err = b.WriteSDU(ctx, make([]byte, 1024))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("write to a full socket: %v", err)
	}
}

func TestSocketClose(t *testing.T) {
	ctx := context.Background()
	a, b := socketPair(t, 0)
	buf := make([]byte, 16)
	errc := make(chan error, 1)
	go func() {
		_, err := a.ReadSDU(ctx, buf)
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	b.Close()
	if err := <-errc; !errors.Is(err, ErrLinkClosed) {
		t.Errorf("read when the peer closes: %v", err)
	}
	if err := a.WriteSDU(ctx, []byte{1}); !errors.Is(err, ErrLinkClosed) {
		t.Errorf("write to a closed peer: %v", err)
	}
	// Closing our end unblocks our own reader.
	c, _ := socketPair(t, 0)
	go func() {
		_, err := c.ReadSDU(ctx, buf)
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrLinkClosed) {
		t.Errorf("read on a closed socket: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSocketTunnel runs the APDU tunnel over the socket pair, the spec's
// SELECT first, and drops the link under the device.
func TestSocketTunnel(t *testing.T) {
	ctx := context.Background()
	a, b := socketPair(t, DefaultMaxSDU)
	card := &testCard{}
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, NewChannel(b, nil), card, nil) }()
	tun := NewTunnel(NewChannel(a, nil), nil)
	resp, err := tun.Transceive(ctx, nil, unhex(t, selectAPDU))
	if err != nil || !bytes.Equal(resp, []byte{0xA4, 0x90, 0x00}) {
		t.Fatalf("SELECT over the socket = %X, %v", resp, err)
	}
	b.Close()
	if err := <-served; !errors.Is(err, ErrLinkClosed) {
		t.Errorf("Serve = %v", err)
	}
	if _, err := tun.Transceive(ctx, nil, unhex(t, selectAPDU)); !errors.Is(err, ErrLinkClosed) {
		t.Errorf("Transceive over a dropped socket: %v", err)
	}
	if _, resets := card.state(); resets != 1 {
		t.Errorf("card reset %d times", resets)
	}
}

// TestL2CAPWithoutController checks the adapter's failures: an SPSM outside
// the dynamic range is refused before any socket, and a dial to an address
// nobody answers fails (no controller here; with one, the context ends it).
func TestL2CAPWithoutController(t *testing.T) {
	if _, err := ListenL2CAP(0x0040, nil); err == nil {
		t.Error("ListenL2CAP(0x0040) works")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	peer := Address{Addr: [6]byte{0, 0, 0, 0, 0, 1}, Type: AddressRandom}
	if c, err := DialL2CAP(ctx, peer, DefaultSPSM, &L2CAPConfig{Security: SecurityLow}); err == nil {
		c.Close()
		t.Error("DialL2CAP to an absent peer works")
	}
}

func TestL2CAPConfig(t *testing.T) {
	c := (*L2CAPConfig)(nil).resolve()
	if c.Adapter.Type != AddressPublic || c.Security != SecurityMedium || c.ReceiveMTU != DefaultMaxSDU {
		t.Errorf("defaults %+v", c)
	}
	c = (&L2CAPConfig{ReceiveMTU: 1 << 20, Security: SecurityHigh}).resolve()
	if c.ReceiveMTU != MaxMessageLen || c.Security != SecurityHigh {
		t.Errorf("resolved %+v", c)
	}
	sa := sockaddr(Address{Addr: [6]byte{1, 2, 3, 4, 5, 6}, Type: AddressRandom}, DefaultSPSM)
	if sa.PSM != 0x81 || sa.AddrType != unix.BDADDR_LE_RANDOM || sa.Addr != [6]byte{1, 2, 3, 4, 5, 6} {
		t.Errorf("sockaddr %+v", sa)
	}
}

// TestListenerAccept runs the listener's accept loop over an AF_UNIX
// SOCK_SEQPACKET listening socket (abstract address): the context, the peer
// MTU and Close.
func TestListenerAccept(t *testing.T) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	addr := &unix.SockaddrUnix{Name: "@opencarkey-ble-test-" + t.Name()}
	if err := unix.Bind(fd, addr); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	l, err := newListener(fd, func(int) (int, error) { return 48, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := l.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Accept with nobody dialling: %v", err)
	}
	cfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(cfd, addr); err != nil {
		t.Fatal(err)
	}
	client, err := NewSocketConn(cfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, _, err := l.Accept(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.SendMTU() != 48 {
		t.Errorf("accepted SendMTU = %d, want 48", conn.SendMTU())
	}
	if err := client.WriteSDU(context.Background(), []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := conn.ReadSDU(context.Background(), buf); err != nil || n != 2 {
		t.Errorf("ReadSDU = %d, %v", n, err)
	}
	errc := make(chan error, 1)
	go func() {
		_, _, err := l.Accept(context.Background())
		errc <- err
	}()
	time.Sleep(5 * time.Millisecond)
	l.Close()
	if err := <-errc; !errors.Is(err, ErrLinkClosed) {
		t.Errorf("Accept on a closed listener: %v", err)
	}
}
