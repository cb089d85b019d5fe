package pn532_test

import (
	"context"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// A PN532 polls with the Home Key ECP frame; a phone in express mode
// answers, and an APDU goes through InDataExchange. The PN532 here is the
// simulator on a pseudo-terminal: with hardware, pass its serial device to
// Open instead (/dev/ttyUSB0).
func ExampleDevice_Detect() {
	var group [8]byte
	ecp := polling.HomeKey(group)
	field := pollingtest.NewField()
	field.Enter(&pollingtest.Phone{Card: echoCard{}, Express: true, Accept: pollingtest.AcceptFrame(ecp)})
	pty, _ := pollingtest.OpenPTY()
	defer pty.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go pn532test.New(field, pn532.Firmware{}).Serve(ctx, pty.Master)

	d, err := pn532.Open(ctx, pty.Slave, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	fmt.Println(d.Firmware())
	target, err := d.Detect(ctx, &polling.Round{ECP: ecp.Append(nil)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer target.Release(ctx)
	resp, err := target.Transceive(ctx, nil, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xCA, 0xFE, 0x00})
	fmt.Printf("%X %v\n", resp, err)
	// Output:
	// PN532 firmware 1.6 (support 07)
	// CAFE9000 <nil>
}
