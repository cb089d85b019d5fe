package tlv

// An AUTH0 command data field in the CCC form (docs/protocol.md §4.2): selected
// version 5C, vehicle ephemeral key 87, transaction identifier 4C, vehicle
// identifier 4D (8 bytes).
var (
	auth0EPK = func() (k [65]byte) {
		k[0] = 0x04
		copy(k[1:], pattern(64))
		return k
	}()
	auth0TxID      = [16]byte{0: 0xA0, 15: 0xAF}
	auth0VehicleID = [8]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
)

func appendAUTH0(b []byte) []byte {
	b = AppendTLVUint16(b, 0x5C, 0x0100)
	b = AppendTLV(b, 0x87, auth0EPK[:])
	b = AppendTLV(b, 0x4C, auth0TxID[:])
	return AppendTLV(b, 0x4D, auth0VehicleID[:])
}

type auth0 struct {
	version   uint16
	ePK       [65]byte
	txID      [16]byte
	vehicleID [8]byte
}

func (m *auth0) unmarshal(b []byte) bool {
	s := String(b)
	return s.ReadTLVUint16(0x5C, &m.version) &&
		s.ReadTLVBytes(0x87, m.ePK[:]) &&
		s.ReadTLVBytes(0x4C, m.txID[:]) &&
		s.ReadTLVBytes(0x4D, m.vehicleID[:]) &&
		s.Empty()
}
