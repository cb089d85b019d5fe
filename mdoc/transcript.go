package mdoc

import "crypto/sha256"

// SessionTranscript is the session transcript of the Home Key exchange. In
// ISO/IEC 18013-5 §9.1.5.1 it is
//
//	SessionTranscript = [DeviceEngagementBytes, EReaderKeyBytes, Handover]
//
// Home Key has no reader ephemeral key (the session keys come from the
// EXCHANGE secret, not from ECDH), and its transcript is the two-element
//
//	SessionTranscript = [DeviceEngagementBytes, [HandoverSelect, HandoverRequest]]
//	DeviceEngagementBytes = #6.24(bstr .cbor DeviceEngagement)
//
// with the NFC handover messages as byte strings (I+ [AHKR] homekey.py
// exchange_attestation, which works with iPhones). The salt of the session
// keys is SHA-256 of SessionTranscriptBytes = #6.24(bstr .cbor
// SessionTranscript).
type SessionTranscript struct {
	DeviceEngagement []byte // the encoded DeviceEngagement
	HandoverSelect   []byte // the handover select NDEF message
	HandoverRequest  []byte // the handover request NDEF message
}

// AppendBytes appends SessionTranscriptBytes to dst.
func (t *SessionTranscript) AppendBytes(dst []byte) []byte {
	var buf [2*MaxNDEFMessage + MaxEngagement + 32]byte
	inner := appendHead(buf[:0], majorArray, 2)
	inner = appendEncoded(inner, t.DeviceEngagement)
	inner = appendHead(inner, majorArray, 2)
	inner = appendBstr(inner, t.HandoverSelect)
	inner = appendBstr(inner, t.HandoverRequest)
	return appendEncoded(dst, inner)
}

// Hash returns SHA-256(SessionTranscriptBytes), the salt of the Home Key
// session keys.
func (t *SessionTranscript) Hash() [sha256.Size]byte {
	var buf [2*MaxNDEFMessage + MaxEngagement + 64]byte
	return sha256.Sum256(t.AppendBytes(buf[:0]))
}
