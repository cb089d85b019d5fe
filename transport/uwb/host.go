package uwb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Config configures a [Host]. The zero value is ready to use.
type Config struct {
	// CommandTimeout bounds the wait for each response, within the
	// context's deadline. Default 1 s.
	CommandTimeout time.Duration
	// Retries is how often a command answered COMMAND_RETRY (status 0A) is
	// sent again. Default 2; negative means never.
	Retries int
	// MaxSegment is the largest payload of one command packet; longer
	// commands are segmented. Default 255.
	MaxSegment int
	// MaxMessageSize bounds a reassembled response or notification.
	// Default 2048 bytes.
	MaxMessageSize int
	// NotificationQueue is the number of notifications kept for
	// [Host.Notification]. Default 64.
	NotificationQueue int
}

func (c *Config) resolve() Config {
	r := *c
	if r.CommandTimeout <= 0 {
		r.CommandTimeout = time.Second
	}
	switch {
	case r.Retries == 0:
		r.Retries = 2
	case r.Retries < 0:
		r.Retries = 0
	}
	if r.MaxSegment <= 0 || r.MaxSegment > MaxControlPayload {
		r.MaxSegment = MaxControlPayload
	}
	if r.MaxMessageSize <= 0 {
		r.MaxMessageSize = 2048
	}
	r.MaxMessageSize = max(r.MaxMessageSize, MaxControlPayload)
	if r.NotificationQueue <= 0 {
		r.NotificationQueue = 64
	}
	return r
}

// Host is a FiRa UCI host: it drives a UWB subsystem (UWBS) over a byte
// stream, a UART to a development board ([OpenSerial]) or any
// io.ReadWriter. It frames and segments commands, reassembles responses and
// notifications, matches each response to its command, and queues
// notifications in the order they arrive.
//
// UCI allows one outstanding command: the Host serialises commands, and
// each waits for the response with the same opcode, for at most
// Config.CommandTimeout and the context. Responses that match no waiting
// command (a late answer after a timeout) are dropped; after a timeout the
// state of the UWBS is unknown and a [Host.Reset] is in order. A framing
// error or the end of the stream stops the host: every call returns it.
//
// A Host is safe for concurrent use.
type Host struct {
	rw  io.ReadWriter
	cfg Config

	cmdMu sync.Mutex // one command at a time
	cbuf  []byte     // command payload
	wbuf  []byte     // command packets

	writes    chan []byte
	writeDone chan error

	mu      sync.Mutex
	err     error // sticky: the reader stopped, or Close
	waiting Opcode
	wanted  bool
	rsp     []byte
	rspOK   chan struct{} // signalled when rsp holds the awaited response

	queue     []queued
	head, cnt int
	dropped   int
	noteReady chan struct{}

	quit     chan struct{}
	readDone chan struct{}
	closing  sync.Once
}

type queued struct {
	op Opcode
	b  []byte
}

// NewHost starts a host on rw. It reads rw in a goroutine until rw fails or
// [Host.Close].
func NewHost(rw io.ReadWriter, cfg *Config) *Host {
	if cfg == nil {
		cfg = &Config{}
	}
	c := cfg.resolve()
	h := &Host{
		rw: rw, cfg: c,
		cbuf:      make([]byte, 0, c.MaxMessageSize),
		wbuf:      make([]byte, 0, c.MaxMessageSize+HeaderSize*(c.MaxMessageSize/c.MaxSegment+1)),
		writes:    make(chan []byte),
		writeDone: make(chan error, 1),
		rsp:       make([]byte, 0, c.MaxMessageSize),
		rspOK:     make(chan struct{}, 1),
		queue:     make([]queued, c.NotificationQueue),
		noteReady: make(chan struct{}, 1),
		quit:      make(chan struct{}),
		readDone:  make(chan struct{}),
	}
	for i := range h.queue {
		h.queue[i].b = make([]byte, 0, c.MaxMessageSize)
	}
	go h.readLoop()
	go h.writeLoop()
	return h
}

// Close stops the host. When rw is an io.Closer, Close closes it, which ends
// the reading goroutine; otherwise that goroutine ends when rw next returns.
// Calls waiting for a response return [ErrClosed].
func (h *Host) Close() error {
	var err error
	h.closing.Do(func() {
		h.fail(ErrClosed)
		close(h.quit)
		if c, ok := h.rw.(io.Closer); ok {
			err = c.Close()
			<-h.readDone
		}
	})
	return err
}

