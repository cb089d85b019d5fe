package uwb

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// AppConfigID identifies an application-configuration parameter of a UWB
// session (FiRa UCI APP configuration parameters; CCC parameters A0-A8 as in
// google/pica and Android uci_packets.pdl).
type AppConfigID uint8

// The application-configuration parameters this package knows. Values are
// little-endian, as every UCI field.
const (
	CfgDeviceType          AppConfigID = 0x00 // 1: 0 controlee, 1 controller
	CfgRangingRoundUsage   AppConfigID = 0x01 // 1
	CfgSTSConfig           AppConfigID = 0x02 // 1
	CfgMultiNodeMode       AppConfigID = 0x03 // 1: 0 unicast, 1 one-to-many
	CfgChannelNumber       AppConfigID = 0x04 // 1: UWB channel
	CfgNumberOfControlees  AppConfigID = 0x05 // 1: CCC responders (anchors)
	CfgDeviceMACAddress    AppConfigID = 0x06 // 2 or 8
	CfgSlotDuration        AppConfigID = 0x08 // 2: RSTU; CCC chaps per slot × 400
	CfgRangingDuration     AppConfigID = 0x09 // 4: ms; CCC RAN multiplier × 96
	CfgSTSIndex            AppConfigID = 0x0A // 4: CCC STS_Index0
	CfgSessionInfoNtf      AppConfigID = 0x0E // 1: ranging notifications on/off
	CfgDeviceRole          AppConfigID = 0x11 // 1: 0 responder, 1 initiator
	CfgRFrameConfig        AppConfigID = 0x12 // 1
	CfgPreambleCodeIndex   AppConfigID = 0x14 // 1: CCC SYNC code index
	CfgSlotsPerRR          AppConfigID = 0x1B // 1: CCC slots per round
	CfgUWBInitiationTime   AppConfigID = 0x2B // 4 or 8
	CfgHoppingMode         AppConfigID = 0x2C // 1: CCC hopping configuration (Android values)
	CfgSessionKey          AppConfigID = 0x45 // 16 or 32: CCC URSK (secret)
	CfgCCCHopModeKey       AppConfigID = 0xA0 // 4
	CfgCCCUWBTime0         AppConfigID = 0xA1 // 8: µs
	CfgCCCProtocolVersion  AppConfigID = 0xA3 // 2
	CfgCCCUWBConfigID      AppConfigID = 0xA4 // 2
	CfgCCCPulseShapeCombo  AppConfigID = 0xA5 // 1
	CfgCCCURSKTTL          AppConfigID = 0xA6 // 2
	CfgCCCLastSTSIndexUsed AppConfigID = 0xA8 // 4, read-only
)

// sizes returns the sizes parameter id may have; both zero for an unknown
// parameter.
func (id AppConfigID) sizes() (a, b int) {
	switch id {
	case CfgDeviceType, CfgRangingRoundUsage, CfgSTSConfig, CfgMultiNodeMode, CfgChannelNumber,
		CfgNumberOfControlees, CfgSessionInfoNtf, CfgDeviceRole, CfgRFrameConfig, CfgPreambleCodeIndex,
		CfgSlotsPerRR, CfgHoppingMode, CfgCCCPulseShapeCombo:
		return 1, 1
	case CfgSlotDuration, CfgCCCProtocolVersion, CfgCCCUWBConfigID, CfgCCCURSKTTL:
		return 2, 2
	case CfgRangingDuration, CfgSTSIndex, CfgCCCHopModeKey, CfgCCCLastSTSIndexUsed:
		return 4, 4
	case CfgCCCUWBTime0:
		return 8, 8
	case CfgDeviceMACAddress:
		return 2, 8
	case CfgUWBInitiationTime:
		return 4, 8
	case CfgSessionKey:
		return 16, 32
	}
	return 0, 0
}

// Known reports whether the package knows parameter id.
func (id AppConfigID) Known() bool { a, _ := id.sizes(); return a != 0 }

