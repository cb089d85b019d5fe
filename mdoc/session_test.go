package mdoc

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/transport"
)

// sessionVectors is testdata/session_vectors.json, written by
// testdata/tools/session_vectors.py, a second implementation in Python.
type sessionVectors struct {
	HomeKey struct {
		Secret                 hexString `json:"secret"`
		HandoverRequest        hexString `json:"handover_request"`
		HandoverSelect         hexString `json:"handover_select"`
		DeviceEngagement       hexString `json:"device_engagement"`
		SessionTranscriptBytes hexString `json:"session_transcript_bytes"`
		Salt                   hexString `json:"salt"`
		SKReader               hexString `json:"sk_reader"`
		SKDevice               hexString `json:"sk_device"`
		ReaderIV1              hexString `json:"reader_iv_1"`
		DeviceIV1              hexString `json:"device_iv_1"`
		ReaderIV2              hexString `json:"reader_iv_2"`
		DeviceRequest          hexString `json:"device_request"`
		ReaderMessage1         hexString `json:"reader_message_1"`
		RequestEnvelope        hexString `json:"request_envelope"`
		DeviceResponse         hexString `json:"device_response"`
		DeviceMessage1         hexString `json:"device_message_1"`
		ReaderMessage2         hexString `json:"reader_message_2"`
	} `json:"homekey"`
	Aliro struct {
		StepUpMaterial hexString `json:"step_up_material"`
		SKReader       hexString `json:"sk_reader"`
		SKDevice       hexString `json:"sk_device"`
		DeviceRequest  hexString `json:"device_request"`
		ReaderMessage1 hexString `json:"reader_message_1"`
		DeviceResponse hexString `json:"device_response"`
		DeviceMessage1 hexString `json:"device_message_1"`
		ReaderMessage2 hexString `json:"reader_message_2"`
	} `json:"aliro"`
}

func eq(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %X, want %X", name, got, want)
	}
}

// TestSessionVectors checks the transcript, the key derivation, the IV
// layout, the request encodings and the encryption of both directions
// against the fixed-key vector of the second implementation.
func TestSessionVectors(t *testing.T) {
	var v sessionVectors
	readJSON(t, "session_vectors.json", &v)
	hk := &v.HomeKey

	st := &SessionTranscript{DeviceEngagement: hk.DeviceEngagement, HandoverSelect: hk.HandoverSelect, HandoverRequest: hk.HandoverRequest}
	eq(t, "SessionTranscriptBytes", st.AppendBytes(nil), hk.SessionTranscriptBytes)
	salt := st.Hash()
	eq(t, "salt", salt[:], hk.Salt)
	secret, err := SecretFromBytes(hk.Secret)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := homeKeySessionKeys(secret, st)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "SKReader", keys.reader[:keys.size], hk.SKReader)
	eq(t, "SKDevice", keys.device[:keys.size], hk.SKDevice)
	ch, _ := newChannel(keys)
	iv := ch.iv(ivReader)
	eq(t, "reader IV 1", iv[:], hk.ReaderIV1)
	iv = ch.iv(ivDevice)
	eq(t, "device IV 1", iv[:], hk.DeviceIV1)
	req, err := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: HomeKey.DefaultRequest()}).Append(nil, HomeKey)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Home Key DeviceRequest", req, hk.DeviceRequest)
	m1, _ := ch.seal(ivReader, nil, req)
	eq(t, "reader message 1", m1, hk.ReaderMessage1)
	iv = ch.iv(ivReader)
	eq(t, "reader IV 2", iv[:], hk.ReaderIV2)
	m2, _ := ch.seal(ivReader, nil, req)
	eq(t, "reader message 2", m2, hk.ReaderMessage2)
	resp, _ := (&DeviceResponse{Version: DeviceResponseVersion}).Append(nil, HomeKey)
	eq(t, "empty DeviceResponse", resp, hk.DeviceResponse)
	d1, _ := ch.seal(ivDevice, nil, resp)
	eq(t, "device message 1", d1, hk.DeviceMessage1)

	// The reader role end to end: the recorded handover, then the request.
	h, err := newHomeKeyReader(secret, nil, 0x0102)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Handle(transport.Response{Data: append([]byte{0x53, byte(len(hk.HandoverSelect))}, hk.HandoverSelect...), SW: 0x9000})
	if err != nil {
		t.Fatal(err)
	}
	cmd := r.Command()
	env, _ := cmd.Append(nil)
	eq(t, "request ENVELOPE", env, hk.RequestEnvelope)

	// The device role: it opens the vector's request.
	dev := newTestDevice(t, HomeKey, testDocument(t, HomeKey))
	dev.secret = *secret
	hr, _ := (&transport.Command{CLA: 0, INS: insEnvelope, P2: p2NDEF, Data: append([]byte{0x53, byte(len(hk.HandoverRequest))}, hk.HandoverRequest...), Ne: 256}).Append(nil)
	if out := dev.ProcessAPDU(nil, hr); !bytes.HasSuffix(out, []byte{0x90, 0x00}) {
		t.Fatalf("handover: %X", out)
	}
	if out := dev.ProcessAPDU(nil, hk.RequestEnvelope); !bytes.HasSuffix(out, []byte{0x90, 0x00}) || dev.Err() != nil {
		t.Fatalf("request: %X, %v", out, dev.Err())
	}

	al := &v.Aliro
	ak, err := AliroStepUpKeys(al.StepUpMaterial)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Aliro SKReader", ak.reader[:ak.size], al.SKReader)
	eq(t, "Aliro SKDevice", ak.device[:ak.size], al.SKDevice)
	areq, err := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: Aliro.DefaultRequest()}).Append(nil, Aliro)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Aliro DeviceRequest", areq, al.DeviceRequest)
	ach, _ := newChannel(ak)
	am1, _ := ach.seal(ivReader, nil, areq)
	eq(t, "Aliro reader message 1", am1, al.ReaderMessage1)
	am2, _ := ach.seal(ivReader, nil, areq)
	eq(t, "Aliro reader message 2", am2, al.ReaderMessage2)
	aresp, _ := (&DeviceResponse{Version: DeviceResponseVersion}).Append(nil, Aliro)
	eq(t, "Aliro empty DeviceResponse", aresp, al.DeviceResponse)
	ad1, _ := ach.seal(ivDevice, nil, aresp)
	eq(t, "Aliro device message 1", ad1, al.DeviceMessage1)
}

