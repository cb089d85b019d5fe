package ranging

import (
	"encoding/binary"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

// MessageID identifies a message of the UWB ranging service, the payload
// header (message ID) of a DK message of type 2 (docs/protocol.md §8.3, §8.4).
type MessageID uint8

// The ranging-service messages. Both vendor numberings agree on 01 to 0A;
// the configurable recovery messages are 0B/0C in the per-type numbering of
// [NXPDK] (these constants) and 12/13 in the global numbering of [CNDK]
// (docs/protocol.md §8.3, §11 item 5). This package speaks the per-type IDs; the
// link maps the other numbering (see [Conn]).
const (
	MsgCapabilityRQ           MessageID = 0x01 // Ranging_Capability_RQ, vehicle → device
	MsgCapabilityRS           MessageID = 0x02 // Ranging_Capability_RS, device → vehicle
	MsgSessionRQ              MessageID = 0x03 // Ranging_Session_RQ, vehicle → device
	MsgSessionRS              MessageID = 0x04 // Ranging_Session_RS, device → vehicle
	MsgSetupRQ                MessageID = 0x05 // Ranging_Session_Setup_RQ, vehicle → device
	MsgSetupRS                MessageID = 0x06 // Ranging_Session_Setup_RS, device → vehicle
	MsgSuspendRQ              MessageID = 0x07 // Ranging_Suspend_RQ, either side
	MsgSuspendRS              MessageID = 0x08 // Ranging_Suspend_RS, either side
	MsgRecoveryRQ             MessageID = 0x09 // Ranging_Recovery_RQ, vehicle → device
	MsgRecoveryRS             MessageID = 0x0A // Ranging_Recovery_RS, device → vehicle
	MsgConfigurableRecoveryRQ MessageID = 0x0B // Configurable_Ranging_Recovery_RQ, vehicle → device
	MsgConfigurableRecoveryRS MessageID = 0x0C // Configurable_Ranging_Recovery_RS, device → vehicle
)

// String names the message, for example "Ranging_Session_RQ".
func (id MessageID) String() string {
	switch id {
	case MsgCapabilityRQ:
		return "Ranging_Capability_RQ"
	case MsgCapabilityRS:
		return "Ranging_Capability_RS"
	case MsgSessionRQ:
		return "Ranging_Session_RQ"
	case MsgSessionRS:
		return "Ranging_Session_RS"
	case MsgSetupRQ:
		return "Ranging_Session_Setup_RQ"
	case MsgSetupRS:
		return "Ranging_Session_Setup_RS"
	case MsgSuspendRQ:
		return "Ranging_Suspend_RQ"
	case MsgSuspendRS:
		return "Ranging_Suspend_RS"
	case MsgRecoveryRQ:
		return "Ranging_Recovery_RQ"
	case MsgRecoveryRS:
		return "Ranging_Recovery_RS"
	case MsgConfigurableRecoveryRQ:
		return "Configurable_Ranging_Recovery_RQ"
	case MsgConfigurableRecoveryRS:
		return "Configurable_Ranging_Recovery_RS"
	}
	return fmt.Sprintf("MessageID(0x%02x)", uint8(id))
}

// ParseMessageID returns the ranging message a per-type message ID names
// (01 to 0C), and rejects every other value with an error wrapping
// [ErrMalformed]. The global numbering of the configurable recovery
// messages (12 and 13, docs/protocol.md §8.3) is the link's to map: package
// transport/ble's message table holds both numberings, and its
// RangingLink delivers per-type IDs.
func ParseMessageID(b byte) (MessageID, error) {
	if b >= byte(MsgCapabilityRQ) && b <= byte(MsgConfigurableRecoveryRS) {
		return MessageID(b), nil
	}
	return 0, malformed("unknown ranging message ID 0x%02x", b)
}

// Message is one ranging-service message: its payload encoding (docs/protocol.md
// §8.4, big-endian) and decoding. Unmarshal is strict: it rejects a payload
// of the wrong length, reserved bits, values outside their range and
// trailing bytes with an error wrapping [ErrMalformed], and leaves the
// message unchanged then.
type Message interface {
	ID() MessageID
	Append(dst []byte) []byte
	Unmarshal(payload []byte) error
}

// NewMessage returns a zero message of type id, ready for Unmarshal.
func NewMessage(id MessageID) (Message, error) {
	switch id {
	case MsgCapabilityRQ:
		return new(CapabilityRequest), nil
	case MsgCapabilityRS:
		return new(CapabilityResponse), nil
	case MsgSessionRQ:
		return new(SessionRequest), nil
	case MsgSessionRS:
		return new(SessionResponse), nil
	case MsgSetupRQ:
		return new(SetupRequest), nil
	case MsgSetupRS:
		return new(SetupResponse), nil
	case MsgSuspendRQ:
		return new(SuspendRequest), nil
	case MsgSuspendRS:
		return new(SuspendResponse), nil
	case MsgRecoveryRQ:
		return new(RecoveryRequest), nil
	case MsgRecoveryRS:
		return new(RecoveryResponse), nil
	case MsgConfigurableRecoveryRQ:
		return new(ConfigurableRecoveryRequest), nil
	case MsgConfigurableRecoveryRS:
		return new(ConfigurableRecoveryResponse), nil
	}
	return nil, malformed("unknown ranging message %v", id)
}

// ParseMessage decodes the payload of message id.
func ParseMessage(id MessageID, payload []byte) (Message, error) {
	m, err := NewMessage(id)
	if err != nil {
		return nil, err
	}
	if err := m.Unmarshal(payload); err != nil {
		return nil, err
	}
	return m, nil
}

// MaxListLen is the largest number of entries in each list of a
// [CapabilityRequest].
const MaxListLen = 8

// list is a bounded list of distinct values in fixed storage.
type list[T comparable] struct {
	n uint8
	v [MaxListLen]T
}

// newList returns the list of vs: 1 to MaxListLen distinct values. what
// names the values in the error, which wraps ErrMalformed.
func newList[T comparable](what string, vs []T) (list[T], error) {
	var l list[T]
	if len(vs) == 0 || len(vs) > MaxListLen {
		return l, malformed("%d %s, want 1 to %d", len(vs), what, MaxListLen)
	}
	for i, v := range vs {
		if l.Contains(v) {
			return list[T]{}, malformed("%s: %v listed twice", what, v)
		}
		l.v[i] = v
		l.n++
	}
	return l, nil
}

// Len returns the number of entries.
func (l list[T]) Len() int { return int(l.n) }

// At returns the i-th entry. It panics if i is out of range.
func (l list[T]) At(i int) T { return l.v[:l.n][i] }

// Contains reports whether v is in the list.
func (l list[T]) Contains(v T) bool {
	for _, w := range l.v[:l.n] {
		if w == v {
			return true
		}
	}
	return false
}

// ConfigIDList is a list of UWB configuration identifiers, in the sender's
// order of preference. It holds at most [MaxListLen] distinct entries and is
// comparable with ==.
type ConfigIDList struct{ list[ConfigID] }

// NewConfigIDList returns the list of ids: 1 to [MaxListLen] distinct
// identifiers. The error wraps [ErrMalformed].
func NewConfigIDList(ids ...ConfigID) (ConfigIDList, error) {
	l, err := newList("UWB configurations", ids)
	return ConfigIDList{l}, err
}

// PulseShapeList is a list of pulse-shape combinations, in the sender's
// order of preference. It holds at most [MaxListLen] distinct entries and is
// comparable with ==.
type PulseShapeList struct{ list[PulseShapeCombo] }

// NewPulseShapeList returns the list of cs: 1 to [MaxListLen] distinct
// combinations. The error wraps [ErrMalformed].
func NewPulseShapeList(cs ...PulseShapeCombo) (PulseShapeList, error) {
	l, err := newList("pulse-shape combinations", cs)
	return PulseShapeList{l}, err
}

// CapabilityRequest is Ranging_Capability_RQ (vehicle → device): the
// vehicle's protocol versions, UWB configurations and pulse-shape
// combinations, each as a one-byte length then the entries (docs/protocol.md
// §8.4).
//
// The lists may name values this package does not know (a newer vehicle
// may offer a configuration 0002): they are kept and skipped by the
// negotiation, so that a vehicle stays compatible with older devices. The
// values a side selects must be known.
type CapabilityRequest struct {
	Versions    dkey.VersionList
	ConfigIDs   ConfigIDList
	PulseShapes PulseShapeList
}

// ID returns [MsgCapabilityRQ].
func (*CapabilityRequest) ID() MessageID { return MsgCapabilityRQ }

// Append appends the payload to dst.
func (m *CapabilityRequest) Append(dst []byte) []byte {
	dst = append(dst, byte(2*m.Versions.Len()))
	dst = m.Versions.Append(dst)
	dst = append(dst, byte(2*m.ConfigIDs.n))
	for _, c := range m.ConfigIDs.v[:m.ConfigIDs.n] {
		dst = binary.BigEndian.AppendUint16(dst, uint16(c))
	}
	dst = append(dst, m.PulseShapes.n)
	for _, c := range m.PulseShapes.v[:m.PulseShapes.n] {
		dst = append(dst, byte(c))
	}
	return dst
}

// Unmarshal decodes the payload.
func (m *CapabilityRequest) Unmarshal(b []byte) error {
	vs, rest, ok := readLV(b)
	if !ok {
		return malformed("capability request: truncated version list")
	}
	versions, err := dkey.ParseVersionList(vs)
	if err != nil {
		return fmt.Errorf("%w: capability request: %w", ErrMalformed, err)
	}
	cs, rest, ok := readLV(rest)
	if !ok || len(cs)%2 != 0 || len(cs) == 0 || len(cs) > 2*MaxListLen {
		return malformed("capability request: configuration list of %d bytes", len(cs))
	}
	var ids [MaxListLen]ConfigID
	for i := range len(cs) / 2 {
		ids[i] = ConfigID(binary.BigEndian.Uint16(cs[2*i:]))
	}
	configs, err := NewConfigIDList(ids[:len(cs)/2]...)
	if err != nil {
		return fmt.Errorf("capability request: %w", err)
	}
	ps, rest, ok := readLV(rest)
	if !ok || len(ps) == 0 || len(ps) > MaxListLen {
		return malformed("capability request: pulse-shape list of %d bytes", len(ps))
	}
	var combos [MaxListLen]PulseShapeCombo
	for i, c := range ps {
		combos[i] = PulseShapeCombo(c)
	}
	shapes, err := NewPulseShapeList(combos[:len(ps)]...)
	if err != nil {
		return fmt.Errorf("capability request: %w", err)
	}
	if len(rest) != 0 {
		return malformed("capability request: %d trailing bytes", len(rest))
	}
	*m = CapabilityRequest{Versions: versions, ConfigIDs: configs, PulseShapes: shapes}
	return nil
}

// readLV reads a one-byte length and that many bytes.
func readLV(b []byte) (v, rest []byte, ok bool) {
	if len(b) < 1 || len(b)-1 < int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0])
	return b[1 : 1+n], b[1+n:], true
}

