package transport_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// commandVector is a command APDU whose encoding is written by hand from
// ISO/IEC 7816-4 §5.1 (Table 1 and the length-field rules).
type commandVector struct {
	name     string
	enc      []byte
	cmd      transport.Command
	extended bool
}

// commandVectors returns canonical encodings, one or more per case and
// form, with the boundary lengths of each form.
func commandVectors() []commandVector {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return []commandVector{
		{name: "case 1", enc: h("00A40400"),
			cmd: transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04}},
		{name: "case 2S Le 1A", enc: h("00C000001A"),
			cmd: transport.Command{INS: 0xC0, Ne: 26}},
		{name: "case 2S Le 01", enc: h("80CA9F7F01"),
			cmd: transport.Command{CLA: 0x80, INS: 0xCA, P1: 0x9F, P2: 0x7F, Ne: 1}},
		{name: "case 2S Le 00 is 256", enc: h("00B0000000"),
			cmd: transport.Command{INS: 0xB0, Ne: 256}},
		{name: "case 3S", enc: h("80D40000 03 010203"),
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: h("010203")}},
		{name: "case 3S Lc 01", enc: h("80D40000 01 AA"),
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: h("AA")}},
		{name: "case 3S Lc FF", enc: cat(h("80D40000 FF"), seq(255)),
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(255)}},
		// The DK applet SELECT of the TS v4.0.0 example (docs/protocol.md §12).
		{name: "case 4S SELECT DK applet", enc: h("00A40400 0D A000000809434343444B417631 00"),
			cmd: transport.Command{INS: 0xA4, P1: 0x04, Data: h("A000000809434343444B417631"), Ne: 256}},
		{name: "case 4S Le 10", enc: h("80800101 02 AABB 10"),
			cmd: transport.Command{CLA: 0x80, INS: 0x80, P1: 0x01, P2: 0x01, Data: h("AABB"), Ne: 16}},
		{name: "case 4S Lc FF Le 00", enc: cat(h("80C90000 FF"), seq(255), h("00")),
			cmd: transport.Command{CLA: 0x80, INS: 0xC9, Data: seq(255), Ne: 256}},
		{name: "case 2E Le 0101", enc: h("00B00000 000101"), extended: true,
			cmd: transport.Command{INS: 0xB0, Ne: 257}},
		{name: "case 2E Le FFFF", enc: h("00B00000 00FFFF"), extended: true,
			cmd: transport.Command{INS: 0xB0, Ne: 65535}},
		{name: "case 2E Le 0000 is 65536", enc: h("00B00000 000000"), extended: true,
			cmd: transport.Command{INS: 0xB0, Ne: 65536}},
		{name: "case 3E Lc 0100", enc: cat(h("80D40000 000100"), seq(256)), extended: true,
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(256)}},
		{name: "case 3E Lc FFFF", enc: cat(h("80D40000 00FFFF"), seq(65535)), extended: true,
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(65535)}},
		{name: "case 4E Lc 0001 Le 0101", enc: h("80D40000 000001 AA 0101"), extended: true,
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: h("AA"), Ne: 257}},
		{name: "case 4E Lc 012C Le 0001", enc: cat(h("80D40000 00012C"), seq(300), h("0001")), extended: true,
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(300), Ne: 1}},
		{name: "case 4E Lc 0100 Le 0100", enc: cat(h("80D40000 000100"), seq(256), h("0100")), extended: true,
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(256), Ne: 256}},
		{name: "case 4E Lc FFFF Le 0000", enc: cat(h("80D40000 00FFFF"), seq(65535), h("0000")), extended: true,
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(65535), Ne: 65536}},
	}
}

