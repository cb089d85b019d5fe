package tlv_test

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/internal/tlv"
)

// Build the data field of an AUTH0 command (docs/protocol.md §4.2) into a
// caller-owned buffer, read it back with String, and get the reason for a
// failure from Single.
func Example_auth0() {
	var (
		ePK       [65]byte // vehicle ephemeral public key, 04‖X‖Y
		txID      [16]byte // transaction identifier
		vehicleID = [8]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	)
	ePK[0] = 0x04

	buf := make([]byte, 0, 128)
	buf = tlv.AppendTLVUint16(buf, 0x5C, 0x0100) // selected protocol version
	buf = tlv.AppendTLV(buf, 0x87, ePK[:])
	buf = tlv.AppendTLV(buf, 0x4C, txID[:])
	buf = tlv.AppendTLV(buf, 0x4D, vehicleID[:])
	fmt.Printf("Lc %02X\n", len(buf))
	fmt.Printf("% X\n", buf[:7])
	fmt.Printf("% X\n", buf[len(buf)-10:])

	var (
		version uint16
		gotEPK  [65]byte
		gotTxID [16]byte
		gotID   [8]byte
	)
	s := tlv.String(buf)
	ok := s.ReadTLVUint16(0x5C, &version) &&
		s.ReadTLVBytes(0x87, gotEPK[:]) &&
		s.ReadTLVBytes(0x4C, gotTxID[:]) &&
		s.ReadTLVBytes(0x4D, gotID[:]) &&
		s.Empty()
	fmt.Printf("parsed %v: version %04X, vehicle %X\n", ok, version, gotID)

	// A SELECT response holds one 5C data object and nothing else.
	_, err := tlv.Single(buf, 0x5C)
	var se *tlv.SyntaxError
	fmt.Println(err, errors.Is(err, tlv.ErrTrailingData), errors.As(err, &se) && se.Offset == 4)
	// Output:
	// Lc 63
	// 5C 02 01 00 87 41 04
	// 4D 08 11 22 33 44 55 66 77 88
	// parsed true: version 0100, vehicle 1122334455667788
	// tlv: trailing data at offset 4 true true
}

// A constructed data object whose length is known only after its contents
// are written: the scrypt configuration of SPAKE2+ REQUEST (docs/protocol.md §3.2).
func ExampleAppendConstructed() {
	salt := make([]byte, 16)
	b := tlv.AppendConstructed(nil, 0x7F50, func(b []byte) []byte {
		b = tlv.AppendTLV(b, 0xC0, salt)
		b = tlv.AppendTLVUint32(b, 0xC1, 16384) // N
		b = tlv.AppendTLVUint16(b, 0xC2, 8)     // r
		return tlv.AppendTLVUint16(b, 0xC3, 1)  // p
	})
	fmt.Printf("% X\n", b[:3])
	fmt.Println(len(b), tlv.Validate(b, nil))

	elems, _ := tlv.Parse(b, nil)
	for _, e := range elems[0].Children {
		fmt.Printf("%v %X\n", e.Tag, e.Value)
	}
	// Output:
	// 7F 50 20
	// 35 <nil>
	// C0 00000000000000000000000000000000
	// C1 00004000
	// C2 0008
	// C3 0001
}

func ExampleNext() {
	in := []byte{0x7F, 0x4D, 0x81, 0x05, 0xC0, 0x00}
	_, _, _, err := tlv.Next(in)
	fmt.Println(err)
	fmt.Println(errors.Is(err, tlv.ErrNonCanonicalLength))
	// Output:
	// tlv: non-canonical length 7F4D at offset 0
	// true
}
