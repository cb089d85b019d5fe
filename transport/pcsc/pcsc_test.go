package pcsc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
)

// establishFake connects to f and releases the client at the end.
func establishFake(t *testing.T, f *fakePCSCD) *Client {
	t.Helper()
	c, err := Establish(t.Context(), f.config())
	if err != nil {
		t.Fatalf("Establish(%s) = %v", f.path, err)
	}
	t.Cleanup(func() { c.Release(context.Background()) })
	return c
}

func connectFake(t *testing.T, c *Client, f *fakePCSCD) *Conn {
	t.Helper()
	cn, err := c.Connect(t.Context(), f.readers[0].name)
	if err != nil {
		t.Fatalf("Connect(%q) = %v", f.readers[0].name, err)
	}
	return cn
}

// checkError checks that err is an *Error with code and matches every target.
func checkError(t *testing.T, call string, err error, code Code, targets ...error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s = %v (%T), want *Error with %v", call, err, err, code)
	}
	if pe.Code != code {
		t.Errorf("%s = %v, want code %v", call, err, code)
	}
	if !errors.Is(err, code) {
		t.Errorf("errors.Is(%s = %v, %v) = false, want true", call, err, code)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%s = %v, %v) = false, want true", call, err, target)
		}
	}
	if !strings.HasPrefix(err.Error(), "pcsc: ") {
		t.Errorf("%s error %q does not start with \"pcsc: \"", call, err)
	}
}

func TestEstablish(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakePCSCD)
		code    Code // Success: no error
		targets []error
	}{
		{name: "4.4 server", setup: func(f *fakePCSCD) {}},
		{name: "newer server in backward mode", setup: func(f *fakePCSCD) { f.minor = 6 }},
		{
			name:    "version refused",
			setup:   func(f *fakePCSCD) { f.minor, f.versionRV = 6, ServiceStopped },
			code:    ServiceStopped,
			targets: []error{transport.ErrNoReader, errVersion},
		},
		{
			name:    "context refused",
			setup:   func(f *fakePCSCD) { f.contextRV = NoService },
			code:    NoService,
			targets: []error{transport.ErrNoReader},
		},
		{
			name: "truncated version reply",
			setup: func(f *fakePCSCD) {
				f.hook = reply(cmdVersion, []byte{4, 0, 0, 0}, true)
			},
			code:    CommError,
			targets: []error{transport.ErrProtocol, io.ErrUnexpectedEOF},
		},
		{
			name:    "connection closed at once",
			setup:   func(f *fakePCSCD) { f.hook = reply(cmdVersion, nil, true) },
			code:    CommError,
			targets: []error{transport.ErrProtocol, io.EOF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSCD(t)
			f.set(tt.setup)
			c, err := Establish(t.Context(), f.config())
			if tt.code == Success {
				if err != nil {
					t.Fatalf("Establish() = %v, want nil", err)
				}
				if c.hContext != fakeContext {
					t.Errorf("hContext = %#x, want %#x", c.hContext, fakeContext)
				}
				req, _ := f.lastRequest(cmdVersion)
				if got := [2]uint32{ne.Uint32(req.body), ne.Uint32(req.body[4:])}; got != [2]uint32{4, 4} {
					t.Errorf("CMD_VERSION sent %v, want [4 4]", got)
				}
				req, _ = f.lastRequest(cmdEstablishContext)
				if got := ne.Uint32(req.body); got != scopeSystem {
					t.Errorf("SCARD_ESTABLISH_CONTEXT scope = %d, want %d", got, scopeSystem)
				}
				c.Release(t.Context())
				return
			}
			checkError(t, "Establish()", err, tt.code, tt.targets...)
		})
	}
}

func TestEstablishNoDaemon(t *testing.T) {
	_, err := Establish(t.Context(), &Config{Socket: t.TempDir() + "/none"})
	checkError(t, "Establish(no socket)", err, NoService, transport.ErrNoReader, syscall.ENOENT)
}

func TestSocketPath(t *testing.T) {
	f := newFakePCSCD(t)
	t.Setenv(SocketEnv, f.path)
	if got := (*Config)(nil).socket(); got != f.path {
		t.Errorf("nil Config socket() = %q, want %q", got, f.path)
	}
	c, err := Establish(t.Context(), nil)
	if err != nil {
		t.Fatalf("Establish(nil) with %s=%s: %v", SocketEnv, f.path, err)
	}
	c.Release(t.Context())
	if got := (&Config{Socket: "/x"}).socket(); got != "/x" {
		t.Errorf("Config{Socket: /x}.socket() = %q, want /x", got)
	}
	t.Setenv(SocketEnv, "")
	if got := (&Config{}).socket(); got != DefaultSocket {
		t.Errorf("Config{}.socket() = %q, want %q", got, DefaultSocket)
	}
}

