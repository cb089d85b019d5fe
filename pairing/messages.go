package pairing

import (
	"encoding/binary"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
)

// Command bytes of the Digital Key framework (docs/protocol.md §2.3).
const (
	claISO           = 0x00 // SELECT
	claPlain         = 0x80 // SPAKE2+ REQUEST and VERIFY, OP CONTROL FLOW
	claSecure        = 0x84 // WRITE DATA and GET DATA, under the pairing channel
	insSelect        = 0xA4
	insSpakeRequest  = 0x30
	insSpakeVerify   = 0x32
	insWriteData     = 0xD4
	insGetData       = 0xCA
	insOpControlFlow = 0x3C
	p1SelectName     = 0x04
)

// Data object tags (docs/protocol.md §2.2, §3.2, §3.5, §5.3, §5.4).
const (
	tagFrameworkVersionsR3 tlv.Tag = 0x5A // SELECT: SPAKE2+ versions (TS R3 1.0)
	tagFrameworkVersions   tlv.Tag = 0x5B // SELECT (newer TS) and REQUEST: framework versions
	tagAppletVersions      tlv.Tag = 0x5C // applet protocol versions
	tagBTVersions          tlv.Tag = 0x5E // REQUEST: vehicle–device BT versions (newer TS)
	tagPairingState        tlv.Tag = 0xD4 // SELECT: pairing state
	tagScrypt              tlv.Tag = 0x7F50
	tagSalt                tlv.Tag = 0xC0
	tagScryptN             tlv.Tag = 0xC1
	tagScryptR             tlv.Tag = 0xC2
	tagScryptP             tlv.Tag = 0xC3
	tagBrand               tlv.Tag = 0xD6
	tagShareX              tlv.Tag = 0x50
	tagShareY              tlv.Tag = 0x52
	tagVehicleEvidence     tlv.Tag = 0x57 // M1
	tagDeviceEvidence      tlv.Tag = 0x58 // M2

	tagVehicleRoot         tlv.Tag = 0x7F4A
	tagVehicleCert         tlv.Tag = 0x7F4B
	tagVehicleIntermediate tlv.Tag = 0x7F4C
	tagMailboxMapping      tlv.Tag = 0x7F4D
	tagKeyConfig           tlv.Tag = 0x7F4E
	tagEndOfData           tlv.Tag = 0x5F5F
	tagConfirmation        tlv.Tag = 0x5F5A

	tagEndpointCert       tlv.Tag = 0x7F20
	tagInstanceCA         tlv.Tag = 0x7F22
	tagDeviceIntermediate tlv.Tag = 0x7F24
	tagKeyCreation        tlv.Tag = 0xD3

	tagMapAttestation    tlv.Tag = 0xC3
	tagMapSignaling      tlv.Tag = 0xD0
	tagMapEnd            tlv.Tag = 0xD1
	tagMapTokenLength    tlv.Tag = 0xD2
	tagMapAttestationLen tlv.Tag = 0xD4

	tagConfConfidential tlv.Tag = 0x4A
	tagConfPrivate      tlv.Tag = 0x4B
	tagConfVehicleID    tlv.Tag = 0x4D
	tagConfOption1      tlv.Tag = 0xD7
	tagConfOption2      tlv.Tag = 0xD8
)

// Sizes and values of fixed fields.
const (
	stateNotReady    = 0x00 // D4: not paired, no pairing in progress
	stateReady       = 0x02 // D4: pairing mode started and password entered
	pointSize        = dkey.PublicKeySize
	evidenceSize     = 16
	confirmationSize = 32 // 5F5A: SHA-256 of the endpoint certificate
	mailboxConfSize  = 6  // 4A, 4B: size ‖ AUTH1 offset ‖ AUTH1 length
	// maxIntermediates bounds the 7F4C objects: the vehicle intermediate [8]
	// and the Vehicle OEM CA [J] (cert.MaxIntermediates).
	maxIntermediates = 2
)

