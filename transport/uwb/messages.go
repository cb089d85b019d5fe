package uwb

import (
	"encoding/binary"
	"fmt"
)

// Message is one UCI message: its type and opcode, and the encoding of its
// payload. UnmarshalPayload is strict: a payload of the wrong length, an
// unknown value where the layout depends on it, a reserved field that is not
// zero or trailing bytes is an error wrapping [ErrMalformed], and the
// message is left unchanged. Layouts are self-delimiting, so no strict
// prefix of a payload decodes, with the exceptions the protocol makes: the
// status octet alone is a UCI 1.x SESSION_INIT_RSP, the status octet of a
// failed CORE_GET_DEVICE_INFO_RSP is a complete response, and the vendor
// data that ends a SESSION_INFO_NTF has no length of its own. With a
// destination of enough capacity,
// AppendPayload allocates nothing, and no UnmarshalPayload allocates.
//
// Layouts and values: FiRa UCI as described by google/pica
// src/uci_packets.pdl and Android's libuwb-uci uci_packets.pdl (see
// testdata/README.md).
type Message interface {
	Type() MessageType
	Opcode() Opcode
	AppendPayload(dst []byte) []byte
	UnmarshalPayload(b []byte) error
}

// NewMessage returns a zero message of type mt and opcode op, ready for
// UnmarshalPayload, or nil when the package does not know it.
func NewMessage(mt MessageType, op Opcode) Message {
	switch uint32(mt)<<16 | uint32(op) {
	case uint32(MTCommand)<<16 | uint32(OpCoreDeviceReset):
		return new(DeviceResetCmd)
	case uint32(MTResponse)<<16 | uint32(OpCoreDeviceReset):
		return new(DeviceResetRsp)
	case uint32(MTNotification)<<16 | uint32(OpCoreDeviceStatus):
		return new(DeviceStatusNtf)
	case uint32(MTCommand)<<16 | uint32(OpCoreDeviceInfo):
		return new(GetDeviceInfoCmd)
	case uint32(MTResponse)<<16 | uint32(OpCoreDeviceInfo):
		return new(GetDeviceInfoRsp)
	case uint32(MTCommand)<<16 | uint32(OpCoreGetCaps):
		return new(GetCapsCmd)
	case uint32(MTResponse)<<16 | uint32(OpCoreGetCaps):
		return new(GetCapsRsp)
	case uint32(MTNotification)<<16 | uint32(OpCoreGenericError):
		return new(GenericErrorNtf)
	case uint32(MTCommand)<<16 | uint32(OpCoreQueryTimestamp):
		return new(QueryTimestampCmd)
	case uint32(MTResponse)<<16 | uint32(OpCoreQueryTimestamp):
		return new(QueryTimestampRsp)
	case uint32(MTCommand)<<16 | uint32(OpSessionInit):
		return new(SessionInitCmd)
	case uint32(MTResponse)<<16 | uint32(OpSessionInit):
		return new(SessionInitRsp)
	case uint32(MTCommand)<<16 | uint32(OpSessionDeinit):
		return new(SessionDeinitCmd)
	case uint32(MTResponse)<<16 | uint32(OpSessionDeinit):
		return new(SessionDeinitRsp)
	case uint32(MTNotification)<<16 | uint32(OpSessionStatus):
		return new(SessionStatusNtf)
	case uint32(MTCommand)<<16 | uint32(OpSessionSetAppConfig):
		return new(SetAppConfigCmd)
	case uint32(MTResponse)<<16 | uint32(OpSessionSetAppConfig):
		return new(SetAppConfigRsp)
	case uint32(MTCommand)<<16 | uint32(OpSessionGetAppConfig):
		return new(GetAppConfigCmd)
	case uint32(MTResponse)<<16 | uint32(OpSessionGetAppConfig):
		return new(GetAppConfigRsp)
	case uint32(MTCommand)<<16 | uint32(OpSessionStart):
		return new(SessionStartCmd)
	case uint32(MTResponse)<<16 | uint32(OpSessionStart):
		return new(SessionStartRsp)
	case uint32(MTNotification)<<16 | uint32(OpSessionStart):
		return new(RangingData)
	case uint32(MTCommand)<<16 | uint32(OpSessionStop):
		return new(SessionStopCmd)
	case uint32(MTResponse)<<16 | uint32(OpSessionStop):
		return new(SessionStopRsp)
	}
	return nil
}