// CapabilityResponse is Ranging_Capability_RS (device → vehicle): the
// device's selections, 5 bytes (docs/protocol.md §8.4).
type CapabilityResponse struct {
	Version    dkey.Version
	ConfigID   ConfigID
	PulseShape PulseShapeCombo
}

// CapabilityResponseSize is the payload size of Ranging_Capability_RS.
const CapabilityResponseSize = 5

// ID returns [MsgCapabilityRS].
func (*CapabilityResponse) ID() MessageID { return MsgCapabilityRS }

// Append appends the payload to dst.
func (m *CapabilityResponse) Append(dst []byte) []byte {
	dst = m.Version.Append(dst)
	dst = binary.BigEndian.AppendUint16(dst, uint16(m.ConfigID))
	return append(dst, byte(m.PulseShape))
}

// Unmarshal decodes the payload. The pulse-shape combination must be one of
// the allowed values.
func (m *CapabilityResponse) Unmarshal(b []byte) error {
	if len(b) != CapabilityResponseSize {
		return malformed("capability response of %d bytes, want %d", len(b), CapabilityResponseSize)
	}
	r := CapabilityResponse{
		Version:    dkey.Version(binary.BigEndian.Uint16(b)),
		ConfigID:   ConfigID(binary.BigEndian.Uint16(b[2:])),
		PulseShape: PulseShapeCombo(b[4]),
	}
	if !r.PulseShape.Valid() {
		return malformed("capability response: pulse-shape combination %v", r.PulseShape)
	}
	*m = r
	return nil
}

