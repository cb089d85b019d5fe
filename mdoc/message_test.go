package mdoc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// stepUpPair runs one Aliro request between a reader and a device in
// memory and returns both, their channel still open.
func stepUpPair(t *testing.T) (*RequestReader, *Device) {
	t.Helper()
	dev := newTestDevice(t, Aliro, testDocument(t, Aliro))
	r, err := NewStepUpReader(testStepUpKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := r.Command()
	apdu, err := cmd.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := transport.ParseResponse(dev.ProcessAPDU(nil, apdu))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Handle(resp); err != nil {
		t.Fatal(err)
	}
	return r, dev
}

// TestStepUpMessages: after the request, both sides go on under the same
// channel, counters continuing (message 2 in each direction), for the
// EXCHANGE that ends an Aliro step-up phase; a message that does not open
// ends the channel.
func TestStepUpMessages(t *testing.T) {
	r, dev := stepUpPair(t)
	ct, err := r.SealMessage(nil, []byte("reader status"))
	if err != nil {
		t.Fatal(err)
	}
	// The counter is 2: a fresh reader end seals the same bytes as its
	// second message.
	ch, _ := newChannel(gcmchannel.ReaderEnd, testStepUpKeys(t))
	ch.seal(nil, nil)
	if want, _ := ch.seal(nil, []byte("reader status")); !bytes.Equal(ct, want) {
		t.Fatalf("reader message = %x, want reader message 2 %x", ct, want)
	}
	pt, err := dev.OpenMessage(nil, ct)
	if err != nil || string(pt) != "reader status" {
		t.Fatalf("device OpenMessage = %q, %v", pt, err)
	}
	rt, err := dev.SealMessage(nil, []byte{0, 2, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := r.OpenMessage(nil, rt); err != nil || !bytes.Equal(pt, []byte{0, 2, 0, 0}) {
		t.Fatalf("reader OpenMessage = %x, %v", pt, err)
	}
	// A replay does not open, and ends the channel.
	if _, err := dev.OpenMessage(nil, ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("replayed message: %v, want ErrDecrypt", err)
	}
	if _, err := dev.SealMessage(nil, []byte{1}); err == nil || !dev.Done() {
		t.Error("the device channel is still open after a failure")
	}
	bad := bytes.Clone(rt)
	bad[0] ^= 1
	if _, err := r.OpenMessage(nil, bad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("altered response: %v, want ErrDecrypt", err)
	}
	if _, err := r.SealMessage(nil, []byte{1}); err == nil {
		t.Error("the reader channel is still open after a failure")
	}
}

func TestStepUpMessagesRefused(t *testing.T) {
	// No request answered yet.
	dev := newTestDevice(t, Aliro, testDocument(t, Aliro))
	if _, err := dev.OpenMessage(nil, make([]byte, 32)); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("OpenMessage before a request: %v", err)
	}
	r, err := NewStepUpReader(testStepUpKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.SealMessage(nil, []byte{1}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("SealMessage before the response: %v", err)
	}
	// Home Key: never.
	hk := newTestDevice(t, HomeKey, testDocument(t, HomeKey))
	if _, err := hk.SealMessage(nil, []byte{1}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Home Key SealMessage: %v", err)
	}
	// Closed.
	r, dev = stepUpPair(t)
	r.Close()
	dev.Close()
	if _, err := r.SealMessage(nil, nil); err == nil {
		t.Error("SealMessage after Close succeeded")
	}
	if _, err := dev.SealMessage(nil, nil); err == nil {
		t.Error("device SealMessage after Close succeeded")
	}
	// The session stays open after MaxExchanges requests, for the
	// EXCHANGE; a further request ends it.
	dev = newTestDevice(t, Aliro, testDocument(t, Aliro))
	ch, _ := newChannel(gcmchannel.ReaderEnd, testStepUpKeys(t))
	plain, _ := (&DeviceRequest{Version: DeviceRequestVersion, DocRequests: Aliro.DefaultRequest()}).Append(nil, Aliro)
	for range MaxExchanges {
		ct, _ := ch.seal(nil, plain)
		data, _ := (&SessionData{Data: ct}).Append(nil)
		c := transport.Command{INS: insEnvelope, Data: tlv.AppendTLV(nil, tagEnvelopeData, data), Ne: 256}
		cmd, _ := c.Append(nil)
		out := dev.ProcessAPDU(nil, cmd)
		v, err := tlv.Single(out[:len(out)-2], tagEnvelopeData)
		if err != nil {
			t.Fatal(err)
		}
		sd, _ := ParseSessionData(v)
		if _, err := ch.open(nil, sd.Data); err != nil {
			t.Fatal(err)
		}
	}
	ct, _ := ch.seal(nil, []byte("exchange"))
	if pt, err := dev.OpenMessage(nil, ct); err != nil || string(pt) != "exchange" {
		t.Errorf("message after %d requests = %q, %v", MaxExchanges, pt, err)
	}
}

func TestValidityInfo(t *testing.T) {
	doc := testDocument(t, Aliro)
	s, f, u := doc.ValidityInfo()
	if !s.Equal(testValidFrom) || !f.Equal(testValidFrom) || !u.Equal(testValidUntil) {
		t.Errorf("ValidityInfo = %v, %v, %v", s, f, u)
	}
}