// statusOnly decodes a payload that is one status octet.
func statusOnly(b []byte, s *Status, what Opcode) error {
	if len(b) != 1 {
		return malformed("%v response of %d bytes, want 1", what, len(b))
	}
	*s = Status(b[0])
	return nil
}

// sessionOnly decodes a payload that is one 4-byte session token.
func sessionOnly(b []byte, s *uint32, what Opcode) error {
	if len(b) != 4 {
		return malformed("%v command of %d bytes, want 4", what, len(b))
	}
	*s = binary.LittleEndian.Uint32(b)
	return nil
}

func empty(b []byte, what Opcode) error {
	if len(b) != 0 {
		return malformed("%v command with %d payload bytes, want none", what, len(b))
	}
	return nil
}

// DeviceResetCmd is CORE_DEVICE_RESET_CMD: reset configuration (00 = UWBS
// reset).
type DeviceResetCmd struct{ ResetConfig uint8 }

func (*DeviceResetCmd) Type() MessageType { return MTCommand }
func (*DeviceResetCmd) Opcode() Opcode    { return OpCoreDeviceReset }
func (m *DeviceResetCmd) AppendPayload(dst []byte) []byte {
	return append(dst, m.ResetConfig)
}
func (m *DeviceResetCmd) UnmarshalPayload(b []byte) error {
	if len(b) != 1 || b[0] != 0 {
		return malformed("CORE_DEVICE_RESET_CMD %x, want 00", b)
	}
	m.ResetConfig = 0
	return nil
}

// DeviceResetRsp is CORE_DEVICE_RESET_RSP: status.
type DeviceResetRsp struct{ Status Status }

func (*DeviceResetRsp) Type() MessageType                 { return MTResponse }
func (*DeviceResetRsp) Opcode() Opcode                    { return OpCoreDeviceReset }
func (m *DeviceResetRsp) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Status)) }
func (m *DeviceResetRsp) UnmarshalPayload(b []byte) error {
	return statusOnly(b, &m.Status, OpCoreDeviceReset)
}

// DeviceState is the state in CORE_DEVICE_STATUS_NTF.
type DeviceState uint8

// Device states.
const (
	DeviceReady  DeviceState = 0x01
	DeviceActive DeviceState = 0x02
	DeviceError  DeviceState = 0xFF
)

// String names the state.
func (s DeviceState) String() string {
	switch s {
	case DeviceReady:
		return "READY"
	case DeviceActive:
		return "ACTIVE"
	case DeviceError:
		return "ERROR"
	}
	return fmt.Sprintf("DeviceState(0x%02x)", uint8(s))
}

// DeviceStatusNtf is CORE_DEVICE_STATUS_NTF: the UWBS's state (READY after
// a reset).
type DeviceStatusNtf struct{ State DeviceState }

func (*DeviceStatusNtf) Type() MessageType                 { return MTNotification }
func (*DeviceStatusNtf) Opcode() Opcode                    { return OpCoreDeviceStatus }
func (m *DeviceStatusNtf) AppendPayload(dst []byte) []byte { return append(dst, byte(m.State)) }
func (m *DeviceStatusNtf) UnmarshalPayload(b []byte) error {
	if len(b) != 1 {
		return malformed("CORE_DEVICE_STATUS_NTF of %d bytes, want 1", len(b))
	}
	switch s := DeviceState(b[0]); s {
	case DeviceReady, DeviceActive, DeviceError:
		m.State = s
		return nil
	}
	return malformed("device state 0x%02x", b[0])
}

// GenericErrorNtf is CORE_GENERIC_ERROR_NTF: a status the UWBS reports
// outside any command.
type GenericErrorNtf struct{ Status Status }

