package pcsc

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSocket is where pcscd listens on Linux (PCSCLITE_CSOCK_NAME as
// pcsc-lite is built by Debian and most distributions).
const DefaultSocket = "/run/pcscd/pcscd.comm"

// SocketEnv names the environment variable that overrides [DefaultSocket],
// as it does for pcsc-lite's own client library. pcscd itself (up to at
// least pcsc-lite 2.3) has the path compiled in; a private pcscd needs a
// private mount of /run/pcscd (see scripts/pcsc).
const SocketEnv = "PCSCLITE_CSOCK_NAME"

// Config configures a [Client]. The zero value (or nil) is the default.
// A Config must not be modified after it has been passed to [Establish].
type Config struct {
	// Socket is the path of pcscd's Unix socket. Empty means the value of
	// the PCSCLITE_CSOCK_NAME environment variable, or [DefaultSocket].
	Socket string
	// PollInterval is the pause between two looks at the readers in
	// [Client.WaitForCard], and between two status requests when
	// [Conn.Transceive] checks whether a card that did not answer has left.
	// Zero means 100 ms.
	PollInterval time.Duration
	// Protocols are the protocols [Client.Connect] and [Conn.Reconnect]
	// accept; pcscd negotiates T=1 when the card offers both. Zero means
	// T0|T1.
	Protocols Protocol
}

func (c *Config) socket() string {
	if c != nil && c.Socket != "" {
		return c.Socket
	}
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

func (c *Config) pollInterval() time.Duration {
	if c != nil && c.PollInterval > 0 {
		return c.PollInterval
	}
	return 100 * time.Millisecond
}

func (c *Config) protocols() Protocol {
	if c != nil && c.Protocols != 0 {
		return c.Protocols
	}
	return T0 | T1
}

// Client is an established PC/SC context (SCardEstablishContext): one
// connection to pcscd, from which readers are listed and cards connected.
//
// A Client and its [Conn]s may be used from several goroutines: calls are
// serialized on the one connection to pcscd, each waiting for the previous
// one to finish (or for its own context to end).
//
// Every call honours its context: the deadline bounds the socket I/O, and
// cancellation interrupts it. pcscd answers a client's requests one at a
// time and in order, so a call interrupted while pcscd is still answering
// leaves the rest of that answer on the connection: the next call first
// reads and discards it (waiting, within its own context, for pcscd to
// finish), then makes its own request. An interrupted call costs the Client
// nothing but that wait; only a broken or malformed reply closes it.
type Client struct {
	conn        net.Conn
	sem         chan struct{} // held for each exchange
	poll        time.Duration
	protocols   Protocol
	interruptFn func()
	released    atomic.Bool // set by Release, which may close conn without the lock

	// Guarded by sem.
	hContext uint32
	closed   bool
	stop     func() bool // stops the context.AfterFunc of the current exchange
	pend     pending     // what an interrupted exchange left on the connection
	wbuf     []byte
	rbuf     [readersSize]byte

	dmu   sync.Mutex      // orders deadline changes
	ioCtx context.Context // the context of the exchange in progress, guarded by dmu
}

// Establish connects to pcscd and establishes a context (SCardEstablishContext
// with SCARD_SCOPE_SYSTEM), after agreeing on client protocol 4.4.
//
// When pcscd cannot be reached, the error is an [*Error] with Code
// NoService (matching transport.ErrNoReader) wrapping the socket error; on
// a system whose middleware is not pcsc-lite it wraps
// ErrUnsupportedPlatform.
func Establish(ctx context.Context, cfg *Config) (*Client, error) {
	if !pcscliteSystem || testingOnlyForeignSystem {
		return nil, &Error{Op: "establish", Code: NoService, Err: ErrUnsupportedPlatform}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", cfg.socket())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError("establish", ctx.Err())
		}
		return nil, &Error{Op: "establish", Code: NoService, Err: err}
	}
	c := newClient(conn, cfg)
	if err := c.handshake(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// testingOnlyForeignSystem makes Establish behave as on a system without
// pcsc-lite, for the test of that path on Linux.
var testingOnlyForeignSystem bool

func newClient(conn net.Conn, cfg *Config) *Client {
	c := &Client{
		conn:      conn,
		sem:       make(chan struct{}, 1),
		poll:      cfg.pollInterval(),
		protocols: cfg.protocols(),
		wbuf:      make([]byte, 0, headerSize+maxBodySize),
	}
	c.interruptFn = c.interrupt
	return c
}

// handshake exchanges CMD_VERSION and SCARD_ESTABLISH_CONTEXT.
func (c *Client) handshake(ctx context.Context) error {
	const op = "establish"
	if err := c.begin(ctx, op); err != nil {
		return err
	}
	defer c.end()

	b := appendHeader(c.wbuf[:0], cmdVersion, versionSize)
	b = ne.AppendUint32(b, protocolMajor)
	b = ne.AppendUint32(b, protocolMinor)
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, versionSize, false)
	if err != nil {
		return err
	}
	// A server newer than 4.4 answers with its own version and success when
	// it serves 4.4 clients in its backward-compatible mode; it answers
	// SCARD_E_SERVICE_STOPPED when it does not.
	if rv := Code(ne.Uint32(reply[8:])); rv != Success || ne.Uint32(reply) != protocolMajor {
		if rv == Success {
			rv = ServiceStopped
		}
		return &Error{Op: op, Code: rv, Err: errVersion}
	}

	b = appendHeader(c.wbuf[:0], cmdEstablishContext, establishSize)
	b = ne.AppendUint32(b, scopeSystem)
	b = ne.AppendUint32(b, 0)
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err = c.roundTrip(ctx, op, establishSize, false)
	if err != nil {
		return err
	}
	if rv := Code(ne.Uint32(reply[8:])); rv != Success {
		return &Error{Op: op, Code: rv}
	}
	c.hContext = ne.Uint32(reply[4:])
	return nil
}

// Release releases the context (SCardReleaseContext) and closes the
// connection to pcscd; pcscd disconnects every [Conn] of the Client. It waits
// for a call in progress to end; if ctx ends first, it closes the connection
// at once, which makes that call fail. Releasing a closed Client returns nil.
func (c *Client) Release(ctx context.Context) error {
	const op = "release"
	c.released.Store(true)
	if err := c.begin(ctx, op); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		c.conn.Close() // interrupts the call in progress, if any
		return err
	}
	defer c.end()

	b := appendHeader(c.wbuf[:0], cmdReleaseContext, releaseSize)
	b = ne.AppendUint32(b, c.hContext)
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, releaseSize, false)
	c.closeConn()
	if err != nil {
		return err
	}
	if rv := Code(ne.Uint32(reply[4:])); rv != Success {
		return &Error{Op: op, Code: rv}
	}
	return nil
}

