package mdoc

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// ENVELOPE (ISO/IEC 7816-4 §11.7.2 as Home Key and Aliro use it, docs/protocol.md
// §2.3): CLA 00, INS C3, P1 00, P2 01 for the NDEF handover and 00 for
// SessionData, the data in BER-TLV tag 53, Le 00.
const (
	claEnvelope      = 0x00
	insEnvelope      = 0xC3
	p2NDEF           = 0x01
	p2SessionData    = 0x00
	tagEnvelopeData  = 0x53
	envelopeResponse = transport.MaxShortNe // Le 00, as the recorded reader sends
)

// ReaderConfig configures the reader side of an exchange. A nil
// *ReaderConfig, or nil Requests, asks for the dialect's default request
// (see [Dialect.DefaultRequest]).
type ReaderConfig struct {
	Requests []DocRequest
}

func (c *ReaderConfig) request(d Dialect) *DeviceRequest {
	r := &DeviceRequest{Version: DeviceRequestVersion}
	if c != nil && c.Requests != nil {
		for _, dr := range c.Requests { // copy: check sorts
			dr.NameSpaces = append([]RequestedNameSpace(nil), dr.NameSpaces...)
			for i := range dr.NameSpaces {
				dr.NameSpaces[i].Elements = append([]RequestedElement(nil), dr.NameSpaces[i].Elements...)
			}
			r.DocRequests = append(r.DocRequests, dr)
		}
	} else {
		r.DocRequests = d.DefaultRequest()
	}
	return r
}

// HandoverReader is the first phase of the Home Key reader: the NFC
// handover. It holds the EXCHANGE secret until the handover select arrives
// and the session keys are derived.
type HandoverReader struct {
	secret  Secret
	request *DeviceRequest
	hr      []byte // handover request NDEF message
	cmd     []byte // ENVELOPE data
	used    bool
}

// NewHomeKeyReader starts the reader side of a Home Key attestation
// exchange with the secret the reader sent in the transaction's EXCHANGE
// ([AppendHomeKeyExchange]). The collision resolution random number of the
// handover request comes from crypto/rand. A nil secret is an error.
func NewHomeKeyReader(secret *Secret, cfg *ReaderConfig) (*HandoverReader, error) {
	if secret == nil {
		return nil, errors.New("mdoc: NewHomeKeyReader needs a Secret (nil)")
	}
	var r [2]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("mdoc: %w", err)
	}
	return newHomeKeyReader(secret, cfg, binary.BigEndian.Uint16(r[:]))
}

// newHomeKeyReader is NewHomeKeyReader with the random number given, for
// known-answer tests.
func newHomeKeyReader(secret *Secret, cfg *ReaderConfig, random uint16) (*HandoverReader, error) {
	if secret == nil {
		return nil, errors.New("mdoc: NewHomeKeyReader needs a Secret (nil)")
	}
	req := cfg.request(HomeKey)
	if err := req.check(); err != nil {
		return nil, err
	}
	hr, err := (&HandoverRequest{Random: random, Engagement: HomeKeyReaderEngagement()}).Append(nil)
	if err != nil {
		return nil, err
	}
	h := &HandoverReader{secret: *secret, request: req, hr: hr}
	h.cmd = tlv.AppendTLV(nil, tagEnvelopeData, hr)
	return h, nil
}

// String describes the reader without its secret.
func (h *HandoverReader) String() string { return "mdoc.HandoverReader(HomeKey, secret redacted)" }

// GoString is String.
func (h *HandoverReader) GoString() string { return h.String() }

// Format writes String whatever the verb.
func (h *HandoverReader) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(h.String())) }

// Command returns the first ENVELOPE: P2 01, the handover request. Its data
// is valid until the reader is used again.
func (h *HandoverReader) Command() transport.Command {
	return transport.Command{CLA: claEnvelope, INS: insEnvelope, P2: p2NDEF, Data: h.cmd, Ne: envelopeResponse}
}