func TestCommandVectors(t *testing.T) {
	for _, tc := range commandVectors() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Append(nil)
			if err != nil || !bytes.Equal(got, tc.enc) {
				t.Errorf("Append(%+v) = %X, %v, want %X", tc.cmd, got, err, tc.enc)
			}
			if ext := tc.cmd.IsExtended(); ext != tc.extended {
				t.Errorf("IsExtended(%X) = %v, want %v", tc.enc, ext, tc.extended)
			}
			parsed, err := transport.ParseCommand(tc.enc)
			if err != nil {
				t.Fatalf("ParseCommand(%X) = %v", tc.enc, err)
			}
			if diff := diffCommand(tc.cmd, parsed); diff != "" {
				t.Errorf("ParseCommand(%X) mismatch (-want +got):\n%s", tc.enc, diff)
			}
		})
	}
}

// TestParseCommandNonCanonical checks the extended form of lengths that fit
// the short form: valid (ISO/IEC 7816-4 does not forbid it), but Append
// re-encodes the command in the short form.
func TestParseCommandNonCanonical(t *testing.T) {
	for _, tc := range []struct {
		name      string
		enc       []byte
		cmd       transport.Command
		canonical []byte
	}{
		{name: "case 2E Le 0010", enc: h("00B00000 000010"),
			cmd: transport.Command{INS: 0xB0, Ne: 16}, canonical: h("00B0000010")},
		{name: "case 2E Le 0100", enc: h("00B00000 000100"),
			cmd: transport.Command{INS: 0xB0, Ne: 256}, canonical: h("00B0000000")},
		{name: "case 3E Lc 0002", enc: h("80D40000 000002 0102"),
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: h("0102")}, canonical: h("80D40000 02 0102")},
		{name: "case 4E Lc 0002 Le 0100", enc: h("80D40000 000002 0102 0100"),
			cmd: transport.Command{CLA: 0x80, INS: 0xD4, Data: h("0102"), Ne: 256}, canonical: h("80D40000 02 0102 00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseCommand(tc.enc)
			if err != nil {
				t.Fatalf("ParseCommand(%X) = %v", tc.enc, err)
			}
			if diff := diffCommand(tc.cmd, got); diff != "" {
				t.Errorf("ParseCommand(%X) mismatch (-want +got):\n%s", tc.enc, diff)
			}
			if enc, err := got.Append(nil); err != nil || !bytes.Equal(enc, tc.canonical) {
				t.Errorf("Append(%+v) = %X, %v, want %X", got, enc, err, tc.canonical)
			}
		})
	}
}

