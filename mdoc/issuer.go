package mdoc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// IssuerKey is the public key of a document issuer that a reader trusts: an
// Ed25519 key (Home Key, the HomeKit pairing key of a home's member) or a
// P-256 key (Aliro), and the identifier its documents carry as kid. It is
// immutable.
type IssuerKey struct {
	alg  int64
	ed   ed25519.PublicKey
	p256 *dkey.PublicKey
	id   IssuerID
}

// NewEd25519IssuerKey returns the issuer key of a 32-byte Ed25519 public
// key, identified by [IssuerIDOf] its bytes.
func NewEd25519IssuerKey(pub []byte) (*IssuerKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("mdoc: Ed25519 issuer key of %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	return &IssuerKey{alg: algEdDSA, ed: slices.Clone(pub), id: IssuerIDOf(pub)}, nil
}

// NewP256IssuerKey returns the issuer key of a P-256 public key, identified
// by [IssuerIDOf] its 65-byte uncompressed encoding.
func NewP256IssuerKey(pub *dkey.PublicKey) (*IssuerKey, error) {
	if pub == nil {
		return nil, fmt.Errorf("mdoc: nil P-256 issuer key")
	}
	return &IssuerKey{alg: algES256, p256: pub, id: IssuerIDOf(pub.Bytes())}, nil
}

// WithID returns a copy of k identified by id, for issuers whose kid is not
// derived as [IssuerIDOf] derives it.
func (k *IssuerKey) WithID(id IssuerID) *IssuerKey {
	c := *k
	c.id = id
	return &c
}

// ID returns the key identifier.
func (k *IssuerKey) ID() IssuerID { return k.id }

// Dialect returns the dialect whose documents the key signs.
func (k *IssuerKey) Dialect() Dialect {
	if k.alg == algEdDSA {
		return HomeKey
	}
	return Aliro
}

// Bytes returns the public key: 32 bytes for Ed25519, 65 for P-256.
func (k *IssuerKey) Bytes() []byte {
	if k.alg == algEdDSA {
		return slices.Clone(k.ed)
	}
	return k.p256.Bytes()
}

// Equal reports whether k and o are the same key with the same identifier.
func (k *IssuerKey) Equal(o *IssuerKey) bool {
	if k == nil || o == nil || k.alg != o.alg || k.id != o.id {
		return false
	}
	if k.alg == algEdDSA {
		return k.ed.Equal(o.ed)
	}
	return k.p256.Equal(o.p256)
}

// String returns the algorithm and identifier.
func (k *IssuerKey) String() string {
	alg := "Ed25519"
	if k.alg == algES256 {
		alg = "P-256"
	}
	return "mdoc.IssuerKey(" + alg + " " + hex.EncodeToString(k.id[:]) + ")"
}

// Issuer signs documents: the issuer's private key and its [IssuerKey]. The
// SDK uses it in tests, benches and examples, and for devices that issue
// their own attestations; in Home Key the issuer is the HomeKit pairing key
// of the home member who invites the device. It redacts itself when
// printed.
type Issuer struct {
	dialect Dialect
	ed      ed25519.PrivateKey
	p256    crypto.Signer
	key     *IssuerKey
}

// NewIssuer returns an issuer of dialect d with a fresh key from
// crypto/rand: Ed25519 for Home Key, P-256 for Aliro.
func NewIssuer(d Dialect) (*Issuer, error) {
	switch d {
	case HomeKey:
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, fmt.Errorf("mdoc: %w", err)
		}
		return NewEd25519Issuer(priv)
	case Aliro:
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			return nil, fmt.Errorf("mdoc: %w", err)
		}
		return NewP256Issuer(k)
	}
	return nil, fmt.Errorf("mdoc: dialect %v", d)
}

// NewEd25519Issuer returns a Home Key issuer signing with priv.
func NewEd25519Issuer(priv ed25519.PrivateKey) (*Issuer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("mdoc: Ed25519 private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	key, err := NewEd25519IssuerKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &Issuer{dialect: HomeKey, ed: slices.Clone(priv), key: key}, nil
}

// NewP256Issuer returns an Aliro issuer signing with s, which must hold a
// P-256 key; s may be a key in a secure element or HSM.
func NewP256Issuer(s crypto.Signer) (*Issuer, error) {
	pub, err := dkey.PublicKeyOf(s)
	if err != nil {
		return nil, fmt.Errorf("mdoc: %w", err)
	}
	key, err := NewP256IssuerKey(pub)
	if err != nil {
		return nil, err
	}
	return &Issuer{dialect: Aliro, p256: s, key: key}, nil
}

// Key returns the issuer's public key.
func (i *Issuer) Key() *IssuerKey { return i.key }

// Dialect returns the dialect of the documents the issuer signs.
func (i *Issuer) Dialect() Dialect { return i.dialect }

// String names the issuer by its key identifier and redacts the key.
func (i *Issuer) String() string {
	return "mdoc.Issuer(" + hex.EncodeToString(i.key.id[:]) + ", key redacted)"
}

// GoString redacts the key.
func (i *Issuer) GoString() string { return i.String() }

// Format redacts the key whatever the verb.
func (i *Issuer) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(i.String())) }

