package nci

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Opcodes (OIDs) of the messages this package uses (NCI Core; Linux nci.h;
// NXP libnfc-nci nci_defs.h). Commands, responses and notifications of one
// operation share GID and OID.
const (
	OIDCoreReset          = 0x00
	OIDCoreInit           = 0x01
	OIDCoreSetConfig      = 0x02
	OIDCoreConnCredits    = 0x06
	OIDCoreGenericError   = 0x07
	OIDCoreInterfaceError = 0x08

	OIDRFDiscoverMap       = 0x00
	OIDRFDiscover          = 0x03
	OIDRFDiscoverSelect    = 0x04
	OIDRFIntfActivated     = 0x05
	OIDRFDeactivate        = 0x06
	OIDRFISODEPNAKPresence = 0x10 // NCI 2.0

	// OIDNXPActivate is NXP's proprietary command 2F 02 that enables the
	// proprietary extensions of its controllers (NXP libnfc-nci
	// libnfc-nxp.conf NXP_ACT_PROP_EXTN={2F, 02, 00}; ESPHome pn7160 sends
	// it before its configuration).
	OIDNXPActivate = 0x02
)

func opName(gid GroupID, oid uint8) string {
	names := map[[2]uint8]string{
		{0, OIDCoreReset}: "CORE_RESET", {0, OIDCoreInit}: "CORE_INIT", {0, OIDCoreSetConfig}: "CORE_SET_CONFIG",
		{0, OIDCoreConnCredits}: "CORE_CONN_CREDITS", {0, OIDCoreGenericError}: "CORE_GENERIC_ERROR",
		{0, OIDCoreInterfaceError}: "CORE_INTERFACE_ERROR",
		{1, OIDRFDiscoverMap}:      "RF_DISCOVER_MAP", {1, OIDRFDiscover}: "RF_DISCOVER", {1, OIDRFDiscoverSelect}: "RF_DISCOVER_SELECT",
		{1, OIDRFIntfActivated}: "RF_INTF_ACTIVATED", {1, OIDRFDeactivate}: "RF_DEACTIVATE",
		{1, OIDRFISODEPNAKPresence}: "RF_ISO_DEP_NAK_PRESENCE", {0xF, OIDNXPActivate}: "NXP proprietary activation",
	}
	if n, ok := names[[2]uint8{uint8(gid), oid}]; ok {
		return n
	}
	return fmt.Sprintf("GID %X OID %02X", uint8(gid), oid)
}

// NCI versions (NCI Core Table 6).
const (
	Version10 = 0x10
	Version11 = 0x11
	Version20 = 0x20
)

// Values of the RF management messages (NCI Core; Linux nci.h).
const (
	// ProtocolISODEP is the RF protocol ISO-DEP.
	ProtocolISODEP = 0x04
	// InterfaceFrame and InterfaceISODEP are RF interfaces.
	InterfaceFrame  = 0x01
	InterfaceISODEP = 0x02
	// ModePoll maps a protocol in poll mode (RF_DISCOVER_MAP).
	ModePoll = 0x01
	// TechNFCAPoll is NFC-A passive poll mode (RF technology and mode).
	TechNFCAPoll = 0x00
	// ConnStatic is the static RF connection to the remote endpoint.
	ConnStatic = 0x00
	// CreditsUnlimited says that the connection needs no flow control.
	CreditsUnlimited = 0xFF
	// ManufacturerNXP is NXP's manufacturer ID in CORE_RESET_NTF and
	// CORE_INIT_RSP (the IC manufacturer code of ISO/IEC 7816-6).
	ManufacturerNXP = 0x04
)

// Configuration parameters of CORE_SET_CONFIG (NCI Core Table 149 as the
// public NCI decoders list it).
const (
	// ParamTotalDuration is TOTAL_DURATION: the length of one discovery
	// period in milliseconds, 2 octets little-endian.
	ParamTotalDuration = 0x00
	// ParamPADevicesLimit is PA_DEVICES_LIMIT: how many NFC-A devices the
	// NFCC resolves in poll mode.
	ParamPADevicesLimit = 0x09
)

// reader reads fields off a payload; any short read sets ok to false.
type reader struct {
	b  []byte
	ok bool
}

func newReader(b []byte) *reader { return &reader{b: b, ok: true} }

func (r *reader) u8() byte {
	if len(r.b) < 1 {
		r.ok = false
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.ok = false
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if len(r.b) < n {
		r.ok = false
		return nil
	}
	v := slices.Clone(r.b[:n])
	r.b = r.b[n:]
	return v
}

// done reports a payload read to its end without a short read.
func (r *reader) done() bool { return r.ok && len(r.b) == 0 }

func malformed(gid GroupID, oid uint8, payload []byte) error {
	return fmt.Errorf("%w: %s payload %X", ErrMalformedPacket, opName(gid, oid), payload)
}

// ParseStatus parses a payload that is a status alone (most responses).
func ParseStatus(gid GroupID, oid uint8, payload []byte) (Status, error) {
	if len(payload) != 1 {
		return 0, malformed(gid, oid, payload)
	}
	return Status(payload[0]), nil
}

// ResetResponse is CORE_RESET_RSP: NCI 1.0 carries the version and whether
// the configuration was kept; NCI 2.0 only the status, and the rest comes
// in CORE_RESET_NTF.
type ResetResponse struct {
	Status Status
	// V1 marks the NCI 1.0 form, with Version and ConfigStatus.
	V1           bool
	Version      byte
	ConfigStatus byte
}

// ParseResetResponse parses CORE_RESET_RSP in either form (NXP libnfc-nci
// nfc_ncif_proc_reset_rsp tells them apart by length the same way).
func ParseResetResponse(payload []byte) (ResetResponse, error) {
	switch len(payload) {
	case 1:
		return ResetResponse{Status: Status(payload[0])}, nil
	case 3:
		return ResetResponse{Status: Status(payload[0]), V1: true, Version: payload[1], ConfigStatus: payload[2]}, nil
	}
	return ResetResponse{}, malformed(GroupCore, OIDCoreReset, payload)
}

// Append appends the payload of r.
func (r ResetResponse) Append(dst []byte) []byte {
	if r.V1 {
		return append(dst, byte(r.Status), r.Version, r.ConfigStatus)
	}
	return append(dst, byte(r.Status))
}

// Reset triggers of CORE_RESET_NTF (NCI 2.0 Table 5, NXP libnfc-nci).
const (
	ResetTriggerError   = 0x00
	ResetTriggerPowerOn = 0x01
	ResetTriggerCommand = 0x02
)

// ResetNotification is CORE_RESET_NTF (NCI 2.0).
type ResetNotification struct {
	Trigger        byte
	ConfigStatus   byte
	Version        byte
	ManufacturerID byte
	// ManufacturerInfo is manufacturer-specific; NXP controllers put their
	// hardware version first (61h PN7160, 71h PN7161, per NXP libnfc-nci
	// NxpNfcCapability.cpp), then ROM and firmware versions.
	ManufacturerInfo []byte
}

// ParseResetNotification parses CORE_RESET_NTF.
func ParseResetNotification(payload []byte) (ResetNotification, error) {
	r := newReader(payload)
	n := ResetNotification{Trigger: r.u8(), ConfigStatus: r.u8(), Version: r.u8(), ManufacturerID: r.u8()}
	n.ManufacturerInfo = r.bytes(int(r.u8()))
	if !r.done() {
		return ResetNotification{}, malformed(GroupCore, OIDCoreReset, payload)
	}
	return n, nil
}

// Append appends the payload of n.
func (n ResetNotification) Append(dst []byte) []byte {
	dst = append(dst, n.Trigger, n.ConfigStatus, n.Version, n.ManufacturerID, byte(len(n.ManufacturerInfo)))
	return append(dst, n.ManufacturerInfo...)
}

// Interface is an RF interface the NFCC supports, with its extensions
// (NCI 2.0).
type Interface struct {
	Type       byte
	Extensions []byte
}

// InitResponse is CORE_INIT_RSP, in its NCI 1.0 or 2.0 form.
type InitResponse struct {
	Status Status
	// V2 marks the NCI 2.0 form.
	V2                    bool
	Features              uint32
	Interfaces            []Interface
	MaxLogicalConnections byte
	MaxRoutingTableSize   uint16
	MaxControlPayload     byte
	// NCI 1.0:
	MaxLargeParams   uint16
	ManufacturerID   byte
	ManufacturerInfo [4]byte
	// NCI 2.0:
	HCIMaxDataPayload byte
	HCICredits        byte
	MaxNFCVFrame      uint16
}

// ParseInitResponse parses CORE_INIT_RSP of the given version (Linux nci.h
// nci_core_init_rsp_1/_2 for NCI 1.0; NXP libnfc-nci nfc_enabled for NCI
// 2.0). A failure status is the whole payload in both forms.
func ParseInitResponse(version byte, payload []byte) (InitResponse, error) {
	r := newReader(payload)
	var v InitResponse
	v.Status = Status(r.u8())
	if len(payload) == 1 && v.Status != StatusOK {
		return v, nil
	}
	v.Features = uint32(r.u16()) | uint32(r.u16())<<16
	if version >= Version20 {
		v.V2 = true
		v.MaxLogicalConnections = r.u8()
		v.MaxRoutingTableSize = r.u16()
		v.MaxControlPayload = r.u8()
		v.HCIMaxDataPayload = r.u8()
		v.HCICredits = r.u8()
		v.MaxNFCVFrame = r.u16()
		for range r.u8() {
			i := Interface{Type: r.u8()}
			i.Extensions = r.bytes(int(r.u8()))
			v.Interfaces = append(v.Interfaces, i)
		}
	} else {
		for range r.u8() {
			v.Interfaces = append(v.Interfaces, Interface{Type: r.u8()})
		}
		v.MaxLogicalConnections = r.u8()
		v.MaxRoutingTableSize = r.u16()
		v.MaxControlPayload = r.u8()
		v.MaxLargeParams = r.u16()
		v.ManufacturerID = r.u8()
		copy(v.ManufacturerInfo[:], r.bytes(4))
	}
	if !r.done() || v.MaxControlPayload == 0 && v.Status == StatusOK {
		return InitResponse{}, malformed(GroupCore, OIDCoreInit, payload)
	}
	return v, nil
}

// Append appends the payload of v in its form.
func (v InitResponse) Append(dst []byte) []byte {
	dst = append(dst, byte(v.Status))
	dst = binary.LittleEndian.AppendUint32(dst, v.Features)
	if v.V2 {
		dst = append(dst, v.MaxLogicalConnections)
		dst = binary.LittleEndian.AppendUint16(dst, v.MaxRoutingTableSize)
		dst = append(dst, v.MaxControlPayload, v.HCIMaxDataPayload, v.HCICredits)
		dst = binary.LittleEndian.AppendUint16(dst, v.MaxNFCVFrame)
		dst = append(dst, byte(len(v.Interfaces)))
		for _, i := range v.Interfaces {
			dst = append(append(dst, i.Type, byte(len(i.Extensions))), i.Extensions...)
		}
		return dst
	}
	dst = append(dst, byte(len(v.Interfaces)))
	for _, i := range v.Interfaces {
		dst = append(dst, i.Type)
	}
	dst = append(dst, v.MaxLogicalConnections)
	dst = binary.LittleEndian.AppendUint16(dst, v.MaxRoutingTableSize)
	dst = append(dst, v.MaxControlPayload)
	dst = binary.LittleEndian.AppendUint16(dst, v.MaxLargeParams)
	dst = append(dst, v.ManufacturerID)
	return append(dst, v.ManufacturerInfo[:]...)
}

// AppendInitCommand appends the payload of CORE_INIT_CMD: empty in NCI 1.0,
// two feature-enable octets 00 00 in NCI 2.0 (NXP libnfc-nci
// NCI2_0_CORE_INIT_CMD_BYTE_0/1).
func AppendInitCommand(dst []byte, version byte) []byte {
	if version >= Version20 {
		return append(dst, 0x00, 0x00)
	}
	return dst
}

// ConfigParam is one parameter of CORE_SET_CONFIG_CMD. IDs above FFh are
// NXP's two-octet proprietary parameters, A0xx (NXP libnfc-nxp.conf:
// NXP_CORE_CONF_EXTN A0 5E, NXP_EXT_TVDD_CFG A0 0E; ESPHome pn7160: A0 0D
// RF_TRANSITION_CFG).
type ConfigParam struct {
	ID    uint16
	Value []byte
}

// nxpExtended is the first octet of NXP's two-octet parameter IDs.
const nxpExtended = 0xA0

// AppendSetConfig appends the payload of CORE_SET_CONFIG_CMD.
func AppendSetConfig(dst []byte, params ...ConfigParam) ([]byte, error) {
	if len(params) > 255 {
		return dst, fmt.Errorf("nci: %d configuration parameters", len(params))
	}
	dst = append(dst, byte(len(params)))
	for _, p := range params {
		if len(p.Value) > 255 {
			return dst, fmt.Errorf("nci: configuration parameter %02X of %d bytes", p.ID, len(p.Value))
		}
		switch {
		case p.ID <= 0xFF && p.ID != nxpExtended:
			dst = append(dst, byte(p.ID))
		case p.ID>>8 == nxpExtended:
			dst = append(dst, nxpExtended, byte(p.ID))
		default:
			return dst, fmt.Errorf("nci: configuration parameter ID %X", p.ID)
		}
		dst = append(append(dst, byte(len(p.Value))), p.Value...)
	}
	return dst, nil
}

// ParseSetConfig parses the payload of CORE_SET_CONFIG_CMD.
func ParseSetConfig(payload []byte) ([]ConfigParam, error) {
	r := newReader(payload)
	var ps []ConfigParam
	for range r.u8() {
		p := ConfigParam{ID: uint16(r.u8())}
		if p.ID == nxpExtended {
			p.ID = p.ID<<8 | uint16(r.u8())
		}
		p.Value = r.bytes(int(r.u8()))
		ps = append(ps, p)
	}
	if !r.done() {
		return nil, malformed(GroupCore, OIDCoreSetConfig, payload)
	}
	return ps, nil
}

// SetConfigResponse is CORE_SET_CONFIG_RSP: the status and the parameters
// the NFCC refused.
type SetConfigResponse struct {
	Status  Status
	Invalid []byte
}

// ParseSetConfigResponse parses CORE_SET_CONFIG_RSP.
func ParseSetConfigResponse(payload []byte) (SetConfigResponse, error) {
	r := newReader(payload)
	v := SetConfigResponse{Status: Status(r.u8())}
	v.Invalid = r.bytes(int(r.u8()))
	if !r.done() {
		return SetConfigResponse{}, malformed(GroupCore, OIDCoreSetConfig, payload)
	}
	return v, nil
}

// Append appends the payload of v.
func (v SetConfigResponse) Append(dst []byte) []byte {
	return append(append(dst, byte(v.Status), byte(len(v.Invalid))), v.Invalid...)
}

// Credit is one entry of CORE_CONN_CREDITS_NTF.
type Credit struct {
	Conn    byte
	Credits byte
}

// ParseCredits parses CORE_CONN_CREDITS_NTF.
func ParseCredits(payload []byte) ([]Credit, error) {
	r := newReader(payload)
	var cs []Credit
	for range r.u8() {
		cs = append(cs, Credit{Conn: r.u8(), Credits: r.u8()})
	}
	if !r.done() {
		return nil, malformed(GroupCore, OIDCoreConnCredits, payload)
	}
	return cs, nil
}

// AppendCredits appends the payload of CORE_CONN_CREDITS_NTF.
func AppendCredits(dst []byte, cs ...Credit) []byte {
	dst = append(dst, byte(len(cs)))
	for _, c := range cs {
		dst = append(dst, c.Conn, c.Credits)
	}
	return dst
}

// Mapping is one entry of RF_DISCOVER_MAP_CMD.
type Mapping struct {
	Protocol, Mode, Interface byte
}

// AppendDiscoverMap appends the payload of RF_DISCOVER_MAP_CMD.
func AppendDiscoverMap(dst []byte, ms ...Mapping) []byte {
	dst = append(dst, byte(len(ms)))
	for _, m := range ms {
		dst = append(dst, m.Protocol, m.Mode, m.Interface)
	}
	return dst
}

// ParseDiscoverMap parses the payload of RF_DISCOVER_MAP_CMD.
func ParseDiscoverMap(payload []byte) ([]Mapping, error) {
	r := newReader(payload)
	var ms []Mapping
	for range r.u8() {
		ms = append(ms, Mapping{r.u8(), r.u8(), r.u8()})
	}
	if !r.done() {
		return nil, malformed(GroupRF, OIDRFDiscoverMap, payload)
	}
	return ms, nil
}

// DiscoverConfig is one entry of RF_DISCOVER_CMD.
type DiscoverConfig struct {
	TechMode, Frequency byte
}

// AppendDiscover appends the payload of RF_DISCOVER_CMD.
func AppendDiscover(dst []byte, cs ...DiscoverConfig) []byte {
	dst = append(dst, byte(len(cs)))
	for _, c := range cs {
		dst = append(dst, c.TechMode, c.Frequency)
	}
	return dst
}

// ParseDiscover parses the payload of RF_DISCOVER_CMD.
func ParseDiscover(payload []byte) ([]DiscoverConfig, error) {
	r := newReader(payload)
	var cs []DiscoverConfig
	for range r.u8() {
		cs = append(cs, DiscoverConfig{r.u8(), r.u8()})
	}
	if !r.done() {
		return nil, malformed(GroupRF, OIDRFDiscover, payload)
	}
	return cs, nil
}

// Notification types of RF_DISCOVER_NTF.
const (
	DiscoverLast     = 0x00
	DiscoverLastNFCC = 0x01
	DiscoverMore     = 0x02
)

// DiscoverNotification is RF_DISCOVER_NTF: one of several endpoints found,
// for the DH to choose with RF_DISCOVER_SELECT.
type DiscoverNotification struct {
	ID, Protocol, TechMode byte
	TechParams             []byte
	Type                   byte
}

// ParseDiscoverNotification parses RF_DISCOVER_NTF.
func ParseDiscoverNotification(payload []byte) (DiscoverNotification, error) {
	r := newReader(payload)
	n := DiscoverNotification{ID: r.u8(), Protocol: r.u8(), TechMode: r.u8()}
	n.TechParams = r.bytes(int(r.u8()))
	n.Type = r.u8()
	if !r.done() || n.Type > DiscoverMore {
		return DiscoverNotification{}, malformed(GroupRF, OIDRFDiscover, payload)
	}
	return n, nil
}

// Append appends the payload of n.
func (n DiscoverNotification) Append(dst []byte) []byte {
	dst = append(dst, n.ID, n.Protocol, n.TechMode, byte(len(n.TechParams)))
	return append(append(dst, n.TechParams...), n.Type)
}

// Activation is RF_INTF_ACTIVATED_NTF for an NFC-A target in poll mode on
// the ISO-DEP or frame interface (NCI Core; Linux nci.h
// nci_rf_intf_activated_ntf).
type Activation struct {
	ID, Interface, Protocol, TechMode byte
	MaxPayload                        byte
	Credits                           byte
	// NFC-A poll parameters.
	SENSRes [2]byte
	NFCID1  []byte
	SELRes  []byte // 0 or 1 byte
	HRx     []byte // NCI 2.0: 0 or 2 bytes
	// Data exchange mode and bit rates.
	DataTechMode, TxRate, RxRate byte
	// ATS is the RATS response of an ISO-DEP target (activation
	// parameters), as the NFCC reports it.
	ATS []byte
}

// ParseActivation parses RF_INTF_ACTIVATED_NTF of an NFC-A poll-mode
// activation. Activations of other technologies are refused: this driver
// polls NFC-A only.
func ParseActivation(version byte, payload []byte) (Activation, error) {
	r := newReader(payload)
	a := Activation{ID: r.u8(), Interface: r.u8(), Protocol: r.u8(), TechMode: r.u8(), MaxPayload: r.u8(), Credits: r.u8()}
	tp := newReader(r.bytes(int(r.u8())))
	if a.TechMode != TechNFCAPoll {
		return Activation{}, fmt.Errorf("%w: activation in RF technology and mode %02X", ErrMalformedPacket, a.TechMode)
	}
	a.SENSRes = [2]byte{tp.u8(), tp.u8()}
	a.NFCID1 = tp.bytes(int(tp.u8()))
	a.SELRes = tp.bytes(int(tp.u8()))
	if version >= Version20 {
		a.HRx = tp.bytes(int(tp.u8()))
	}
	a.DataTechMode, a.TxRate, a.RxRate = r.u8(), r.u8(), r.u8()
	ap := newReader(r.bytes(int(r.u8())))
	if a.Interface == InterfaceISODEP {
		a.ATS = ap.bytes(int(ap.u8()))
	} else {
		ap.b = nil
	}
	n := len(a.NFCID1)
	if !r.done() || !tp.done() || !ap.done() || (n != 0 && n != 4 && n != 7 && n != 10) || len(a.SELRes) > 1 || (len(a.HRx) != 0 && len(a.HRx) != 2) || a.ID == 0 || a.MaxPayload == 0 {
		return Activation{}, malformed(GroupRF, OIDRFIntfActivated, payload)
	}
	return a, nil
}

// Append appends the payload of a in the given version's form.
func (a Activation) Append(version byte, dst []byte) []byte {
	dst = append(dst, a.ID, a.Interface, a.Protocol, a.TechMode, a.MaxPayload, a.Credits)
	tp := 2 + 1 + len(a.NFCID1) + 1 + len(a.SELRes)
	if version >= Version20 {
		tp += 1 + len(a.HRx)
	}
	dst = append(dst, byte(tp), a.SENSRes[0], a.SENSRes[1], byte(len(a.NFCID1)))
	dst = append(append(dst, a.NFCID1...), byte(len(a.SELRes)))
	dst = append(dst, a.SELRes...)
	if version >= Version20 {
		dst = append(append(dst, byte(len(a.HRx))), a.HRx...)
	}
	dst = append(dst, a.DataTechMode, a.TxRate, a.RxRate)
	if a.Interface == InterfaceISODEP {
		return append(append(dst, byte(1+len(a.ATS)), byte(len(a.ATS))), a.ATS...)
	}
	return append(dst, 0)
}

// DeactivationType is the type of RF_DEACTIVATE (NCI Core Table 82).
type DeactivationType uint8

// Deactivation types.
const (
	DeactivateIdle      DeactivationType = 0x00
	DeactivateSleep     DeactivationType = 0x01
	DeactivateSleepAF   DeactivationType = 0x02
	DeactivateDiscovery DeactivationType = 0x03
)

func (t DeactivationType) String() string {
	switch t {
	case DeactivateIdle:
		return "idle"
	case DeactivateSleep:
		return "sleep"
	case DeactivateSleepAF:
		return "sleep_af"
	case DeactivateDiscovery:
		return "discovery"
	}
	return fmt.Sprintf("type %02X", uint8(t))
}

// DeactivationReason is the reason of RF_DEACTIVATE_NTF (NCI Core Table 83).
type DeactivationReason uint8

// Deactivation reasons.
const (
	ReasonDHRequest       DeactivationReason = 0x00
	ReasonEndpointRequest DeactivationReason = 0x01
	ReasonRFLinkLoss      DeactivationReason = 0x02
	ReasonBadAFI          DeactivationReason = 0x03
	ReasonDHRequestFailed DeactivationReason = 0x04 // NCI 2.0
)

func (r DeactivationReason) String() string {
	switch r {
	case ReasonDHRequest:
		return "DH request"
	case ReasonEndpointRequest:
		return "endpoint request"
	case ReasonRFLinkLoss:
		return "RF link loss"
	case ReasonBadAFI:
		return "NFC-B bad AFI"
	case ReasonDHRequestFailed:
		return "DH request failed"
	}
	return fmt.Sprintf("reason %02X", uint8(r))
}

// ParseDeactivateCommand parses the payload of RF_DEACTIVATE_CMD.
func ParseDeactivateCommand(payload []byte) (DeactivationType, error) {
	if len(payload) != 1 || payload[0] > byte(DeactivateDiscovery) {
		return 0, malformed(GroupRF, OIDRFDeactivate, payload)
	}
	return DeactivationType(payload[0]), nil
}

// ParseDeactivateNotification parses RF_DEACTIVATE_NTF.
func ParseDeactivateNotification(payload []byte) (DeactivationType, DeactivationReason, error) {
	if len(payload) != 2 || payload[0] > byte(DeactivateDiscovery) {
		return 0, 0, malformed(GroupRF, OIDRFDeactivate, payload)
	}
	return DeactivationType(payload[0]), DeactivationReason(payload[1]), nil
}

// ParseInterfaceError parses CORE_INTERFACE_ERROR_NTF: a status and the
// connection it concerns.
func ParseInterfaceError(payload []byte) (Status, byte, error) {
	if len(payload) != 2 {
		return 0, 0, malformed(GroupCore, OIDCoreInterfaceError, payload)
	}
	return Status(payload[0]), payload[1], nil
}