func (*GenericErrorNtf) Type() MessageType                 { return MTNotification }
func (*GenericErrorNtf) Opcode() Opcode                    { return OpCoreGenericError }
func (m *GenericErrorNtf) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Status)) }
func (m *GenericErrorNtf) UnmarshalPayload(b []byte) error {
	return statusOnly(b, &m.Status, OpCoreGenericError)
}

// GetDeviceInfoCmd is CORE_GET_DEVICE_INFO_CMD (no payload).
type GetDeviceInfoCmd struct{}

func (*GetDeviceInfoCmd) Type() MessageType               { return MTCommand }
func (*GetDeviceInfoCmd) Opcode() Opcode                  { return OpCoreDeviceInfo }
func (*GetDeviceInfoCmd) AppendPayload(dst []byte) []byte { return dst }
func (*GetDeviceInfoCmd) UnmarshalPayload(b []byte) error { return empty(b, OpCoreDeviceInfo) }

// MaxVendorInfo bounds the vendor-specific bytes of device information and
// ranging notifications.
const MaxVendorInfo = 64

// GetDeviceInfoRsp is CORE_GET_DEVICE_INFO_RSP: status, UCI version, MAC
// version, PHY version, UCI test version (2 bytes each), vendor-specific
// information (count and bytes). A response with a status other than OK
// may be the status alone (StatusOnly).
type GetDeviceInfoRsp struct {
	Status         Status
	StatusOnly     bool // the response is the status octet alone (a failure)
	UCIVersion     uint16
	MACVersion     uint16
	PHYVersion     uint16
	UCITestVersion uint16
	n              uint8
	vendor         [MaxVendorInfo]byte
}

// Vendor returns the vendor-specific information, aliasing m.
func (m *GetDeviceInfoRsp) Vendor() []byte { return m.vendor[:m.n] }

// SetVendor sets the vendor-specific information (at most MaxVendorInfo
// bytes; longer input is an error).
func (m *GetDeviceInfoRsp) SetVendor(b []byte) error {
	if len(b) > MaxVendorInfo {
		return malformed("%d vendor bytes, limit %d", len(b), MaxVendorInfo)
	}
	m.n = uint8(copy(m.vendor[:], b))
	return nil
}

func (*GetDeviceInfoRsp) Type() MessageType { return MTResponse }
func (*GetDeviceInfoRsp) Opcode() Opcode    { return OpCoreDeviceInfo }
func (m *GetDeviceInfoRsp) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(m.Status))
	if m.StatusOnly {
		return dst
	}
	for _, v := range [4]uint16{m.UCIVersion, m.MACVersion, m.PHYVersion, m.UCITestVersion} {
		dst = binary.LittleEndian.AppendUint16(dst, v)
	}
	return append(append(dst, m.n), m.vendor[:m.n]...)
}
func (m *GetDeviceInfoRsp) UnmarshalPayload(b []byte) error {
	if len(b) == 1 && b[0] != byte(StatusOK) {
		*m = GetDeviceInfoRsp{Status: Status(b[0]), StatusOnly: true}
		return nil
	}
	if len(b) < 10 || len(b) != 10+int(b[9]) || b[9] > MaxVendorInfo {
		return malformed("CORE_GET_DEVICE_INFO_RSP of %d bytes", len(b))
	}
	r := GetDeviceInfoRsp{
		Status:     Status(b[0]),
		UCIVersion: binary.LittleEndian.Uint16(b[1:]), MACVersion: binary.LittleEndian.Uint16(b[3:]),
		PHYVersion: binary.LittleEndian.Uint16(b[5:]), UCITestVersion: binary.LittleEndian.Uint16(b[7:]),
	}
	r.n = uint8(copy(r.vendor[:], b[10:]))
	*m = r
	return nil
}

// GetCapsCmd is CORE_GET_CAPS_INFO_CMD (no payload).
type GetCapsCmd struct{}

