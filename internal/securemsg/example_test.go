package securemsg_test

import (
	"fmt"

	"github.com/opencarkey/sdk/internal/securemsg"
)

// A standard transaction: the endpoint sends the AUTH1 response at ctr 00,
// then the vehicle sends an EXCHANGE command at ctr 01 and the endpoint
// answers it with an empty (MAC-only) response.
func Example() {
	var keys securemsg.Keys // from the transaction's key derivation
	vehicle, err := securemsg.NewSender(&keys, securemsg.InitialResponse)
	if err != nil {
		panic(err)
	}
	defer vehicle.Close()
	endpoint, err := securemsg.NewReceiver(&keys, securemsg.InitialResponse)
	if err != nil {
		panic(err)
	}
	defer endpoint.Close()

	auth1, _ := endpoint.ProtectResponse(nil, []byte("signature and key slot"))
	plain, err := vehicle.UnprotectResponse(nil, auth1)
	fmt.Printf("AUTH1 response: %d bytes protected, %q, %v\n", len(auth1), plain, err)

	cmd, _ := vehicle.ProtectCommand(nil, []byte("mailbox op"))
	plain, err = endpoint.UnprotectCommand(nil, cmd)
	fmt.Printf("EXCHANGE command: %d bytes protected, %q, %v\n", len(cmd), plain, err)

	resp, _ := endpoint.ProtectResponse(nil, nil)
	plain, err = vehicle.UnprotectResponse(nil, resp)
	fmt.Printf("EXCHANGE response: %d bytes protected, %d bytes of data, %v\n", len(resp), len(plain), err)

	_, err = vehicle.UnprotectResponse(nil, resp) // a replay: already answered
	fmt.Println(err)

	cmd, _ = vehicle.ProtectCommand(nil, nil)
	_, _ = endpoint.UnprotectCommand(nil, cmd)
	resp, _ = endpoint.ProtectResponse(nil, []byte{0x90})
	resp[0] ^= 1 // an altered response kills the channel
	_, err = vehicle.UnprotectResponse(nil, resp)
	fmt.Println(err)
	_, err = vehicle.ProtectCommand(nil, nil)
	fmt.Println(err)
	// Output:
	// AUTH1 response: 40 bytes protected, "signature and key slot", <nil>
	// EXCHANGE command: 24 bytes protected, "mailbox op", <nil>
	// EXCHANGE response: 8 bytes protected, 0 bytes of data, <nil>
	// securemsg: no unanswered command for this response
	// securemsg: message authentication failed
	// securemsg: channel is broken by an earlier authentication failure
}