func TestReaders(t *testing.T) {
	f := newFakePCSCD(t)
	f.set(func(f *fakePCSCD) {
		f.readers = []fakeReader{
			{name: "Reader A", state: StateAbsent, events: 3},
			{}, // a free slot between used ones: reader unplugged
			{name: "Reader B", state: StatePresent | StatePowered | StateSpecific, atr: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, protocol: T1, events: 1},
		}
	})
	c := establishFake(t, f)
	states, err := c.ReaderStates(t.Context())
	if err != nil {
		t.Fatalf("ReaderStates() = %v", err)
	}
	want := []ReaderState{
		{Name: "Reader A", State: StateAbsent, Events: 3},
		{Name: "Reader B", State: StatePresent | StatePowered | StateSpecific, ATR: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, Protocol: T1, Events: 1},
	}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("ReaderStates() mismatch (-want +got):\n%s", diff)
	}
	if states[0].CardPresent() || !states[1].CardPresent() {
		t.Errorf("CardPresent() = %v, %v, want false, true", states[0].CardPresent(), states[1].CardPresent())
	}
	names, err := c.Readers(t.Context())
	if err != nil {
		t.Fatalf("Readers() = %v", err)
	}
	if diff := cmp.Diff([]string{"Reader A", "Reader B"}, names); diff != "" {
		t.Errorf("Readers() mismatch (-want +got):\n%s", diff)
	}
}

func TestReadersNone(t *testing.T) {
	f := newFakePCSCD(t)
	f.set(func(f *fakePCSCD) { f.readers = nil })
	c := establishFake(t, f)
	_, err := c.Readers(t.Context())
	checkError(t, "Readers()", err, NoReadersAvailable, transport.ErrNoReader)
	_, err = c.WaitForCard(t.Context(), "")
	checkError(t, "WaitForCard()", err, NoReadersAvailable, transport.ErrNoReader)
}

func TestReadersMalformed(t *testing.T) {
	tests := []struct {
		name    string
		raw     func() []byte
		targets []error
	}{
		{
			name: "ATR length past MAX_ATR_SIZE",
			raw: func() []byte {
				b := make([]byte, readersSize)
				copy(b, "Reader")
				ne.PutUint32(b[176:], 34)
				return b
			},
			targets: []error{errMalformed},
		},
		{
			name:    "truncated table",
			raw:     func() []byte { return make([]byte, readersSize-1) },
			targets: []error{io.ErrUnexpectedEOF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSCD(t)
			c := establishFake(t, f)
			f.set(func(f *fakePCSCD) { f.hook = reply(cmdGetReadersState, tt.raw(), true) })
			_, err := c.ReaderStates(t.Context())
			checkError(t, "ReaderStates()", err, CommError, append(tt.targets, transport.ErrProtocol)...)
			// The stream cannot be trusted: the client is closed.
			_, err = c.ReaderStates(t.Context())
			checkError(t, "ReaderStates() after", err, NoService, ErrClosed, transport.ErrNoReader)
		})
	}
}

func TestWaitForCard(t *testing.T) {
	f := newFakePCSCD(t)
	f.set(func(f *fakePCSCD) {
		f.readers = []fakeReader{{name: "Reader A", state: StateAbsent}, {name: "Reader B", state: StateAbsent}}
	})
	c := establishFake(t, f)
	// The card arrives in reader B at the fourth look.
	f.set(func(f *fakePCSCD) {
		f.hook = func(conn net.Conn, cmd uint32, _, _ []byte) bool {
			if cmd == cmdGetReadersState && f.countRequests(cmdGetReadersState) == 4 {
				f.set(func(f *fakePCSCD) { f.readers[1].state = StatePresent | StatePowered })
			}
			return false
		}
	})
	got, err := c.WaitForCard(t.Context(), "")
	if err != nil || got != "Reader B" {
		t.Fatalf("WaitForCard(any) = %q, %v, want %q, nil", got, err, "Reader B")
	}
	if n := f.countRequests(cmdGetReadersState); n != 4 {
		t.Errorf("WaitForCard looked %d times, want 4", n)
	}
	if got, err := c.WaitForCard(t.Context(), "Reader B"); err != nil || got != "Reader B" {
		t.Errorf("WaitForCard(Reader B) = %q, %v, want %q, nil", got, err, "Reader B")
	}
	_, err = c.WaitForCard(t.Context(), "Reader C")
	checkError(t, "WaitForCard(unknown)", err, UnknownReader, transport.ErrNoReader)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, err = c.WaitForCard(ctx, "Reader A")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForCard(empty reader) = %v, want %v", err, context.DeadlineExceeded)
	}
	// Waiting ended between two looks: the client is still usable.
	if _, err := c.Readers(t.Context()); err != nil {
		t.Errorf("Readers() after a timed-out wait = %v", err)
	}
}

