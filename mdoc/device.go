package mdoc

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// DeviceConfig configures the device side of an exchange.
type DeviceConfig struct {
	// Documents are the documents the applet holds. The session serves
	// those of its dialect provisioned for ReaderGroup.
	Documents []*Provisioned
	// ReaderGroup is the reader group identifier of the transaction that
	// opened the session: the first 8 bytes of the Home Key reader
	// identifier, the first 16 of the Aliro one.
	ReaderGroup []byte
	// MaxCommandData and MaxResponseData are the NFC carrier limits the
	// Home Key handover select declares. Zero means DefaultMaxData, as the
	// iPhone declares.
	MaxCommandData, MaxResponseData uint16
}

// Device is the device side of one exchange: the applet behind the Home
// Key configuration applet or the Aliro step-up applet, after its SELECT.
// It answers ENVELOPE commands as a transport.Card; the applet routes the
// APDUs of the selected step-up applet to it and answers SELECT itself.
// Responses longer than the command's Le are returned whole: put a
// transport.ChainingCard in front (it serves them with 61xx and GET
// RESPONSE, as the iPhone does), or let the applet do the same.
//
// A Device is single-use: any malformed, out-of-sequence or unauthentic
// command ends it (Err tells why), and every command after that is
// answered 6985. It is not safe for concurrent use.
type Device struct {
	dialect Dialect
	secret  Secret // Home Key, until the handover
	docs    []*Document
	maxCmd  uint16
	maxResp uint16

	handover  bool // Home Key: the handover is done
	ch        *channel
	exchanges int
	closed    bool
	err       error
}

var _ transport.Card = (*Device)(nil)

// NewHomeKeyDevice returns the device side of a Home Key attestation
// exchange, with the secret the reader sent in the transaction's EXCHANGE
// ([ParseHomeKeyExchange]). It fails with ErrNoDocument when the applet
// holds no Home Key document for the reader group. A nil secret is an
// error.
func NewHomeKeyDevice(secret *Secret, cfg *DeviceConfig) (*Device, error) {
	if secret == nil {
		return nil, errors.New("mdoc: NewHomeKeyDevice needs a Secret (nil)")
	}
	d, err := newDevice(HomeKey, cfg)
	if err != nil {
		return nil, err
	}
	d.secret = *secret
	return d, nil
}

// NewStepUpDevice returns the device side of an Aliro step-up exchange with
// the step-up keys of the transaction ([AliroStepUpKeys]). It fails with
// ErrNoDocument when the applet holds no Aliro document for the reader
// group. Nil keys are an error.
func NewStepUpDevice(keys *SessionKeys, cfg *DeviceConfig) (*Device, error) {
	if keys == nil {
		return nil, errors.New("mdoc: NewStepUpDevice needs SessionKeys (nil)")
	}
	if keys.size != Aliro.KeySize() {
		return nil, fmt.Errorf("mdoc: Aliro step-up keys of %d bytes, want %d", keys.size, Aliro.KeySize())
	}
	d, err := newDevice(Aliro, cfg)
	if err != nil {
		return nil, err
	}
	if d.ch, err = newChannel(gcmchannel.DeviceEnd, keys); err != nil {
		return nil, err
	}
	return d, nil
}

func newDevice(dialect Dialect, cfg *DeviceConfig) (*Device, error) {
	if cfg == nil {
		cfg = &DeviceConfig{}
	}
	if len(cfg.ReaderGroup) != dialect.readerGroupLen() {
		return nil, fmt.Errorf("mdoc: %v reader group of %d bytes, want %d", dialect, len(cfg.ReaderGroup), dialect.readerGroupLen())
	}
	d := &Device{dialect: dialect, maxCmd: cfg.MaxCommandData, maxResp: cfg.MaxResponseData}
	if d.maxCmd == 0 {
		d.maxCmd = DefaultMaxData
	}
	if d.maxResp == 0 {
		d.maxResp = DefaultMaxData
	}
	for _, p := range cfg.Documents {
		if p != nil && p.Document != nil && p.Document.dialect == dialect && bytes.Equal(p.ReaderGroup, cfg.ReaderGroup) {
			d.docs = append(d.docs, p.Document)
		}
	}
	if len(d.docs) == 0 {
		return nil, fmt.Errorf("%w: no %v document for reader group %x", ErrNoDocument, dialect, cfg.ReaderGroup)
	}
	return d, nil
}

