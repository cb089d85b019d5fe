package tlv

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStringAUTH0(t *testing.T) {
	in := appendAUTH0(nil)
	if len(in) != 0x63 { // docs/protocol.md §4.2: CCC AUTH0 Lc = 0x63
		t.Fatalf("AUTH0 data field is %#x bytes, want 0x63", len(in))
	}
	var m auth0
	if !m.unmarshal(in) {
		t.Fatalf("unmarshal(%x) = false", in)
	}
	want := auth0{version: 0x0100, ePK: auth0EPK, txID: auth0TxID, vehicleID: auth0VehicleID}
	if diff := cmp.Diff(want, m, cmp.AllowUnexported(auth0{})); diff != "" {
		t.Errorf("unmarshal mismatch (-want +got):\n%s", diff)
	}
	for i := range len(in) {
		if m.unmarshal(in[:i]) {
			t.Errorf("unmarshal(%x) of a %d-byte prefix = true", in[:i], i)
		}
	}
	if m.unmarshal(append(in, 0x00)) {
		t.Errorf("unmarshal with a trailing 00 = true")
	}
}

// readCase is one call of a String method on input in.
type readCase struct {
	name string
	in   string
	call func(s *String) bool
	ok   bool
	rest string // what remains of s afterwards (in, when ok is false)
}

func TestStringMethods(t *testing.T) {
	var (
		v       String
		tag     Tag
		present bool
		u8      uint8
		u16     uint16
		u32     uint32
		arr     [2]byte
	)
	tests := []readCase{
		{"ReadAnyTLV", "5C 02 0100 4D 00", func(s *String) bool { return s.ReadAnyTLV(&v, &tag) && tag == 0x5C && bytes.Equal(v, fromHex("0100")) }, true, "4D 00"},
		{"ReadAnyTLV 2-byte tag", "7F4D 01 AA", func(s *String) bool { return s.ReadAnyTLV(&v, &tag) && tag == 0x7F4D && bytes.Equal(v, []byte{0xAA}) }, true, ""},
		{"ReadAnyTLV empty", "", func(s *String) bool { return s.ReadAnyTLV(&v, &tag) }, false, ""},
		{"ReadAnyTLV truncated", "5C 02 01", func(s *String) bool { return s.ReadAnyTLV(&v, &tag) }, false, "5C 02 01"},
		{"ReadAnyTLV non-canonical", "5C 81 01 00", func(s *String) bool { return s.ReadAnyTLV(&v, &tag) }, false, "5C 81 01 00"},
		{"ReadTLV", "4D 01 AA 5C 00", func(s *String) bool { return s.ReadTLV(&v, 0x4D) && bytes.Equal(v, []byte{0xAA}) }, true, "5C 00"},
		{"ReadTLV other tag", "4D 01 AA", func(s *String) bool { return s.ReadTLV(&v, 0x4C) }, false, "4D 01 AA"},
		{"ReadTLV same first byte", "7F4D 00", func(s *String) bool { return s.ReadTLV(&v, 0x7F4E) }, false, "7F4D 00"},
		{"ReadTLV truncated", "4D 02 AA", func(s *String) bool { return s.ReadTLV(&v, 0x4D) }, false, "4D 02 AA"},
		{"ReadOptionalTLV present", "5C 01 AA 4D 00", func(s *String) bool {
			return s.ReadOptionalTLV(&v, &present, 0x5C) && present && bytes.Equal(v, []byte{0xAA})
		}, true, "4D 00"},
		{"ReadOptionalTLV absent", "4D 00", func(s *String) bool {
			v = String("untouched")
			return s.ReadOptionalTLV(&v, &present, 0x5C) && !present && string(v) == "untouched"
		}, true, "4D 00"},
		{"ReadOptionalTLV at end", "", func(s *String) bool { present = true; return s.ReadOptionalTLV(&v, &present, 0x5C) && !present }, true, ""},
		{"ReadOptionalTLV bad tag", "00 00", func(s *String) bool { return s.ReadOptionalTLV(&v, &present, 0x5C) }, false, "00 00"},
		{"ReadOptionalTLV malformed", "5C 80", func(s *String) bool { return s.ReadOptionalTLV(&v, &present, 0x5C) }, false, "5C 80"},
		{"ReadOptionalTLV other malformed", "4D 80", func(s *String) bool { return s.ReadOptionalTLV(&v, &present, 0x5C) && !present }, true, "4D 80"},
		{"PeekTag", "7F8101 00", func(s *String) bool { return s.PeekTag(&tag) && tag == 0x7F8101 }, true, "7F8101 00"},
		{"PeekTag truncated", "7F81", func(s *String) bool { return s.PeekTag(&tag) }, false, "7F81"},
		{"PeekTag empty", "", func(s *String) bool { return s.PeekTag(&tag) }, false, ""},
		{"ReadTag list", "7F20 7F22 D3", func(s *String) bool {
			var a, b, c Tag
			return s.ReadTag(&a) && s.ReadTag(&b) && s.ReadTag(&c) && a == 0x7F20 && b == 0x7F22 && c == 0xD3
		}, true, ""},
		{"ReadTag invalid", "7F 1E", func(s *String) bool { return s.ReadTag(&tag) }, false, "7F 1E"},
		{"SkipTLV", "5C 00 4D 00", func(s *String) bool { return s.SkipTLV(0x5C) }, true, "4D 00"},
		{"SkipTLV other tag", "5C 00", func(s *String) bool { return s.SkipTLV(0x4D) }, false, "5C 00"},
		{"SkipAnyTLV", "7F4D 01 00 4D 00", func(s *String) bool { return s.SkipAnyTLV() }, true, "4D 00"},
		{"SkipAnyTLV malformed", "7F4D 02 00", func(s *String) bool { return s.SkipAnyTLV() }, false, "7F4D 02 00"},
		{"SkipOptionalTLV present", "5C 00 4D 00", func(s *String) bool { return s.SkipOptionalTLV(0x5C) }, true, "4D 00"},
		{"SkipOptionalTLV absent", "4D 00", func(s *String) bool { return s.SkipOptionalTLV(0x5C) }, true, "4D 00"},
		{"ReadTLVBytes", "4C 02 0102 00", func(s *String) bool { return s.ReadTLVBytes(0x4C, arr[:]) && arr == [2]byte{1, 2} }, true, "00"},
		{"ReadTLVBytes short", "4C 01 01", func(s *String) bool { return s.ReadTLVBytes(0x4C, arr[:]) }, false, "4C 01 01"},
		{"ReadTLVBytes long", "4C 03 010203", func(s *String) bool { return s.ReadTLVBytes(0x4C, arr[:]) }, false, "4C 03 010203"},
		{"ReadTLVUint8", "D4 01 02", func(s *String) bool { return s.ReadTLVUint8(0xD4, &u8) && u8 == 2 }, true, ""},
		{"ReadTLVUint8 long", "D4 02 0002", func(s *String) bool { return s.ReadTLVUint8(0xD4, &u8) }, false, "D4 02 0002"},
		{"ReadTLVUint16", "5C 02 0201", func(s *String) bool { return s.ReadTLVUint16(0x5C, &u16) && u16 == 0x0201 }, true, ""},
		{"ReadTLVUint16 list", "5C 04 02000100", func(s *String) bool { return s.ReadTLVUint16(0x5C, &u16) }, false, "5C 04 02000100"},
		{"ReadTLVUint32", "C1 04 00004000", func(s *String) bool { return s.ReadTLVUint32(0xC1, &u32) && u32 == 16384 }, true, ""},
		{"ReadTLVUint32 short", "C1 02 4000", func(s *String) bool { return s.ReadTLVUint32(0xC1, &u32) }, false, "C1 02 4000"},
		{"Empty", "", func(s *String) bool { return s.Empty() }, true, ""},
		{"not Empty", "00", func(s *String) bool { return s.Empty() }, false, "00"},
		{"read into itself", "7F4D 03 C0 01 AA", func(s *String) bool { return s.ReadTLV(s, 0x7F4D) }, true, "C0 01 AA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := String(fromHex(tt.in))
			if got := tt.call(&s); got != tt.ok {
				t.Errorf("%s(%s) = %v, want %v", tt.name, tt.in, got, tt.ok)
			}
			if want := fromHex(tt.rest); !bytes.Equal(s, want) {
				t.Errorf("%s(%s) left %x, want %x", tt.name, tt.in, []byte(s), want)
			}
		})
	}
}

