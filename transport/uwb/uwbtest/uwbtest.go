package uwbtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/opencarkey/sdk/transport/uwb"
)

// Air is the simulated radio space of a set of chips and the scripted
// distance track of their ranging. It is safe for concurrent use.
type Air struct {
	mu    sync.Mutex
	chips []*Chip
	track []uint16
	round int
}

// NewAir returns an air whose ranging rounds measure the distances of track,
// in centimetres, one per round; after the last the last repeats. Without a
// track every round measures 100 cm.
func NewAir(track ...uint16) *Air {
	a := &Air{}
	a.SetTrack(track...)
	return a
}

// SetTrack replaces the distance track and restarts it.
func (a *Air) SetTrack(cm ...uint16) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(cm) == 0 {
		cm = []uint16{100}
	}
	a.track, a.round = append([]uint16(nil), cm...), 0
}

// ChipConfig configures a simulated UWBS.
type ChipConfig struct {
	// Address is the chip's short MAC address in the ranging
	// notifications of its peers. Default: 0x0A00 + the chip's index.
	Address uint16
	// Caps are the chip's CCC capabilities. Default: channels 5 and 9, slot
	// lengths 3 to 12 chaps, SYNC codes 9-12, every hopping mode, version
	// 1.0, configurations 0000 and 0001, the five pulse-shape combinations,
	// RAN multiplier 1, 4 sessions.
	Caps *uwb.CCCCaps
	// UCI1 makes the chip answer SESSION_INIT without a session handle
	// (UCI 1.x); by default it assigns handles (UCI 2.0).
	UCI1 bool
	// Silent makes the chip read every command and never answer: a chip
	// that hangs.
	Silent bool
	// MaxSegment is the largest payload of the chip's packets. Default 255.
	MaxSegment int
}

// DefaultCaps returns the default CCC capabilities of a simulated chip.
func DefaultCaps() uwb.CCCCaps {
	c := uwb.CCCCaps{Slots: 0x3F, SyncCodes: 0x00000F00, Hopping: 0xF8, Channels: 0x03, MinRAN: 1, MaxSessions: 4}
	_ = c.SetLists([]uint16{0x0100}, []uint16{0x0000, 0x0001}, []uint8{0x01, 0x10, 0x11, 0x12, 0x21})
	return c
}

// Chip is one simulated UWBS serving a byte stream.
type Chip struct {
	air  *Air
	rw   io.ReadWriter
	cfg  ChipConfig
	caps uwb.GetCapsRsp
	wmu  sync.Mutex
	wbuf []byte
	done chan struct{}
	err  error

	// guarded by air.mu
	sessions   []*session
	nextHandle uint32
	clock      uint64
}

type session struct {
	id, handle uint32
	state      uwb.SessionState
	params     uwb.AppConfigs
	ccc        uwb.CCCConfig
	configured bool
	seq        uint32
	lastSTS    uint32
}

// Attach starts a chip that serves UCI on rw until rw fails or returns EOF.
func (a *Air) Attach(rw io.ReadWriter, cfg ChipConfig) (*Chip, error) {
	caps := DefaultCaps()
	if cfg.Caps != nil {
		caps = *cfg.Caps
	}
	c := &Chip{air: a, rw: rw, cfg: cfg, done: make(chan struct{}), nextHandle: 0x10000001, clock: 1_000_000}
	if err := c.caps.Caps.AppendCCC(&caps); err != nil {
		return nil, err
	}
	a.mu.Lock()
	if c.cfg.Address == 0 {
		c.cfg.Address = 0x0A00 + uint16(len(a.chips))
	}
	a.chips = append(a.chips, c)
	a.mu.Unlock()
	go c.serve()
	return c, nil
}

// Pipe starts a chip on one end of an in-memory full-duplex pipe and returns
// the other end, for uwb.NewHost.
func (a *Air) Pipe(cfg ChipConfig) (io.ReadWriteCloser, *Chip, error) {
	host, chip := net.Pipe()
	c, err := a.Attach(chip, cfg)
	if err != nil {
		host.Close()
		chip.Close()
		return nil, nil, err
	}
	return host, c, nil
}

// Done is closed when the chip stops serving; Err then says why.
func (c *Chip) Done() <-chan struct{} { return c.done }

// Err returns why the chip stopped (nil while it serves; a framing error for
// bytes that are not UCI).
func (c *Chip) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