func TestDeriveSessionKeysErrors(t *testing.T) {
	for _, size := range []int{0, 15, 24, 33} {
		if _, err := DeriveSessionKeys([]byte{1}, nil, size); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
	if _, err := DeriveSessionKeys(nil, nil, 16); err == nil {
		t.Error("empty IKM accepted")
	}
	if _, err := AliroStepUpKeys(make([]byte, 31)); err == nil {
		t.Error("31-byte material accepted")
	}
}

func TestChannel(t *testing.T) {
	keys := testStepUpKeys(t)
	a, _ := newChannel(keys)
	b, _ := newChannel(keys)
	for i := range 3 {
		msg := []byte(fmt.Sprintf("message %d", i))
		ct, err := a.seal(ivReader, nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := b.open(ivReader, nil, ct)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("message %d: %q, %v", i, pt, err)
		}
	}
	// Replay: the counter moved on.
	ct, _ := a.seal(ivReader, nil, []byte("x"))
	if _, err := b.open(ivReader, nil, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := b.open(ivReader, nil, ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("replayed message: %v, want ErrDecrypt", err)
	}
	// A failed open leaves the counter where it was.
	ct, _ = a.seal(ivReader, nil, []byte("y"))
	bad := bytes.Clone(ct)
	bad[0] ^= 1
	if _, err := b.open(ivReader, nil, bad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("altered message: %v", err)
	}
	if _, err := b.open(ivReader, nil, ct); err != nil {
		t.Errorf("genuine message after an altered one: %v", err)
	}
	for n := range gcmTagSize {
		if _, err := b.open(ivDevice, nil, make([]byte, n)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%d-byte message: %v", n, err)
		}
	}
	// Counter exhaustion.
	a.ctr[ivDevice] = 1<<32 - 1
	if _, err := a.seal(ivDevice, nil, nil); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("seal at the last counter: %v", err)
	}
}

func TestSecretRedaction(t *testing.T) {
	s := testSecret()
	keys := testStepUpKeys(t)
	iss := testIssuer(t, HomeKey)
	h, _ := newHomeKeyReader(s, nil, 1)
	r, _ := NewStepUpReader(keys, nil)
	dev := newTestDevice(t, HomeKey, testDocument(t, HomeKey))
	for _, v := range []any{s, keys, iss, h, r, dev} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			out := fmt.Sprintf(verb, v)
			if bytes.Contains([]byte(out), []byte("5051")) || !bytes.Contains([]byte(out), []byte("redacted")) {
				t.Errorf("Sprintf(%q, %T) = %q", verb, v, out)
			}
		}
	}
	s.Zeroize()
	if s.b != [SecretSize]byte{} {
		t.Error("Zeroize left the secret")
	}
	keys.Zeroize()
	if keys.reader != [32]byte{} || keys.device != [32]byte{} {
		t.Error("Zeroize left the keys")
	}
}

func TestHomeKeyExchange(t *testing.T) {
	s := testSecret()
	b := AppendHomeKeyExchange(nil, s)
	want := append([]byte{0x00, 0x8E, 0x22, 0xC0, 0x20}, s.b[:]...)
	eq(t, "EXCHANGE plaintext", b, want)
	got, err := ParseHomeKeyExchange(b)
	if err != nil || got.b != s.b {
		t.Fatalf("ParseHomeKeyExchange = %v, %v", got, err)
	}
	for i := range b[:5] {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if _, err := ParseHomeKeyExchange(c); !errors.Is(err, ErrMalformed) {
			t.Errorf("byte %d flipped: %v", i, err)
		}
	}
	for n := range len(b) {
		if _, err := ParseHomeKeyExchange(b[:n]); err == nil {
			t.Errorf("prefix of %d bytes parsed", n)
		}
	}
	if _, err := ParseHomeKeyExchange(append(b, 0)); err == nil {
		t.Error("trailing byte parsed")
	}
}