// SessionRequest is Ranging_Session_RQ (vehicle → device): the selections
// again, the UWB session (which names the URSK) and the channels the vehicle
// can use, 10 bytes (docs/protocol.md §8.4).
type SessionRequest struct {
	Version    dkey.Version
	ConfigID   ConfigID
	SessionID  SessionID
	PulseShape PulseShapeCombo
	Channels   ChannelMask
}

// SessionRequestSize is the payload size of Ranging_Session_RQ.
const SessionRequestSize = 10

// ID returns [MsgSessionRQ].
func (*SessionRequest) ID() MessageID { return MsgSessionRQ }

// Append appends the payload to dst.
func (m *SessionRequest) Append(dst []byte) []byte {
	dst = m.Version.Append(dst)
	dst = binary.BigEndian.AppendUint16(dst, uint16(m.ConfigID))
	dst = append(dst, m.SessionID[:]...)
	return append(dst, byte(m.PulseShape), byte(m.Channels))
}

// Unmarshal decodes the payload.
func (m *SessionRequest) Unmarshal(b []byte) error {
	if len(b) != SessionRequestSize {
		return malformed("session request of %d bytes, want %d", len(b), SessionRequestSize)
	}
	r := SessionRequest{
		Version:    dkey.Version(binary.BigEndian.Uint16(b)),
		ConfigID:   ConfigID(binary.BigEndian.Uint16(b[2:])),
		PulseShape: PulseShapeCombo(b[8]),
		Channels:   ChannelMask(b[9]),
	}
	copy(r.SessionID[:], b[4:8])
	switch {
	case !r.PulseShape.Valid():
		return malformed("session request: pulse-shape combination %v", r.PulseShape)
	case !r.Channels.Valid():
		return malformed("session request: channel bitmask 0x%02x", uint8(r.Channels))
	}
	*m = r
	return nil
}

