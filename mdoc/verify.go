package mdoc

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// VerifyOptions is what a reader knows when it verifies documents. Its zero
// value trusts no issuer.
type VerifyOptions struct {
	// Issuers are the trusted issuer keys, looked up by the documents' kid.
	// In Home Key they are the Ed25519 keys of the home's members; a lock of
	// another home knows other keys, so a document of another home fails
	// with ErrUnknownIssuer.
	Issuers []*IssuerKey
	// DeviceKey, when set, is the key the document must bind, for example
	// the key enrolled for the endpoint. Without it the caller checks the
	// returned Verified.DeviceKey itself: the Home Key reader verifies the
	// endpoint's AUTH1 signature with it before enrolling it.
	DeviceKey *dkey.PublicKey
	// Time returns the current time for the validity window. Nil means
	// time.Now.
	Time func() time.Time
}

func (o *VerifyOptions) now() time.Time {
	if o.Time != nil {
		return o.Time()
	}
	return time.Now()
}

// Verified is what a verified document says.
type Verified struct {
	DocType string
	// Issuer is the trusted key that signed the document.
	Issuer *IssuerKey
	// DeviceKey is the key the document binds.
	DeviceKey *dkey.PublicKey
	// Signed, ValidFrom and ValidUntil are the validity information.
	Signed, ValidFrom, ValidUntil time.Time
	// Elements are the returned data elements, each checked against its
	// signed digest.
	Elements []Element
}

// Element returns the value of the element id in name space ns.
func (v *Verified) Element(ns, id string) ([]byte, bool) {
	i := slices.IndexFunc(v.Elements, func(e Element) bool { return e.NameSpace == ns && e.Identifier == id })
	if i < 0 {
		return nil, false
	}
	return v.Elements[i].Value, true
}

// Verify runs the checks of ISO/IEC 18013-5 §9.3.1 that apply without
// device authentication, in order, and returns a *[VerifyError] naming the
// first that fails:
//
//  1. the kid names a trusted issuer key of the document's dialect
//     (ErrUnknownIssuer);
//  2. the issuer's signature over the mobile security object verifies
//     (ErrBadSignature);
//  3. the document's docType is the one the object signs
//     (ErrDocTypeMismatch);
//  4. every returned element's IssuerSignedItemBytes hashes to the digest
//     the object signs under its name space and digest ID
//     (ErrDigestMismatch);
//  5. the signed device key is opts.DeviceKey, when set
//     (ErrDeviceKeyMismatch);
//  6. validFrom ≤ now ≤ validUntil (ErrNotYetValid, ErrExpired).
func (doc *Document) Verify(opts *VerifyOptions) (*Verified, error) {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	fail := func(s Step, err error) (*Verified, error) {
		return nil, &VerifyError{DocType: doc.docType, Step: s, Err: err}
	}
	var key *IssuerKey
	for _, k := range opts.Issuers {
		if k != nil && k.id == doc.auth.kid && k.alg == doc.dialect.issuerAlg() {
			key = k
			break
		}
	}
	if key == nil {
		return fail(StepIssuer, ErrUnknownIssuer)
	}
	if !doc.auth.verify(key) {
		return fail(StepSignature, ErrBadSignature)
	}
	if doc.docType != doc.mso.docType {
		return fail(StepDocType, ErrDocTypeMismatch)
	}
	v := &Verified{
		DocType:    doc.docType,
		Issuer:     key,
		DeviceKey:  doc.mso.deviceKey,
		Signed:     doc.mso.signed,
		ValidFrom:  doc.mso.validFrom,
		ValidUntil: doc.mso.validUntil,
	}
	for _, ns := range doc.nameSpaces {
		i := slices.IndexFunc(doc.mso.digests, func(m msoNameSpace) bool { return m.name == ns.name })
		if i < 0 {
			return fail(StepDigests, ErrDigestMismatch)
		}
		for _, it := range ns.items {
			j := slices.IndexFunc(doc.mso.digests[i].digests, func(d msoDigest) bool { return d.id == it.digestID })
			got := sha256.Sum256(it.raw)
			if j < 0 || subtle.ConstantTimeCompare(got[:], doc.mso.digests[i].digests[j].digest[:]) != 1 {
				return fail(StepDigests, ErrDigestMismatch)
			}
			v.Elements = append(v.Elements, Element{NameSpace: ns.name, Identifier: it.elementID, Value: slices.Clone(it.value)})
		}
	}
	if opts.DeviceKey != nil && !opts.DeviceKey.Equal(doc.mso.deviceKey) {
		return fail(StepDeviceKey, ErrDeviceKeyMismatch)
	}
	now := opts.now()
	switch {
	case now.Before(doc.mso.validFrom):
		return fail(StepValidity, ErrNotYetValid)
	case now.After(doc.mso.validUntil):
		return fail(StepValidity, ErrExpired)
	}
	return v, nil
}
