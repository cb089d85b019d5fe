package cert

import (
	"encoding/binary"

	"github.com/opencarkey/sdk/dkey"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Limits of the CCC extension codecs (docs/protocol.md §10.2).
const (
	// MaxExtensionSize bounds the DER value of any CCC extension. The largest
	// endpoint extension the profile allows is about 640 bytes.
	MaxExtensionSize = 1024
	// MaxAuthorizedKeys is the largest authorized_PK_list.
	MaxAuthorizedKeys = 5
	// MaxPlatformInformation is the longest platform_information.
	MaxPlatformInformation = 20
	// AccountInfoHashSize is the size of account_info_hash.
	AccountInfoHashSize = 32
	// AppletVersionSize is the size of applet_version.
	AppletVersionSize = 4
)

// Contents octets of the object identifiers of the SubjectPublicKeyInfo
// algorithm of a P-256 key: id-ecPublicKey (1.2.840.10045.2.1) and
// prime256v1 (1.2.840.10045.3.1.7).
const (
	oidECPublicKey = "\x2a\x86\x48\xce\x3d\x02\x01"
	oidPrime256v1  = "\x2a\x86\x48\xce\x3d\x03\x01\x07"
)

// SimpleExtension is the value of the CCC extensions that carry only a
// version: those of the vehicle [K], Device OEM intermediate [F], vehicle
// intermediate [8], Vehicle OEM CA [J]/[M] and server [P]/[Q]/[7]
// certificates.
//
//	SEQUENCE { extension_version INTEGER (1..255) }
type SimpleExtension struct {
	// Version is extension_version, 1 to 255.
	Version uint8
}

// Marshal returns the DER encoding of e.
func (e *SimpleExtension) Marshal() ([]byte, error) {
	if e.Version == 0 {
		return nil, extErr("extension_version")
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Uint64(uint64(e.Version))
	})
	return b.Bytes()
}

// ParseSimpleExtension parses the DER value of a simple CCC extension. It
// returns an [*ExtensionError] for anything but strict DER within the
// profile's ranges.
func ParseSimpleExtension(der []byte) (*SimpleExtension, error) {
	if len(der) > MaxExtensionSize {
		return nil, extErr("extension")
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() {
		return nil, extErr("extension")
	}
	e := new(SimpleExtension)
	if !readVersion(&seq, &e.Version) {
		return nil, extErr("extension_version")
	}
	if !seq.Empty() {
		return nil, extErr("extension")
	}
	return e, nil
}

// InstanceCAExtension is the value of the CCC extension of the instance CA
// certificate [E] (docs/protocol.md §10.2).
//
//	SEQUENCE {
//	  extension_version    INTEGER (1..255),
//	  applet_version       OCTET STRING (SIZE (4)),
//	  platform_information OCTET STRING (SIZE (1..20)) OPTIONAL }
type InstanceCAExtension struct {
	// Version is extension_version, 1 to 255.
	Version uint8
	// AppletVersion is applet_version.
	AppletVersion [AppletVersionSize]byte
	// PlatformInformation is platform_information: nil when absent,
	// otherwise 1 to 20 bytes.
	PlatformInformation []byte
}

// Marshal returns the DER encoding of e.
func (e *InstanceCAExtension) Marshal() ([]byte, error) {
	if e.Version == 0 {
		return nil, extErr("extension_version")
	}
	if e.PlatformInformation != nil && (len(e.PlatformInformation) == 0 || len(e.PlatformInformation) > MaxPlatformInformation) {
		return nil, extErr("platform_information")
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Uint64(uint64(e.Version))
		b.AddASN1OctetString(e.AppletVersion[:])
		if e.PlatformInformation != nil {
			b.AddASN1OctetString(e.PlatformInformation)
		}
	})
	return b.Bytes()
}

