package mdoc

import (
	"crypto/ed25519"
	"crypto/sha256"

	"github.com/opencarkey/sdk/dkey"
)

// COSE (RFC 9052, RFC 9053) as the issuerAuth of a document uses it: an
// untagged COSE_Sign1 whose protected header holds only the algorithm and
// whose unprotected header holds only the issuer's key identifier (kid),
// the header the public Home Key and Aliro readers read the issuer from
// (unprotected_headers[4]). ISO/IEC 18013-5 puts an x5chain there instead;
// neither dialect does.
const (
	algEdDSA = -8 // EdDSA; the only curve the SDK takes is Ed25519
	algES256 = -7 // ECDSA P-256 with SHA-256

	headerAlg = 1
	headerKID = 4

	sigContext = "Signature1"

	// coseKeyKty and the others are COSE_Key labels (RFC 9052 §7, RFC 9053
	// §7.1.1).
	coseKeyKty  = 1
	coseKeyAlg  = 3
	coseKeyCrv  = -1
	coseKeyX    = -2
	coseKeyY    = -3
	coseKtyEC2  = 2
	coseCrvP256 = 1

	signatureSize = 64 // Ed25519, and ES256 as r‖s
)

// protectedHeader returns the encoded protected header {1: alg}.
func protectedHeader(alg int64) []byte {
	return appendInt(appendUint([]byte{majorMap<<5 | 1}, headerAlg), alg)
}

// IssuerIDSize is the size of an issuer key identifier.
const IssuerIDSize = 8

// IssuerID identifies an issuer key: the kid of the documents it signs.
type IssuerID [IssuerIDSize]byte

// issuerIDLabel prefixes the key in the issuer identifier hash.
const issuerIDLabel = "key-identifier"

// IssuerIDOf returns SHA-256("key-identifier" ‖ pub)[:8], the identifier
// Home Key gives an Ed25519 issuer key from its 32 bytes (I+ [AHKR]
// entity.py Issuer.id; the same construction names reader groups). The SDK
// names P-256 issuer keys the same way from their 65-byte uncompressed
// encoding; see doc.go.
func IssuerIDOf(pub []byte) IssuerID {
	h := sha256.New()
	h.Write([]byte(issuerIDLabel))
	h.Write(pub)
	var sum [sha256.Size]byte
	return IssuerID(h.Sum(sum[:0])[:IssuerIDSize])
}

// appendSigStructure appends the ToBeSigned of RFC 9052 §4.4,
// ["Signature1", protected, h”, payload].
func appendSigStructure(dst, protected, payload []byte) []byte {
	dst = appendHead(dst, majorArray, 4)
	dst = appendTstr(dst, sigContext)
	dst = appendBstr(dst, protected)
	dst = appendBstr(dst, nil)
	return appendBstr(dst, payload)
}

// issuerAuth is a parsed COSE_Sign1 whose signature has not been checked.
type issuerAuth struct {
	protected []byte
	kid       IssuerID
	payload   []byte // MobileSecurityObjectBytes
	sig       []byte
}

// parseIssuerAuth reads an issuerAuth in dialect d: the protected header
// exactly {1: alg} of d, the unprotected header exactly {4: 8-byte kid}, an
// attached payload, a 64-byte signature.
func parseIssuerAuth(dec *decoder, d Dialect) issuerAuth {
	var a issuerAuth
	if dec.array("issuerAuth", 4) != 4 {
		dec.fail("issuerAuth: not a COSE_Sign1 of 4 elements")
		return a
	}
	a.protected = dec.bytes("protected header", 16)
	if dec.ok() && string(a.protected) != string(protectedHeader(d.issuerAlg())) {
		dec.fail("issuerAuth protected header %x, want %x", a.protected, protectedHeader(d.issuerAlg()))
	}
	if dec.mapLen("unprotected header", 1) != 1 {
		dec.fail("issuerAuth unprotected header without kid")
	}
	if l := dec.int("unprotected header label"); dec.ok() && l != headerKID {
		dec.fail("issuerAuth unprotected header label %d, want kid (4)", l)
	}
	if kid := dec.bytes("kid", IssuerIDSize); dec.ok() {
		if len(kid) != IssuerIDSize {
			dec.fail("kid of %d bytes, want %d", len(kid), IssuerIDSize)
		} else {
			a.kid = IssuerID(kid)
		}
	}
	if dec.peekMajor() != majorBytes {
		dec.fail("issuerAuth payload: detached or not a byte string")
	}
	a.payload = dec.bytes("issuerAuth payload", MaxMessage)
	a.sig = dec.bytes("signature", signatureSize)
	if dec.ok() && len(a.sig) != signatureSize {
		dec.fail("signature of %d bytes, want %d", len(a.sig), signatureSize)
	}
	return a
}

