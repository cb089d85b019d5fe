package ranging

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// deviceStage is where the device's side of a setup stands.
type deviceStage uint8

const (
	deviceIdle       deviceStage = iota // no setup under way
	deviceCapability                    // Ranging_Capability_RS sent
	deviceSession                       // Ranging_Session_RS sent
)

// MaxSTSIndex0 bounds the STS_Index0 a device chooses: it picks uniformly
// below 2^30, which leaves 2^31 or more ranging rounds before the 32-bit STS
// index wraps (the project's choice; Android's UWB stack documents the same
// bound for STS_Index0, I [AOSP]).
const MaxSTSIndex0 = 1<<30 - 1

// Device is the device side of the ranging setup of docs/protocol.md §8.4, sans
// I/O: it answers the vehicle's messages (see [Vehicle] for the flow), picks
// from the intersection of what the vehicle offers and what it supports, and
// chooses the values the initiator chooses: STS_Index0, UWB_Time0,
// HOP_Mode_Key and the SYNC code.
//
// A failed setup leaves no trace: the device waits for a new
// Ranging_Capability_RQ, and an established session stays as it was. A new
// setup that completes replaces (and closes) the previous session. A Device
// is not safe for concurrent use.
type Device struct {
	cfg     DeviceConfig
	stage   deviceStage
	capRS   CapabilityResponse
	id      SessionID
	channel Channel
	session *Session
	pending bool // a device-initiated suspend awaits its response
}

// NewDevice returns the device side of the ranging setup.
func NewDevice(cfg *DeviceConfig) (*Device, error) {
	if cfg == nil {
		return nil, errors.New("ranging: NewDevice needs a DeviceConfig (its capabilities and ranging keys)")
	}
	c := *cfg
	caps, err := resolveCommon(c.Capabilities, c.Keys, c.Salt, "Device")
	if err != nil {
		return nil, err
	}
	c.Capabilities = caps
	if c.UWBTime0 == nil {
		c.UWBTime0 = defaultUWBTime0
	}
	return &Device{cfg: c}, nil
}

// Session returns the established session, or nil.
func (d *Device) Session() *Session { return d.session }

// Handle reads a message from the vehicle and appends the device's answer to
// dst. It returns ID 0 when there is nothing to send. A message that fails
// changes nothing but the setup under way, which it abandons.
func (d *Device) Handle(dst []byte, id MessageID, payload []byte) (MessageID, []byte, error) {
	switch id {
	case MsgCapabilityRQ:
		d.stage = deviceIdle
		var rq CapabilityRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		rs, err := d.selectCapabilities(&rq)
		if err != nil {
			return 0, dst, err
		}
		d.capRS, d.stage = rs, deviceCapability
		return MsgCapabilityRS, rs.Append(dst), nil

	case MsgSessionRQ:
		if d.stage != deviceCapability {
			return 0, dst, d.unexpected(id)
		}
		d.stage = deviceIdle
		var rq SessionRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		rs, err := d.answerSession(&rq)
		if err != nil {
			return 0, dst, err
		}
		d.id, d.channel, d.stage = rq.SessionID, rs.Channel, deviceSession
		return MsgSessionRS, rs.Append(dst), nil

	case MsgSetupRQ:
		if d.stage != deviceSession {
			return 0, dst, d.unexpected(id)
		}
		d.stage = deviceIdle
		var rq SetupRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		rs, s, err := d.setup(&rq)
		if err != nil {
			return 0, dst, err
		}
		if d.session != nil {
			d.session.Close()
		}
		d.session, d.pending = s, false
		return MsgSetupRS, rs.Append(dst), nil

	case MsgSuspendRQ:
		var rq SuspendRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		if err := d.checkSession(rq.SessionID); err != nil {
			return 0, dst, err
		}
		if err := d.session.suspend(); err != nil {
			return 0, dst, err
		}
		rs := SuspendResponse{Status: SuspendAccepted}
		return MsgSuspendRS, rs.Append(dst), nil

	case MsgSuspendRS:
		if !d.pending {
			return 0, dst, d.unexpected(id)
		}
		var rs SuspendResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		d.pending = false
		if rs.Status == SuspendAccepted {
			return 0, dst, d.session.suspend()
		}
		return 0, dst, nil

	case MsgRecoveryRQ:
		var rq RecoveryRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		rs, err := d.recover(rq.SessionID, 0)
		if err != nil {
			return 0, dst, err
		}
		return MsgRecoveryRS, rs.Append(dst), nil

	case MsgConfigurableRecoveryRQ:
		var rq ConfigurableRecoveryRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		if rq.RANMultiplier < d.cfg.MinRANMultiplier {
			// §8.4: the RAN multiplier is at least the device's minimum.
			return 0, dst, notOffered("RAN multiplier %d below the device's minimum %d", rq.RANMultiplier, d.cfg.MinRANMultiplier)
		}
		rs, err := d.recover(rq.SessionID, rq.RANMultiplier)
		if err != nil {
			return 0, dst, err
		}
		out := ConfigurableRecoveryResponse(rs)
		return MsgConfigurableRecoveryRS, out.Append(dst), nil
	}
	return 0, dst, d.unexpected(id)
}

