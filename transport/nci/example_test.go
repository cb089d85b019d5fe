package nci_test

import (
	"context"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// An NCI controller on I2C polls with the ECP frame and exchanges an APDU
// with the phone it activates. The controller here is the simulator on a
// simulated bus; with hardware, use OpenI2C with the i2c-dev bus and the
// GPIO lines, and the ECP command from the controller's documentation.
func ExampleDevice_Detect() {
	ecpCommand := &nci.ECPCommand{GID: nci.GroupProprietary, OID: 0x3F} // a test value, not a real PN7161 command
	var group [8]byte
	ecp := polling.HomeKey(group)
	field := pollingtest.NewField()
	field.Enter(&pollingtest.Phone{Card: &bigCard{n: 2}, Express: true, Accept: pollingtest.AcceptFrame(ecp)})
	bus := ncitest.New(field, ncitest.Config{ECP: ecpCommand}).I2C()
	defer bus.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := nci.New(ctx, nci.NewI2CLink(bus, bus), &nci.Config{ECP: ecpCommand})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	hw, _ := d.Info().NXPHardware()
	fmt.Printf("NCI %X, NXP hardware %02X\n", d.Info().Version, hw)
	target, err := d.Detect(ctx, &polling.Round{ECP: ecp.Append(nil), Interval: 50 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer target.Release(ctx)
	resp, err := target.Transceive(ctx, nil, []byte{0x00, 0xA4, 0x04, 0x00})
	fmt.Printf("%X %v\n", resp, err)
	// Output:
	// NCI 20, NXP hardware 71
	// 00019000 <nil>
}
