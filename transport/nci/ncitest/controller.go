package ncitest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// DefaultManufacturerInfo is the manufacturer-specific information of
// CORE_RESET_NTF: hardware version 71h (a PN7161, which NXP's libnfc-nci
// marks as supporting ECP), then ROM and firmware versions chosen by the
// project.
var DefaultManufacturerInfo = []byte{0x71, 0x12, 0x02, 0x00}

// Config configures a simulated controller. The zero value is an NCI 2.0
// NXP controller with 255-byte data payloads and one credit.
type Config struct {
	// Version is the NCI version (10h or 20h); zero means 20h.
	Version byte
	// ManufacturerID; zero means NXP (04h).
	ManufacturerID byte
	// ManufacturerInfo; nil means DefaultManufacturerInfo.
	ManufacturerInfo []byte
	// MaxDataPayload is the data packet payload size announced at
	// activation; zero means 255.
	MaxDataPayload byte
	// Credits is the initial credits of the static RF connection; zero
	// means 1. CreditsUnlimited (FFh) turns flow control off.
	Credits byte
	// ECP is the command the controller takes as "send this ECP frame
	// while polling"; nil refuses every such command.
	ECP *nci.ECPCommand
}

// Faults are misbehaviours a test turns on.
type Faults struct {
	// Mute ignores everything the host sends.
	Mute bool
	// LeaveWithDeactivate reports a phone that left during an exchange
	// with RF_DEACTIVATE_NTF (RF link loss).
	LeaveWithDeactivate bool
	// BadHeader sets RFU bits in the header of the next packet sent.
	BadHeader bool
	// Oversize sends, before the next response, a notification segmented
	// beyond what the driver reassembles.
	Oversize bool
	// WithholdCredits never gives credits back.
	WithholdCredits bool
}

// Controller is a simulated NCI controller. It is safe for concurrent use.
type Controller struct {
	field *pollingtest.Field
	cfg   Config

	mu          sync.Mutex
	out         func([]byte) // sends one packet to the host; set by the transport
	faults      Faults
	reset       bool
	initialized bool
	mapped      bool
	discovering bool
	active      bool
	ecp         []byte
	params      map[uint16][]byte
	ctrl, data  nci.Reassembler
	received    []string
	stopPoll    chan struct{}
}

// New returns a controller with the phone field.
func New(field *pollingtest.Field, cfg Config) *Controller {
	if cfg.Version == 0 {
		cfg.Version = nci.Version20
	}
	if cfg.ManufacturerID == 0 {
		cfg.ManufacturerID = nci.ManufacturerNXP
	}
	if cfg.ManufacturerInfo == nil {
		cfg.ManufacturerInfo = DefaultManufacturerInfo
	}
	if cfg.MaxDataPayload == 0 {
		cfg.MaxDataPayload = nci.MaxPayload
	}
	if cfg.Credits == 0 {
		cfg.Credits = 1
	}
	c := &Controller{field: field, cfg: cfg, params: map[uint16][]byte{}}
	c.data.Max = nci.MaxDataMessage
	return c
}

// SetFaults replaces the faults.
func (c *Controller) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
}

// Param returns the value the host last set for a configuration
// parameter.
func (c *Controller) Param(id uint16) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.params[id]...)
}

// ECPFrame returns the ECP frame the host configured, nil if none.
func (c *Controller) ECPFrame() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.ecp...)
}

// Received returns the names of the commands received so far, in order.
func (c *Controller) Received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.received...)
}

// Serve speaks NCI over a byte stream (the UART mapping) until ctx ends or
// conn fails (see pollingtest.ReadStream for how a read in progress ends);
// it returns nil when ctx ended.
func (c *Controller) Serve(ctx context.Context, conn io.ReadWriter) error {
	var wmu sync.Mutex
	c.mu.Lock()
	c.out = func(p []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		conn.Write(p)
	}
	c.mu.Unlock()
	defer c.stop()
	buf := make([]byte, 0, 4*nci.MaxPacketLen)
	return pollingtest.ReadStream(ctx, conn, func(chunk []byte) error {
		buf = append(buf, chunk...)
		for {
			p, n, err := nci.ScanPacket(buf)
			if err != nil {
				buf = buf[:0] // framing lost: what came is dropped
				return nil
			}
			if n == 0 {
				return nil
			}
			c.handle(p)
			buf = buf[n:]
		}
	})
}

