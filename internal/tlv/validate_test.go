package tlv

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/internal/race"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Element
	}{
		{"empty input", "", nil},
		{"one primitive", "5C 02 0100", []Element{{Tag: 0x5C, Value: fromHex("0100")}}},
		{"sequence", "5C 00 4D 01 AA", []Element{{Tag: 0x5C, Value: []byte{}}, {Tag: 0x4D, Value: []byte{0xAA}}}},
		{"empty constructed", "7F4D 00", []Element{{Tag: 0x7F4D, Value: []byte{}}}},
		{
			"scrypt configuration (docs/protocol.md §3.2)",
			"7F50 20 C0 10 000102030405060708090A0B0C0D0E0F C1 04 00004000 C2 02 0008 C3 02 0001",
			[]Element{{
				Tag:   0x7F50,
				Value: fromHex("C0 10 000102030405060708090A0B0C0D0E0F C1 04 00004000 C2 02 0008 C3 02 0001"),
				Children: []Element{
					{Tag: 0xC0, Value: fromHex("000102030405060708090A0B0C0D0E0F")},
					{Tag: 0xC1, Value: fromHex("00004000")},
					{Tag: 0xC2, Value: fromHex("0008")},
					{Tag: 0xC3, Value: fromHex("0001")},
				},
			}},
		},
		{
			"DK configuration with BLE data (docs/protocol.md §3.5)",
			"7F4E 0C 7F49 09 D0 02 AAAA D1 03 BBBBBB 5F5F 00",
			[]Element{
				{
					Tag:   0x7F4E,
					Value: fromHex("7F49 09 D0 02 AAAA D1 03 BBBBBB"),
					Children: []Element{{
						Tag:   0x7F49,
						Value: fromHex("D0 02 AAAA D1 03 BBBBBB"),
						Children: []Element{
							{Tag: 0xD0, Value: fromHex("AAAA")},
							{Tag: 0xD1, Value: fromHex("BBBBBB")},
						},
					}},
				},
				{Tag: 0x5F5F, Value: []byte{}},
			},
		},
		{
			"primitive value is not descended into",
			"5F5F 02 0000",
			[]Element{{Tag: 0x5F5F, Value: fromHex("0000")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fromHex(tt.in)
			got, err := Parse(in, nil)
			if err != nil {
				t.Fatalf("Parse(%x) = %v", in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(%x) mismatch (-want +got):\n%s", in, diff)
			}
			if err := Validate(in, nil); err != nil {
				t.Errorf("Validate(%x) = %v", in, err)
			}
			if enc := AppendElements(nil, got); !bytes.Equal(enc, in) {
				t.Errorf("AppendElements(Parse(%x)) = %x", in, enc)
			}
		})
	}
}

// nest returns depth constructed data objects, one inside the other, around
// an empty primitive one: depth+1 data objects in all.
func nest(depth int) []byte {
	b := AppendTLV(nil, 0xC0, nil)
	for range depth {
		b = AppendTLV(nil, 0x7F4D, b)
	}
	return b
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		lim  *Limits
		want *SyntaxError
	}{
		{"partial object at end", fromHex("5C 00 5C"), nil, &SyntaxError{Offset: 2, Tag: 0x5C, Err: ErrTruncatedLength}},
		{"padding after", fromHex("5C 00 00"), nil, &SyntaxError{Offset: 2, Err: ErrInvalidTag}},
		{"padding before", fromHex("FF 5C 00"), nil, &SyntaxError{Offset: 0, Err: ErrInvalidTag}},
		{"padding inside constructed", fromHex("7F4D 03 C0 00 00"), nil, &SyntaxError{Offset: 5, Err: ErrInvalidTag}},
		{"child runs past parent", fromHex("7F4D 03 C0 02 AA 00"), nil, &SyntaxError{Offset: 3, Tag: 0xC0, Err: ErrTruncatedValue}},
		{"child header cut by parent", fromHex("7F4D 01 C0 00"), nil, &SyntaxError{Offset: 3, Tag: 0xC0, Err: ErrTruncatedLength}},
		{"child tag cut by parent", fromHex("7F4D 01 7F 4E 00"), nil, &SyntaxError{Offset: 3, Err: ErrTruncatedTag}},
		{"indefinite child", fromHex("7F4D 02 C0 80"), nil, &SyntaxError{Offset: 3, Tag: 0xC0, Err: ErrIndefiniteLength}},
		{"second child non-canonical", fromHex("BA 05 C0 00 C1 81 00"), nil, &SyntaxError{Offset: 4, Tag: 0xC1, Err: ErrNonCanonicalLength}},
		{"parent truncated", fromHex("7F4D 05 C0 01 AA"), nil, &SyntaxError{Offset: 0, Tag: 0x7F4D, Err: ErrTruncatedValue}},
		{"nested DER certificate-like", fromHex("7F4A 06 30 04 02 01 01 00"), nil, &SyntaxError{Offset: 8, Err: ErrInvalidTag}},
		{"too deep, MaxDepth 2", fromHex("7F4D 05 7F4E 02 C0 00"), &Limits{MaxDepth: 2}, &SyntaxError{Offset: 6, Tag: 0xC0, Err: ErrTooDeep}},
		{"too deep, default", nest(DefaultMaxDepth), nil, &SyntaxError{Offset: 3 * DefaultMaxDepth, Tag: 0xC0, Err: ErrTooDeep}},
		{"too many, MaxElements 2", fromHex("5C 00 5C 00 5C 00"), &Limits{MaxElements: 2}, &SyntaxError{Offset: 4, Tag: 0x5C, Err: ErrTooManyElements}},
		{"too many nested", fromHex("7F4D 04 C0 00 C1 00"), &Limits{MaxElements: 2}, &SyntaxError{Offset: 5, Tag: 0xC1, Err: ErrTooManyElements}},
		{"too many, default", bytes.Repeat(fromHex("5C 00"), DefaultMaxElements+1), nil, &SyntaxError{Offset: 2 * DefaultMaxElements, Tag: 0x5C, Err: ErrTooManyElements}},
		{"value over limit", fromHex("5C 02 0100"), &Limits{MaxValueLen: 1}, &SyntaxError{Offset: 0, Tag: 0x5C, Err: ErrLengthTooLong}},
		{"limit before truncation", fromHex("5C 05 00"), &Limits{MaxValueLen: 1}, &SyntaxError{Offset: 0, Tag: 0x5C, Err: ErrLengthTooLong}},
		{"second over limit", fromHex("5C 01 AA 5C 03 AABBCC"), &Limits{MaxValueLen: 2}, &SyntaxError{Offset: 3, Tag: 0x5C, Err: ErrLengthTooLong}},
		{"count before depth", fromHex("7F4D 02 C0 00"), &Limits{MaxDepth: 1, MaxElements: 1}, &SyntaxError{Offset: 3, Tag: 0xC0, Err: ErrTooManyElements}},
		{"depth before length", fromHex("7F4D 03 C0 01 00"), &Limits{MaxDepth: 1, MaxValueLen: 0x7F}, &SyntaxError{Offset: 3, Tag: 0xC0, Err: ErrTooDeep}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkSyntaxError(t, "Validate", tt.in, Validate(tt.in, tt.lim), tt.want)
			elems, err := Parse(tt.in, tt.lim)
			checkSyntaxError(t, "Parse", tt.in, err, tt.want)
			if elems != nil {
				t.Errorf("Parse(%x) returned %v with its error", tt.in, elems)
			}
		})
	}
}

