package mdoc

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestIssueVerify(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		t.Run(d.String(), func(t *testing.T) {
			iss := testIssuer(t, d)
			doc := testDocument(t, d)
			if doc.Dialect() != d || doc.IssuerID() != iss.Key().ID() || !doc.DeviceKey().Equal(mustPub(t, testDeviceKey(t))) {
				t.Fatalf("document %v %x %v", doc.Dialect(), doc.IssuerID(), doc.DeviceKey())
			}
			v, err := doc.Verify(&VerifyOptions{Issuers: []*IssuerKey{iss.Key()}, DeviceKey: mustPub(t, testDeviceKey(t)), Time: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			spec := testSpec(t, d)
			if v.DocType != spec.DocType || !v.Issuer.Equal(iss.Key()) || !v.ValidFrom.Equal(testValidFrom) || !v.ValidUntil.Equal(testValidUntil) || !v.Signed.Equal(testValidFrom) {
				t.Errorf("verified %+v", v)
			}
			if len(v.Elements) != len(spec.Elements) {
				t.Fatalf("%d elements, want %d", len(v.Elements), len(spec.Elements))
			}
			for _, e := range spec.Elements {
				got, ok := v.Element(e.NameSpace, e.Identifier)
				if !ok || !bytes.Equal(got, e.Value) {
					t.Errorf("element %s/%s = %X, %t; want %X", e.NameSpace, e.Identifier, got, ok, e.Value)
				}
			}
			if _, ok := v.Element("x", "y"); ok {
				t.Error("absent element found")
			}
			// The document round-trips through its encoding.
			b := doc.Append(nil)
			again, err := ParseDocument(d, b)
			if err != nil {
				t.Fatal(err)
			}
			if !again.equal(doc) {
				t.Error("document does not round-trip")
			}
			if _, err := again.Verify(&VerifyOptions{Issuers: []*IssuerKey{iss.Key()}, Time: fixedNow}); err != nil {
				t.Errorf("parsed document: %v", err)
			}
			for n := range len(b) {
				if _, err := ParseDocument(d, b[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("prefix of %d bytes: %v", n, err)
				}
			}
			other := HomeKey
			if d == HomeKey {
				other = Aliro
			}
			if _, err := ParseDocument(other, b); !errors.Is(err, ErrMalformed) {
				t.Errorf("parsed as %v: %v", other, err)
			}
		})
	}
}

func TestVerifyErrors(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		t.Run(d.String(), func(t *testing.T) {
			iss := testIssuer(t, d)
			trusted := []*IssuerKey{iss.Key()}
			other, _ := NewIssuer(d)
			wrongAlg := testIssuer(t, HomeKey).Key()
			if d == HomeKey {
				wrongAlg = testIssuer(t, Aliro).Key()
			}
			wrongAlg = wrongAlg.WithID(iss.Key().ID())
			doc := func() *Document { return testDocument(t, d) }
			at := func(tm time.Time) func() time.Time { return func() time.Time { return tm } }
			type verifyCase struct {
				name string
				doc  *Document
				opts VerifyOptions
				step Step
				want error
			}
			tests := []verifyCase{
				{"no issuers", doc(), VerifyOptions{Time: fixedNow}, StepIssuer, ErrUnknownIssuer},
				{"unknown issuer", doc(), VerifyOptions{Issuers: []*IssuerKey{other.Key()}, Time: fixedNow}, StepIssuer, ErrUnknownIssuer},
				{"issuer of the other dialect", doc(), VerifyOptions{Issuers: []*IssuerKey{wrongAlg}, Time: fixedNow}, StepIssuer, ErrUnknownIssuer},
				{"impostor with the kid", doc(), VerifyOptions{Issuers: []*IssuerKey{other.Key().WithID(iss.Key().ID())}, Time: fixedNow}, StepSignature, ErrBadSignature},
				{"another device key", doc(), VerifyOptions{Issuers: trusted, DeviceKey: mustPub(t, fixedKey(t, 0x44)), Time: fixedNow}, StepDeviceKey, ErrDeviceKeyMismatch},
				{"not yet valid", doc(), VerifyOptions{Issuers: trusted, Time: at(testValidFrom.Add(-time.Second))}, StepValidity, ErrNotYetValid},
				{"expired", doc(), VerifyOptions{Issuers: trusted, Time: at(testValidUntil.Add(time.Second))}, StepValidity, ErrExpired},
			}
			// A document whose outer docType is not the signed one.
			dt := doc()
			dt.docType = "other"
			tests = append(tests, verifyCase{"docType not the signed one", dt, VerifyOptions{Issuers: trusted, Time: fixedNow}, StepDocType, ErrDocTypeMismatch})
			// An element whose bytes are not the signed ones.
			dg := doc()
			dg.nameSpaces[0].items[0].raw = bytes.Clone(dg.nameSpaces[0].items[0].raw)
			dg.nameSpaces[0].items[0].raw[len(dg.nameSpaces[0].items[0].raw)-1] ^= 1
			tests = append(tests, verifyCase{"element altered", dg, VerifyOptions{Issuers: trusted, Time: fixedNow}, StepDigests, ErrDigestMismatch})
			// An element under a digest ID the object does not sign.
			di := doc()
			di.nameSpaces[0].items[0].digestID = 99
			tests = append(tests, verifyCase{"unsigned digest ID", di, VerifyOptions{Issuers: trusted, Time: fixedNow}, StepDigests, ErrDigestMismatch})
			for _, tt := range tests {
				_, err := tt.doc.Verify(&tt.opts)
				var ve *VerifyError
				if !errors.Is(err, tt.want) || !errors.As(err, &ve) || ve.Step != tt.step {
					t.Errorf("%s: Verify = %v, want %v at step %v", tt.name, err, tt.want, tt.step)
				}
			}
			// The edges of the window are inside it.
			for _, tm := range []time.Time{testValidFrom, testValidUntil} {
				if _, err := doc().Verify(&VerifyOptions{Issuers: trusted, Time: at(tm)}); err != nil {
					t.Errorf("at %v: %v", tm, err)
				}
			}
			if _, err := doc().Verify(nil); !errors.Is(err, ErrUnknownIssuer) {
				t.Errorf("nil options: %v", err)
			}
		})
	}
}

// typed reports whether err is one of the package's typed refusals.
func typed(err error) bool {
	for _, s := range []error{ErrMalformed, ErrUnknownIssuer, ErrBadSignature, ErrDocTypeMismatch, ErrDigestMismatch, ErrDeviceKeyMismatch, ErrNotYetValid, ErrExpired} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestTamperEveryByte alters every byte of a device response (as the
// reader opens it) and of a provisioned record, with three masks: each
// altered input is refused by parsing or by verification, with a typed
// error.
func TestTamperEveryByte(t *testing.T) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		t.Run(d.String(), func(t *testing.T) {
			doc := testDocument(t, d)
			opts := &VerifyOptions{Issuers: []*IssuerKey{testIssuer(t, d).Key()}, DeviceKey: mustPub(t, testDeviceKey(t)), Time: fixedNow}
			resp, err := (&DeviceResponse{Version: DeviceResponseVersion, Documents: []*Document{doc}}).Append(nil, d)
			if err != nil {
				t.Fatal(err)
			}
			if r, err := ParseDeviceResponse(d, resp); err != nil {
				t.Fatal(err)
			} else if _, err := r.Verify(opts); err != nil {
				t.Fatal(err)
			}
			p, _ := NewProvisioned(testGroup(d), doc)
			rec, _ := p.MarshalBinary()
			for _, mask := range []byte{0x01, 0x80, 0xFF} {
				for i := range resp {
					b := bytes.Clone(resp)
					b[i] ^= mask
					r, err := ParseDeviceResponse(d, b)
					if err == nil {
						_, err = r.Verify(opts)
					}
					if err == nil || !typed(err) {
						t.Fatalf("response byte %d ^ %02X: %v", i, mask, err)
					}
				}
				for i := range rec {
					b := bytes.Clone(rec)
					b[i] ^= mask
					p, err := ParseProvisioned(b)
					if group := i >= 4 && i < 4+len(testGroup(d)); group {
						// The reader group is the device's index, not signed:
						// the store that holds the record seals it.
						if err != nil || bytes.Equal(p.ReaderGroup, testGroup(d)) {
							t.Fatalf("record byte %d ^ %02X (reader group): %v", i, mask, err)
						}
						continue
					}
					if err == nil {
						_, err = p.Document.Verify(opts)
					}
					if err == nil || !typed(err) {
						t.Fatalf("record byte %d ^ %02X: %v", i, mask, err)
					}
				}
			}
		})
	}
}

func TestIssueErrors(t *testing.T) {
	iss := testIssuer(t, HomeKey)
	good := testSpec(t, HomeKey)
	mod := func(f func(s *DocumentSpec)) *DocumentSpec {
		s := *good
		s.Elements = append([]Element(nil), good.Elements...)
		f(&s)
		return &s
	}
	for name, spec := range map[string]*DocumentSpec{
		"no doc type":       mod(func(s *DocumentSpec) { s.DocType = "" }),
		"no device key":     mod(func(s *DocumentSpec) { s.DeviceKey = nil }),
		"no elements":       mod(func(s *DocumentSpec) { s.Elements = nil }),
		"window reversed":   mod(func(s *DocumentSpec) { s.ValidUntil = s.ValidFrom.Add(-time.Hour) }),
		"bad value":         mod(func(s *DocumentSpec) { s.Elements[0].Value = []byte{0x82, 0x01} }),
		"two values":        mod(func(s *DocumentSpec) { s.Elements[0].Value = []byte{0x01, 0x02} }),
		"empty identifier":  mod(func(s *DocumentSpec) { s.Elements[0].Identifier = "" }),
		"empty name space":  mod(func(s *DocumentSpec) { s.Elements[0].NameSpace = "" }),
		"duplicate element": mod(func(s *DocumentSpec) { s.Elements = append(s.Elements, s.Elements[0]) }),
		"value too large":   mod(func(s *DocumentSpec) { s.Elements[0].Value = EncodeBytes(make([]byte, MaxElementValue)) }),
	} {
		if _, err := iss.Issue(spec); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
	if _, err := NewIssuer(Dialect(9)); err == nil {
		t.Error("issuer of an unknown dialect")
	}
	if _, err := NewEd25519IssuerKey(make([]byte, 31)); err == nil {
		t.Error("31-byte Ed25519 key")
	}
	if _, err := NewP256IssuerKey(nil); err == nil {
		t.Error("nil P-256 key")
	}
}

func TestIssuerKey(t *testing.T) {
	hk := testIssuer(t, HomeKey).Key()
	al := testIssuer(t, Aliro).Key()
	if hk.Dialect() != HomeKey || al.Dialect() != Aliro {
		t.Error("dialects")
	}
	if hk.ID() != IssuerIDOf(hk.Bytes()) || al.ID() != IssuerIDOf(al.Bytes()) || len(al.Bytes()) != 65 || len(hk.Bytes()) != 32 {
		t.Error("identifiers")
	}
	if !hk.Equal(hk) || hk.Equal(al) || hk.Equal(hk.WithID(IssuerID{})) || hk.Equal(nil) {
		t.Error("Equal")
	}
	if s := hk.String(); s == "" || al.String() == s {
		t.Error("String")
	}
	// The identifier of the Home Key reader key in the recorded trace
	// (internal/testvec: SHA-256("key-identifier" ‖ key)[:8] = cff12f0c0849b7e3)
	// uses the same construction.
	id := IssuerIDOf(unhex(t, "b079cc877de3c27b8dd6329eb1102110c82570d2688038db398f483208095872"))
	if id != IssuerID(unhex(t, "cff12f0c0849b7e3")) {
		t.Errorf("IssuerIDOf(reader key) = %x, want cff12f0c0849b7e3", id)
	}
}
