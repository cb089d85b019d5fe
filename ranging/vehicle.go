package ranging

import (
	"errors"
	"fmt"
)

// vehicleStage is where the vehicle's setup stands.
type vehicleStage uint8

const (
	vehicleIdle        vehicleStage = iota // before Start
	vehicleCapability                      // Ranging_Capability_RQ sent
	vehicleSession                         // Ranging_Session_RQ sent
	vehicleSetup                           // Ranging_Session_Setup_RQ sent
	vehicleEstablished                     // the session exists
	vehicleFailed                          // the setup failed; err holds why
)

// Vehicle is the vehicle side of the ranging setup of docs/protocol.md §8.4, sans
// I/O: it builds the vehicle's requests and reads the device's responses.
//
//	Start:  Ranging_Capability_RQ  ─▶   versions, configurations, pulse shapes
//	        ◀─ Ranging_Capability_RS     the device's selections
//	        Ranging_Session_RQ     ─▶   selections, UWB session, channels
//	        ◀─ Ranging_Session_RS        minimum RAN multiplier, slots, SYNC codes, channel, hopping
//	        Ranging_Session_Setup_RQ ─▶ the vehicle's final choices
//	        ◀─ Ranging_Session_Setup_RS  STS_Index0, UWB_Time0, HOP_Mode_Key, SYNC code
//
// Once established it suspends and recovers the session and answers the
// device's suspend requests. A failure during the setup is final: every later
// call returns it. A Vehicle is not safe for concurrent use.
type Vehicle struct {
	cfg     VehicleConfig
	slots   uint8 // slots per round
	stage   vehicleStage
	err     error
	id      SessionID
	capRS   CapabilityResponse
	channel Channel
	setupRQ SetupRequest
	session *Session
	pending MessageID // a suspend or recovery request awaiting its response
	ran     uint8     // the RAN multiplier of a pending configurable recovery
	minRAN  uint8     // the larger of the two sides' minimum RAN multipliers
}

// NewVehicle returns the vehicle side of a ranging setup.
func NewVehicle(cfg *VehicleConfig) (*Vehicle, error) {
	if cfg == nil {
		return nil, errors.New("ranging: NewVehicle needs a VehicleConfig (its capabilities and ranging keys)")
	}
	c := *cfg
	caps, err := resolveCommon(c.Capabilities, c.Keys, c.Salt, "Vehicle")
	if err != nil {
		return nil, err
	}
	c.Capabilities = caps
	if c.Responders == 0 || c.Responders > 92 {
		return nil, fmt.Errorf("ranging: %d responders, want 1 to 92", c.Responders)
	}
	slots := c.SlotsPerRound
	if slots == 0 {
		slots, _ = minSlotsPerRound(c.Responders)
	} else if !ValidSlotsPerRound(slots) || int(slots) < int(c.Responders)+4 {
		// docs/protocol.md §8.4: at least N_responders + 4 slots per round.
		return nil, fmt.Errorf("ranging: %d slots per round for %d responders", slots, c.Responders)
	}
	return &Vehicle{cfg: c, slots: slots}, nil
}

// Start begins the setup of the ranging session id, whose URSK the vehicle's
// key store must hold, and appends Ranging_Capability_RQ to dst. A session
// ID without a live URSK fails here, before anything is sent, with the key
// store's error.
func (v *Vehicle) Start(dst []byte, id SessionID) (MessageID, []byte, error) {
	if v.stage != vehicleIdle {
		return 0, dst, fmt.Errorf("%w: Start called twice", ErrSessionState)
	}
	var k URSK
	err := v.cfg.Keys.RangingKey(id, &k)
	k.Clear()
	if err != nil {
		return 0, dst, err
	}
	v.id = id
	v.stage = vehicleCapability
	rq := CapabilityRequest{Versions: v.cfg.Versions, ConfigIDs: v.cfg.ConfigIDs, PulseShapes: v.cfg.PulseShapes}
	return MsgCapabilityRQ, rq.Append(dst), nil
}

// Handle reads a message from the device and appends the vehicle's next
// message to dst. It returns ID 0 when there is nothing to send.
func (v *Vehicle) Handle(dst []byte, id MessageID, payload []byte) (MessageID, []byte, error) {
	switch v.stage {
	case vehicleIdle:
		return 0, dst, &UnexpectedMessageError{Got: id}
	case vehicleFailed:
		return 0, dst, v.err
	case vehicleEstablished:
		return v.handleEstablished(dst, id, payload)
	}
	out, b, err := v.handleSetup(dst, id, payload)
	if err != nil {
		v.stage, v.err = vehicleFailed, err
	}
	return out, b, err
}