// SessionResponse is Ranging_Session_RS (device → vehicle): the device's
// minimum RAN multiplier, the slot lengths, SYNC codes and hopping
// configurations it supports and the channel it selected, 8 bytes
// (docs/protocol.md §8.4).
//
// docs/protocol.md §8.4 does not say how Selected_UWB_Channel is encoded; this
// package carries the channel number (5 or 9), the value UCI's
// CHANNEL_NUMBER takes (the project's choice).
type SessionResponse struct {
	MinRANMultiplier uint8
	Slots            SlotMask
	SyncCodes        SyncCodeMask
	Channel          Channel
	Hopping          HoppingMask
}

// SessionResponseSize is the payload size of Ranging_Session_RS.
const SessionResponseSize = 8

// ID returns [MsgSessionRS].
func (*SessionResponse) ID() MessageID { return MsgSessionRS }

// Append appends the payload to dst.
func (m *SessionResponse) Append(dst []byte) []byte {
	dst = append(dst, m.MinRANMultiplier, byte(m.Slots))
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SyncCodes))
	return append(dst, byte(m.Channel), byte(m.Hopping))
}

// Unmarshal decodes the payload.
func (m *SessionResponse) Unmarshal(b []byte) error {
	if len(b) != SessionResponseSize {
		return malformed("session response of %d bytes, want %d", len(b), SessionResponseSize)
	}
	r := SessionResponse{
		MinRANMultiplier: b[0],
		Slots:            SlotMask(b[1]),
		SyncCodes:        SyncCodeMask(binary.BigEndian.Uint32(b[2:])),
		Channel:          Channel(b[6]),
		Hopping:          HoppingMask(b[7]),
	}
	switch {
	case r.MinRANMultiplier == 0:
		return malformed("session response: RAN multiplier 0")
	case !r.Slots.Valid():
		return malformed("session response: slot bitmask 0x%02x", uint8(r.Slots))
	case r.SyncCodes == 0:
		return malformed("session response: empty SYNC code bitmask")
	case !r.Channel.Valid():
		return malformed("session response: channel %d", uint8(r.Channel))
	case !r.Hopping.Valid():
		return malformed("session response: hopping bitmask 0x%02x", uint8(r.Hopping))
	}
	*m = r
	return nil
}