func (*GetCapsCmd) Type() MessageType               { return MTCommand }
func (*GetCapsCmd) Opcode() Opcode                  { return OpCoreGetCaps }
func (*GetCapsCmd) AppendPayload(dst []byte) []byte { return dst }
func (*GetCapsCmd) UnmarshalPayload(b []byte) error { return empty(b, OpCoreGetCaps) }

// Capability TLV types of the CCC range (Android uci_packets.pdl CapTlvType;
// google/pica CapTlvType).
const (
	CapCCCChapsPerSlot   uint8 = 0xA0 // 1: slot-length bitmask (bit i = 3, 4, 6, 8, 9, 12, 24 chaps)
	CapCCCSyncCodes      uint8 = 0xA1 // 4: SYNC code bitmask, little-endian, bit n-1 = code n
	CapCCCHoppingConfigs uint8 = 0xA2 // 1: hopping modes and sequences bitmask
	CapCCCChannels       uint8 = 0xA3 // 1: bit 0 channel 5, bit 1 channel 9
	CapCCCVersions       uint8 = 0xA4 // 2 per version, major then minor
	CapCCCUWBConfigs     uint8 = 0xA5 // 2 per configuration, little-endian
	CapCCCPulseShapes    uint8 = 0xA6 // 1 per pulse-shape combination
	CapCCCRANMultiplier  uint8 = 0xA7 // 4 (or 1): minimum RAN multiplier, little-endian
	CapCCCMaxSessions    uint8 = 0xA8 // 4: maximum number of CCC ranging sessions
)

// MaxCaps bounds the number of capability TLVs, MaxCapValue each value.
const (
	MaxCaps     = 48
	MaxCapValue = 32
)

// CapTLV is one capability: a type and its value.
type CapTLV struct {
	Type uint8
	n    uint8
	v    [MaxCapValue]byte
}

// Value returns the capability's value, aliasing c.
func (c *CapTLV) Value() []byte { return c.v[:c.n] }

// Caps is the capability list of CORE_GET_CAPS_INFO_RSP. Capability types
// the package does not know are kept: UWBS vendors extend the list.
type Caps struct {
	n uint8
	t [MaxCaps]CapTLV
}

// Len returns the number of capabilities.
func (c *Caps) Len() int { return int(c.n) }

// At returns the i-th capability, aliasing c. It panics if i is out of range.
func (c *Caps) At(i int) *CapTLV { return &c.t[:c.n][i] }

// Get returns the value of capability t and whether it is present.
func (c *Caps) Get(t uint8) ([]byte, bool) {
	for i := range c.t[:c.n] {
		if c.t[i].Type == t {
			return c.t[i].Value(), true
		}
	}
	return nil, false
}

// Add appends capability t with a copy of v.
func (c *Caps) Add(t uint8, v []byte) error {
	if len(v) > MaxCapValue || c.n == MaxCaps {
		return malformed("capability %02x of %d bytes (limit %d) or more than %d capabilities", t, len(v), MaxCapValue, MaxCaps)
	}
	if _, dup := c.Get(t); dup {
		return malformed("capability %02x listed twice", t)
	}
	e := &c.t[c.n]
	e.Type, e.n = t, uint8(copy(e.v[:], v))
	c.n++
	return nil
}

// GetCapsRsp is CORE_GET_CAPS_INFO_RSP: status, count, capability TLVs
// (type, length, value).
type GetCapsRsp struct {
	Status Status
	Caps   Caps
}

func (*GetCapsRsp) Type() MessageType { return MTResponse }
func (*GetCapsRsp) Opcode() Opcode    { return OpCoreGetCaps }
func (m *GetCapsRsp) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(m.Status), m.Caps.n)
	for i := range m.Caps.t[:m.Caps.n] {
		e := &m.Caps.t[i]
		dst = append(append(dst, e.Type, e.n), e.v[:e.n]...)
	}
	return dst
}
func (m *GetCapsRsp) UnmarshalPayload(b []byte) error {
	if len(b) < 2 {
		return malformed("CORE_GET_CAPS_INFO_RSP of %d bytes", len(b))
	}
	r := GetCapsRsp{Status: Status(b[0])}
	count := int(b[1])
	b = b[2:]
	for range count {
		if len(b) < 2 || len(b)-2 < int(b[1]) {
			return malformed("truncated capability")
		}
		if err := r.Caps.Add(b[0], b[2:2+int(b[1])]); err != nil {
			return err
		}
		b = b[2+int(b[1]):]
	}
	if len(b) != 0 {
		return malformed("%d bytes after the capabilities", len(b))
	}
	*m = r
	return nil
}