func (c *Chip) serve() {
	defer close(c.done)
	defer c.detach()
	pkt := make([]byte, uwb.HeaderSize+uwb.MaxDataPayload)
	r := uwb.NewReassembler(4096)
	for {
		if _, err := io.ReadFull(c.rw, pkt[:uwb.HeaderSize]); err != nil {
			c.stop(err)
			return
		}
		h, err := uwb.ParseHeader(pkt[:uwb.HeaderSize])
		if err != nil {
			c.stop(err)
			return
		}
		if _, err := io.ReadFull(c.rw, pkt[uwb.HeaderSize:uwb.HeaderSize+h.Len]); err != nil {
			c.stop(err)
			return
		}
		if c.cfg.Silent || h.MT == uwb.MTData {
			continue
		}
		p, done, err := r.Add(pkt[:uwb.HeaderSize+h.Len])
		if err != nil {
			c.stop(err)
			return
		}
		if done && p.MT == uwb.MTCommand {
			if err := c.command(p.Op, p.Payload); err != nil {
				c.stop(err)
				return
			}
		}
	}
}

func (c *Chip) stop(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	c.err = err
}

func (c *Chip) detach() {
	c.air.mu.Lock()
	defer c.air.mu.Unlock()
	for i, x := range c.air.chips {
		if x == c {
			c.air.chips = append(c.air.chips[:i], c.air.chips[i+1:]...)
			break
		}
	}
	for _, s := range c.sessions {
		s.params.Clear()
		s.ccc.Clear()
	}
	c.sessions = nil
}

// send writes one message, segmented.
func (c *Chip) send(m uwb.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var payload [4096]byte
	c.wbuf = uwb.AppendMessage(c.wbuf[:0], m.Type(), m.Opcode(), m.AppendPayload(payload[:0]), c.cfg.MaxSegment)
	_, err := c.rw.Write(c.wbuf)
	return err
}

// findLocked returns the session with token t.
func (c *Chip) findLocked(t uint32) *session {
	for _, s := range c.sessions {
		if s.handle == t {
			return s
		}
	}
	return nil
}

// command answers one command, and sends the notifications it causes.
func (c *Chip) command(op uwb.Opcode, payload []byte) error {
	var notes []uwb.Message
	rsp, err := c.answer(op, payload, &notes)
	if err != nil {
		return err
	}
	if err := c.send(rsp); err != nil {
		return err
	}
	for _, n := range notes {
		if err := c.send(n); err != nil {
			return err
		}
	}
	return nil
}

// statusRsp is a response of any opcode that carries a status alone, for
// commands that do not parse.
type statusRsp struct {
	op     uwb.Opcode
	status uwb.Status
}

func (r *statusRsp) Type() uwb.MessageType { return uwb.MTResponse }
func (r *statusRsp) Opcode() uwb.Opcode    { return r.op }
func (r *statusRsp) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(r.status))
	switch r.op {
	case uwb.OpCoreGetCaps, uwb.OpSessionSetAppConfig, uwb.OpSessionGetAppConfig:
		dst = append(dst, 0) // an empty list
	case uwb.OpCoreQueryTimestamp:
		dst = append(dst, make([]byte, 8)...)
	}
	return dst
}
func (r *statusRsp) UnmarshalPayload(b []byte) error { return fmt.Errorf("uwbtest: not decoded") }
func status(op uwb.Opcode, s uwb.Status) uwb.Message { return &statusRsp{op: op, status: s} }
func sessionNote(s *session) uwb.Message {
	return &uwb.SessionStatusNtf{Session: s.handle, State: s.state}
}

