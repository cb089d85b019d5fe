package transport_test

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// innerCard records the commands it receives and answers each with the
// next of its responses (9000 when none is left), and counts resets.
type innerCard struct {
	received  [][]byte
	responses [][]byte
	resets    int
}

func (c *innerCard) ProcessAPDU(dst, cmd []byte) []byte {
	c.received = append(c.received, bytes.Clone(cmd))
	if len(c.responses) == 0 {
		return append(dst, 0x90, 0x00)
	}
	r := c.responses[0]
	c.responses = c.responses[1:]
	return append(dst, r...)
}

func (c *innerCard) Reset() { c.resets++ }

// step is one command sent to the ChainingCard, the response expected, and
// the command the inner card must receive for it (nil: none).
type step struct {
	cmd, resp, inner []byte
}

func runSteps(t *testing.T, card *transport.ChainingCard, inner *innerCard, steps []step) {
	t.Helper()
	for i, s := range steps {
		n := len(inner.received)
		got := card.ProcessAPDU(nil, s.cmd)
		if !bytes.Equal(got, s.resp) {
			t.Errorf("step %d: ProcessAPDU(%X) = %X, want %X", i, s.cmd, got, s.resp)
		}
		switch {
		case s.inner == nil && len(inner.received) != n:
			t.Errorf("step %d: inner card received %X, want nothing", i, inner.received[n])
		case s.inner != nil && len(inner.received) != n+1:
			t.Errorf("step %d: inner card received %d commands, want %X", i, len(inner.received)-n, s.inner)
		case s.inner != nil && !bytes.Equal(inner.received[n], s.inner):
			t.Errorf("step %d: inner card received %X, want %X", i, inner.received[n], s.inner)
		}
	}
}

