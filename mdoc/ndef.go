package mdoc

import (
	"encoding/binary"
	"math"
	"strconv"
)

// TNF is the type name format of an NDEF record (NFC Forum NDEF 1.0 §3.2.6).
type TNF uint8

// Type name formats. 6 (unchanged) only appears in chunked records, which
// the package does not accept, and 7 is reserved.
const (
	TNFEmpty     TNF = 0 // no type, no ID, no payload
	TNFWellKnown TNF = 1 // NFC Forum well-known type (RTD), e.g. "Hr", "Hs", "ac", "cr"
	TNFMedia     TNF = 2 // RFC 2046 media type
	TNFURI       TNF = 3 // absolute URI
	TNFExternal  TNF = 4 // NFC Forum external type, e.g. "iso.org:18013:nfc"
	TNFUnknown   TNF = 5 // unknown payload type, no type field
)

// String returns the name of the format.
func (t TNF) String() string {
	switch t {
	case TNFEmpty:
		return "empty"
	case TNFWellKnown:
		return "well-known"
	case TNFMedia:
		return "media"
	case TNFURI:
		return "URI"
	case TNFExternal:
		return "external"
	case TNFUnknown:
		return "unknown"
	}
	return "TNF(" + strconv.Itoa(int(t)) + ")"
}

// Record is one NDEF record.
type Record struct {
	TNF     TNF
	Type    []byte
	ID      []byte
	Payload []byte
}

// Bits of the record header byte.
const (
	ndefMB = 0x80 // message begin
	ndefME = 0x40 // message end
	ndefCF = 0x20 // chunk flag
	ndefSR = 0x10 // short record: one-byte payload length
	ndefIL = 0x08 // ID length present
)

// ParseNDEF parses an NDEF message (NFC Forum NDEF 1.0 §3) in its canonical
// form, the one the public Home Key reader re-encodes to build the session
// transcript: MB on the first record only, ME on the last only, SR exactly
// when the payload is shorter than 256 bytes, IL exactly when the ID is not
// empty. It rejects chunked records, the unchanged and reserved formats,
// records whose format forbids their fields, more than MaxNDEFRecords
// records and messages over MaxNDEFMessage bytes. The records alias a copy
// of b.
func ParseNDEF(b []byte) ([]Record, error) {
	if len(b) > MaxNDEFMessage {
		return nil, malformed("NDEF message of %d bytes, more than %d", len(b), MaxNDEFMessage)
	}
	if len(b) == 0 {
		return nil, malformed("empty NDEF message")
	}
	s := append([]byte(nil), b...)
	var recs []Record
	for i := 0; len(s) > 0; i++ {
		if i == MaxNDEFRecords {
			return nil, malformed("NDEF message of more than %d records", MaxNDEFRecords)
		}
		r, rest, err := parseRecord(s, i)
		if err != nil {
			return nil, err
		}
		if last := len(rest) == 0; (s[0]&ndefME != 0) != last {
			return nil, malformed("NDEF record %d: ME flag %t, last record %t", i, s[0]&ndefME != 0, last)
		}
		recs = append(recs, r)
		s = rest
	}
	return recs, nil
}

func parseRecord(s []byte, i int) (Record, []byte, error) {
	if len(s) < 3 {
		return Record{}, nil, malformed("truncated NDEF record")
	}
	h, typeLen := s[0], int(s[1])
	s = s[2:]
	var r Record
	r.TNF = TNF(h & 0x07)
	switch {
	case (h&ndefMB != 0) != (i == 0):
		return r, nil, malformed("NDEF record %d: MB flag %t", i, h&ndefMB != 0)
	case h&ndefCF != 0:
		return r, nil, malformed("chunked NDEF record")
	case r.TNF > TNFUnknown:
		return r, nil, malformed("NDEF type name format %d", r.TNF)
	}
	var payloadLen uint32
	if h&ndefSR != 0 {
		payloadLen = uint32(s[0])
		s = s[1:]
	} else {
		if len(s) < 4 {
			return r, nil, malformed("truncated NDEF record")
		}
		payloadLen = binary.BigEndian.Uint32(s)
		s = s[4:]
		if payloadLen <= math.MaxUint8 {
			return r, nil, malformed("NDEF payload of %d bytes in a long record", payloadLen)
		}
	}
	idLen := 0
	if h&ndefIL != 0 {
		if len(s) < 1 {
			return r, nil, malformed("truncated NDEF record")
		}
		idLen = int(s[0])
		s = s[1:]
		if idLen == 0 {
			return r, nil, malformed("NDEF IL flag with an empty ID")
		}
	}
	if uint64(typeLen)+uint64(idLen)+uint64(payloadLen) > uint64(len(s)) {
		return r, nil, malformed("truncated NDEF record")
	}
	r.Type, s = s[:typeLen:typeLen], s[typeLen:]
	r.ID, s = s[:idLen:idLen], s[idLen:]
	r.Payload, s = s[:payloadLen:payloadLen], s[payloadLen:]
	if err := r.check(); err != nil {
		return r, nil, err
	}
	return r, s, nil
}

// check enforces what the type name format says of the fields (NDEF 1.0
// §3.3.2): an empty record has nothing, an unknown one no type, the others
// a type.
func (r *Record) check() error {
	switch {
	case r.TNF > TNFUnknown:
		return malformed("NDEF type name format %d", r.TNF)
	case r.TNF == TNFEmpty && (len(r.Type) != 0 || len(r.ID) != 0 || len(r.Payload) != 0):
		return malformed("empty NDEF record with content")
	case r.TNF == TNFUnknown && len(r.Type) != 0:
		return malformed("NDEF record of unknown format with a type")
	case r.TNF != TNFEmpty && r.TNF != TNFUnknown && len(r.Type) == 0:
		return malformed("%s NDEF record without a type", r.TNF)
	case len(r.Type) > math.MaxUint8 || len(r.ID) > math.MaxUint8:
		return malformed("NDEF type or ID longer than 255 bytes")
	}
	return nil
}

// AppendNDEF appends the canonical encoding of the message made of recs
// (see [ParseNDEF]) to dst.
func AppendNDEF(dst []byte, recs []Record) ([]byte, error) {
	switch {
	case len(recs) == 0:
		return dst, malformed("empty NDEF message")
	case len(recs) > MaxNDEFRecords:
		return dst, malformed("NDEF message of more than %d records", MaxNDEFRecords)
	}
	start := len(dst)
	for i := range recs {
		r := &recs[i]
		if err := r.check(); err != nil {
			return dst[:start], err
		}
		h := byte(r.TNF)
		if i == 0 {
			h |= ndefMB
		}
		if i == len(recs)-1 {
			h |= ndefME
		}
		short := len(r.Payload) <= math.MaxUint8
		if short {
			h |= ndefSR
		}
		if len(r.ID) > 0 {
			h |= ndefIL
		}
		dst = append(dst, h, byte(len(r.Type)))
		if short {
			dst = append(dst, byte(len(r.Payload)))
		} else {
			if uint64(len(r.Payload)) > math.MaxUint32 {
				return dst[:start], malformed("NDEF payload too long")
			}
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Payload)))
		}
		if len(r.ID) > 0 {
			dst = append(dst, byte(len(r.ID)))
		}
		dst = append(dst, r.Type...)
		dst = append(dst, r.ID...)
		dst = append(dst, r.Payload...)
	}
	if len(dst)-start > MaxNDEFMessage {
		return dst[:start], malformed("NDEF message of %d bytes, more than %d", len(dst)-start, MaxNDEFMessage)
	}
	return dst, nil
}