// stop ends discovery when the transport goes away.
func (c *Controller) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDiscoveryLocked()
}

// send emits one packet to the host. The caller holds c.mu.
func (c *Controller) send(mt nci.MessageType, id, oid byte, payload []byte) {
	max := nci.MaxPayload
	if mt == nci.Data {
		max = int(c.cfg.MaxDataPayload)
	}
	b, err := nci.AppendMessage(nil, mt, id, oid, payload, max)
	if err != nil {
		panic(err) // the simulator builds its own messages
	}
	for len(b) > 0 {
		n := nci.HeaderLen + int(b[2])
		p := b[:n:n]
		if c.faults.BadHeader {
			c.faults.BadHeader = false
			p = append([]byte(nil), p...)
			p[1] |= 0xC0
		}
		if c.out != nil {
			c.out(p)
		}
		b = b[n:]
	}
}

func (c *Controller) respond(gid nci.GroupID, oid byte, payload ...byte) {
	if c.faults.Oversize {
		c.faults.Oversize = false
		c.send(nci.Notification, byte(nci.GroupCore), nci.OIDCoreGenericError, make([]byte, nci.MaxControlMessage+1))
	}
	c.send(nci.Response, byte(gid), oid, payload)
}

func (c *Controller) notify(gid nci.GroupID, oid byte, payload ...byte) {
	c.send(nci.Notification, byte(gid), oid, payload)
}

// handle processes one packet from the host.
func (c *Controller) handle(p nci.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults.Mute {
		return
	}
	switch p.MT {
	case nci.Command:
		m, ok, err := c.ctrl.Add(p)
		if err != nil || !ok {
			return
		}
		c.command(nci.GroupID(m.ID), m.OID, m.Payload)
	case nci.Data:
		c.dataPacket(p)
	}
}

func (c *Controller) command(gid nci.GroupID, oid byte, p []byte) {
	c.received = append(c.received, opName(gid, oid))
	if c.cfg.ECP != nil && gid == c.cfg.ECP.GID && oid == c.cfg.ECP.OID {
		frame, ok := c.cfg.ECP.Frame(p)
		switch {
		case !ok:
			c.respond(gid, oid, byte(nci.StatusInvalidParam))
		case c.discovering:
			c.respond(gid, oid, byte(nci.StatusSemanticError))
		default:
			c.ecp = frame
			c.respond(gid, oid, byte(nci.StatusOK))
		}
		return
	}
	if gid == nci.GroupCore && oid == nci.OIDCoreReset {
		c.coreReset(p)
		return
	}
	if !c.reset || (!c.initialized && !(gid == nci.GroupCore && oid == nci.OIDCoreInit)) {
		c.respond(gid, oid, byte(nci.StatusNotInitialized))
		return
	}
	switch {
	case gid == nci.GroupCore && oid == nci.OIDCoreInit:
		c.coreInit(p)
	case gid == nci.GroupProprietary && oid == nci.OIDNXPActivate && c.cfg.ManufacturerID == nci.ManufacturerNXP:
		c.respond(gid, oid, byte(nci.StatusOK))
	case gid == nci.GroupCore && oid == nci.OIDCoreSetConfig:
		ps, err := nci.ParseSetConfig(p)
		if err != nil {
			c.respond(gid, oid, byte(nci.StatusSyntaxError), 0)
			return
		}
		for _, q := range ps {
			c.params[q.ID] = q.Value
		}
		c.respond(gid, oid, nci.SetConfigResponse{}.Append(nil)...)
	case gid == nci.GroupRF && oid == nci.OIDRFDiscoverMap:
		ms, err := nci.ParseDiscoverMap(p)
		if err != nil || len(ms) == 0 {
			c.respond(gid, oid, byte(nci.StatusSyntaxError))
			return
		}
		c.mapped = true
		c.respond(gid, oid, byte(nci.StatusOK))
	case gid == nci.GroupRF && oid == nci.OIDRFDiscover:
		cs, err := nci.ParseDiscover(p)
		switch {
		case err != nil || len(cs) == 0:
			c.respond(gid, oid, byte(nci.StatusSyntaxError))
		case c.discovering || c.active:
			c.respond(gid, oid, byte(nci.StatusDiscoveryAlreadyStarted))
		case !c.mapped:
			c.respond(gid, oid, byte(nci.StatusSemanticError))
		default:
			c.respond(gid, oid, byte(nci.StatusOK))
			c.startDiscoveryLocked()
		}
	case gid == nci.GroupRF && oid == nci.OIDRFDeactivate:
		c.deactivate(p)
	case gid == nci.GroupRF && oid == nci.OIDRFISODEPNAKPresence:
		if !c.active || len(p) != 0 || c.cfg.Version < nci.Version20 {
			c.respond(gid, oid, byte(nci.StatusSemanticError))
			return
		}
		c.respond(gid, oid, byte(nci.StatusOK))
		if c.field.Present() {
			c.notify(gid, oid, byte(nci.StatusOK))
		} else {
			c.notify(gid, oid, byte(nci.StatusRFTimeoutError))
		}
	default:
		c.respond(gid, oid, byte(nci.StatusSyntaxError))
	}
}