func TestChainingCard(t *testing.T) {
	r600 := transport.AppendResponse(nil, seq(600), dkey.SWSuccess)
	for _, tc := range []struct {
		name      string
		responses [][]byte
		steps     []step
	}{
		{
			name:      "plain command passes through",
			responses: [][]byte{h("5C020100 9000")},
			steps: []step{
				{cmd: h("00A40400 02 AABB 00"), resp: h("5C020100 9000"), inner: h("00A40400 02 AABB 00")},
			},
		},
		{
			name: "chain reassembled",
			steps: []step{
				{cmd: h("90D40000 02 0102"), resp: h("9000")},
				{cmd: h("90D40000 02 0304"), resp: h("9000")},
				{cmd: h("80D40000 01 05 00"), resp: h("9000"), inner: h("80D40000 05 0102030405 00")},
				{cmd: h("80D40000 01 06"), resp: h("9000"), inner: h("80D40000 01 06")},
			},
		},
		{
			name: "chain with empty segments",
			steps: []step{
				{cmd: h("10DA0000"), resp: h("9000")},
				{cmd: h("10DA0000 01 01"), resp: h("9000")},
				{cmd: h("00DA0000 10"), resp: h("9000"), inner: h("00DA0000 01 01 10")},
			},
		},
		{
			name: "chain over 255 bytes becomes extended",
			steps: []step{
				{cmd: append(h("90D40000 FF"), seq(255)...), resp: h("9000")},
				{cmd: h("80D40000 02 0102 00"), resp: h("9000"),
					inner: append(append(h("80D40000 000101"), seq(255)...), h("0102 0100")...)},
			},
		},
		{
			name: "other instruction breaks the chain",
			steps: []step{
				{cmd: h("90D40000 01 01"), resp: h("9000")},
				{cmd: h("80CA0000 00"), resp: h("6883")},
				{cmd: h("80CA0000 00"), resp: h("9000"), inner: h("80CA0000 00")},
			},
		},
		{
			name: "other P1 breaks the chain",
			steps: []step{
				{cmd: h("90D40000 01 01"), resp: h("9000")},
				{cmd: h("90D40100 01 02"), resp: h("6883")},
			},
		},
		{
			name: "other class breaks the chain",
			steps: []step{
				{cmd: h("90D40000 01 01"), resp: h("9000")},
				{cmd: h("84D40000 01 02"), resp: h("6883")},
				// The chain is gone: the same last segment is now a plain command.
				{cmd: h("80D40000 01 02"), resp: h("9000"), inner: h("80D40000 01 02")},
			},
		},
		{
			name: "malformed command ends the chain",
			steps: []step{
				{cmd: h("90D40000 01 01"), resp: h("9000")},
				{cmd: h("80D40000 05 01"), resp: h("6700")},
				{cmd: h("80D40000 01 02"), resp: h("9000"), inner: h("80D40000 01 02")},
			},
		},
		{
			name:      "short response passes through",
			responses: [][]byte{h("0102 9000")},
			steps: []step{
				{cmd: h("00B00000 02"), resp: h("0102 9000"), inner: h("00B00000 02")},
			},
		},
		{
			name:      "long response served by GET RESPONSE",
			responses: [][]byte{r600},
			steps: []step{
				{cmd: h("00B00000 00"), resp: append(seq(600)[:256:256], 0x61, 0x00), inner: h("00B00000 00")},
				{cmd: h("00C00000 00"), resp: append(seq(600)[256:512:512], 0x61, 0x58)},
				{cmd: h("00C00000 58"), resp: append(seq(600)[512:], 0x90, 0x00)},
				// Nothing pending any more: GET RESPONSE goes to the card.
				{cmd: h("00C00000 00"), resp: h("9000"), inner: h("00C00000 00")},
			},
		},
		{
			name:      "Ne below the response, GET RESPONSE in small pieces",
			responses: [][]byte{transport.AppendResponse(nil, seq(40), 0x6282)},
			steps: []step{
				{cmd: h("00B00000 10"), resp: append(seq(40)[:16:16], 0x61, 0x18), inner: h("00B00000 10")},
				{cmd: h("00C00000 08"), resp: append(seq(40)[16:24:24], 0x61, 0x10)},
				{cmd: h("00C00000 FF"), resp: append(seq(40)[24:], 0x62, 0x82)},
			},
		},
		{
			name:      "no Le: 256 bytes then 61xx",
			responses: [][]byte{transport.AppendResponse(nil, seq(300), dkey.SWSuccess)},
			steps: []step{
				{cmd: h("80D40000 01 01"), resp: append(seq(300)[:256:256], 0x61, 0x2C), inner: h("80D40000 01 01")},
				{cmd: h("00C00000 2C"), resp: append(seq(300)[256:], 0x90, 0x00)},
			},
		},
		{
			name:      "GET RESPONSE without Le reads up to 256 bytes",
			responses: [][]byte{transport.AppendResponse(nil, seq(300), dkey.SWSuccess)},
			steps: []step{
				{cmd: h("00B00000 01"), resp: h("01 6100"), inner: h("00B00000 01")},
				{cmd: h("00C00000"), resp: append(seq(300)[1:257:257], 0x61, 0x2B)},
				{cmd: h("00C00000 2B"), resp: append(seq(300)[257:], 0x90, 0x00)},
			},
		},
		{
			name:      "GET RESPONSE on another logical channel reads the pending response",
			responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess)},
			steps: []step{
				{cmd: h("01B00000 01"), resp: h("01 6102"), inner: h("01B00000 01")},
				{cmd: h("01C00000 02"), resp: h("0203 9000")},
			},
		},
		{
			name:      "other command drops the pending response",
			responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess), h("AA 9000")},
			steps: []step{
				{cmd: h("00B00000 01"), resp: h("01 6102"), inner: h("00B00000 01")},
				{cmd: h("00B00100 01"), resp: h("AA 9000"), inner: h("00B00100 01")},
				{cmd: h("00C00000 02"), resp: h("9000"), inner: h("00C00000 02")},
			},
		},
		{
			name:      "GET RESPONSE with P1-P2 goes to the card",
			responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess), h("BB 9000")},
			steps: []step{
				{cmd: h("00B00000 01"), resp: h("01 6102"), inner: h("00B00000 01")},
				{cmd: h("00C00001 02"), resp: h("BB 9000"), inner: h("00C00001 02")},
				{cmd: h("00C00000 02"), resp: h("9000"), inner: h("00C00000 02")},
			},
		},
		{
			name:      "proprietary class C0 is not GET RESPONSE",
			responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess), h("CC 9000")},
			steps: []step{
				{cmd: h("00B00000 01"), resp: h("01 6102"), inner: h("00B00000 01")},
				{cmd: h("80C00000 02"), resp: h("CC 9000"), inner: h("80C00000 02")},
			},
		},
		{
			name:      "chain then long response",
			responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess)},
			steps: []step{
				{cmd: h("90D40000 01 01"), resp: h("9000")},
				{cmd: h("80D40000 01 02 01"), resp: h("01 6102"), inner: h("80D40000 02 0102 01")},
				{cmd: h("00C00000 02"), resp: h("0203 9000")},
			},
		},
		{
			name:      "inner card answers one byte",
			responses: [][]byte{h("90")},
			steps: []step{
				{cmd: h("00B00000 01"), resp: h("6F00"), inner: h("00B00000 01")},
			},
		},
		{
			name:      "inner card answers nothing",
			responses: [][]byte{{}},
			steps: []step{
				{cmd: h("00B00000 01"), resp: h("6F00"), inner: h("00B00000 01")},
			},
		},
		{
			name:      "inner card answers more than MaxResponseData",
			responses: [][]byte{make([]byte, transport.MaxResponseData+3)},
			steps: []step{
				{cmd: h("00B00000 00"), resp: h("6F00"), inner: h("00B00000 00")},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &innerCard{responses: tc.responses}
			runSteps(t, transport.NewChainingCard(inner), inner, tc.steps)
		})
	}
}

