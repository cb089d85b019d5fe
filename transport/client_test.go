package transport_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// TestClientExchanges runs the Client against cards that play back a
// transcript written by hand from ISO/IEC 7816-4 (§5.1.3 for 61xx and 6Cxx,
// §5.3.3 for chaining, §11.7.1 for GET RESPONSE): the card checks every
// command the Client sends, and the test checks the Response it returns.
func TestClientExchanges(t *testing.T) {
	d600 := seq(600)
	for _, tc := range []struct {
		name       string
		cfg        *transport.ClientConfig
		cmd        transport.Command
		transcript string
		want       transport.Response
	}{
		{
			name: "SELECT, one exchange",
			cmd:  transport.Command{INS: 0xA4, P1: 0x04, Data: h("A000000809434343444B417631"), Ne: 256},
			transcript: `
				> 00A404000DA000000809434343444B41763100
				< 5C020100 9000`,
			want: transport.Response{Data: h("5C020100"), SW: 0x9000},
		},
		{
			name: "error status word is a response",
			cmd:  transport.Command{CLA: 0x80, INS: 0x80, P1: 0x01, P2: 0x01, Data: h("AABB"), Ne: 256},
			transcript: `
				> 80800101 02 AABB 00
				< 6A82`,
			want: transport.Response{SW: dkey.SWFileNotFound},
		},
		{
			name: "61xx read with GET RESPONSE Le SW2",
			cmd:  transport.Command{CLA: 0x80, INS: 0x81, Data: h("AABB"), Ne: 256},
			transcript: `
				> 80810000 02 AABB 00
				< 01020304 6104
				> 00C00000 04
				< 05060708 6102
				> 00C00000 02
				< 090A 9000`,
			want: transport.Response{Data: h("0102030405060708090A"), SW: 0x9000},
		},
		{
			name: "61 00 asks for 256",
			cmd:  transport.Command{INS: 0xB0, Ne: 256},
			transcript: `
				> 00B00000 00
				< 0102 6100
				> 00C00000 00
				< 0304 9000`,
			want: transport.Response{Data: h("01020304"), SW: 0x9000},
		},
		{
			name: "last GET RESPONSE ends with a warning",
			cmd:  transport.Command{INS: 0xB0, Ne: 2},
			transcript: `
				> 00B00000 02
				< 0102 6101
				> 00C00000 01
				< 03 6282`,
			want: transport.Response{Data: h("010203"), SW: 0x6282},
		},
		{
			name: "6Cxx resends with Le SW2",
			cmd:  transport.Command{CLA: 0x80, INS: 0xCA, P1: 0x9F, P2: 0x7F},
			transcript: `
				> 80CA9F7F
				< 6C05
				> 80CA9F7F 05
				< 0102030405 9000`,
			want: transport.Response{Data: h("0102030405"), SW: 0x9000},
		},
		{
			name: "6C00 resends with Le 00",
			cmd:  transport.Command{INS: 0xB0, Ne: 16},
			transcript: `
				> 00B00000 10
				< 6C00
				> 00B00000 00
				< 0102 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "6Cxx then 61xx",
			cmd:  transport.Command{INS: 0xB0, Ne: 1},
			transcript: `
				> 00B00000 01
				< 6C03
				> 00B00000 03
				< 010203 6102
				> 00C00000 02
				< 0405 9000`,
			want: transport.Response{Data: h("0102030405"), SW: 0x9000},
		},
		{
			name: "6Cxx answers a GET RESPONSE",
			cmd:  transport.Command{INS: 0xB0, Ne: 2},
			transcript: `
				> 00B00000 02
				< 0102 6110
				> 00C00000 10
				< 6C03
				> 00C00000 03
				< 030405 9000`,
			want: transport.Response{Data: h("0102030405"), SW: 0x9000},
		},
		{
			name: "GET RESPONSE on the command's logical channel",
			cmd:  transport.Command{CLA: 0x03, INS: 0xB0, Ne: 1},
			transcript: `
				> 03B00000 01
				< 01 6101
				> 03C00000 01
				< 02 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "GET RESPONSE drops secure messaging and proprietary class",
			cmd:  transport.Command{CLA: 0x84, INS: 0xC9, Data: h("AA"), Ne: 256},
			transcript: `
				> 84C90000 01 AA 00
				< 01 6101
				> 00C00000 01
				< 02 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "GET RESPONSE on a further logical channel",
			cmd:  transport.Command{CLA: 0xE5, INS: 0xC9, Ne: 1}, // proprietary, SM, channel 9
			transcript: `
				> E5C90000 01
				< 01 6101
				> 45C00000 01
				< 02 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "short only: Ne above 256 sent as Le 00",
			cmd:  transport.Command{INS: 0xB0, Ne: 1000},
			transcript: `
				> 00B00000 00
				< 0102 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "extended length: one extended APDU",
			cfg:  &transport.ClientConfig{ExtendedLength: true},
			cmd:  transport.Command{CLA: 0x80, INS: 0xD4, Data: d600, Ne: 65536},
			transcript: `
				> 80D40000 000258 ` + hx(d600) + ` 0000
				< 0102 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "chaining in segments of 255",
			cmd:  transport.Command{CLA: 0x80, INS: 0xD4, Data: d600, Ne: 256},
			transcript: `
				> 90D40000 FF ` + hx(d600[:255]) + `
				< 9000
				> 90D40000 FF ` + hx(d600[255:510]) + `
				< 9000
				> 80D40000 5A ` + hx(d600[510:]) + ` 00
				< 0102 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "chaining in segments of MaxCommandData, extended",
			cfg:  &transport.ClientConfig{ExtendedLength: true, MaxCommandData: 300},
			cmd:  transport.Command{CLA: 0x80, INS: 0xD4, Data: d600, Ne: 300},
			transcript: `
				> 90D40000 00012C ` + hx(d600[:300]) + `
				< 9000
				> 80D40000 00012C ` + hx(d600[300:]) + ` 012C
				< 0102 9000`,
			want: transport.Response{Data: h("0102"), SW: 0x9000},
		},
		{
			name: "chaining, MaxCommandData above 255 without extended length",
			cfg:  &transport.ClientConfig{MaxCommandData: 1000},
			cmd:  transport.Command{CLA: 0x00, INS: 0xDA, Data: d600[:300]},
			transcript: `
				> 10DA0000 FF ` + hx(d600[:255]) + `
				< 9000
				> 00DA0000 2D ` + hx(d600[255:300]) + `
				< 9000`,
			want: transport.Response{SW: 0x9000},
		},
		{
			name: "chaining rejected on the second segment",
			cfg:  &transport.ClientConfig{MaxCommandData: 100},
			cmd:  transport.Command{CLA: 0x80, INS: 0xD4, Data: d600[:250], Ne: 256},
			transcript: `
				> 90D40000 64 ` + hx(d600[:100]) + `
				< 9000
				> 90D40000 64 ` + hx(d600[100:200]) + `
				< 6884`,
			want: transport.Response{SW: dkey.SWChainingNotSupported},
		},
		{
			name: "chaining: data on an intermediate 9000 is discarded",
			cfg:  &transport.ClientConfig{MaxCommandData: 2},
			cmd:  transport.Command{CLA: 0x80, INS: 0xD4, Data: h("010203")},
			transcript: `
				> 90D40000 02 0102
				< EEEE 9000
				> 80D40000 01 03
				< 9000`,
			want: transport.Response{SW: 0x9000},
		},
		{
			name: "chaining, then GET RESPONSE",
			cfg:  &transport.ClientConfig{MaxCommandData: 2},
			cmd:  transport.Command{CLA: 0x80, INS: 0xD4, Data: h("010203"), Ne: 256},
			transcript: `
				> 90D40000 02 0102
				< 9000
				> 80D40000 01 03 00
				< AA 6101
				> 00C00000 01
				< BB 9000`,
			want: transport.Response{Data: h("AABB"), SW: 0x9000},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := transporttest.NewCard(playback(t, tc.transcript))
			before := tc.cmd
			before.Data = bytes.Clone(tc.cmd.Data)
			got, err := transport.NewClient(card, tc.cfg).Do(context.Background(), &tc.cmd, nil)
			if err != nil {
				t.Fatalf("Do(%+v) = %v", tc.cmd, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Do(%+v) mismatch (-want +got):\n%s", tc.cmd, diff)
			}
			if diff := diffCommand(before, tc.cmd); diff != "" {
				t.Errorf("Do modified its command (-before +after):\n%s", diff)
			}
		})
	}
}

// TestClientLimits checks the bounds a misbehaving card runs into.
func TestClientLimits(t *testing.T) {
	t.Run("6Cxx loop", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, `
			> 80CA9F7F 01
			< 6C05
			> 80CA9F7F 05
			< 6C06`))
		cmd := transport.Command{CLA: 0x80, INS: 0xCA, P1: 0x9F, P2: 0x7F, Ne: 1}
		_, err := transport.NewClient(card, nil).Do(context.Background(), &cmd, nil)
		checkLimit(t, err, transport.LimitError{Limit: transport.LimitWrongLeRetries, Max: 1, Got: 2})
	})
	t.Run("61xx forever", func(t *testing.T) {
		getResponses := 0
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
			if bytes.Equal(cmd, h("00C0000002")) {
				getResponses++
			}
			return append(dst, 0x01, 0x02, 0x61, 0x02)
		}))
		cmd := transport.Command{INS: 0xB0, Ne: 2}
		_, err := transport.NewClient(card, nil).Do(context.Background(), &cmd, nil)
		checkLimit(t, err, transport.LimitError{Limit: transport.LimitGetResponseRounds, Max: 512, Got: 513})
		if getResponses != transport.MaxGetResponseRounds {
			t.Errorf("card received %d GET RESPONSE, want %d", getResponses, transport.MaxGetResponseRounds)
		}
	})
	t.Run("61xx without data forever", func(t *testing.T) {
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
			return append(dst, 0x61, 0x00)
		}))
		cmd := transport.Command{INS: 0xB0, Ne: 256}
		_, err := transport.NewClient(card, nil).Do(context.Background(), &cmd, nil)
		checkLimit(t, err, transport.LimitError{Limit: transport.LimitGetResponseRounds, Max: 512, Got: 513})
	})
	t.Run("response over MaxResponse", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, `
			> 00B00000 00
			< 010203 6103
			> 00C00000 03
			< 040506 9000`))
		cmd := transport.Command{INS: 0xB0, Ne: 256}
		_, err := transport.NewClient(card, &transport.ClientConfig{MaxResponse: 5}).Do(context.Background(), &cmd, nil)
		checkLimit(t, err, transport.LimitError{Limit: transport.LimitResponseData, Max: 5, Got: 6})
	})
	t.Run("response at MaxResponse", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, `
			> 00B00000 00
			< 010203 6102
			> 00C00000 02
			< 0405 9000`))
		cmd := transport.Command{INS: 0xB0, Ne: 256}
		got, err := transport.NewClient(card, &transport.ClientConfig{MaxResponse: 5}).Do(context.Background(), &cmd, nil)
		if err != nil || !bytes.Equal(got.Data, h("0102030405")) {
			t.Errorf("Do = %X, %v, want 0102030405", got.Data, err)
		}
	})
	t.Run("response APDU over MaxResponseData", func(t *testing.T) {
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
			return transport.AppendResponse(dst, make([]byte, transport.MaxResponseData+1), dkey.SWSuccess)
		}))
		cmd := transport.Command{INS: 0xB0, Ne: 65536}
		_, err := transport.NewClient(card, &transport.ClientConfig{ExtendedLength: true}).Do(context.Background(), &cmd, nil)
		checkLimit(t, err, transport.LimitError{Limit: transport.LimitResponseData, Max: 65536, Got: 65537})
	})
	t.Run("too many chained commands", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, ``))
		cmd := transport.Command{CLA: 0x80, INS: 0xD4, Data: seq(513)}
		_, err := transport.NewClient(card, &transport.ClientConfig{MaxCommandData: 1}).Do(context.Background(), &cmd, nil)
		var le *transport.LimitError
		if !errors.As(err, &le) || *le != (transport.LimitError{Limit: transport.LimitChainedCommands, Max: 512, Got: 513}) {
			t.Errorf("Do = %v, want the chained-commands limit", err)
		}
	})
	t.Run("invalid class cannot chain", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, ``))
		cmd := transport.Command{CLA: 0xFF, INS: 0xD4, Data: seq(256)}
		_, err := transport.NewClient(card, nil).Do(context.Background(), &cmd, nil)
		var le *transport.LimitError
		if !errors.As(err, &le) || *le != (transport.LimitError{Limit: transport.LimitCommandData, Max: 255, Got: 256}) {
			t.Errorf("Do = %v, want the command-data limit", err)
		}
	})
	t.Run("Ne out of range", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, ``))
		cmd := transport.Command{INS: 0xB0, Ne: 65537}
		_, err := transport.NewClient(card, nil).Do(context.Background(), &cmd, nil)
		var le *transport.LimitError
		if !errors.As(err, &le) || le.Limit != transport.LimitNe || errors.Is(err, transport.ErrProtocol) {
			t.Errorf("Do = %v, want the Ne limit, not a protocol error", err)
		}
	})
}

// checkLimit checks a limit the card made the client hit: a *LimitError
// that also matches ErrProtocol.
func checkLimit(t *testing.T, err error, want transport.LimitError) {
	t.Helper()
	var le *transport.LimitError
	if !errors.As(err, &le) || *le != want {
		t.Errorf("Do = %v, want %v", err, &want)
	}
	if !errors.Is(err, transport.ErrProtocol) {
		t.Errorf("Do = %v, does not match ErrProtocol", err)
	}
}

func TestClientTransportErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("card removed before GET RESPONSE", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, `
			> 00B00000 00
			< 0102 6102`), transporttest.RemoveAfter(1))
		cmd := transport.Command{INS: 0xB0, Ne: 256}
		_, err := transport.NewClient(card, nil).Do(ctx, &cmd, nil)
		if !errors.Is(err, transport.ErrCardRemoved) || !strings.Contains(err.Error(), "GET RESPONSE 1") {
			t.Errorf("Do = %v, want ErrCardRemoved during GET RESPONSE 1", err)
		}
	})
	t.Run("card removed during chaining", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, `
			> 90D40000 02 0102
			< 9000`), transporttest.RemoveAfter(1))
		cmd := transport.Command{CLA: 0x80, INS: 0xD4, Data: h("010203")}
		_, err := transport.NewClient(card, &transport.ClientConfig{MaxCommandData: 2}).Do(ctx, &cmd, nil)
		if !errors.Is(err, transport.ErrCardRemoved) || !strings.Contains(err.Error(), "chained command 2 of 2") {
			t.Errorf("Do = %v, want ErrCardRemoved on chained command 2 of 2", err)
		}
	})
	t.Run("context canceled", func(t *testing.T) {
		card := transporttest.NewCard(playback(t, ``))
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		cmd := transport.Command{INS: 0xB0, Ne: 256}
		_, err := transport.NewClient(card, nil).Do(ctx, &cmd, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
	})
	for _, resp := range [][]byte{nil, h("90")} {
		t.Run("response of "+string(rune('0'+len(resp)))+" bytes", func(t *testing.T) {
			tr := transceiverFunc(func(ctx context.Context, dst, cmd []byte) ([]byte, error) {
				return append(dst, resp...), nil
			})
			cmd := transport.Command{INS: 0xB0, Ne: 256}
			_, err := transport.NewClient(tr, nil).Do(ctx, &cmd, nil)
			if !errors.Is(err, transport.ErrTruncated) || !errors.Is(err, transport.ErrProtocol) {
				t.Errorf("Do = %v, want ErrTruncated", err)
			}
		})
	}
}

type transceiverFunc func(ctx context.Context, dst, cmd []byte) ([]byte, error)

func (f transceiverFunc) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	return f(ctx, dst, cmd)
}

// TestClientDst checks the append contract of Do: dst's bytes stay, its
// capacity is used, and Response.Data is only the response data.
func TestClientDst(t *testing.T) {
	card := transporttest.NewCard(playback(t, `
		> 00B00000 00
		< 0102 6101
		> 00C00000 01
		< 03 9000`))
	buf := make([]byte, 2, 64)
	buf[0], buf[1] = 0xAA, 0xBB
	cmd := transport.Command{INS: 0xB0, Ne: 256}
	got, err := transport.NewClient(card, nil).Do(context.Background(), &cmd, buf)
	if err != nil || !bytes.Equal(got.Data, h("010203")) {
		t.Fatalf("Do = %X, %v, want 010203", got.Data, err)
	}
	if &got.Data[0] != &buf[:3][2] {
		t.Errorf("Do did not append into dst's capacity")
	}
	if !bytes.Equal(buf, h("AABB")) {
		t.Errorf("Do changed dst to %X", buf)
	}
}

// TestClientThroughChainingCard runs a Client limited to short APDUs against
// a ChainingCard behind a reader that refuses anything longer than a short
// APDU: the inner card must see one whole command and its whole response
// must arrive.
func TestClientThroughChainingCard(t *testing.T) {
	data, resp := seq(1000), seq(700)
	var got []byte
	inner := transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		got = append(got[:0], cmd...)
		return transport.AppendResponse(dst, resp, dkey.SWSuccess)
	})
	card := transporttest.NewCard(transport.NewChainingCard(inner), transporttest.MaxCommandLen(4+1+255+1))
	rec := transporttest.NewRecorder(card)
	cmd := transport.Command{CLA: 0x84, INS: 0xD4, P1: 0x01, P2: 0x02, Data: data, Ne: 256}
	rec.Note("1000 bytes of data chained in short APDUs; a 700-byte response read with GET RESPONSE.")
	r, err := transport.NewClient(rec, nil).Do(context.Background(), &cmd, nil)
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	if want := append(append(h("84D40102 0003E8"), data...), 0x01, 0x00); !bytes.Equal(got, want) {
		t.Errorf("inner card received %X, want %X", got, want)
	}
	if r.SW != dkey.SWSuccess || !bytes.Equal(r.Data, resp) {
		t.Errorf("Do = %X %v, want the %d-byte response and 9000", r.Data, r.SW, len(resp))
	}
	// Segments of 255, 255, 255 and 235 bytes; the last is answered with 256
	// bytes and 61 00, then two GET RESPONSE bring 256 and 188 bytes.
	tr := rec.Transcript()
	if len(tr) != 4+2 {
		t.Errorf("%d exchanges on the wire, want 6:\n%s", len(tr), tr)
	}
	for _, e := range tr {
		if len(e.Response) > 258 {
			t.Errorf("response of %d bytes on a short-APDU reader", len(e.Response))
		}
	}
	transporttest.CheckGolden(t, "testdata/client_chaining_card.transcript", tr, *update)
}