func TestConnect(t *testing.T) {
	f := newFakePCSCD(t)
	f.set(func(f *fakePCSCD) {
		f.readers = append(f.readers, fakeReader{name: "Empty Reader", state: StateAbsent})
		f.protocol = T0
	})
	c := establishFake(t, f)
	cn, err := c.Connect(t.Context(), "Fake Reader 00 00")
	if err != nil {
		t.Fatalf("Connect() = %v", err)
	}
	if cn.Protocol() != T0 || cn.Reader() != "Fake Reader 00 00" || cn.handle != fakeHandle {
		t.Errorf("Connect() = {%v %q %#x}, want {T=0 %q %#x}", cn.Protocol(), cn.Reader(), cn.handle, "Fake Reader 00 00", fakeHandle)
	}
	req, _ := f.lastRequest(cmdConnect)
	wantName := make([]byte, maxReaderName)
	copy(wantName, "Fake Reader 00 00")
	if got := req.body[4 : 4+maxReaderName]; !bytes.Equal(got, wantName) {
		t.Errorf("SCARD_CONNECT szReader = %q, want %q", got, wantName)
	}
	if got := [3]uint32{ne.Uint32(req.body), ne.Uint32(req.body[132:]), ne.Uint32(req.body[136:])}; got != [3]uint32{fakeContext, shareShared, uint32(T0 | T1)} {
		t.Errorf("SCARD_CONNECT hContext, share, protocols = %#x, want [%#x 2 3]", got, fakeContext)
	}
	// A transmit names the negotiated protocol, here T=0.
	if _, err := cn.Transceive(t.Context(), nil, selectCommand()); err != nil {
		t.Fatalf("Transceive() = %v", err)
	}
	req, _ = f.lastRequest(cmdTransmit)
	if got := ne.Uint32(req.body[4:]); got != uint32(T0) {
		t.Errorf("SCARD_TRANSMIT ioSendPciProtocol = %d, want %d", got, T0)
	}

	_, err = c.Connect(t.Context(), "Empty Reader")
	checkError(t, "Connect(empty reader)", err, NoSmartcard, transport.ErrNoCard)
	_, err = c.Connect(t.Context(), "Unknown Reader")
	checkError(t, "Connect(unknown reader)", err, UnknownReader, transport.ErrNoReader)

	before := f.countRequests(cmdConnect)
	for _, name := range []string{"", strings.Repeat("x", 128), "a\x00b"} {
		_, err = c.Connect(t.Context(), name)
		checkError(t, "Connect(invalid name)", err, UnknownReader, errReaderName, transport.ErrNoReader)
	}
	if got := f.countRequests(cmdConnect); got != before {
		t.Errorf("invalid names sent %d SCARD_CONNECT requests, want 0", got-before)
	}
	// 127 bytes is the longest name szReader holds.
	_, err = c.Connect(t.Context(), strings.Repeat("x", 127))
	checkError(t, "Connect(127-byte name)", err, UnknownReader)
}

func TestConnectProtocols(t *testing.T) {
	f := newFakePCSCD(t)
	cfg := f.config()
	cfg.Protocols = T1
	c, err := Establish(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release(t.Context())
	cn := connectFake(t, c, f)
	req, _ := f.lastRequest(cmdConnect)
	if got := ne.Uint32(req.body[136:]); got != uint32(T1) {
		t.Errorf("SCARD_CONNECT protocols = %d, want %d", got, T1)
	}
	if err := cn.Reconnect(t.Context(), Leave); err != nil {
		t.Fatal(err)
	}
	req, _ = f.lastRequest(cmdReconnect)
	if got := ne.Uint32(req.body[8:]); got != uint32(T1) {
		t.Errorf("SCARD_RECONNECT protocols = %d, want %d", got, T1)
	}
}

func TestTransceive(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	ext := make([]byte, 65535)
	for i := range ext {
		ext[i] = byte(i)
	}
	tests := []struct {
		name string
		cmd  []byte
		want []byte
	}{
		{name: "SELECT", cmd: selectCommand(), want: []byte{0x6F, 0x03, 0x84, 0x01, 0x01, 0x90, 0x00}},
		{name: "case 1", cmd: []byte{0x80, 0x10, 0x00, 0x00}, want: []byte{0x90, 0x00}},
		{name: "short echo 255", cmd: echoCommand(ext[:255]), want: append(bytes.Clone(ext[:255]), 0x90, 0x00)},
		// 7 + 65535 + 2 = 65544 bytes of command, 65535 + 2 of response.
		{name: "extended echo 65535", cmd: echoCommand(ext), want: append(bytes.Clone(ext), 0x90, 0x00)},
		// 65536 bytes of data and the status word: the most pcscd carries.
		{name: "extended response 65536", cmd: generateCommand(0), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil { // generate 65536 bytes: P1P2 cannot say it, so use a card that can
				f.set(func(f *fakePCSCD) { f.card = bigCard{} })
				defer f.set(func(f *fakePCSCD) { f.card = newTestCard(1) })
				tt.want = append(make([]byte, 65536), 0x90, 0x00)
			}
			got, err := cn.Transceive(t.Context(), []byte{0xEE}, tt.cmd)
			if err != nil {
				t.Fatalf("Transceive(%x) = %v", tt.cmd[:4], err)
			}
			if !bytes.Equal(got, append([]byte{0xEE}, tt.want...)) {
				t.Errorf("Transceive(%x) = %d bytes %x..., want 0xEE then %d bytes %x...", tt.cmd[:4], len(got), got[:min(8, len(got))], len(tt.want), tt.want[:min(7, len(tt.want))])
			}
			req, _ := f.lastRequest(cmdTransmit)
			wantFields := [7]uint32{fakeHandle, uint32(T1), ioRequestSize, uint32(len(tt.cmd)), uint32(T1), ioRequestSize, MaxResponse}
			var gotFields [7]uint32
			for i := range gotFields {
				gotFields[i] = ne.Uint32(req.body[4*i:])
			}
			if gotFields != wantFields {
				t.Errorf("SCARD_TRANSMIT fields = %v, want %v", gotFields, wantFields)
			}
			if !bytes.Equal(req.data, tt.cmd) {
				t.Errorf("SCARD_TRANSMIT sent %d bytes, want the %d of the command", len(req.data), len(tt.cmd))
			}
		})
	}
}