// String describes the session without its secrets.
func (d *Device) String() string {
	return fmt.Sprintf("mdoc.Device(%v, handover %t, exchanges %d, done %t, keys redacted)", d.dialect, d.handover, d.exchanges, d.closed)
}

// GoString is String.
func (d *Device) GoString() string { return d.String() }

// Format writes String whatever the verb, so that no verb prints the
// secret or the keys.
func (d *Device) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(d.String())) }

// Err returns why the session ended early, or nil.
func (d *Device) Err() error { return d.err }

// Done reports whether the session is over: ended by the reader, by an
// error, or by Close.
func (d *Device) Done() bool { return d.closed }

// Close ends the session and clears its secrets.
func (d *Device) Close() {
	d.closed = true
	d.secret.Zeroize()
	if d.ch != nil {
		d.ch.close()
		d.ch = nil
	}
}

// fail ends the session with err and answers sw.
func (d *Device) fail(dst []byte, sw dkey.StatusWord, err error) []byte {
	d.err = err
	d.Close()
	return transport.AppendResponse(dst, nil, sw)
}

// ProcessAPDU answers one command APDU (see [Device]).
func (d *Device) ProcessAPDU(dst, command []byte) []byte {
	if d.closed {
		return transport.AppendResponse(dst, nil, dkey.SWConditionsNotSatisfied)
	}
	cmd, err := transport.ParseCommand(command)
	switch {
	case err != nil:
		return d.fail(dst, dkey.SWWrongLength, fmt.Errorf("%w: %w", ErrMalformed, err))
	case cmd.CLA != claEnvelope:
		return d.fail(dst, dkey.SWClassNotSupported, &UnexpectedMessageError{Want: "ENVELOPE", Got: fmt.Sprintf("CLA %02X", cmd.CLA)})
	case cmd.INS != insEnvelope:
		return d.fail(dst, dkey.SWInstructionNotSupported, &UnexpectedMessageError{Want: "ENVELOPE", Got: fmt.Sprintf("INS %02X", cmd.INS)})
	case cmd.P1 != 0 || (cmd.P2 != p2NDEF && cmd.P2 != p2SessionData) || (cmd.P2 == p2NDEF && d.dialect != HomeKey):
		return d.fail(dst, dkey.SWWrongP1P2, &UnexpectedMessageError{Want: "ENVELOPE P1-P2 0000 or 0001", Got: fmt.Sprintf("P1-P2 %02X%02X", cmd.P1, cmd.P2)})
	}
	handover := cmd.P2 == p2NDEF
	if handover == (d.dialect != HomeKey || d.handover) {
		want := "the NDEF handover (P2 01)"
		if handover {
			want = "SessionData (P2 00)"
		}
		return d.fail(dst, dkey.SWConditionsNotSatisfied, &UnexpectedMessageError{Want: want, Got: fmt.Sprintf("ENVELOPE P2 %02X", cmd.P2)})
	}
	v, err := tlv.Single(cmd.Data, tagEnvelopeData)
	if err != nil {
		return d.fail(dst, dkey.SWWrongData, fmt.Errorf("%w: ENVELOPE data: %w", ErrMalformed, err))
	}
	if handover {
		return d.handleHandover(dst, v)
	}
	if d.exchanges >= MaxExchanges {
		return d.fail(dst, dkey.SWConditionsNotSatisfied, &UnexpectedMessageError{Want: "no more than MaxExchanges requests", Got: "another ENVELOPE"})
	}
	return d.handleSession(dst, v)
}

// handleHandover answers the handover request with the handover select and
// derives the session keys.
func (d *Device) handleHandover(dst, hr []byte) []byte {
	if _, err := ParseHandoverRequest(hr); err != nil {
		return d.fail(dst, dkey.SWWrongData, err)
	}
	sel := &HandoverSelect{MaxCommandData: d.maxCmd, MaxResponseData: d.maxResp, Engagement: HomeKeyDeviceEngagement()}
	hs, err := sel.Append(nil)
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	de, err := sel.Engagement.Append(nil)
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	keys, err := homeKeySessionKeys(&d.secret, &SessionTranscript{DeviceEngagement: de, HandoverSelect: hs, HandoverRequest: hr})
	d.secret.Zeroize()
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	d.ch, err = newChannel(gcmchannel.DeviceEnd, keys)
	keys.Zeroize()
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	d.handover = true
	return transport.AppendResponse(dst, tlv.AppendTLV(nil, tagEnvelopeData, hs), dkey.SWSuccess)
}