// TestCommandStrictPrefixes checks which strict prefixes of a valid command
// APDU parse. ISO/IEC 7816-4 makes some of them valid commands of another
// case: the header alone (case 1), the header and one byte (case 2S), the
// header and 00 xx xx (case 2E), and a case 4 command without its Le (case
// 3). Every other strict prefix must be rejected, and none may parse as the
// original command.
func TestCommandStrictPrefixes(t *testing.T) {
	for _, tc := range commandVectors() {
		t.Run(tc.name, func(t *testing.T) {
			leLen := 0
			switch {
			case tc.cmd.Ne > 0 && tc.extended && len(tc.cmd.Data) > 0:
				leLen = 2
			case tc.cmd.Ne > 0 && !tc.extended:
				leLen = 1
			}
			for k := range len(tc.enc) {
				p := tc.enc[:k]
				want := k == 4 || k == 5 || (tc.extended && k == 7) ||
					(leLen > 0 && len(tc.cmd.Data) > 0 && k == len(tc.enc)-leLen)
				got, err := transport.ParseCommand(p)
				if (err == nil) != want {
					t.Errorf("ParseCommand(%X) (prefix of %d bytes) = %+v, %v; want valid %v", p, k, got, err, want)
				}
				if err == nil && diffCommand(got, tc.cmd) == "" {
					t.Errorf("ParseCommand(%X) (prefix of %d bytes) = the original command", p, k)
				}
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  []byte
		err  transport.FormatError
	}{
		{name: "empty", enc: nil, err: transport.ErrTruncated},
		{name: "three bytes", enc: h("00A404"), err: transport.ErrTruncated},
		{name: "short Lc 00 then Le", enc: h("00B00000 00 10"), err: transport.ErrZeroLc},
		{name: "short Lc 00 then Le 00", enc: h("00B00000 00 00"), err: transport.ErrZeroLc},
		{name: "one byte of an extended length", enc: h("80D40000 00 01"), err: transport.ErrZeroLc},
		{name: "short Lc over the data", enc: h("80D40000 05 0102"), err: transport.ErrTruncated},
		{name: "short Lc FF one byte short", enc: append(h("80D40000 FF"), seq(254)...), err: transport.ErrTruncated},
		{name: "short two bytes after the data", enc: h("80D40000 02 0102 0000"), err: transport.ErrTrailingBytes},
		{name: "short Le then trailing bytes", enc: h("80D40000 02 0102 00 AABBCC"), err: transport.ErrTrailingBytes},
		{name: "extended Lc 0000 then data", enc: h("80D40000 000000 01"), err: transport.ErrZeroLc},
		{name: "extended Lc 0000 then Le", enc: h("80D40000 000000 0100"), err: transport.ErrZeroLc},
		{name: "extended Lc over the data", enc: h("80D40000 000005 0102"), err: transport.ErrTruncated},
		{name: "extended Lc FFFF one byte short", enc: append(h("80D40000 00FFFF"), seq(65534)...), err: transport.ErrTruncated},
		{name: "one-byte Le after extended Lc", enc: h("80D40000 000002 0102 00"), err: transport.ErrMixedLength},
		{name: "extended three bytes after the data", enc: h("80D40000 000002 0102 000000"), err: transport.ErrTrailingBytes},
		{name: "extended longest plus one", enc: append(append(h("80D40000 00FFFF"), seq(65535)...), 0, 0, 0), err: transport.ErrTrailingBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseCommand(tc.enc)
			if err != tc.err || !errors.Is(err, tc.err) {
				t.Errorf("ParseCommand(%X) = %v, want %v", tc.enc, err, tc.err)
			}
			if !errors.Is(err, transport.ErrProtocol) {
				t.Errorf("ParseCommand(%X) = %v, does not match ErrProtocol", tc.enc, err)
			}
			if !cmp.Equal(got, transport.Command{}) {
				t.Errorf("ParseCommand(%X) returned %+v with an error, want the zero Command", tc.enc, got)
			}
		})
	}
}

func TestCommandAppendErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  transport.Command
		want transport.LimitError
	}{
		{name: "negative Ne", cmd: transport.Command{Ne: -1},
			want: transport.LimitError{Limit: transport.LimitNe, Max: 65536, Got: -1}},
		{name: "Ne 65537", cmd: transport.Command{Ne: 65537},
			want: transport.LimitError{Limit: transport.LimitNe, Max: 65536, Got: 65537}},
		{name: "data 65536", cmd: transport.Command{Data: make([]byte, 65536)},
			want: transport.LimitError{Limit: transport.LimitCommandData, Max: 65535, Got: 65536}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := h("AABB")
			got, err := tc.cmd.Append(dst)
			var le *transport.LimitError
			if !errors.As(err, &le) || *le != tc.want {
				t.Errorf("Append(%+v) = %v, want %v", tc.cmd, err, &tc.want)
			}
			if !bytes.Equal(got, h("AABB")) {
				t.Errorf("Append(%+v) returned %X with an error, want dst unchanged", tc.cmd, got)
			}
		})
	}
}

// TestCommandAppendKeepsDst checks append semantics: dst's bytes stay and
// its spare capacity is used.
func TestCommandAppendKeepsDst(t *testing.T) {
	cmd := transport.Command{CLA: 0x80, INS: 0x80, P1: 1, P2: 1, Data: h("AABB"), Ne: 256}
	buf := make([]byte, 2, 64)
	buf[0], buf[1] = 0x11, 0x22
	got, err := cmd.Append(buf)
	if want := h("1122 80800101 02 AABB 00"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Append(%X) = %X, %v, want %X", buf, got, err, want)
	}
	if &got[0] != &buf[0] {
		t.Errorf("Append reallocated a buffer with room")
	}
}