// bigCard answers every command with 65536 zero bytes and 9000.
type bigCard struct{}

func (bigCard) ProcessAPDU(dst, _ []byte) []byte {
	return append(append(dst, make([]byte, 65536)...), 0x90, 0x00)
}

func TestTransceiveErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakePCSCD)
		code    Code
		targets []error
		closed  bool // the client is closed afterwards
	}{
		{name: "removed card", setup: func(f *fakePCSCD) { f.transmit = []Code{RemovedCard} }, code: RemovedCard, targets: []error{transport.ErrCardRemoved}},
		{name: "reset card", setup: func(f *fakePCSCD) { f.transmit = []Code{ResetCard} }, code: ResetCard, targets: []error{transport.ErrCardRemoved}},
		{name: "unpowered card", setup: func(f *fakePCSCD) { f.transmit = []Code{UnpoweredCard} }, code: UnpoweredCard, targets: []error{transport.ErrCardRemoved}},
		{name: "no card", setup: func(f *fakePCSCD) { f.transmit = []Code{NoSmartcard} }, code: NoSmartcard, targets: []error{transport.ErrNoCard}},
		{name: "reader gone", setup: func(f *fakePCSCD) { f.transmit = []Code{ReaderUnavailable} }, code: ReaderUnavailable, targets: []error{transport.ErrNoReader}},
		{name: "pcscd timeout", setup: func(f *fakePCSCD) { f.transmit = []Code{Timeout} }, code: Timeout, targets: []error{context.DeadlineExceeded}},
		{name: "protocol mismatch", setup: func(f *fakePCSCD) { f.transmit = []Code{ProtoMismatch} }, code: ProtoMismatch, targets: []error{transport.ErrProtocol}},
		{name: "insufficient buffer", setup: func(f *fakePCSCD) { f.transmit = []Code{InsufficientBuffer} }, code: InsufficientBuffer, targets: []error{transport.ErrProtocol}},
		{
			name:    "not transacted, card removed",
			setup:   func(f *fakePCSCD) { f.transmit, f.status = []Code{NotTransacted}, []Code{Success, RemovedCard} },
			code:    RemovedCard,
			targets: []error{transport.ErrCardRemoved, NotTransacted},
		},
		{
			name: "empty response, card removed",
			setup: func(f *fakePCSCD) {
				f.hook = func(conn net.Conn, cmd uint32, body, _ []byte) bool {
					if cmd != cmdTransmit {
						return false
					}
					conn.Write(transmitReply(body, Success, 0, nil))
					return true
				}
				f.status = []Code{RemovedCard}
			},
			code:    RemovedCard,
			targets: []error{transport.ErrCardRemoved, errShortResponse},
		},
		{
			name: "one-byte response, card there",
			setup: func(f *fakePCSCD) {
				f.hook = func(conn net.Conn, cmd uint32, body, _ []byte) bool {
					if cmd != cmdTransmit {
						return false
					}
					conn.Write(transmitReply(body, Success, 1, []byte{0x90}))
					return true
				}
			},
			code:    CommError,
			targets: []error{transport.ErrProtocol, errShortResponse},
		},
		{
			name: "oversized response",
			setup: func(f *fakePCSCD) {
				f.hook = func(conn net.Conn, cmd uint32, body, _ []byte) bool {
					if cmd != cmdTransmit {
						return false
					}
					conn.Write(transmitReply(body, Success, 0xFFFFFFF0, nil))
					return true
				}
			},
			code:    CommError,
			targets: []error{transport.ErrProtocol, errMalformed},
			closed:  true,
		},
		{
			name: "response cut short",
			setup: func(f *fakePCSCD) {
				f.hook = func(conn net.Conn, cmd uint32, body, _ []byte) bool {
					if cmd != cmdTransmit {
						return false
					}
					conn.Write(transmitReply(body, Success, 100, make([]byte, 10)))
					conn.Close()
					return true
				}
			},
			code:    CommError,
			targets: []error{transport.ErrProtocol, io.ErrUnexpectedEOF},
			closed:  true,
		},
		{
			name:    "reply struct cut short",
			setup:   func(f *fakePCSCD) { f.hook = reply(cmdTransmit, make([]byte, 10), true) },
			code:    CommError,
			targets: []error{transport.ErrProtocol, io.ErrUnexpectedEOF},
			closed:  true,
		},
		{
			name:    "garbage reply",
			setup:   func(f *fakePCSCD) { f.hook = reply(cmdTransmit, bytes.Repeat([]byte{0xA5}, 64), false) },
			code:    CommError,
			targets: []error{transport.ErrProtocol, errMalformed},
			closed:  true,
		},
		{
			name:    "pcscd gone",
			setup:   func(f *fakePCSCD) { f.hook = reply(cmdTransmit, nil, true) },
			code:    CommError,
			targets: []error{transport.ErrProtocol, io.EOF},
			closed:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSCD(t)
			c := establishFake(t, f)
			cn := connectFake(t, c, f)
			f.set(tt.setup)
			dst := []byte{0xEE}
			// Bounds how long Transceive asks whether a card that did not
			// answer has left.
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			got, err := cn.Transceive(ctx, dst, selectCommand())
			checkError(t, "Transceive()", err, tt.code, tt.targets...)
			if !bytes.Equal(got, dst) {
				t.Errorf("Transceive() on error = %x, want dst %x unchanged", got, dst)
			}
			_, err = c.Readers(t.Context())
			if tt.closed {
				checkError(t, "Readers() after", err, NoService, ErrClosed, transport.ErrNoReader)
			} else if err != nil {
				t.Errorf("Readers() after = %v, want nil", err)
			}
		})
	}
}

