package mdoc

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/opencarkey/sdk/internal/gcmchannel"
)

// DeviceRequestVersion and DeviceResponseVersion are the only versions of
// the request and the response (ISO/IEC 18013-5 §8.3.2.1.2).
const (
	DeviceRequestVersion  = "1.0"
	DeviceResponseVersion = "1.0"
)

// SessionStatus is the status of a SessionData (ISO/IEC 18013-5 §9.1.1.4,
// Table 20).
type SessionStatus uint64

// Session statuses.
const (
	StatusEncryptionError SessionStatus = 10 // session encryption error; the session ends
	StatusDecodingError   SessionStatus = 11 // CBOR decoding error; the session ends
	StatusTermination     SessionStatus = 20 // session termination
)

func (s SessionStatus) valid() bool {
	return s == StatusEncryptionError || s == StatusDecodingError || s == StatusTermination
}

// String returns the status name.
func (s SessionStatus) String() string {
	switch s {
	case StatusEncryptionError:
		return "session encryption error"
	case StatusDecodingError:
		return "CBOR decoding error"
	case StatusTermination:
		return "session termination"
	}
	return "SessionStatus(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// SessionData is the message of an established session (ISO/IEC 18013-5
// §9.1.1.4): an encrypted message, a status, or both. A nil Data means no
// data; a zero Status means no status.
type SessionData struct {
	Data   []byte
	Status SessionStatus
}

// maxSessionData bounds the data of a SessionData: a MaxMessage plaintext
// and its tag.
const maxSessionData = MaxMessage + gcmchannel.TagSize

// ParseSessionData parses a SessionData.
func ParseSessionData(b []byte) (*SessionData, error) {
	d := decoder{s: b}
	n := d.mapLen("SessionData", 2)
	var seen fieldSet
	s := &SessionData{}
	for i := 0; i < n && d.ok(); i++ {
		switch d.field("SessionData", keysSessionData, &seen) {
		case 0:
			s.Data = d.bytes("SessionData data", maxSessionData)
			if s.Data == nil {
				s.Data = []byte{}
			}
		case 1:
			st := SessionStatus(d.uint("SessionData status"))
			if d.ok() && !st.valid() {
				d.fail("SessionData status %d", st)
			}
			s.Status = st
		}
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	if seen == 0 {
		return nil, malformed("SessionData with neither data nor status")
	}
	s.Data = slices.Clone(s.Data)
	return s, nil
}

// Append appends the encoding of s to dst.
func (s *SessionData) Append(dst []byte) ([]byte, error) {
	switch {
	case s.Data == nil && s.Status == 0:
		return dst, malformed("SessionData with neither data nor status")
	case s.Status != 0 && !s.Status.valid():
		return dst, malformed("SessionData status %d", s.Status)
	case len(s.Data) > maxSessionData:
		return dst, malformed("SessionData of %d bytes, more than %d", len(s.Data), maxSessionData)
	}
	n := uint64(0)
	if s.Data != nil {
		n++
	}
	if s.Status != 0 {
		n++
	}
	// "data" sorts before "status": shorter key first.
	dst = appendHead(dst, majorMap, n)
	if s.Data != nil {
		dst = appendBstr(appendTstr(dst, keysSessionData[0]), s.Data)
	}
	if s.Status != 0 {
		dst = appendUint(appendTstr(dst, keysSessionData[1]), uint64(s.Status))
	}
	return dst, nil
}

// DeviceRequest is the reader's request for documents (ISO/IEC 18013-5
// §8.3.2.1.2.1), without reader authentication, which neither dialect uses.
type DeviceRequest struct {
	Version     string
	DocRequests []DocRequest
}

// DocRequest asks for one document: its type and, per name space, the data
// elements wanted (the ItemsRequest of ISO/IEC 18013-5).
type DocRequest struct {
	DocType    string
	NameSpaces []RequestedNameSpace
}

// RequestedNameSpace lists the elements requested in one name space.
type RequestedNameSpace struct {
	Name     string
	Elements []RequestedElement
}

// RequestedElement is one requested data element and whether the reader
// intends to retain it.
type RequestedElement struct {
	Identifier     string
	IntentToRetain bool
}

// ParseDeviceRequest parses a DeviceRequest in dialect d. Name spaces and
// elements come out in the deterministic order of their keys.
func ParseDeviceRequest(d Dialect, b []byte) (*DeviceRequest, error) {
	if !d.Valid() {
		return nil, malformed("dialect %v", d)
	}
	if len(b) > MaxMessage {
		return nil, malformed("DeviceRequest of %d bytes, more than %d", len(b), MaxMessage)
	}
	dec := decoder{s: b}
	names := d.names(&keysDeviceRequest)
	n := dec.mapLen("DeviceRequest", len(names))
	var seen fieldSet
	r := &DeviceRequest{}
	for i := 0; i < n && dec.ok(); i++ {
		switch dec.field("DeviceRequest", names, &seen) {
		case 0:
			r.Version = dec.text("DeviceRequest version", MaxText)
		case 1:
			m := dec.array("docRequests", MaxDocuments)
			for j := 0; j < m && dec.ok(); j++ {
				r.DocRequests = append(r.DocRequests, parseDocRequest(&dec, d))
			}
		}
	}
	dec.require("DeviceRequest", names, seen, all(2))
	if err := dec.done(); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

func parseDocRequest(dec *decoder, d Dialect) DocRequest {
	names := d.names(&keysDocRequest)
	var seen fieldSet
	var dr DocRequest
	n := dec.mapLen("DocRequest", len(names))
	for i := 0; i < n && dec.ok(); i++ {
		if dec.field("DocRequest", names, &seen) == 0 {
			inner, _ := dec.encoded("ItemsRequestBytes", MaxMessage)
			if dec.ok() {
				sub := decoder{s: inner}
				dr = parseItemsRequest(&sub, d)
				if err := sub.done(); err != nil {
					dec.err = err
				}
			}
		}
	}
	dec.require("DocRequest", names, seen, all(1))
	return dr
}

func parseItemsRequest(dec *decoder, d Dialect) DocRequest {
	names := d.names(&keysItemsRequest)
	var seen fieldSet
	var dr DocRequest
	n := dec.mapLen("ItemsRequest", len(names))
	for i := 0; i < n && dec.ok(); i++ {
		switch dec.field("ItemsRequest", names, &seen) {
		case 0:
			dr.DocType = dec.text("docType", MaxText)
		case 1:
			m := dec.mapLen("nameSpaces", MaxNameSpaces)
			for j := 0; j < m && dec.ok(); j++ {
				ns := RequestedNameSpace{Name: dec.text("name space", MaxText)}
				k := dec.mapLen("DataElements", MaxElements)
				for e := 0; e < k && dec.ok(); e++ {
					id := dec.text("element identifier", MaxText)
					ns.Elements = append(ns.Elements, RequestedElement{Identifier: id, IntentToRetain: dec.bool("IntentToRetain")})
				}
				dr.NameSpaces = append(dr.NameSpaces, ns)
			}
		}
	}
	dec.require("ItemsRequest", names, seen, all(2))
	return dr
}

// textOrder is the deterministic order of text keys: shorter first, then
// bytewise (RFC 8949 §4.2.1 for keys whose heads encode their length).
func textOrder(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// check validates r and sorts its name spaces and elements.
func (r *DeviceRequest) check() error {
	switch {
	case r.Version != DeviceRequestVersion:
		return malformed("DeviceRequest version %q, want %q", r.Version, DeviceRequestVersion)
	case len(r.DocRequests) == 0 || len(r.DocRequests) > MaxDocuments:
		return malformed("DeviceRequest of %d document requests, want 1 to %d", len(r.DocRequests), MaxDocuments)
	}
	for i := range r.DocRequests {
		if err := r.DocRequests[i].check(); err != nil {
			return err
		}
	}
	return nil
}

func (dr *DocRequest) check() error {
	if err := checkText("docType", dr.DocType); err != nil {
		return err
	}
	if len(dr.NameSpaces) == 0 || len(dr.NameSpaces) > MaxNameSpaces {
		return malformed("request for %q with %d name spaces, want 1 to %d", dr.DocType, len(dr.NameSpaces), MaxNameSpaces)
	}
	slices.SortFunc(dr.NameSpaces, func(a, b RequestedNameSpace) int { return textOrder(a.Name, b.Name) })
	for i := range dr.NameSpaces {
		ns := &dr.NameSpaces[i]
		if err := checkText("name space", ns.Name); err != nil {
			return err
		}
		if i > 0 && dr.NameSpaces[i-1].Name == ns.Name {
			return malformed("duplicate name space %q", ns.Name)
		}
		if len(ns.Elements) == 0 || len(ns.Elements) > MaxElements {
			return malformed("name space %q with %d elements, want 1 to %d", ns.Name, len(ns.Elements), MaxElements)
		}
		slices.SortFunc(ns.Elements, func(a, b RequestedElement) int { return textOrder(a.Identifier, b.Identifier) })
		for j := range ns.Elements {
			if err := checkText("element identifier", ns.Elements[j].Identifier); err != nil {
				return err
			}
			if j > 0 && ns.Elements[j-1].Identifier == ns.Elements[j].Identifier {
				return malformed("duplicate element %q", ns.Elements[j].Identifier)
			}
		}
	}
	return nil
}

// checkText checks a name: not empty, at most MaxText bytes.
func checkText(what, s string) error {
	if s == "" || len(s) > MaxText {
		return malformed("%s of %d bytes, want 1 to %d", what, len(s), MaxText)
	}
	return nil
}

// Append appends the deterministic encoding of r in dialect d to dst. It
// sorts r's name spaces and elements.
func (r *DeviceRequest) Append(dst []byte, d Dialect) ([]byte, error) {
	if !d.Valid() {
		return dst, malformed("dialect %v", d)
	}
	if err := r.check(); err != nil {
		return dst, err
	}
	names := d.names(&keysDeviceRequest)
	var w mapWriter
	w.textKey(names[0])
	w.buf = appendTstr(w.buf, r.Version)
	w.textKey(names[1])
	w.buf = appendHead(w.buf, majorArray, uint64(len(r.DocRequests)))
	for i := range r.DocRequests {
		w.buf = r.DocRequests[i].append(w.buf, d)
	}
	out := w.appendTo(dst)
	if len(out)-len(dst) > MaxMessage {
		return dst, malformed("DeviceRequest of %d bytes, more than %d", len(out)-len(dst), MaxMessage)
	}
	return out, nil
}

// append appends {itemsRequest: #6.24(bstr ItemsRequest)}; dr is checked.
func (dr *DocRequest) append(dst []byte, d Dialect) []byte {
	items := d.names(&keysItemsRequest)
	var w mapWriter
	w.textKey(items[0])
	w.buf = appendTstr(w.buf, dr.DocType)
	w.textKey(items[1])
	w.buf = appendHead(w.buf, majorMap, uint64(len(dr.NameSpaces)))
	for _, ns := range dr.NameSpaces { // sorted by check
		w.buf = appendTstr(w.buf, ns.Name)
		w.buf = appendHead(w.buf, majorMap, uint64(len(ns.Elements)))
		for _, e := range ns.Elements {
			w.buf = appendBool(appendTstr(w.buf, e.Identifier), e.IntentToRetain)
		}
	}
	inner := w.appendTo(nil)
	dst = appendHead(dst, majorMap, 1)
	dst = appendTstr(dst, d.names(&keysDocRequest)[0])
	return appendEncoded(dst, inner)
}
