package mdoc

import (
	"bytes"
	"slices"
)

// provisionedVersion is the version of the Provisioned record encoding.
const provisionedVersion = 1

// Provisioned is a document as the device applet stores it: the
// issuer-signed document and the reader group it answers. In Home Key the
// owner's device provisions one attestation per home (its 8-byte reader
// group identifier, the first half of AUTH0 tag 4D); in Aliro one access
// document, and possibly a revocation document, per 16-byte reader group.
type Provisioned struct {
	ReaderGroup []byte
	Document    *Document
}

// NewProvisioned returns the record of doc for readerGroup, which must have
// the length of doc's dialect: 8 bytes in Home Key, 16 in Aliro.
func NewProvisioned(readerGroup []byte, doc *Document) (*Provisioned, error) {
	if doc == nil {
		return nil, malformed("provisioned record without a document")
	}
	if len(readerGroup) != doc.dialect.readerGroupLen() {
		return nil, malformed("%v reader group of %d bytes, want %d", doc.dialect, len(readerGroup), doc.dialect.readerGroupLen())
	}
	return &Provisioned{ReaderGroup: slices.Clone(readerGroup), Document: doc}, nil
}

// MarshalBinary encodes the record, versioned:
//
//	[1, dialect, readerGroup: bstr, document: Document]
func (p *Provisioned) MarshalBinary() ([]byte, error) {
	if p.Document == nil || len(p.ReaderGroup) != p.Document.dialect.readerGroupLen() {
		return nil, malformed("incomplete provisioned record")
	}
	out := appendHead(nil, majorArray, 4)
	out = appendUint(out, provisionedVersion)
	out = appendUint(out, uint64(p.Document.dialect))
	out = appendBstr(out, p.ReaderGroup)
	return p.Document.append(out), nil
}

// ParseProvisioned decodes a record that MarshalBinary encoded. It rejects
// any other version.
func ParseProvisioned(b []byte) (*Provisioned, error) {
	if len(b) > MaxMessage+64 {
		return nil, malformed("provisioned record of %d bytes", len(b))
	}
	b = slices.Clone(b)
	dec := decoder{s: b}
	if dec.array("provisioned record", 4) != 4 && dec.ok() {
		dec.fail("provisioned record: want 4 elements")
	}
	if v := dec.uint("record version"); dec.ok() && v != provisionedVersion {
		dec.fail("provisioned record version %d, want %d", v, provisionedVersion)
	}
	d := Dialect(dec.uint("dialect"))
	if dec.ok() && !d.Valid() {
		dec.fail("dialect %d", d)
	}
	group := dec.bytes("reader group", 16)
	var doc *Document
	if dec.ok() {
		doc = parseDocument(&dec, d)
	}
	if err := dec.done(); err != nil {
		return nil, err
	}
	p, err := NewProvisioned(group, doc)
	if err != nil {
		return nil, err
	}
	if again, _ := p.MarshalBinary(); !bytes.Equal(again, b) {
		return nil, malformed("provisioned record not in its deterministic encoding")
	}
	return p, nil
}
