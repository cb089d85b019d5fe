package mdoc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/internal/gcmchannel"
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
	// The IVs: the 8-byte direction identifier then the 4-byte counter, as
	// the vector's second implementation writes them; the channel's
	// messages are AES-GCM under those IVs.
	eq(t, "reader IV 1", sessionIV(0, 1), hk.ReaderIV1)
	eq(t, "device IV 1", sessionIV(1, 1), hk.DeviceIV1)
	eq(t, "reader IV 2", sessionIV(0, 2), hk.ReaderIV2)
	req, err := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: HomeKey.DefaultRequest()}).Append(nil, HomeKey)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Home Key DeviceRequest", req, hk.DeviceRequest)
	rch, _ := newChannel(gcmchannel.ReaderEnd, keys)
	dch, _ := newChannel(gcmchannel.DeviceEnd, keys)
	m1, _ := rch.seal(nil, req)
	eq(t, "reader message 1", m1, hk.ReaderMessage1)
	eq(t, "reader message 1 under reader IV 1", gcmSeal(t, hk.SKReader, hk.ReaderIV1, req), hk.ReaderMessage1)
	m2, _ := rch.seal(nil, req)
	eq(t, "reader message 2", m2, hk.ReaderMessage2)
	eq(t, "reader message 2 under reader IV 2", gcmSeal(t, hk.SKReader, hk.ReaderIV2, req), hk.ReaderMessage2)
	resp, _ := (&DeviceResponse{Version: DeviceResponseVersion}).Append(nil, HomeKey)
	eq(t, "empty DeviceResponse", resp, hk.DeviceResponse)
	d1, _ := dch.seal(nil, resp)
	eq(t, "device message 1", d1, hk.DeviceMessage1)
	eq(t, "device message 1 under device IV 1", gcmSeal(t, hk.SKDevice, hk.DeviceIV1, resp), hk.DeviceMessage1)
	for i, m := range [][]byte{hk.ReaderMessage1, hk.ReaderMessage2} {
		if pt, err := dch.open(nil, m); err != nil || !bytes.Equal(pt, req) {
			t.Errorf("device end opens reader message %d = %X, %v", i+1, pt, err)
		}
	}
	if pt, err := rch.open(nil, hk.DeviceMessage1); err != nil || !bytes.Equal(pt, resp) {
		t.Errorf("reader end opens device message 1 = %X, %v", pt, err)
	}

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
	ach, _ := newChannel(gcmchannel.ReaderEnd, ak)
	am1, _ := ach.seal(nil, areq)
	eq(t, "Aliro reader message 1", am1, al.ReaderMessage1)
	am2, _ := ach.seal(nil, areq)
	eq(t, "Aliro reader message 2", am2, al.ReaderMessage2)
	aresp, _ := (&DeviceResponse{Version: DeviceResponseVersion}).Append(nil, Aliro)
	eq(t, "Aliro empty DeviceResponse", aresp, al.DeviceResponse)
	adch, _ := newChannel(gcmchannel.DeviceEnd, ak)
	ad1, _ := adch.seal(nil, aresp)
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

// sessionIV returns the IV of message ctr in direction dir as ISO/IEC
// 18013-5 §9.1.1.5 lays it out, written here independently of
// internal/gcmchannel.
func sessionIV(dir uint64, ctr uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, dir), ctr)
}

// gcmSeal is AES-GCM with an explicit IV and no additional data.
func gcmSeal(t *testing.T, key, iv, plaintext []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return g.Seal(nil, iv, plaintext, nil)
}

