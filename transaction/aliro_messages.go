package transaction

import (
	"fmt"
	"strconv"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
)

// Wire details of the Aliro expedited phase, from the published CSA Aliro 1.0
// specification (26-42802-001, February 2026; confidence S unless a comment
// says otherwise) and checked against its worked examples (section 14) and
// two public implementations, NXP's aliro-actuator and
// kormax/python-aliro-reader (I). See doc.go, "Aliro".

// Command bytes (Aliro 1.0 Tables 8-3, 8-8, 8-9, 8-14, 10-1, 10-5). Every
// expedited-phase command has CLA 80 (90 when chained, which the transport
// reassembles) and P1 = P2 = 00.
const (
	insAliroLoadCert = 0xD1
	aliroP1P2        = 0x00
)

// Data object tags of the Aliro expedited phase.
const (
	aliroTagFCI          tlv.Tag = 0x6F   // SELECT: FCI template
	aliroTagAID          tlv.Tag = 0x84   // SELECT: DF name
	aliroTagProprietary  tlv.Tag = 0xA5   // SELECT: proprietary information
	aliroTagType         tlv.Tag = 0x80   // SELECT: application type
	aliroTagExtLength    tlv.Tag = 0x7F66 // SELECT: extended length information
	aliroTagInteger      tlv.Tag = 0x02   // SELECT: an integer of 7F66
	aliroTagFCIVendor    tlv.Tag = 0xB3   // SELECT: vendor specific extensions
	aliroTagDeviceDescr  tlv.Tag = 0xB7   // SELECT: User Device descriptor
	aliroTagParams       tlv.Tag = 0x41   // AUTH0, AUTH1: command_parameters; CONTROL FLOW: S1
	aliroTagPolicy       tlv.Tag = 0x42   // AUTH0: authentication_policy; CONTROL FLOW: S2
	aliroTagReaderID     tlv.Tag = 0x4D   // AUTH0: reader_identifier
	aliroTagCmdExt       tlv.Tag = 0xB1   // AUTH0: auth0_command_vendor_extension
	aliroTagRespExt      tlv.Tag = 0xB2   // AUTH0 response: auth0_response_vendor_extension
	aliroTagCertificate  tlv.Tag = 0x90   // AUTH1: reader_Cert
	aliroTagPublicKey    tlv.Tag = 0x5A   // AUTH1 response: credential_PubK
	aliroTagSignaling    tlv.Tag = 0x5E   // AUTH1 response, cryptogram: signaling_bitmap
	aliroTagCredTime     tlv.Tag = 0x91   // credential_signed_timestamp
	aliroTagRevTime      tlv.Tag = 0x92   // revocation_signed_timestamp
	aliroTagCFDescriptor tlv.Tag = 0x63   // CONTROL FLOW: Reader Descriptor TLV
)

// Sizes and limits of the Aliro messages.
const (
	aliroCryptogramSize = 64 // 48-byte payload and a 16-byte GCM tag (Table 8-5)
	aliroPayloadSize    = 48 // 5E 02 ‖ 91 14 ‖ 92 14 (Table 8-6)
	// MaxAliroExtension is the longest vendor extension value (AUTH0 tags B1
	// and B2, Table 8-4 and 8-5: up to 127 bytes).
	MaxAliroExtension = 127
	// maxAliroSelect bounds the SELECT response (Aliro 1.0 10.2.1.2: at most
	// 256 bytes); the FCI and its A5 template are shorter still.
	maxAliroSelect = 256
	// MaxAliroCertificate bounds a compressed reader certificate. The User
	// Device must accept at least 274 bytes (Aliro 1.0 6.3.1); the largest
	// profile0000 certificate the field sizes allow is about 300.
	MaxAliroCertificate = 512
	// MaxAliroMailboxSubset bounds the mailbox_data_subset of the AUTH1
	// response (tag 4B); the bound is the project's.
	MaxAliroMailboxSubset = 1024
	// MaxAliroControlFlowData bounds the CONTROL FLOW data field (Aliro 1.0
	// Table 10-6: at most 255 bytes).
	MaxAliroControlFlowData = 255
	// maxAliroUnknown bounds the unknown data objects a message may carry
	// (the project's limit, see readAliroFields).
	maxAliroUnknown = 8
)