func (c *Chip) answer(op uwb.Opcode, payload []byte, notes *[]uwb.Message) (uwb.Message, error) {
	c.air.mu.Lock()
	defer c.air.mu.Unlock()
	switch op {
	case uwb.OpCoreDeviceReset:
		var cmd uwb.DeviceResetCmd
		if cmd.UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		for _, s := range c.sessions {
			s.params.Clear()
			s.ccc.Clear()
		}
		c.sessions = nil
		*notes = append(*notes, &uwb.DeviceStatusNtf{State: uwb.DeviceReady})
		return &uwb.DeviceResetRsp{Status: uwb.StatusOK}, nil

	case uwb.OpCoreDeviceInfo:
		if (&uwb.GetDeviceInfoCmd{}).UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		rsp := &uwb.GetDeviceInfoRsp{UCIVersion: 0x0002, MACVersion: 0x0002, PHYVersion: 0x0002, UCITestVersion: 0x0001}
		_ = rsp.SetVendor([]byte("opencarkey uwbtest"))
		return rsp, nil

	case uwb.OpCoreGetCaps:
		if (&uwb.GetCapsCmd{}).UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		rsp := c.caps
		return &rsp, nil

	case uwb.OpCoreQueryTimestamp:
		if (&uwb.QueryTimestampCmd{}).UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		c.clock += 1000
		return &uwb.QueryTimestampRsp{Timestamp: c.clock}, nil

	case uwb.OpSessionInit:
		var cmd uwb.SessionInitCmd
		if cmd.UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		if cmd.SessionType != uwb.SessionCCC {
			return status(op, uwb.StatusInvalidParam), nil
		}
		for _, s := range c.sessions {
			if s.id == cmd.SessionID {
				return status(op, uwb.StatusSessionDuplicate), nil
			}
		}
		max := uint32(4)
		if v, ok := c.caps.Caps.Get(uwb.CapCCCMaxSessions); ok && len(v) == 4 {
			max = uint32(v[0]) | uint32(v[1])<<8 | uint32(v[2])<<16 | uint32(v[3])<<24
		}
		if uint32(len(c.sessions)) >= max {
			return status(op, uwb.StatusMaxSessionsExceeded), nil
		}
		s := &session{id: cmd.SessionID, handle: cmd.SessionID, state: uwb.SessionStateInit}
		rsp := &uwb.SessionInitRsp{}
		if !c.cfg.UCI1 {
			s.handle = c.nextHandle
			c.nextHandle++
			rsp.Handle, rsp.HasHandle = s.handle, true
		}
		c.sessions = append(c.sessions, s)
		*notes = append(*notes, sessionNote(s))
		return rsp, nil

	case uwb.OpSessionDeinit:
		var cmd uwb.SessionDeinitCmd
		if cmd.UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		for i, s := range c.sessions {
			if s.handle == cmd.Session {
				c.sessions = append(c.sessions[:i], c.sessions[i+1:]...)
				s.params.Clear()
				s.ccc.Clear()
				s.state = uwb.SessionStateDeinit
				*notes = append(*notes, sessionNote(s))
				return &uwb.SessionDeinitRsp{}, nil
			}
		}
		return status(op, uwb.StatusSessionNotExist), nil

	case uwb.OpSessionSetAppConfig:
		var cmd uwb.SetAppConfigCmd
		defer cmd.Config.Clear()
		if cmd.UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		s := c.findLocked(cmd.Session)
		switch {
		case s == nil:
			return status(op, uwb.StatusSessionNotExist), nil
		case s.state == uwb.SessionStateActive:
			return status(op, uwb.StatusSessionActive), nil
		}
		rsp := &uwb.SetAppConfigRsp{}
		for i := range cmd.Config.Len() {
			p := cmd.Config.At(i)
			if p.ID == uwb.CfgCCCLastSTSIndexUsed {
				_ = rsp.AddResult(p.ID, uwb.StatusReadOnly)
				continue
			}
			_ = s.params.SetBytes(p.ID, p.Value())
		}
		if len(rsp.Results()) > 0 {
			rsp.Status = uwb.StatusInvalidParam
		}
		var cfg uwb.CCCConfig
		if cfg.FromAppConfigs(&s.params) == nil {
			s.ccc.Clear()
			s.ccc, s.configured = cfg, true
			if s.state == uwb.SessionStateInit {
				s.state = uwb.SessionStateIdle
				*notes = append(*notes, sessionNote(s))
			}
		}
		cfg.Clear()
		return rsp, nil

	case uwb.OpSessionGetAppConfig:
		var cmd uwb.GetAppConfigCmd
		if cmd.UnmarshalPayload(payload) != nil {
			return status(op, uwb.StatusSyntaxError), nil
		}
		s := c.findLocked(cmd.Session)
		if s == nil {
			return status(op, uwb.StatusSessionNotExist), nil
		}
		rsp := &uwb.GetAppConfigRsp{}
		all := s.params
		defer all.Clear()
		if s.configured {
			_ = all.SetUint(uwb.CfgCCCLastSTSIndexUsed, uint64(s.lastSTS))
		}
		ids := cmd.IDs()
		for i := range all.Len() {
			p := all.At(i)
			want := len(ids) == 0
			for _, id := range ids {
				want = want || id == p.ID
			}
			if want {
				_ = rsp.Config.SetBytes(p.ID, p.Value())
			}
		}
		for _, id := range ids {
			if _, ok := rsp.Config.Get(id); !ok {
				rsp.Status = uwb.StatusInvalidParam
			}
		}
		return rsp, nil

	case uwb.OpSessionStart, uwb.OpSessionStop:
		var token uint32
		if op == uwb.OpSessionStart {
			var cmd uwb.SessionStartCmd
			if cmd.UnmarshalPayload(payload) != nil {
				return status(op, uwb.StatusSyntaxError), nil
			}
			token = cmd.Session
		} else {
			var cmd uwb.SessionStopCmd
			if cmd.UnmarshalPayload(payload) != nil {
				return status(op, uwb.StatusSyntaxError), nil
			}
			token = cmd.Session
		}
		s := c.findLocked(token)
		switch {
		case s == nil:
			return status(op, uwb.StatusSessionNotExist), nil
		case !s.configured:
			return status(op, uwb.StatusSessionNotConfigured), nil
		case op == uwb.OpSessionStart && s.state == uwb.SessionStateActive:
			return status(op, uwb.StatusSessionActive), nil
		case op == uwb.OpSessionStop && s.state != uwb.SessionStateActive:
			return status(op, uwb.StatusRejected), nil
		}
		if op == uwb.OpSessionStart {
			s.state = uwb.SessionStateActive
			s.lastSTS = s.ccc.STSIndex0
		} else {
			s.state = uwb.SessionStateIdle
		}
		*notes = append(*notes, sessionNote(s))
		return status(op, uwb.StatusOK), nil
	}
	if op.GID() > uwb.GroupDataControl && op.GID() != uwb.GroupTest {
		return status(op, uwb.StatusUnknownGID), nil
	}
	return status(op, uwb.StatusUnknownOID), nil
}

