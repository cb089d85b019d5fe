package uwb

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// Device roles and types of the DEVICE_ROLE and DEVICE_TYPE parameters.
const (
	RoleResponder  = 0x00 // CCC: the vehicle's anchors
	RoleInitiator  = 0x01 // CCC: the device (phone, watch)
	TypeControlee  = 0x00
	TypeController = 0x01
)

// CCCConfig is the application configuration of a CCC ranging session (the
// parameters docs/protocol.md §8.4 negotiates, mapped onto UCI as Android's UWB
// stack does in CccEncoder, I [AOSP]): the values both chips of a session
// must share, and each chip's role.
//
// It holds the URSK; it redacts itself when printed, and Clear zeroizes it.
type CCCConfig struct {
	Initiator       bool   // DEVICE_ROLE initiator and DEVICE_TYPE controller (the device); else responder, controlee (a vehicle anchor)
	ProtocolVersion uint16 // CCC_RANGING_PROTOCOL_VER: major‖minor, 0x0100 for 1.0
	ConfigID        uint16 // CCC_UWB_CONFIG_ID
	PulseShapeCombo uint8  // CCC_PULSESHAPE_COMBO
	Channel         uint8  // CHANNEL_NUMBER: 5 or 9
	STSIndex0       uint32 // STS_INDEX
	UWBTime0        uint64 // CCC_UWB_TIME0, µs
	HopModeKey      uint32 // CCC_HOP_MODE_KEY
	RANMultiplier   uint8  // RANGING_DURATION = RANMultiplier × 96 ms
	ChapsPerSlot    uint8  // SLOT_DURATION = ChapsPerSlot × 400 RSTU
	Responders      uint8  // NUMBER_OF_CONTROLEES
	SlotsPerRound   uint8  // SLOTS_PER_RR
	SyncCode        uint8  // PREAMBLE_CODE_INDEX
	HoppingMode     uint8  // HOPPING_MODE, Android's values: 00 none, 03/05 continuous, 02/04 adaptive
	URSK            [32]byte
	URSKTTL         uint16 // CCC_URSK_TTL, minutes (the project's unit; 0: not sent)
}

// AppConfigs sets the session's parameters in l (after clearing it).
func (c *CCCConfig) AppConfigs(l *AppConfigs) error {
	l.Clear()
	role, typ := uint64(RoleResponder), uint64(TypeControlee)
	if c.Initiator {
		role, typ = RoleInitiator, TypeController
	}
	// The version travels little-endian like every UCI number (Android
	// writes protocolVer[1], protocolVer[0]).
	for _, p := range []struct {
		id AppConfigID
		v  uint64
	}{
		{CfgDeviceType, typ},
		{CfgDeviceRole, role},
		{CfgCCCProtocolVersion, uint64(c.ProtocolVersion)},
		{CfgCCCUWBConfigID, uint64(c.ConfigID)},
		{CfgCCCPulseShapeCombo, uint64(c.PulseShapeCombo)},
		{CfgChannelNumber, uint64(c.Channel)},
		{CfgNumberOfControlees, uint64(c.Responders)},
		{CfgRangingDuration, uint64(c.RANMultiplier) * 96},
		{CfgSlotDuration, uint64(c.ChapsPerSlot) * 400},
		{CfgSlotsPerRR, uint64(c.SlotsPerRound)},
		{CfgPreambleCodeIndex, uint64(c.SyncCode)},
		{CfgHoppingMode, uint64(c.HoppingMode)},
		{CfgSTSIndex, uint64(c.STSIndex0)},
		{CfgCCCHopModeKey, uint64(c.HopModeKey)},
		{CfgCCCUWBTime0, c.UWBTime0},
	} {
		if err := l.SetUint(p.id, p.v); err != nil {
			l.Clear()
			return err
		}
	}
	if c.URSKTTL != 0 {
		if err := l.SetUint(CfgCCCURSKTTL, uint64(c.URSKTTL)); err != nil {
			return err
		}
	}
	return l.SetBytes(CfgSessionKey, c.URSK[:])
}