func TestParseCommandAliases(t *testing.T) {
	enc := h("80800101 02 AABB 00")
	cmd, err := transport.ParseCommand(enc)
	if err != nil {
		t.Fatal(err)
	}
	if cap(cmd.Data) != 2 {
		t.Errorf("cap(Data) = %d, want 2: appending to Data must not overwrite the Le byte", cap(cmd.Data))
	}
	enc[5] = 0xCC
	if cmd.Data[0] != 0xCC {
		t.Errorf("Data does not alias the input")
	}
}

// TestCommandRoundTripRandom encodes random commands of every case and form
// and parses them back.
func TestCommandRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 254, 255, 256, 257, 1000, 65535}
	nes := []int{0, 1, 2, 255, 256, 257, 4096, 65535, 65536}
	for i := range 2000 {
		cmd := transport.Command{
			CLA: byte(rng.Uint32()), INS: byte(rng.Uint32()), P1: byte(rng.Uint32()), P2: byte(rng.Uint32()),
			Ne: nes[rng.IntN(len(nes))],
		}
		if rng.IntN(3) == 0 {
			cmd.Ne = rng.IntN(65537)
		}
		n := lengths[rng.IntN(len(lengths))]
		if rng.IntN(3) == 0 {
			n = rng.IntN(600)
		}
		if n > 0 {
			cmd.Data = make([]byte, n)
			for j := range cmd.Data {
				cmd.Data[j] = byte(rng.Uint32())
			}
		}
		enc, err := cmd.Append(nil)
		if err != nil {
			t.Fatalf("%d: Append(%+v) = %v", i, cmd, err)
		}
		got, err := transport.ParseCommand(enc)
		if err != nil {
			t.Fatalf("%d: ParseCommand(%X) = %v", i, enc, err)
		}
		if diff := diffCommand(cmd, got); diff != "" {
			t.Fatalf("%d: ParseCommand(Append(cmd)) mismatch (-want +got):\n%s", i, diff)
		}
	}
}

func TestCommandClassBits(t *testing.T) {
	// ISO/IEC 7816-4 §5.4.1 Tables 2 and 3; the proprietary classes 8X-FX
	// coded alike, as GlobalPlatform and Java Card do.
	for _, tc := range []struct {
		cla     byte
		chained bool
		sm      bool
		channel int
	}{
		{cla: 0x00},
		{cla: 0x01, channel: 1},
		{cla: 0x03, channel: 3},
		{cla: 0x04, sm: true},
		{cla: 0x08, sm: true},
		{cla: 0x0C, sm: true},
		{cla: 0x10, chained: true},
		{cla: 0x1F, chained: true, sm: true, channel: 3},
		{cla: 0x40, channel: 4},
		{cla: 0x4F, channel: 19},
		{cla: 0x50, chained: true, channel: 4},
		{cla: 0x60, sm: true, channel: 4},
		{cla: 0x75, chained: true, sm: true, channel: 9},
		{cla: 0x80},
		{cla: 0x84, sm: true},
		{cla: 0x90, chained: true},
		{cla: 0x94, chained: true, sm: true},
		{cla: 0xC1, channel: 5},
		{cla: 0xE0, sm: true, channel: 4},
		{cla: 0xFF},
	} {
		c := transport.Command{CLA: tc.cla}
		if got := c.IsChained(); got != tc.chained {
			t.Errorf("IsChained(CLA %02X) = %v, want %v", tc.cla, got, tc.chained)
		}
		if got := c.SecureMessaging(); got != tc.sm {
			t.Errorf("SecureMessaging(CLA %02X) = %v, want %v", tc.cla, got, tc.sm)
		}
		if got := c.Channel(); got != tc.channel {
			t.Errorf("Channel(CLA %02X) = %v, want %v", tc.cla, got, tc.channel)
		}
	}
}

