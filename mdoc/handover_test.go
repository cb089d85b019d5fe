package mdoc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// TestHandoverRecordedIPhone checks both roles against the recorded iPhone
// handover (testdata/homekey_handover.transcript): the reader's ENVELOPE
// with the recorded collision random number is the recorded command byte
// for byte, and the device's answer to the recorded command is the
// iPhone's reply byte for byte.
func TestHandoverRecordedIPhone(t *testing.T) {
	tr := readTranscript(t, "homekey_handover.transcript")
	if len(tr) != 2 {
		t.Fatalf("transcript has %d exchanges, want 2", len(tr))
	}
	sel, env := tr[0], tr[1]

	// The reader's SELECT and ENVELOPE.
	cmd := selectCommand(HomeKey)
	if got, _ := cmd.Append(nil); !bytes.Equal(got, sel.Command) {
		t.Errorf("SELECT = %X, want %X", got, sel.Command)
	}
	secret := &Secret{}
	h, err := newHomeKeyReader(secret, nil, 0x0102)
	if err != nil {
		t.Fatal(err)
	}
	c := h.Command()
	if got, _ := c.Append(nil); !bytes.Equal(got, env.Command) {
		t.Errorf("handover ENVELOPE =\n%X\nwant\n%X", got, env.Command)
	}

	// The device's reply.
	doc := testDocument(t, HomeKey)
	p, err := NewProvisioned(testGroup(HomeKey), doc)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := NewHomeKeyDevice(secret, &DeviceConfig{Documents: []*Provisioned{p}, ReaderGroup: testGroup(HomeKey)})
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.ProcessAPDU(nil, env.Command); !bytes.Equal(got, env.Response) {
		t.Errorf("handover reply =\n%X\nwant\n%X", got, env.Response)
	}

	// The recorded reply parses into what the device sends.
	resp, _ := transport.ParseResponse(env.Response)
	v, err := tlv.Single(resp.Data, tagEnvelopeData)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ParseHandoverSelect(v)
	if err != nil {
		t.Fatal(err)
	}
	if hs.MaxCommandData != DefaultMaxData || hs.MaxResponseData != DefaultMaxData {
		t.Errorf("carrier limits %#x %#x, want %#x", hs.MaxCommandData, hs.MaxResponseData, DefaultMaxData)
	}
	want, _ := HomeKeyDeviceEngagement().Append(nil)
	if got, _ := hs.Engagement.Append(nil); !bytes.Equal(got, want) {
		t.Errorf("device engagement %X, want %X", got, want)
	}
	// And the recorded request parses with the recorded random number.
	cmdParsed, _ := transport.ParseCommand(env.Command)
	v, _ = tlv.Single(cmdParsed.Data, tagEnvelopeData)
	hr, err := ParseHandoverRequest(v)
	if err != nil {
		t.Fatal(err)
	}
	if hr.Random != 0x0102 {
		t.Errorf("collision random %#04x, want 0x0102", hr.Random)
	}
}

// TestRecordedRequestEnvelope checks the framing of the recorded request
// ENVELOPE and of its chained answer against what the package builds and
// reads: a SessionData in tag 53, a 16-byte tag, and a response served in
// pieces that join into one tag 53.
func TestRecordedRequestEnvelope(t *testing.T) {
	tr := readTranscript(t, "homekey_request_envelope.transcript")
	cmd, err := transport.ParseCommand(tr[0].Command)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.CLA != claEnvelope || cmd.INS != insEnvelope || cmd.P1 != 0 || cmd.P2 != p2SessionData || cmd.Ne != envelopeResponse {
		t.Errorf("request ENVELOPE header %02X%02X%02X%02X Ne %d", cmd.CLA, cmd.INS, cmd.P1, cmd.P2, cmd.Ne)
	}
	v, err := tlv.Single(cmd.Data, tagEnvelopeData)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := ParseSessionData(v)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Status != 0 || len(sd.Data) != 172 {
		t.Errorf("SessionData status %d, %d bytes of data, want 0 and 172", sd.Status, len(sd.Data))
	}
	again, _ := sd.Append(nil)
	if !bytes.Equal(again, v) {
		t.Errorf("SessionData re-encodes as %X, want %X", again, v)
	}
	// The chained answer.
	var data []byte
	for i, e := range tr {
		r, err := transport.ParseResponse(e.Response)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, r.Data...)
		if i < len(tr)-1 && r.SW.SW1() != 0x61 || i == len(tr)-1 && r.SW != 0x9000 {
			t.Errorf("exchange %d: SW %04X", i, uint16(r.SW))
		}
	}
	v, err = tlv.Single(data, tagEnvelopeData)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(v, []byte{0xA1, 0x64, 'd', 'a', 't', 'a', 0x59, 0x02, 0xBC}) || len(v) != 9+0x2BC {
		t.Errorf("answer % X..., %d bytes", v[:9], len(v))
	}
	// Redacted: it does not decode as SessionData, and nothing could open it.
	if _, err := ParseSessionData(v); err != nil {
		t.Logf("redacted SessionData: %v", err)
	}
}

func TestHandoverStrict(t *testing.T) {
	tr := readTranscript(t, "homekey_handover.transcript")
	cmd, _ := transport.ParseCommand(tr[1].Command)
	hr, _ := tlv.Single(cmd.Data, tagEnvelopeData)
	resp, _ := transport.ParseResponse(tr[1].Response)
	hs, _ := tlv.Single(resp.Data, tagEnvelopeData)
	for i := range hr {
		b := bytes.Clone(hr)
		b[i] ^= 0x01
		if _, err := ParseHandoverRequest(b); err == nil {
			// Only the collision random number and the reader engagement's
			// opaque entry (key -1 and the value [-10]) may change.
			if i != 11 && i != 12 && i != len(hr)-3 && i != len(hr)-1 {
				t.Errorf("request with byte %d flipped parsed", i)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("request with byte %d flipped: %v, want ErrMalformed", i, err)
		}
	}
	for i := range hs {
		b := bytes.Clone(hs)
		b[i] ^= 0x01
		if got, err := ParseHandoverSelect(b); err == nil {
			// The carrier limits may change (never to zero), and so may
			// the device engagement's opaque value [-10].
			limit := i == 49 || i == 50 || i == 53 || i == 54
			if !limit && i != len(hs)-1 || got.MaxCommandData == 0 || got.MaxResponseData == 0 {
				t.Errorf("select with byte %d flipped parsed", i)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("select with byte %d flipped: %v, want ErrMalformed", i, err)
		}
	}
	for n := range len(hr) {
		if _, err := ParseHandoverRequest(hr[:n]); err == nil {
			t.Errorf("request prefix of %d bytes parsed", n)
		}
	}
	for n := range len(hs) {
		if _, err := ParseHandoverSelect(hs[:n]); err == nil {
			t.Errorf("select prefix of %d bytes parsed", n)
		}
	}
}
