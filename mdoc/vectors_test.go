package mdoc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/gcmchannel"
)

// annexD holds the ISO/IEC 18013-5:2021 Annex D worked example (see
// testdata/README.md for its provenance).
type annexD struct {
	DeviceEngagement       hexString `json:"device_engagement"`
	SessionTranscriptBytes hexString `json:"session_transcript_bytes"`
	EphemeralReaderKeyD    hexString `json:"ephemeral_reader_key_d"`
	EphemeralDeviceKeyX    hexString `json:"ephemeral_device_key_x"`
	EphemeralDeviceKeyY    hexString `json:"ephemeral_device_key_y"`
	SessionEstablishment   hexString `json:"session_establishment"`
	SessionData            hexString `json:"session_data"`
	DeviceRequest          hexString `json:"device_request"`
	DeviceResponse         hexString `json:"device_response"`
	DSCert                 hexString `json:"ds_cert"`
	SessionTermination     hexString `json:"session_termination"`
}

// lookup walks a CBOR map of text keys and returns the value of key, raw.
func lookup(t *testing.T, m []byte, key string) []byte {
	t.Helper()
	d := decoder{s: m}
	n := d.mapLen("map", 64)
	for i := 0; i < n && d.ok(); i++ {
		k := d.raw("key", MaxDepth)
		v := d.raw("value", MaxDepth+4)
		kd := decoder{s: k}
		if kd.peekMajor() == majorText && kd.text("key", MaxText) == key {
			return v
		}
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	t.Fatalf("no key %q", key)
	return nil
}

// TestAnnexDSession checks the session key derivation and the AES-GCM IV
// layout against the ISO/IEC 18013-5 worked example: SKReader and SKDevice
// from the ECDH secret with SHA-256(SessionTranscriptBytes) as salt open the
// example's first reader message (IV 00000000 00000000 00000001) into its
// DeviceRequest and its first device message (IV 00000000 00000001
// 00000001) into its DeviceResponse.
func TestAnnexDSession(t *testing.T) {
	var v annexD
	readJSON(t, "iso18013_5_annex_d.json", &v)
	rk, err := ecdh.P256().NewPrivateKey(v.EphemeralReaderKeyD)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, v.EphemeralDeviceKeyX...), v.EphemeralDeviceKeyY...))
	if err != nil {
		t.Fatal(err)
	}
	z, err := rk.ECDH(dk)
	if err != nil {
		t.Fatal(err)
	}
	salt := sha256.Sum256(v.SessionTranscriptBytes)
	keys, err := DeriveSessionKeys(z, salt[:], 32)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := newChannel(gcmchannel.DeviceEnd, keys)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := newChannel(gcmchannel.ReaderEnd, keys)
	if err != nil {
		t.Fatal(err)
	}
	ct := lookup(t, v.SessionEstablishment, "data")
	ctd := decoder{s: ct}
	req, err := dev.open(nil, ctd.bytes("data", MaxMessage+16))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req, v.DeviceRequest) {
		t.Errorf("reader message opens to %X, want the example's DeviceRequest", req)
	}
	sd, err := ParseSessionData(v.SessionData)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rd.open(nil, sd.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp, v.DeviceResponse) {
		t.Error("device message does not open to the example's DeviceResponse")
	}
	// Sealing reproduces the example, with counter 2 for the next message.
	ch2, _ := newChannel(gcmchannel.DeviceEnd, keys)
	again, _ := ch2.seal(nil, v.DeviceResponse)
	if next, _ := ch2.gcm.Counters(); !bytes.Equal(again, sd.Data) || next != 2 {
		t.Error("sealing the DeviceResponse does not reproduce the example")
	}
	// The termination message is a SessionData with status 20.
	term, err := ParseSessionData(v.SessionTermination)
	if err != nil || term.Status != StatusTermination || term.Data != nil {
		t.Errorf("termination = %+v, %v", term, err)
	}
	// Opening with the other direction's counter fails opaquely.
	ch3, _ := newChannel(gcmchannel.ReaderEnd, keys)
	if _, err := ch3.open(nil, lookupBytes(t, v.SessionEstablishment)); err != ErrDecrypt {
		t.Errorf("open in the wrong direction: %v, want ErrDecrypt", err)
	}
}

func lookupBytes(t *testing.T, m []byte) []byte {
	ct := lookup(t, m, "data")
	d := decoder{s: ct}
	return d.bytes("data", MaxMessage+16)
}