func TestTransceiveNotTransactedCardThere(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	f.set(func(f *fakePCSCD) { f.transmit = []Code{NotTransacted} })
	// The card stays: Transceive gives up asking at the end of ctx and
	// reports the reader's failure.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := cn.Transceive(ctx, nil, selectCommand())
	checkError(t, "Transceive()", err, NotTransacted, transport.ErrProtocol)
	if n := f.countRequests(cmdStatus); n == 0 {
		t.Errorf("Transceive() asked for the status %d times, want > 0", n)
	}
	if _, err := cn.Transceive(t.Context(), nil, selectCommand()); err != nil {
		t.Errorf("Transceive() after = %v, want nil", err)
	}
}

func TestTransceiveCommandTooLong(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	_, err := cn.Transceive(t.Context(), nil, make([]byte, MaxCommand+1))
	checkError(t, "Transceive(65549 bytes)", err, InsufficientBuffer, errCommandLength, transport.ErrProtocol)
	if n := f.countRequests(cmdTransmit); n != 0 {
		t.Errorf("sent %d transmits, want 0", n)
	}
}

func TestTransceiveContext(t *testing.T) {
	tests := []struct {
		name  string
		split int // bytes of the SELECT reply sent before the stall
		ctx   func(context.Context) (context.Context, context.CancelFunc)
		want  error
	}{
		{name: "deadline before the reply", split: 0, ctx: timeout(30 * time.Millisecond), want: context.DeadlineExceeded},
		{name: "cancel before the reply", split: 0, ctx: cancelAfter(30 * time.Millisecond), want: context.Canceled},
		{name: "deadline inside the reply", split: 10, ctx: timeout(30 * time.Millisecond), want: context.DeadlineExceeded},
		{name: "cancel inside the response", split: transmitSize + 3, ctx: cancelAfter(30 * time.Millisecond), want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSCD(t)
			c := establishFake(t, f)
			cn := connectFake(t, c, f)
			release := make(chan struct{})
			f.set(func(f *fakePCSCD) { f.hook = stall(f, cmdTransmit, tt.split, release) })
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			start := time.Now()
			_, err := cn.Transceive(ctx, nil, selectCommand())
			if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "pcsc: transmit: ") {
				t.Fatalf("Transceive() = %v, want pcsc: transmit: %v", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Transceive() returned after %v", d)
			}
			// pcscd is still answering: a call with a short deadline times
			// out waiting for it, and the client stays usable.
			ctx2, cancel2 := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel2()
			if _, err := c.Readers(ctx2); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Readers() while pcscd answers = %v, want %v", err, context.DeadlineExceeded)
			}
			// Once pcscd has answered, the next call skips the stale reply
			// and gets its own.
			f.set(func(f *fakePCSCD) { f.hook = nil })
			time.AfterFunc(20*time.Millisecond, func() { close(release) })
			echo := []byte{0xAB, 0xCD}
			got, err := cn.Transceive(t.Context(), nil, echoCommand(echo))
			if want := []byte{0xAB, 0xCD, 0x90, 0x00}; err != nil || !bytes.Equal(got, want) {
				t.Errorf("Transceive(echo) after = %x, %v, want %x, nil", got, err, want)
			}
		})
	}
}

func timeout(d time.Duration) func(context.Context) (context.Context, context.CancelFunc) {
	return func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, d)
	}
}

func cancelAfter(d time.Duration) func(context.Context) (context.Context, context.CancelFunc) {
	return func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(d, cancel)
		return ctx, cancel
	}
}