// Element is one data element: its name space, identifier and encoded
// value (one CBOR data item).
type Element struct {
	NameSpace  string
	Identifier string
	Value      []byte
}

// DocumentSpec is what an issuer signs.
type DocumentSpec struct {
	// DocType is the document type, for example HomeKeyDocType.
	DocType string
	// DeviceKey is the key the document binds: the endpoint's long-term
	// P-256 key, which signs its AUTH1.
	DeviceKey *dkey.PublicKey
	// Elements are the data elements, at least one.
	Elements []Element
	// Signed, ValidFrom and ValidUntil are the validity information, kept
	// to the second; a zero Signed means ValidFrom.
	Signed, ValidFrom, ValidUntil time.Time
}

// HomeKeyCredential returns the spec of a Home Key attestation document for
// deviceKey: the one element a Home Key reader requests, credential_id, a
// byte string (the SDK's choice of content: an identifier the issuer
// assigns, for example for the lock's suspended-credentials list).
func HomeKeyCredential(deviceKey *dkey.PublicKey, credentialID []byte, validFrom, validUntil time.Time) *DocumentSpec {
	return &DocumentSpec{
		DocType:   HomeKeyDocType,
		DeviceKey: deviceKey,
		Elements: []Element{{
			NameSpace:  HomeKeyNameSpace,
			Identifier: HomeKeyCredentialID,
			Value:      appendBstr(nil, credentialID),
		}},
		ValidFrom:  validFrom,
		ValidUntil: validUntil,
	}
}

// EncodeBytes returns the encoding of b as a CBOR byte string, for an
// [Element] value.
func EncodeBytes(b []byte) []byte { return appendBstr(nil, b) }

// EncodeText returns the encoding of s as a CBOR text string.
func EncodeText(s string) []byte { return appendTstr(nil, s) }

// Issue signs a document for spec. Each element gets a fresh 16-byte random
// salt from crypto/rand and the digest ID of its position (the project's
// choice; ISO/IEC 18013-5 leaves digest IDs to the issuer).
func (i *Issuer) Issue(spec *DocumentSpec) (*Document, error) {
	if err := checkText("docType", spec.DocType); err != nil {
		return nil, err
	}
	switch {
	case spec.DeviceKey == nil:
		return nil, fmt.Errorf("mdoc: document without a device key")
	case len(spec.Elements) == 0:
		return nil, fmt.Errorf("mdoc: document without elements")
	case spec.ValidUntil.Before(spec.ValidFrom):
		return nil, fmt.Errorf("mdoc: validity ends before it begins")
	}
	doc := &Document{dialect: i.dialect, docType: spec.DocType}
	m := mso{
		docType:       spec.DocType,
		deviceKey:     spec.DeviceKey,
		signed:        spec.Signed.UTC().Truncate(time.Second),
		validFrom:     spec.ValidFrom.UTC().Truncate(time.Second),
		validUntil:    spec.ValidUntil.UTC().Truncate(time.Second),
		timeVerifyReq: -1,
	}
	if spec.Signed.IsZero() {
		m.signed = m.validFrom
	}
	for n, e := range spec.Elements {
		if err := checkText("name space", e.NameSpace); err != nil {
			return nil, err
		}
		if err := checkText("element identifier", e.Identifier); err != nil {
			return nil, err
		}
		v := decoder{s: e.Value}
		v.raw("element value", MaxDepth)
		if err := v.done(); err != nil {
			return nil, err
		}
		if len(e.Value) > MaxElementValue {
			return nil, malformed("element value of %d bytes, more than %d", len(e.Value), MaxElementValue)
		}
		it := issuerItem{digestID: uint64(n), random: make([]byte, MinRandom), elementID: e.Identifier, value: slices.Clone(e.Value)}
		if _, err := rand.Read(it.random); err != nil {
			return nil, fmt.Errorf("mdoc: %w", err)
		}
		it.raw = it.encode(i.dialect)
		j := slices.IndexFunc(doc.nameSpaces, func(ns issuerNameSpace) bool { return ns.name == e.NameSpace })
		if j < 0 {
			doc.nameSpaces = append(doc.nameSpaces, issuerNameSpace{name: e.NameSpace})
			m.digests = append(m.digests, msoNameSpace{name: e.NameSpace})
			j = len(doc.nameSpaces) - 1
		}
		if slices.ContainsFunc(doc.nameSpaces[j].items, func(o issuerItem) bool { return o.elementID == it.elementID }) {
			return nil, fmt.Errorf("mdoc: duplicate element %q in %q", e.Identifier, e.NameSpace)
		}
		doc.nameSpaces[j].items = append(doc.nameSpaces[j].items, it)
		m.digests[j].digests = append(m.digests[j].digests, msoDigest{id: it.digestID, digest: sha256.Sum256(it.raw)})
	}
	if len(doc.nameSpaces) > MaxNameSpaces {
		return nil, malformed("%d name spaces, more than %d", len(doc.nameSpaces), MaxNameSpaces)
	}
	for _, ns := range doc.nameSpaces {
		if len(ns.items) > MaxElements {
			return nil, malformed("name space %q of %d elements, more than %d", ns.name, len(ns.items), MaxElements)
		}
	}
	doc.mso = m
	doc.auth = issuerAuth{
		protected: protectedHeader(i.dialect.issuerAlg()),
		kid:       i.key.id,
		payload:   appendEncoded(nil, m.append(nil, i.dialect)),
	}
	tbs := appendSigStructure(nil, doc.auth.protected, doc.auth.payload)
	switch i.dialect {
	case HomeKey:
		doc.auth.sig = ed25519.Sign(i.ed, tbs)
	default:
		sig, err := dkey.Sign(i.p256, tbs)
		if err != nil {
			return nil, fmt.Errorf("mdoc: %w", err)
		}
		doc.auth.sig = sig[:]
	}
	if len(doc.append(nil)) > MaxMessage {
		return nil, malformed("document larger than %d bytes", MaxMessage)
	}
	return doc, nil
}

