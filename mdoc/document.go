package mdoc

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// Fixed values of the mobile security object (ISO/IEC 18013-5 §9.1.2.4).
const (
	msoVersion      = "1.0"
	digestAlgorithm = "SHA-256"
)

// Document is one issuer-signed document as a DeviceResponse carries it
// (ISO/IEC 18013-5 §8.3.2.1.2.2): its type and its IssuerSigned, the data
// elements the issuer signed and the issuerAuth (a COSE_Sign1 over the
// mobile security object, which binds the device key, the validity window
// and a digest of every element). Neither dialect sends deviceSigned: the
// Home Key document is a static file the phone stores (I+ [AHK] README,
// "Configuration applet"), and the device proves its key in the
// transaction's AUTH1 instead.
//
// A Document keeps the bytes it was parsed from (the IssuerSignedItemBytes
// that the digests cover, the signed payload) and re-encodes with them. It
// is immutable; what it says is trusted only after [Document.Verify].
type Document struct {
	dialect    Dialect
	docType    string
	nameSpaces []issuerNameSpace
	auth       issuerAuth
	mso        mso
}

type issuerNameSpace struct {
	name  string
	items []issuerItem
}

// issuerItem is an IssuerSignedItem and the IssuerSignedItemBytes it was
// read from.
type issuerItem struct {
	digestID  uint64
	random    []byte
	elementID string
	value     []byte // one encoded data item
	raw       []byte // #6.24(bstr .cbor IssuerSignedItem), what the digest covers
}

// mso is the content of a mobile security object.
type mso struct {
	docType       string
	digests       []msoNameSpace
	deviceKey     *dkey.PublicKey
	signed        time.Time
	validFrom     time.Time
	validUntil    time.Time
	expected      time.Time // zero when absent
	timeVerifyReq int8      // Aliro timeVerificationRequired: -1 absent, 0 false, 1 true
}

type msoNameSpace struct {
	name    string
	digests []msoDigest // ascending digest IDs
}

type msoDigest struct {
	id     uint64
	digest [sha256.Size]byte
}

// Dialect returns the dialect the document was parsed or issued in.
func (doc *Document) Dialect() Dialect { return doc.dialect }

// DocType returns the document type.
func (doc *Document) DocType() string { return doc.docType }

// IssuerID returns the kid of the issuerAuth: which issuer key the document
// claims to be signed by.
func (doc *Document) IssuerID() IssuerID { return doc.auth.kid }

// DeviceKey returns the device key the mobile security object names. It is
// not verified: use [Document.Verify] before trusting it.
func (doc *Document) DeviceKey() *dkey.PublicKey { return doc.mso.deviceKey }

// ValidityInfo returns the validity information the mobile security object
// names: when it was signed and the window of its validity. It is not
// verified: use [Document.Verify] before trusting it. A device uses the
// signed time as its document's timestamp (Aliro's
// credential_signed_timestamp and revocation_signed_timestamp).
func (doc *Document) ValidityInfo() (signed, validFrom, validUntil time.Time) {
	return doc.mso.signed, doc.mso.validFrom, doc.mso.validUntil
}

// ParseDocument parses a Document in dialect d: the map {docType,
// issuerSigned} of a DeviceResponse's documents array.
func ParseDocument(d Dialect, b []byte) (*Document, error) {
	if !d.Valid() {
		return nil, malformed("dialect %v", d)
	}
	if len(b) > MaxMessage {
		return nil, malformed("document of %d bytes, more than %d", len(b), MaxMessage)
	}
	b = slices.Clone(b)
	dec := decoder{s: b}
	doc := parseDocument(&dec, d)
	if err := dec.done(); err != nil {
		return nil, err
	}
	return doc, nil
}

// parseDocument reads a Document from dec, whose input the caller owns.
func parseDocument(dec *decoder, d Dialect) *Document {
	doc := &Document{dialect: d}
	names := d.names(&keysDocument)
	var seen fieldSet
	n := dec.mapLen("Document", len(names))
	for i := 0; i < n && dec.ok(); i++ {
		switch dec.field("Document", names, &seen) {
		case 0:
			doc.docType = dec.text("docType", MaxText)
		case 1:
			doc.parseIssuerSigned(dec)
		}
	}
	dec.require("Document", names, seen, all(2))
	if dec.ok() {
		if err := checkText("docType", doc.docType); err != nil {
			dec.err = err
		}
	}
	if !dec.ok() {
		return nil
	}
	return doc
}