// FromAppConfigs reads the session's parameters from l. Every parameter
// that AppConfigs sets must be present (CCC_URSK_TTL is optional) and
// consistent: a ranging duration that is a multiple of 96 ms, a slot
// duration that is a multiple of 400 RSTU, a 32-byte session key.
func (c *CCCConfig) FromAppConfigs(l *AppConfigs) error {
	get := func(id AppConfigID) (uint64, error) {
		v, ok := l.Uint(id)
		if !ok {
			return 0, malformed("CCC session without %v", id)
		}
		return v, nil
	}
	var r CCCConfig
	var err error
	u := func(id AppConfigID) uint64 {
		v, e := get(id)
		if err == nil {
			err = e
		}
		return v
	}
	role, typ := u(CfgDeviceRole), u(CfgDeviceType)
	r.ProtocolVersion = uint16(u(CfgCCCProtocolVersion))
	r.ConfigID = uint16(u(CfgCCCUWBConfigID))
	r.PulseShapeCombo = uint8(u(CfgCCCPulseShapeCombo))
	r.Channel = uint8(u(CfgChannelNumber))
	r.Responders = uint8(u(CfgNumberOfControlees))
	ranging, slot := u(CfgRangingDuration), u(CfgSlotDuration)
	r.SlotsPerRound = uint8(u(CfgSlotsPerRR))
	r.SyncCode = uint8(u(CfgPreambleCodeIndex))
	r.HoppingMode = uint8(u(CfgHoppingMode))
	r.STSIndex0 = uint32(u(CfgSTSIndex))
	r.HopModeKey = uint32(u(CfgCCCHopModeKey))
	r.UWBTime0 = u(CfgCCCUWBTime0)
	if err != nil {
		return err
	}
	switch {
	case role > RoleInitiator || typ > TypeController || (role == RoleInitiator) != (typ == TypeController):
		return malformed("CCC role %d with device type %d", role, typ)
	case ranging%96 != 0 || ranging == 0 || ranging/96 > 255:
		return malformed("CCC ranging duration %d ms is not a RAN multiplier × 96", ranging)
	case slot%400 != 0 || slot == 0 || slot/400 > 255:
		return malformed("CCC slot duration %d RSTU is not a number of chaps × 400", slot)
	}
	r.Initiator = role == RoleInitiator
	r.RANMultiplier, r.ChapsPerSlot = uint8(ranging/96), uint8(slot/400)
	if ttl, ok := l.Uint(CfgCCCURSKTTL); ok {
		r.URSKTTL = uint16(ttl)
	}
	key, ok := l.Get(CfgSessionKey)
	if !ok || len(key.Value()) != len(r.URSK) {
		return malformed("CCC session without a 32-byte SESSION_KEY (URSK)")
	}
	copy(r.URSK[:], key.Value())
	*c = r
	r.Clear()
	return nil
}

// SameSession reports whether c and o configure the two ends of one CCC
// session: every shared parameter equal (the URSK compared in constant time)
// and opposite roles.
func (c *CCCConfig) SameSession(o *CCCConfig) bool {
	a, b := *c, *o
	keys := subtle.ConstantTimeCompare(a.URSK[:], b.URSK[:]) == 1
	roles := a.Initiator != b.Initiator
	a.URSK, b.URSK = [32]byte{}, [32]byte{}
	a.Initiator, b.Initiator = false, false
	a.URSKTTL, b.URSKTTL = 0, 0
	return keys && roles && a == b
}

// Clear zeroizes the URSK.
func (c *CCCConfig) Clear() { clear(c.URSK[:]) }

// String describes the configuration without the URSK.
func (c CCCConfig) String() string {
	role := "responder"
	if c.Initiator {
		role = "initiator"
	}
	return fmt.Sprintf("CCC{%s, version %04x, config %04x, pulse %02x, ch%d, STS %d, time0 %d, RAN %d, %d chaps, %d responders, %d slots, SYNC %d, hopping %02x, URSK redacted}",
		role, c.ProtocolVersion, c.ConfigID, c.PulseShapeCombo, c.Channel, c.STSIndex0, c.UWBTime0,
		c.RANMultiplier, c.ChapsPerSlot, c.Responders, c.SlotsPerRound, c.SyncCode, c.HoppingMode)
}

// GoString is String.
func (c CCCConfig) GoString() string { return c.String() }

// Format writes String for every verb.
func (c CCCConfig) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// CCCCaps are the CCC capabilities of a UWBS (CORE_GET_CAPS_INFO, types
// A0-A8; encodings as Android's CccDecoder reads them, I [AOSP]). They feed
// the capabilities of the ranging setup (package ranging).
type CCCCaps struct {
	Slots       uint8  // slot-length bitmask
	SyncCodes   uint32 // SYNC code bitmask, bit n-1 = code n
	Hopping     uint8  // hopping modes and sequences bitmask
	Channels    uint8  // bit 0 channel 5, bit 1 channel 9
	nv, nc, np  uint8
	versions    [8]uint16
	configs     [8]uint16
	pulseShapes [8]uint8
	MinRAN      uint32 // minimum RAN multiplier
	MaxSessions uint32 // 0: not reported
}

// Versions returns the protocol versions (major‖minor), aliasing c.
func (c *CCCCaps) Versions() []uint16 { return c.versions[:c.nv] }

// ConfigIDs returns the UWB configurations, aliasing c.
func (c *CCCCaps) ConfigIDs() []uint16 { return c.configs[:c.nc] }

// PulseShapes returns the pulse-shape combinations, aliasing c.
func (c *CCCCaps) PulseShapes() []uint8 { return c.pulseShapes[:c.np] }

