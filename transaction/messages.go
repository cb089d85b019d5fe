package transaction

import (
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
)

// Command bytes of the Digital Key applet (docs/protocol.md §2.3).
const (
	claISO       = 0x00 // SELECT
	claDK        = 0x80 // AUTH0, AUTH1, CONTROL FLOW
	claSecure    = 0x84 // EXCHANGE, protected by secure messaging
	insSelect    = 0xA4
	insAuth0     = 0x80
	insAuth1     = 0x81
	insExchange  = 0xC9
	insControl   = 0x3C
	p1SelectName = 0x04
)

// Data object tags of the transaction messages (docs/protocol.md §2.2, §4.2, §4.3).
const (
	tagVersions    tlv.Tag = 0x5C // applet protocol version(s)
	tagVehicleEPK  tlv.Tag = 0x87 // vehicle ephemeral public key
	tagTxID        tlv.Tag = 0x4C // transaction identifier
	tagVehicleID   tlv.Tag = 0x4D // vehicle (reader) identifier
	tagEndpointEPK tlv.Tag = 0x86 // endpoint ephemeral public key
	tagCryptogram  tlv.Tag = 0x9D // fast-transaction cryptogram
	tagSignature   tlv.Tag = 0x9E // raw r‖s signature
	tagUsage       tlv.Tag = 0x93 // signature usage constant (signed data only)
	tagKeySlot     tlv.Tag = 0x4E // key slot (endpoint) identifier
	tagConfSubset  tlv.Tag = 0x4A // confidential-mailbox subset in AUTH1
	tagPrivSubset  tlv.Tag = 0x4B // private-mailbox subset in AUTH1
	tagOpRead      tlv.Tag = 0x87 // EXCHANGE: read (project encoding, see exchange.go)
	tagOpWrite     tlv.Tag = 0x8A // EXCHANGE: write
	tagOpFill      tlv.Tag = 0x95 // EXCHANGE: fill
	tagReadResult  tlv.Tag = 0x53 // EXCHANGE response: data of one read
	txIDSize               = 16
	cryptogramSize         = 16
	pointSize              = dkey.PublicKeySize
	coordSize              = dkey.CoordinateSize
)

// Flags is P1 of AUTH0 (docs/protocol.md §2.5). Both sides bind P1 into the key
// derivation exactly as sent.
type Flags uint8

const (
	// FlagFast asks for a fast transaction: the endpoint returns a cryptogram
	// if it holds Kpersistent for the vehicle.
	FlagFast Flags = 0x01
	// FlagExchange announces that EXCHANGE will follow (mailbox access), as
	// the vehicle does in the transactions right after owner pairing.
	FlagExchange Flags = 0x04

	knownFlags = FlagFast | FlagExchange
)

// usage constants bound into the AUTH1 signatures (tag 93, docs/protocol.md §4.3).
var (
	usageVehicle  = [4]byte{0x41, 0x5D, 0x95, 0x69}
	usageEndpoint = [4]byte{0x4E, 0x88, 0x7B, 0x4C}
)

// auth0 is the data of the AUTH0 command (docs/protocol.md §4.2):
// 5C 02 version ‖ 87 41 vehicle_ePK ‖ 4C 10 transaction_identifier ‖ 4D vehicle_identifier.
type auth0 struct {
	version    dkey.Version
	vehicleEPK [pointSize]byte
	txID       [txIDSize]byte
	vehicleID  dkey.VehicleID
}

func (m *auth0) append(dst []byte) []byte {
	dst = append(dst, byte(tagVersions), 2)
	dst = m.version.Append(dst)
	dst = tlv.AppendTLV(dst, tagVehicleEPK, m.vehicleEPK[:])
	dst = tlv.AppendTLV(dst, tagTxID, m.txID[:])
	dst = append(dst, byte(tagVehicleID), byte(m.vehicleID.Len()))
	return m.vehicleID.Append(dst)
}

