package tlv

// Tag is a BER-TLV tag as ISO/IEC 7816-4 5.2.2.1 encodes it, held as its
// encoded bytes in big-endian order: Tag(0x4D), Tag(0x7F4D), Tag(0x5F5F),
// Tag(0x7F8101). The zero Tag is not valid.
//
// A valid tag has one to three bytes. The first byte is neither 00 nor FF;
// if its low five bits are 11111 more bytes follow, and in each following
// byte bit 8 set means one more. In tags of two or more bytes the second
// byte is not 00–1E or 80, so every tag number has exactly one encoding.
type Tag uint32

// MaxTagLen is the number of bytes of the longest tag this package accepts.
const MaxTagLen = 3

// Len returns the number of bytes of the encoded tag (1 to 4; 4 is never
// valid). The zero Tag has length 1.
func (t Tag) Len() int {
	switch {
	case t <= 0xFF:
		return 1
	case t <= 0xFFFF:
		return 2
	case t <= 0xFFFFFF:
		return 3
	}
	return 4
}

// first returns the first encoded byte of t.
func (t Tag) first() byte {
	return byte(t >> (8 * (t.Len() - 1)))
}

// Constructed reports whether t is the tag of a constructed data object,
// one whose value is a sequence of data objects (bit 6 of the first byte,
// ISO/IEC 7816-4 5.2.2.1).
func (t Tag) Constructed() bool {
	return t.first()&0x20 != 0
}

// Valid reports whether t is a tag that ISO/IEC 7816-4 5.2.2.1 allows, in its
// only encoding, with at most three bytes.
func (t Tag) Valid() bool {
	n := t.Len()
	if n > MaxTagLen {
		return false
	}
	var b [MaxTagLen]byte
	for i := range n {
		b[i] = byte(t >> (8 * (n - 1 - i)))
	}
	l, c := readTag(b[:n])
	return c == ok && l == n
}

// Append appends the encoded tag to dst and returns the extended slice.
// It panics if t is not Valid: tags are constants of the protocol, or come
// from this package's readers, which only return valid tags.
func (t Tag) Append(dst []byte) []byte {
	if !t.Valid() {
		panic("tlv: invalid tag " + t.String())
	}
	for i := t.Len() - 1; i >= 0; i-- {
		dst = append(dst, byte(t>>(8*i)))
	}
	return dst
}

// String returns the tag in upper-case hexadecimal, two digits per encoded
// byte ("4D", "7F4D").
func (t Tag) String() string {
	const digits = "0123456789ABCDEF"
	var buf [8]byte
	n := t.Len()
	for i := range n {
		c := byte(t >> (8 * (n - 1 - i)))
		buf[2*i] = digits[c>>4]
		buf[2*i+1] = digits[c&0x0F]
	}
	return string(buf[:2*n])
}

// readTag reads the tag field at the start of b (ISO/IEC 7816-4 5.2.2.1) and
// returns its length in bytes.
func readTag(b []byte) (n int, c code) {
	if len(b) == 0 {
		return 0, truncatedTag
	}
	// 5.2.2.1: the values 00 and FF are invalid for the first byte.
	if b[0] == 0x00 || b[0] == 0xFF {
		return 0, invalidTag
	}
	// Low five bits other than 11111: the tag has one byte.
	if b[0]&0x1F != 0x1F {
		return 1, ok
	}
	if len(b) < 2 {
		return 0, truncatedTag
	}
	// 5.2.2.1: in tags of two or more bytes, 00 to 1E and 80 are invalid for
	// the second byte (tag numbers below 31 use one byte; 80 would be a
	// leading zero group).
	if b[1] <= 0x1E || b[1] == 0x80 {
		return 0, invalidTag
	}
	if b[1]&0x80 == 0 {
		return 2, ok
	}
	if len(b) < 3 {
		return 0, truncatedTag
	}
	// A third byte with bit 8 set would announce a fourth byte; this
	// package takes at most three, as ISO/IEC 7816-4 does.
	if b[2]&0x80 != 0 {
		return 0, invalidTag
	}
	return 3, ok
}

// tagValue returns the Tag whose encoding is b[:n].
func tagValue(b []byte, n int) Tag {
	var t Tag
	for _, c := range b[:n] {
		t = t<<8 | Tag(c)
	}
	return t
}