// CCC reads the CCC capabilities from the list. The ones docs/protocol.md §8.4
// negotiates must be present: A0 to A7; A8 is optional.
func (caps *Caps) CCC() (CCCCaps, error) {
	var c CCCCaps
	fixed := func(t uint8, n int) ([]byte, error) {
		v, ok := caps.Get(t)
		if !ok || len(v) != n {
			return nil, malformed("CCC capability %02x of %d bytes, want %d", t, len(v), n)
		}
		return v, nil
	}
	list := func(t uint8, size int) ([]byte, error) {
		v, ok := caps.Get(t)
		if !ok || len(v) == 0 || len(v)%size != 0 || len(v)/size > 8 {
			return nil, malformed("CCC capability %02x of %d bytes: want 1 to 8 entries of %d", t, len(v), size)
		}
		return v, nil
	}
	v, err := fixed(CapCCCChapsPerSlot, 1)
	if err != nil {
		return c, err
	}
	c.Slots = v[0]
	if v, err = fixed(CapCCCSyncCodes, 4); err != nil {
		return c, err
	}
	c.SyncCodes = binary.LittleEndian.Uint32(v)
	if v, err = fixed(CapCCCHoppingConfigs, 1); err != nil {
		return c, err
	}
	c.Hopping = v[0]
	if v, err = fixed(CapCCCChannels, 1); err != nil {
		return c, err
	}
	c.Channels = v[0]
	if v, err = list(CapCCCVersions, 2); err != nil {
		return c, err
	}
	for i := 0; i < len(v); i += 2 {
		c.versions[c.nv] = binary.BigEndian.Uint16(v[i:]) // major, minor
		c.nv++
	}
	if v, err = list(CapCCCUWBConfigs, 2); err != nil {
		return c, err
	}
	for i := 0; i < len(v); i += 2 {
		c.configs[c.nc] = binary.LittleEndian.Uint16(v[i:])
		c.nc++
	}
	if v, err = list(CapCCCPulseShapes, 1); err != nil {
		return c, err
	}
	c.np = uint8(copy(c.pulseShapes[:], v))
	v, ok := caps.Get(CapCCCRANMultiplier)
	switch {
	case ok && len(v) == 4:
		c.MinRAN = binary.LittleEndian.Uint32(v)
	case ok && len(v) == 1: // Android falls back to one byte
		c.MinRAN = uint32(v[0])
	default:
		return c, malformed("CCC capability %02x of %d bytes, want 4 or 1", CapCCCRANMultiplier, len(v))
	}
	if v, ok := caps.Get(CapCCCMaxSessions); ok {
		if len(v) != 4 {
			return c, malformed("CCC capability %02x of %d bytes, want 4", CapCCCMaxSessions, len(v))
		}
		c.MaxSessions = binary.LittleEndian.Uint32(v)
	}
	return c, nil
}

// AppendCCC adds the CCC capabilities of c to the list (the inverse of
// Caps.CCC), for a simulated UWBS.
func (caps *Caps) AppendCCC(c *CCCCaps) error {
	var b [16]byte
	add := func(t uint8, v []byte) error { return caps.Add(t, v) }
	if err := add(CapCCCChapsPerSlot, []byte{c.Slots}); err != nil {
		return err
	}
	if err := add(CapCCCSyncCodes, binary.LittleEndian.AppendUint32(b[:0], c.SyncCodes)); err != nil {
		return err
	}
	if err := add(CapCCCHoppingConfigs, []byte{c.Hopping}); err != nil {
		return err
	}
	if err := add(CapCCCChannels, []byte{c.Channels}); err != nil {
		return err
	}
	v := b[:0]
	for _, x := range c.versions[:c.nv] {
		v = binary.BigEndian.AppendUint16(v, x)
	}
	if err := add(CapCCCVersions, v); err != nil {
		return err
	}
	v = b[:0]
	for _, x := range c.configs[:c.nc] {
		v = binary.LittleEndian.AppendUint16(v, x)
	}
	if err := add(CapCCCUWBConfigs, v); err != nil {
		return err
	}
	if err := add(CapCCCPulseShapes, c.pulseShapes[:c.np]); err != nil {
		return err
	}
	if err := add(CapCCCRANMultiplier, binary.LittleEndian.AppendUint32(b[:0], c.MinRAN)); err != nil {
		return err
	}
	if c.MaxSessions != 0 {
		return add(CapCCCMaxSessions, binary.LittleEndian.AppendUint32(b[:0], c.MaxSessions))
	}
	return nil
}

// SetLists sets the versions, configurations and pulse shapes (1 to 8
// each).
func (c *CCCCaps) SetLists(versions, configs []uint16, pulseShapes []uint8) error {
	if len(versions) == 0 || len(versions) > 8 || len(configs) == 0 || len(configs) > 8 || len(pulseShapes) == 0 || len(pulseShapes) > 8 {
		return malformed("CCC capability lists of %d, %d and %d entries, want 1 to 8", len(versions), len(configs), len(pulseShapes))
	}
	c.nv = uint8(copy(c.versions[:], versions))
	c.nc = uint8(copy(c.configs[:], configs))
	c.np = uint8(copy(c.pulseShapes[:], pulseShapes))
	return nil
}