func (d *Device) unexpected(id MessageID) error {
	if d.stage == deviceCapability {
		return &UnexpectedMessageError{Want: MsgSessionRQ, Got: id}
	}
	if d.stage == deviceSession {
		return &UnexpectedMessageError{Want: MsgSetupRQ, Got: id}
	}
	return &UnexpectedMessageError{Got: id}
}

// selectCapabilities picks, from the vehicle's lists, the highest common
// protocol version and the first UWB configuration and pulse-shape
// combination of the device's lists that the vehicle offers (§8.4: each
// side picks from the intersection with its priorities). Unknown values in
// the vehicle's lists are never picked.
func (d *Device) selectCapabilities(rq *CapabilityRequest) (CapabilityResponse, error) {
	var rs CapabilityResponse
	v, ok := d.cfg.Versions.Select(rq.Versions)
	if !ok {
		return rs, noCommon(ParamVersion)
	}
	rs.Version = v
	if rs.ConfigID, ok = firstConfig(d.cfg.ConfigIDs, rq.ConfigIDs); !ok {
		return rs, noCommon(ParamConfigID)
	}
	if rs.PulseShape, ok = firstPulseShape(d.cfg.PulseShapes, rq.PulseShapes); !ok {
		return rs, noCommon(ParamPulseShape)
	}
	return rs, nil
}

func firstConfig(mine, theirs ConfigIDList) (ConfigID, bool) {
	for i := range mine.Len() {
		if c := mine.At(i); theirs.Contains(c) {
			return c, true
		}
	}
	return 0, false
}

func firstPulseShape(mine, theirs PulseShapeList) (PulseShapeCombo, bool) {
	for i := range mine.Len() {
		if c := mine.At(i); c.Valid() && theirs.Contains(c) {
			return c, true
		}
	}
	return 0, false
}

// answerSession checks the session request against the capability answer,
// checks that the device holds the session's URSK, and picks the channel:
// channel 9 when both sides support it, else channel 5 (the project's
// priority; §8.4 gives none).
func (d *Device) answerSession(rq *SessionRequest) (SessionResponse, error) {
	var rs SessionResponse
	switch {
	case rq.Version != d.capRS.Version:
		return rs, notOffered("session request for version %v, the device selected %v", rq.Version, d.capRS.Version)
	case rq.ConfigID != d.capRS.ConfigID:
		return rs, notOffered("session request for configuration %v, the device selected %v", rq.ConfigID, d.capRS.ConfigID)
	case rq.PulseShape != d.capRS.PulseShape:
		return rs, notOffered("session request for pulse shapes %v, the device selected %v", rq.PulseShape, d.capRS.PulseShape)
	}
	var k URSK
	err := d.cfg.Keys.RangingKey(rq.SessionID, &k)
	k.Clear()
	if err != nil {
		return rs, err
	}
	common := rq.Channels & d.cfg.Channels
	switch {
	case common.Has(Channel9):
		rs.Channel = Channel9
	case common.Has(Channel5):
		rs.Channel = Channel5
	default:
		return rs, noCommon(ParamChannel)
	}
	rs.MinRANMultiplier = d.cfg.MinRANMultiplier
	rs.Slots = d.cfg.Slots
	rs.SyncCodes = d.cfg.SyncCodes
	rs.Hopping = d.cfg.Hopping
	return rs, nil
}

