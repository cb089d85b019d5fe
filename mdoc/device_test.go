package mdoc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

func apdu(t testing.TB, c transport.Command) []byte {
	t.Helper()
	b, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sw(resp []byte) dkey.StatusWord {
	if len(resp) < 2 {
		return 0
	}
	return dkey.StatusWord(resp[len(resp)-2])<<8 | dkey.StatusWord(resp[len(resp)-1])
}

// handoverAPDU returns the handover ENVELOPE of the reader.
func handoverAPDU(t testing.TB) (*HandoverReader, []byte) {
	t.Helper()
	h, err := newHomeKeyReader(testSecret(), nil, 7)
	if err != nil {
		t.Fatal(err)
	}
	return h, apdu(t, h.Command())
}

func TestDeviceRefuses(t *testing.T) {
	doc := testDocument(t, HomeKey)
	_, hr := handoverAPDU(t)
	env := func(p1, p2 byte, data []byte) []byte {
		return apdu(t, transport.Command{INS: insEnvelope, P1: p1, P2: p2, Data: data, Ne: 256})
	}
	tests := []struct {
		name string
		cmd  []byte
		want dkey.StatusWord
	}{
		{"not an APDU", []byte{0x00, 0xC3}, dkey.SWWrongLength},
		{"other class", apdu(t, transport.Command{CLA: 0x80, INS: insEnvelope, P2: p2NDEF, Data: []byte{0x53, 0}}), dkey.SWClassNotSupported},
		{"other instruction", apdu(t, transport.Command{INS: 0xB0}), dkey.SWInstructionNotSupported},
		{"P1 01", env(1, p2NDEF, []byte{0x53, 0}), dkey.SWWrongP1P2},
		{"P2 02", env(0, 2, []byte{0x53, 0}), dkey.SWWrongP1P2},
		{"request before handover", env(0, p2SessionData, []byte{0x53, 0}), dkey.SWConditionsNotSatisfied},
		{"no tag 53", env(0, p2NDEF, []byte{0x54, 0}), dkey.SWWrongData},
		{"trailing after 53", env(0, p2NDEF, []byte{0x53, 0, 0}), dkey.SWWrongData},
		{"not a handover request", env(0, p2NDEF, []byte{0x53, 3, 0xD0, 0, 0}), dkey.SWWrongData},
	}
	for _, tt := range tests {
		dev := newTestDevice(t, HomeKey, doc)
		if got := dev.ProcessAPDU(nil, tt.cmd); sw(got) != tt.want || len(got) != 2 {
			t.Errorf("%s: %X, want %04X", tt.name, got, uint16(tt.want))
		}
		if dev.Err() == nil || !dev.Done() {
			t.Errorf("%s: session not ended (%v)", tt.name, dev.Err())
		}
		// Sticky: even a good command is refused now.
		if got := dev.ProcessAPDU(nil, hr); sw(got) != dkey.SWConditionsNotSatisfied {
			t.Errorf("%s: then the handover: %X", tt.name, got)
		}
	}

	// A second handover after the first.
	dev := newTestDevice(t, HomeKey, doc)
	if got := dev.ProcessAPDU(nil, hr); sw(got) != dkey.SWSuccess {
		t.Fatalf("handover: %X", got)
	}
	if dev.secret != (Secret{}) {
		t.Error("secret kept after the handover")
	}
	if got := dev.ProcessAPDU(nil, hr); sw(got) != dkey.SWConditionsNotSatisfied || !errors.Is(dev.Err(), ErrOutOfSequence) {
		t.Errorf("second handover: %X, %v", got, dev.Err())
	}

	// Aliro has no handover.
	al := newTestDevice(t, Aliro, testDocument(t, Aliro))
	if got := al.ProcessAPDU(nil, hr); sw(got) != dkey.SWWrongP1P2 {
		t.Errorf("Aliro handover: %X", got)
	}
}

func TestDeviceSession(t *testing.T) {
	doc := testDocument(t, Aliro)
	keys := testStepUpKeys(t)

	t.Run("termination", func(t *testing.T) {
		dev := newTestDevice(t, Aliro, doc)
		data, _ := (&SessionData{Status: StatusTermination}).Append(nil)
		cmd := apdu(t, transport.Command{INS: insEnvelope, Data: tlv.AppendTLV(nil, tagEnvelopeData, data), Ne: 256})
		if got := dev.ProcessAPDU(nil, cmd); !bytes.Equal(got, []byte{0x90, 0x00}) || !dev.Done() || dev.Err() != nil {
			t.Errorf("termination: %X, done %t, %v", got, dev.Done(), dev.Err())
		}
	})
	t.Run("reader error status", func(t *testing.T) {
		dev := newTestDevice(t, Aliro, doc)
		data, _ := (&SessionData{Status: StatusDecodingError}).Append(nil)
		cmd := apdu(t, transport.Command{INS: insEnvelope, Data: tlv.AppendTLV(nil, tagEnvelopeData, data), Ne: 256})
		var se *StatusError
		if got := dev.ProcessAPDU(nil, cmd); sw(got) != dkey.SWSuccess || !errors.As(dev.Err(), &se) || se.Status != StatusDecodingError {
			t.Errorf("status 11: %X, %v", got, dev.Err())
		}
	})
	t.Run("undecodable request", func(t *testing.T) {
		dev := newTestDevice(t, Aliro, doc)
		ch, _ := newChannel(gcmchannel.ReaderEnd, keys)
		ct, _ := ch.seal(nil, []byte{0xA0})
		data, _ := (&SessionData{Data: ct}).Append(nil)
		cmd := apdu(t, transport.Command{INS: insEnvelope, Data: tlv.AppendTLV(nil, tagEnvelopeData, data), Ne: 256})
		got := dev.ProcessAPDU(nil, cmd)
		v, err := tlv.Single(got[:len(got)-2], tagEnvelopeData)
		if err != nil {
			t.Fatal(err)
		}
		sd, err := ParseSessionData(v)
		if err != nil || sd.Status != StatusDecodingError || sd.Data != nil || !errors.Is(dev.Err(), ErrMalformed) {
			t.Errorf("answer %+v, %v; device %v", sd, err, dev.Err())
		}
	})
	t.Run("several requests", func(t *testing.T) {
		dev := newTestDevice(t, Aliro, doc)
		ch, _ := newChannel(gcmchannel.ReaderEnd, keys)
		plain, _ := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: Aliro.DefaultRequest()}).Append(nil, Aliro)
		for i := range MaxExchanges + 1 {
			ct, _ := ch.seal(nil, plain)
			data, _ := (&SessionData{Data: ct}).Append(nil)
			cmd := apdu(t, transport.Command{INS: insEnvelope, Data: tlv.AppendTLV(nil, tagEnvelopeData, data), Ne: 256})
			got := dev.ProcessAPDU(nil, cmd)
			if i == MaxExchanges {
				if sw(got) != dkey.SWConditionsNotSatisfied {
					t.Errorf("exchange %d: %04X, want 6985", i+1, uint16(sw(got)))
				}
				break
			}
			v, err := tlv.Single(got[:len(got)-2], tagEnvelopeData)
			if err != nil {
				t.Fatalf("exchange %d: %X", i+1, got)
			}
			sd, _ := ParseSessionData(v)
			pt, err := ch.open(nil, sd.Data)
			if err != nil {
				t.Fatalf("exchange %d: %v", i+1, err)
			}
			if r, err := ParseDeviceResponse(Aliro, pt); err != nil || len(r.Documents) != 1 {
				t.Fatalf("exchange %d: %v", i+1, err)
			}
		}
	})
	t.Run("nothing requested is held", func(t *testing.T) {
		dev := newTestDevice(t, Aliro, doc)
		cfg := &ReaderConfig{Requests: []DocRequest{{DocType: AliroRevocationDocType, NameSpaces: []RequestedNameSpace{{Name: AliroRevocationDocType, Elements: []RequestedElement{{Identifier: "x"}}}}}}}
		resp, _, err := runExchange(t, Aliro, dev, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Verify(&VerifyOptions{Issuers: []*IssuerKey{testIssuer(t, Aliro).Key()}}); !errors.Is(err, ErrNoDocument) {
			t.Errorf("Verify: %v, want ErrNoDocument", err)
		}
	})
	t.Run("both documents", func(t *testing.T) {
		iss := testIssuer(t, Aliro)
		spec := testSpec(t, Aliro)
		spec.DocType = AliroRevocationDocType
		spec.Elements = []Element{{NameSpace: AliroRevocationDocType, Identifier: AliroDefaultElement, Value: EncodeBytes([]byte{9})}}
		rev, err := iss.Issue(spec)
		if err != nil {
			t.Fatal(err)
		}
		dev := newTestDevice(t, Aliro, doc, rev)
		cfg := &ReaderConfig{Requests: []DocRequest{Aliro.DefaultRequest()[0], {DocType: AliroRevocationDocType, NameSpaces: []RequestedNameSpace{{Name: AliroRevocationDocType, Elements: []RequestedElement{{Identifier: AliroDefaultElement}}}}}}}
		resp, _, err := runExchange(t, Aliro, dev, cfg)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := resp.Verify(&VerifyOptions{Issuers: []*IssuerKey{iss.Key()}, Time: fixedNow})
		if err != nil || len(vs) != 2 || vs[0].DocType != AliroAccessDocType || vs[1].DocType != AliroRevocationDocType {
			t.Errorf("verified %v, %v", vs, err)
		}
	})
	if _, err := NewStepUpDevice(testSecretKeys(t), &DeviceConfig{ReaderGroup: testGroup(Aliro)}); err == nil {
		t.Error("16-byte keys accepted for Aliro")
	}
	if _, err := NewHomeKeyDevice(testSecret(), nil); err == nil {
		t.Error("nil config accepted")
	}
}

