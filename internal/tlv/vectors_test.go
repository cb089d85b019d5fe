package tlv

import (
	"encoding/hex"
	"strings"
)

// The expected encodings below are written by hand from ISO/IEC 7816-4
// 5.2.2, not produced by this package.

// fromHex decodes a hexadecimal constant of the tests; spaces are ignored.
func fromHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic("bad hex constant in test: " + s)
	}
	return b
}

// pattern returns n bytes that differ from their neighbours, as a value.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// goodTLV is a single data object: its encoding is hdr followed by
// pattern(n).
type goodTLV struct {
	name string
	tag  Tag
	hdr  string
	n    int
}

// goodTLVs cover every tag and length form.
var goodTLVs = []goodTLV{
	{"1-byte tag, empty value", 0x5C, "5C 00", 0},
	{"1-byte tag, 2 bytes", 0x5C, "5C 02", 2},
	{"AUTH0 vehicle identifier", 0x4D, "4D 08", 8},
	{"context class 87, 65 bytes", 0x87, "87 41", 65},
	{"1-byte constructed tag", 0xBA, "BA 00", 0},
	{"lowest first byte", 0x01, "01 01", 1},
	{"highest first byte", 0xFE, "FE 00", 0},
	{"length 7F, short form", 0xC0, "C0 7F", 0x7F},
	{"length 80, 81 form", 0xC0, "C0 81 80", 0x80},
	{"length FF, 81 form", 0xC0, "C0 81 FF", 0xFF},
	{"length 0100, 82 form", 0xC0, "C0 82 0100", 0x100},
	{"length 1234, 82 form", 0xC0, "C0 82 1234", 0x1234},
	{"length FFFF, 82 form", 0xC0, "C0 82 FFFF", 0xFFFF},
	{"2-byte tag 5F5F", 0x5F5F, "5F5F 01", 1},
	{"2-byte tag 7F4D, empty", 0x7F4D, "7F4D 00", 0},
	{"2-byte tag 7F50, 32 bytes", 0x7F50, "7F50 20", 0x20},
	{"2-byte tag 7F2A, 81 form", 0x7F2A, "7F2A 81 C8", 0xC8},
	{"2-byte tag 7F4A, 82 form", 0x7F4A, "7F4A 82 0300", 0x300},
	{"lowest 2-byte tag number", 0x1F1F, "1F1F 00", 0},
	{"highest 2-byte tag number", 0xDF7F, "DF7F 03", 3},
	{"3-byte tag 7F8101", 0x7F8101, "7F8101 00", 0},
	{"lowest 3-byte tag number", 0x1F8100, "1F8100 01", 1},
	{"highest 3-byte tag number", 0xDFFF7F, "DFFF7F 81 80", 0x80},
	{"3-byte tag, 82 form", 0x5F8A01, "5F8A01 82 0101", 0x101},
}

func (v goodTLV) encoding() []byte {
	return append(fromHex(v.hdr), pattern(v.n)...)
}

// badTLV is malformed input and the error Next returns for it.
type badTLV struct {
	name string
	in   []byte
	err  error
	tag  Tag // SyntaxError.Tag
}

var badTLVs = []badTLV{
	{"empty", nil, ErrTruncatedTag, 0},
	{"first byte 00", fromHex("00 00"), ErrInvalidTag, 0},
	{"first byte FF", fromHex("FF 00"), ErrInvalidTag, 0},
	{"first byte FF alone", fromHex("FF"), ErrInvalidTag, 0},
	{"1F alone", fromHex("1F"), ErrTruncatedTag, 0},
	{"5F alone", fromHex("5F"), ErrTruncatedTag, 0},
	{"7F alone", fromHex("7F"), ErrTruncatedTag, 0},
	{"second byte 00", fromHex("7F 00 00"), ErrInvalidTag, 0},
	{"second byte 1E", fromHex("7F 1E 00"), ErrInvalidTag, 0},
	{"second byte 80", fromHex("7F 80 01 00"), ErrInvalidTag, 0},
	{"3-byte tag truncated", fromHex("7F 81"), ErrTruncatedTag, 0},
	{"4-byte tag", fromHex("7F 81 80 01 00"), ErrInvalidTag, 0},
	{"4-byte tag truncated", fromHex("7F 81 80"), ErrInvalidTag, 0},
	{"no length", fromHex("5C"), ErrTruncatedLength, 0x5C},
	{"no length after 2-byte tag", fromHex("7F4D"), ErrTruncatedLength, 0x7F4D},
	{"81 without byte", fromHex("5C 81"), ErrTruncatedLength, 0x5C},
	{"82 with one byte", fromHex("5C 82 01"), ErrTruncatedLength, 0x5C},
	{"82 without bytes", fromHex("7F8101 82"), ErrTruncatedLength, 0x7F8101},
	{"indefinite length", fromHex("5C 80 01 00 00 00"), ErrIndefiniteLength, 0x5C},
	{"81 00", fromHex("5C 81 00"), ErrNonCanonicalLength, 0x5C},
	{"81 7F with value", append(fromHex("5C 81 7F"), pattern(0x7F)...), ErrNonCanonicalLength, 0x5C},
	{"82 0000", fromHex("5C 82 0000"), ErrNonCanonicalLength, 0x5C},
	{"82 007F", fromHex("5C 82 007F"), ErrNonCanonicalLength, 0x5C},
	{"82 00FF with value", append(fromHex("7F4D 82 00FF"), pattern(0xFF)...), ErrNonCanonicalLength, 0x7F4D},
	{"83 form", fromHex("5C 83 010000"), ErrLengthTooLong, 0x5C},
	{"83 form, small", fromHex("5C 83 000001 00"), ErrLengthTooLong, 0x5C},
	{"84 form", fromHex("5C 84 00010000"), ErrLengthTooLong, 0x5C},
	{"85 form", fromHex("5C 85"), ErrLengthTooLong, 0x5C},
	{"FF length", fromHex("5C FF"), ErrLengthTooLong, 0x5C},
	{"value missing", fromHex("5C 01"), ErrTruncatedValue, 0x5C},
	{"value short", fromHex("5C 02 01"), ErrTruncatedValue, 0x5C},
	{"81 form value short", append(fromHex("5C 81 80"), pattern(0x7F)...), ErrTruncatedValue, 0x5C},
	{"82 form value short", append(fromHex("7F4D 82 0100"), pattern(0xFF)...), ErrTruncatedValue, 0x7F4D},
	{"82 FFFF value short", append(fromHex("7F8101 82 FFFF"), pattern(0xFFFE)...), ErrTruncatedValue, 0x7F8101},
}