// handleSession answers a SessionData: a request with the response, a
// status by ending the session.
func (d *Device) handleSession(dst, b []byte) []byte {
	sd, err := ParseSessionData(b)
	if err != nil {
		return d.fail(dst, dkey.SWWrongData, err)
	}
	if sd.Status != 0 {
		// The reader ends the session (ISO/IEC 18013-5 §9.1.1.4); any data
		// that comes with it is not read.
		err := error(nil)
		if sd.Status != StatusTermination {
			err = &StatusError{Status: sd.Status}
		}
		d.err = err
		d.Close()
		return transport.AppendResponse(dst, nil, dkey.SWSuccess)
	}
	plain, err := d.ch.open(nil, sd.Data)
	if err != nil {
		// ISO/IEC 18013-5 §9.1.1.5: a message that does not decrypt ends
		// the session with status 10.
		return d.status(dst, StatusEncryptionError, err)
	}
	req, err := ParseDeviceRequest(d.dialect, plain)
	if err != nil {
		return d.status(dst, StatusDecodingError, err)
	}
	resp := &DeviceResponse{Version: DeviceResponseVersion, Status: ResponseOK}
	served := make([]bool, len(d.docs))
	for i := range req.DocRequests {
		for j, doc := range d.docs {
			if served[j] {
				continue
			}
			if f := doc.filter(&req.DocRequests[i]); f != nil {
				resp.Documents = append(resp.Documents, f)
				served[j] = true
				break
			}
		}
	}
	out, err := resp.Append(nil, d.dialect)
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	ct, err := d.ch.seal(nil, out)
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	data, err := (&SessionData{Data: ct}).Append(nil)
	if err != nil {
		return d.fail(dst, dkey.SWNoPreciseDiagnosis, err)
	}
	if d.exchanges++; d.exchanges == MaxExchanges && d.dialect != Aliro {
		// An Aliro session stays open for the EXCHANGE that ends the
		// step-up phase (OpenMessage); a further ENVELOPE is refused.
		d.Close()
	}
	return transport.AppendResponse(dst, tlv.AppendTLV(nil, tagEnvelopeData, data), dkey.SWSuccess)
}

// OpenMessage appends the plaintext of the reader's next message on the
// session's channel after the ENVELOPE exchanges: the EXCHANGE commands
// that end an Aliro step-up phase (package transaction,
// AliroEndpointSession.OpenStepUpExchange), under SKReader with the
// message counter after the ENVELOPE's. It works in the Aliro dialect once
// a request was answered, until the session ends. A message that does not
// open returns ErrDecrypt and ends the session.
func (d *Device) OpenMessage(dst, ciphertext []byte) ([]byte, error) {
	if err := d.messageReady(); err != nil {
		return dst, err
	}
	out, err := d.ch.open(dst, ciphertext)
	if err != nil {
		d.err = err
		d.Close()
	}
	return out, err
}

// SealMessage appends the device's next message on the session's channel
// (the responses to OpenMessage's commands), under SKDevice.
func (d *Device) SealMessage(dst, plaintext []byte) ([]byte, error) {
	if err := d.messageReady(); err != nil {
		return dst, err
	}
	out, err := d.ch.seal(dst, plaintext)
	if err != nil {
		d.err = err
		d.Close()
	}
	return out, err
}

func (d *Device) messageReady() error {
	if d.closed || d.ch == nil || d.dialect != Aliro || d.exchanges == 0 {
		return &UnexpectedMessageError{Want: "a step-up message after an answered request", Got: "a message without a channel"}
	}
	return nil
}

// status ends the session with a SessionData carrying st, in clear.
func (d *Device) status(dst []byte, st SessionStatus, err error) []byte {
	d.err = err
	d.Close()
	data, _ := (&SessionData{Status: st}).Append(nil) // cannot fail: a known status
	return transport.AppendResponse(dst, tlv.AppendTLV(nil, tagEnvelopeData, data), dkey.SWSuccess)
}