// ParseInstanceCAExtension parses the DER value of the instance CA
// extension. It returns an [*ExtensionError] for anything but strict DER
// within the profile's ranges.
func ParseInstanceCAExtension(der []byte) (*InstanceCAExtension, error) {
	if len(der) > MaxExtensionSize {
		return nil, extErr("extension")
	}
	in := cryptobyte.String(der)
	var seq, v cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() {
		return nil, extErr("extension")
	}
	e := new(InstanceCAExtension)
	if !readVersion(&seq, &e.Version) {
		return nil, extErr("extension_version")
	}
	if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) != AppletVersionSize {
		return nil, extErr("applet_version")
	}
	copy(e.AppletVersion[:], v)
	if seq.PeekASN1Tag(asn1.OCTET_STRING) {
		if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) == 0 || len(v) > MaxPlatformInformation {
			return nil, extErr("platform_information")
		}
		e.PlatformInformation = append([]byte(nil), v...)
	}
	if !seq.Empty() {
		return nil, extErr("extension")
	}
	return e, nil
}

// EndpointExtension is the value of the CCC extension of the endpoint
// certificate [H] (docs/protocol.md §10.2): what binds an endpoint key to one
// vehicle.
//
//	SEQUENCE {
//	  extension_version         INTEGER (1..255),
//	  vehicle_identifier        OCTET STRING (SIZE (8)),
//	  option_group_1            OCTET STRING (SIZE (1)),
//	  option_group_2            OCTET STRING (SIZE (1)),
//	  protocol_version          OCTET STRING (SIZE (2)),
//	  vehicle_PK                SubjectPublicKeyInfo,
//	  initial_key_slot          OCTET STRING (SIZE (1..8)),
//	  authorized_PK_list        SEQUENCE (SIZE (1..5)) OF SubjectPublicKeyInfo OPTIONAL,
//	  confidential_mailbox_size [0] INTEGER (1..65535) OPTIONAL,
//	  private_mailbox_size      [1] INTEGER (1..65535) OPTIONAL,
//	  account_info_hash         OCTET STRING (SIZE (32)) OPTIONAL }
//
// The public sources do not say whether [0] and [1] are EXPLICIT or
// IMPLICIT. [ParseEndpointExtension] accepts both; Marshal writes EXPLICIT,
// as xipki does. Every SubjectPublicKeyInfo must be an uncompressed P-256
// point.
type EndpointExtension struct {
	// Version is extension_version, 1 to 255.
	Version uint8
	// VehicleID is vehicle_identifier; the profile fixes it at 8 bytes.
	VehicleID dkey.VehicleID
	// OptionGroup1 and OptionGroup2 are the key-option bitmaps
	// option_group_1 and option_group_2, whose bit assignments are not
	// public (docs/protocol.md §9).
	OptionGroup1, OptionGroup2 byte
	// ProtocolVersion is protocol_version.
	ProtocolVersion dkey.Version
	// VehiclePublicKey is vehicle_PK, the long-term key of the vehicle.
	VehiclePublicKey *dkey.PublicKey
	// InitialKeySlot is initial_key_slot.
	InitialKeySlot dkey.KeySlot
	// AuthorizedKeys is authorized_PK_list: nil when absent, otherwise 1 to
	// 5 keys.
	AuthorizedKeys []*dkey.PublicKey
	// ConfidentialMailboxSize and PrivateMailboxSize are
	// confidential_mailbox_size and private_mailbox_size; 0 when absent.
	ConfidentialMailboxSize, PrivateMailboxSize uint16
	// AccountInfoHash is account_info_hash; nil when absent.
	AccountInfoHash *[AccountInfoHashSize]byte
}