// selectResponse is the data of the framework's SELECT response (docs/protocol.md
// §2.2, TS R3 Table 5-3): 5A|5B framework versions ‖ 5C applet versions ‖
// D4 pairing state. TS R3 1.0 tags the framework versions 5A and the newer
// TS 5B (§11 item 15); both parse, and frameworkTag records which came.
type selectResponse struct {
	frameworkTag tlv.Tag
	framework    dkey.VersionList
	applet       dkey.VersionList
	state        byte
}

func (m *selectResponse) append(dst []byte) []byte {
	dst = appendVersions(dst, m.frameworkTag, m.framework)
	dst = appendVersions(dst, tagAppletVersions, m.applet)
	return tlv.AppendTLVUint8(dst, tagPairingState, m.state)
}

func (m *selectResponse) unmarshal(b []byte) bool {
	s := tlv.String(b)
	var fw, ap tlv.String
	if !s.PeekTag(&m.frameworkTag) || (m.frameworkTag != tagFrameworkVersionsR3 && m.frameworkTag != tagFrameworkVersions) {
		return false
	}
	return s.ReadTLV(&fw, m.frameworkTag) && readVersions(fw, &m.framework) &&
		s.ReadTLV(&ap, tagAppletVersions) && readVersions(ap, &m.applet) &&
		s.ReadTLVUint8(tagPairingState, &m.state) && (m.state == stateNotReady || m.state == stateReady) &&
		s.Empty()
}

// spakeRequest is the data of SPAKE2+ REQUEST (docs/protocol.md §3.2): 5B
// framework versions ‖ 5C applet versions ‖ [5E BT versions] ‖ 7F50{C0
// salt, C1 N, C2 r, C3 p} ‖ D6 brand. The vehicle sends the versions it
// speaks (a single version is the R3 1.0 reading, "the agreed version"); the
// device selects.
type spakeRequest struct {
	framework dkey.VersionList
	applet    dkey.VersionList
	bt        dkey.VersionList // zero when absent
	salt      [SaltSize]byte
	params    ScryptParams
	brand     uint16
}

func (m *spakeRequest) append(dst []byte) []byte {
	dst = appendVersions(dst, tagFrameworkVersions, m.framework)
	dst = appendVersions(dst, tagAppletVersions, m.applet)
	if m.bt.Len() > 0 {
		dst = appendVersions(dst, tagBTVersions, m.bt)
	}
	dst = tlv.AppendConstructed(dst, tagScrypt, func(b []byte) []byte {
		b = tlv.AppendTLV(b, tagSalt, m.salt[:])
		b = tlv.AppendTLVUint32(b, tagScryptN, m.params.N)
		b = tlv.AppendTLVUint16(b, tagScryptR, m.params.R)
		return tlv.AppendTLVUint16(b, tagScryptP, m.params.P)
	})
	return tlv.AppendTLVUint16(dst, tagBrand, m.brand)
}

func (m *spakeRequest) unmarshal(b []byte) bool {
	s := tlv.String(b)
	var fw, ap, bt, sc tlv.String
	var hasBT bool
	m.bt = dkey.VersionList{}
	return s.ReadTLV(&fw, tagFrameworkVersions) && readVersions(fw, &m.framework) &&
		s.ReadTLV(&ap, tagAppletVersions) && readVersions(ap, &m.applet) &&
		s.ReadOptionalTLV(&bt, &hasBT, tagBTVersions) && (!hasBT || readVersions(bt, &m.bt)) &&
		s.ReadTLV(&sc, tagScrypt) &&
		sc.ReadTLVBytes(tagSalt, m.salt[:]) &&
		sc.ReadTLVUint32(tagScryptN, &m.params.N) &&
		sc.ReadTLVUint16(tagScryptR, &m.params.R) &&
		sc.ReadTLVUint16(tagScryptP, &m.params.P) &&
		sc.Empty() &&
		s.ReadTLVUint16(tagBrand, &m.brand) &&
		s.Empty()
}

