package pcsc

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/transport"
)

// The vehicle side on the first reader with a card: connect, SELECT, and
// tell a removed card from other failures. (Here pcscd is the tests' fake;
// with a real one, pass a nil Config.)
func Example() {
	fake, err := startFakePCSCD()
	if err != nil {
		panic(err)
	}
	defer fake.close()
	ctx := context.Background()

	c, err := Establish(ctx, &Config{Socket: fake.path})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Release(ctx)
	reader, err := c.WaitForCard(ctx, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	cn, err := c.Connect(ctx, reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cn.Disconnect(ctx, Leave)
	fmt.Println(reader, cn.Protocol())

	var t transport.Transceiver = cn
	resp, err := t.Transceive(ctx, nil, selectCommand())
	fmt.Printf("SELECT: %X %v\n", resp, err)

	fake.set(func(f *fakePCSCD) { f.transmit = []Code{RemovedCard} })
	_, err = t.Transceive(ctx, nil, selectCommand())
	switch {
	case errors.Is(err, transport.ErrCardRemoved):
		fmt.Println("card removed:", err)
	case err != nil:
		fmt.Println("failed:", err)
	}
	// Output:
	// Fake Reader 00 00 T=1
	// SELECT: 6F038401019000 <nil>
	// card removed: pcsc: transmit: SCARD_W_REMOVED_CARD (0x80100069)
}
