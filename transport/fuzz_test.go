package transport_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/transport"
)

// FuzzCommand checks that ParseCommand never panics, fails only with a
// FormatError, and that a parsed command encodes back to its input when the
// input is canonical, or to the short form of an extended encoding whose
// lengths fit the short form, which parses to the same command.
func FuzzCommand(f *testing.F) {
	for _, v := range commandVectors() {
		if len(v.enc) < 1024 {
			f.Add(v.enc)
		}
	}
	for _, b := range [][]byte{
		nil, h("00"), h("00A404"), h("00B0000000 10"), h("80D40000 0000"), h("80D40000 05 0102"),
		h("80D40000 02 0102 0000"), h("80D40000 000000 01"), h("80D40000 000002 0102 00"),
		h("80D40000 000002 0102 000000"), h("00B00000 000010"), h("80D40000 000002 0102 0100"),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := transport.ParseCommand(b)
		if err != nil {
			var fe transport.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, transport.ErrProtocol) {
				t.Fatalf("ParseCommand(%X) = %v, want a FormatError", b, err)
			}
			return
		}
		enc, err := cmd.Append(nil)
		if err != nil {
			t.Fatalf("Append(ParseCommand(%X)) = %v", b, err)
		}
		if !bytes.Equal(enc, b) {
			// Only an extended encoding of short lengths may differ.
			if len(b) < 7 || b[4] != 0 || cmd.IsExtended() || len(enc) >= len(b) {
				t.Fatalf("Append(ParseCommand(%X)) = %X", b, enc)
			}
		}
		again, err := transport.ParseCommand(enc)
		if err != nil {
			t.Fatalf("ParseCommand(%X) = %v", enc, err)
		}
		if diff := diffCommand(cmd, again); diff != "" {
			t.Fatalf("ParseCommand(Append(ParseCommand(%X))) mismatch (-first +second):\n%s", b, diff)
		}
	})
}

// FuzzResponse checks that ParseResponse never panics, fails only for fewer
// than two bytes or more data than MaxResponseData, and that AppendResponse
// gives the input back.
func FuzzResponse(f *testing.F) {
	for _, b := range [][]byte{nil, h("90"), h("9000"), h("6A82"), h("5C0402000100 9000"), h("0102 6104")} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := transport.ParseResponse(b)
		if err != nil {
			var le *transport.LimitError
			switch {
			case len(b) < 2 && err == transport.ErrTruncated:
			case len(b) > transport.MaxResponseData+2 && errors.As(err, &le) && le.Limit == transport.LimitResponseData:
			default:
				t.Fatalf("ParseResponse(%X) = %v", b, err)
			}
			return
		}
		if enc := transport.AppendResponse(nil, r.Data, r.SW); !bytes.Equal(enc, b) {
			t.Fatalf("AppendResponse(ParseResponse(%X)) = %X", b, enc)
		}
	})
}