// confirmationInfo appends the suffix of the SPAKE2+ evidence-key info
// (docs/protocol.md §3.3): the 5B and 5C data objects of the SPAKE2+ REQUEST,
// byte for byte as the vehicle sent them. This is the project's choice; the
// CCC value is not public, and [MERS]'s placeholder ("5B 01 00 5C 01 01",
// labelled "example") has the same shape. Binding the version lists the
// vehicle offered makes a downgrade of the request fail the evidence check.
// Since the encoding is canonical (package tlv), re-encoding the parsed
// lists gives the bytes that came.
func (m *spakeRequest) confirmationInfo(dst []byte) []byte {
	dst = appendVersions(dst, tagFrameworkVersions, m.framework)
	return appendVersions(dst, tagAppletVersions, m.applet)
}

// spakeResponse is the data of the SPAKE2+ REQUEST response: 50 41 X.
// [YB] and [MERS] show an optional "5F 02 <selected version>" after it,
// which is not a valid BER-TLV data object as written (5F opens a two-byte
// tag); it is neither sent nor accepted.
type spakeResponse struct {
	x [pointSize]byte
}

func (m *spakeResponse) append(dst []byte) []byte { return tlv.AppendTLV(dst, tagShareX, m.x[:]) }

func (m *spakeResponse) unmarshal(b []byte) bool {
	s := tlv.String(b)
	return s.ReadTLVBytes(tagShareX, m.x[:]) && s.Empty()
}

// verifyCommand is the data of SPAKE2+ VERIFY: 52 41 Y ‖ 57 10 M1.
type verifyCommand struct {
	y  [pointSize]byte
	m1 [evidenceSize]byte
}

func (m *verifyCommand) append(dst []byte) []byte {
	dst = tlv.AppendTLV(dst, tagShareY, m.y[:])
	return tlv.AppendTLV(dst, tagVehicleEvidence, m.m1[:])
}

func (m *verifyCommand) unmarshal(b []byte) bool {
	s := tlv.String(b)
	return s.ReadTLVBytes(tagShareY, m.y[:]) && s.ReadTLVBytes(tagVehicleEvidence, m.m1[:]) && s.Empty()
}

// verifyResponse is the data of the SPAKE2+ VERIFY response: 58 10 M2.
type verifyResponse struct {
	m2 [evidenceSize]byte
}

func (m *verifyResponse) append(dst []byte) []byte {
	return tlv.AppendTLV(dst, tagDeviceEvidence, m.m2[:])
}

func (m *verifyResponse) unmarshal(b []byte) bool {
	s := tlv.String(b)
	return s.ReadTLVBytes(tagDeviceEvidence, m.m2[:]) && s.Empty()
}

// appendMapping appends the 7F4D data object of m.
func appendMapping(dst []byte, m *MailboxMapping) []byte {
	return tlv.AppendConstructed(dst, tagMailboxMapping, func(b []byte) []byte {
		b = tlv.AppendTLVUint16(b, tagMapAttestation, m.AttestationOffset)
		b = tlv.AppendTLVUint16(b, tagMapSignaling, m.SignalingBitmap)
		b = tlv.AppendTLVUint16(b, tagMapEnd, m.End)
		b = tlv.AppendTLVUint16(b, tagMapTokenLength, m.ImmobilizerTokenLength)
		return tlv.AppendTLVUint16(b, tagMapAttestationLen, m.AttestationLength)
	})
}

// unmarshalMapping parses the value of a 7F4D data object.
func unmarshalMapping(b []byte, m *MailboxMapping) bool {
	s := tlv.String(b)
	return s.ReadTLVUint16(tagMapAttestation, &m.AttestationOffset) &&
		s.ReadTLVUint16(tagMapSignaling, &m.SignalingBitmap) &&
		s.ReadTLVUint16(tagMapEnd, &m.End) &&
		s.ReadTLVUint16(tagMapTokenLength, &m.ImmobilizerTokenLength) &&
		s.ReadTLVUint16(tagMapAttestationLen, &m.AttestationLength) &&
		s.Empty()
}