// Marshal returns the DER encoding of e, with EXPLICIT tags on the mailbox
// sizes.
func (e *EndpointExtension) Marshal() ([]byte, error) {
	switch {
	case e.Version == 0:
		return nil, extErr("extension_version")
	case e.VehicleID.Len() != dkey.VehicleIDLenCCC:
		return nil, extErr("vehicle_identifier")
	case e.VehiclePublicKey == nil:
		return nil, extErr("vehicle_PK")
	case e.InitialKeySlot.IsZero():
		return nil, extErr("initial_key_slot")
	case e.AuthorizedKeys != nil && (len(e.AuthorizedKeys) == 0 || len(e.AuthorizedKeys) > MaxAuthorizedKeys):
		return nil, extErr("authorized_PK_list")
	}
	for _, k := range e.AuthorizedKeys {
		if k == nil {
			return nil, extErr("authorized_PK_list")
		}
	}
	var (
		scratch [8]byte
		b       cryptobyte.Builder
	)
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Uint64(uint64(e.Version))
		b.AddASN1OctetString(e.VehicleID.Append(scratch[:0]))
		b.AddASN1OctetString([]byte{e.OptionGroup1})
		b.AddASN1OctetString([]byte{e.OptionGroup2})
		b.AddASN1OctetString(e.ProtocolVersion.Append(scratch[:0]))
		addSPKI(b, e.VehiclePublicKey)
		b.AddASN1OctetString(e.InitialKeySlot.Append(scratch[:0]))
		if e.AuthorizedKeys != nil {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, k := range e.AuthorizedKeys {
					addSPKI(b, k)
				}
			})
		}
		if e.ConfidentialMailboxSize != 0 {
			b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1Uint64(uint64(e.ConfidentialMailboxSize))
			})
		}
		if e.PrivateMailboxSize != 0 {
			b.AddASN1(asn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1Uint64(uint64(e.PrivateMailboxSize))
			})
		}
		if e.AccountInfoHash != nil {
			b.AddASN1OctetString(e.AccountInfoHash[:])
		}
	})
	return b.Bytes()
}

// ParseEndpointExtension parses the DER value of the endpoint extension. It
// accepts the mailbox sizes with EXPLICIT or IMPLICIT tags and rejects
// anything else that is not strict DER within the profile's ranges, with an
// [*ExtensionError] naming the field. The result does not alias der.
func ParseEndpointExtension(der []byte) (*EndpointExtension, error) {
	if len(der) > MaxExtensionSize {
		return nil, extErr("extension")
	}
	in := cryptobyte.String(der)
	var seq, v cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() {
		return nil, extErr("extension")
	}
	e := new(EndpointExtension)
	var err error
	if !readVersion(&seq, &e.Version) {
		return nil, extErr("extension_version")
	}
	if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) != dkey.VehicleIDLenCCC {
		return nil, extErr("vehicle_identifier")
	}
	if e.VehicleID, err = dkey.NewVehicleID(v); err != nil {
		return nil, extErrWrap("vehicle_identifier", err)
	}
	if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) != 1 {
		return nil, extErr("option_group_1")
	}
	e.OptionGroup1 = v[0]
	if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) != 1 {
		return nil, extErr("option_group_2")
	}
	e.OptionGroup2 = v[0]
	if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) != 2 {
		return nil, extErr("protocol_version")
	}
	e.ProtocolVersion = dkey.Version(binary.BigEndian.Uint16(v))
	if e.VehiclePublicKey, err = readSPKI(&seq); err != nil {
		return nil, extErrWrap("vehicle_PK", err)
	}
	if !seq.ReadASN1(&v, asn1.OCTET_STRING) {
		return nil, extErr("initial_key_slot")
	}
	if e.InitialKeySlot, err = dkey.NewKeySlot(v); err != nil {
		return nil, extErrWrap("initial_key_slot", err)
	}
	if seq.PeekASN1Tag(asn1.SEQUENCE) {
		if !seq.ReadASN1(&v, asn1.SEQUENCE) {
			return nil, extErr("authorized_PK_list")
		}
		e.AuthorizedKeys = make([]*dkey.PublicKey, 0, 1)
		for !v.Empty() {
			if len(e.AuthorizedKeys) == MaxAuthorizedKeys {
				return nil, extErr("authorized_PK_list")
			}
			k, err := readSPKI(&v)
			if err != nil {
				return nil, extErrWrap("authorized_PK_list", err)
			}
			e.AuthorizedKeys = append(e.AuthorizedKeys, k)
		}
		if len(e.AuthorizedKeys) == 0 {
			return nil, extErr("authorized_PK_list")
		}
	}
	if !readMailboxSize(&seq, 0, &e.ConfidentialMailboxSize) {
		return nil, extErr("confidential_mailbox_size")
	}
	if !readMailboxSize(&seq, 1, &e.PrivateMailboxSize) {
		return nil, extErr("private_mailbox_size")
	}
	if seq.PeekASN1Tag(asn1.OCTET_STRING) {
		if !seq.ReadASN1(&v, asn1.OCTET_STRING) || len(v) != AccountInfoHashSize {
			return nil, extErr("account_info_hash")
		}
		e.AccountInfoHash = new([AccountInfoHashSize]byte)
		copy(e.AccountInfoHash[:], v)
	}
	if !seq.Empty() {
		return nil, extErr("extension")
	}
	return e, nil
}

