package nci

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/internal/serialio"
	"github.com/opencarkey/sdk/transport/polling"
)

// Defaults of [Config].
const (
	// DefaultTimeout bounds a response or an expected notification. NXP's
	// libnfc-nci waits up to 2 s (nci_wait_rsp_tout) for CORE_RESET_NTF.
	DefaultTimeout = 2 * time.Second
	// DefaultExchangeTimeout bounds the answer of an APDU exchange.
	DefaultExchangeTimeout = 5 * time.Second
	// maxQueued bounds the messages kept while waiting for a response.
	maxQueued = 32
)

// Config configures a [Device]. The zero value (or nil) is the default. A
// Config must not be modified after it has been passed to New.
type Config struct {
	// Timeout bounds each response and expected notification; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// ExchangeTimeout bounds the answer of an APDU exchange; zero means
	// DefaultExchangeTimeout.
	ExchangeTimeout time.Duration
	// KeepConfig resets the NFCC keeping its NCI RF configuration
	// (CORE_RESET type 00); the default resets it (01).
	KeepConfig bool
	// ECP is how the controller is told to send the ECP frame; nil means
	// polling rounds with an ECP frame fail with ErrNoECP.
	ECP *ECPCommand
	// Params are CORE_SET_CONFIG parameters sent after initialization:
	// board-specific settings (NXP_CORE_CONF and the RF settings of NXP's
	// libnfc-nxp.conf, for example).
	Params []ConfigParam
}

type config struct {
	timeout, exchange time.Duration
	keep              bool
	ecp               *ECPCommand
	params            []ConfigParam
}

func (c *Config) resolve() (config, error) {
	r := config{timeout: DefaultTimeout, exchange: DefaultExchangeTimeout}
	if c == nil {
		return r, nil
	}
	if c.Timeout < 0 || c.ExchangeTimeout < 0 {
		return r, fmt.Errorf("nci: negative timeout in %+v", *c)
	}
	if c.Timeout > 0 {
		r.timeout = c.Timeout
	}
	if c.ExchangeTimeout > 0 {
		r.exchange = c.ExchangeTimeout
	}
	if c.ECP != nil && c.ECP.GID > maxConnID || c.ECP != nil && c.ECP.OID > oidMask {
		return r, fmt.Errorf("nci: ECP command GID %X OID %02X", c.ECP.GID, c.ECP.OID)
	}
	r.keep, r.ecp, r.params = c.KeepConfig, c.ECP, c.Params
	return r, nil
}

// rfState is where the NFCC's RF state machine is, as far as the DH knows.
type rfState uint8

const (
	rfIdle rfState = iota
	rfDiscovery
	rfActive
)

// Info describes the controller as its reset and initialization reported
// it.
type Info struct {
	// Version is the NCI version (10h, 11h, 20h).
	Version        byte
	ManufacturerID byte
	// ManufacturerInfo is manufacturer-specific (NXP: hardware version,
	// ROM code version, firmware version).
	ManufacturerInfo []byte
	Init             InitResponse
}

// NXPHardware returns the NXP hardware version byte (61h for a PN7160, 71h
// for a PN7161) and whether the controller is an NXP one that reports it.
func (i Info) NXPHardware() (byte, bool) {
	if i.ManufacturerID != ManufacturerNXP || len(i.ManufacturerInfo) == 0 {
		return 0, false
	}
	return i.ManufacturerInfo[0], true
}

// Device is an NFC Forum NCI controller (such as NXP's PN7160) driven as
// an ISO/IEC 14443-4 reader through a [Link]: it runs RF discovery for
// ISO-DEP targets in NFC-A poll mode and carries their APDUs over the static
// RF connection with credit-based flow control. It implements
// polling.Reader.
//
// A Device is safe for concurrent use, but the controller runs one
// exchange at a time.
type Device struct {
	mu     sync.Mutex
	link   Link
	closer io.Closer
	cfg    config
	info   Info
	// maxCtrl is the largest control payload the NFCC takes.
	maxCtrl int

	state    rfState
	duration time.Duration // the TOTAL_DURATION set, 0 if none
	ecp      []byte        // the ECP frame configured, nil if none
	target   *Target

	ctrl, data Reassembler
	queue      []Message // messages received while waiting for another
	pkt        []byte
	out        []byte
}

var _ polling.Reader = (*Device)(nil)