// ReaderStates returns the readers pcscd knows and the state of the card in
// each (CMD_GET_READERS_STATE). Names are free of the wire's NUL padding.
func (c *Client) ReaderStates(ctx context.Context) ([]ReaderState, error) {
	const op = "readers"
	if err := c.begin(ctx, op); err != nil {
		return nil, err
	}
	defer c.end()

	c.wbuf = appendHeader(c.wbuf[:0], cmdGetReadersState, 0)
	reply, err := c.roundTrip(ctx, op, readersSize, false)
	if err != nil {
		return nil, err
	}
	states, ok := parseReaderStates(nil, reply)
	if !ok {
		// An impossible ATR length means the reply was not the reader table
		// this client expects: the stream cannot be trusted any more.
		c.closeConn()
		return nil, &Error{Op: op, Code: CommError, Err: errMalformed}
	}
	return states, nil
}

// Readers returns the names of the readers pcscd knows
// (SCardListReaders). With no reader, it returns an [*Error] with Code
// NoReadersAvailable, which matches transport.ErrNoReader.
func (c *Client) Readers(ctx context.Context) ([]string, error) {
	states, err := c.ReaderStates(ctx)
	if err != nil {
		return nil, err
	}
	if len(states) == 0 {
		return nil, &Error{Op: "readers", Code: NoReadersAvailable}
	}
	names := make([]string, len(states))
	for i := range states {
		names[i] = states[i].Name
	}
	return names, nil
}