func (v *Vehicle) handleSetup(dst []byte, id MessageID, payload []byte) (MessageID, []byte, error) {
	switch v.stage {
	case vehicleCapability:
		if id != MsgCapabilityRS {
			return 0, dst, &UnexpectedMessageError{Want: MsgCapabilityRS, Got: id}
		}
		var rs CapabilityResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		// The device selects from what the vehicle offered (§8.4).
		switch {
		case !v.cfg.Versions.Contains(rs.Version):
			return 0, dst, notOffered("protocol version %v", rs.Version)
		case !v.cfg.ConfigIDs.Contains(rs.ConfigID):
			return 0, dst, notOffered("UWB configuration %v", rs.ConfigID)
		case !v.cfg.PulseShapes.Contains(rs.PulseShape):
			return 0, dst, notOffered("pulse-shape combination %v", rs.PulseShape)
		}
		v.capRS = rs
		v.stage = vehicleSession
		rq := SessionRequest{Version: rs.Version, ConfigID: rs.ConfigID, SessionID: v.id, PulseShape: rs.PulseShape, Channels: v.cfg.Channels}
		return MsgSessionRQ, rq.Append(dst), nil

	case vehicleSession:
		if id != MsgSessionRS {
			return 0, dst, &UnexpectedMessageError{Want: MsgSessionRS, Got: id}
		}
		var rs SessionResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		if !v.cfg.Channels.Has(rs.Channel) {
			return 0, dst, notOffered("channel %v", rs.Channel)
		}
		rq, err := v.choose(&rs)
		if err != nil {
			return 0, dst, err
		}
		v.channel = rs.Channel
		v.minRAN = rq.RANMultiplier
		v.setupRQ = rq
		v.stage = vehicleSetup
		return MsgSetupRQ, rq.Append(dst), nil

	case vehicleSetup:
		if id != MsgSetupRS {
			return 0, dst, &UnexpectedMessageError{Want: MsgSetupRS, Got: id}
		}
		var rs SetupResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		if !v.setupRQ.SyncCodes.Has(rs.SyncCode) {
			return 0, dst, notOffered("SYNC code %d", rs.SyncCode)
		}
		p := SessionParams{
			Version: v.capRS.Version, ConfigID: v.capRS.ConfigID, SessionID: v.id, PulseShape: v.capRS.PulseShape,
			Channel: v.channel, RANMultiplier: v.setupRQ.RANMultiplier, ChapsPerSlot: v.setupRQ.ChapsPerSlot,
			Responders: v.setupRQ.Responders, SlotsPerRound: v.setupRQ.SlotsPerRound, Hopping: v.setupRQ.Hopping,
			SyncCode: rs.SyncCode, STSIndex0: rs.STSIndex0, UWBTime0: rs.UWBTime0, HopModeKey: rs.HopModeKey,
		}
		s, err := newSession(&p, v.cfg.Keys, v.cfg.Salt)
		if err != nil {
			return 0, dst, err
		}
		v.session = s
		v.stage = vehicleEstablished
		return 0, dst, nil
	}
	return 0, dst, &UnexpectedMessageError{Got: id}
}

// choose makes the vehicle's final choices from the device's session
// response, with the rules of docs/protocol.md §8.4.
func (v *Vehicle) choose(rs *SessionResponse) (SetupRequest, error) {
	// The RAN multiplier is at least the device's minimum and the vehicle's.
	ran := max(rs.MinRANMultiplier, v.cfg.MinRANMultiplier)
	// The slot length is the smallest both sides support.
	chaps, ok := (rs.Slots & v.cfg.Slots).Smallest()
	if !ok {
		return SetupRequest{}, noCommon(ParamSlotLength)
	}
	// The SYNC code field carries every code both sides support; the
	// device picks one.
	sync := rs.SyncCodes & v.cfg.SyncCodes
	if sync == 0 {
		return SetupRequest{}, noCommon(ParamSyncCode)
	}
	// Hopping: the first configuration, in the priority of §8.4, that both
	// sides support.
	hop, ok := HoppingConfig(0), false
	for _, h := range hoppingPriority {
		if rs.Hopping.Has(h) && v.cfg.Hopping.Has(h) {
			hop, ok = h, true
			break
		}
	}
	if !ok {
		return SetupRequest{}, noCommon(ParamHopping)
	}
	return SetupRequest{
		RANMultiplier: ran, ChapsPerSlot: chaps, Responders: v.cfg.Responders,
		SlotsPerRound: v.slots, SyncCodes: sync, Hopping: hop,
	}, nil
}

// Session returns the established session, or nil before the setup ends.
func (v *Vehicle) Session() *Session { return v.session }

