package tlv

// lengthLen returns the number of bytes of the shortest length field for n.
func lengthLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xFF:
		return 2
	}
	return 3
}

// AppendLength appends the length field for a value of n bytes, in its
// shortest definite form (ISO/IEC 7816-4 5.2.2.2): one byte for 0 to 127,
// 81 xx for 128 to 255, 82 xx xx for 256 to 65535.
//
// It panics if n is negative or larger than MaxLength: every APDU data field
// is at most MaxLength bytes, so a caller that places data from outside the
// program in a TLV must bound it first.
func AppendLength(dst []byte, n int) []byte {
	switch {
	case n < 0 || n > MaxLength:
		panic("tlv: length out of range")
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	}
	return append(dst, 0x82, byte(n>>8), byte(n))
}

// AppendTLV appends the data object with tag t and the given value to dst
// and returns the extended slice. It does not allocate when dst has room.
//
// It panics if t is not Valid or len(value) > MaxLength (see AppendLength).
func AppendTLV(dst []byte, t Tag, value []byte) []byte {
	dst = t.Append(dst)
	dst = AppendLength(dst, len(value))
	return append(dst, value...)
}

// AppendTLVUint8 appends a data object whose value is the single byte v.
func AppendTLVUint8(dst []byte, t Tag, v uint8) []byte {
	return append(t.Append(dst), 1, v)
}

// AppendTLVUint16 appends a data object whose value is v in two big-endian
// bytes.
func AppendTLVUint16(dst []byte, t Tag, v uint16) []byte {
	return append(t.Append(dst), 2, byte(v>>8), byte(v))
}

// AppendTLVUint32 appends a data object whose value is v in four big-endian
// bytes.
func AppendTLVUint32(dst []byte, t Tag, v uint32) []byte {
	return append(t.Append(dst), 4, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// AppendConstructed appends a constructed data object with tag t whose value
// is what f appends: it writes the tag and a one-byte length placeholder,
// calls f with the slice so far, then fixes the length, moving the value up
// by one or two bytes if it needs the 81 or 82 form. It does not allocate
// when dst has room for the whole object.
//
//	b = tlv.AppendConstructed(b, 0x7F50, func(b []byte) []byte {
//		b = tlv.AppendTLV(b, 0xC0, salt)
//		return tlv.AppendTLVUint32(b, 0xC1, n)
//	})
//
// f must append to its argument and return the result, as append does; it
// should append data objects, since t is constructed. AppendConstructed
// panics if t is not a valid constructed tag, if f returns a slice shorter
// than its argument, or if the value is longer than MaxLength.
func AppendConstructed(dst []byte, t Tag, f func(b []byte) []byte) []byte {
	if !t.Valid() || !t.Constructed() {
		panic("tlv: not a constructed tag " + t.String())
	}
	dst = t.Append(dst)
	start := len(dst) + 1 // first byte of the value
	dst = f(append(dst, 0))
	if len(dst) < start {
		panic("tlv: AppendConstructed: f shrank its argument")
	}
	n := len(dst) - start
	if n > MaxLength {
		panic("tlv: AppendConstructed: value longer than MaxLength")
	}
	extra := lengthLen(n) - 1
	if extra > 0 {
		// Grow by extra bytes (the appended bytes are overwritten by the
		// copy), then move the value up past the longer length field.
		dst = append(dst, make([]byte, extra)...)
		copy(dst[start+extra:], dst[start:start+n])
	}
	AppendLength(dst[start-1:start-1], n)
	return dst
}
