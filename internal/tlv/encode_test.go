package tlv

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

func TestAppendLength(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"zero", 0, "00"},
		{"one", 1, "01"},
		{"largest short form", 0x7F, "7F"},
		{"smallest 81 form", 0x80, "81 80"},
		{"largest 81 form", 0xFF, "81 FF"},
		{"smallest 82 form", 0x100, "82 0100"},
		{"82 form", 0x1234, "82 1234"},
		{"largest", 0xFFFF, "82 FFFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xAA}
			got := AppendLength(prefix, tt.n)
			if want := append([]byte{0xAA}, fromHex(tt.want)...); !bytes.Equal(got, want) {
				t.Errorf("AppendLength(AA, %#x) = %x, want %x", tt.n, got, want)
			}
		})
	}
}

// TestLengthRoundTrip encodes every length and reads it back.
func TestLengthRoundTrip(t *testing.T) {
	var buf [3]byte
	for n := range MaxLength + 1 {
		enc := AppendLength(buf[:0], n)
		got, ll, c := readLength(enc)
		if c != ok || got != n || ll != len(enc) {
			t.Fatalf("readLength(%x) = %d, %d, %v, want %d, %d, ok", enc, got, ll, c.err(), n, len(enc))
		}
	}
}

func TestAppendLengthPanics(t *testing.T) {
	for _, n := range []int{-1, MaxLength + 1, 1 << 24} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendLength(nil, %d) did not panic", n)
				}
			}()
			AppendLength(nil, n)
		}()
	}
}

func TestAppendTLV(t *testing.T) {
	for _, tt := range goodTLVs {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0x01, 0x02}
			got := AppendTLV(prefix, tt.tag, pattern(tt.n))
			want := append([]byte{0x01, 0x02}, tt.encoding()...)
			if !bytes.Equal(got, want) {
				t.Errorf("AppendTLV(0102, %v, %d bytes) = %.40x..., want %.40x...", tt.tag, tt.n, got, want)
			}
		})
	}
}

func TestAppendTLVUint(t *testing.T) {
	var b []byte
	b = AppendTLVUint8(b, 0xD4, 0x02)
	b = AppendTLVUint16(b, 0x5C, 0x0100)
	b = AppendTLVUint32(b, 0xC1, 0x00004000)
	b = AppendTLVUint16(b, 0x7F8101, 0xABCD)
	want := fromHex("D4 01 02  5C 02 0100  C1 04 00004000  7F8101 02 ABCD")
	if !bytes.Equal(b, want) {
		t.Errorf("AppendTLVUint* = %x, want %x", b, want)
	}
}

func TestAppendConstructed(t *testing.T) {
	for _, n := range []int{0, 1, 0x7F, 0x80, 0x81, 0xFF, 0x100, 0x101, 0x1234, MaxLength} {
		value := pattern(n)
		for _, tag := range []Tag{0x7F4D, 0xBA, 0x7F8101} {
			// The same object built by AppendTLV from the whole value.
			want := AppendTLV([]byte{0xEE}, tag, value)
			for _, room := range []string{"no room", "room"} {
				dst := []byte{0xEE}
				if room == "room" {
					dst = make([]byte, 1, 1+tag.Len()+3+n)
					dst[0] = 0xEE
				}
				got := AppendConstructed(dst, tag, func(b []byte) []byte {
					// Append in two pieces, to show f sees its own bytes.
					b = append(b, value[:n/2]...)
					return append(b, value[n/2:]...)
				})
				if !bytes.Equal(got, want) {
					t.Errorf("AppendConstructed(EE, %v, %d bytes, %s) = %.40x..., want %.40x...", tag, n, room, got, want)
				}
			}
		}
	}
}

func TestAppendConstructedNested(t *testing.T) {
	irk := pattern(16)
	addr := pattern(6)
	oem := pattern(200) // pushes 7F4E into the 81 form after its children are written
	got := AppendConstructed(nil, 0x7F4E, func(b []byte) []byte {
		b = AppendConstructed(b, 0x7F49, func(b []byte) []byte {
			b = AppendTLV(b, 0xD0, irk)
			return AppendTLV(b, 0xD1, addr)
		})
		return AppendTLV(b, 0xC5, oem)
	})
	want := fromHex("7F4E 81 E8  7F49 1A  D0 10") // 29 + 203 = 232 = E8
	want = append(want, irk...)
	want = append(want, fromHex("D1 06")...)
	want = append(want, addr...)
	want = append(want, fromHex("C5 81 C8")...)
	want = append(want, oem...)
	if !bytes.Equal(got, want) {
		t.Errorf("nested AppendConstructed = %x, want %x", got, want)
	}
}

func TestAppendConstructedPanics(t *testing.T) {
	tests := []struct {
		name string
		tag  Tag
		f    func([]byte) []byte
	}{
		{"primitive tag", 0x5C, func(b []byte) []byte { return b }},
		{"invalid tag", 0x7F1E, func(b []byte) []byte { return b }},
		{"f shrinks", 0x7F4D, func(b []byte) []byte { return b[:len(b)-2] }},
		{"too long", 0x7F4D, func(b []byte) []byte { return append(b, make([]byte, MaxLength+1)...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendConstructed(nil, %v, f) did not panic", tt.tag)
				}
			}()
			AppendConstructed([]byte{1, 2, 3}, tt.tag, tt.f)
		})
	}
}

func TestAppendTLVPanics(t *testing.T) {
	tests := []struct {
		name  string
		tag   Tag
		value []byte
	}{
		{"invalid tag", 0x00, nil},
		{"too long", 0x5C, make([]byte, MaxLength+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendTLV(nil, %v, %d bytes) did not panic", tt.tag, len(tt.value))
				}
			}()
			AppendTLV(nil, tt.tag, tt.value)
		})
	}
}

func TestAppendAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	value := pattern(300)
	buf := make([]byte, 0, 1024)
	tests := []struct {
		name string
		f    func()
	}{
		{"AppendTLV", func() { AppendTLV(buf[:0], 0x7F4D, value) }},
		{"AppendTLVUint32", func() { AppendTLVUint32(buf[:0], 0xC1, 1<<14) }},
		{"AppendConstructed 82 form", func() {
			AppendConstructed(buf[:0], 0x7F4E, func(b []byte) []byte {
				b = AppendConstructed(b, 0x7F49, func(b []byte) []byte {
					return AppendTLV(b, 0xD0, value[:16])
				})
				return AppendTLV(b, 0xC5, value)
			})
		}},
		{"AUTH0", func() { appendAUTH0(buf[:0]) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n > 0 {
			t.Errorf("%s allocated %v times, want 0", tt.name, n)
		}
	}
}
