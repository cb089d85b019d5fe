package transport_test

import (
	"context"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// auth0 is a command the size of an AUTH0 (docs/protocol.md §4.2): a 65-byte
// ephemeral key, a 16-byte transaction identifier, an 8-byte vehicle
// identifier and a version, in TLVs.
var auth0 = transport.Command{CLA: 0x80, INS: 0x80, P1: 0x01, P2: 0x01, Data: seq(97), Ne: 256}

// write1k is a WRITE DATA of 1000 bytes, a certificate chain.
var write1k = transport.Command{CLA: 0x84, INS: 0xD4, Data: seq(1000), Ne: 256}

// echoCard answers every command with 74 bytes (an AUTH0 response: a
// 65-byte key in a TLV plus a cryptogram) and 9000.
func echoCard() transport.Card {
	resp := transport.AppendResponse(nil, seq(74), dkey.SWSuccess)
	return transporttest.HandlerFunc(func(dst, cmd []byte) []byte { return append(dst, resp...) })
}

// longCard answers every command with 700 bytes and 9000, behind a
// ChainingCard that serves them through GET RESPONSE.
func longCard() transport.Card {
	resp := transport.AppendResponse(nil, seq(700), dkey.SWSuccess)
	return transport.NewChainingCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte { return append(dst, resp...) }))
}

func TestAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	buf := make([]byte, 0, transport.MaxCommandLen)
	short, _ := auth0.Append(nil)
	ext, _ := (&transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(1000), Ne: 65536}).Append(nil)
	resp := transport.AppendResponse(nil, seq(74), dkey.SWSuccess)

	simple := transport.NewClient(transporttest.NewCard(echoCard()), nil)
	long := transport.NewClient(transporttest.NewCard(longCard()), nil)
	chained := transport.NewChainingCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		return append(dst, 0x90, 0x00)
	}))
	segs := [][]byte{append(h("94D40000 FF"), seq(255)...), h("84D40000 02 0102 00")}

	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Command.Append short", func() { auth0.Append(buf[:0]) }},
		{"Command.Append extended", func() { write1k.Append(buf[:0]) }},
		{"ParseCommand short", func() { transport.ParseCommand(short) }},
		{"ParseCommand extended", func() { transport.ParseCommand(ext) }},
		{"ParseResponse", func() { transport.ParseResponse(resp) }},
		{"AppendResponse", func() { transport.AppendResponse(buf[:0], resp[:74], dkey.SWSuccess) }},
		{"Client.Do one exchange", func() { simple.Do(ctx, &auth0, buf[:0]) }},
		{"Client.Do chaining and GET RESPONSE", func() { long.Do(ctx, &write1k, buf[:0]) }},
		{"ChainingCard chain", func() {
			for _, s := range segs {
				chained.ProcessAPDU(buf[:0], s)
			}
		}},
	} {
		tc.f() // let the reused buffers grow
		if n := testing.AllocsPerRun(100, tc.f); n > 0 {
			t.Errorf("%s allocated %v times, want 0", tc.name, n)
		}
	}
}

func BenchmarkCommandAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		cmd  *transport.Command
	}{{"AUTH0", &auth0}, {"extended-1000", &transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(1000), Ne: 65536}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, transport.MaxCommandLen)
			for b.Loop() {
				buf, _ = bc.cmd.Append(buf[:0])
			}
		})
	}
}

func BenchmarkParseCommand(b *testing.B) {
	short, _ := auth0.Append(nil)
	ext, _ := (&transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(1000), Ne: 65536}).Append(nil)
	for _, bc := range []struct {
		name string
		enc  []byte
	}{{"AUTH0", short}, {"extended-1000", ext}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := transport.ParseCommand(bc.enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseResponse(b *testing.B) {
	b.ReportAllocs()
	resp := transport.AppendResponse(nil, seq(74), dkey.SWSuccess)
	for b.Loop() {
		if _, err := transport.ParseResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientDo(b *testing.B) {
	for _, bc := range []struct {
		name string
		card transport.Card
		cmd  *transport.Command
	}{
		{"AUTH0", echoCard(), &auth0},
		{"chained-1000-response-700", longCard(), &write1k},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			c := transport.NewClient(transporttest.NewCard(bc.card), nil)
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				if _, err := c.Do(ctx, bc.cmd, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