// append appends the COSE_Sign1.
func (a *issuerAuth) append(dst []byte) []byte {
	dst = appendHead(dst, majorArray, 4)
	dst = appendBstr(dst, a.protected)
	dst = appendHead(dst, majorMap, 1)
	dst = appendUint(dst, headerKID)
	dst = appendBstr(dst, a.kid[:])
	dst = appendBstr(dst, a.payload)
	return appendBstr(dst, a.sig)
}

// verify checks the signature with key, whose algorithm must be the one of
// the protected header.
func (a *issuerAuth) verify(key *IssuerKey) bool {
	if string(a.protected) != string(protectedHeader(key.alg)) {
		return false
	}
	tbs := appendSigStructure(make([]byte, 0, len(a.payload)+32), a.protected, a.payload)
	switch key.alg {
	case algEdDSA:
		return ed25519.Verify(key.ed, tbs, a.sig)
	case algES256:
		sig, err := dkey.ParseSignature(a.sig)
		return err == nil && key.p256.Verify(tbs, &sig) == nil
	}
	return false
}

// appendCOSEKey appends the EC2 P-256 COSE_Key of k: {1: 2, -1: 1, -2: x,
// -3: y}, as ISO/IEC 18013-5 Annex D writes a device key.
func appendCOSEKey(dst []byte, k *dkey.PublicKey) []byte {
	raw := k.Bytes()
	dst = appendHead(dst, majorMap, 4)
	dst = appendInt(appendInt(dst, coseKeyKty), coseKtyEC2)
	dst = appendInt(appendInt(dst, coseKeyCrv), coseCrvP256)
	dst = appendBstr(appendInt(dst, coseKeyX), raw[1:33])
	return appendBstr(appendInt(dst, coseKeyY), raw[33:])
}

// parseCOSEKey reads an EC2 P-256 COSE_Key: kty 2, crv 1, 32-byte x and y,
// and optionally alg ES256; nothing else.
func parseCOSEKey(dec *decoder) *dkey.PublicKey {
	n := dec.mapLen("COSE_Key", 5)
	var x, y []byte
	var seen [4]bool // kty, alg, crv, x/y
	var raw [dkey.PublicKeySize]byte
	for i := 0; i < n && dec.ok(); i++ {
		label := dec.int("COSE_Key label")
		if !dec.ok() {
			break
		}
		var slot int
		switch label {
		case coseKeyKty:
			slot = 0
			if v := dec.int("kty"); dec.ok() && v != coseKtyEC2 {
				dec.fail("COSE_Key kty %d, want EC2", v)
			}
		case coseKeyAlg:
			slot = 1
			if v := dec.int("alg"); dec.ok() && v != algES256 {
				dec.fail("COSE_Key alg %d, want ES256", v)
			}
		case coseKeyCrv:
			slot = 2
			if v := dec.int("crv"); dec.ok() && v != coseCrvP256 {
				dec.fail("COSE_Key crv %d, want P-256", v)
			}
		case coseKeyX:
			if x != nil {
				dec.fail("COSE_Key: duplicate x")
			}
			x = dec.bytes("x", 32)
			continue
		case coseKeyY:
			if y != nil {
				dec.fail("COSE_Key: duplicate y")
			}
			y = dec.bytes("y", 32)
			continue
		default:
			dec.fail("COSE_Key label %d", label)
			continue
		}
		if seen[slot] {
			dec.fail("COSE_Key: duplicate label %d", label)
		}
		seen[slot] = true
	}
	if !dec.ok() {
		return nil
	}
	if !seen[0] || !seen[2] || len(x) != 32 || len(y) != 32 {
		dec.fail("COSE_Key: want kty, crv and 32-byte x and y")
		return nil
	}
	raw[0] = 0x04
	copy(raw[1:], x)
	copy(raw[33:], y)
	k, err := dkey.ParsePublicKey(raw[:])
	if err != nil {
		dec.fail("COSE_Key: %w", err)
		return nil
	}
	return k
}
