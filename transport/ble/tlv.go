package ble

// The event and RKE payloads of §8.6 are BER-TLV data objects with one- and
// two-byte tags (80, 7F70, 7F71). Every value they hold is shorter than 128
// bytes, so the package writes and reads the short length form only: a
// length byte of 80 or more is rejected, which keeps each encoding unique
// (a long form for a short length is not DER-minimal either).

// maxShortLen is the longest value the short length form encodes.
const maxShortLen = 0x7F

// appendTag appends a one- or two-byte tag: tags above FF are two bytes.
func appendTag(dst []byte, tag uint16) []byte {
	if tag > 0xFF {
		return append(dst, byte(tag>>8), byte(tag))
	}
	return append(dst, byte(tag))
}

// readTLV reads from the front of b a data object with tag and a short-form
// length, and returns its value and the bytes after it.
func readTLV(b []byte, tag uint16) (val, rest []byte, ok bool) {
	n := 1
	if tag > 0xFF {
		n = 2
		if len(b) < 2 || b[0] != byte(tag>>8) || b[1] != byte(tag) {
			return nil, nil, false
		}
	} else if len(b) < 1 || b[0] != byte(tag) {
		return nil, nil, false
	}
	b = b[n:]
	if len(b) < 1 || b[0] > maxShortLen || int(b[0]) > len(b)-1 {
		return nil, nil, false
	}
	l := int(b[0])
	return b[1 : 1+l], b[1+l:], true
}

// readFixed reads a data object with tag whose value is exactly size bytes.
func readFixed(b []byte, tag uint16, size int) (val, rest []byte, ok bool) {
	val, rest, ok = readTLV(b, tag)
	if !ok || len(val) != size {
		return nil, nil, false
	}
	return val, rest, true
}