// OpenUART opens an NCI controller on the serial device at path and
// initializes it as New does. Close closes the port.
func OpenUART(ctx context.Context, path string, baud int, cfg *Config) (*Device, error) {
	p, err := serialio.Open(path, baud)
	if err != nil {
		return nil, fmt.Errorf("nci: %w", err)
	}
	d, err := newDevice(ctx, NewStreamLink(p), p, cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	return d, nil
}

// New initializes the NCI controller behind link: CORE_RESET (with
// CORE_RESET_NTF for NCI 2.0), CORE_INIT in the form of the version the
// NFCC reported, NXP's proprietary activation (2F 02) on NXP controllers,
// the configured parameters, and RF_DISCOVER_MAP for ISO-DEP in poll mode
// on the ISO-DEP interface. Close does not close link.
func New(ctx context.Context, link Link, cfg *Config) (*Device, error) {
	return newDevice(ctx, link, nil, cfg)
}

func newDevice(ctx context.Context, link Link, closer io.Closer, cfg *Config) (*Device, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	d := &Device{link: link, closer: closer, cfg: c, maxCtrl: MaxPayload}
	d.data.Max = MaxDataMessage
	if err := d.init(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Device) init(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	resetType := byte(0x01)
	if d.cfg.keep {
		resetType = 0x00
	}
	rsp, err := d.command(ctx, GroupCore, OIDCoreReset, []byte{resetType})
	if err != nil {
		return err
	}
	rr, err := ParseResetResponse(rsp)
	if err != nil {
		return err
	}
	if err := statusError(GroupCore, OIDCoreReset, rr.Status); err != nil {
		return err
	}
	if rr.V1 {
		d.info.Version = rr.Version
	} else {
		m, err := d.expect(ctx, GroupCore, OIDCoreReset, time.Now().Add(d.cfg.timeout))
		if err != nil {
			return err
		}
		n, err := ParseResetNotification(m.Payload)
		if err != nil {
			return err
		}
		if n.Trigger != ResetTriggerCommand {
			return fmt.Errorf("%w: CORE_RESET_NTF with trigger %02X", ErrUnexpected, n.Trigger)
		}
		d.info.Version, d.info.ManufacturerID, d.info.ManufacturerInfo = n.Version, n.ManufacturerID, n.ManufacturerInfo
	}
	if d.info.Version != Version10 && d.info.Version != Version11 && d.info.Version != Version20 {
		return fmt.Errorf("%w: NCI version %02X", ErrUnexpected, d.info.Version)
	}
	rsp, err = d.command(ctx, GroupCore, OIDCoreInit, AppendInitCommand(nil, d.info.Version))
	if err != nil {
		return err
	}
	ir, err := ParseInitResponse(d.info.Version, rsp)
	if err != nil {
		return err
	}
	if err := statusError(GroupCore, OIDCoreInit, ir.Status); err != nil {
		return err
	}
	d.info.Init = ir
	d.maxCtrl = int(ir.MaxControlPayload)
	if !ir.V2 {
		d.info.ManufacturerID = ir.ManufacturerID
		d.info.ManufacturerInfo = append([]byte(nil), ir.ManufacturerInfo[:]...)
	}
	if d.info.ManufacturerID == ManufacturerNXP {
		rsp, err := d.command(ctx, GroupProprietary, OIDNXPActivate, nil)
		if err != nil {
			return err
		}
		if len(rsp) < 1 {
			return malformed(GroupProprietary, OIDNXPActivate, rsp)
		}
		if err := statusError(GroupProprietary, OIDNXPActivate, Status(rsp[0])); err != nil {
			return err
		}
	}
	if len(d.cfg.params) > 0 {
		if err := d.setConfig(ctx, d.cfg.params...); err != nil {
			return err
		}
	}
	m := AppendDiscoverMap(nil, Mapping{Protocol: ProtocolISODEP, Mode: ModePoll, Interface: InterfaceISODEP})
	return d.simple(ctx, GroupRF, OIDRFDiscoverMap, m)
}

// Info describes the controller.
func (d *Device) Info() Info {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.info
	i.ManufacturerInfo = bytes.Clone(i.ManufacturerInfo)
	return i
}

// Close stops discovery (RF_DEACTIVATE to idle) and, when the Device was
// opened with OpenUART or OpenI2C, closes the link.
func (d *Device) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.timeout)
	defer cancel()
	d.mu.Lock()
	var err error
	if d.target != nil {
		d.target.released = true
		d.target = nil
	}
	if d.state != rfIdle {
		err = d.deactivate(ctx, DeactivateIdle)
	}
	d.mu.Unlock()
	if d.closer != nil {
		if cerr := d.closer.Close(); cerr != nil {
			return cerr
		}
	}
	return err
}