func (id AppConfigID) sizeOK(n int) bool {
	a, b := id.sizes()
	return a != 0 && (n == a || n == b)
}

// String returns the parameter's UCI name.
func (id AppConfigID) String() string {
	switch id {
	case CfgDeviceType:
		return "DEVICE_TYPE"
	case CfgRangingRoundUsage:
		return "RANGING_ROUND_USAGE"
	case CfgSTSConfig:
		return "STS_CONFIG"
	case CfgMultiNodeMode:
		return "MULTI_NODE_MODE"
	case CfgChannelNumber:
		return "CHANNEL_NUMBER"
	case CfgNumberOfControlees:
		return "NUMBER_OF_CONTROLEES"
	case CfgDeviceMACAddress:
		return "DEVICE_MAC_ADDRESS"
	case CfgSlotDuration:
		return "SLOT_DURATION"
	case CfgRangingDuration:
		return "RANGING_DURATION"
	case CfgSTSIndex:
		return "STS_INDEX"
	case CfgSessionInfoNtf:
		return "SESSION_INFO_NTF_CONFIG"
	case CfgDeviceRole:
		return "DEVICE_ROLE"
	case CfgRFrameConfig:
		return "RFRAME_CONFIG"
	case CfgPreambleCodeIndex:
		return "PREAMBLE_CODE_INDEX"
	case CfgSlotsPerRR:
		return "SLOTS_PER_RR"
	case CfgUWBInitiationTime:
		return "UWB_INITIATION_TIME"
	case CfgHoppingMode:
		return "HOPPING_MODE"
	case CfgSessionKey:
		return "SESSION_KEY"
	case CfgCCCHopModeKey:
		return "CCC_HOP_MODE_KEY"
	case CfgCCCUWBTime0:
		return "CCC_UWB_TIME0"
	case CfgCCCProtocolVersion:
		return "CCC_RANGING_PROTOCOL_VER"
	case CfgCCCUWBConfigID:
		return "CCC_UWB_CONFIG_ID"
	case CfgCCCPulseShapeCombo:
		return "CCC_PULSESHAPE_COMBO"
	case CfgCCCURSKTTL:
		return "CCC_URSK_TTL"
	case CfgCCCLastSTSIndexUsed:
		return "CCC_LAST_INDEX_USED"
	}
	return fmt.Sprintf("AppConfigID(0x%02x)", uint8(id))
}

// maxAppConfigValue is the longest parameter value (SESSION_KEY).
const maxAppConfigValue = 32

// MaxAppConfigs is the largest number of parameters in one list.
const MaxAppConfigs = 32

// AppConfig is one parameter and its value. The value of SESSION_KEY is
// secret: an AppConfig holding it redacts itself when printed.
type AppConfig struct {
	ID AppConfigID
	n  uint8
	v  [maxAppConfigValue]byte
}

// Value returns the parameter's value bytes, aliasing c.
func (c *AppConfig) Value() []byte { return c.v[:c.n] }

// Uint returns the value as a little-endian number (the first 8 bytes).
func (c *AppConfig) Uint() uint64 {
	var b [8]byte
	copy(b[:], c.v[:min(c.n, 8)])
	return binary.LittleEndian.Uint64(b[:])
}

// String describes the parameter; a SESSION_KEY value is redacted.
func (c AppConfig) String() string {
	if c.ID == CfgSessionKey {
		return fmt.Sprintf("%v=(%d bytes, redacted)", c.ID, c.n)
	}
	return fmt.Sprintf("%v=%x", c.ID, c.v[:c.n])
}

// GoString is String.
func (c AppConfig) GoString() string { return c.String() }

// Format writes String for every verb.
func (c AppConfig) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// AppConfigs is a list of application-configuration parameters, each at
// most once, in the order they were set: the payload of
// SESSION_SET_APP_CONFIG and SESSION_GET_APP_CONFIG. It holds at most
// [MaxAppConfigs] entries in fixed storage. Clear zeroizes it (it may hold
// the URSK).
type AppConfigs struct {
	n uint8
	e [MaxAppConfigs]AppConfig
}