// setup checks the vehicle's final choices against what the device
// announced, picks the SYNC code (the lowest both accept: the project's
// choice) and the initiator's values, and builds the session.
func (d *Device) setup(rq *SetupRequest) (SetupResponse, *Session, error) {
	var rs SetupResponse
	switch {
	case rq.RANMultiplier < d.cfg.MinRANMultiplier:
		// §8.4: the vehicle's final choice is at least the device's minimum.
		return rs, nil, notOffered("RAN multiplier %d below the device's minimum %d", rq.RANMultiplier, d.cfg.MinRANMultiplier)
	case !d.cfg.Slots.Has(rq.ChapsPerSlot):
		return rs, nil, notOffered("%d chaps per slot", rq.ChapsPerSlot)
	case !d.cfg.Hopping.Has(rq.Hopping):
		return rs, nil, notOffered("hopping configuration %v", rq.Hopping)
	}
	sync, ok := (rq.SyncCodes & d.cfg.SyncCodes).Lowest()
	if !ok {
		return rs, nil, noCommon(ParamSyncCode)
	}
	sts0, hop, err := randomSetupValues()
	if err != nil {
		return rs, nil, err
	}
	time0, err := d.cfg.UWBTime0()
	if err != nil {
		return rs, nil, fmt.Errorf("ranging: UWB_Time0: %w", err)
	}
	p := SessionParams{
		Version: d.capRS.Version, ConfigID: d.capRS.ConfigID, SessionID: d.id, PulseShape: d.capRS.PulseShape,
		Channel: d.channel, RANMultiplier: rq.RANMultiplier, ChapsPerSlot: rq.ChapsPerSlot,
		Responders: rq.Responders, SlotsPerRound: rq.SlotsPerRound, Hopping: rq.Hopping,
		SyncCode: sync, STSIndex0: sts0, UWBTime0: time0, HopModeKey: hop,
	}
	s, err := newSession(&p, d.cfg.Keys, d.cfg.Salt)
	if err != nil {
		return rs, nil, err
	}
	return SetupResponse{STSIndex0: sts0, UWBTime0: time0, HopModeKey: hop, SyncCode: sync}, s, nil
}

// randomSetupValues draws STS_Index0 (below 2^30) and HOP_Mode_Key.
func randomSetupValues() (sts0, hopKey uint32, err error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, 0, fmt.Errorf("ranging: %w", err)
	}
	return binary.BigEndian.Uint32(b[:4]) & MaxSTSIndex0, binary.BigEndian.Uint32(b[4:]), nil
}

func (d *Device) checkSession(id SessionID) error {
	if d.session == nil {
		return fmt.Errorf("%w: no established session", ErrSessionState)
	}
	if id != d.session.Params().SessionID {
		return fmt.Errorf("%w: request for %v, the session is %v", ErrWrongSession, id, d.session.Params().SessionID)
	}
	return nil
}

// recover answers a recovery of session id: new STS_Index0 and UWB_Time0,
// and a new RAN multiplier when ran is not 0. The URSK must still be live;
// when it is not, the session moves to StateURSKRefreshNeeded.
func (d *Device) recover(id SessionID, ran uint8) (RecoveryResponse, error) {
	var rs RecoveryResponse
	if err := d.checkSession(id); err != nil {
		return rs, err
	}
	sts0, _, err := randomSetupValues()
	if err != nil {
		return rs, err
	}
	time0, err := d.cfg.UWBTime0()
	if err != nil {
		return rs, fmt.Errorf("ranging: UWB_Time0: %w", err)
	}
	if err := d.session.recover(sts0, time0, ran); err != nil {
		return rs, err
	}
	return RecoveryResponse{STSIndex0: sts0, UWBTime0: time0}, nil
}

// Suspend appends a device-initiated Ranging_Suspend_RQ to dst.
func (d *Device) Suspend(dst []byte) (MessageID, []byte, error) {
	if d.session == nil {
		return 0, dst, fmt.Errorf("%w: no established session", ErrSessionState)
	}
	if d.pending {
		return 0, dst, fmt.Errorf("%w: a suspend request awaits its response", ErrSessionState)
	}
	if s := d.session.State(); s != StateEstablished && s != StateRecovered {
		return 0, dst, fmt.Errorf("%w: suspend in state %v", ErrSessionState, s)
	}
	d.pending = true
	rq := SuspendRequest{SessionID: d.session.Params().SessionID}
	return MsgSuspendRQ, rq.Append(dst), nil
}

// Close ends the established session, if any, and zeroizes its keys.
func (d *Device) Close() {
	if d.session != nil {
		d.session.Close()
	}
}
