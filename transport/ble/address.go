package ble

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// AddressType is the type of an LE device address. The values are those of
// the kernel's sockaddr_l2 (BDADDR_LE_PUBLIC, BDADDR_LE_RANDOM).
type AddressType uint8

// LE address types.
const (
	AddressPublic AddressType = 1
	AddressRandom AddressType = 2
)

// String returns "public" or "random".
func (t AddressType) String() string {
	switch t {
	case AddressPublic:
		return "public"
	case AddressRandom:
		return "random"
	}
	return fmt.Sprintf("AddressType(%d)", uint8(t))
}

// Address is an LE device address: six bytes, most significant first, as
// written AA:BB:CC:DD:EE:FF, with its type. The vehicle advertises with a
// resolvable private (random) address once bonded (§8.1).
type Address struct {
	Addr [6]byte
	Type AddressType
}

// ParseAddress parses "AA:BB:CC:DD:EE:FF" with an optional "/public" or
// "/random" suffix; without one the address is public.
func ParseAddress(s string) (Address, error) {
	a := Address{Type: AddressPublic}
	addr, typ, hasType := strings.Cut(s, "/")
	if hasType {
		switch typ {
		case "public":
		case "random":
			a.Type = AddressRandom
		default:
			return Address{}, fmt.Errorf("ble: address %q: unknown type %q", s, typ)
		}
	}
	parts := strings.Split(addr, ":")
	if len(parts) != len(a.Addr) {
		return Address{}, fmt.Errorf("ble: address %q: want six bytes separated by colons", s)
	}
	for i, p := range parts {
		if len(p) != 2 {
			return Address{}, fmt.Errorf("ble: address %q: byte %q", s, p)
		}
		if _, err := hex.Decode(a.Addr[i:i+1], []byte(p)); err != nil {
			return Address{}, fmt.Errorf("ble: address %q: %w", s, err)
		}
	}
	return a, nil
}

// String returns the address as AA:BB:CC:DD:EE:FF/type.
func (a Address) String() string {
	var b strings.Builder
	for i, c := range a.Addr {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String() + "/" + a.Type.String()
}