// Len returns the number of parameters.
func (l *AppConfigs) Len() int { return int(l.n) }

// At returns the i-th parameter, aliasing l. It panics if i is out of range.
func (l *AppConfigs) At(i int) *AppConfig { return &l.e[:l.n][i] }

// Get returns parameter id, aliasing l, and whether it is present.
func (l *AppConfigs) Get(id AppConfigID) (*AppConfig, bool) {
	for i := range l.e[:l.n] {
		if l.e[i].ID == id {
			return &l.e[i], true
		}
	}
	return nil, false
}

// Uint returns the value of parameter id as a little-endian number and
// whether it is present.
func (l *AppConfigs) Uint(id AppConfigID) (uint64, bool) {
	c, ok := l.Get(id)
	if !ok {
		return 0, false
	}
	return c.Uint(), true
}

// SetBytes sets parameter id to a copy of v, replacing an earlier value. The
// parameter must be known and v of one of its sizes; the error wraps
// [ErrMalformed].
func (l *AppConfigs) SetBytes(id AppConfigID, v []byte) error {
	if !id.sizeOK(len(v)) {
		return malformed("%v with a %d-byte value", id, len(v))
	}
	c, ok := l.Get(id)
	if !ok {
		if l.n == MaxAppConfigs {
			return malformed("more than %d parameters", MaxAppConfigs)
		}
		c = &l.e[l.n]
		l.n++
	}
	clear(c.v[:])
	c.ID, c.n = id, uint8(copy(c.v[:], v))
	return nil
}

// SetUint sets parameter id to v, little-endian, in the parameter's
// (smallest) size. v must fit.
func (l *AppConfigs) SetUint(id AppConfigID, v uint64) error {
	n, _ := id.sizes()
	if n == 0 || n > 8 {
		return malformed("%v is not a number", id)
	}
	if n < 8 && v>>(8*n) != 0 {
		return malformed("%v value %d does not fit %d bytes", id, v, n)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return l.SetBytes(id, b[:n])
}

// Clear zeroizes and empties the list.
func (l *AppConfigs) Clear() {
	for i := range l.e {
		clear(l.e[i].v[:])
		l.e[i].n = 0
	}
	l.n = 0
}

// String lists the parameters; SESSION_KEY is redacted.
func (l *AppConfigs) String() string {
	parts := make([]string, l.n)
	for i := range l.e[:l.n] {
		parts[i] = l.e[i].String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// append appends count ‖ (ID ‖ length ‖ value)*.
func (l *AppConfigs) append(dst []byte) []byte {
	dst = append(dst, l.n)
	for i := range l.e[:l.n] {
		c := &l.e[i]
		dst = append(append(dst, byte(c.ID), c.n), c.v[:c.n]...)
	}
	return dst
}

// unmarshal decodes count ‖ (ID ‖ length ‖ value)* from b and returns the
// rest. Unknown parameters, wrong sizes and repeated parameters are
// errors.
func (l *AppConfigs) unmarshal(b []byte) ([]byte, error) {
	if len(b) < 1 {
		return nil, malformed("missing parameter count")
	}
	count := int(b[0])
	if count > MaxAppConfigs {
		return nil, malformed("%d parameters, limit %d", count, MaxAppConfigs)
	}
	b = b[1:]
	var out AppConfigs
	for range count {
		if len(b) < 2 || len(b)-2 < int(b[1]) {
			return nil, malformed("truncated parameter")
		}
		id, v := AppConfigID(b[0]), b[2:2+int(b[1])]
		if _, dup := out.Get(id); dup {
			return nil, malformed("%v listed twice", id)
		}
		if err := out.SetBytes(id, v); err != nil {
			return nil, err
		}
		b = b[2+len(v):]
	}
	*l = out
	out.Clear()
	return b, nil
}

// AppConfigStatus is the status of one parameter in a
// SESSION_SET_APP_CONFIG response.
type AppConfigStatus struct {
	ID     AppConfigID
	Status Status
}