// encode returns IssuerSignedItemBytes for it.
func (it *issuerItem) encode(d Dialect) []byte {
	names := d.names(&keysIssuerSignedItem)
	var w mapWriter
	w.textKey(names[0])
	w.buf = appendUint(w.buf, it.digestID)
	w.textKey(names[1])
	w.buf = appendBstr(w.buf, it.random)
	w.textKey(names[2])
	w.buf = appendTstr(w.buf, it.elementID)
	w.textKey(names[3])
	w.buf = append(w.buf, it.value...)
	return appendEncoded(nil, w.appendTo(nil))
}

// append appends the mobile security object.
func (m *mso) append(dst []byte, d Dialect) []byte {
	names := d.names(&keysMSO)
	var w mapWriter
	w.textKey(names[0])
	w.buf = appendTstr(w.buf, msoVersion)
	w.textKey(names[1])
	w.buf = appendTstr(w.buf, digestAlgorithm)
	w.textKey(names[2])
	var nw mapWriter
	for _, ns := range m.digests {
		nw.textKey(ns.name)
		nw.buf = appendHead(nw.buf, majorMap, uint64(len(ns.digests)))
		for _, dg := range ns.digests { // ascending IDs: deterministic
			nw.buf = appendBstr(appendUint(nw.buf, dg.id), dg.digest[:])
		}
	}
	w.buf = nw.appendTo(w.buf)
	w.textKey(names[3])
	w.buf = appendHead(w.buf, majorMap, 1)
	w.buf = appendTstr(w.buf, d.names(&keysDeviceKeyInfo)[0])
	w.buf = appendCOSEKey(w.buf, m.deviceKey)
	w.textKey(names[4])
	w.buf = appendTstr(w.buf, m.docType)
	w.textKey(names[5])
	vi := d.names(&keysValidityInfo)
	var vw mapWriter
	vw.textKey(vi[0])
	vw.buf = appendTDate(vw.buf, m.signed)
	vw.textKey(vi[1])
	vw.buf = appendTDate(vw.buf, m.validFrom)
	vw.textKey(vi[2])
	vw.buf = appendTDate(vw.buf, m.validUntil)
	if !m.expected.IsZero() {
		vw.textKey(vi[3])
		vw.buf = appendTDate(vw.buf, m.expected)
	}
	w.buf = vw.appendTo(w.buf)
	if m.timeVerifyReq >= 0 {
		w.textKey(names[6])
		w.buf = appendBool(w.buf, m.timeVerifyReq == 1)
	}
	return w.appendTo(dst)
}