// SetupRequest is Ranging_Session_Setup_RQ (vehicle → device): the vehicle's
// final choices, 9 bytes (docs/protocol.md §8.4). SyncCodes is the set of SYNC
// codes the vehicle accepts, from which the device picks one ([CNDK] copies
// the vehicle's bitmask into this field).
type SetupRequest struct {
	RANMultiplier uint8
	ChapsPerSlot  ChapsPerSlot
	Responders    uint8
	SlotsPerRound uint8
	SyncCodes     SyncCodeMask
	Hopping       HoppingConfig
}

// SetupRequestSize is the payload size of Ranging_Session_Setup_RQ.
const SetupRequestSize = 9

// ID returns [MsgSetupRQ].
func (*SetupRequest) ID() MessageID { return MsgSetupRQ }

// Append appends the payload to dst.
func (m *SetupRequest) Append(dst []byte) []byte {
	dst = append(dst, m.RANMultiplier, byte(m.ChapsPerSlot), m.Responders, m.SlotsPerRound)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.SyncCodes))
	return append(dst, byte(m.Hopping))
}

// Unmarshal decodes the payload.
func (m *SetupRequest) Unmarshal(b []byte) error {
	if len(b) != SetupRequestSize {
		return malformed("setup request of %d bytes, want %d", len(b), SetupRequestSize)
	}
	r := SetupRequest{
		RANMultiplier: b[0],
		ChapsPerSlot:  ChapsPerSlot(b[1]),
		Responders:    b[2],
		SlotsPerRound: b[3],
		SyncCodes:     SyncCodeMask(binary.BigEndian.Uint32(b[4:])),
		Hopping:       HoppingConfig(b[8]),
	}
	switch {
	case r.RANMultiplier == 0:
		return malformed("setup request: RAN multiplier 0")
	case !r.ChapsPerSlot.Valid():
		return malformed("setup request: %d chaps per slot", b[1])
	case r.Responders == 0:
		return malformed("setup request: no responder")
	case !ValidSlotsPerRound(r.SlotsPerRound) || int(r.SlotsPerRound) < int(r.Responders)+4:
		// docs/protocol.md §8.4: at least N_responders + 4 slots per round.
		return malformed("setup request: %d slots per round for %d responders", r.SlotsPerRound, r.Responders)
	case r.SyncCodes == 0:
		return malformed("setup request: empty SYNC code bitmask")
	case !r.Hopping.Valid():
		return malformed("setup request: hopping configuration 0x%02x", b[8])
	}
	*m = r
	return nil
}

// SetupResponse is Ranging_Session_Setup_RS (device → vehicle): the values
// the device (the initiator) chose, 17 bytes (docs/protocol.md §8.4).
type SetupResponse struct {
	STSIndex0  uint32
	UWBTime0   uint64
	HopModeKey uint32
	SyncCode   SyncCode
}

// SetupResponseSize is the payload size of Ranging_Session_Setup_RS.
const SetupResponseSize = 17

// ID returns [MsgSetupRS].
func (*SetupResponse) ID() MessageID { return MsgSetupRS }