func testSecretKeys(t *testing.T) *SessionKeys {
	k, err := DeriveSessionKeys([]byte{1}, nil, 16)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestReaderRefuses(t *testing.T) {
	doc := testDocument(t, Aliro)
	dev := newTestDevice(t, Aliro, doc)
	r, err := NewStepUpReader(testStepUpKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	good := dev.ProcessAPDU(nil, apdu(t, r.Command()))
	resp, _ := transport.ParseResponse(good)

	// The raw-ciphertext form some Aliro devices send is accepted.
	v, _ := tlv.Single(resp.Data, tagEnvelopeData)
	sd, _ := ParseSessionData(v)
	r2, _ := NewStepUpReader(testStepUpKeys(t), nil)
	if _, err := r2.Handle(transport.Response{Data: tlv.AppendTLV(nil, tagEnvelopeData, sd.Data), SW: dkey.SWSuccess}); err != nil {
		t.Errorf("raw ciphertext: %v", err)
	}
	// Not in Home Key.
	h, _ := handoverAPDU(t)
	hk := newTestDevice(t, HomeKey, testDocument(t, HomeKey))
	hsResp, _ := transport.ParseResponse(hk.ProcessAPDU(nil, apdu(t, h.Command())))
	hr, err := h.Handle(hsResp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hr.Handle(transport.Response{Data: tlv.AppendTLV(nil, tagEnvelopeData, make([]byte, 40)), SW: dkey.SWSuccess}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Home Key raw ciphertext: %v", err)
	}
	if _, err := h.Handle(hsResp); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("second handover response: %v", err)
	}

	for name, resp := range map[string]transport.Response{
		"status word": {SW: dkey.SWFileNotFound},
		"no tag 53":   {Data: []byte{0x54, 0}, SW: dkey.SWSuccess},
		"bad tag":     {Data: append(bytes.Clone(resp.Data[:len(resp.Data)-1]), resp.Data[len(resp.Data)-1]^1), SW: dkey.SWSuccess},
	} {
		r, _ := NewStepUpReader(testStepUpKeys(t), nil)
		if _, err := r.Handle(resp); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := r.Handle(resp); !errors.Is(err, ErrOutOfSequence) {
			t.Errorf("%s: reused reader: %v", name, err)
		}
	}
	if _, err := NewStepUpReader(testSecretKeys(t), nil); err == nil {
		t.Error("16-byte keys accepted for Aliro")
	}
	// A device that returns what was not requested.
	r3, _ := NewStepUpReader(testStepUpKeys(t), &ReaderConfig{Requests: []DocRequest{{DocType: AliroAccessDocType, NameSpaces: []RequestedNameSpace{{Name: AliroAccessDocType, Elements: []RequestedElement{{Identifier: "matter2"}}}}}}})
	ch, _ := newChannel(gcmchannel.DeviceEnd, testStepUpKeys(t))
	all, _ := (&DeviceResponse{Version: DeviceResponseVersion, Documents: []*Document{doc}}).Append(nil, Aliro)
	ct, _ := ch.seal(nil, all)
	sdata, _ := (&SessionData{Data: ct}).Append(nil)
	if _, err := r3.Handle(transport.Response{Data: tlv.AppendTLV(nil, tagEnvelopeData, sdata), SW: dkey.SWSuccess}); !errors.Is(err, ErrDocTypeMismatch) {
		t.Errorf("unrequested element: %v", err)
	}
	// A response with an error status.
	r4, _ := NewStepUpReader(testStepUpKeys(t), nil)
	ch, _ = newChannel(gcmchannel.DeviceEnd, testStepUpKeys(t))
	st, _ := (&DeviceResponse{Version: DeviceResponseVersion, Status: ResponseGeneralError}).Append(nil, Aliro)
	ct, _ = ch.seal(nil, st)
	sdata, _ = (&SessionData{Data: ct}).Append(nil)
	if _, err := r4.Handle(transport.Response{Data: tlv.AppendTLV(nil, tagEnvelopeData, sdata), SW: dkey.SWSuccess}); err == nil {
		t.Error("status 10 accepted")
	}
	// Bad reader configurations.
	if _, err := NewStepUpReader(testStepUpKeys(t), &ReaderConfig{Requests: []DocRequest{}}); err == nil {
		t.Error("empty request list accepted")
	}
	if _, err := NewHomeKeyReader(testSecret(), &ReaderConfig{Requests: []DocRequest{{DocType: "x"}}}); err == nil {
		t.Error("request without name spaces accepted")
	}
}
