package tlv

import (
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

func TestTag(t *testing.T) {
	tests := []struct {
		name        string
		tag         Tag
		valid       bool
		len         int
		constructed bool
		str         string
	}{
		{"AUTH0 version list", 0x5C, true, 1, false, "5C"},
		{"vehicle identifier", 0x4D, true, 1, false, "4D"},
		{"context specific primitive", 0x87, true, 1, false, "87"},
		{"Aliro container", 0xBA, true, 1, true, "BA"},
		{"universal SEQUENCE", 0x30, true, 1, true, "30"},
		{"mailbox mapping", 0x7F4D, true, 2, true, "7F4D"},
		{"scrypt configuration", 0x7F50, true, 2, true, "7F50"},
		{"end of data", 0x5F5F, true, 2, false, "5F5F"},
		{"7F2A", 0x7F2A, true, 2, true, "7F2A"},
		{"three bytes", 0x7F8101, true, 3, true, "7F8101"},
		{"three bytes primitive", 0x5F8A01, true, 3, false, "5F8A01"},
		{"zero", 0, false, 1, false, "00"},
		{"first byte FF", 0xFF, false, 1, true, "FF"},
		{"1F needs more bytes", 0x1F, false, 1, false, "1F"},
		{"7F needs more bytes", 0x7F, false, 1, true, "7F"},
		{"second byte 1E", 0x7F1E, false, 2, true, "7F1E"},
		{"second byte 00", 0x5F00, false, 2, false, "5F00"},
		{"second byte 80", 0x7F8001, false, 3, true, "7F8001"},
		{"2-byte tag with 1-byte first byte", 0x4D4D, false, 2, false, "4D4D"},
		{"2-byte tag announcing a third", 0x7F81, false, 2, true, "7F81"},
		{"3-byte tag announcing a fourth", 0x7F8181, false, 3, true, "7F8181"},
		{"4 bytes", 0x7F818101, false, 4, true, "7F818101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tag.Valid(); got != tt.valid {
				t.Errorf("Tag(%#x).Valid() = %v, want %v", uint32(tt.tag), got, tt.valid)
			}
			if got := tt.tag.Len(); got != tt.len {
				t.Errorf("Tag(%#x).Len() = %v, want %v", uint32(tt.tag), got, tt.len)
			}
			if got := tt.tag.Constructed(); got != tt.constructed {
				t.Errorf("Tag(%#x).Constructed() = %v, want %v", uint32(tt.tag), got, tt.constructed)
			}
			if got := tt.tag.String(); got != tt.str {
				t.Errorf("Tag(%#x).String() = %q, want %q", uint32(tt.tag), got, tt.str)
			}
		})
	}
}

// refTagValid is an independent statement of ISO/IEC 7816-4 5.2.2.1 for the
// encoding b of a whole tag: it decodes the tag number in base 128 and
// requires the number to need the bytes it uses.
func refTagValid(b []byte) bool {
	if len(b) == 0 || len(b) > 3 || b[0] == 0x00 || b[0] == 0xFF {
		return false
	}
	if b[0]&0x1F != 0x1F {
		return len(b) == 1 // a low tag number is complete in one byte
	}
	if len(b) == 1 {
		return false
	}
	number := 0
	for i, c := range b[1:] {
		last := i == len(b)-2
		if (c&0x80 == 0) != last { // bit 8 set exactly on the non-last bytes
			return false
		}
		number = number<<7 | int(c&0x7F)
	}
	// Tag numbers 0 to 30 fit in the first byte; a leading 80 byte is a
	// zero group. Both would make a second encoding of one tag.
	return number >= 31 && b[1] != 0x80
}

// TestTagValidExhaustive checks Valid, readTag and Append against refTagValid
// for every tag of one to three bytes.
func TestTagValidExhaustive(t *testing.T) {
	if testing.Short() || race.Enabled {
		t.Skip("16M tags; nothing concurrent to check")
	}
	var buf [3]byte
	counts := [4]int{}
	for v := uint32(1); v <= 0xFFFFFF; v++ {
		tag := Tag(v)
		n := tag.Len()
		for i := range n {
			buf[i] = byte(v >> (8 * (n - 1 - i)))
		}
		want := refTagValid(buf[:n])
		if got := tag.Valid(); got != want {
			t.Fatalf("Tag(%#x).Valid() = %v, want %v", v, got, want)
		}
		if !want {
			continue
		}
		counts[n]++
		if l, c := readTag(buf[:n]); c != ok || l != n {
			t.Fatalf("readTag(%x) = %d, %v, want %d, ok", buf[:n], l, c.err(), n)
		}
		if got := tag.Append(nil); string(got) != string(buf[:n]) {
			t.Fatalf("Tag(%#x).Append(nil) = %x, want %x", v, got, buf[:n])
		}
	}
	// ISO/IEC 7816-4: 254 one-byte tags (not 00, FF) minus the 7 others
	// with low bits 11111 (1F, 3F ... DF); those 7 first bytes × 97 second
	// bytes (1F–7F) for two bytes; 7 × 127 (81–FF) × 128 (00–7F) for three.
	want := [4]int{0, 254 - 7, 7 * 97, 7 * 127 * 128}
	if counts != want {
		t.Errorf("valid tags by length = %v, want %v", counts, want)
	}
}

func TestTagAppendPanics(t *testing.T) {
	for _, tag := range []Tag{0, 0xFF, 0x1F, 0x7F1E, 0x7F818101} {
		t.Run(tag.String(), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Tag(%#x).Append did not panic", uint32(tag))
				}
			}()
			tag.Append(nil)
		})
	}
}