func (c *Controller) coreReset(p []byte) {
	if len(p) != 1 || p[0] > 1 {
		c.respond(nci.GroupCore, nci.OIDCoreReset, byte(nci.StatusSyntaxError))
		return
	}
	c.stopDiscoveryLocked()
	c.reset, c.initialized, c.mapped, c.ecp = true, false, false, nil
	c.params = map[uint16][]byte{}
	c.ctrl.Reset()
	c.data.Reset()
	if c.cfg.Version < nci.Version20 {
		c.respond(nci.GroupCore, nci.OIDCoreReset, nci.ResetResponse{V1: true, Version: c.cfg.Version, ConfigStatus: p[0]}.Append(nil)...)
		return
	}
	c.respond(nci.GroupCore, nci.OIDCoreReset, byte(nci.StatusOK))
	n := nci.ResetNotification{Trigger: nci.ResetTriggerCommand, ConfigStatus: p[0], Version: c.cfg.Version,
		ManufacturerID: c.cfg.ManufacturerID, ManufacturerInfo: c.cfg.ManufacturerInfo}
	c.notify(nci.GroupCore, nci.OIDCoreReset, n.Append(nil)...)
}

func (c *Controller) coreInit(p []byte) {
	want := nci.AppendInitCommand(nil, c.cfg.Version)
	if string(p) != string(want) {
		c.respond(nci.GroupCore, nci.OIDCoreInit, byte(nci.StatusSyntaxError))
		return
	}
	c.initialized = true
	r := nci.InitResponse{
		V2:                    c.cfg.Version >= nci.Version20,
		Interfaces:            []nci.Interface{{Type: nci.InterfaceFrame}, {Type: nci.InterfaceISODEP}},
		MaxLogicalConnections: 1,
		MaxControlPayload:     nci.MaxPayload,
		MaxLargeParams:        0x0400,
		ManufacturerID:        c.cfg.ManufacturerID,
	}
	copy(r.ManufacturerInfo[:], c.cfg.ManufacturerInfo)
	c.respond(nci.GroupCore, nci.OIDCoreInit, r.Append(nil)...)
}

func (c *Controller) deactivate(p []byte) {
	typ, err := nci.ParseDeactivateCommand(p)
	if err != nil {
		c.respond(nci.GroupRF, nci.OIDRFDeactivate, byte(nci.StatusSyntaxError))
		return
	}
	if !c.discovering && !c.active {
		c.respond(nci.GroupRF, nci.OIDRFDeactivate, byte(nci.StatusSemanticError))
		return
	}
	c.respond(nci.GroupRF, nci.OIDRFDeactivate, byte(nci.StatusOK))
	if c.active {
		c.field.Deactivate()
		c.active = false
	}
	c.data.Reset()
	if typ == nci.DeactivateIdle {
		c.stopDiscoveryLocked()
	}
	c.notify(nci.GroupRF, nci.OIDRFDeactivate, byte(typ), byte(nci.ReasonDHRequest))
}

