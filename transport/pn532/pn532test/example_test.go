package pn532test_test

import (
	"context"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/transport/internal/serialio"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// The simulator on a pseudo-terminal answers frames as a PN532 does: the
// wake-up, then SAMConfiguration, each acknowledged before its answer.
func ExampleController_Serve() {
	pty, _ := pollingtest.OpenPTY()
	defer pty.Close()
	c := pn532test.New(pollingtest.NewField(), pn532.Firmware{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Serve(ctx, pty.Master)

	host, _ := serialio.Open(pty.Slave, pn532.DefaultBaud)
	defer host.Close()
	cmd, _ := pn532.AppendFrame([]byte{0x55, 0x55, 0, 0, 0, 0}, pn532.TFIHost, []byte{pn532.CmdSAMConfiguration, 0x01, 0x14, 0x01})
	host.Write(cmd)
	answer := make([]byte, 6+9)
	serialio.ReadFull(ctx, host, answer, time.Now().Add(2*time.Second))
	fmt.Printf("% X\n", answer[:6])
	fmt.Printf("% X\n", answer[6:])
	// Output:
	// 00 00 FF 00 FF 00
	// 00 00 FF 02 FE D5 15 16 00
}