func (doc *Document) parseIssuerSigned(dec *decoder) {
	d := doc.dialect
	names := d.names(&keysIssuerSigned)
	var seen fieldSet
	n := dec.mapLen("IssuerSigned", len(names))
	for i := 0; i < n && dec.ok(); i++ {
		switch dec.field("IssuerSigned", names, &seen) {
		case 0:
			m := dec.mapLen("IssuerNameSpaces", MaxNameSpaces)
			if dec.ok() && m == 0 {
				dec.fail("IssuerNameSpaces empty")
			}
			for j := 0; j < m && dec.ok(); j++ {
				ns := issuerNameSpace{name: dec.text("name space", MaxText)}
				if dec.ok() {
					if err := checkText("name space", ns.name); err != nil {
						dec.err = err
					}
				}
				for _, prev := range doc.nameSpaces {
					if prev.name == ns.name {
						dec.fail("IssuerNameSpaces: duplicate %q", ns.name)
					}
				}
				k := dec.array("IssuerSignedItems", MaxElements)
				if dec.ok() && k == 0 {
					dec.fail("name space %q without elements", ns.name)
				}
				for e := 0; e < k && dec.ok(); e++ {
					it := parseItem(dec, d)
					for _, prev := range ns.items {
						if prev.digestID == it.digestID || prev.elementID == it.elementID {
							dec.fail("name space %q: duplicate digest ID or element", ns.name)
						}
					}
					ns.items = append(ns.items, it)
				}
				doc.nameSpaces = append(doc.nameSpaces, ns)
			}
		case 1:
			doc.auth = parseIssuerAuth(dec, d)
			if dec.ok() {
				inner, whole := (&decoder{s: doc.auth.payload}).encodedAll("MobileSecurityObjectBytes")
				if whole == nil {
					dec.fail("issuerAuth payload is not MobileSecurityObjectBytes")
					return
				}
				sub := decoder{s: inner}
				doc.mso = parseMSO(&sub, d)
				if err := sub.done(); err != nil {
					dec.err = err
				}
			}
		}
	}
	dec.require("IssuerSigned", names, seen, all(2))
}

// encodedAll reads #6.24(bstr) that must fill the whole input.
func (d *decoder) encodedAll(what string) (inner, whole []byte) {
	inner, whole = d.encoded(what, MaxMessage)
	if d.done() != nil {
		return nil, nil
	}
	return inner, whole
}

func parseItem(dec *decoder, d Dialect) issuerItem {
	var it issuerItem
	inner, whole := dec.encoded("IssuerSignedItemBytes", MaxMessage)
	if !dec.ok() {
		return it
	}
	it.raw = whole
	sub := decoder{s: inner}
	names := d.names(&keysIssuerSignedItem)
	var seen fieldSet
	n := sub.mapLen("IssuerSignedItem", len(names))
	for i := 0; i < n && sub.ok(); i++ {
		switch sub.field("IssuerSignedItem", names, &seen) {
		case 0:
			it.digestID = sub.uint("digestID")
		case 1:
			it.random = sub.bytes("random", MaxRandom)
			if sub.ok() && len(it.random) < MinRandom {
				sub.fail("random of %d bytes, want at least %d", len(it.random), MinRandom)
			}
		case 2:
			it.elementID = sub.text("elementIdentifier", MaxText)
			if sub.ok() {
				if err := checkText("elementIdentifier", it.elementID); err != nil {
					sub.err = err
				}
			}
		case 3:
			it.value = sub.raw("elementValue", MaxDepth)
			if sub.ok() && len(it.value) > MaxElementValue {
				sub.fail("elementValue of %d bytes, more than %d", len(it.value), MaxElementValue)
			}
		}
	}
	sub.require("IssuerSignedItem", names, seen, all(4))
	if err := sub.done(); err != nil {
		dec.err = err
	}
	return it
}