// fail records the host's sticky error and wakes every waiter.
func (h *Host) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = err
	}
	h.mu.Unlock()
	select {
	case h.rspOK <- struct{}{}:
	default:
	}
	select {
	case h.noteReady <- struct{}{}:
	default:
	}
}

func (h *Host) writeLoop() {
	for {
		select {
		case b := <-h.writes:
			_, err := h.rw.Write(b)
			h.writeDone <- err
		case <-h.quit:
			return
		}
	}
}

func (h *Host) readLoop() {
	defer close(h.readDone)
	pkt := make([]byte, HeaderSize+MaxDataPayload)
	r := NewReassembler(h.cfg.MaxMessageSize)
	for {
		if _, err := io.ReadFull(h.rw, pkt[:HeaderSize]); err != nil {
			h.fail(streamError(err))
			return
		}
		hdr, err := ParseHeader(pkt[:HeaderSize])
		if err != nil {
			h.fail(err)
			return
		}
		if _, err := io.ReadFull(h.rw, pkt[HeaderSize:HeaderSize+hdr.Len]); err != nil {
			h.fail(streamError(err))
			return
		}
		if hdr.MT == MTData {
			continue // the host does not use data packets; skip them
		}
		p, done, err := r.Add(pkt[:HeaderSize+hdr.Len])
		if err != nil {
			h.fail(err)
			return
		}
		if done {
			h.dispatch(p)
		}
	}
}

// streamError maps an error of the byte stream: its end (EOF, a closed
// pipe or connection) is ErrClosed.
func streamError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return fmt.Errorf("uwb: UWBS stream: %w", err)
}

// dispatch hands a response to the waiting command and queues a
// notification.
func (h *Host) dispatch(p Packet) {
	h.mu.Lock()
	switch p.MT {
	case MTResponse:
		if !h.wanted || p.Op != h.waiting {
			h.mu.Unlock()
			return // unsolicited or late: dropped
		}
		h.rsp = append(h.rsp[:0], p.Payload...)
		h.wanted = false
		h.mu.Unlock()
		select {
		case h.rspOK <- struct{}{}:
		default:
		}
		return
	case MTNotification:
		if h.cnt == len(h.queue) { // full: drop the oldest
			h.head = (h.head + 1) % len(h.queue)
			h.cnt--
			h.dropped++
		}
		q := &h.queue[(h.head+h.cnt)%len(h.queue)]
		q.op, q.b = p.Op, append(q.b[:0], p.Payload...)
		h.cnt++
		h.mu.Unlock()
		select {
		case h.noteReady <- struct{}{}:
		default:
		}
		return
	}
	h.mu.Unlock() // a command from the UWBS: ignored
}

// Do sends command cmd and decodes the response into rsp, which must have
// the same opcode. It returns the transport's, the framing's or the
// decoder's error, or an error wrapping [ErrTimeout]; the response's
// status is left to the caller (see the typed methods). A response with
// status COMMAND_RETRY makes Do send the command again, Config.Retries times
// at most.
func (h *Host) Do(ctx context.Context, cmd, rsp Message) error {
	if cmd.Type() != MTCommand || rsp.Type() != MTResponse || cmd.Opcode() != rsp.Opcode() {
		return fmt.Errorf("uwb: Do(%v %v, %v %v): want a command and its response", cmd.Type(), cmd.Opcode(), rsp.Type(), rsp.Opcode())
	}
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	for attempt := 0; ; attempt++ {
		payload, err := h.roundTrip(ctx, cmd)
		if err != nil {
			return err
		}
		if attempt < h.cfg.Retries && len(payload) > 0 && Status(payload[0]) == StatusCommandRetry {
			continue
		}
		if err := rsp.UnmarshalPayload(payload); err != nil {
			return fmt.Errorf("uwb: %v response: %w", cmd.Opcode(), err)
		}
		return nil
	}
}

