package pcsc

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport"
)

// fakePCSCD is a pcscd for unit tests: a Unix-socket server speaking client
// protocol 4.4 as pcsc-lite's winscard_svc.c does, with knobs for the
// failures a real reader cannot produce on demand.
type fakePCSCD struct {
	path string
	ln   net.Listener
	wg   sync.WaitGroup

	mu        sync.Mutex
	readers   []fakeReader
	minor     uint32 // the server's protocol minor (4; a 2.x server says 6 and still accepts 4.4)
	versionRV Code   // CMD_VERSION rv
	contextRV Code   // SCARD_ESTABLISH_CONTEXT rv
	protocol  Protocol
	card      transport.Card
	transmit  []Code // rv of the next transmits, then Success
	status    []Code // rv of the next SCARD_STATUS calls, then Success
	reconnect []Code // rv of the next SCARD_RECONNECT calls, then Success
	// hook, when set, sees each request first; it returns true when it
	// handled it (wrote a reply, or closed conn).
	hook     func(conn net.Conn, cmd uint32, body, data []byte) bool
	requests []fakeRequest
	lean     bool // record no requests
	conns    []net.Conn
}

type fakeReader struct {
	name     string
	state    State
	atr      []byte
	protocol Protocol
	events   uint32
}

type fakeRequest struct {
	cmd  uint32
	body []byte
	data []byte // the command APDU of a transmit
}

const (
	fakeContext = 0x0BADCAFE
	fakeHandle  = 0x12345678
)

// newFakePCSCD starts a fake pcscd with one reader holding testCard(1).
func newFakePCSCD(tb testing.TB) *fakePCSCD {
	tb.Helper()
	f, err := startFakePCSCD()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.close)
	return f
}

func startFakePCSCD() (*fakePCSCD, error) {
	// Unix socket paths are limited to 108 bytes: keep it short.
	dir, err := os.MkdirTemp("", "pcscd")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "pcscd.comm")
	ln, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f := &fakePCSCD{
		path:     path,
		ln:       ln,
		minor:    4,
		protocol: T1,
		card:     newTestCard(1),
		readers: []fakeReader{{
			name:     "Fake Reader 00 00",
			state:    StatePresent | StatePowered | StateNegotiable,
			atr:      []byte{0x3B, 0x80, 0x80, 0x01, 0x01},
			protocol: T1,
		}},
	}
	f.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, conn)
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(conn) })
		}
	})
	return f, nil
}

func (f *fakePCSCD) close() {
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	os.RemoveAll(filepath.Dir(f.path))
}

func (f *fakePCSCD) config() *Config {
	return &Config{Socket: f.path, PollInterval: 5 * time.Millisecond}
}

// set runs fn with the fake's lock held.
func (f *fakePCSCD) set(fn func(f *fakePCSCD)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// lastRequest returns the last request with command cmd.
func (f *fakePCSCD) lastRequest(cmd uint32) (fakeRequest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].cmd == cmd {
			return f.requests[i], true
		}
	}
	return fakeRequest{}, false
}

func (f *fakePCSCD) countRequests(cmd uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.cmd == cmd {
			n++
		}
	}
	return n
}

func pop(codes *[]Code) Code {
	if len(*codes) == 0 {
		return Success
	}
	c := (*codes)[0]
	*codes = (*codes)[1:]
	return c
}

func (f *fakePCSCD) serve(conn net.Conn) {
	defer conn.Close()
	// Buffers are reused so that the fake allocates nothing per request
	// when f.lean is set (for allocation tests of the client).
	bodyBuf := make([]byte, 0, 2*MaxResponse)
	dataBuf := make([]byte, MaxCommand)
	hdr := make([]byte, headerSize)
	for {
		if _, err := io.ReadFull(conn, hdr); err != nil {
			return
		}
		size, cmd := ne.Uint32(hdr), ne.Uint32(hdr[4:])
		if size > 1<<16 {
			return
		}
		body := bodyBuf[:size]
		if _, err := io.ReadFull(conn, body); err != nil {
			return
		}
		var data []byte
		if cmd == cmdTransmit && size == transmitSize {
			n := ne.Uint32(body[12:])
			if n > MaxCommand {
				return // pcscd closes the connection (buffer_overflow)
			}
			data = dataBuf[:n]
			if _, err := io.ReadFull(conn, data); err != nil {
				return
			}
		}
		f.mu.Lock()
		if !f.lean {
			f.requests = append(f.requests, fakeRequest{cmd: cmd, body: bytes.Clone(body), data: bytes.Clone(data)})
		}
		hook := f.hook
		f.mu.Unlock()
		if hook != nil && hook(conn, cmd, body, data) {
			continue
		}
		reply, ok := f.answer(cmd, body, data)
		if !ok {
			return
		}
		if _, err := conn.Write(reply); err != nil {
			return
		}
	}
}