// Append appends the payload to dst.
func (m *SetupResponse) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.STSIndex0)
	dst = binary.BigEndian.AppendUint64(dst, m.UWBTime0)
	dst = binary.BigEndian.AppendUint32(dst, m.HopModeKey)
	return append(dst, byte(m.SyncCode))
}

// Unmarshal decodes the payload.
func (m *SetupResponse) Unmarshal(b []byte) error {
	if len(b) != SetupResponseSize {
		return malformed("setup response of %d bytes, want %d", len(b), SetupResponseSize)
	}
	r := SetupResponse{
		STSIndex0:  binary.BigEndian.Uint32(b),
		UWBTime0:   binary.BigEndian.Uint64(b[4:]),
		HopModeKey: binary.BigEndian.Uint32(b[12:]),
		SyncCode:   SyncCode(b[16]),
	}
	if !r.SyncCode.Valid() {
		return malformed("setup response: SYNC code %d", b[16])
	}
	*m = r
	return nil
}

// SuspendRequest is Ranging_Suspend_RQ (either side): the UWB session to
// suspend, 4 bytes (docs/protocol.md §8.4).
type SuspendRequest struct {
	SessionID SessionID
}

// ID returns [MsgSuspendRQ].
func (*SuspendRequest) ID() MessageID { return MsgSuspendRQ }

// Append appends the payload to dst.
func (m *SuspendRequest) Append(dst []byte) []byte { return append(dst, m.SessionID[:]...) }

// Unmarshal decodes the payload.
func (m *SuspendRequest) Unmarshal(b []byte) error {
	id, err := readSessionID(b, "suspend request")
	if err != nil {
		return err
	}
	m.SessionID = id
	return nil
}