func (c *Controller) dataPacket(p nci.Packet) {
	if !c.active || p.ID != nci.ConnStatic {
		return
	}
	m, ok, err := c.data.Add(p)
	if !c.faults.WithholdCredits && c.cfg.Credits != nci.CreditsUnlimited {
		c.notify(nci.GroupCore, nci.OIDCoreConnCredits, nci.AppendCredits(nil, nci.Credit{Conn: nci.ConnStatic, Credits: 1})...)
	}
	if err != nil || !ok {
		return
	}
	resp, err := c.field.Exchange(nil, m.Payload)
	if errors.Is(err, pollingtest.ErrGone) {
		if c.faults.LeaveWithDeactivate {
			c.active = false
			c.notify(nci.GroupRF, nci.OIDRFDeactivate, byte(nci.DeactivateDiscovery), byte(nci.ReasonRFLinkLoss))
			return
		}
		c.notify(nci.GroupCore, nci.OIDCoreInterfaceError, byte(nci.StatusRFTimeoutError), nci.ConnStatic)
		return
	}
	c.send(nci.Data, nci.ConnStatic, 0, resp)
}

// startDiscoveryLocked starts the discovery loop: every TOTAL_DURATION the
// field comes on, the ECP frame goes out and the phone is activated if it
// answers. The caller holds c.mu.
func (c *Controller) startDiscoveryLocked() {
	c.discovering = true
	period := 100 * time.Millisecond
	if v := c.params[nci.ParamTotalDuration]; len(v) == 2 {
		period = max(time.Millisecond, time.Duration(binary.LittleEndian.Uint16(v))*time.Millisecond)
	}
	stop := make(chan struct{})
	c.stopPoll = stop
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			if !c.poll(stop) {
				return
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
}

// poll runs one discovery period; it reports whether discovery goes on.
func (c *Controller) poll(stop chan struct{}) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopPoll != stop {
		return false
	}
	if c.active || c.faults.Mute {
		return true
	}
	c.field.SetOn(true)
	if c.ecp != nil {
		c.field.Frame(c.ecp)
	}
	info, ok := c.field.Activate()
	if !ok {
		c.field.SetOn(false) // the listen phase of the period
		return true
	}
	c.active = true
	a := nci.Activation{ID: 1, Interface: nci.InterfaceISODEP, Protocol: nci.ProtocolISODEP, TechMode: nci.TechNFCAPoll,
		MaxPayload: c.cfg.MaxDataPayload, Credits: c.cfg.Credits, SENSRes: info.SENSRes, NFCID1: info.NFCID1,
		SELRes: []byte{info.SELRes}, ATS: info.ATS}
	c.notify(nci.GroupRF, nci.OIDRFIntfActivated, a.Append(c.cfg.Version, nil)...)
	return true
}

func (c *Controller) stopDiscoveryLocked() {
	if c.stopPoll != nil {
		close(c.stopPoll)
		c.stopPoll = nil
	}
	if c.active {
		c.field.Deactivate()
	}
	c.discovering, c.active = false, false
	c.field.SetOn(false)
}

func opName(gid nci.GroupID, oid byte) string {
	n, ok := map[[2]byte]string{
		{0, nci.OIDCoreReset}: "CORE_RESET", {0, nci.OIDCoreInit}: "CORE_INIT", {0, nci.OIDCoreSetConfig}: "CORE_SET_CONFIG",
		{1, nci.OIDRFDiscoverMap}: "RF_DISCOVER_MAP", {1, nci.OIDRFDiscover}: "RF_DISCOVER", {1, nci.OIDRFDiscoverSelect}: "RF_DISCOVER_SELECT",
		{1, nci.OIDRFDeactivate}: "RF_DEACTIVATE", {1, nci.OIDRFISODEPNAKPresence}: "RF_ISO_DEP_NAK_PRESENCE",
		{0xF, nci.OIDNXPActivate}: "NXP_ACTIVATE",
	}[[2]byte{byte(gid), oid}]
	if !ok {
		return fmt.Sprintf("%X/%02X", uint8(gid), oid)
	}
	return n
}