// TestResyncPartialWrite interrupts a transmit whose command pcscd has
// read only in part: the next call sends the rest before its own request.
func TestResyncPartialWrite(t *testing.T) {
	client, server := net.Pipe()
	c := newClient(client, nil)
	defer client.Close()
	cn := &Conn{c: c, handle: fakeHandle, protocol: T1, reader: "r"}
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer server.Close()
		// pcscd reads 20 bytes of the first request, then stalls.
		first := make([]byte, headerSize+transmitSize+len(selectCommand()))
		if _, err := io.ReadFull(server, first[:20]); err != nil {
			done <- err
			return
		}
		<-release
		if _, err := io.ReadFull(server, first[20:]); err != nil {
			done <- err
			return
		}
		body := first[headerSize : headerSize+transmitSize]
		server.Write(transmitReply(body, Success, 2, []byte{0x6A, 0x82}))
		second := make([]byte, headerSize+transmitSize+4)
		if _, err := io.ReadFull(server, second); err != nil {
			done <- err
			return
		}
		body = second[headerSize : headerSize+transmitSize]
		server.Write(transmitReply(body, Success, 2, []byte{0x90, 0x00}))
		done <- nil
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if _, err := cn.Transceive(ctx, nil, selectCommand()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Transceive() = %v, want %v", err, context.DeadlineExceeded)
	}
	if len(c.pend.write) == 0 {
		t.Fatalf("pending write = %d bytes, want the unsent part of the command", len(c.pend.write))
	}
	close(release)
	got, err := cn.Transceive(t.Context(), nil, []byte{0x80, 0x10, 0x00, 0x00})
	if want := []byte{0x90, 0x00}; err != nil || !bytes.Equal(got, want) {
		t.Errorf("Transceive() after = %x, %v, want %x, nil", got, err, want)
	}
	if err := <-done; err != nil {
		t.Errorf("server: %v", err)
	}
}

func TestContextDoneBeforeCall(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	before := f.countRequests(cmdTransmit)
	if _, err := cn.Transceive(ctx, nil, selectCommand()); !errors.Is(err, context.Canceled) {
		t.Errorf("Transceive(cancelled) = %v, want %v", err, context.Canceled)
	}
	if _, err := Establish(ctx, f.config()); !errors.Is(err, context.Canceled) {
		t.Errorf("Establish(cancelled) = %v, want %v", err, context.Canceled)
	}
	if n := f.countRequests(cmdTransmit); n != before {
		t.Errorf("a cancelled Transceive sent %d requests", n-before)
	}
	// Nothing was sent: the client is intact.
	if _, err := cn.Transceive(t.Context(), nil, selectCommand()); err != nil {
		t.Errorf("Transceive() after = %v, want nil", err)
	}
}

func TestReconnect(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	f.set(func(f *fakePCSCD) { f.transmit = []Code{ResetCard}; f.status = []Code{ResetCard} })
	_, err := cn.Transceive(t.Context(), nil, selectCommand())
	checkError(t, "Transceive()", err, ResetCard, transport.ErrCardRemoved)
	err = cn.Status(t.Context())
	checkError(t, "Status()", err, ResetCard, transport.ErrCardRemoved)

	for _, d := range []Disposition{Leave, Reset, Unpower} {
		f.set(func(f *fakePCSCD) { f.protocol = T1 })
		if err := cn.Reconnect(t.Context(), d); err != nil {
			t.Fatalf("Reconnect(%d) = %v", d, err)
		}
		req, _ := f.lastRequest(cmdReconnect)
		want := [4]uint32{fakeHandle, shareShared, uint32(T0 | T1), uint32(d)}
		if got := [4]uint32{ne.Uint32(req.body), ne.Uint32(req.body[4:]), ne.Uint32(req.body[8:]), ne.Uint32(req.body[12:])}; got != want {
			t.Errorf("SCARD_RECONNECT fields = %v, want %v", got, want)
		}
	}
	if err := cn.Status(t.Context()); err != nil {
		t.Errorf("Status() = %v, want nil", err)
	}
	// The protocol may change on reconnect.
	f.set(func(f *fakePCSCD) { f.protocol = T0 })
	if err := cn.Reconnect(t.Context(), Reset); err != nil || cn.Protocol() != T0 {
		t.Errorf("Reconnect() = %v, protocol %v, want nil, T=0", err, cn.Protocol())
	}
	f.set(func(f *fakePCSCD) { f.reconnect = []Code{NoSmartcard} })
	err = cn.Reconnect(t.Context(), Leave)
	checkError(t, "Reconnect(no card)", err, NoSmartcard, transport.ErrNoCard)
}