// Handle takes the response to [HandoverReader.Command], whole (GET
// RESPONSE rounds joined, as transport.Client returns it), derives the
// session keys and returns the second phase. The reader is spent either
// way, and its copy of the secret is cleared.
func (h *HandoverReader) Handle(resp transport.Response) (*RequestReader, error) {
	if h.used {
		return nil, &UnexpectedMessageError{Want: "a new HandoverReader", Got: "a second handover response"}
	}
	h.used = true
	defer h.secret.Zeroize()
	if err := resp.SW.Err(); err != nil {
		return nil, fmt.Errorf("mdoc: handover ENVELOPE: %w", err)
	}
	hs, err := tlv.Single(resp.Data, tagEnvelopeData)
	if err != nil {
		return nil, fmt.Errorf("%w: handover ENVELOPE response: %w", ErrMalformed, err)
	}
	sel, err := ParseHandoverSelect(hs)
	if err != nil {
		return nil, err
	}
	de, err := sel.Engagement.Append(nil) // its received bytes: ParseEngagement checked they are canonical
	if err != nil {
		return nil, err
	}
	keys, err := homeKeySessionKeys(&h.secret, &SessionTranscript{DeviceEngagement: de, HandoverSelect: hs, HandoverRequest: h.hr})
	if err != nil {
		return nil, err
	}
	defer keys.Zeroize()
	return newRequestReader(HomeKey, keys, h.request)
}

// homeKeySessionKeys derives the Home Key session keys: HKDF-SHA256 of the
// secret, salt SHA-256(SessionTranscriptBytes), 16 bytes each (I+ [AHKR]
// homekey.py exchange_attestation, util/iso18013.py).
func homeKeySessionKeys(s *Secret, t *SessionTranscript) (*SessionKeys, error) {
	salt := t.Hash()
	return DeriveSessionKeys(s.b[:], salt[:], HomeKey.KeySize())
}

// RequestReader is the reader's phase with session keys: it sends the
// encrypted DeviceRequest and opens the DeviceResponse.
type RequestReader struct {
	dialect Dialect
	ch      *channel
	request *DeviceRequest
	cmd     []byte
	used    bool
}

// NewStepUpReader starts the reader side of an Aliro step-up exchange with
// the step-up keys of the transaction ([AliroStepUpKeys]). Nil keys are an
// error.
func NewStepUpReader(keys *SessionKeys, cfg *ReaderConfig) (*RequestReader, error) {
	if keys == nil {
		return nil, errors.New("mdoc: NewStepUpReader needs SessionKeys (nil)")
	}
	if keys.size != Aliro.KeySize() {
		return nil, fmt.Errorf("mdoc: Aliro step-up keys of %d bytes, want %d", keys.size, Aliro.KeySize())
	}
	req := cfg.request(Aliro)
	if err := req.check(); err != nil {
		return nil, err
	}
	return newRequestReader(Aliro, keys, req)
}

func newRequestReader(d Dialect, keys *SessionKeys, req *DeviceRequest) (*RequestReader, error) {
	ch, err := newChannel(gcmchannel.ReaderEnd, keys)
	if err != nil {
		return nil, err
	}
	r := &RequestReader{dialect: d, ch: ch, request: req}
	plain, err := req.Append(nil, d)
	if err != nil {
		return nil, err
	}
	ct, err := ch.seal(nil, plain)
	if err != nil {
		return nil, err
	}
	sd, err := (&SessionData{Data: ct}).Append(nil)
	if err != nil {
		return nil, err
	}
	r.cmd = tlv.AppendTLV(nil, tagEnvelopeData, sd)
	return r, nil
}

// String describes the reader without its keys.
func (r *RequestReader) String() string {
	return "mdoc.RequestReader(" + r.dialect.String() + ", keys redacted)"
}

// GoString is String.
func (r *RequestReader) GoString() string { return r.String() }

// Format writes String whatever the verb.
func (r *RequestReader) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// Request returns the DeviceRequest the reader sends.
func (r *RequestReader) Request() *DeviceRequest { return r.request }

// Command returns the ENVELOPE (P2 00) carrying the encrypted DeviceRequest
// in a SessionData. Its data is valid until the reader is used again.
func (r *RequestReader) Command() transport.Command {
	return transport.Command{CLA: claEnvelope, INS: insEnvelope, P2: p2SessionData, Data: r.cmd, Ne: envelopeResponse}
}