// roundTrip writes one command and waits for its response payload, which
// stays valid until the next command.
func (h *Host) roundTrip(ctx context.Context, cmd Message) ([]byte, error) {
	op := cmd.Opcode()
	h.cbuf = cmd.AppendPayload(h.cbuf[:0])
	if len(h.cbuf) > h.cfg.MaxMessageSize {
		return nil, fmt.Errorf("uwb: %v command of %d bytes, limit %d", op, len(h.cbuf), h.cfg.MaxMessageSize)
	}
	h.wbuf = AppendMessage(h.wbuf[:0], MTCommand, op, h.cbuf, h.cfg.MaxSegment)

	h.mu.Lock()
	if h.err != nil {
		err := h.err
		h.mu.Unlock()
		return nil, err
	}
	h.waiting, h.wanted = op, true
	h.mu.Unlock()
	select { // a signal left by an earlier command
	case <-h.rspOK:
	default:
	}
	defer func() {
		h.mu.Lock()
		h.wanted = false
		h.mu.Unlock()
	}()

	ctx, cancel := context.WithTimeout(ctx, h.cfg.CommandTimeout)
	defer cancel()
	select {
	case h.writes <- h.wbuf:
	case <-ctx.Done():
		return nil, h.timeout(ctx, op)
	case <-h.quit:
		return nil, ErrClosed
	}
	select {
	case err := <-h.writeDone:
		if err != nil {
			err = fmt.Errorf("uwb: writing %v: %w", op, streamError(err))
			h.fail(err)
			return nil, err
		}
	case <-ctx.Done():
		// A write that does not complete leaves the stream in an unknown
		// state (part of a packet may be out): the host stops.
		err := h.timeout(ctx, op)
		h.fail(err)
		return nil, err
	}
	for {
		select {
		case <-h.rspOK:
		case <-ctx.Done():
			return nil, h.timeout(ctx, op)
		}
		h.mu.Lock()
		got, err := !h.wanted, h.err
		h.mu.Unlock()
		switch {
		case got:
			return h.rsp, nil
		case err != nil:
			return nil, err
		}
	}
}

// timeout returns the error of a command whose context ended: the caller's
// cancellation or deadline, else ErrTimeout.
func (h *Host) timeout(ctx context.Context, op Opcode) error {
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("uwb: %v: %w", op, err)
	}
	return fmt.Errorf("%w: %v after %v (%w)", ErrTimeout, op, h.cfg.CommandTimeout, context.DeadlineExceeded)
}

// Notification is a notification from the UWBS: its opcode and payload.
// Reuse one Notification across calls of [Host.Notification] to avoid
// allocating.
type Notification struct {
	Op      Opcode
	Payload []byte
}

// Decode decodes the notification into m, a notification message of the
// same opcode.
func (n *Notification) Decode(m Message) error {
	if m.Type() != MTNotification || m.Opcode() != n.Op {
		return malformed("%v notification decoded as %v %v", n.Op, m.Type(), m.Opcode())
	}
	return m.UnmarshalPayload(n.Payload)
}

