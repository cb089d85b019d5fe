package tlv

// MaxLength is the largest value length this package encodes or accepts:
// the largest that fits the 82 xx xx form, and the largest data field an
// extended-length APDU can carry.
const MaxLength = 0xFFFF

// readHeader reads the tag and length fields at the start of b. It returns
// the tag, the header length and the value length, and checks that the
// value fits in b.
func readHeader(b []byte) (t Tag, hdr, n int, c code) {
	t, hdr, n, c = header(b)
	if c == ok && n > len(b)-hdr {
		c = truncatedValue
	}
	return t, hdr, n, c
}

// header reads the tag and length fields at the start of b, without
// checking that the value is there. The tag is set whenever it was read.
func header(b []byte) (t Tag, hdr, n int, c code) {
	tl, c := readTag(b)
	if c != ok {
		return 0, 0, 0, c
	}
	t = tagValue(b, tl)
	n, ll, c := readLength(b[tl:])
	if c != ok {
		return t, 0, 0, c
	}
	return t, tl + ll, n, ok
}

// readLength reads a definite length field at the start of b (ISO/IEC
// 7816-4 5.2.2.2) in its shortest form, and returns the length and the
// number of bytes of the field.
func readLength(b []byte) (n, ll int, c code) {
	if len(b) == 0 {
		return 0, 0, truncatedLength
	}
	switch l0 := b[0]; {
	case l0 < 0x80:
		return int(l0), 1, ok
	case l0 == 0x80:
		// BER's indefinite form; ISO/IEC 7816-4 has no use for it.
		return 0, 0, indefiniteLength
	case l0 == 0x81:
		if len(b) < 2 {
			return 0, 0, truncatedLength
		}
		if b[1] < 0x80 {
			return 0, 0, nonCanonicalLength
		}
		return int(b[1]), 2, ok
	case l0 == 0x82:
		if len(b) < 3 {
			return 0, 0, truncatedLength
		}
		n = int(b[1])<<8 | int(b[2])
		if n < 0x100 {
			return 0, 0, nonCanonicalLength
		}
		return n, 3, ok
	}
	// 83 and 84 are valid ISO/IEC 7816-4 forms for lengths beyond 65535,
	// which no APDU can carry; 85 to FF are invalid.
	return 0, 0, lengthTooLong
}

// Next reads the data object at the start of b. It returns its tag, its
// value and the bytes after it; value and rest alias b.
//
// It accepts only the encodings this package produces: a valid Tag of one to
// three bytes and a definite length in its shortest form, at most
// MaxLength. It does not look inside constructed values; Validate and Parse
// do. The error is a *SyntaxError with Offset 0 wrapping one of
// ErrTruncatedTag, ErrInvalidTag, ErrTruncatedLength, ErrIndefiniteLength,
// ErrNonCanonicalLength, ErrLengthTooLong or ErrTruncatedValue.
func Next(b []byte) (t Tag, value, rest []byte, err error) {
	t, hdr, n, c := readHeader(b)
	if c != ok {
		return 0, nil, nil, syntaxError(c, 0, t)
	}
	return t, b[hdr : hdr+n : hdr+n], b[hdr+n:], nil
}

// Single reads b as exactly one data object with tag want and returns its
// value, which aliases b. Besides the errors of Next it returns
// ErrUnexpectedTag (with SyntaxError.Tag and Want set) and ErrTrailingData
// (with Offset at the first extra byte).
func Single(b []byte, want Tag) (value []byte, err error) {
	t, hdr, n, c := readHeader(b)
	if c != ok {
		return nil, syntaxError(c, 0, t)
	}
	if t != want {
		return nil, &SyntaxError{Offset: 0, Tag: t, Want: want, Err: ErrUnexpectedTag}
	}
	if hdr+n != len(b) {
		return nil, syntaxError(trailingData, hdr+n, 0)
	}
	return b[hdr : hdr+n : hdr+n], nil
}
