package ncitest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// On its simulated I2C bus the controller answers CORE_RESET_CMD with a
// response and, in NCI 2.0, CORE_RESET_NTF; the interrupt line is high
// while a packet waits, and the host reads header and payload apart.
func ExampleController_I2C() {
	bus := ncitest.New(pollingtest.NewField(), ncitest.Config{}).I2C()
	defer bus.Close()
	bus.Write([]byte{0x20, 0x00, 0x01, 0x01})
	for range 2 {
		bus.WaitHigh(context.Background(), time.Now().Add(time.Second))
		header := make([]byte, 3)
		bus.Read(header)
		payload := make([]byte, header[2])
		bus.Read(payload)
		fmt.Printf("% X | % X\n", header, payload)
	}
	_, err := bus.Read(make([]byte, 3))
	fmt.Println(err)
	// Output:
	// 40 00 01 | 00
	// 60 00 09 | 02 01 20 04 04 71 12 02 00
	// ncitest: I2C read with the interrupt line low
}