// QueryTimestampCmd is CORE_QUERY_UWBS_TIMESTAMP_CMD (no payload).
type QueryTimestampCmd struct{}

func (*QueryTimestampCmd) Type() MessageType               { return MTCommand }
func (*QueryTimestampCmd) Opcode() Opcode                  { return OpCoreQueryTimestamp }
func (*QueryTimestampCmd) AppendPayload(dst []byte) []byte { return dst }
func (*QueryTimestampCmd) UnmarshalPayload(b []byte) error {
	return empty(b, OpCoreQueryTimestamp)
}

// QueryTimestampRsp is CORE_QUERY_UWBS_TIMESTAMP_RSP: status and the UWBS
// clock in µs (8 bytes).
type QueryTimestampRsp struct {
	Status    Status
	Timestamp uint64
}

func (*QueryTimestampRsp) Type() MessageType { return MTResponse }
func (*QueryTimestampRsp) Opcode() Opcode    { return OpCoreQueryTimestamp }
func (m *QueryTimestampRsp) AppendPayload(dst []byte) []byte {
	return binary.LittleEndian.AppendUint64(append(dst, byte(m.Status)), m.Timestamp)
}
func (m *QueryTimestampRsp) UnmarshalPayload(b []byte) error {
	if len(b) != 9 {
		return malformed("CORE_QUERY_UWBS_TIMESTAMP_RSP of %d bytes, want 9", len(b))
	}
	m.Status, m.Timestamp = Status(b[0]), binary.LittleEndian.Uint64(b[1:])
	return nil
}

// SessionType is the type of a UWB session in SESSION_INIT_CMD.
type SessionType uint8

// Session types (FiRa UCI; CCC A0, Aliro A2 from Android uci_packets.pdl).
const (
	SessionFiRaRanging SessionType = 0x00
	SessionCCC         SessionType = 0xA0
	SessionAliro       SessionType = 0xA2
	SessionDeviceTest  SessionType = 0xD0
)

func (t SessionType) known() bool {
	return t <= 0x05 || t == 0x9F || t == SessionCCC || t == 0xA1 || t == SessionAliro || t == SessionDeviceTest
}

// SessionInitCmd is SESSION_INIT_CMD: session identifier (4) and type (1).
type SessionInitCmd struct {
	SessionID   uint32
	SessionType SessionType
}

func (*SessionInitCmd) Type() MessageType { return MTCommand }
func (*SessionInitCmd) Opcode() Opcode    { return OpSessionInit }
func (m *SessionInitCmd) AppendPayload(dst []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(dst, m.SessionID), byte(m.SessionType))
}
func (m *SessionInitCmd) UnmarshalPayload(b []byte) error {
	if len(b) != 5 {
		return malformed("SESSION_INIT_CMD of %d bytes, want 5", len(b))
	}
	if !SessionType(b[4]).known() {
		return malformed("session type 0x%02x", b[4])
	}
	m.SessionID, m.SessionType = binary.LittleEndian.Uint32(b), SessionType(b[4])
	return nil
}

// SessionInitRsp is SESSION_INIT_RSP: status, and in UCI 2.0 the session
// handle the UWBS assigned (4), which later commands carry instead of the
// session identifier.
type SessionInitRsp struct {
	Status    Status
	Handle    uint32
	HasHandle bool
}

