package keyservice_test

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// ExampleError: every refusal is a typed body, which the client turns back
// into an error that matches the sentinels of package sharing.
func ExampleError() {
	body, _ := (&keyservice.Error{Status: 404, Code: keyservice.CodeNotFound, Detail: "no mailbox"}).MarshalJSON()
	fmt.Println(string(body))
	e, _ := keyservice.ParseError(body)
	fmt.Println(errors.Is(e, sharing.ErrNotFound), e.Temporary())
	// Output:
	// {"type":"about:blank","status":404,"title":"Not Found","code":"not_found","detail":"no mailbox"}
	// true false
}

// ExampleVehicleName: the subject of a vehicle certificate carries the
// vehicle identifier, which the service authenticates the vehicle by.
func ExampleVehicleName() {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	n := keyservice.VehicleName(vid, "Vehicle VIN00001")
	fmt.Println(n.String())
	fmt.Println(keyservice.VehicleRecipient(vid))
	// Output:
	// SERIALNUMBER=56494e3030303031,CN=Vehicle VIN00001
	// vehicle/56494e3030303031
}