func TestParseResponse(t *testing.T) {
	long := append(seq(65536), 0x90, 0x00)
	for _, tc := range []struct {
		name string
		enc  []byte
		want transport.Response
	}{
		{name: "status word only", enc: h("9000"), want: transport.Response{SW: dkey.SWSuccess}},
		{name: "error", enc: h("6A82"), want: transport.Response{SW: dkey.SWFileNotFound}},
		// Home Key SELECT response of a real iPhone (docs/protocol.md §2.2).
		{name: "SELECT response", enc: h("5C0402000100 9000"), want: transport.Response{Data: h("5C0402000100"), SW: 0x9000}},
		{name: "one data byte", enc: h("AB 6310"), want: transport.Response{Data: h("AB"), SW: 0x6310}},
		{name: "longest", enc: long, want: transport.Response{Data: seq(65536), SW: 0x9000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseResponse(tc.enc)
			if err != nil {
				t.Fatalf("ParseResponse(%X) = %v", tc.enc, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseResponse(%X) mismatch (-want +got):\n%s", tc.enc, diff)
			}
			if enc := transport.AppendResponse(nil, got.Data, got.SW); !bytes.Equal(enc, tc.enc) {
				t.Errorf("AppendResponse(%X, %v) = %X, want %X", got.Data, got.SW, enc, tc.enc)
			}
			if cap(got.Data) != len(got.Data) {
				t.Errorf("cap(Data) = %d, want %d: appending to Data must not overwrite SW1", cap(got.Data), len(got.Data))
			}
			// Any two or more bytes are a response: the strict prefixes of
			// two bytes or more parse, the shorter ones do not.
			for k := range len(tc.enc) {
				if _, err := transport.ParseResponse(tc.enc[:k]); (err == nil) != (k >= 2) {
					t.Errorf("ParseResponse(prefix of %d bytes) = %v", k, err)
				}
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		enc   []byte
		err   error
		limit *transport.LimitError
	}{
		{name: "empty", enc: nil, err: transport.ErrTruncated},
		{name: "one byte", enc: h("90"), err: transport.ErrTruncated},
		{name: "data over 65536", enc: make([]byte, 65536+3),
			limit: &transport.LimitError{Limit: transport.LimitResponseData, Max: 65536, Got: 65537}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseResponse(tc.enc)
			if tc.limit != nil {
				var le *transport.LimitError
				if !errors.As(err, &le) || *le != *tc.limit {
					t.Errorf("ParseResponse(%d bytes) = %v, want %v", len(tc.enc), err, tc.limit)
				}
			} else if err != tc.err || !errors.Is(err, transport.ErrProtocol) {
				t.Errorf("ParseResponse(%X) = %v, want %v matching ErrProtocol", tc.enc, err, tc.err)
			}
			if got.Data != nil || got.SW != 0 {
				t.Errorf("ParseResponse(%X) returned %+v with an error, want the zero Response", tc.enc, got)
			}
		})
	}
}

func TestAppendResponseKeepsDst(t *testing.T) {
	got := transport.AppendResponse(h("1122"), h("AABB"), dkey.SWWrongLength)
	if want := h("1122 AABB 6700"); !bytes.Equal(got, want) {
		t.Errorf("AppendResponse = %X, want %X", got, want)
	}
}

func TestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{transport.ErrTruncated, "transport: apdu truncated"},
		{transport.ErrZeroLc, "transport: lc of zero"},
		{transport.ErrMixedLength, "transport: one-byte le after an extended lc"},
		{transport.ErrTrailingBytes, "transport: trailing bytes after the apdu"},
		{transport.FormatError(99), "transport: malformed apdu (99)"},
		{&transport.LimitError{Limit: transport.LimitGetResponseRounds, Max: 512, Got: 513},
			"transport: GET RESPONSE rounds 513 over the limit of 512"},
		{&transport.LimitError{Limit: 99, Max: 1, Got: 2}, "transport: limit 99 2 over the limit of 1"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