func (*SessionInitRsp) Type() MessageType { return MTResponse }
func (*SessionInitRsp) Opcode() Opcode    { return OpSessionInit }
func (m *SessionInitRsp) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(m.Status))
	if m.HasHandle {
		dst = binary.LittleEndian.AppendUint32(dst, m.Handle)
	}
	return dst
}
func (m *SessionInitRsp) UnmarshalPayload(b []byte) error {
	switch len(b) {
	case 1:
		*m = SessionInitRsp{Status: Status(b[0])}
	case 5:
		*m = SessionInitRsp{Status: Status(b[0]), Handle: binary.LittleEndian.Uint32(b[1:]), HasHandle: true}
	default:
		return malformed("SESSION_INIT_RSP of %d bytes, want 1 or 5", len(b))
	}
	return nil
}

// SessionDeinitCmd is SESSION_DEINIT_CMD: session token.
type SessionDeinitCmd struct{ Session uint32 }

func (*SessionDeinitCmd) Type() MessageType { return MTCommand }
func (*SessionDeinitCmd) Opcode() Opcode    { return OpSessionDeinit }
func (m *SessionDeinitCmd) AppendPayload(dst []byte) []byte {
	return binary.LittleEndian.AppendUint32(dst, m.Session)
}
func (m *SessionDeinitCmd) UnmarshalPayload(b []byte) error {
	return sessionOnly(b, &m.Session, OpSessionDeinit)
}

// SessionDeinitRsp is SESSION_DEINIT_RSP: status.
type SessionDeinitRsp struct{ Status Status }

func (*SessionDeinitRsp) Type() MessageType                 { return MTResponse }
func (*SessionDeinitRsp) Opcode() Opcode                    { return OpSessionDeinit }
func (m *SessionDeinitRsp) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Status)) }
func (m *SessionDeinitRsp) UnmarshalPayload(b []byte) error {
	return statusOnly(b, &m.Status, OpSessionDeinit)
}

// SessionState is the state in SESSION_STATUS_NTF.
type SessionState uint8

// Session states.
const (
	SessionStateInit   SessionState = 0x00
	SessionStateDeinit SessionState = 0x01
	SessionStateActive SessionState = 0x02
	SessionStateIdle   SessionState = 0x03
)

// String names the state.
func (s SessionState) String() string {
	switch s {
	case SessionStateInit:
		return "INIT"
	case SessionStateDeinit:
		return "DEINIT"
	case SessionStateActive:
		return "ACTIVE"
	case SessionStateIdle:
		return "IDLE"
	}
	return fmt.Sprintf("SessionState(0x%02x)", uint8(s))
}

// Reason codes of SESSION_STATUS_NTF this package names (the rest pass
// through as numbers).
const (
	ReasonStateChange        uint8 = 0x00 // state change with session management commands
	ReasonMaxRetryReached    uint8 = 0x01
	ReasonSessionKeyNotFound uint8 = 0x2A
	ReasonStoppedMaxSTSIndex uint8 = 0xA2
)

// SessionStatusNtf is SESSION_STATUS_NTF: session token (4), state (1),
// reason code (1).
type SessionStatusNtf struct {
	Session uint32
	State   SessionState
	Reason  uint8
}

func (*SessionStatusNtf) Type() MessageType { return MTNotification }
func (*SessionStatusNtf) Opcode() Opcode    { return OpSessionStatus }
func (m *SessionStatusNtf) AppendPayload(dst []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(dst, m.Session), byte(m.State), m.Reason)
}
func (m *SessionStatusNtf) UnmarshalPayload(b []byte) error {
	if len(b) != 6 {
		return malformed("SESSION_STATUS_NTF of %d bytes, want 6", len(b))
	}
	if b[4] > byte(SessionStateIdle) {
		return malformed("session state 0x%02x", b[4])
	}
	*m = SessionStatusNtf{Session: binary.LittleEndian.Uint32(b), State: SessionState(b[4]), Reason: b[5]}
	return nil
}

// SetAppConfigCmd is SESSION_SET_APP_CONFIG_CMD: session token (4), count,
// parameters (ID, length, value).
type SetAppConfigCmd struct {
	Session uint32
	Config  AppConfigs
}