func readSessionID(b []byte, what string) (SessionID, error) {
	var id SessionID
	if len(b) != len(id) {
		return id, malformed("%s of %d bytes, want %d", what, len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

// SuspendStatus is the answer to a suspend request (docs/protocol.md §8.4).
type SuspendStatus uint8

// Suspend answers.
const (
	SuspendAccepted SuspendStatus = 0x00
	SuspendDelayed  SuspendStatus = 0x01
)

// String names the status.
func (s SuspendStatus) String() string {
	switch s {
	case SuspendAccepted:
		return "accepted"
	case SuspendDelayed:
		return "delayed"
	}
	return fmt.Sprintf("SuspendStatus(0x%02x)", uint8(s))
}

// SuspendResponse is Ranging_Suspend_RS: 00 accepted or 01 delayed, 1 byte
// (docs/protocol.md §8.4).
type SuspendResponse struct {
	Status SuspendStatus
}

// ID returns [MsgSuspendRS].
func (*SuspendResponse) ID() MessageID { return MsgSuspendRS }

// Append appends the payload to dst.
func (m *SuspendResponse) Append(dst []byte) []byte { return append(dst, byte(m.Status)) }

// Unmarshal decodes the payload.
func (m *SuspendResponse) Unmarshal(b []byte) error {
	if len(b) != 1 {
		return malformed("suspend response of %d bytes, want 1", len(b))
	}
	if s := SuspendStatus(b[0]); s != SuspendAccepted && s != SuspendDelayed {
		return malformed("suspend response: status 0x%02x", b[0])
	}
	m.Status = SuspendStatus(b[0])
	return nil
}

// RecoveryRequest is Ranging_Recovery_RQ (vehicle → device): the UWB session
// to resume, 4 bytes (docs/protocol.md §8.4).
type RecoveryRequest struct {
	SessionID SessionID
}

// ID returns [MsgRecoveryRQ].
func (*RecoveryRequest) ID() MessageID { return MsgRecoveryRQ }

// Append appends the payload to dst.
func (m *RecoveryRequest) Append(dst []byte) []byte { return append(dst, m.SessionID[:]...) }

// Unmarshal decodes the payload.
func (m *RecoveryRequest) Unmarshal(b []byte) error {
	id, err := readSessionID(b, "recovery request")
	if err != nil {
		return err
	}
	m.SessionID = id
	return nil
}

// RecoveryResponse is Ranging_Recovery_RS (device → vehicle): the new
// STS_Index0 and UWB_Time0 the device chose, 12 bytes (docs/protocol.md §8.4).
type RecoveryResponse struct {
	STSIndex0 uint32
	UWBTime0  uint64
}

// RecoveryResponseSize is the payload size of Ranging_Recovery_RS and
// Configurable_Ranging_Recovery_RS.
const RecoveryResponseSize = 12

// ID returns [MsgRecoveryRS].
func (*RecoveryResponse) ID() MessageID { return MsgRecoveryRS }

// Append appends the payload to dst.
func (m *RecoveryResponse) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.STSIndex0)
	return binary.BigEndian.AppendUint64(dst, m.UWBTime0)
}

// Unmarshal decodes the payload.
func (m *RecoveryResponse) Unmarshal(b []byte) error {
	if len(b) != RecoveryResponseSize {
		return malformed("recovery response of %d bytes, want %d", len(b), RecoveryResponseSize)
	}
	m.STSIndex0 = binary.BigEndian.Uint32(b)
	m.UWBTime0 = binary.BigEndian.Uint64(b[4:])
	return nil
}

// ConfigurableRecoveryRequest is Configurable_Ranging_Recovery_RQ (vehicle →
// device): a recovery that also changes the RAN multiplier, 5 bytes.
//
// docs/protocol.md §8.3 names the message but no public source gives its layout.
// The project's choice follows what Android's UWB stack passes for it (I
// [AOSP] CccStartRangingParams: the session and the new RAN multiplier):
// UWB_Session_Id (4) ‖ RAN_Multiplier (1).
type ConfigurableRecoveryRequest struct {
	SessionID     SessionID
	RANMultiplier uint8
}

// ConfigurableRecoveryRequestSize is the payload size of
// Configurable_Ranging_Recovery_RQ.
const ConfigurableRecoveryRequestSize = 5

// ID returns [MsgConfigurableRecoveryRQ].
func (*ConfigurableRecoveryRequest) ID() MessageID { return MsgConfigurableRecoveryRQ }

// Append appends the payload to dst.
func (m *ConfigurableRecoveryRequest) Append(dst []byte) []byte {
	return append(append(dst, m.SessionID[:]...), m.RANMultiplier)
}

// Unmarshal decodes the payload.
func (m *ConfigurableRecoveryRequest) Unmarshal(b []byte) error {
	if len(b) != ConfigurableRecoveryRequestSize {
		return malformed("configurable recovery request of %d bytes, want %d", len(b), ConfigurableRecoveryRequestSize)
	}
	if b[4] == 0 {
		return malformed("configurable recovery request: RAN multiplier 0")
	}
	copy(m.SessionID[:], b[:4])
	m.RANMultiplier = b[4]
	return nil
}

// ConfigurableRecoveryResponse is Configurable_Ranging_Recovery_RS (device →
// vehicle): the new STS_Index0 and UWB_Time0, 12 bytes, the layout of
// Ranging_Recovery_RS (the project's choice; no public source gives it).
type ConfigurableRecoveryResponse struct {
	STSIndex0 uint32
	UWBTime0  uint64
}

// ID returns [MsgConfigurableRecoveryRS].
func (*ConfigurableRecoveryResponse) ID() MessageID { return MsgConfigurableRecoveryRS }

// Append appends the payload to dst.
func (m *ConfigurableRecoveryResponse) Append(dst []byte) []byte {
	return (*RecoveryResponse)(m).Append(dst)
}

// Unmarshal decodes the payload.
func (m *ConfigurableRecoveryResponse) Unmarshal(b []byte) error {
	if len(b) != RecoveryResponseSize {
		return malformed("configurable recovery response of %d bytes, want %d", len(b), RecoveryResponseSize)
	}
	return (*RecoveryResponse)(m).Unmarshal(b)
}