// WaitForCard waits until a card is present in the named reader, or in any
// reader when reader is empty, and returns the reader's name. It looks at
// the reader table every Config.PollInterval rather than use pcscd's event
// wait (CMD_WAIT_READER_STATE_CHANGE), whose replies differ between
// pcsc-lite versions; a look costs one exchange on a local socket.
//
// It fails with an [*Error] with Code NoReadersAvailable when pcscd knows no
// reader, and UnknownReader when the named reader is not among them, both
// matching transport.ErrNoReader; and with the context's error when ctx
// ends first.
func (c *Client) WaitForCard(ctx context.Context, reader string) (string, error) {
	const op = "wait"
	var timer *time.Timer
	for {
		states, err := c.ReaderStates(ctx)
		if err != nil {
			return "", err
		}
		if len(states) == 0 {
			return "", &Error{Op: op, Code: NoReadersAvailable}
		}
		found := false
		for i := range states {
			s := &states[i]
			if reader != "" && s.Name != reader {
				continue
			}
			found = true
			if s.CardPresent() {
				return s.Name, nil
			}
		}
		if !found {
			return "", &Error{Op: op, Code: UnknownReader}
		}
		if timer == nil {
			timer = time.NewTimer(c.poll)
			defer timer.Stop()
		} else {
			timer.Reset(c.poll)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return "", ctxError(op, ctx.Err())
		}
	}
}

// Connect connects to the card in the named reader (SCardConnect), in shared
// mode, with the Config's protocols. Without a card it fails with an
// [*Error] with Code NoSmartcard (transport.ErrNoCard); for an unknown
// reader with UnknownReader (transport.ErrNoReader).
func (c *Client) Connect(ctx context.Context, reader string) (*Conn, error) {
	const op = "connect"
	if !validReaderName(reader) {
		return nil, &Error{Op: op, Code: UnknownReader, Err: errReaderName}
	}
	if err := c.begin(ctx, op); err != nil {
		return nil, err
	}
	defer c.end()

	b := appendHeader(c.wbuf[:0], cmdConnect, connectSize)
	b = ne.AppendUint32(b, c.hContext)
	b = appendReaderName(b, reader)
	b = ne.AppendUint32(b, shareShared)
	b = ne.AppendUint32(b, uint32(c.protocols))
	b = ne.AppendUint32(b, 0) // hCard
	b = ne.AppendUint32(b, 0) // dwActiveProtocol
	b = ne.AppendUint32(b, uint32(Success))
	c.wbuf = b
	reply, err := c.roundTrip(ctx, op, connectSize, false)
	if err != nil {
		return nil, err
	}
	if ne.Uint32(reply) != c.hContext {
		return nil, c.malformed(op)
	}
	if rv := Code(ne.Uint32(reply[148:])); rv != Success {
		return nil, &Error{Op: op, Code: rv}
	}
	return &Conn{
		c:        c,
		reader:   reader,
		handle:   ne.Uint32(reply[140:]),
		protocol: Protocol(ne.Uint32(reply[144:])),
	}, nil
}

// begin takes the exchange lock, arms the context's deadline and
// cancellation on the socket, and completes what an interrupted exchange
// left.
func (c *Client) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctxError(op, ctx.Err())
	}
	if c.closed || (c.released.Load() && op != "release") {
		<-c.sem
		return &Error{Op: op, Code: NoService, Err: ErrClosed}
	}
	deadline, _ := ctx.Deadline()
	c.dmu.Lock()
	c.ioCtx = ctx
	err := c.conn.SetDeadline(deadline)
	c.dmu.Unlock()
	if err != nil {
		c.closeConn()
		c.end()
		return &Error{Op: op, Code: CommError, Err: err}
	}
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, c.interruptFn)
	}
	if c.pend.active {
		if err := c.resync(ctx, op); err != nil {
			c.end()
			return err
		}
	}
	return nil
}

// end releases the exchange lock.
func (c *Client) end() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.dmu.Lock()
	c.ioCtx = nil
	c.dmu.Unlock()
	<-c.sem
}

// interrupt runs when the context of an exchange ends: it makes the
// blocked socket I/O return. A late run for an earlier exchange does
// nothing, because the current exchange's context is not done.
func (c *Client) interrupt() {
	c.dmu.Lock()
	if c.ioCtx != nil && c.ioCtx.Err() != nil {
		c.conn.SetDeadline(time.Unix(1, 0))
	}
	c.dmu.Unlock()
}