// Step runs n ranging rounds: every active session of every chip gets one
// SESSION_INFO_NTF per round (see the package documentation for what it
// measures). It returns the first error writing to a chip's stream.
func (a *Air) Step(ctx context.Context, n int) error {
	for range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		type out struct {
			c *Chip
			d *uwb.RangingData
		}
		var outs []out
		a.mu.Lock()
		dist := a.track[min(a.round, len(a.track)-1)]
		a.round++
		for _, c := range a.chips {
			for _, s := range c.sessions {
				if s.state != uwb.SessionStateActive {
					continue
				}
				d := &uwb.RangingData{Sequence: s.seq, Session: s.handle, Interval: uint32(s.ccc.RANMultiplier) * 96}
				s.seq++
				s.lastSTS++
				for _, peer := range a.peersLocked(c, s) {
					m := uwb.TwoWayMeasurement{Status: peer.status, SlotIndex: 1}
					m.Address[0], m.Address[1] = byte(peer.c.cfg.Address), byte(peer.c.cfg.Address>>8)
					if peer.status == uwb.StatusOK {
						m.Distance = dist
					}
					_ = d.AddMeasurement(m)
				}
				if len(d.Measurements()) == 0 {
					_ = d.AddMeasurement(uwb.TwoWayMeasurement{Address: [8]byte{0xFF, 0xFF}, Status: uwb.StatusRangingRxTimeout})
				}
				outs = append(outs, out{c, d})
			}
		}
		a.mu.Unlock()
		for _, o := range outs {
			if err := o.c.send(o.d); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return fmt.Errorf("uwbtest: chip %04x: %w", o.c.cfg.Address, err)
			}
		}
	}
	return nil
}

type peer struct {
	c      *Chip
	status uwb.Status
}

// peersLocked returns the sessions s ranges with: active sessions of the
// same ID and the opposite role on other chips, each with the status of
// their measurement.
func (a *Air) peersLocked(c *Chip, s *session) []peer {
	var ps []peer
	for _, oc := range a.chips {
		if oc == c {
			continue
		}
		for _, os := range oc.sessions {
			if os.state != uwb.SessionStateActive || os.id != s.id || os.ccc.Initiator == s.ccc.Initiator {
				continue
			}
			st := uwb.StatusRangingRxTimeout
			switch {
			case s.ccc.SameSession(&os.ccc):
				st = uwb.StatusOK
			case sameButKey(&s.ccc, &os.ccc):
				// The STS of each side is keyed from its URSK: with
				// different keys the responder cannot correlate it.
				st = uwb.StatusRangingRxPhySTSFailed
			}
			ps = append(ps, peer{oc, st})
		}
	}
	return ps
}

// sameButKey reports whether a and b differ only in their URSK.
func sameButKey(a, b *uwb.CCCConfig) bool {
	x, y := *a, *b
	x.URSK, y.URSK = [32]byte{}, [32]byte{}
	ok := x.SameSession(&y)
	x.Clear()
	y.Clear()
	return ok
}
