package transport_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
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

// FuzzClientChainingCard runs a Client limited to short APDUs against a
// ChainingCard behind a short-APDU reader: whatever the command and the
// inner card's answer, the inner card receives the whole command and the
// Client returns its whole response.
func FuzzClientChainingCard(f *testing.F) {
	f.Add(uint16(1000), uint32(256), uint32(700), uint16(0x9000), uint8(0))
	f.Add(uint16(0), uint32(0), uint32(0), uint16(0x6A82), uint8(0))
	f.Add(uint16(255), uint32(65536), uint32(65536), uint16(0x6282), uint8(17))
	f.Add(uint16(65535), uint32(1), uint32(257), uint16(0x9000), uint8(200))
	f.Fuzz(func(t *testing.T, dataLen uint16, ne, respLen uint32, sw uint16, maxData uint8) {
		cmd := transport.Command{CLA: 0x80, INS: 0xD4, P1: 1, P2: 2, Ne: int(ne % (transport.MaxExtendedNe + 1))}
		if dataLen > 0 {
			cmd.Data = seq(int(dataLen))
		}
		resp := seq(int(respLen % (transport.MaxResponseData + 1)))
		if s := dkey.StatusWord(sw); s.SW1() == 0x61 || s.SW1() == 0x6C {
			sw = 0x9000 // the client's to interpret, not to return
		}
		var got []byte
		calls := 0
		inner := transporttest.HandlerFunc(func(dst, c []byte) []byte {
			got, calls = append(got[:0], c...), calls+1
			return transport.AppendResponse(dst, resp, dkey.StatusWord(sw))
		})
		card := transporttest.NewCard(transport.NewChainingCard(inner), transporttest.MaxCommandLen(4+1+255+1))
		r, err := transport.NewClient(card, &transport.ClientConfig{MaxCommandData: int(maxData)}).Do(context.Background(), &cmd, nil)

		segLen := int(maxData)
		if segLen == 0 {
			segLen = transport.MaxShortData
		}
		if segments := (len(cmd.Data) + segLen - 1) / segLen; segments > transport.MaxChainedCommands {
			var le *transport.LimitError
			if !errors.As(err, &le) || le.Limit != transport.LimitChainedCommands || calls != 0 {
				t.Fatalf("Do of %d segments = %v after %d commands, want the chained-commands limit", segments, err, calls)
			}
			return
		}
		if err != nil {
			t.Fatalf("Do = %v", err)
		}
		whole := cmd
		whole.Ne = min(cmd.Ne, transport.MaxShortNe)
		want, _ := whole.Append(nil)
		if calls != 1 || !bytes.Equal(got, want) {
			t.Fatalf("inner card received %d commands, the last %X, want one %X", calls, got, want)
		}
		if r.SW != dkey.StatusWord(sw) || !bytes.Equal(r.Data, resp) {
			t.Fatalf("Do = %d bytes %v, want %d bytes %v", len(r.Data), r.SW, len(resp), dkey.StatusWord(sw))
		}
	})
}

// FuzzClient runs the Client against a card that answers with scripted
// bytes, whatever they are: the client must neither panic nor loop, and a
// response it returns stays within its bound.
func FuzzClient(f *testing.F) {
	// A script is records of a length byte, that many data bytes and a
	// status word; the card answers with the records in turn and then 6F00.
	f.Add([]byte{2, 0xAA, 0xBB, 0x61, 0x02, 2, 0xCC, 0xDD, 0x90, 0x00}, uint16(0), uint8(0), false, uint32(256))
	f.Add([]byte{0, 0x6C, 0x05, 0, 0x6C, 0x05}, uint16(0), uint8(0), false, uint32(1))
	f.Add([]byte{0, 0x90, 0x00, 0, 0x68, 0x84}, uint16(600), uint8(0), false, uint32(0))
	f.Add([]byte{1, 0x01, 0x61, 0x00, 1}, uint16(300), uint8(0), true, uint32(70000))
	f.Fuzz(func(t *testing.T, script []byte, dataLen uint16, maxData uint8, ext bool, ne uint32) {
		calls := 0
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, c []byte) []byte {
			calls++
			if len(script) == 0 {
				return append(dst, 0x6F, 0x00)
			}
			n := 1 + int(script[0]) + 2
			if n > len(script) {
				n = len(script)
			}
			dst = append(dst, script[1:n]...)
			script = script[n:]
			return dst
		}))
		cmd := transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(int(dataLen)), Ne: int(ne % (transport.MaxExtendedNe + 1))}
		cfg := &transport.ClientConfig{ExtendedLength: ext, MaxCommandData: int(maxData), MaxResponse: 1000}
		r, err := transport.NewClient(card, cfg).Do(context.Background(), &cmd, nil)
		if err == nil && len(r.Data) > 1000 {
			t.Fatalf("Do returned %d bytes over MaxResponse 1000", len(r.Data))
		}
		if limit := transport.MaxChainedCommands + 2*(transport.MaxGetResponseRounds+1); calls > limit {
			t.Fatalf("Do sent %d commands, more than %d", calls, limit)
		}
	})
}