func parseMSO(dec *decoder, d Dialect) mso {
	m := mso{timeVerifyReq: -1}
	names := d.names(&keysMSO)
	var seen fieldSet
	n := dec.mapLen("MobileSecurityObject", len(names))
	for i := 0; i < n && dec.ok(); i++ {
		switch dec.field("MobileSecurityObject", names, &seen) {
		case 0:
			if v := dec.text("MSO version", MaxText); dec.ok() && v != msoVersion {
				dec.fail("MSO version %q, want %q", v, msoVersion)
			}
		case 1:
			if v := dec.text("digestAlgorithm", MaxText); dec.ok() && v != digestAlgorithm {
				dec.fail("digestAlgorithm %q, want %q", v, digestAlgorithm)
			}
		case 2:
			k := dec.mapLen("valueDigests", MaxNameSpaces)
			if dec.ok() && k == 0 {
				dec.fail("valueDigests empty")
			}
			for j := 0; j < k && dec.ok(); j++ {
				ns := msoNameSpace{name: dec.text("name space", MaxText)}
				for _, prev := range m.digests {
					if prev.name == ns.name {
						dec.fail("valueDigests: duplicate %q", ns.name)
					}
				}
				e := dec.mapLen("DigestIDs", MaxElements)
				if dec.ok() && e == 0 {
					dec.fail("valueDigests %q empty", ns.name)
				}
				for x := 0; x < e && dec.ok(); x++ {
					id := dec.uint("DigestID")
					dg := dec.bytes("Digest", sha256.Size)
					if dec.ok() && len(dg) != sha256.Size {
						dec.fail("digest of %d bytes, want %d", len(dg), sha256.Size)
					}
					if !dec.ok() {
						break
					}
					ns.digests = append(ns.digests, msoDigest{id: id, digest: [sha256.Size]byte(dg)})
				}
				slices.SortFunc(ns.digests, func(a, b msoDigest) int { return cmp.Compare(a.id, b.id) })
				for x := 1; x < len(ns.digests) && dec.ok(); x++ {
					if ns.digests[x].id == ns.digests[x-1].id {
						dec.fail("valueDigests %q: duplicate digest ID %d", ns.name, ns.digests[x].id)
					}
				}
				m.digests = append(m.digests, ns)
			}
		case 3:
			ki := d.names(&keysDeviceKeyInfo)
			var kseen fieldSet
			k := dec.mapLen("DeviceKeyInfo", len(ki))
			for j := 0; j < k && dec.ok(); j++ {
				if dec.field("DeviceKeyInfo", ki, &kseen) == 0 {
					m.deviceKey = parseCOSEKey(dec)
				}
			}
			dec.require("DeviceKeyInfo", ki, kseen, all(1))
		case 4:
			m.docType = dec.text("MSO docType", MaxText)
		case 5:
			vi := d.names(&keysValidityInfo)
			var vseen fieldSet
			k := dec.mapLen("ValidityInfo", len(vi))
			for j := 0; j < k && dec.ok(); j++ {
				switch dec.field("ValidityInfo", vi, &vseen) {
				case 0:
					m.signed = dec.tdate("signed")
				case 1:
					m.validFrom = dec.tdate("validFrom")
				case 2:
					m.validUntil = dec.tdate("validUntil")
				case 3:
					m.expected = dec.tdate("expectedUpdate")
				}
			}
			dec.require("ValidityInfo", vi, vseen, all(3))
			if dec.ok() && m.validUntil.Before(m.validFrom) {
				dec.fail("validUntil before validFrom")
			}
		case 6: // Aliro only: keysMSO[HomeKey] has six names
			if dec.bool("timeVerificationRequired") {
				m.timeVerifyReq = 1
			} else {
				m.timeVerifyReq = 0
			}
		}
	}
	dec.require("MobileSecurityObject", names, seen, all(6))
	if dec.ok() {
		if err := checkText("MSO docType", m.docType); err != nil {
			dec.err = err
		}
	}
	return m
}

// append appends the Document {docType, issuerSigned} to dst.
func (doc *Document) append(dst []byte) []byte {
	names := doc.dialect.names(&keysDocument)
	var w mapWriter
	w.textKey(names[0])
	w.buf = appendTstr(w.buf, doc.docType)
	w.textKey(names[1])
	is := doc.dialect.names(&keysIssuerSigned)
	var iw mapWriter
	iw.textKey(is[0])
	var nw mapWriter
	for _, ns := range doc.nameSpaces {
		nw.textKey(ns.name)
		nw.buf = appendHead(nw.buf, majorArray, uint64(len(ns.items)))
		for _, it := range ns.items {
			nw.buf = append(nw.buf, it.raw...)
		}
	}
	iw.buf = nw.appendTo(iw.buf)
	iw.textKey(is[1])
	iw.buf = doc.auth.append(iw.buf)
	w.buf = iw.appendTo(w.buf)
	return w.appendTo(dst)
}

// Append appends the encoding of the document to dst: the deterministic
// encoding around the issuer-signed bytes as they were parsed or issued.
func (doc *Document) Append(dst []byte) []byte { return doc.append(dst) }

// filter returns the document restricted to the elements req asks for, or
// nil when it holds none of them.
func (doc *Document) filter(req *DocRequest) *Document {
	if req.DocType != doc.docType {
		return nil
	}
	out := &Document{dialect: doc.dialect, docType: doc.docType, auth: doc.auth, mso: doc.mso}
	for _, ns := range doc.nameSpaces {
		var keep []issuerItem
		for _, rns := range req.NameSpaces {
			if rns.Name != ns.name {
				continue
			}
			for _, it := range ns.items {
				for _, e := range rns.Elements {
					if e.Identifier == it.elementID {
						keep = append(keep, it)
					}
				}
			}
		}
		if len(keep) > 0 {
			out.nameSpaces = append(out.nameSpaces, issuerNameSpace{name: ns.name, items: keep})
		}
	}
	if len(out.nameSpaces) == 0 {
		return nil
	}
	return out
}

// answers reports whether every element of doc was requested by req.
func (doc *Document) answers(req *DocRequest) bool {
	if req.DocType != doc.docType {
		return false
	}
	for _, ns := range doc.nameSpaces {
		i := slices.IndexFunc(req.NameSpaces, func(r RequestedNameSpace) bool { return r.Name == ns.name })
		if i < 0 {
			return false
		}
		for _, it := range ns.items {
			if !slices.ContainsFunc(req.NameSpaces[i].Elements, func(e RequestedElement) bool { return e.Identifier == it.elementID }) {
				return false
			}
		}
	}
	return true
}

// equal reports whether two documents have the same encoding.
func (doc *Document) equal(o *Document) bool {
	return doc.dialect == o.dialect && bytes.Equal(doc.append(nil), o.append(nil))
}