// Suspend appends Ranging_Suspend_RQ for the established session to dst.
func (v *Vehicle) Suspend(dst []byte) (MessageID, []byte, error) {
	if err := v.canRequest(); err != nil {
		return 0, dst, err
	}
	if st := v.session.State(); !st.CanRange() {
		return 0, dst, fmt.Errorf("%w: suspend in state %v", ErrSessionState, st)
	}
	v.pending = MsgSuspendRQ
	rq := SuspendRequest{SessionID: v.id}
	return MsgSuspendRQ, rq.Append(dst), nil
}

// Recover appends Ranging_Recovery_RQ for the established session to dst.
// The vehicle checks its URSK first: an expired or revoked one moves the
// session to StateURSKRefreshNeeded and fails.
func (v *Vehicle) Recover(dst []byte) (MessageID, []byte, error) {
	return v.recoverRequest(dst, 0)
}

// RecoverWith appends Configurable_Ranging_Recovery_RQ to dst: a recovery
// that also sets the RAN multiplier to ran, which must be at least the
// minimum of both sides.
func (v *Vehicle) RecoverWith(dst []byte, ran uint8) (MessageID, []byte, error) {
	if ran == 0 {
		return 0, dst, fmt.Errorf("ranging: RAN multiplier 0")
	}
	return v.recoverRequest(dst, ran)
}

func (v *Vehicle) recoverRequest(dst []byte, ran uint8) (MessageID, []byte, error) {
	if err := v.canRequest(); err != nil {
		return 0, dst, err
	}
	if err := v.session.CheckKey(); err != nil {
		return 0, dst, err
	}
	if ran == 0 {
		v.pending = MsgRecoveryRQ
		rq := RecoveryRequest{SessionID: v.id}
		return MsgRecoveryRQ, rq.Append(dst), nil
	}
	if ran < v.minRAN {
		// §8.4: the RAN multiplier is at least the device's minimum (and
		// the vehicle's own).
		return 0, dst, fmt.Errorf("%w: RAN multiplier %d below the minimum %d", ErrNotOffered, ran, v.minRAN)
	}
	v.pending, v.ran = MsgConfigurableRecoveryRQ, ran
	rq := ConfigurableRecoveryRequest{SessionID: v.id, RANMultiplier: ran}
	return MsgConfigurableRecoveryRQ, rq.Append(dst), nil
}

func (v *Vehicle) canRequest() error {
	switch {
	case v.stage != vehicleEstablished:
		return fmt.Errorf("%w: no established session", ErrSessionState)
	case v.pending != 0:
		return fmt.Errorf("%w: %v awaits its response", ErrSessionState, v.pending)
	}
	return nil
}

// handleEstablished reads the device's answers to the vehicle's suspend and
// recovery requests and its own suspend requests. A malformed or unexpected
// message changes nothing.
func (v *Vehicle) handleEstablished(dst []byte, id MessageID, payload []byte) (MessageID, []byte, error) {
	switch {
	case id == MsgSuspendRQ:
		var rq SuspendRequest
		if err := rq.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		if rq.SessionID != v.id {
			return 0, dst, fmt.Errorf("%w: suspend of %v, the session is %v", ErrWrongSession, rq.SessionID, v.id)
		}
		if err := v.session.suspend(); err != nil {
			return 0, dst, err
		}
		rs := SuspendResponse{Status: SuspendAccepted}
		return MsgSuspendRS, rs.Append(dst), nil

	case id == MsgSuspendRS && v.pending == MsgSuspendRQ:
		var rs SuspendResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		v.pending = 0
		if rs.Status == SuspendAccepted {
			return 0, dst, v.session.suspend()
		}
		return 0, dst, nil // delayed: the device suspends later (§8.4)

	case id == MsgRecoveryRS && v.pending == MsgRecoveryRQ:
		var rs RecoveryResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		v.pending = 0
		return 0, dst, v.session.recover(rs.STSIndex0, rs.UWBTime0, 0)

	case id == MsgConfigurableRecoveryRS && v.pending == MsgConfigurableRecoveryRQ:
		var rs ConfigurableRecoveryResponse
		if err := rs.Unmarshal(payload); err != nil {
			return 0, dst, err
		}
		v.pending = 0
		return 0, dst, v.session.recover(rs.STSIndex0, rs.UWBTime0, v.ran)
	}
	return 0, dst, &UnexpectedMessageError{Want: v.pending, Got: id}
}

// Close ends the established session, if any, and zeroizes its keys.
func (v *Vehicle) Close() {
	if v.session != nil {
		v.session.Close()
	}
}
