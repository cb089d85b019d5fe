package cert

import (
	"encoding/asn1"
	"strconv"
)

// Kind is a CCC certificate type: the type letter xipki uses for it and the
// private extension that marks it, 1.3.6.1.4.1.41577.5.<Kind>
// (docs/protocol.md §10.1). The numeric value of a Kind is the last arc of its
// extension OID.
type Kind uint8

// Certificate types of the Digital Key PKI. The zero value is not a kind.
const (
	KindVehicle                 Kind = 1  // [K] vehicle public-key certificate (leaf)
	KindDeviceIntermediate      Kind = 2  // [F] Device OEM intermediate ("external CA")
	KindInstanceCA              Kind = 3  // [E] instance CA of one applet instance, key in the SE
	KindEndpoint                Kind = 4  // [H] endpoint certificate, one per key (leaf)
	KindVehicleOEMEncryption    Kind = 5  // [P] Vehicle OEM server encryption certificate
	KindVehicleOEMSignature     Kind = 6  // [Q] Vehicle OEM server signature certificate
	KindDeviceEncryption        Kind = 7  // [7] device encryption certificate
	KindVehicleIntermediate     Kind = 8  // [8] vehicle intermediate CA
	KindVehicleOEMCA            Kind = 9  // [J] Vehicle OEM CA
	KindVehicleOEMCAAlternative Kind = 10 // [M] Vehicle OEM CA, second form
	minKind                          = KindVehicle
	maxKind                          = KindVehicleOEMCAAlternative
)

// cccArc is the arc of the CCC certificate extensions, 1.3.6.1.4.1.41577.5:
// 41577 is the CCC private enterprise number.
var cccArc = [...]int{1, 3, 6, 1, 4, 1, 41577, 5}

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return k >= minKind && k <= maxKind }

// OID returns the object identifier of the extension that marks k,
// 1.3.6.1.4.1.41577.5.<k>. The caller owns the returned slice.
func (k Kind) OID() asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier(cccArc[:len(cccArc):len(cccArc)]), int(k))
}

// String returns the name and type letter of k, for example "endpoint [H]".
func (k Kind) String() string {
	switch k {
	case KindVehicle:
		return "vehicle [K]"
	case KindDeviceIntermediate:
		return "device OEM intermediate [F]"
	case KindInstanceCA:
		return "instance CA [E]"
	case KindEndpoint:
		return "endpoint [H]"
	case KindVehicleOEMEncryption:
		return "vehicle OEM encryption [P]"
	case KindVehicleOEMSignature:
		return "vehicle OEM signature [Q]"
	case KindDeviceEncryption:
		return "device encryption [7]"
	case KindVehicleIntermediate:
		return "vehicle intermediate [8]"
	case KindVehicleOEMCA:
		return "vehicle OEM CA [J]"
	case KindVehicleOEMCAAlternative:
		return "vehicle OEM CA [M]"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// isCCCOID reports whether oid lies under the CCC extension arc, and if so
// returns its last arc as a Kind (which may not be a defined kind).
func isCCCOID(oid asn1.ObjectIdentifier) (Kind, bool) {
	if len(oid) != len(cccArc)+1 {
		return 0, false
	}
	for i, a := range cccArc {
		if oid[i] != a {
			return 0, false
		}
	}
	last := oid[len(cccArc)]
	if last < 0 || last > 255 {
		return 0, false
	}
	return Kind(last), true
}