func TestValidateBadTLVs(t *testing.T) {
	for _, tt := range badTLVs {
		if len(tt.in) == 0 {
			continue // an empty sequence is valid
		}
		t.Run(tt.name, func(t *testing.T) {
			checkSyntaxError(t, "Validate", tt.in, Validate(tt.in, nil), &SyntaxError{Tag: tt.tag, Err: tt.err})
		})
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		lim  *Limits
	}{
		{"default depth", nest(DefaultMaxDepth - 1), nil},
		{"zero Limits", nest(DefaultMaxDepth - 1), &Limits{}},
		{"negative Limits", nest(DefaultMaxDepth - 1), &Limits{MaxDepth: -1, MaxElements: -1, MaxValueLen: -1}},
		{"raised depth", nest(40), &Limits{MaxDepth: 41}},
		{"default elements", bytes.Repeat(fromHex("5C 00"), DefaultMaxElements), nil},
		{"raised elements", bytes.Repeat(fromHex("5C 00"), 1000), &Limits{MaxElements: 1000}},
		{"default value length", AppendTLV(nil, 0xC0, make([]byte, MaxLength)), nil},
		{"exact value limit", fromHex("5C 02 0100"), &Limits{MaxValueLen: 2}},
		{"exact element limit", fromHex("7F4D 04 C0 00 C1 00"), &Limits{MaxElements: 3}},
		{"exact depth limit", fromHex("7F4D 05 7F4E 02 C0 00"), &Limits{MaxDepth: 3}},
		{"constructed at max depth, empty", fromHex("7F4D 03 7F4E 00"), &Limits{MaxDepth: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.in, tt.lim); err != nil {
				t.Errorf("Validate(%.40x..., %+v) = %v, want nil", tt.in, tt.lim, err)
			}
			if _, err := Parse(tt.in, tt.lim); err != nil {
				t.Errorf("Parse(%.40x..., %+v) = %v, want nil", tt.in, tt.lim, err)
			}
		})
	}
}

// TestParseRoundTripRandom builds random trees, encodes them, and parses
// them back.
func TestParseRoundTripRandom(t *testing.T) {
	seed := uint64(1)
	next := func(n int) int { // xorshift, so the test is reproducible
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(n))
	}
	tags := []Tag{0x5C, 0x4D, 0x87, 0xC0, 0x5F5F, 0x5F8A01, 0x7F4D, 0x7F50, 0xBA, 0x7F8101}
	var gen func(depth int) []Element
	gen = func(depth int) []Element {
		var elems []Element
		for range next(4) {
			e := Element{Tag: tags[next(len(tags))]}
			if e.Tag.Constructed() && depth < 5 {
				e.Children = gen(depth + 1)
				e.Value = AppendElements(nil, e.Children)
				if len(e.Children) == 0 {
					e.Children = nil
				}
			} else if !e.Tag.Constructed() {
				e.Value = pattern([]int{0, 1, 0x7F, 0x80, 0xFF, 0x100, 300}[next(7)])
			} else {
				e.Value = []byte{}
			}
			elems = append(elems, e)
		}
		return elems
	}
	for range 100 {
		want := gen(1)
		enc := AppendElements(nil, want)
		got, err := Parse(enc, &Limits{MaxElements: 10000})
		if err != nil {
			t.Fatalf("Parse(%x) = %v", enc, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Parse(AppendElements(tree)) mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestValidateAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	in := slices.Concat(appendAUTH0(nil), fromHex("7F4E 0C 7F49 09 D0 02 AAAA D1 03 BBBBBB"))
	if err := Validate(in, nil); err != nil {
		t.Fatalf("Validate(%x) = %v", in, err)
	}
	lim := &Limits{MaxDepth: 4}
	if n := testing.AllocsPerRun(100, func() { _ = Validate(in, lim) }); n > 0 {
		t.Errorf("Validate allocated %v times, want 0", n)
	}
}