// AliroPolicy is the authentication_policy of AUTH0 (tag 42, Aliro 1.0
// Table 8-1): the reader's intent for user authentication on the device.
// Both sides bind it into the key derivation with command_parameters.
type AliroPolicy uint8

// Authentication policies.
const (
	// AliroPolicyUserDevice: the device applies its user's setting (express
	// mode or not).
	AliroPolicyUserDevice AliroPolicy = 0x01
	// AliroPolicySecureAction: as AliroPolicyUserDevice, and the reader is
	// about to enter a more secure state (lock, arm, close). A reader must
	// not send it over Bluetooth LE, for privacy.
	AliroPolicySecureAction AliroPolicy = 0x02
	// AliroPolicyForceUserAuthentication: the device authenticates its user
	// or ends the transaction.
	AliroPolicyForceUserAuthentication AliroPolicy = 0x03
)

// Valid reports whether p is one of the defined policies; 00 and 04 to FF
// are reserved.
func (p AliroPolicy) Valid() bool {
	return p >= AliroPolicyUserDevice && p <= AliroPolicyForceUserAuthentication
}

// String returns the policy name.
func (p AliroPolicy) String() string {
	switch p {
	case AliroPolicyUserDevice:
		return "user device setting"
	case AliroPolicySecureAction:
		return "secure action"
	case AliroPolicyForceUserAuthentication:
		return "force user authentication"
	}
	return "AliroPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Bits of command_parameters (tag 41). Only bit 0 is defined; the others
// are RFU, which a receiver ignores (Aliro 1.0 1.4.2) but binds into the key
// derivation all the same, since the flag element is the whole byte.
const (
	aliroParamFast      = 0x01 // AUTH0: expedited-fast requested
	aliroParamPublicKey = 0x01 // AUTH1: return the public key (5A), not key_slot (4E)
)

// AliroSignaling is the signaling_bitmap of the AUTH1 response and the
// cryptogram (tag 5E, Aliro 1.0 Table 8-11): what the device offers to this
// reader. Bits without a constant are RFU; a reader ignores them.
type AliroSignaling uint16

// Signaling bits (Aliro 1.0 Table 8-11).
const (
	AliroAccessDocument     AliroSignaling = 1 << 0  // an Access Document can be retrieved
	AliroRevocationDocument AliroSignaling = 1 << 1  // a Revocation Document can be retrieved
	AliroStepUpSelect       AliroSignaling = 1 << 2  // NFC: SELECT the step-up AID before the step-up phase
	AliroMailboxNonZero     AliroSignaling = 1 << 3  // the mailbox holds data other than zeros
	AliroMailboxRead        AliroSignaling = 1 << 4  // the reader may read the mailbox
	AliroMailboxWrite       AliroSignaling = 1 << 5  // the reader may write and set the mailbox
	AliroNotifyIssuer       AliroSignaling = 1 << 6  // notify (AE 9Fxx) the Credential Issuer backend
	AliroNotifyApplication  AliroSignaling = 1 << 7  // notify a bound application
	AliroUpdateDocExpedited AliroSignaling = 1 << 9  // update_doc (81) in the expedited phase
	AliroMailboxStepUp      AliroSignaling = 1 << 10 // mailbox in the step-up phase (0 in Aliro 1.0)
	AliroNotifyStepUp       AliroSignaling = 1 << 11 // notify in the step-up phase
	AliroUpdateDocStepUp    AliroSignaling = 1 << 12 // update_doc in the step-up phase
)

// Has reports whether every bit of want is set in s.
func (s AliroSignaling) Has(want AliroSignaling) bool { return s&want == want }

// AliroTimestampSize is the size of a credential or revocation signed
// timestamp: an ISO/IEC 18013-5 tdate, "YYYY-MM-DDTHH:MM:SSZ".
const AliroTimestampSize = 20

// AliroTimestamp is credential_signed_timestamp or
// revocation_signed_timestamp (tags 91 and 92, Aliro 1.0 Table 8-11): the
// signed time of the device's Access Document or Revocation Document, which
// tells the reader whether a step-up phase would bring anything newer than
// what it holds. The zero value means none (the cryptogram carries 20 zero
// bytes for it, Table 8-6).
type AliroTimestamp [AliroTimestampSize]byte

// aliroTdate is the layout of an AliroTimestamp.
const aliroTdate = "2006-01-02T15:04:05Z"

// NewAliroTimestamp returns t, in UTC and truncated to the second, as a
// timestamp.
func NewAliroTimestamp(t time.Time) AliroTimestamp {
	var ts AliroTimestamp
	t.UTC().AppendFormat(ts[:0], aliroTdate)
	return ts
}

// IsZero reports whether ts means "no timestamp".
func (ts AliroTimestamp) IsZero() bool { return ts == AliroTimestamp{} }

// Time returns the instant ts names; it fails for the zero timestamp.
func (ts AliroTimestamp) Time() (time.Time, error) {
	if !ts.valid() || ts.IsZero() {
		return time.Time{}, fmt.Errorf("%w: timestamp %q", ErrMalformed, ts[:])
	}
	return time.Parse(aliroTdate, string(ts[:]))
}

// String returns the timestamp text, or "none".
func (ts AliroTimestamp) String() string {
	if ts.IsZero() {
		return "none"
	}
	return string(ts[:])
}

// valid reports whether ts is zero or a well-formed tdate with plausible
// fields. It does not allocate.
func (ts *AliroTimestamp) valid() bool {
	if ts.IsZero() {
		return true
	}
	for i, c := range ts {
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		case 19:
			if c != 'Z' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	two := func(i int) int { return int(ts[i]-'0')*10 + int(ts[i+1]-'0') }
	return two(5) >= 1 && two(5) <= 12 && two(8) >= 1 && two(8) <= 31 && two(11) <= 23 && two(14) <= 59 && two(17) <= 60
}

// AliroStatus is what a device tells a reader about its credential in the
// cryptogram and the AUTH1 response: the signaling bitmap and the signed
// timestamps of its documents.
type AliroStatus struct {
	Signaling        AliroSignaling
	CredentialSigned AliroTimestamp
	RevocationSigned AliroTimestamp
}

// aliroField describes one data object of a message for readAliroFields.
type aliroField struct {
	tag      tlv.Tag
	min, max int  // bounds of the value length
	need     bool // mandatory
	// lenient accepts a non-shortest length field (81 or 82 forms) for this
	// tag only; see the AUTH1 certificate.
	lenient bool
	val     *tlv.String // the value, aliasing the input
	seen    *bool       // set when present; may be nil for a mandatory field
}

// readAliroFields parses b as the data objects fs lists. The known data
// objects must come in the order of fs, each at most once (Aliro 1.0
// 8.3.2.4: "a different order is considered invalid"), within their length
// bounds, and every mandatory one must be present. A data object with a tag
// fs does not list is skipped wherever it stands (Aliro 1.0 1.4.3: unknown
// DER-TLVs exchanged by the expedited-phase commands shall be accepted and
// not interpreted), at most maxAliroUnknown of them. Values alias b.
func readAliroFields(b []byte, fs []aliroField) bool {
	s := tlv.String(b)
	next, unknown := 0, 0
	for !s.Empty() {
		var t tlv.Tag
		if !s.PeekTag(&t) {
			return false
		}
		i := 0
		for i < len(fs) && fs[i].tag != t {
			i++
		}
		if i == len(fs) {
			if unknown++; unknown > maxAliroUnknown || !s.SkipAnyTLV() {
				return false
			}
			continue
		}
		if i < next {
			return false // repeated, or out of order
		}
		for j := next; j < i; j++ {
			if fs[j].need {
				return false
			}
		}
		var v tlv.String
		if fs[i].lenient {
			if !readLenientTLV(&s, &v) {
				return false
			}
		} else if !s.ReadTLV(&v, t) {
			return false
		}
		if len(v) < fs[i].min || len(v) > fs[i].max {
			return false
		}
		*fs[i].val = v
		if fs[i].seen != nil {
			*fs[i].seen = true
		}
		next = i + 1
	}
	for j := next; j < len(fs); j++ {
		if fs[j].need {
			return false
		}
	}
	return true
}

// readLenientTLV reads a data object with a one-byte tag whose length field
// may use the 81 or 82 form for any length. The Aliro 1.0 section 14.2
// example sends its reader certificate in AUTH1 as 90 82 00 99: a length
// field that is not the shortest, which DER forbids and the spec's own
// example uses. Nothing binds the encoding of tag 90 (the certificate is
// verified on its content), so the endpoint accepts that form there.
func readLenientTLV(s *tlv.String, out *tlv.String) bool {
	b := *s
	if len(b) < 2 {
		return false
	}
	n, hdr := int(b[1]), 2
	switch b[1] {
	case 0x81:
		if len(b) < 3 {
			return false
		}
		n, hdr = int(b[2]), 3
	case 0x82:
		if len(b) < 4 {
			return false
		}
		n, hdr = int(b[2])<<8|int(b[3]), 4
	default:
		if n >= 0x80 {
			return false
		}
	}
	if len(b)-hdr < n {
		return false
	}
	*out = tlv.String(b[hdr : hdr+n : hdr+n])
	*s = b[hdr+n:]
	return true
}

// aliroFCI is what a reader keeps of the SELECT response of the expedited
// applet (Aliro 1.0 Table 10-2): the protocol versions offered, the
// extended length information and the whole proprietary information
// template A5, which both sides bind into every key derivation.
type aliroFCI struct {
	versions    dkey.VersionList
	a5          []byte // the A5 data object, tag and length included; aliases the input
	maxCommand  uint16 // 0 when the device sends no 7F66
	maxResponse uint16
}

// unmarshal parses the SELECT response data: 6F { 84 AID, A5 { 80 type,
// 5C versions, [7F66 { 02 max command, 02 max response }], [B3 vendor],
// [B7 device descriptor] } }. The AID must be the expedited applet's and the
// type 0000 (CSA application, Table 10-4); other types are reserved.
// Unknown data objects inside 6F and A5 are skipped (Aliro 1.0 10.2.1.2:
// the reader accepts unknown tags in the FCI tree).
func (m *aliroFCI) unmarshal(b []byte) bool {
	if len(b) > maxAliroSelect {
		return false
	}
	s := tlv.String(b)
	var fci, aid, a5, typ, versions, ext, vendor, descr tlv.String
	var hasExt, hasVendor, hasDescr bool
	if !s.ReadTLV(&fci, aliroTagFCI) || !s.Empty() {
		return false
	}
	if !readAliroFields(fci, []aliroField{
		{tag: aliroTagAID, min: len(dkey.AIDAliro), max: len(dkey.AIDAliro), need: true, val: &aid},
		{tag: aliroTagProprietary, min: 1, max: maxAliroSelect, need: true, val: &a5},
	}) || !dkey.AIDAliro.Equal(aid) {
		return false
	}
	if !readAliroFields(a5, []aliroField{
		{tag: aliroTagType, min: 2, max: 2, need: true, val: &typ},
		{tag: tagVersions, min: 2, max: 2 * dkey.MaxVersions, need: true, val: &versions},
		{tag: aliroTagExtLength, min: 8, max: 8, val: &ext, seen: &hasExt},
		{tag: aliroTagFCIVendor, min: 1, max: MaxAliroExtension, val: &vendor, seen: &hasVendor},
		{tag: aliroTagDeviceDescr, min: 1, max: MaxAliroExtension, val: &descr, seen: &hasDescr},
	}) || typ[0] != 0 || typ[1] != 0 {
		return false
	}
	l, err := dkey.ParseVersionList(versions)
	if err != nil {
		return false
	}
	var maxCmd, maxResp uint16
	if hasExt && !(ext.ReadTLVUint16(aliroTagInteger, &maxCmd) && ext.ReadTLVUint16(aliroTagInteger, &maxResp) && ext.Empty()) {
		return false
	}
	m.versions, m.maxCommand, m.maxResponse = l, maxCmd, maxResp
	m.a5 = encodedTLV(fci, a5)
	return m.a5 != nil
}

// encodedTLV returns the whole data object (tag, length, value) whose value
// is the slice value of container, one of container's data objects.
func encodedTLV(container, value []byte) []byte {
	s := tlv.String(container)
	for !s.Empty() {
		rest := s
		var t tlv.Tag
		var v tlv.String
		if !s.ReadAnyTLV(&v, &t) {
			return nil
		}
		if len(v) == len(value) && len(v) > 0 && &v[0] == &value[0] {
			return rest[:len(rest)-len(s)]
		}
	}
	return nil
}

// appendAliroFCI appends the SELECT response data an endpoint sends and
// returns it with the offsets of its A5 data object: 6F { 84 AID, A5 {
// 80 0000, 5C versions [, 7F66 { 02 maxCommand, 02 maxResponse }] } }.
func appendAliroFCI(dst []byte, versions dkey.VersionList, maxCommand, maxResponse uint16) (out []byte, a5Start, a5End int) {
	var a5 [64]byte
	p := tlv.AppendTLVUint16(a5[:0], aliroTagType, 0)
	p = append(p, byte(tagVersions), byte(2*versions.Len()))
	p = versions.Append(p)
	if maxCommand != 0 {
		var ext [8]byte
		e := tlv.AppendTLVUint16(ext[:0], aliroTagInteger, maxCommand)
		e = tlv.AppendTLVUint16(e, aliroTagInteger, maxResponse)
		p = tlv.AppendTLV(p, aliroTagExtLength, e)
	}
	inner := 2 + len(dkey.AIDAliro) + 2 + len(p)
	dst = append(dst, byte(aliroTagFCI), byte(inner), byte(aliroTagAID), byte(len(dkey.AIDAliro)))
	dst = append(dst, dkey.AIDAliro...)
	a5Start = len(dst)
	dst = tlv.AppendTLV(dst, aliroTagProprietary, p)
	return dst, a5Start, len(dst)
}

// aliroAuth0 is the data of the AUTH0 command (Aliro 1.0 Table 8-4):
// 41 command_parameters ‖ 42 authentication_policy ‖ 5C version ‖ 87
// reader_ePubK ‖ 4C transaction_identifier ‖ 4D reader_identifier [‖ B1
// vendor extension].
type aliroAuth0 struct {
	params    byte
	policy    AliroPolicy
	version   dkey.Version
	readerEPK [pointSize]byte
	txID      [txIDSize]byte
	readerID  dkey.ReaderID
	ext       []byte // B1 value, aliasing the input or the caller's buffer; nil when absent
}

func (m *aliroAuth0) append(dst []byte) []byte {
	dst = tlv.AppendTLVUint8(dst, aliroTagParams, m.params)
	dst = tlv.AppendTLVUint8(dst, aliroTagPolicy, byte(m.policy))
	dst = tlv.AppendTLVUint16(dst, tagVersions, uint16(m.version))
	dst = tlv.AppendTLV(dst, tagVehicleEPK, m.readerEPK[:])
	dst = tlv.AppendTLV(dst, tagTxID, m.txID[:])
	dst = append(dst, byte(aliroTagReaderID), dkey.ReaderIDLen)
	dst = m.readerID.Append(dst)
	if m.ext != nil {
		dst = tlv.AppendTLV(dst, aliroTagCmdExt, m.ext)
	}
	return dst
}

func (m *aliroAuth0) unmarshal(b []byte) bool {
	var params, policy, version, epk, txid, rid, ext tlv.String
	var hasExt bool
	if !readAliroFields(b, []aliroField{
		{tag: aliroTagParams, min: 1, max: 1, need: true, val: &params},
		{tag: aliroTagPolicy, min: 1, max: 1, need: true, val: &policy},
		{tag: tagVersions, min: 2, max: 2, need: true, val: &version},
		{tag: tagVehicleEPK, min: pointSize, max: pointSize, need: true, val: &epk},
		{tag: tagTxID, min: txIDSize, max: txIDSize, need: true, val: &txid},
		{tag: aliroTagReaderID, min: dkey.ReaderIDLen, max: dkey.ReaderIDLen, need: true, val: &rid},
		{tag: aliroTagCmdExt, min: 1, max: MaxAliroExtension, val: &ext, seen: &hasExt},
	}) {
		return false
	}
	m.params, m.policy = params[0], AliroPolicy(policy[0])
	m.version = dkey.Version(uint16(version[0])<<8 | uint16(version[1]))
	copy(m.readerEPK[:], epk)
	copy(m.txID[:], txid)
	m.readerID, _ = dkey.NewReaderID(rid)
	m.ext = nil
	if hasExt {
		m.ext = ext
	}
	return true
}

// aliroAuth0Response is the data of the AUTH0 response (Aliro 1.0 Table
// 8-5): 86 credential_ePubK [‖ 9D cryptogram] [‖ B2 vendor extension].
type aliroAuth0Response struct {
	endpointEPK   [pointSize]byte
	cryptogram    [aliroCryptogramSize]byte
	hasCryptogram bool
	ext           []byte // B2 value; nil when absent
}

func (m *aliroAuth0Response) append(dst []byte) []byte {
	dst = tlv.AppendTLV(dst, tagEndpointEPK, m.endpointEPK[:])
	if m.hasCryptogram {
		dst = tlv.AppendTLV(dst, tagCryptogram, m.cryptogram[:])
	}
	if m.ext != nil {
		dst = tlv.AppendTLV(dst, aliroTagRespExt, m.ext)
	}
	return dst
}

func (m *aliroAuth0Response) unmarshal(b []byte) bool {
	var epk, crypt, ext tlv.String
	var hasCrypt, hasExt bool
	if !readAliroFields(b, []aliroField{
		{tag: tagEndpointEPK, min: pointSize, max: pointSize, need: true, val: &epk},
		{tag: tagCryptogram, min: aliroCryptogramSize, max: aliroCryptogramSize, val: &crypt, seen: &hasCrypt},
		{tag: aliroTagRespExt, min: 1, max: MaxAliroExtension, val: &ext, seen: &hasExt},
	}) {
		return false
	}
	copy(m.endpointEPK[:], epk)
	m.hasCryptogram = hasCrypt
	if hasCrypt {
		copy(m.cryptogram[:], crypt)
	}
	m.ext = nil
	if hasExt {
		m.ext = ext
	}
	return true
}

// aliroAuth1 is the data of the AUTH1 command (Aliro 1.0 Table 8-10):
// 41 command_parameters ‖ 9E reader signature [‖ 90 reader_Cert].
type aliroAuth1 struct {
	params byte
	sig    dkey.Signature
	cert   []byte // compressed certificate, aliasing the input; nil when absent
}

func (m *aliroAuth1) append(dst []byte) []byte {
	dst = tlv.AppendTLVUint8(dst, aliroTagParams, m.params)
	dst = tlv.AppendTLV(dst, tagSignature, m.sig[:])
	if m.cert != nil {
		dst = tlv.AppendTLV(dst, aliroTagCertificate, m.cert)
	}
	return dst
}

func (m *aliroAuth1) unmarshal(b []byte) bool {
	var params, sig, cert tlv.String
	var hasCert bool
	if !readAliroFields(b, []aliroField{
		{tag: aliroTagParams, min: 1, max: 1, need: true, val: &params},
		{tag: tagSignature, min: dkey.SignatureSize, max: dkey.SignatureSize, need: true, val: &sig},
		{tag: aliroTagCertificate, min: 1, max: MaxAliroCertificate, val: &cert, seen: &hasCert, lenient: true},
	}) {
		return false
	}
	m.params = params[0]
	copy(m.sig[:], sig)
	m.cert = nil
	if hasCert {
		m.cert = cert
	}
	return true
}

// aliroAuth1Response is the plaintext of the AUTH1 response (Aliro 1.0
// Table 8-11): 4E key_slot or 5A credential_PubK (as AUTH1 asked) ‖ 9E
// device signature [‖ 4B mailbox_data_subset] ‖ 5E signaling_bitmap [‖ 91
// credential_signed_timestamp] [‖ 92 revocation_signed_timestamp].
type aliroAuth1Response struct {
	publicKey bool // 5A rather than 4E
	slot      dkey.KeySlot
	pub       [pointSize]byte
	sig       dkey.Signature
	subset    []byte // aliases the plaintext; nil when absent
	status    AliroStatus
}

func (m *aliroAuth1Response) append(dst []byte) []byte {
	if m.publicKey {
		dst = tlv.AppendTLV(dst, aliroTagPublicKey, m.pub[:])
	} else {
		dst = append(dst, byte(tagKeySlot), byte(m.slot.Len()))
		dst = m.slot.Append(dst)
	}
	dst = tlv.AppendTLV(dst, tagSignature, m.sig[:])
	if m.subset != nil {
		dst = tlv.AppendTLV(dst, tagPrivSubset, m.subset)
	}
	dst = tlv.AppendTLVUint16(dst, aliroTagSignaling, uint16(m.status.Signaling))
	if !m.status.CredentialSigned.IsZero() {
		dst = tlv.AppendTLV(dst, aliroTagCredTime, m.status.CredentialSigned[:])
	}
	if !m.status.RevocationSigned.IsZero() {
		dst = tlv.AppendTLV(dst, aliroTagRevTime, m.status.RevocationSigned[:])
	}
	return dst
}

// unmarshal parses the plaintext; publicKey says which identification the
// AUTH1 command asked for. A timestamp must be a well-formed tdate.
func (m *aliroAuth1Response) unmarshal(b []byte, publicKey bool) bool {
	var id, sig, subset, signaling, cred, rev tlv.String
	var hasSubset, hasCred, hasRev bool
	idTag, idLen := tagKeySlot, dkey.MaxKeySlotLen
	if publicKey {
		idTag, idLen = aliroTagPublicKey, pointSize
	}
	if !readAliroFields(b, []aliroField{
		{tag: idTag, min: idLen, max: idLen, need: true, val: &id},
		{tag: tagSignature, min: dkey.SignatureSize, max: dkey.SignatureSize, need: true, val: &sig},
		{tag: tagPrivSubset, min: 1, max: MaxAliroMailboxSubset, val: &subset, seen: &hasSubset},
		{tag: aliroTagSignaling, min: 2, max: 2, need: true, val: &signaling},
		{tag: aliroTagCredTime, min: AliroTimestampSize, max: AliroTimestampSize, val: &cred, seen: &hasCred},
		{tag: aliroTagRevTime, min: AliroTimestampSize, max: AliroTimestampSize, val: &rev, seen: &hasRev},
	}) {
		return false
	}
	*m = aliroAuth1Response{publicKey: publicKey}
	if publicKey {
		copy(m.pub[:], id)
	} else {
		m.slot, _ = dkey.NewKeySlot(id)
	}
	copy(m.sig[:], sig)
	if hasSubset {
		m.subset = subset
	}
	m.status.Signaling = AliroSignaling(uint16(signaling[0])<<8 | uint16(signaling[1]))
	if hasCred {
		copy(m.status.CredentialSigned[:], cred)
	}
	if hasRev {
		copy(m.status.RevocationSigned[:], rev)
	}
	// An explicit all-zero timestamp is not one: the tags are optional.
	return (!hasCred || (!m.status.CredentialSigned.IsZero() && m.status.CredentialSigned.valid())) &&
		(!hasRev || (!m.status.RevocationSigned.IsZero() && m.status.RevocationSigned.valid()))
}

// appendAliroPayload appends the cryptogram plaintext (Aliro 1.0 Table 8-6):
// 5E 02 signaling ‖ 91 14 credential timestamp ‖ 92 14 revocation
// timestamp, a missing timestamp being 20 zero bytes.
func appendAliroPayload(dst []byte, st *AliroStatus) []byte {
	dst = tlv.AppendTLVUint16(dst, aliroTagSignaling, uint16(st.Signaling))
	dst = tlv.AppendTLV(dst, aliroTagCredTime, st.CredentialSigned[:])
	return tlv.AppendTLV(dst, aliroTagRevTime, st.RevocationSigned[:])
}

// parseAliroPayload parses a cryptogram plaintext into st.
func parseAliroPayload(b []byte, st *AliroStatus) bool {
	var signaling, cred, rev tlv.String
	if !readAliroFields(b, []aliroField{
		{tag: aliroTagSignaling, min: 2, max: 2, need: true, val: &signaling},
		{tag: aliroTagCredTime, min: AliroTimestampSize, max: AliroTimestampSize, need: true, val: &cred},
		{tag: aliroTagRevTime, min: AliroTimestampSize, max: AliroTimestampSize, need: true, val: &rev},
	}) {
		return false
	}
	st.Signaling = AliroSignaling(uint16(signaling[0])<<8 | uint16(signaling[1]))
	copy(st.CredentialSigned[:], cred)
	copy(st.RevocationSigned[:], rev)
	return st.CredentialSigned.valid() && st.RevocationSigned.valid()
}

// AliroControlFlow is the content of an Aliro CONTROL FLOW command (Aliro
// 1.0 Table 10-6), which a reader sends over NFC only to report a failure
// when no secure channel exists: S1 (tag 41) and S2 (tag 42), and
// optionally its Reader Descriptor (tag 63, holding the B5 data object).
type AliroControlFlow struct {
	S1, S2 byte
	// ReaderDescriptor is the value of tag 63: a B5 Reader Descriptor data
	// object (Table 8-17). Nil for none.
	ReaderDescriptor []byte
}

// CONTROL FLOW values (Aliro 1.0 10.2.2.1). Other values are reserved.
const (
	AliroS1Failure            byte = 0x00 // transaction finished with failure
	AliroS2NoInformation      byte = 0x00 // no information
	AliroS2VersionUnsupported byte = 0x27 // protocol version not supported
)

func (m *AliroControlFlow) append(dst []byte) []byte {
	dst = tlv.AppendTLVUint8(dst, aliroTagParams, m.S1)
	dst = tlv.AppendTLVUint8(dst, aliroTagPolicy, m.S2)
	if m.ReaderDescriptor != nil {
		dst = tlv.AppendTLV(dst, aliroTagCFDescriptor, m.ReaderDescriptor)
	}
	return dst
}

func (m *AliroControlFlow) unmarshal(b []byte) bool {
	var s1, s2, d tlv.String
	var hasD bool
	if len(b) > MaxAliroControlFlowData || !readAliroFields(b, []aliroField{
		{tag: aliroTagParams, min: 1, max: 1, need: true, val: &s1},
		{tag: aliroTagPolicy, min: 1, max: 1, need: true, val: &s2},
		{tag: aliroTagCFDescriptor, min: 1, max: MaxAliroControlFlowData, val: &d, seen: &hasD},
	}) {
		return false
	}
	m.S1, m.S2, m.ReaderDescriptor = s1[0], s2[0], nil
	if hasD {
		m.ReaderDescriptor = d
	}
	return true
}

// appendAliroAuthData appends the data an AUTH1 signature covers (Aliro 1.0
// Tables 8-12 and 8-13): 4D reader_identifier ‖ 86 credential_ePubK.x ‖
// 87 reader_ePubK.x ‖ 4C transaction_identifier ‖ 93 usage. The usage
// constants are CCC's (41 5D 95 69 for the reader, 4E 88 7B 4C for the
// device), so a signature of one role never verifies as the other's.
func appendAliroAuthData(dst []byte, rid dkey.ReaderID, endpointEPKX, readerEPKX []byte, txID *[txIDSize]byte, usage *[4]byte) []byte {
	dst = append(dst, byte(aliroTagReaderID), dkey.ReaderIDLen)
	dst = rid.Append(dst)
	dst = tlv.AppendTLV(dst, tagEndpointEPK, endpointEPKX)
	dst = tlv.AppendTLV(dst, tagVehicleEPK, readerEPKX)
	dst = tlv.AppendTLV(dst, tagTxID, txID[:])
	return tlv.AppendTLV(dst, tagUsage, usage[:])
}