// answer builds the reply pcscd would send.
func (f *fakePCSCD) answer(cmd uint32, body, data []byte) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	put := func(off int, v uint32) { ne.PutUint32(body[off:], v) }
	switch cmd {
	case cmdVersion:
		if len(body) != versionSize {
			return nil, false
		}
		put(0, protocolMajor)
		put(4, f.minor)
		put(8, uint32(f.versionRV))
		return body, true
	case cmdEstablishContext:
		put(4, fakeContext)
		put(8, uint32(f.contextRV))
		return body, true
	case cmdReleaseContext:
		put(4, uint32(Success))
		return body, true
	case cmdGetReadersState:
		return f.readerStates(), true
	case cmdConnect:
		if len(body) != connectSize {
			return nil, false
		}
		name := string(bytes.TrimRight(body[4:4+maxReaderName], "\x00"))
		rv := UnknownReader
		for _, r := range f.readers {
			if r.name == name {
				rv = NoSmartcard
				if r.state&StatePresent != 0 {
					rv = Success
				}
			}
		}
		put(140, fakeHandle)
		put(144, uint32(f.protocol))
		put(148, uint32(rv))
		return body, true
	case cmdReconnect:
		put(16, uint32(f.protocol))
		put(20, uint32(pop(&f.reconnect)))
		return body, true
	case cmdDisconnect:
		put(8, uint32(Success))
		return body, true
	case cmdStatus:
		put(4, uint32(pop(&f.status)))
		return body, true
	case cmdTransmit:
		rv := pop(&f.transmit)
		out := body
		if rv == Success {
			out = f.card.ProcessAPDU(body, data)
		}
		ne.PutUint32(out[24:], uint32(len(out)-transmitSize))
		ne.PutUint32(out[28:], uint32(rv))
		return out, true
	}
	return nil, false
}

func (f *fakePCSCD) readerStates() []byte {
	b := make([]byte, readersSize)
	for i, r := range f.readers {
		if r.name == "" {
			continue // a free slot
		}
		s := b[i*readerStateLen:]
		copy(s, r.name)
		ne.PutUint32(s[128:], r.events)
		ne.PutUint32(s[132:], uint32(r.state))
		copy(s[140:], r.atr)
		ne.PutUint32(s[176:], uint32(len(r.atr)))
		ne.PutUint32(s[180:], uint32(r.protocol))
	}
	return b
}

// transmitReply builds a raw SCARD_TRANSMIT reply for hooks.
func transmitReply(body []byte, rv Code, length uint32, data []byte) []byte {
	r := bytes.Clone(body)
	ne.PutUint32(r[24:], length)
	ne.PutUint32(r[28:], uint32(rv))
	return append(r, data...)
}

// stall is a hook that answers cmd in two parts: the first split bytes of
// the usual reply, then the rest once release is closed.
func stall(f *fakePCSCD, cmd uint32, split int, release <-chan struct{}) func(net.Conn, uint32, []byte, []byte) bool {
	return func(conn net.Conn, c uint32, body, data []byte) bool {
		if c != cmd {
			return false
		}
		r, _ := f.answer(c, body, data)
		conn.Write(r[:split])
		<-release
		conn.Write(r[split:])
		return true
	}
}

// hang is a hook that never answers cmd: the connection stays silent until
// closed.
func hang(cmd uint32) func(net.Conn, uint32, []byte, []byte) bool {
	return func(conn net.Conn, c uint32, _, _ []byte) bool {
		if c != cmd {
			return false
		}
		io.Copy(io.Discard, conn) // until the client closes
		return true
	}
}

// reply is a hook that answers cmd with raw bytes, then closes the
// connection when closeAfter is set.
func reply(cmd uint32, raw []byte, closeAfter bool) func(net.Conn, uint32, []byte, []byte) bool {
	return func(conn net.Conn, c uint32, _, _ []byte) bool {
		if c != cmd {
			return false
		}
		conn.Write(raw)
		if closeAfter {
			conn.Close()
		}
		return true
	}
}
