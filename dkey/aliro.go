package dkey

import (
	"crypto/sha1"
	"fmt"
)

// Aliro identifiers (docs/protocol.md §13; CSA Aliro 1.0, section 6.2 and Table
// 8-4, confidence S: the published specification).
const (
	// ReaderGroupIDLen is the length of an Aliro reader_group_identifier.
	ReaderGroupIDLen = 16
	// ReaderSubGroupIDLen is the length of an Aliro
	// reader_group_sub_identifier.
	ReaderSubGroupIDLen = 16
	// ReaderIDLen is the length of the Aliro reader_identifier (AUTH0 tag
	// 4D): the group identifier followed by the sub-group identifier.
	ReaderIDLen = ReaderGroupIDLen + ReaderSubGroupIDLen
)

// VersionAliro09 is version 0.9 (0009) of the Aliro expedited phase, which
// Apple and Google wallets offered before Aliro 1.0 (I [ALIRO] README
// "Protocol versions": the primary commands and their cryptography are
// unaffected). The SDK speaks it only where a configuration lists it.
const VersionAliro09 Version = 0x0009

// ReaderGroupID is an Aliro reader_group_identifier: the 16 bytes that name
// a group of readers sharing one reader_group_identifier_key (a reader key
// or a Reader System Issuer CA key). The device looks its Access Credential
// up by it (Aliro 1.0 section 6.2); a Matter Door Lock's
// SetAliroReaderConfig sets it as groupIdentifier.
type ReaderGroupID [ReaderGroupIDLen]byte

// String returns the identifier in lowercase hexadecimal.
func (g ReaderGroupID) String() string { return hexString(g[:]) }

// ReaderSubGroupID is an Aliro reader_group_sub_identifier: 16 random bytes
// each reader picks at installation. The device looks Kpersistent up by it,
// so that readers of one group keep separate fast-phase keys (Aliro 1.0
// section 6.2).
type ReaderSubGroupID [ReaderSubGroupIDLen]byte

// String returns the identifier in lowercase hexadecimal.
func (s ReaderSubGroupID) String() string { return hexString(s[:]) }

// ReaderID is the 32-byte Aliro reader_identifier (AUTH0 tag 4D): the group
// identifier followed by the sub-group identifier. It is comparable with ==.
type ReaderID struct {
	Group    ReaderGroupID
	SubGroup ReaderSubGroupID
}

// NewReaderID returns the reader identifier held in b, which must be 32
// bytes long. It returns an error wrapping [ErrInvalidReaderID] otherwise.
func NewReaderID(b []byte) (ReaderID, error) {
	var r ReaderID
	if len(b) != ReaderIDLen {
		return r, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidReaderID, len(b), ReaderIDLen)
	}
	copy(r.Group[:], b)
	copy(r.SubGroup[:], b[ReaderGroupIDLen:])
	return r, nil
}

// Append appends the 32 identifier bytes to dst.
func (r ReaderID) Append(dst []byte) []byte {
	dst = append(dst, r.Group[:]...)
	return append(dst, r.SubGroup[:]...)
}

// Bytes returns a copy of the 32 identifier bytes.
func (r ReaderID) Bytes() []byte { return r.Append(make([]byte, 0, ReaderIDLen)) }

// IsZero reports whether every byte of r is zero.
func (r ReaderID) IsZero() bool { return r == ReaderID{} }

// String returns "<group>-<sub-group>" in lowercase hexadecimal, the
// human-readable form Aliro 1.0 recommends (footnote 2 to Table 8-4).
func (r ReaderID) String() string { return r.Group.String() + "-" + r.SubGroup.String() }

// DerivedKeySlot returns the key slot identifier that profile p derives from
// an endpoint's public key, and false for a profile whose key slots are
// assigned instead (CCC):
//
//   - Home Key: the first 6 bytes of SHA-1 over the uncompressed key
//     04‖X‖Y (docs/protocol.md §4.3; I+, verified against real Apple devices);
//   - Aliro: the first 8 bytes of the same hash, the RFC 5280 method 1 key
//     identifier of the Access Credential public key (Aliro 1.0 section
//     8.3.3.4.2, S).
func (p Profile) DerivedKeySlot(pub *PublicKey) (KeySlot, bool) {
	n := 0
	switch p {
	case HomeKey:
		n = 6
	case Aliro:
		n = MaxKeySlotLen
	default:
		return KeySlot{}, false
	}
	h := sha1.Sum(pub.raw[:])
	var k KeySlot
	k.n = uint8(copy(k.b[:], h[:n]))
	return k, true
}

// TCI is the three-byte terminal type and capability indicator of an
// Enhanced Contactless Polling frame (docs/protocol.md §2.6), by which a phone
// decides which pass to present without user interaction (express mode).
type TCI [3]byte

// String returns the TCI in lowercase hexadecimal.
func (t TCI) String() string { return hexString(t[:]) }

// ECPTCI returns the TCI an express-mode reader of profile p polls with, and
// false for CCC, whose TCI is brand-specific and not public (docs/protocol.md
// §2.6): 02 11 00 for Home Key (I+ [AHK]) and 20 42 20 for Aliro, the value
// Matter-based Aliro locks use (I [ALIRO] README "Enhanced Contactless
// Polling"; Aliro 1.0 itself does not define ECP). A pass holding both a
// Home Key and an Aliro applet answers only the applet that matches the
// TCI (same source).
func (p Profile) ECPTCI() (TCI, bool) {
	switch p {
	case HomeKey:
		return TCI{0x02, 0x11, 0x00}, true
	case Aliro:
		return TCI{0x20, 0x42, 0x20}, true
	}
	return TCI{}, false
}