// Notification waits for the next notification and copies it into n. If
// notifications were dropped because the queue was full (the oldest go
// first), it returns an error wrapping [ErrOverflow] once, with n unset. A
// stopped host still hands out the notifications it queued, then its error.
func (h *Host) Notification(ctx context.Context, n *Notification) error {
	for {
		h.mu.Lock()
		if h.dropped > 0 {
			d := h.dropped
			h.dropped = 0
			h.mu.Unlock()
			return fmt.Errorf("%w: %d dropped", ErrOverflow, d)
		}
		if h.cnt > 0 {
			q := &h.queue[h.head]
			n.Op, n.Payload = q.op, append(n.Payload[:0], q.b...)
			h.head = (h.head + 1) % len(h.queue)
			h.cnt--
			h.mu.Unlock()
			return nil
		}
		err := h.err
		h.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-h.noteReady:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// check turns a response status into an error naming the command.
func check(op Opcode, s Status) error {
	if s == StatusOK {
		return nil
	}
	return fmt.Errorf("uwb: %v: %w", op, s)
}

// Reset resets the UWBS (CORE_DEVICE_RESET). The UWBS then reports READY
// with CORE_DEVICE_STATUS_NTF, which [Host.Notification] delivers.
func (h *Host) Reset(ctx context.Context) error {
	var rsp DeviceResetRsp
	if err := h.Do(ctx, &DeviceResetCmd{}, &rsp); err != nil {
		return err
	}
	return check(OpCoreDeviceReset, rsp.Status)
}

// DeviceInfo reads the UWBS's versions and vendor information
// (CORE_GET_DEVICE_INFO) into info.
func (h *Host) DeviceInfo(ctx context.Context, info *GetDeviceInfoRsp) error {
	if err := h.Do(ctx, &GetDeviceInfoCmd{}, info); err != nil {
		return err
	}
	return check(OpCoreDeviceInfo, info.Status)
}

// Capabilities reads the UWBS's capabilities (CORE_GET_CAPS_INFO) into
// caps; [Caps.CCC] decodes the CCC ones.
func (h *Host) Capabilities(ctx context.Context, caps *GetCapsRsp) error {
	if err := h.Do(ctx, &GetCapsCmd{}, caps); err != nil {
		return err
	}
	return check(OpCoreGetCaps, caps.Status)
}

// Timestamp reads the UWBS clock in µs (CORE_QUERY_UWBS_TIMESTAMP), the
// clock of the CCC UWB_Time0.
func (h *Host) Timestamp(ctx context.Context) (uint64, error) {
	var rsp QueryTimestampRsp
	if err := h.Do(ctx, &QueryTimestampCmd{}, &rsp); err != nil {
		return 0, err
	}
	return rsp.Timestamp, check(OpCoreQueryTimestamp, rsp.Status)
}

// InitSession creates session id of type t (SESSION_INIT; [SessionCCC] for
// CCC ranging) and returns its token: the handle a UCI 2.0 UWBS assigns, or
// id.
func (h *Host) InitSession(ctx context.Context, id uint32, t SessionType) (uint32, error) {
	var rsp SessionInitRsp
	if err := h.Do(ctx, &SessionInitCmd{SessionID: id, SessionType: t}, &rsp); err != nil {
		return 0, err
	}
	if err := check(OpSessionInit, rsp.Status); err != nil {
		return 0, err
	}
	if rsp.HasHandle {
		return rsp.Handle, nil
	}
	return id, nil
}

// SetAppConfig sets session parameters (SESSION_SET_APP_CONFIG). Parameters
// the UWBS refuses make an *[AppConfigError].
func (h *Host) SetAppConfig(ctx context.Context, session uint32, params *AppConfigs) error {
	cmd := SetAppConfigCmd{Session: session, Config: *params}
	defer cmd.Config.Clear()
	var rsp SetAppConfigRsp
	if err := h.Do(ctx, &cmd, &rsp); err != nil {
		return err
	}
	if rsp.Status == StatusOK {
		return nil
	}
	e := &AppConfigError{Status: rsp.Status}
	for _, r := range rsp.Results() {
		if r.Status != StatusOK {
			e.Refused = append(e.Refused, r)
		}
	}
	return e
}

// GetAppConfig reads session parameters (SESSION_GET_APP_CONFIG) into out:
// those named, or all without ids.
func (h *Host) GetAppConfig(ctx context.Context, session uint32, out *AppConfigs, ids ...AppConfigID) error {
	cmd := GetAppConfigCmd{Session: session}
	if err := cmd.SetIDs(ids...); err != nil {
		return err
	}
	var rsp GetAppConfigRsp
	defer rsp.Config.Clear()
	if err := h.Do(ctx, &cmd, &rsp); err != nil {
		return err
	}
	if err := check(OpSessionGetAppConfig, rsp.Status); err != nil {
		return err
	}
	*out = rsp.Config
	return nil
}

// StartRanging starts ranging in a configured session (SESSION_START); the
// UWBS reports every round with SESSION_INFO_NTF ([RangingData]).
func (h *Host) StartRanging(ctx context.Context, session uint32) error {
	var rsp SessionStartRsp
	if err := h.Do(ctx, &SessionStartCmd{Session: session}, &rsp); err != nil {
		return err
	}
	return check(OpSessionStart, rsp.Status)
}

// StopRanging stops ranging (SESSION_STOP).
func (h *Host) StopRanging(ctx context.Context, session uint32) error {
	var rsp SessionStopRsp
	if err := h.Do(ctx, &SessionStopCmd{Session: session}, &rsp); err != nil {
		return err
	}
	return check(OpSessionStop, rsp.Status)
}

// DeinitSession deletes a session (SESSION_DEINIT).
func (h *Host) DeinitSession(ctx context.Context, session uint32) error {
	var rsp SessionDeinitRsp
	if err := h.Do(ctx, &SessionDeinitCmd{Session: session}, &rsp); err != nil {
		return err
	}
	return check(OpSessionDeinit, rsp.Status)
}