// Detect runs one polling round (polling.Reader). NCI controllers poll on
// their own: Detect starts RF discovery for NFC-A in poll mode if it is not
// running, with the round's interval as the discovery period
// (TOTAL_DURATION) and, first, the ECP frame configured through
// Config.ECP; then it waits one discovery period (plus the guard time) for
// the NFCC to activate an ISO-DEP target. When none comes it returns an
// error wrapping polling.ErrNoTarget, leaving discovery running.
func (d *Device) Detect(ctx context.Context, r *polling.Round) (polling.Target, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.target != nil {
		return nil, errors.New("nci: a target is still activated")
	}
	if r.ECP != nil && d.cfg.ecp == nil {
		return nil, ErrNoECP
	}
	if err := d.startDiscovery(ctx, r); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(r.Interval + r.FieldOnGuard)
	var found []DiscoverNotification
	for {
		m, err := d.nextNotification(ctx, deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, polling.ErrNoTarget
		}
		if err != nil {
			return nil, err
		}
		if GroupID(m.ID) != GroupRF {
			continue // CORE_GENERIC_ERROR_NTF and the like: discovery goes on
		}
		switch m.OID {
		case OIDRFIntfActivated:
			a, err := ParseActivation(d.info.Version, m.Payload)
			if err != nil {
				return nil, err
			}
			d.state = rfActive
			if a.Interface != InterfaceISODEP || a.Protocol != ProtocolISODEP {
				if err := d.deactivate(ctx, DeactivateDiscovery); err != nil {
					return nil, err
				}
				continue
			}
			t := &Target{d: d, act: a, credits: int(a.Credits)}
			t.info = polling.TargetInfo{SENSRes: a.SENSRes, NFCID1: a.NFCID1, ATS: a.ATS}
			if len(a.SELRes) == 1 {
				t.info.SELRes = a.SELRes[0]
			}
			d.target = t
			return t, nil
		case OIDRFDiscover:
			n, err := ParseDiscoverNotification(m.Payload)
			if err != nil {
				return nil, err
			}
			found = append(found, n)
			if n.Type == DiscoverMore {
				continue
			}
			// Several endpoints: select the first ISO-DEP one.
			sel := -1
			for i, f := range found {
				if f.Protocol == ProtocolISODEP && f.TechMode == TechNFCAPoll {
					sel = i
					break
				}
			}
			if sel < 0 {
				found = nil
				if err := d.deactivate(ctx, DeactivateDiscovery); err != nil {
					return nil, err
				}
				continue
			}
			p := []byte{found[sel].ID, ProtocolISODEP, InterfaceISODEP}
			found = nil
			if err := d.simple(ctx, GroupRF, OIDRFDiscoverSelect, p); err != nil {
				return nil, err
			}
		case OIDRFDeactivate:
			// The NFCC went back to discovery on its own.
		}
	}
}

// startDiscovery configures the ECP frame and the discovery period when
// they changed, and starts discovery unless it runs. The caller holds d.mu.
func (d *Device) startDiscovery(ctx context.Context, r *polling.Round) error {
	ecpChanged := !bytes.Equal(d.ecp, r.ECP)
	durChanged := r.Interval != d.duration
	if d.state == rfDiscovery && !ecpChanged && !durChanged {
		return nil
	}
	if d.state != rfIdle {
		if err := d.deactivate(ctx, DeactivateIdle); err != nil {
			return err
		}
	}
	if ecpChanged && r.ECP != nil {
		p, err := d.cfg.ecp.AppendPayload(nil, r.ECP)
		if err != nil {
			return err
		}
		rsp, err := d.command(ctx, d.cfg.ecp.GID, d.cfg.ecp.OID, p)
		if err != nil {
			return err
		}
		if len(rsp) < 1 {
			return malformed(d.cfg.ecp.GID, d.cfg.ecp.OID, rsp)
		}
		if err := statusError(d.cfg.ecp.GID, d.cfg.ecp.OID, Status(rsp[0])); err != nil {
			return err
		}
	}
	d.ecp = bytes.Clone(r.ECP)
	if durChanged {
		ms := r.Interval.Milliseconds()
		ms = max(1, min(ms, 0xFFFF))
		if err := d.setConfig(ctx, ConfigParam{ID: ParamTotalDuration, Value: binary.LittleEndian.AppendUint16(nil, uint16(ms))}); err != nil {
			return err
		}
		d.duration = r.Interval
	}
	if err := d.simple(ctx, GroupRF, OIDRFDiscover, AppendDiscover(nil, DiscoverConfig{TechMode: TechNFCAPoll, Frequency: 0x01})); err != nil {
		return err
	}
	d.state = rfDiscovery
	return nil
}

