package mdoc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// recordedHandover returns the NDEF messages of the recorded handover.
func recordedHandover(t testing.TB) (hr, hs []byte) {
	tr := readTranscript(t, "homekey_handover.transcript")
	c, _ := transport.ParseCommand(tr[1].Command)
	hr, _ = tlv.Single(c.Data, tagEnvelopeData)
	r, _ := transport.ParseResponse(tr[1].Response)
	hs, _ = tlv.Single(r.Data, tagEnvelopeData)
	return hr, hs
}

func FuzzNDEF(f *testing.F) {
	hr, hs := recordedHandover(f)
	f.Add(hr)
	f.Add(hs)
	f.Add(hr[7:30]) // the local records of the Hr record
	f.Add([]byte{0xD0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseNDEF(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseNDEF: %v", err)
			}
		} else {
			// The canonical form is the only form: parse then encode is
			// the identity.
			again, err := AppendNDEF(nil, recs)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("ParseNDEF(%X) re-encodes as %X, %v", b, again, err)
			}
		}
		if h, err := ParseHandoverRequest(b); err == nil {
			if again, err := h.Append(nil); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("handover request %X re-encodes as %X, %v", b, again, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseHandoverRequest: %v", err)
		}
		if h, err := ParseHandoverSelect(b); err == nil {
			if again, err := h.Append(nil); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("handover select %X re-encodes as %X, %v", b, again, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseHandoverSelect: %v", err)
		}
	})
}

func FuzzEngagement(f *testing.F) {
	for _, e := range []*Engagement{HomeKeyDeviceEngagement(), HomeKeyReaderEngagement()} {
		b, _ := e.Append(nil)
		f.Add(b)
	}
	var v annexD
	readJSON(f, "iso18013_5_annex_d.json", &v)
	f.Add([]byte(v.DeviceEngagement))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEngagement(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		again, err := e.Append(nil)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("%X re-encodes as %X, %v", b, again, err)
		}
	})
}

func FuzzSessionData(f *testing.F) {
	var v annexD
	readJSON(f, "iso18013_5_annex_d.json", &v)
	f.Add([]byte(v.SessionData))
	f.Add([]byte(v.SessionTermination))
	f.Add(AppendHomeKeyExchange(nil, testSecret()))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := ParseHomeKeyExchange(b); err == nil {
			if !bytes.Equal(AppendHomeKeyExchange(nil, s), b) {
				t.Fatalf("EXCHANGE %X does not round-trip", b)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		sd, err := ParseSessionData(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		again, err := sd.Append(nil)
		if err != nil {
			t.Fatalf("%X parsed but does not encode: %v", b, err)
		}
		sd2, err := ParseSessionData(again)
		if err != nil || !bytes.Equal(sd2.Data, sd.Data) || sd2.Status != sd.Status {
			t.Fatalf("%X does not round-trip: %v", b, err)
		}
	})
}

func FuzzDeviceRequest(f *testing.F) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		b, _ := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: d.DefaultRequest()}).Append(nil, d)
		f.Add(uint8(d), b)
	}
	var v annexD
	readJSON(f, "iso18013_5_annex_d.json", &v)
	f.Add(uint8(HomeKey), []byte(v.DeviceRequest))
	f.Fuzz(func(t *testing.T, dialect uint8, b []byte) {
		d := Dialect(dialect%2 + 1)
		r, err := ParseDeviceRequest(d, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		again, err := r.Append(nil, d)
		if err != nil {
			t.Fatalf("%X parsed but does not encode: %v", b, err)
		}
		r2, err := ParseDeviceRequest(d, again)
		if err != nil {
			t.Fatal(err)
		}
		if again2, _ := r2.Append(nil, d); !bytes.Equal(again, again2) {
			t.Fatalf("encoding of %X is not stable", b)
		}
	})
}

func FuzzDeviceResponse(f *testing.F) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		b, _ := (&DeviceResponse{Version: DeviceResponseVersion, Documents: []*Document{testDocument(f, d)}}).Append(nil, d)
		f.Add(uint8(d), b)
	}
	var v annexD
	readJSON(f, "iso18013_5_annex_d.json", &v)
	f.Add(uint8(HomeKey), []byte(v.DeviceResponse))
	opts := map[Dialect]*VerifyOptions{
		HomeKey: {Issuers: []*IssuerKey{testIssuer(f, HomeKey).Key()}, Time: fixedNow},
		Aliro:   {Issuers: []*IssuerKey{testIssuer(f, Aliro).Key()}, Time: fixedNow},
	}
	f.Fuzz(func(t *testing.T, dialect uint8, b []byte) {
		d := Dialect(dialect%2 + 1)
		r, err := ParseDeviceResponse(d, b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		_, _ = r.Verify(opts[d])
		again, err := r.Append(nil, d)
		if err != nil {
			t.Fatalf("%X parsed but does not encode: %v", b, err)
		}
		r2, err := ParseDeviceResponse(d, again)
		if err != nil {
			t.Fatal(err)
		}
		if again2, _ := r2.Append(nil, d); !bytes.Equal(again, again2) {
			t.Fatalf("encoding of %X is not stable", b)
		}
	})
}

func FuzzDocument(f *testing.F) {
	for _, d := range []Dialect{HomeKey, Aliro} {
		doc := testDocument(f, d)
		f.Add(uint8(d), doc.Append(nil))
		p, _ := NewProvisioned(testGroup(d), doc)
		rec, _ := p.MarshalBinary()
		f.Add(uint8(d), rec)
	}
	opts := map[Dialect]*VerifyOptions{
		HomeKey: {Issuers: []*IssuerKey{testIssuer(f, HomeKey).Key()}, Time: fixedNow},
		Aliro:   {Issuers: []*IssuerKey{testIssuer(f, Aliro).Key()}, Time: fixedNow},
	}
	f.Fuzz(func(t *testing.T, dialect uint8, b []byte) {
		d := Dialect(dialect%2 + 1)
		if doc, err := ParseDocument(d, b); err == nil {
			_, _ = doc.Verify(opts[d])
			again := doc.Append(nil)
			doc2, err := ParseDocument(d, again)
			if err != nil || !bytes.Equal(doc2.Append(nil), again) {
				t.Fatalf("document %X: encoding not stable, %v", b, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if p, err := ParseProvisioned(b); err == nil {
			again, err := p.MarshalBinary()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("record %X re-encodes as %X, %v", b, again, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
}

// FuzzDevice feeds two commands to a Home Key device session: any input is
// answered with a status word, and nothing panics.
func FuzzDevice(f *testing.F) {
	tr := readTranscript(f, "homekey_handover.transcript")
	req := readTranscript(f, "homekey_request_envelope.transcript")
	f.Add(tr[1].Command, req[0].Command)
	var v sessionVectors
	readJSON(f, "session_vectors.json", &v)
	f.Add(tr[1].Command, []byte(v.HomeKey.RequestEnvelope))
	doc := testDocument(f, HomeKey)
	p, _ := NewProvisioned(testGroup(HomeKey), doc)
	secret, _ := SecretFromBytes(v.HomeKey.Secret)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		dev, err := NewHomeKeyDevice(secret, &DeviceConfig{Documents: []*Provisioned{p}, ReaderGroup: testGroup(HomeKey)})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range [][]byte{first, second} {
			out := dev.ProcessAPDU(nil, c)
			if _, err := transport.ParseResponse(out); err != nil {
				t.Fatalf("answer %X: %v", out, err)
			}
		}
	})
}
