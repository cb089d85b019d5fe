package vpcd_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/opencarkey/sdk/transport/vpcd"
)

// selectCard answers 9000 to every command.
type selectCard struct{}

func (selectCard) ProcessAPDU(dst, _ []byte) []byte { return append(dst, 0x90, 0x00) }

// Serve plays a card on a connection; here the other end of a pipe stands for
// vpcd. With a real vpcd, call vpcd.Run(ctx, vpcd.DefaultAddr, card, nil).
func ExampleServe() {
	card, reader := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- vpcd.Serve(ctx, card, selectCard{}, nil) }()

	exchange := func(payload []byte) []byte {
		reader.Write(binary.BigEndian.AppendUint16(nil, uint16(len(payload))))
		reader.Write(payload)
		var n [2]byte
		io.ReadFull(reader, n[:])
		resp := make([]byte, binary.BigEndian.Uint16(n[:]))
		io.ReadFull(reader, resp)
		return resp
	}
	fmt.Printf("ATR: %X\n", exchange([]byte{0x04}))
	fmt.Printf("SELECT: %X\n", exchange([]byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00}))

	cancel() // the card leaves the field
	fmt.Println(<-done)
	// Output:
	// ATR: 3B80800101
	// SELECT: 9000
	// vpcd: context canceled
}
