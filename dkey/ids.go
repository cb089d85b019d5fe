package dkey

import (
	"fmt"
)

// Identifier lengths fixed by the profiles.
const (
	// VehicleIDLenCCC is the length of the CCC vehicle identifier (AUTH0 tag 4D).
	VehicleIDLenCCC = 8
	// VehicleIDLenHomeKey is the length of the Home Key reader identifier:
	// an 8-byte reader group identifier followed by an 8-byte reader identifier.
	VehicleIDLenHomeKey = 16
	// MaxKeySlotLen is the longest key slot identifier (CCC uses 8 bytes).
	MaxKeySlotLen = 8
)

// VehicleID identifies a vehicle (or a Home Key reader) to the endpoint. It is
// 8 bytes in the CCC profile and 16 bytes in the Home Key profile.
//
// The zero value is the empty identifier, which no profile accepts.
// VehicleID values are comparable with ==.
type VehicleID struct {
	n uint8
	b [VehicleIDLenHomeKey]byte
}

// NewVehicleID returns the identifier held in b, which must be 8 or 16 bytes
// long. It returns an error wrapping [ErrInvalidVehicleID] otherwise.
func NewVehicleID(b []byte) (VehicleID, error) {
	var v VehicleID
	if len(b) != VehicleIDLenCCC && len(b) != VehicleIDLenHomeKey {
		return v, fmt.Errorf("%w: %d bytes, want %d or %d", ErrInvalidVehicleID, len(b), VehicleIDLenCCC, VehicleIDLenHomeKey)
	}
	v.n = uint8(copy(v.b[:], b))
	return v, nil
}

// Len returns the length of the identifier in bytes; 0 for the zero value.
func (v VehicleID) Len() int { return int(v.n) }

// IsZero reports whether v is the zero (empty) identifier.
func (v VehicleID) IsZero() bool { return v.n == 0 }

// Append appends the identifier bytes to dst and returns the extended slice.
func (v VehicleID) Append(dst []byte) []byte { return append(dst, v.b[:v.n]...) }

// Bytes returns a copy of the identifier bytes.
func (v VehicleID) Bytes() []byte { return v.Append(make([]byte, 0, v.n)) }

// Equal reports whether v and w hold the same bytes.
func (v VehicleID) Equal(w VehicleID) bool { return v == w }

// EqualBytes reports whether b holds the bytes of v.
func (v VehicleID) EqualBytes(b []byte) bool {
	return len(b) == int(v.n) && string(b) == string(v.b[:v.n])
}

// String returns the identifier in lowercase hexadecimal.
func (v VehicleID) String() string { return hexString(v.b[:v.n]) }

// KeySlot identifies one endpoint key: the key slot identifier that the
// endpoint returns in AUTH1 (tag 4E) and that the endpoint certificate carries
// as initial_key_slot. CCC uses 8 bytes and Home Key 6 (the first six bytes of
// SHA-1 over the endpoint public key); any length from 1 to 8 is accepted,
// because the public sources disagree (docs/protocol.md §11 item 11).
//
// The zero value is the empty identifier. KeySlot values are comparable with ==.
type KeySlot struct {
	n uint8
	b [MaxKeySlotLen]byte
}

// NewKeySlot returns the key slot identifier held in b, which must be 1 to 8
// bytes long. It returns an error wrapping [ErrInvalidKeySlot] otherwise.
func NewKeySlot(b []byte) (KeySlot, error) {
	var k KeySlot
	if len(b) == 0 || len(b) > MaxKeySlotLen {
		return k, fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidKeySlot, len(b), MaxKeySlotLen)
	}
	k.n = uint8(copy(k.b[:], b))
	return k, nil
}

// Len returns the length of the identifier in bytes; 0 for the zero value.
func (k KeySlot) Len() int { return int(k.n) }

// IsZero reports whether k is the zero (empty) identifier.
func (k KeySlot) IsZero() bool { return k.n == 0 }

// Append appends the identifier bytes to dst and returns the extended slice.
func (k KeySlot) Append(dst []byte) []byte { return append(dst, k.b[:k.n]...) }

// Bytes returns a copy of the identifier bytes.
func (k KeySlot) Bytes() []byte { return k.Append(make([]byte, 0, k.n)) }

// EqualBytes reports whether b holds the bytes of k.
func (k KeySlot) EqualBytes(b []byte) bool {
	return len(b) == int(k.n) && string(b) == string(k.b[:k.n])
}

// String returns the identifier in lowercase hexadecimal.
func (k KeySlot) String() string { return hexString(k.b[:k.n]) }
