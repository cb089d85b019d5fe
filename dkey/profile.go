package dkey

import (
	"encoding/hex"
	"strconv"
)

// AID is an ISO 7816-4 application identifier, held as a string of raw bytes
// so that the constants below cannot be modified.
type AID string

// Application identifiers of the applets the SDK selects (docs/protocol.md §2.1).
const (
	// AIDDigitalKey is the CCC Digital Key applet ("CCCDKAv1"): transactions
	// (AUTH0, AUTH1, EXCHANGE, CONTROL FLOW).
	AIDDigitalKey AID = "\xA0\x00\x00\x08\x09" + "CCCDKAv1"
	// AIDFramework is the CCC Digital Key framework ("CCCDKFv1"): owner
	// pairing (SPAKE2+, WRITE DATA, GET DATA, OP CONTROL FLOW).
	AIDFramework AID = "\xA0\x00\x00\x08\x09" + "CCCDKFv1"
	// AIDHomeKey is the instance AID of Apple's Home Key primary applet, as
	// real Home Key readers select it (docs/protocol.md §2.1; recorded iPhone
	// traces in internal/testvec). Its first seven bytes, A0000008580101,
	// are the applet's short AID.
	AIDHomeKey AID = "\xA0\x00\x00\x08\x58\x01\x01\x01\x00\x00\x00\x01"
	// AIDAliro is the Aliro expedited-phase applet (CSA Aliro 1.0 Table
	// 10-3): SELECT, AUTH0, LOAD CERT, AUTH1, EXCHANGE, CONTROL FLOW.
	AIDAliro AID = "\xA0\x00\x00\x09\x09\xAC\xCE\x55\x01"
	// AIDAliroStepUp is the Aliro step-up applet (Aliro 1.0 Table 10-3):
	// ENVELOPE and GET RESPONSE carrying the access and revocation documents.
	AIDAliroStepUp AID = "\xA0\x00\x00\x09\x09\xAC\xCE\x55\x02"
)

// minPartialAID is the shortest partial AID a SELECT may name: the 5-byte
// registered application provider identifier (ISO/IEC 7816-4 §8.2.1.2).
const minPartialAID = 5

// Selects reports whether a SELECT by DF name with data b selects a: b is a
// itself, or a partial AID (ISO/IEC 7816-4 §11.2.2: selection by the first
// bytes of the name) of at least the five bytes of the provider identifier.
func (a AID) Selects(b []byte) bool {
	return len(b) >= minPartialAID && len(b) <= len(a) && string(b) == string(a[:len(b)])
}

// String returns the AID in uppercase hexadecimal, as AIDs are usually written.
func (a AID) String() string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 2*len(a))
	for i := 0; i < len(a); i++ {
		b = append(b, digits[a[i]>>4], digits[a[i]&0x0F])
	}
	return string(b)
}

// Equal reports whether b holds the bytes of a.
func (a AID) Equal(b []byte) bool { return string(b) == string(a) }

// Profile selects the wire details that differ between the CCC Digital Key
// applet, Apple's Home Key derivative (docs/protocol.md §4) and CSA Aliro
// (docs/protocol.md §13). The zero value is [CCC].
type Profile uint8

const (
	// CCC is the Car Connectivity Consortium Digital Key applet, Release 2 and
	// 3: an 8-byte vehicle identifier, protocol version 1.0, 8-byte key slots.
	CCC Profile = iota
	// HomeKey is Apple's Home Key: a 16-byte reader identifier, protocol
	// versions 2.0 and 1.0, the endpoint's version list in the key
	// derivation, 6-byte key slots and the v2 fast cryptogram. Its bytes are
	// verified against real iPhones.
	HomeKey
	// Aliro is the Connectivity Standards Alliance's access-credential
	// protocol, version 1.0 (docs/protocol.md §13): the same command skeleton with
	// a 32-byte reader identifier, a SELECT answered with an FCI template,
	// AES-256-GCM secure messaging, 8-byte key slots and a step-up applet. Its
	// transactions run through package transaction's Aliro types, not
	// through the CCC and Home Key sessions.
	Aliro
)

// Valid reports whether p is a known profile.
func (p Profile) Valid() bool { return p == CCC || p == HomeKey || p == Aliro }

// String returns the profile name.
func (p Profile) String() string {
	switch p {
	case CCC:
		return "CCC"
	case HomeKey:
		return "HomeKey"
	case Aliro:
		return "Aliro"
	}
	return "Profile(" + strconv.Itoa(int(p)) + ")"
}

// AppletAID returns the AID of the applet that runs transactions in p.
func (p Profile) AppletAID() AID {
	switch p {
	case HomeKey:
		return AIDHomeKey
	case Aliro:
		return AIDAliro
	}
	return AIDDigitalKey
}

// VehicleIDLen returns the length of the vehicle (reader) identifier in p:
// 8 bytes for CCC, 16 for Home Key, 32 for Aliro ([ReaderIDLen], held in a
// [ReaderID] rather than a [VehicleID]).
func (p Profile) VehicleIDLen() int {
	switch p {
	case HomeKey:
		return VehicleIDLenHomeKey
	case Aliro:
		return ReaderIDLen
	}
	return VehicleIDLenCCC
}

// KeySlotLen returns the length of the key slot identifiers p assigns.
func (p Profile) KeySlotLen() int {
	if p == HomeKey {
		return 6
	}
	return MaxKeySlotLen
}

// Versions returns the applet protocol versions an endpoint of profile p
// offers in its SELECT response, highest first: 1.0 for CCC, 2.0 and 1.0 for
// Home Key, 1.0 for Aliro (Aliro 1.0 defines expedited-phase version 0100;
// 0.9 is an explicit opt-in, see [VersionAliro09]).
func (p Profile) Versions() VersionList {
	if p == HomeKey {
		return VersionList{n: 2, v: [MaxVersions]Version{Version2, Version1}}
	}
	return VersionList{n: 1, v: [MaxVersions]Version{Version1}}
}

// VehicleVersions returns the applet protocol versions a vehicle (reader) of
// profile p speaks by default, highest first: 1.0 for CCC, 2.0 alone for
// Home Key, 1.0 alone for Aliro.
//
// Home Key 1.0 is left out on purpose (the project's choice, docs/protocol.md
// §4.4): the endpoint's version list enters the key derivation at 2.0 only,
// so the SELECT response that carries it is authenticated at 2.0 and not at
// 1.0. A reader that also spoke 1.0 would settle for it when a relay strips
// 2.0 from that response, and neither side would notice. A reader that must
// serve 1.0 endpoints lists both versions in its configuration, an explicit
// opt-in to that downgrade.
func (p Profile) VehicleVersions() VersionList {
	if p == HomeKey {
		return VersionList{n: 1, v: [MaxVersions]Version{Version2}}
	}
	return p.Versions()
}

// hexString is used by String methods of byte identifiers.
func hexString(b []byte) string { return hex.EncodeToString(b) }