// keyConfiguration is the project's content of 7F4E (docs/protocol.md §5.4,
// §11 item 4): the two mailbox configurations, the vehicle identifier (4D,
// the tag AUTH0 gives it) and the two option groups.
//
//	7F4E { 4A 06 confidential size ‖ AUTH1 offset ‖ AUTH1 length,
//	       4B 06 private size ‖ AUTH1 offset ‖ AUTH1 length,
//	       4D 08 vehicle_identifier, D7 01 option group 1, D8 01 option group 2 }
type keyConfiguration struct {
	mailboxes dkey.MailboxConfig
	vehicleID [dkey.VehicleIDLenCCC]byte
	option1   byte
	option2   byte
}

func (m *keyConfiguration) append(dst []byte) []byte {
	return tlv.AppendConstructed(dst, tagKeyConfig, func(b []byte) []byte {
		b = appendMailboxConf(b, tagConfConfidential, m.mailboxes.ConfidentialSize, m.mailboxes.ConfidentialAuth1)
		b = appendMailboxConf(b, tagConfPrivate, m.mailboxes.PrivateSize, m.mailboxes.PrivateAuth1)
		b = tlv.AppendTLV(b, tagConfVehicleID, m.vehicleID[:])
		b = tlv.AppendTLVUint8(b, tagConfOption1, m.option1)
		return tlv.AppendTLVUint8(b, tagConfOption2, m.option2)
	})
}

// unmarshal parses the value of a 7F4E data object.
func (m *keyConfiguration) unmarshal(b []byte) bool {
	s := tlv.String(b)
	var conf, priv [mailboxConfSize]byte
	if !(s.ReadTLVBytes(tagConfConfidential, conf[:]) &&
		s.ReadTLVBytes(tagConfPrivate, priv[:]) &&
		s.ReadTLVBytes(tagConfVehicleID, m.vehicleID[:]) &&
		s.ReadTLVUint8(tagConfOption1, &m.option1) &&
		s.ReadTLVUint8(tagConfOption2, &m.option2) &&
		s.Empty()) {
		return false
	}
	m.mailboxes.ConfidentialSize, m.mailboxes.ConfidentialAuth1 = readMailboxConf(&conf)
	m.mailboxes.PrivateSize, m.mailboxes.PrivateAuth1 = readMailboxConf(&priv)
	return true
}

func appendMailboxConf(dst []byte, t tlv.Tag, size uint16, r dkey.MailboxRange) []byte {
	var v [mailboxConfSize]byte
	binary.BigEndian.PutUint16(v[0:], size)
	binary.BigEndian.PutUint16(v[2:], r.Offset)
	binary.BigEndian.PutUint16(v[4:], r.Length)
	return tlv.AppendTLV(dst, t, v[:])
}

func readMailboxConf(v *[mailboxConfSize]byte) (uint16, dkey.MailboxRange) {
	return binary.BigEndian.Uint16(v[0:]), dkey.MailboxRange{Offset: binary.BigEndian.Uint16(v[2:]), Length: binary.BigEndian.Uint16(v[4:])}
}

func appendVersions(dst []byte, t tlv.Tag, l dkey.VersionList) []byte {
	var v [2 * dkey.MaxVersions]byte
	return tlv.AppendTLV(dst, t, l.Append(v[:0]))
}

func readVersions(b tlv.String, out *dkey.VersionList) bool {
	l, err := dkey.ParseVersionList(b)
	if err != nil {
		return false
	}
	*out = l
	return true
}

// getDataTag reports whether t is a data object GET DATA may ask for
// (docs/protocol.md §3.5).
func getDataTag(t tlv.Tag) bool {
	return t == tagEndpointCert || t == tagInstanceCA || t == tagDeviceIntermediate || t == tagKeyCreation
}
