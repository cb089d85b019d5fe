package mdoc

import (
	"strconv"

	"github.com/opencarkey/sdk/dkey"
)

// Dialect selects the wire variant of the ISO/IEC 18013-5 exchange. The two
// dialects share the structures (DeviceRequest, DeviceResponse, IssuerSigned,
// the mobile security object, COSE_Sign1, SessionData) and the AES-GCM
// channel, and differ in what doc.go lists: the map keys, the issuer's
// signature algorithm, the session key size, where the session keys come
// from and whether an NFC handover comes first.
type Dialect uint8

const (
	// HomeKey is Apple's Home Key attestation exchange on the configuration
	// applet A0000008580102 (docs/protocol.md §2.1, §2.3): an NFC negotiated
	// handover (ENVELOPE P2 01), then one ENVELOPE (P2 00) carrying the
	// encrypted DeviceRequest. 18013-5 text keys, Ed25519 issuer, AES-128-GCM
	// with keys from the EXCHANGE secret and the session transcript.
	HomeKey Dialect = iota + 1
	// Aliro is the step-up phase of CSA Aliro on applet A000000909ACCE5502
	// (docs/protocol.md §13): one ENVELOPE carrying the encrypted DeviceRequest
	// for access ("aliro-a") and revocation ("aliro-r") documents. Map keys
	// are the decimal digits of the 18013-5 fields as text strings, the issuer
	// signs with ES256, and AES-256-GCM runs with keys derived from the
	// step-up material of the AUTH1 key schedule.
	Aliro
)

// Valid reports whether d is a known dialect.
func (d Dialect) Valid() bool { return d == HomeKey || d == Aliro }

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case HomeKey:
		return "HomeKey"
	case Aliro:
		return "Aliro"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Application identifiers of the applets that run the exchange.
const (
	// AIDHomeKeyConfiguration is the Home Key configuration applet (I+
	// [AHK]: selectable only after EXCHANGE and CONTROL FLOW 40A0).
	AIDHomeKeyConfiguration dkey.AID = "\xA0\x00\x00\x08\x58\x01\x02"
	// AIDAliroStepUp is the Aliro step-up applet (I [ALIRO]).
	AIDAliroStepUp dkey.AID = "\xA0\x00\x00\x09\x09\xAC\xCE\x55\x02"
)

// AID returns the applet the reader selects before the first ENVELOPE.
func (d Dialect) AID() dkey.AID {
	if d == Aliro {
		return AIDAliroStepUp
	}
	return AIDHomeKeyConfiguration
}

// KeySize returns the size of SKReader and SKDevice: 16 bytes (AES-128-GCM)
// in Home Key, as the public Home Key reader that works with iPhones derives
// them (homekey.py, key_length=16); 32 bytes (AES-256-GCM) in Aliro, as
// ISO/IEC 18013-5 and the public Aliro readers do.
func (d Dialect) KeySize() int {
	if d == HomeKey {
		return 16
	}
	return 32
}

// issuerAlg returns the COSE algorithm of the issuer's signature: EdDSA
// (Ed25519) in Home Key, whose issuer keys are the HomeKit pairing keys
// (I+ [AHKR] verifies with Ed25519); ES256 in Aliro (I [ALIRO] reader code
// accepts -7 only).
func (d Dialect) issuerAlg() int64 {
	if d == HomeKey {
		return algEdDSA
	}
	return algES256
}

// readerGroupLen returns the length of the reader group identifier the
// dialect's transaction names: the first 8 bytes of the 16-byte Home Key
// reader identifier, the first 16 of the 32-byte Aliro one.
func (d Dialect) readerGroupLen() int {
	if d == HomeKey {
		return 8
	}
	return 16
}

// Document types, name spaces and data elements of the dialects.
const (
	// HomeKeyDocType is the document a Home Key reader requests (I+ [AHKR]).
	HomeKeyDocType = "com.apple.HomeKit.1.credential"
	// HomeKeyNameSpace is the name space of its data elements.
	HomeKeyNameSpace = "com.apple.HomeKit"
	// HomeKeyCredentialID is the one element the reader requests.
	HomeKeyCredentialID = "credential_id"

	// AliroAccessDocType is the Aliro access document (I [ALIRO] reader
	// code); its data elements live in the name space of the same name.
	AliroAccessDocType = "aliro-a"
	// AliroRevocationDocType is the Aliro revocation document.
	AliroRevocationDocType = "aliro-r"
	// AliroDefaultElement is the data element public Aliro readers request
	// when none is configured ("matter1", the access data of a Matter lock).
	AliroDefaultElement = "matter1"
)

// DefaultRequest returns the request a reader of the dialect sends when its
// configuration names none: Home Key asks for credential_id without intent
// to retain, as the public reader does; Aliro asks for the access document's
// "matter1" element with intent to retain, as the public Aliro readers do by
// default.
func (d Dialect) DefaultRequest() []DocRequest {
	if d == HomeKey {
		return []DocRequest{{
			DocType: HomeKeyDocType,
			NameSpaces: []RequestedNameSpace{{
				Name:     HomeKeyNameSpace,
				Elements: []RequestedElement{{Identifier: HomeKeyCredentialID}},
			}},
		}}
	}
	return []DocRequest{{
		DocType: AliroAccessDocType,
		NameSpaces: []RequestedNameSpace{{
			Name:     AliroAccessDocType,
			Elements: []RequestedElement{{Identifier: AliroDefaultElement, IntentToRetain: true}},
		}},
	}}
}