// TestStringFailureLeavesOutputs checks that a failed read does not write
// its outputs.
func TestStringFailureLeavesOutputs(t *testing.T) {
	s := String(fromHex("5C 02 01"))
	v := String("keep")
	tag := Tag(0x4D)
	present := true
	out := []byte{9, 9}
	if s.ReadAnyTLV(&v, &tag) || s.ReadTLV(&v, 0x5C) || s.ReadOptionalTLV(&v, &present, 0x5C) || s.ReadTLVBytes(0x5C, out) {
		t.Fatalf("read of truncated %x succeeded", []byte(s))
	}
	if string(v) != "keep" || tag != 0x4D || !present || !bytes.Equal(out, []byte{9, 9}) {
		t.Errorf("failed reads wrote outputs: %q, %v, %v, %x", v, tag, present, out)
	}
}

// TestStringAgreesWithNext reads every vector with both APIs.
func TestStringAgreesWithNext(t *testing.T) {
	var inputs [][]byte
	for _, tt := range goodTLVs {
		inputs = append(inputs, tt.encoding())
	}
	for _, tt := range badTLVs {
		inputs = append(inputs, tt.in)
	}
	for _, in := range inputs {
		stringAgreesWithNext(t, in)
	}
}

func stringAgreesWithNext(t *testing.T, in []byte) {
	t.Helper()
	tag, value, rest, err := Next(in)
	s := String(in)
	var v String
	var got Tag
	if ok := s.ReadAnyTLV(&v, &got); ok != (err == nil) {
		t.Fatalf("ReadAnyTLV(%.40x) = %v, Next error %v", in, ok, err)
	}
	if err == nil && (got != tag || !bytes.Equal(v, value) || !bytes.Equal(s, rest)) {
		t.Fatalf("ReadAnyTLV(%.40x) = %v, %x, %x; Next = %v, %x, %x", in, got, []byte(v), []byte(s), tag, value, rest)
	}
}
