package mdoc

import (
	"errors"
	"slices"
)

// Status values of a DeviceResponse (ISO/IEC 18013-5 §8.3.2.1.2.3).
const (
	ResponseOK              = 0  // normal processing
	ResponseGeneralError    = 10 // general error
	ResponseDecodingError   = 11 // CBOR decoding error
	ResponseValidationError = 12 // CBOR validation error
)

// DeviceResponse is the device's answer (ISO/IEC 18013-5 §8.3.2.1.2.2):
// the documents it returns and a status. documentErrors and deviceSigned
// are not part of either dialect's exchange and are rejected.
type DeviceResponse struct {
	Version   string
	Documents []*Document
	Status    uint64
}

// ParseDeviceResponse parses a DeviceResponse in dialect d.
func ParseDeviceResponse(d Dialect, b []byte) (*DeviceResponse, error) {
	if !d.Valid() {
		return nil, malformed("dialect %v", d)
	}
	if len(b) > MaxMessage {
		return nil, malformed("DeviceResponse of %d bytes, more than %d", len(b), MaxMessage)
	}
	b = slices.Clone(b)
	dec := decoder{s: b}
	names := d.names(&keysDeviceResponse)
	n := dec.mapLen("DeviceResponse", len(names))
	var seen fieldSet
	r := &DeviceResponse{}
	for i := 0; i < n && dec.ok(); i++ {
		switch dec.field("DeviceResponse", names, &seen) {
		case 0:
			r.Version = dec.text("DeviceResponse version", MaxText)
		case 1:
			m := dec.array("documents", MaxDocuments)
			if dec.ok() && m == 0 {
				dec.fail("documents empty")
			}
			for j := 0; j < m && dec.ok(); j++ {
				if doc := parseDocument(&dec, d); doc != nil {
					r.Documents = append(r.Documents, doc)
				}
			}
		case 2:
			r.Status = dec.uint("DeviceResponse status")
		}
	}
	dec.require("DeviceResponse", names, seen, 1<<0|1<<2)
	if err := dec.done(); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *DeviceResponse) check() error {
	switch {
	case r.Version != DeviceResponseVersion:
		return malformed("DeviceResponse version %q, want %q", r.Version, DeviceResponseVersion)
	case r.Status != ResponseOK && r.Status != ResponseGeneralError && r.Status != ResponseDecodingError && r.Status != ResponseValidationError:
		return malformed("DeviceResponse status %d", r.Status)
	case len(r.Documents) > MaxDocuments:
		return malformed("%d documents, more than %d", len(r.Documents), MaxDocuments)
	}
	return nil
}

// Append appends the deterministic encoding of r in dialect d to dst. Every
// document must be of dialect d.
func (r *DeviceResponse) Append(dst []byte, d Dialect) ([]byte, error) {
	if !d.Valid() {
		return dst, malformed("dialect %v", d)
	}
	if err := r.check(); err != nil {
		return dst, err
	}
	names := d.names(&keysDeviceResponse)
	var w mapWriter
	w.textKey(names[0])
	w.buf = appendTstr(w.buf, r.Version)
	if len(r.Documents) > 0 {
		w.textKey(names[1])
		w.buf = appendHead(w.buf, majorArray, uint64(len(r.Documents)))
		for _, doc := range r.Documents {
			if doc == nil || doc.dialect != d {
				return dst, malformed("document of another dialect in a %v response", d)
			}
			w.buf = doc.append(w.buf)
		}
	}
	w.textKey(names[2])
	w.buf = appendUint(w.buf, r.Status)
	out := w.appendTo(dst)
	if len(out)-len(dst) > MaxMessage {
		return dst, malformed("DeviceResponse of %d bytes, more than %d", len(out)-len(dst), MaxMessage)
	}
	return out, nil
}

// Verify verifies every document of r with opts (see [Document.Verify]).
// It fails with ErrNoDocument when r holds none, and otherwise with the
// errors of the documents that fail, joined.
func (r *DeviceResponse) Verify(opts *VerifyOptions) ([]*Verified, error) {
	if len(r.Documents) == 0 {
		return nil, ErrNoDocument
	}
	out := make([]*Verified, 0, len(r.Documents))
	var errs []error
	for _, doc := range r.Documents {
		v, err := doc.Verify(opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