// TestAnnexDDocument checks the document layer against the ISO/IEC 18013-5
// worked example's mDL: the mobile security object parses with the Home
// Key (ISO names) dialect, each IssuerSignedItemBytes hashes to its signed
// digest (the digest covers the tag-24 encoding), and the issuer's ES256
// signature verifies over the package's Sig_structure with the document
// signer certificate's key.
func TestAnnexDDocument(t *testing.T) {
	var v annexD
	readJSON(t, "iso18013_5_annex_d.json", &v)
	docs := decoder{s: lookup(t, v.DeviceResponse, "documents")}
	if docs.array("documents", 1) != 1 {
		t.Fatal("want one document")
	}
	doc := docs.raw("document", MaxDepth+4)
	is := lookup(t, doc, "issuerSigned")
	auth := decoder{s: lookup(t, is, "issuerAuth")}
	auth.array("issuerAuth", 4)
	protected := auth.bytes("protected", 16)
	auth.raw("unprotected", MaxDepth) // {33: x5chain}
	payload := auth.bytes("payload", MaxMessage)
	sig := auth.bytes("signature", 64)
	if err := auth.done(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(protected, protectedHeader(algES256)) {
		t.Errorf("protected header %X, want %X", protected, protectedHeader(algES256))
	}
	cert, err := x509.ParseCertificate(v.DSCert)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("certificate key %T", cert.PublicKey)
	}
	pub, err := dkey.NewPublicKey(ecPub)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := dkey.ParseSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(appendSigStructure(nil, protected, payload), &rs); err != nil {
		t.Errorf("issuer signature: %v", err)
	}
	// Through the package's own check, with the key named as the kid says.
	key, _ := NewP256IssuerKey(pub)
	a := issuerAuth{protected: protected, payload: payload, sig: sig}
	if !a.verify(key) {
		t.Error("issuerAuth.verify fails on the example")
	}
	a.sig = bytes.Clone(sig)
	a.sig[10] ^= 1
	if a.verify(key) {
		t.Error("issuerAuth.verify accepts a flipped signature")
	}

	// The mobile security object.
	pd := decoder{s: payload}
	inner, whole := pd.encodedAll("MobileSecurityObjectBytes")
	if whole == nil {
		t.Fatal(pd.err)
	}
	md := decoder{s: inner}
	m := parseMSO(&md, HomeKey)
	if err := md.done(); err != nil {
		t.Fatal(err)
	}
	if m.docType != "org.iso.18013.5.1.mDL" || !m.validFrom.Equal(time.Date(2020, 10, 1, 13, 30, 2, 0, time.UTC)) {
		t.Errorf("MSO docType %q validFrom %v", m.docType, m.validFrom)
	}
	if m.deviceKey == nil {
		t.Fatal("no device key")
	}
	// The example writes its keys in CDDL order, not the deterministic
	// order: the reader must and does take any order. Re-encoding gives the
	// same content, sorted.
	again := m.append(nil, HomeKey)
	ad := decoder{s: again}
	m2 := parseMSO(&ad, HomeKey)
	if err := ad.done(); err != nil || len(again) != len(inner) || m2.docType != m.docType || !m2.deviceKey.Equal(m.deviceKey) || len(m2.digests) != len(m.digests) {
		t.Errorf("MSO re-encodes differently: %v", err)
	}

	// Every issuer-signed item's digest.
	nss := decoder{s: lookup(t, is, "nameSpaces")}
	n := nss.mapLen("nameSpaces", 8)
	count := 0
	for i := 0; i < n; i++ {
		ns := nss.text("name space", MaxText)
		k := nss.array("items", 64)
		j := -1
		for x := range m.digests {
			if m.digests[x].name == ns {
				j = x
			}
		}
		if j < 0 {
			t.Fatalf("no digests for %q", ns)
		}
		for e := 0; e < k; e++ {
			it := parseItem(&nss, HomeKey)
			if nss.err != nil {
				t.Fatal(nss.err)
			}
			found := false
			for _, dg := range m.digests[j].digests {
				if dg.id == it.digestID {
					found = true
					if sha256.Sum256(it.raw) != dg.digest {
						t.Errorf("%s/%s: digest mismatch", ns, it.elementID)
					}
				}
			}
			if !found {
				t.Errorf("%s/%s: no digest %d", ns, it.elementID, it.digestID)
			}
			count++
		}
	}
	if err := nss.done(); err != nil {
		t.Fatal(err)
	}
	if count != 6 {
		t.Errorf("checked %d items, want the example's 6", count)
	}
}
