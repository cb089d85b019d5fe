package polling

// CRC_A of ISO/IEC 14443-3 (Annex B): the CRC-16 of ITU-T V.41 with the
// polynomial x^16 + x^12 + x^5 + 1, processed least significant bit first
// (the reflected polynomial 8408), preset to 6363, not inverted. It is sent
// least significant byte first.
const (
	crcAPreset = 0x6363
	crcAPoly   = 0x8408
)

// CRCA returns the CRC_A of data (ISO/IEC 14443-3 Annex B).
func CRCA(data []byte) uint16 {
	crc := uint16(crcAPreset)
	for _, b := range data {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ crcAPoly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// AppendCRCA appends the CRC_A of data to dst, least significant byte first
// as it goes on air, and returns the extended slice. Frames built with
// CRC_A in place are sent with the controller's own CRC generation off.
func AppendCRCA(dst, data []byte) []byte {
	crc := CRCA(data)
	return append(dst, byte(crc), byte(crc>>8))
}

// CheckCRCA reports whether frame ends with the CRC_A of the bytes before it.
func CheckCRCA(frame []byte) bool {
	if len(frame) < 2 {
		return false
	}
	n := len(frame) - 2
	crc := CRCA(frame[:n])
	return frame[n] == byte(crc) && frame[n+1] == byte(crc>>8)
}