func (*SetAppConfigCmd) Type() MessageType { return MTCommand }
func (*SetAppConfigCmd) Opcode() Opcode    { return OpSessionSetAppConfig }
func (m *SetAppConfigCmd) AppendPayload(dst []byte) []byte {
	return m.Config.append(binary.LittleEndian.AppendUint32(dst, m.Session))
}
func (m *SetAppConfigCmd) UnmarshalPayload(b []byte) error {
	if len(b) < 4 {
		return malformed("SESSION_SET_APP_CONFIG_CMD of %d bytes", len(b))
	}
	var c AppConfigs
	rest, err := c.unmarshal(b[4:])
	if err == nil && len(rest) != 0 {
		err = malformed("%d bytes after the parameters", len(rest))
	}
	if err != nil {
		c.Clear()
		return err
	}
	m.Session, m.Config = binary.LittleEndian.Uint32(b), c
	c.Clear()
	return nil
}

// SetAppConfigRsp is SESSION_SET_APP_CONFIG_RSP: status, count, and the
// parameters that failed, each with its status.
type SetAppConfigRsp struct {
	Status  Status
	n       uint8
	results [MaxAppConfigs]AppConfigStatus
}

// Results returns the per-parameter statuses, aliasing m.
func (m *SetAppConfigRsp) Results() []AppConfigStatus { return m.results[:m.n] }

// AddResult appends a per-parameter status.
func (m *SetAppConfigRsp) AddResult(id AppConfigID, s Status) error {
	if m.n == MaxAppConfigs {
		return malformed("more than %d parameter statuses", MaxAppConfigs)
	}
	m.results[m.n] = AppConfigStatus{ID: id, Status: s}
	m.n++
	return nil
}

func (*SetAppConfigRsp) Type() MessageType { return MTResponse }
func (*SetAppConfigRsp) Opcode() Opcode    { return OpSessionSetAppConfig }
func (m *SetAppConfigRsp) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(m.Status), m.n)
	for _, r := range m.results[:m.n] {
		dst = append(dst, byte(r.ID), byte(r.Status))
	}
	return dst
}
func (m *SetAppConfigRsp) UnmarshalPayload(b []byte) error {
	if len(b) < 2 || int(b[1]) > MaxAppConfigs || len(b) != 2+2*int(b[1]) {
		return malformed("SESSION_SET_APP_CONFIG_RSP of %d bytes", len(b))
	}
	r := SetAppConfigRsp{Status: Status(b[0]), n: b[1]}
	for i := range int(r.n) {
		r.results[i] = AppConfigStatus{ID: AppConfigID(b[2+2*i]), Status: Status(b[3+2*i])}
	}
	*m = r
	return nil
}

// GetAppConfigCmd is SESSION_GET_APP_CONFIG_CMD: session token (4), count,
// parameter IDs (none: all).
type GetAppConfigCmd struct {
	Session uint32
	n       uint8
	ids     [MaxAppConfigs]AppConfigID
}

// IDs returns the requested parameters, aliasing m.
func (m *GetAppConfigCmd) IDs() []AppConfigID { return m.ids[:m.n] }

// SetIDs sets the requested parameters: known ones, each once.
func (m *GetAppConfigCmd) SetIDs(ids ...AppConfigID) error {
	if len(ids) > MaxAppConfigs {
		return malformed("%d parameters, limit %d", len(ids), MaxAppConfigs)
	}
	for i, id := range ids {
		if !id.Known() {
			return malformed("unknown parameter %v", id)
		}
		for _, prev := range ids[:i] {
			if prev == id {
				return malformed("%v requested twice", id)
			}
		}
	}
	m.n = uint8(copy(m.ids[:], ids))
	return nil
}

