package transport_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// Build the SELECT of the Digital Key applet (docs/protocol.md §2.2) and parse
// it back.
func ExampleCommand_Append() {
	sel := transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x00, Data: []byte(dkey.AIDDigitalKey), Ne: 256}
	b, err := sel.Append(nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X\n", b)

	cmd, err := transport.ParseCommand(b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("INS %02X, data %X, Ne %d, extended %v\n", cmd.INS, cmd.Data, cmd.Ne, cmd.IsExtended())
	// Output:
	// 00A404000DA000000809434343444B41763100
	// INS A4, data A000000809434343444B417631, Ne 256, extended false
}

func ExampleParseCommand_errors() {
	for _, b := range [][]byte{
		{0x80, 0xD4, 0x00, 0x00, 0x00, 0x10},       // short Lc of zero
		{0x80, 0xD4, 0x00, 0x00, 0x05, 0x01, 0x02}, // data shorter than Lc
	} {
		_, err := transport.ParseCommand(b)
		fmt.Println(err, errors.Is(err, transport.ErrProtocol))
	}
	// Output:
	// transport: lc of zero true
	// transport: apdu truncated true
}

func ExampleParseResponse() {
	// The SELECT response of a Home Key iPhone (docs/protocol.md §2.2).
	r, err := transport.ParseResponse([]byte{0x5C, 0x04, 0x02, 0x00, 0x01, 0x00, 0x90, 0x00})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X %v\n", r.Data, r.SW)
	fmt.Printf("%X\n", transport.AppendResponse(nil, nil, dkey.SWFileNotFound))
	// Output:
	// 5C0402000100 status word 9000: success
	// 6A82
}

// A Client reads a long response through GET RESPONSE: here from an
// in-memory card whose applet answers with 300 bytes, served in short
// pieces by a ChainingCard.
func ExampleClient() {
	applet := transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		c, err := transport.ParseCommand(cmd)
		if err != nil || c.INS != 0xCA {
			return transport.AppendResponse(dst, nil, dkey.SWInstructionNotSupported)
		}
		return transport.AppendResponse(dst, make([]byte, 300), dkey.SWSuccess)
	})
	rec := transporttest.NewRecorder(transporttest.NewCard(transport.NewChainingCard(applet)))
	client := transport.NewClient(rec, nil)

	buf := make([]byte, 0, 512)
	cmd := transport.Command{CLA: 0x80, INS: 0xCA, P1: 0x7F, P2: 0x20, Ne: 256}
	resp, err := client.Do(context.Background(), &cmd, buf[:0])
	if err != nil {
		panic(err)
	}
	fmt.Println(len(resp.Data), resp.SW)
	for _, e := range rec.Transcript() {
		fmt.Printf("> %X\n< %d bytes, SW %X\n", e.Command, len(e.Response)-2, e.Response[len(e.Response)-2:])
	}
	// Output:
	// 300 status word 9000: success
	// > 80CA7F2000
	// < 256 bytes, SW 612C
	// > 00C000002C
	// < 44 bytes, SW 9000
}
