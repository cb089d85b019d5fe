package mdoc

import (
	"bytes"
	"encoding/binary"
)

// The NFC negotiated handover of the Home Key attestation exchange
// (ISO/IEC 18013-5 §8.2.2.1, NFC Forum Connection Handover 1.5): the reader
// sends a handover request in the first ENVELOPE, the device answers with a
// handover select. Both messages are fixed in shape; the recorded iPhone
// exchange (testdata/README.md) shows them byte for byte:
//
//	request: Hr {1.5, [cr(random), ac(active, "nfc", ["mdocreader"])]}
//	         iso.org:18013:nfc, ID "nfc": 01
//	         iso.org:18013:readerengagement, ID "mdocreader": ReaderEngagement
//	select:  Hs {1.5, [ac(active, "nfc", ["mdoc"])]}
//	         iso.org:18013:nfc, ID "nfc": 01 03 01 <max command> 03 02 <max response>
//	         iso.org:18013:deviceengagement, ID "mdoc": DeviceEngagement
//
// The parsers accept exactly that shape (any collision random number,
// engagements and carrier limits) and nothing else.

// Record types and identifiers of the handover.
const (
	handoverVersion = 0x15 // Connection Handover 1.5

	rtdHandoverRequest     = "Hr"
	rtdHandoverSelect      = "Hs"
	rtdCollisionResolution = "cr"
	rtdAlternativeCarrier  = "ac"

	extNFCCarrier       = "iso.org:18013:nfc"
	extReaderEngagement = "iso.org:18013:readerengagement"
	extDeviceEngagement = "iso.org:18013:deviceengagement"

	idNFCCarrier = "nfc"
	idReader     = "mdocreader"
	idDevice     = "mdoc"

	cpsActive = 0x01 // carrier power state: active

	nfcCarrierVersion  = 0x01
	nfcMaxCommandData  = 0x01 // NFC carrier data element: maximum command data length
	nfcMaxResponseData = 0x02 // maximum response data length
)

// DefaultMaxData is the maximum command and response data length the iPhone
// declares in its handover select, 0x1000 (recorded exchange), and the
// default of [DeviceConfig].
const DefaultMaxData = 0x1000

// HandoverRequest is the reader's NDEF handover request.
type HandoverRequest struct {
	// Random is the collision resolution random number.
	Random uint16
	// Engagement is the ReaderEngagement.
	Engagement *Engagement
}

// HandoverSelect is the device's NDEF handover select.
type HandoverSelect struct {
	// MaxCommandData and MaxResponseData are the NFC carrier's limits on
	// the data field of one command and one response APDU.
	MaxCommandData, MaxResponseData uint16
	// Engagement is the DeviceEngagement.
	Engagement *Engagement
}

// Append appends the NDEF message of h to dst.
func (h *HandoverRequest) Append(dst []byte) ([]byte, error) {
	if h.Engagement == nil {
		return dst, malformed("handover request without an engagement")
	}
	eng, err := h.Engagement.Append(nil)
	if err != nil {
		return dst, err
	}
	var cr [2]byte
	binary.BigEndian.PutUint16(cr[:], h.Random)
	inner, err := AppendNDEF([]byte{handoverVersion}, []Record{
		{TNF: TNFWellKnown, Type: []byte(rtdCollisionResolution), Payload: cr[:]},
		{TNF: TNFWellKnown, Type: []byte(rtdAlternativeCarrier), Payload: appendAC(nil, idReader)},
	})
	if err != nil {
		return dst, err
	}
	return AppendNDEF(dst, []Record{
		{TNF: TNFWellKnown, Type: []byte(rtdHandoverRequest), Payload: inner},
		{TNF: TNFExternal, Type: []byte(extNFCCarrier), ID: []byte(idNFCCarrier), Payload: []byte{nfcCarrierVersion}},
		{TNF: TNFExternal, Type: []byte(extReaderEngagement), ID: []byte(idReader), Payload: eng},
	})
}

// ParseHandoverRequest parses the NDEF message of a handover request.
func ParseHandoverRequest(b []byte) (*HandoverRequest, error) {
	recs, err := ParseNDEF(b)
	if err != nil {
		return nil, err
	}
	if len(recs) != 3 {
		return nil, malformed("handover request of %d records, want 3", len(recs))
	}
	if err := wantRecord(&recs[0], TNFWellKnown, rtdHandoverRequest, ""); err != nil {
		return nil, err
	}
	inner, err := handoverRecords(recs[0].Payload)
	if err != nil {
		return nil, err
	}
	if len(inner) != 2 {
		return nil, malformed("handover request of %d local records, want cr and ac", len(inner))
	}
	if err := wantRecord(&inner[0], TNFWellKnown, rtdCollisionResolution, ""); err != nil {
		return nil, err
	}
	if len(inner[0].Payload) != 2 {
		return nil, malformed("collision resolution record of %d bytes, want 2", len(inner[0].Payload))
	}
	if err := parseAC(&inner[1], idReader); err != nil {
		return nil, err
	}
	if err := wantRecord(&recs[1], TNFExternal, extNFCCarrier, idNFCCarrier); err != nil {
		return nil, err
	}
	if !bytes.Equal(recs[1].Payload, []byte{nfcCarrierVersion}) {
		return nil, malformed("NFC carrier record of the request: % x, want 01", recs[1].Payload)
	}
	if err := wantRecord(&recs[2], TNFExternal, extReaderEngagement, idReader); err != nil {
		return nil, err
	}
	eng, err := ParseEngagement(recs[2].Payload)
	if err != nil {
		return nil, err
	}
	return &HandoverRequest{Random: binary.BigEndian.Uint16(inner[0].Payload), Engagement: eng}, nil
}