func TestDisconnectRelease(t *testing.T) {
	f := newFakePCSCD(t)
	c, err := Establish(t.Context(), f.config())
	if err != nil {
		t.Fatal(err)
	}
	cn := connectFake(t, c, f)
	if err := cn.Disconnect(t.Context(), Unpower); err != nil {
		t.Fatalf("Disconnect() = %v", err)
	}
	req, _ := f.lastRequest(cmdDisconnect)
	if got := [2]uint32{ne.Uint32(req.body), ne.Uint32(req.body[4:])}; got != [2]uint32{fakeHandle, uint32(Unpower)} {
		t.Errorf("SCARD_DISCONNECT fields = %v, want [%#x 2]", got, fakeHandle)
	}
	if err := cn.Disconnect(t.Context(), Leave); err != nil {
		t.Errorf("second Disconnect() = %v, want nil", err)
	}
	if n := f.countRequests(cmdDisconnect); n != 1 {
		t.Errorf("sent %d SCARD_DISCONNECT, want 1", n)
	}
	_, err = cn.Transceive(t.Context(), nil, selectCommand())
	checkError(t, "Transceive() after Disconnect", err, NoService, ErrClosed)
	for name, call := range map[string]func() error{
		"Status":    func() error { return cn.Status(t.Context()) },
		"Reconnect": func() error { return cn.Reconnect(t.Context(), Leave) },
	} {
		checkError(t, name+"() after Disconnect", call(), NoService, ErrClosed)
	}

	cn2 := connectFake(t, c, f)
	if err := c.Release(t.Context()); err != nil {
		t.Fatalf("Release() = %v", err)
	}
	req, _ = f.lastRequest(cmdReleaseContext)
	if got := ne.Uint32(req.body); got != fakeContext {
		t.Errorf("SCARD_RELEASE_CONTEXT hContext = %#x, want %#x", got, fakeContext)
	}
	if err := c.Release(t.Context()); err != nil {
		t.Errorf("second Release() = %v, want nil", err)
	}
	_, err = c.Readers(t.Context())
	checkError(t, "Readers() after Release", err, NoService, ErrClosed, transport.ErrNoReader)
	_, err = cn2.Transceive(t.Context(), nil, selectCommand())
	checkError(t, "Transceive() after Release", err, NoService, ErrClosed, transport.ErrNoReader)
}

func TestReleaseInterruptsCall(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	f.set(func(f *fakePCSCD) { f.hook = hang(cmdTransmit) })
	errc := make(chan error, 1)
	go func() {
		_, err := cn.Transceive(context.Background(), nil, selectCommand())
		errc <- err
	}()
	for f.countRequests(cmdTransmit) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c.Release(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Release() during a hung call = %v, want %v", err, context.DeadlineExceeded)
	}
	err := <-errc
	checkError(t, "hung Transceive()", err, CommError, transport.ErrProtocol)
	_, err = c.Readers(t.Context())
	checkError(t, "Readers() after Release", err, NoService, ErrClosed, transport.ErrNoReader)
}

func TestReleaseCancelled(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Release(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Release(cancelled) = %v, want %v", err, context.Canceled)
	}
	_, err := c.Readers(t.Context())
	checkError(t, "Readers() after Release", err, NoService, ErrClosed, transport.ErrNoReader)
}

func TestConcurrentConns(t *testing.T) {
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	var wg sync.WaitGroup
	for range 4 {
		cn := connectFake(t, c, f)
		wg.Go(func() {
			buf := make([]byte, 0, 16)
			for range 200 {
				got, err := cn.Transceive(t.Context(), buf[:0], selectCommand())
				if err != nil || len(got) != 7 {
					t.Errorf("Transceive() = %x, %v", got, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			if _, err := c.Readers(t.Context()); err != nil {
				t.Errorf("Readers() = %v", err)
				return
			}
		}
	})
	wg.Wait()
}

func TestTransceiveAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	f := newFakePCSCD(t)
	c := establishFake(t, f)
	cn := connectFake(t, c, f)
	f.set(func(f *fakePCSCD) { f.card, f.lean = staticCard{}, true })
	cmd := selectCommand()
	buf := make([]byte, 0, 64)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		if _, err := cn.Transceive(ctx, buf[:0], cmd); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("Transceive allocated %v times, want 0", n)
	}
}

// staticCard answers 9000 to everything without allocating.
type staticCard struct{}

func (staticCard) ProcessAPDU(dst, _ []byte) []byte { return append(dst, 0x90, 0x00) }

func TestCodeIs(t *testing.T) {
	categories := []error{transport.ErrNoReader, transport.ErrNoCard, transport.ErrCardRemoved, transport.ErrProtocol, context.DeadlineExceeded, context.Canceled}
	want := map[Code]error{
		NoReadersAvailable: transport.ErrNoReader,
		UnknownReader:      transport.ErrNoReader,
		ReaderUnavailable:  transport.ErrNoReader,
		NoService:          transport.ErrNoReader,
		ServiceStopped:     transport.ErrNoReader,
		SharingViolation:   transport.ErrNoReader,
		NoSmartcard:        transport.ErrNoCard,
		UnresponsiveCard:   transport.ErrNoCard,
		RemovedCard:        transport.ErrCardRemoved,
		ResetCard:          transport.ErrCardRemoved,
		UnpoweredCard:      transport.ErrCardRemoved,
		Timeout:            context.DeadlineExceeded,
		Cancelled:          context.Canceled,
		CommError:          transport.ErrProtocol,
		NotTransacted:      transport.ErrProtocol,
		ProtoMismatch:      transport.ErrProtocol,
		InsufficientBuffer: transport.ErrProtocol,
		InvalidHandle:      transport.ErrProtocol,
		Code(0x80100099):   transport.ErrProtocol,
	}
	// Every known code belongs to exactly one category.
	for code := range codeNames {
		if code == Success {
			for _, cat := range categories {
				if code.Is(cat) {
					t.Errorf("Success.Is(%v) = true, want false", cat)
				}
			}
			continue
		}
		var got []error
		for _, cat := range categories {
			if code.Is(cat) {
				got = append(got, cat)
			}
		}
		if len(got) != 1 {
			t.Errorf("%v matches %v, want exactly one category", code, got)
			continue
		}
		if w, ok := want[code]; ok && got[0] != w {
			t.Errorf("%v matches %v, want %v", code, got[0], w)
		}
	}
	for code, w := range want {
		err := error(&Error{Op: "transmit", Code: code})
		if !errors.Is(err, w) {
			t.Errorf("errors.Is(%v, %v) = false, want true", err, w)
		}
		if errors.Is(err, Code(0x80100098)) {
			t.Errorf("errors.Is(%v, another code) = true", err)
		}
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{RemovedCard, "pcsc: SCARD_W_REMOVED_CARD (0x80100069)"},
		{Code(0x80100099), "pcsc: 0x80100099 (0x80100099)"},
		{&Error{Op: "transmit", Code: NoSmartcard}, "pcsc: transmit: SCARD_E_NO_SMARTCARD (0x8010000c)"},
		{&Error{Op: "readers", Code: NoService, Err: ErrClosed}, "pcsc: readers: SCARD_E_NO_SERVICE (0x8010001d): pcsc: closed"},
		{&Error{Op: "transmit", Code: RemovedCard, Err: &Error{Op: "transmit", Code: NotTransacted}}, "pcsc: transmit: SCARD_W_REMOVED_CARD (0x80100069) after SCARD_E_NOT_TRANSACTED (0x80100016)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	for _, tt := range []struct {
		p    Protocol
		want string
	}{{0, "undefined"}, {T0, "T=0"}, {T1, "T=1"}, {T0 | T1, "T=0|T=1"}, {Raw, "raw"}, {0x10, "0x10"}} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Protocol(%d).String() = %q, want %q", uint32(tt.p), got, tt.want)
		}
	}
}

