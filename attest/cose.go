package attest

import (
	"bytes"
	"crypto"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/cborstrict"
)

// MaxStatementSize bounds an encoded statement. The largest statement, a
// key attestation, is about 290 bytes.
const MaxStatementSize = 1024

// COSE constants (RFC 9052, RFC 9053).
const (
	tagCOSESign1      = 18 // COSE_Sign1_Tagged
	headerAlg         = 1
	headerContentType = 3
	headerKID         = 4
	algES256          = -7 // ECDSA w/ SHA-256
	sigContext        = "Signature1"
)

// Content types (COSE header 3) that name the kind of each statement. They
// are the project's, unregistered, and part of the signed protected header,
// so a statement of one kind never verifies as another.
const (
	ContentTypeKeyAttestation         = "application/vnd.opencarkey.key-attestation+cbor"
	ContentTypeTerminationAttestation = "application/vnd.opencarkey.termination-attestation+cbor"
	ContentTypeTrackingReceipt        = "application/vnd.opencarkey.tracking-receipt+cbor"
)

// protectedHeader is the closed protected header map.
type protectedHeader struct {
	Alg         int64  `cbor:"1,keyasint"`
	ContentType string `cbor:"3,keyasint"`
	KID         []byte `cbor:"4,keyasint,omitempty"`
}

// sign1 is COSE_Sign1 (RFC 9052 §4.2).
type sign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected map[int64]cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// CBOR modes, immutable once built and safe for concurrent use. The decoding
// limits are fxamacker/cbor's minimums, far above what any statement needs.
var (
	encMode         = cborstrict.EncMode()
	decMode         = cborstrict.DecMode(cbor.TagsForbidden, 16)
	envelopeDecMode = cborstrict.DecMode(cbor.TagsAllowed, 16) // for the one outer tag 18
)

// envelope is a parsed COSE_Sign1 whose signature has not been checked.
type envelope struct {
	protected []byte
	payload   []byte
	kid       []byte
	sig       dkey.Signature
}

// seal signs payload and returns the tagged COSE_Sign1.
func seal(contentType string, kid, payload []byte, signer crypto.Signer) ([]byte, error) {
	protected, err := encMode.Marshal(protectedHeader{Alg: algES256, ContentType: contentType, KID: kid})
	if err != nil {
		return nil, fmt.Errorf("attest: encoding protected header: %w", err)
	}
	sig, err := dkey.Sign(signer, appendSigStructure(nil, protected, payload))
	if err != nil {
		return nil, fmt.Errorf("attest: signing: %w", err)
	}
	out, err := encMode.Marshal(cbor.Tag{Number: tagCOSESign1, Content: sign1{
		Protected:   protected,
		Unprotected: map[int64]cbor.RawMessage{},
		Payload:     payload,
		Signature:   sig[:],
	}})
	if err != nil {
		return nil, fmt.Errorf("attest: encoding COSE_Sign1: %w", err)
	}
	return out, nil
}

// open parses a statement of the given content type strictly, without
// checking its signature: a COSE_Sign1_Tagged whose protected header is
// exactly {1: -7, 3: contentType} plus kid when wantKID, whose unprotected
// header is empty, whose payload is attached, whose signature is 64 bytes
// with r and s in range, and whose every byte is as Core Deterministic
// Encoding writes it.
func open(b []byte, contentType string, wantKID bool) (*envelope, error) {
	if len(b) > MaxStatementSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxStatementSize)
	}
	var tag cbor.RawTag
	if err := envelopeDecMode.Unmarshal(b, &tag); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if tag.Number != tagCOSESign1 {
		return nil, fmt.Errorf("%w: tag %d, want COSE_Sign1 (18)", ErrMalformed, tag.Number)
	}
	var s sign1
	if err := decMode.Unmarshal(tag.Content, &s); err != nil {
		return nil, fmt.Errorf("%w: COSE_Sign1: %w", ErrMalformed, err)
	}
	switch {
	case len(s.Unprotected) != 0:
		return nil, fmt.Errorf("%w: unprotected header not empty", ErrMalformed)
	case s.Payload == nil:
		return nil, fmt.Errorf("%w: detached payload", ErrMalformed)
	}
	sig, err := dkey.ParseSignature(s.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var h protectedHeader
	if err := decMode.Unmarshal(s.Protected, &h); err != nil {
		return nil, fmt.Errorf("%w: protected header: %w", ErrMalformed, err)
	}
	switch {
	case h.Alg != algES256:
		return nil, fmt.Errorf("%w: alg %d, want ES256 (-7)", ErrMalformed, h.Alg)
	case h.ContentType != contentType:
		return nil, fmt.Errorf("%w: content type %q, want %q", ErrMalformed, h.ContentType, contentType)
	case wantKID && (len(h.KID) == 0 || len(h.KID) > dkey.MaxKeySlotLen):
		return nil, fmt.Errorf("%w: kid must be a key slot of 1 to %d bytes", ErrMalformed, dkey.MaxKeySlotLen)
	case !wantKID && h.KID != nil:
		return nil, fmt.Errorf("%w: unexpected kid", ErrMalformed)
	}
	// One encoding per statement: the header and the envelope must be
	// byte for byte what the encoder writes (minimal heads, sorted keys).
	if err := checkCanonical(s.Protected, h); err != nil {
		return nil, fmt.Errorf("%w: protected header: %w", ErrMalformed, err)
	}
	if err := checkCanonical(b, cbor.Tag{Number: tagCOSESign1, Content: s}); err != nil {
		return nil, fmt.Errorf("%w: COSE_Sign1: %w", ErrMalformed, err)
	}
	return &envelope{protected: s.Protected, payload: s.Payload, kid: h.KID, sig: sig}, nil
}

// verify checks the ES256 signature over the Sig_structure.
func (e *envelope) verify(key *dkey.PublicKey) bool {
	var buf [MaxStatementSize + 32]byte
	return key.Verify(appendSigStructure(buf[:0], e.protected, e.payload), &e.sig) == nil
}

// decodePayload decodes a payload strictly into v and checks that it is in
// Core Deterministic Encoding, which also rejects missing fields and
// optional fields present with their zero value.
func decodePayload(payload []byte, v any) error {
	if err := decMode.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if err := checkCanonical(payload, v); err != nil {
		return fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	return nil
}

func checkCanonical(b []byte, v any) error {
	again, err := encMode.Marshal(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, b) {
		return errNotDeterministic
	}
	return nil
}

// appendSigStructure appends the ToBeSigned bytes of RFC 9052 §4.4:
//
//	Sig_structure = ["Signature1", body_protected: bstr, external_aad: bstr, payload: bstr]
//
// with an empty external_aad, in deterministic encoding.
func appendSigStructure(dst, protected, payload []byte) []byte {
	dst = append(dst, 0x84)                       // array(4)
	dst = append(dst, 0x60|byte(len(sigContext))) // tstr(10)
	dst = append(dst, sigContext...)
	dst = appendBstr(dst, protected)
	dst = append(dst, 0x40) // external_aad: h''
	return appendBstr(dst, payload)
}

// appendBstr appends a CBOR byte string with its shortest head.
func appendBstr(dst, b []byte) []byte {
	const major = 0x40
	switch n := len(b); {
	case n < 24:
		dst = append(dst, major|byte(n))
	case n <= 0xff:
		dst = append(dst, major|24, byte(n))
	case n <= 0xffff:
		dst = append(dst, major|25, byte(n>>8), byte(n))
	default:
		dst = append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, b...)
}