func TestChannel(t *testing.T) {
	keys := testStepUpKeys(t)
	a, _ := newChannel(gcmchannel.ReaderEnd, keys)
	b, _ := newChannel(gcmchannel.DeviceEnd, keys)
	for i := range 3 {
		msg := []byte(fmt.Sprintf("message %d", i))
		ct, err := a.seal(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, fmt.Sprintf("reader message %d", i+1), ct, gcmSeal(t, keys.reader[:keys.size], sessionIV(0, uint32(i+1)), msg))
		pt, err := b.open(nil, ct)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("message %d: %q, %v", i, pt, err)
		}
		back, err := b.seal(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, fmt.Sprintf("device message %d", i+1), back, gcmSeal(t, keys.device[:keys.size], sessionIV(1, uint32(i+1)), msg))
		if pt, err := a.open(nil, back); err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("device message %d: %q, %v", i, pt, err)
		}
	}
	// Replay: the counter moved on; the failure is ErrDecrypt itself.
	ct, _ := a.seal(nil, []byte("x"))
	if _, err := b.open(nil, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := b.open(nil, ct); err != ErrDecrypt {
		t.Errorf("replayed message: %v, want ErrDecrypt", err)
	}
	for n := range gcmchannel.TagSize {
		c, _ := newChannel(gcmchannel.ReaderEnd, keys)
		if _, err := c.open(nil, make([]byte, n)); err != ErrDecrypt {
			t.Errorf("%d-byte message: %v", n, err)
		}
	}
}

// TestChannelBrokenByTamperedMessage: a message that does not authenticate
// ends the channel for good (ISO/IEC 18013-5 §9.1.1.5 session termination;
// Aliro's failure process). The genuine message that follows a tampered
// one does not open, and neither end of the broken channel seals again.
func TestChannelBrokenByTamperedMessage(t *testing.T) {
	keys := testStepUpKeys(t)
	for _, end := range []gcmchannel.Role{gcmchannel.ReaderEnd, gcmchannel.DeviceEnd} {
		peer := gcmchannel.DeviceEnd
		if end == gcmchannel.DeviceEnd {
			peer = gcmchannel.ReaderEnd
		}
		t.Run(end.String(), func(t *testing.T) {
			me, _ := newChannel(end, keys)
			other, _ := newChannel(peer, keys)
			first, _ := other.seal(nil, []byte("first"))
			if _, err := me.open(nil, first); err != nil {
				t.Fatal(err)
			}
			ct, _ := other.seal(nil, []byte("second"))
			bad := bytes.Clone(ct)
			bad[len(bad)-1] ^= 1
			if _, err := me.open(nil, bad); err != ErrDecrypt {
				t.Fatalf("tampered message: %v, want ErrDecrypt", err)
			}
			if pt, err := me.open(nil, ct); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("genuine message after a tampered one = %q, %v; want ErrOutOfSequence", pt, err)
			}
			later, _ := other.seal(nil, []byte("third"))
			if pt, err := me.open(nil, later); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("later message = %q, %v; want ErrOutOfSequence", pt, err)
			}
			if _, err := me.seal(nil, []byte("reply")); !errors.Is(err, ErrOutOfSequence) {
				t.Errorf("seal after a tampered message: %v, want ErrOutOfSequence", err)
			}
		})
	}
}

// TestChannelExhausted: past the counter limit neither direction goes on,
// with ErrOutOfSequence; the session's limit is 2^32 - 2.
func TestChannelExhausted(t *testing.T) {
	if maxCounter != 1<<32-2 {
		t.Errorf("maxCounter = %d, want 2^32 - 2", maxCounter)
	}
	keys := testStepUpKeys(t)
	a, _ := newChannelLimit(gcmchannel.ReaderEnd, keys, 2)
	b, _ := newChannelLimit(gcmchannel.DeviceEnd, keys, 2)
	for range 2 {
		ct, err := a.seal(nil, []byte{1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.open(nil, ct); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.seal(nil, nil); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("seal past the last counter: %v", err)
	}
	if _, err := b.open(nil, make([]byte, gcmchannel.TagSize)); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("open past the last counter: %v", err)
	}
	a.close()
	if _, err := a.seal(nil, nil); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("seal on a closed channel: %v", err)
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