// unmarshal parses AUTH0 data for a vehicle identifier of idLen bytes.
// The fields must come in the order above, and nothing may follow.
func (m *auth0) unmarshal(b []byte, idLen int) bool {
	s := tlv.String(b)
	var v uint16
	var id [dkey.VehicleIDLenHomeKey]byte
	if !(s.ReadTLVUint16(tagVersions, &v) &&
		s.ReadTLVBytes(tagVehicleEPK, m.vehicleEPK[:]) &&
		s.ReadTLVBytes(tagTxID, m.txID[:]) &&
		s.ReadTLVBytes(tagVehicleID, id[:idLen]) &&
		s.Empty()) {
		return false
	}
	vid, err := dkey.NewVehicleID(id[:idLen])
	if err != nil {
		return false
	}
	m.version, m.vehicleID = dkey.Version(v), vid
	return true
}

// auth0Response is the data of the AUTH0 response: 86 41 endpoint_ePK
// [‖ 9D 10 cryptogram].
type auth0Response struct {
	endpointEPK   [pointSize]byte
	cryptogram    [cryptogramSize]byte
	hasCryptogram bool
}

func (m *auth0Response) append(dst []byte) []byte {
	dst = tlv.AppendTLV(dst, tagEndpointEPK, m.endpointEPK[:])
	if m.hasCryptogram {
		dst = tlv.AppendTLV(dst, tagCryptogram, m.cryptogram[:])
	}
	return dst
}

func (m *auth0Response) unmarshal(b []byte) bool {
	s := tlv.String(b)
	if !s.ReadTLVBytes(tagEndpointEPK, m.endpointEPK[:]) {
		return false
	}
	m.hasCryptogram = false
	if !s.Empty() {
		if !s.ReadTLVBytes(tagCryptogram, m.cryptogram[:]) {
			return false
		}
		m.hasCryptogram = true
	}
	return s.Empty()
}

// auth1Response is the plaintext of the AUTH1 response (docs/protocol.md §4.3):
// 4E key_slot ‖ 9E endpoint_sig [‖ 4A confidential subset] [‖ 4B private subset].
// The subsets alias the buffer they were parsed from.
type auth1Response struct {
	slot         dkey.KeySlot
	sig          dkey.Signature
	confidential []byte
	private      []byte
}

func (m *auth1Response) append(dst []byte) []byte {
	dst = append(dst, byte(tagKeySlot), byte(m.slot.Len()))
	dst = m.slot.Append(dst)
	dst = tlv.AppendTLV(dst, tagSignature, m.sig[:])
	if len(m.confidential) > 0 {
		dst = tlv.AppendTLV(dst, tagConfSubset, m.confidential)
	}
	if len(m.private) > 0 {
		dst = tlv.AppendTLV(dst, tagPrivSubset, m.private)
	}
	return dst
}

func (m *auth1Response) unmarshal(b []byte) bool {
	s := tlv.String(b)
	var slot, conf, priv tlv.String
	var hasConf, hasPriv bool
	if !(s.ReadTLV(&slot, tagKeySlot) &&
		s.ReadTLVBytes(tagSignature, m.sig[:]) &&
		s.ReadOptionalTLV(&conf, &hasConf, tagConfSubset) &&
		s.ReadOptionalTLV(&priv, &hasPriv, tagPrivSubset) &&
		s.Empty()) {
		return false
	}
	k, err := dkey.NewKeySlot(slot)
	if err != nil || (hasConf && len(conf) == 0) || (hasPriv && len(priv) == 0) {
		return false
	}
	m.slot, m.confidential, m.private = k, conf, priv
	return true
}

// appendSignedData appends the data that the AUTH1 signatures cover
// (docs/protocol.md §4.3): the BER-TLV encoding of 4D vehicle_identifier ‖
// 86 endpoint_ePK.x ‖ 87 vehicle_ePK.x ‖ 4C transaction_identifier ‖ 93 usage.
func appendSignedData(dst []byte, vid dkey.VehicleID, endpointEPKX, vehicleEPKX []byte, txID *[txIDSize]byte, usage *[4]byte) []byte {
	dst = append(dst, byte(tagVehicleID), byte(vid.Len()))
	dst = vid.Append(dst)
	dst = tlv.AppendTLV(dst, tagEndpointEPK, endpointEPKX)
	dst = tlv.AppendTLV(dst, tagVehicleEPK, vehicleEPKX)
	dst = tlv.AppendTLV(dst, tagTxID, txID[:])
	return tlv.AppendTLV(dst, tagUsage, usage[:])
}
