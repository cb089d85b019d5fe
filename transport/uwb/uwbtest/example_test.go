package uwbtest_test

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/transport/uwb"
	"github.com/opencarkey/sdk/transport/uwb/uwbtest"
)

// Example shows a simulated chip answering the host's first commands over a
// pipe.
func Example() {
	ctx := context.Background()
	air := uwbtest.NewAir()
	link, _, err := air.Pipe(uwbtest.ChipConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := uwb.NewHost(link, nil)
	defer h.Close()
	if err := h.Reset(ctx); err != nil {
		fmt.Println(err)
		return
	}
	var caps uwb.GetCapsRsp
	if err := h.Capabilities(ctx, &caps); err != nil {
		fmt.Println(err)
		return
	}
	ccc, _ := caps.Caps.CCC()
	fmt.Printf("channels %02b, SYNC codes %08x, configurations %04x\n", ccc.Channels, ccc.SyncCodes, ccc.ConfigIDs())
	// Output:
	// channels 11, SYNC codes 00000f00, configurations [0000 0001]
}