func TestChainingCardLimits(t *testing.T) {
	t.Run("too many segments", func(t *testing.T) {
		inner := &innerCard{}
		card := transport.NewChainingCard(inner)
		for i := range transport.MaxChainedCommands {
			if got := card.ProcessAPDU(nil, h("10DA0000")); !bytes.Equal(got, h("9000")) {
				t.Fatalf("segment %d: ProcessAPDU = %X, want 9000", i+1, got)
			}
		}
		runSteps(t, card, inner, []step{
			{cmd: h("10DA0000"), resp: h("6700")},
			// The chain was dropped: a last segment is a plain command.
			{cmd: h("00DA0000 01 01"), resp: h("9000"), inner: h("00DA0000 01 01")},
		})
	})
	t.Run("too much data", func(t *testing.T) {
		inner := &innerCard{}
		card := transport.NewChainingCard(inner)
		seg := append(h("90D40000 FF"), seq(255)...)
		for i := range transport.MaxExtendedData / 255 { // 257 segments: 65535 bytes
			if got := card.ProcessAPDU(nil, seg); !bytes.Equal(got, h("9000")) {
				t.Fatalf("segment %d: ProcessAPDU = %X, want 9000", i+1, got)
			}
		}
		runSteps(t, card, inner, []step{
			{cmd: h("80D40000 01 01"), resp: h("6700")},
			{cmd: h("80D40000 01 01"), resp: h("9000"), inner: h("80D40000 01 01")},
		})
	})
	t.Run("longest chain", func(t *testing.T) {
		inner := &innerCard{}
		card := transport.NewChainingCard(inner)
		seg := append(h("90D40000 FF"), seq(255)...)
		for range transport.MaxExtendedData/255 - 1 {
			card.ProcessAPDU(nil, seg)
		}
		last := append(h("80D40000 FF"), seq(255)...)
		if got := card.ProcessAPDU(nil, last); !bytes.Equal(got, h("9000")) {
			t.Fatalf("last segment: ProcessAPDU = %X, want 9000", got)
		}
		if len(inner.received) != 1 || len(inner.received[0]) != 4+3+transport.MaxExtendedData {
			t.Errorf("inner card received %d commands, want one of %d bytes", len(inner.received), 4+3+transport.MaxExtendedData)
		}
	})
}

func TestChainingCardReset(t *testing.T) {
	inner := &innerCard{responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess)}}
	card := transport.NewChainingCard(inner)
	runSteps(t, card, inner, []step{
		{cmd: h("00B00000 01"), resp: h("01 6102"), inner: h("00B00000 01")},
		{cmd: h("90D40000 01 01"), resp: h("9000")},
	})
	card.Reset()
	if inner.resets != 1 {
		t.Errorf("inner card reset %d times, want 1", inner.resets)
	}
	runSteps(t, card, inner, []step{
		// The chain is gone: the last segment is a plain command.
		{cmd: h("80D40000 01 02"), resp: h("9000"), inner: h("80D40000 01 02")},
	})

	inner.responses = [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess)}
	runSteps(t, card, inner, []step{{cmd: h("00B00000 01"), resp: h("01 6102"), inner: h("00B00000 01")}})
	card.Reset()
	// The pending response is gone: GET RESPONSE goes to the card.
	runSteps(t, card, inner, []step{{cmd: h("00C00000 02"), resp: h("9000"), inner: h("00C00000 02")}})

	// An inner card without Reset.
	plain := transport.NewChainingCard(cardFunc(func(dst, cmd []byte) []byte { return append(dst, 0x90, 0x00) }))
	plain.Reset()
}

type cardFunc func(dst, cmd []byte) []byte

func (f cardFunc) ProcessAPDU(dst, cmd []byte) []byte { return f(dst, cmd) }

// TestChainingCardDst checks the append contract: dst's bytes stay in
// every kind of answer.
func TestChainingCardDst(t *testing.T) {
	inner := &innerCard{responses: [][]byte{transport.AppendResponse(nil, seq(3), dkey.SWSuccess)}}
	card := transport.NewChainingCard(inner)
	prefix := h("AABB")
	for _, s := range []step{
		{cmd: h("90D40000 01 01"), resp: h("9000")},
		{cmd: h("80D40000 01 02 01"), resp: h("01 6102")},
		{cmd: h("00C00000 01"), resp: h("02 6101")},
		{cmd: h("00C00000 01"), resp: h("03 9000")},
		{cmd: h("00"), resp: h("6700")},
	} {
		dst := append(make([]byte, 0, 16), prefix...)
		got := card.ProcessAPDU(dst, s.cmd)
		if want := append(bytes.Clone(prefix), s.resp...); !bytes.Equal(got, want) {
			t.Errorf("ProcessAPDU(%X, %X) = %X, want %X", dst, s.cmd, got, want)
		}
	}
}