// Handle takes the response to [RequestReader.Command], whole (GET RESPONSE
// rounds joined), opens it and returns the DeviceResponse. It checks that
// the response is well-formed, has status 0, and returns only requested
// documents and elements; the documents are not verified (see
// [DeviceResponse.Verify]). A SessionData with a status and no data gives a
// *[StatusError]; a message that does not open gives ErrDecrypt. The
// reader is spent either way.
func (r *RequestReader) Handle(resp transport.Response) (*DeviceResponse, error) {
	if r.used {
		return nil, &UnexpectedMessageError{Want: "a new RequestReader", Got: "a second response"}
	}
	r.used = true
	ok := false
	defer func() {
		// An Aliro step-up phase goes on under the same channel (the
		// EXCHANGE that ends it, SealMessage); anything else ends here.
		if !ok || r.dialect != Aliro {
			r.close()
		}
	}()
	if err := resp.SW.Err(); err != nil {
		return nil, fmt.Errorf("mdoc: ENVELOPE: %w", err)
	}
	v, err := tlv.Single(resp.Data, tagEnvelopeData)
	if err != nil {
		return nil, fmt.Errorf("%w: ENVELOPE response: %w", ErrMalformed, err)
	}
	var ct []byte
	sd, err := ParseSessionData(v)
	switch {
	case err == nil && sd.Data == nil:
		return nil, &StatusError{Status: sd.Status}
	case err == nil:
		ct = sd.Data
	case r.dialect == Aliro:
		// Some Aliro devices return the ciphertext without the SessionData
		// map (I [ALIRO] README "ENVELOPE", note); the public readers try
		// SessionData first, then the raw form. AES-GCM authenticates
		// either.
		ct = v
	default:
		return nil, err
	}
	plain, err := r.ch.open(nil, ct)
	if err != nil {
		return nil, err
	}
	dr, err := ParseDeviceResponse(r.dialect, plain)
	if err != nil {
		return nil, err
	}
	if dr.Status != ResponseOK {
		return nil, fmt.Errorf("mdoc: DeviceResponse status %d", dr.Status)
	}
	for _, doc := range dr.Documents {
		answered := false
		for i := range r.request.DocRequests {
			if doc.answers(&r.request.DocRequests[i]) {
				answered = true
				break
			}
		}
		if !answered {
			return nil, fmt.Errorf("%w: %q or some of its elements not requested", ErrDocTypeMismatch, doc.docType)
		}
	}
	ok = true
	return dr, nil
}

func (r *RequestReader) close() {
	if r.ch != nil {
		r.ch.close() // the AEADs hold the expanded keys; drop them
		r.ch = nil
	}
}

// SealMessage appends the reader's next message on the session's channel:
// the EXCHANGE commands that end an Aliro step-up phase after the
// ENVELOPE (package transaction, AliroReaderSession.StepUpExchange), under
// SKReader with the message counter after the ENVELOPE's. It works after
// a successful Handle in the Aliro dialect, until Close or a failure.
func (r *RequestReader) SealMessage(dst, plaintext []byte) ([]byte, error) {
	if r.ch == nil || !r.used {
		return dst, &UnexpectedMessageError{Want: "a step-up message after the DeviceResponse", Got: "a message without a channel"}
	}
	out, err := r.ch.seal(dst, plaintext)
	if err != nil {
		r.close()
	}
	return out, err
}

// OpenMessage appends the plaintext of the device's next message on the
// session's channel (the responses to SealMessage's commands). A message
// that does not open returns ErrDecrypt and ends the channel.
func (r *RequestReader) OpenMessage(dst, ciphertext []byte) ([]byte, error) {
	if r.ch == nil || !r.used {
		return dst, &UnexpectedMessageError{Want: "a step-up message after the DeviceResponse", Got: "a message without a channel"}
	}
	out, err := r.ch.open(dst, ciphertext)
	if err != nil {
		r.close()
	}
	return out, err
}

// Close ends the session's channel, dropping its keys.
func (r *RequestReader) Close() { r.close() }