// readVersion reads extension_version, a DER INTEGER in 1..255.
func readVersion(s *cryptobyte.String, out *uint8) bool {
	var v int64
	if !s.ReadASN1Integer(&v) || v < 1 || v > 255 {
		return false
	}
	*out = uint8(v)
	return true
}

// readMailboxSize reads the optional [tag] INTEGER (1..65535), EXPLICIT
// (constructed [tag] around an INTEGER) or IMPLICIT (primitive [tag] holding
// the INTEGER contents). It leaves *out at 0 when the field is absent.
func readMailboxSize(s *cryptobyte.String, tag asn1.Tag, out *uint16) bool {
	explicit := tag.ContextSpecific().Constructed()
	implicit := tag.ContextSpecific()
	var v cryptobyte.String
	var n int64
	switch {
	case s.PeekASN1Tag(explicit):
		if !s.ReadASN1(&v, explicit) || !v.ReadASN1Integer(&n) || !v.Empty() {
			return false
		}
	case s.PeekASN1Tag(implicit):
		if !s.ReadASN1(&v, implicit) {
			return false
		}
		var ok bool
		if n, ok = derUint16Contents(v); !ok {
			return false
		}
	default:
		return true
	}
	if n < 1 || n > dkey.MaxMailboxSize {
		return false
	}
	*out = uint16(n)
	return true
}

// derUint16Contents parses the contents octets of a DER INTEGER that must
// be non-negative and fit 16 bits: minimal length (no superfluous leading
// zero), sign bit clear.
func derUint16Contents(b []byte) (int64, bool) {
	switch {
	case len(b) == 0 || len(b) > 3:
		return 0, false
	case b[0]&0x80 != 0:
		return 0, false // negative
	case len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0:
		return 0, false // not minimal
	}
	var n int64
	for _, c := range b {
		n = n<<8 | int64(c)
	}
	return n, true
}

// readSPKI reads a SubjectPublicKeyInfo that must hold an uncompressed
// P-256 point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 },
// BIT STRING }.
func readSPKI(s *cryptobyte.String) (*dkey.PublicKey, error) {
	var spki, alg, oid cryptobyte.String
	var point asn1BitString
	if !s.ReadASN1(&spki, asn1.SEQUENCE) ||
		!spki.ReadASN1(&alg, asn1.SEQUENCE) ||
		!alg.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || string(oid) != oidECPublicKey ||
		!alg.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) || string(oid) != oidPrime256v1 ||
		!alg.Empty() ||
		!point.read(&spki) || !spki.Empty() {
		return nil, errSPKI
	}
	k, err := dkey.ParsePublicKey(point)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// asn1BitString is the contents of a BIT STRING with no unused bits.
type asn1BitString []byte

func (p *asn1BitString) read(s *cryptobyte.String) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, asn1.BIT_STRING) || len(v) < 1 || v[0] != 0 {
		return false
	}
	*p = asn1BitString(v[1:])
	return true
}

// addSPKI writes the SubjectPublicKeyInfo of a P-256 key.
func addSPKI(b *cryptobyte.Builder, k *dkey.PublicKey) {
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes([]byte(oidECPublicKey)) })
			b.AddASN1(asn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes([]byte(oidPrime256v1)) })
		})
		b.AddASN1(asn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			var buf [dkey.PublicKeySize]byte
			b.AddBytes(k.Append(buf[:0]))
		})
	})
}