// Append appends the NDEF message of h to dst.
func (h *HandoverSelect) Append(dst []byte) ([]byte, error) {
	if h.Engagement == nil {
		return dst, malformed("handover select without an engagement")
	}
	if h.MaxCommandData == 0 || h.MaxResponseData == 0 {
		return dst, malformed("handover select with a zero carrier limit")
	}
	eng, err := h.Engagement.Append(nil)
	if err != nil {
		return dst, err
	}
	inner, err := AppendNDEF([]byte{handoverVersion}, []Record{
		{TNF: TNFWellKnown, Type: []byte(rtdAlternativeCarrier), Payload: appendAC(nil, idDevice)},
	})
	if err != nil {
		return dst, err
	}
	carrier := []byte{nfcCarrierVersion, 3, nfcMaxCommandData, 0, 0, 3, nfcMaxResponseData, 0, 0}
	binary.BigEndian.PutUint16(carrier[3:], h.MaxCommandData)
	binary.BigEndian.PutUint16(carrier[7:], h.MaxResponseData)
	return AppendNDEF(dst, []Record{
		{TNF: TNFWellKnown, Type: []byte(rtdHandoverSelect), Payload: inner},
		{TNF: TNFExternal, Type: []byte(extNFCCarrier), ID: []byte(idNFCCarrier), Payload: carrier},
		{TNF: TNFExternal, Type: []byte(extDeviceEngagement), ID: []byte(idDevice), Payload: eng},
	})
}

// ParseHandoverSelect parses the NDEF message of a handover select.
func ParseHandoverSelect(b []byte) (*HandoverSelect, error) {
	recs, err := ParseNDEF(b)
	if err != nil {
		return nil, err
	}
	if len(recs) != 3 {
		return nil, malformed("handover select of %d records, want 3", len(recs))
	}
	if err := wantRecord(&recs[0], TNFWellKnown, rtdHandoverSelect, ""); err != nil {
		return nil, err
	}
	inner, err := handoverRecords(recs[0].Payload)
	if err != nil {
		return nil, err
	}
	if len(inner) != 1 {
		return nil, malformed("handover select of %d local records, want ac", len(inner))
	}
	if err := parseAC(&inner[0], idDevice); err != nil {
		return nil, err
	}
	if err := wantRecord(&recs[1], TNFExternal, extNFCCarrier, idNFCCarrier); err != nil {
		return nil, err
	}
	p := recs[1].Payload
	if len(p) != 9 || p[0] != nfcCarrierVersion || p[1] != 3 || p[2] != nfcMaxCommandData || p[5] != 3 || p[6] != nfcMaxResponseData {
		return nil, malformed("NFC carrier record of the select: % x", p)
	}
	h := &HandoverSelect{MaxCommandData: binary.BigEndian.Uint16(p[3:]), MaxResponseData: binary.BigEndian.Uint16(p[7:])}
	if h.MaxCommandData == 0 || h.MaxResponseData == 0 {
		return nil, malformed("NFC carrier limit of zero")
	}
	if err := wantRecord(&recs[2], TNFExternal, extDeviceEngagement, idDevice); err != nil {
		return nil, err
	}
	if h.Engagement, err = ParseEngagement(recs[2].Payload); err != nil {
		return nil, err
	}
	return h, nil
}

// handoverRecords parses the payload of an Hr or Hs record: the version 1.5
// and the local NDEF message.
func handoverRecords(p []byte) ([]Record, error) {
	if len(p) < 1 || p[0] != handoverVersion {
		return nil, malformed("connection handover version, want 1.5")
	}
	return ParseNDEF(p[1:])
}

func wantRecord(r *Record, tnf TNF, typ, id string) error {
	if r.TNF != tnf || string(r.Type) != typ || string(r.ID) != id {
		return malformed("NDEF record %s %q ID %q, want %s %q ID %q", r.TNF, r.Type, r.ID, tnf, typ, id)
	}
	return nil
}

// appendAC appends the payload of an alternative carrier record: carrier
// power state active, carrier data reference "nfc", one auxiliary data
// reference aux.
func appendAC(dst []byte, aux string) []byte {
	dst = append(dst, cpsActive, byte(len(idNFCCarrier)))
	dst = append(dst, idNFCCarrier...)
	dst = append(dst, 1, byte(len(aux)))
	return append(dst, aux...)
}

func parseAC(r *Record, aux string) error {
	if err := wantRecord(r, TNFWellKnown, rtdAlternativeCarrier, ""); err != nil {
		return err
	}
	if !bytes.Equal(r.Payload, appendAC(nil, aux)) {
		return malformed("alternative carrier record % x, want active carrier \"nfc\" with auxiliary %q", r.Payload, aux)
	}
	return nil
}