func (d *Device) setConfig(ctx context.Context, params ...ConfigParam) error {
	p, err := AppendSetConfig(nil, params...)
	if err != nil {
		return err
	}
	rsp, err := d.command(ctx, GroupCore, OIDCoreSetConfig, p)
	if err != nil {
		return err
	}
	sr, err := ParseSetConfigResponse(rsp)
	if err != nil {
		return err
	}
	if err := statusError(GroupCore, OIDCoreSetConfig, sr.Status); err != nil {
		return fmt.Errorf("%w (parameters %X refused)", err, sr.Invalid)
	}
	return nil
}

// deactivate sends RF_DEACTIVATE_CMD and waits for its response and the
// RF_DEACTIVATE_NTF that follows (NCI Core §5.2.5). The caller holds d.mu.
func (d *Device) deactivate(ctx context.Context, typ DeactivationType) error {
	if err := d.simple(ctx, GroupRF, OIDRFDeactivate, []byte{byte(typ)}); err != nil {
		return err
	}
	if d.target != nil {
		d.target.gone = true
	}
	d.ctrl.Reset()
	d.data.Reset()
	deadline := time.Now().Add(d.cfg.timeout)
	for {
		m, err := d.expect(ctx, GroupRF, OIDRFDeactivate, deadline)
		if err != nil {
			return err
		}
		t, _, err := ParseDeactivateNotification(m.Payload)
		if err != nil {
			return err
		}
		if t == typ {
			break
		}
	}
	if typ == DeactivateIdle {
		d.state = rfIdle
	} else {
		d.state = rfDiscovery
	}
	// What the NFCC said about the session that ended no longer counts.
	kept := d.queue[:0]
	for _, m := range d.queue {
		if m.MT == Notification && GroupID(m.ID) != GroupRF {
			kept = append(kept, m)
		}
	}
	d.queue = kept
	return nil
}

// simple sends a command whose response is a status alone.
func (d *Device) simple(ctx context.Context, gid GroupID, oid uint8, payload []byte) error {
	rsp, err := d.command(ctx, gid, oid, payload)
	if err != nil {
		return err
	}
	s, err := ParseStatus(gid, oid, rsp)
	if err != nil {
		return err
	}
	return statusError(gid, oid, s)
}

// command sends a control command and returns the payload of its
// response. Notifications and data received meanwhile are queued. The
// caller holds d.mu; the payload is valid until the next read.
func (d *Device) command(ctx context.Context, gid GroupID, oid uint8, payload []byte) ([]byte, error) {
	var err error
	if d.out, err = AppendMessage(d.out[:0], Command, uint8(gid), oid, payload, d.maxCtrl); err != nil {
		return nil, err
	}
	for b := d.out; len(b) > 0; {
		n := HeaderLen + int(b[2])
		if err := d.link.WritePacket(ctx, b[:n]); err != nil {
			return nil, err
		}
		b = b[n:]
	}
	deadline := time.Now().Add(d.cfg.timeout)
	for {
		m, err := d.read(ctx, deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("%w: no %s response", ErrTimeout, opName(gid, oid))
			}
			return nil, err
		}
		if m.MT != Response {
			if err := d.enqueue(m); err != nil {
				return nil, err
			}
			continue
		}
		if GroupID(m.ID) != gid || m.OID != oid {
			return nil, fmt.Errorf("%w: %s response to %s", ErrUnexpected, opName(GroupID(m.ID), m.OID), opName(gid, oid))
		}
		return m.Payload, nil
	}
}

