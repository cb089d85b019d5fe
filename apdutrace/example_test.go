package apdutrace_test

import (
	"fmt"
	"os"

	"github.com/opencarkey/sdk/apdutrace"
)

func Example() {
	trace, err := apdutrace.Parse([]byte(`# a fast unlock, cut short
> 00A404000DA000000809434343444B41763100
< 5C020100 9000
> 803C0000
< 9000
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// With a key log (apdutrace.ParseKeyLog) instead of nil, the secure
	// messaging of the sessions it covers is verified and decrypted.
	report := apdutrace.Decode(trace, nil)
	report.WriteText(os.Stdout)
	// Output:
	// # a fast unlock, cut short
	// 1: SELECT, by name A000000809434343444B417631 (Digital Key applet, CCC) (line 2)
	//   > 00A404000DA000000809434343444B41763100
	//   < 5C020100 9000: success
	//   reply, 4 bytes
	//     5C applet versions: 0100 (1.0)
	// 2: CONTROL FLOW, 0000 (failure) (line 4)
	//   > 803C0000
	//   < 9000: success
}