// pending is the state of an exchange that its context interrupted: the
// request bytes not yet written, and the reply bytes not yet read. The
// reply's fixed part is read into rbuf as it was; for a transmit, the
// response that follows it is skipped.
type pending struct {
	active    bool
	write     []byte // unwritten tail of the request, in wbuf
	fixed     int    // length of the reply's fixed part
	got       int    // bytes of it already in rbuf
	transmit  bool   // the reply is a transmit reply
	tailKnown bool   // the response length has been read from the fixed part
	tail      int    // bytes of the response still to skip
}

// resync completes an interrupted exchange: it writes the rest of its
// request and reads and drops the rest of its reply.
func (c *Client) resync(ctx context.Context, op string) error {
	p := &c.pend
	if len(p.write) > 0 {
		n, err := c.conn.Write(p.write)
		p.write = p.write[n:]
		if err != nil {
			return c.ioFailed(ctx, op, err)
		}
	}
	if p.got < p.fixed {
		n, err := io.ReadFull(c.conn, c.rbuf[p.got:p.fixed])
		p.got += n
		if err != nil {
			return c.ioFailed(ctx, op, err)
		}
	}
	if p.transmit && !p.tailKnown {
		if Code(ne.Uint32(c.rbuf[28:])) == Success {
			n := ne.Uint32(c.rbuf[24:])
			if n > MaxResponse {
				return c.malformed(op)
			}
			p.tail = int(n)
		}
		p.tailKnown = true
	}
	for p.tail > 0 {
		n, err := c.conn.Read(c.rbuf[:min(p.tail, len(c.rbuf))])
		p.tail -= n
		if err != nil {
			return c.ioFailed(ctx, op, err)
		}
	}
	*p = pending{}
	return nil
}

// roundTrip sends c.wbuf and reads the fixed part of the reply, n bytes,
// into c.rbuf; transmit says whether a response follows it.
func (c *Client) roundTrip(ctx context.Context, op string, n int, transmit bool) ([]byte, error) {
	reply := c.rbuf[:n]
	w, err := c.conn.Write(c.wbuf)
	if err != nil {
		c.pend = pending{active: true, write: c.wbuf[w:], fixed: n, transmit: transmit}
		return nil, c.ioFailed(ctx, op, err)
	}
	r, err := io.ReadFull(c.conn, reply)
	if err != nil {
		c.pend = pending{active: true, fixed: n, got: r, transmit: transmit}
		return nil, c.ioFailed(ctx, op, err)
	}
	return reply, nil
}

// readTail reads the response of a transmit into b.
func (c *Client) readTail(ctx context.Context, op string, b []byte) error {
	r, err := io.ReadFull(c.conn, b)
	if err != nil {
		c.pend = pending{active: true, transmit: true, tailKnown: true, tail: len(b) - r}
		return c.ioFailed(ctx, op, err)
	}
	return nil
}

// ioFailed says why a read or write failed. When ctx ended, c.pend (set by
// the caller) lets the next call complete the exchange; otherwise pcscd
// went away or sent a short reply, and the connection is closed.
func (c *Client) ioFailed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctxError(op, ctx.Err())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Socket deadlines come only from ctx, whose own timer may not
		// have fired yet.
		return ctxError(op, context.DeadlineExceeded)
	}
	c.closeConn()
	return &Error{Op: op, Code: CommError, Err: err}
}

// malformed closes the connection after a reply that cannot be what was
// asked for.
func (c *Client) malformed(op string) error {
	c.closeConn()
	return &Error{Op: op, Code: CommError, Err: errMalformed}
}

func (c *Client) closeConn() {
	c.closed = true
	c.pend = pending{}
	c.conn.Close()
}

// ctxError wraps the error of a context that ended during op.
func ctxError(op string, err error) error {
	return &ctxErr{op: op, err: err}
}

type ctxErr struct {
	op  string
	err error
}

func (e *ctxErr) Error() string { return "pcsc: " + e.op + ": " + e.err.Error() }
func (e *ctxErr) Unwrap() error { return e.err }