// expect waits for the notification gid/oid, queueing others.
func (d *Device) expect(ctx context.Context, gid GroupID, oid uint8, deadline time.Time) (Message, error) {
	for i, m := range d.queue {
		if m.MT == Notification && GroupID(m.ID) == gid && m.OID == oid {
			d.queue = append(d.queue[:i], d.queue[i+1:]...)
			return m, nil
		}
	}
	for {
		m, err := d.read(ctx, deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return Message{}, fmt.Errorf("%w: no %s notification", ErrTimeout, opName(gid, oid))
			}
			return Message{}, err
		}
		if m.MT == Notification && GroupID(m.ID) == gid && m.OID == oid {
			return m, nil
		}
		if m.MT == Response {
			return Message{}, fmt.Errorf("%w: %s response while waiting for %s", ErrUnexpected, opName(GroupID(m.ID), m.OID), opName(gid, oid))
		}
		if err := d.enqueue(m); err != nil {
			return Message{}, err
		}
	}
}

// nextNotification returns the next notification, queued or read.
func (d *Device) nextNotification(ctx context.Context, deadline time.Time) (Message, error) {
	for i, m := range d.queue {
		if m.MT == Notification {
			d.queue = append(d.queue[:i], d.queue[i+1:]...)
			return m, nil
		}
	}
	for {
		m, err := d.read(ctx, deadline)
		if err != nil {
			return Message{}, err
		}
		switch m.MT {
		case Notification:
			return m, nil
		case Response:
			return Message{}, fmt.Errorf("%w: %s response with no command", ErrUnexpected, opName(GroupID(m.ID), m.OID))
		}
		// Data outside an exchange: dropped.
	}
}

// enqueue keeps a message for later, copying its payload.
func (d *Device) enqueue(m Message) error {
	if len(d.queue) >= maxQueued {
		return fmt.Errorf("%w: more than %d messages while waiting", ErrUnexpected, maxQueued)
	}
	m.Payload = bytes.Clone(m.Payload)
	d.queue = append(d.queue, m)
	return nil
}

// read returns the next complete message from the link.
func (d *Device) read(ctx context.Context, deadline time.Time) (Message, error) {
	for {
		var err error
		d.pkt, err = d.link.ReadPacket(ctx, d.pkt[:0], deadline)
		if err != nil {
			return Message{}, err
		}
		p, err := ParsePacket(d.pkt)
		if err != nil {
			return Message{}, err
		}
		r := &d.ctrl
		if p.MT == Data {
			r = &d.data
		}
		m, ok, err := r.Add(p)
		if err != nil {
			return Message{}, err
		}
		if ok {
			return m, nil
		}
	}
}

// Target is an ISO-DEP target (a phone) the NFCC activated on the static
// RF connection. It is a transport.Transceiver: each APDU is one data
// message, segmented to the NFCC's maximum payload and sent as credits
// allow (CORE_CONN_CREDITS_NTF). It implements polling.Target.
//
// An exchange fails with an error matching transport.ErrCardRemoved when
// the NFCC reports an RF error on the connection (CORE_INTERFACE_ERROR_NTF,
// a *StatusError) or deactivates the target (RF_DEACTIVATE_NTF, a
// *DeactivationError).
type Target struct {
	d        *Device
	act      Activation
	info     polling.TargetInfo
	credits  int
	released bool
	gone     bool
	lost     error
}

var _ polling.Target = (*Target)(nil)

// Info describes the target as RF_INTF_ACTIVATED_NTF reported it.
func (t *Target) Info() polling.TargetInfo { return t.info.Clone() }

// Activation returns the activation notification of the target.
func (t *Target) Activation() Activation { return t.act }

// Transceive sends one command APDU and appends the response APDU to dst.
func (t *Target) Transceive(ctx context.Context, dst, command []byte) ([]byte, error) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.released {
		return dst, ErrReleased
	}
	if t.gone {
		return dst, t.goneErr()
	}
	if len(command) == 0 || len(command) > transport.MaxCommandLen {
		return dst, fmt.Errorf("nci: command APDU of %d bytes: %w", len(command), transport.ErrProtocol)
	}
	deadline := time.Now().Add(d.cfg.exchange)
	// Any stale notification about the connection counts now.
	for len(d.queue) > 0 {
		m := d.queue[0]
		d.queue = d.queue[1:]
		if err := t.handle(m); err != nil {
			return dst, err
		}
	}
	max := int(t.act.MaxPayload)
	for len(command) > 0 {
		for t.credits == 0 {
			m, err := d.read(ctx, deadline)
			if err != nil {
				return dst, t.readErr(err)
			}
			if err := t.handle(m); err != nil {
				return dst, err
			}
		}
		seg := command
		if len(seg) > max {
			seg = seg[:max]
		}
		var err error
		d.out, err = (Packet{MT: Data, PBF: len(seg) < len(command), ID: ConnStatic, Payload: seg}).Append(d.out[:0])
		if err != nil {
			return dst, err
		}
		if err := d.link.WritePacket(ctx, d.out); err != nil {
			return dst, err
		}
		if t.credits != CreditsUnlimited {
			t.credits--
		}
		command = command[len(seg):]
	}
	for {
		m, err := d.read(ctx, deadline)
		if err != nil {
			return dst, t.readErr(err)
		}
		if m.MT == Data {
			if m.ID != ConnStatic {
				continue
			}
			if len(m.Payload) < 2 {
				return dst, fmt.Errorf("nci: response of %d bytes, shorter than a status word: %w", len(m.Payload), transport.ErrProtocol)
			}
			return append(dst, m.Payload...), nil
		}
		if err := t.handle(m); err != nil {
			return dst, err
		}
	}
}

