package tlv

// String is a byte slice being read as a sequence of BER-TLV data objects,
// in the style of golang.org/x/crypto/cryptobyte.String (which refuses tags
// of more than one byte). Its methods return false on malformed input or a
// mismatch, leave s and their outputs unchanged when they do, and chain
// with &&:
//
//	s := tlv.String(data)
//	var version uint16
//	var ePK [65]byte
//	ok := s.ReadTLVUint16(0x5C, &version) && s.ReadTLVBytes(0x87, ePK[:]) && s.Empty()
//
// The methods check the encoding of each data object read (valid tag,
// shortest definite length, value present) but do not look inside
// constructed values; use Validate for that. Values alias s. When a caller
// needs the reason for a failure, Next and Single return it.
type String []byte

// Empty reports whether s has been read completely.
func (s String) Empty() bool { return len(s) == 0 }

// PeekTag stores the tag of the next data object in *t without consuming
// it. It reports false if s is empty or does not begin with a valid tag.
func (s String) PeekTag(t *Tag) bool {
	n, c := readTag(s)
	if c != ok {
		return false
	}
	*t = tagValue(s, n)
	return true
}

// ReadTag reads a bare tag field, as in the tag lists of ISO/IEC 7816-4
// (GET DATA), and stores it in *t.
func (s *String) ReadTag(t *Tag) bool {
	n, c := readTag(*s)
	if c != ok {
		return false
	}
	*t = tagValue(*s, n)
	*s = (*s)[n:]
	return true
}

// read consumes the next data object and returns its tag and value.
func (s *String) read() (t Tag, v String, good bool) {
	t, hdr, n, c := readHeader(*s)
	if c != ok {
		return 0, nil, false
	}
	v = (*s)[hdr : hdr+n : hdr+n]
	*s = (*s)[hdr+n:]
	return t, v, true
}

// ReadAnyTLV reads the next data object, whatever its tag, and stores its
// tag in *tag and its value in *out. out may be s itself.
func (s *String) ReadAnyTLV(out *String, tag *Tag) bool {
	t, v, good := s.read()
	if !good {
		return false
	}
	*tag = t
	*out = v
	return true
}

// ReadTLV reads the next data object, which must have tag t, and stores its
// value in *out. out may be s itself.
func (s *String) ReadTLV(out *String, t Tag) bool {
	v, good := s.readTagged(t, -1)
	if good {
		*out = v
	}
	return good
}

// readTagged consumes the next data object if it has tag t and, when size
// is not negative, a value of size bytes.
func (s *String) readTagged(t Tag, size int) (String, bool) {
	got, hdr, n, c := readHeader(*s)
	if c != ok || got != t || (size >= 0 && n != size) {
		return nil, false
	}
	v := (*s)[hdr : hdr+n : hdr+n]
	*s = (*s)[hdr+n:]
	return v, true
}

// ReadOptionalTLV reads the next data object if it has tag t, storing its
// value in *out and true in *present; otherwise it stores false in *present
// (and leaves *out alone) and reports true. It reports false if s is not
// empty and does not begin with a valid tag, or if the data object with tag
// t is malformed.
func (s *String) ReadOptionalTLV(out *String, present *bool, t Tag) bool {
	if len(*s) == 0 {
		*present = false
		return true
	}
	var got Tag
	if !s.PeekTag(&got) {
		return false
	}
	if got != t {
		*present = false
		return true
	}
	if !s.ReadTLV(out, t) {
		return false
	}
	*present = true
	return true
}

// SkipTLV skips the next data object, which must have tag t.
func (s *String) SkipTLV(t Tag) bool {
	var v String
	return s.ReadTLV(&v, t)
}

// SkipAnyTLV skips the next data object, whatever its tag.
func (s *String) SkipAnyTLV() bool {
	_, _, good := s.read()
	return good
}

// SkipOptionalTLV skips the next data object if it has tag t, with the rules
// of ReadOptionalTLV.
func (s *String) SkipOptionalTLV(t Tag) bool {
	var v String
	var present bool
	return s.ReadOptionalTLV(&v, &present, t)
}

// ReadTLVBytes reads the next data object, which must have tag t and a value
// of exactly len(out) bytes, and copies the value into out.
func (s *String) ReadTLVBytes(t Tag, out []byte) bool {
	v, good := s.readTagged(t, len(out))
	copy(out, v)
	return good
}

// ReadTLVUint8 reads the next data object, which must have tag t and a
// one-byte value, into *out.
func (s *String) ReadTLVUint8(t Tag, out *uint8) bool {
	var b [1]byte
	if !s.ReadTLVBytes(t, b[:]) {
		return false
	}
	*out = b[0]
	return true
}

// ReadTLVUint16 reads the next data object, which must have tag t and a
// two-byte big-endian value, into *out.
func (s *String) ReadTLVUint16(t Tag, out *uint16) bool {
	var b [2]byte
	if !s.ReadTLVBytes(t, b[:]) {
		return false
	}
	*out = uint16(b[0])<<8 | uint16(b[1])
	return true
}

// ReadTLVUint32 reads the next data object, which must have tag t and a
// four-byte big-endian value, into *out.
func (s *String) ReadTLVUint32(t Tag, out *uint32) bool {
	var b [4]byte
	if !s.ReadTLVBytes(t, b[:]) {
		return false
	}
	*out = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return true
}
