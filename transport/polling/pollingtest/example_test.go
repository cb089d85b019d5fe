package pollingtest_test

import (
	"fmt"

	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// A phone in express mode answers polling only after its reader's ECP
// frame.
func ExampleField() {
	var group [8]byte
	ecp := polling.HomeKey(group)
	field := pollingtest.NewField()
	field.Enter(&pollingtest.Phone{Card: &countingCard{}, Express: true, Accept: pollingtest.AcceptFrame(ecp)})
	field.SetOn(true)
	_, ok := field.Activate()
	fmt.Println("without ECP:", ok)
	field.Frame(ecp.Append(nil))
	info, ok := field.Activate()
	fmt.Printf("after ECP: %v, NFCID1 %X\n", ok, info.NFCID1)
	// Output:
	// without ECP: false
	// after ECP: true, NFCID1 081A2B3C
}