func FuzzReaderStates(f *testing.F) {
	fake := &fakePCSCD{readers: []fakeReader{
		{name: "Reader A", state: StatePresent, atr: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, protocol: T1},
		{},
		{name: strings.Repeat("n", 128), state: StateAbsent},
	}}
	f.Add(fake.readerStates())
	f.Add(make([]byte, readersSize))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		states, ok := parseReaderStates(nil, b)
		if ok && len(b) != readersSize {
			t.Fatalf("parseReaderStates(%d bytes) ok", len(b))
		}
		if len(states) > maxReaders {
			t.Errorf("parseReaderStates() = %d readers, more than %d", len(states), maxReaders)
		}
		for _, s := range states {
			if s.Name == "" || len(s.Name) > maxReaderName || strings.ContainsRune(s.Name, 0) {
				t.Errorf("parseReaderStates() name %q", s.Name)
			}
			if len(s.ATR) > maxATRSize {
				t.Errorf("parseReaderStates() ATR of %d bytes", len(s.ATR))
			}
		}
	})
}

// FuzzTransmitReply feeds arbitrary bytes to a Conn as pcscd's answer to a
// transmit: it must return a response of at least a status word, or an
// error, and never panic or allocate what the reply claims.
func FuzzTransmitReply(f *testing.F) {
	body := make([]byte, transmitSize)
	ne.PutUint32(body, fakeHandle)
	f.Add(transmitReply(body, Success, 2, []byte{0x90, 0x00}))
	f.Add(transmitReply(body, Success, 0, nil))
	f.Add(transmitReply(body, RemovedCard, 0, nil))
	f.Add(transmitReply(body, Success, 0xFFFFFFFF, []byte{1, 2, 3}))
	f.Add(transmitReply(body, Success, 5, []byte{1, 2}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		client, server := net.Pipe()
		c := newClient(client, &Config{PollInterval: time.Millisecond})
		defer c.conn.Close()
		cn := &Conn{c: c, handle: fakeHandle, protocol: T1, reader: "r"}
		go func() {
			defer server.Close()
			req := make([]byte, headerSize+transmitSize+4)
			if _, err := io.ReadFull(server, req); err != nil {
				return
			}
			server.Write(raw)
			// Transceive asks whether a card that did not answer has left:
			// it has.
			status := make([]byte, headerSize+statusSize)
			for {
				if _, err := io.ReadFull(server, status); err != nil {
					return
				}
				ne.PutUint32(status[headerSize+4:], uint32(RemovedCard))
				if _, err := server.Write(status[headerSize:]); err != nil {
					return
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		resp, err := cn.Transceive(ctx, nil, []byte{0x00, 0xA4, 0x04, 0x00})
		if err == nil && (len(resp) < 2 || len(resp) > MaxResponse) {
			t.Errorf("Transceive() = %d bytes, nil error", len(resp))
		}
	})
}

func BenchmarkTransceiveFake(b *testing.B) {
	f := newFakePCSCD(b)
	f.set(func(f *fakePCSCD) { f.card, f.lean = staticCard{}, true })
	c, err := Establish(context.Background(), f.config())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Release(context.Background())
	cn, err := c.Connect(context.Background(), f.readers[0].name)
	if err != nil {
		b.Fatal(err)
	}
	cmd := selectCommand()
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cn.Transceive(context.Background(), buf[:0], cmd); err != nil {
			b.Fatal(err)
		}
	}
}
