package transporttest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// An in-memory card answering SELECT, behind a recorder; the card is then
// pulled out of the field.
func ExampleNewCard() {
	applet := transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		c, err := transport.ParseCommand(cmd)
		switch {
		case err != nil:
			return append(dst, 0x67, 0x00)
		case c.INS == 0xA4:
			return append(dst, 0x5C, 0x02, 0x01, 0x00, 0x90, 0x00)
		}
		return append(dst, 0x6D, 0x00)
	})
	card := transporttest.NewCard(applet)
	rec := transporttest.NewRecorder(card)
	ctx := context.Background()

	sel := []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00}
	resp, err := rec.Transceive(ctx, nil, sel)
	fmt.Printf("%X %v\n", resp, err)

	card.Remove()
	_, err = rec.Transceive(ctx, nil, sel)
	fmt.Println(errors.Is(err, transport.ErrCardRemoved))

	fmt.Print(rec.Transcript())
	// Output:
	// 5C0201009000 <nil>
	// true
	// > 00A4040002A00000
	// < 5C020100 9000
	// > 00A4040002A00000
	// ! transporttest: transport: card removed
}

func ExampleParseTranscript() {
	tr, err := transporttest.ParseTranscript([]byte(`
# GET DATA, answered in two pieces
> 80CA7F2000
< 0102 6101
> 00C0000001
< 03 9000
`))
	if err != nil {
		panic(err)
	}
	for _, e := range tr {
		fmt.Printf("%X -> %X\n", e.Command, e.Response)
	}
	fmt.Printf("%q\n", tr[0].Note)
	// Output:
	// 80CA7F2000 -> 01026101
	// 00C0000001 -> 039000
	// "GET DATA, answered in two pieces"
}