func (*GetAppConfigCmd) Type() MessageType { return MTCommand }
func (*GetAppConfigCmd) Opcode() Opcode    { return OpSessionGetAppConfig }
func (m *GetAppConfigCmd) AppendPayload(dst []byte) []byte {
	dst = append(binary.LittleEndian.AppendUint32(dst, m.Session), m.n)
	for _, id := range m.ids[:m.n] {
		dst = append(dst, byte(id))
	}
	return dst
}
func (m *GetAppConfigCmd) UnmarshalPayload(b []byte) error {
	if len(b) < 5 || len(b) != 5+int(b[4]) {
		return malformed("SESSION_GET_APP_CONFIG_CMD of %d bytes", len(b))
	}
	var r GetAppConfigCmd
	var ids [MaxAppConfigs]AppConfigID
	if int(b[4]) > MaxAppConfigs {
		return malformed("%d parameters, limit %d", b[4], MaxAppConfigs)
	}
	for i, id := range b[5:] {
		ids[i] = AppConfigID(id)
	}
	if err := r.SetIDs(ids[:b[4]]...); err != nil {
		return err
	}
	r.Session = binary.LittleEndian.Uint32(b)
	*m = r
	return nil
}

// GetAppConfigRsp is SESSION_GET_APP_CONFIG_RSP: status, count,
// parameters.
type GetAppConfigRsp struct {
	Status Status
	Config AppConfigs
}

func (*GetAppConfigRsp) Type() MessageType { return MTResponse }
func (*GetAppConfigRsp) Opcode() Opcode    { return OpSessionGetAppConfig }
func (m *GetAppConfigRsp) AppendPayload(dst []byte) []byte {
	return m.Config.append(append(dst, byte(m.Status)))
}
func (m *GetAppConfigRsp) UnmarshalPayload(b []byte) error {
	if len(b) < 1 {
		return malformed("empty SESSION_GET_APP_CONFIG_RSP")
	}
	var c AppConfigs
	rest, err := c.unmarshal(b[1:])
	if err == nil && len(rest) != 0 {
		err = malformed("%d bytes after the parameters", len(rest))
	}
	if err != nil {
		c.Clear()
		return err
	}
	m.Status, m.Config = Status(b[0]), c
	c.Clear()
	return nil
}

// SessionStartCmd is SESSION_START_CMD: session token.
type SessionStartCmd struct{ Session uint32 }

func (*SessionStartCmd) Type() MessageType { return MTCommand }
func (*SessionStartCmd) Opcode() Opcode    { return OpSessionStart }
func (m *SessionStartCmd) AppendPayload(dst []byte) []byte {
	return binary.LittleEndian.AppendUint32(dst, m.Session)
}
func (m *SessionStartCmd) UnmarshalPayload(b []byte) error {
	return sessionOnly(b, &m.Session, OpSessionStart)
}

// SessionStartRsp is SESSION_START_RSP: status.
type SessionStartRsp struct{ Status Status }

func (*SessionStartRsp) Type() MessageType                 { return MTResponse }
func (*SessionStartRsp) Opcode() Opcode                    { return OpSessionStart }
func (m *SessionStartRsp) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Status)) }
func (m *SessionStartRsp) UnmarshalPayload(b []byte) error {
	return statusOnly(b, &m.Status, OpSessionStart)
}

// SessionStopCmd is SESSION_STOP_CMD: session token.
type SessionStopCmd struct{ Session uint32 }

func (*SessionStopCmd) Type() MessageType { return MTCommand }
func (*SessionStopCmd) Opcode() Opcode    { return OpSessionStop }
func (m *SessionStopCmd) AppendPayload(dst []byte) []byte {
	return binary.LittleEndian.AppendUint32(dst, m.Session)
}
func (m *SessionStopCmd) UnmarshalPayload(b []byte) error {
	return sessionOnly(b, &m.Session, OpSessionStop)
}

// SessionStopRsp is SESSION_STOP_RSP: status.
type SessionStopRsp struct{ Status Status }

func (*SessionStopRsp) Type() MessageType                 { return MTResponse }
func (*SessionStopRsp) Opcode() Opcode                    { return OpSessionStop }
func (m *SessionStopRsp) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Status)) }
func (m *SessionStopRsp) UnmarshalPayload(b []byte) error {
	return statusOnly(b, &m.Status, OpSessionStop)
}