// handle applies a control message received during an exchange.
func (t *Target) handle(m Message) error {
	d := t.d
	if m.MT == Response {
		return fmt.Errorf("%w: %s response during an exchange", ErrUnexpected, opName(GroupID(m.ID), m.OID))
	}
	if m.MT != Notification {
		return nil
	}
	switch {
	case GroupID(m.ID) == GroupCore && m.OID == OIDCoreConnCredits:
		cs, err := ParseCredits(m.Payload)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Conn == ConnStatic && t.credits != CreditsUnlimited {
				t.credits = min(t.credits+int(c.Credits), 0xFE)
			}
		}
	case GroupID(m.ID) == GroupCore && m.OID == OIDCoreInterfaceError:
		s, conn, err := ParseInterfaceError(m.Payload)
		if err != nil {
			return err
		}
		if conn == ConnStatic {
			t.gone = true
			t.lost = &StatusError{GID: GroupCore, OID: OIDCoreInterfaceError, Status: s, exchange: true}
			d.data.Reset()
			return t.lost
		}
	case GroupID(m.ID) == GroupRF && m.OID == OIDRFDeactivate:
		typ, reason, err := ParseDeactivateNotification(m.Payload)
		if err != nil {
			return err
		}
		t.gone = true
		t.lost = &DeactivationError{Type: typ, Reason: reason}
		if typ == DeactivateIdle {
			d.state = rfIdle
		} else {
			d.state = rfDiscovery
		}
		d.data.Reset()
		return t.lost
	}
	return nil
}

func (t *Target) goneErr() error {
	if t.lost != nil {
		return t.lost
	}
	return fmt.Errorf("nci: target deactivated: %w", transport.ErrCardRemoved)
}

func (t *Target) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: no answer from the target's exchange", ErrTimeout)
	}
	return err
}

// Present checks whether the target still answers with
// RF_ISO_DEP_NAK_PRESENCE (NCI 2.0; NXP libnfc-nci
// nci_snd_iso_dep_nak_presence_check_cmd): the NFCC sends an R(NAK) and
// reports in a notification whether the target answered.
func (t *Target) Present(ctx context.Context) (bool, error) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.released || t.gone {
		return false, nil
	}
	if d.info.Version < Version20 {
		return false, ErrPresenceUnsupported
	}
	if err := d.simple(ctx, GroupRF, OIDRFISODEPNAKPresence, nil); err != nil {
		return false, err
	}
	deadline := time.Now().Add(d.cfg.timeout)
	for {
		m, err := d.nextNotification(ctx, deadline)
		if err != nil {
			return false, t.readErr(err)
		}
		if GroupID(m.ID) == GroupRF && m.OID == OIDRFISODEPNAKPresence {
			s, err := ParseStatus(GroupRF, OIDRFISODEPNAKPresence, m.Payload)
			if err != nil {
				return false, err
			}
			if s != StatusOK {
				t.gone = true
			}
			return s == StatusOK, nil
		}
		if err := t.handle(m); err != nil {
			return false, nil
		}
	}
}

// Release ends the session: RF_DEACTIVATE to idle, which stops discovery
// and switches the field off so that the phone resets; the next round
// starts discovery again. Releasing twice is harmless.
func (t *Target) Release(ctx context.Context) error {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.released {
		return nil
	}
	t.released = true
	if d.target == t {
		d.target = nil
	}
	if d.state == rfIdle {
		return nil
	}
	return d.deactivate(ctx, DeactivateIdle)
}
