package transaction_test

import (
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Example runs a standard transaction and then a fast one between the two
// sans-I/O sessions, moving the APDUs by hand: what package vehicle and
// package device do over a real link.
func Example() {
	vehicleKey, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	v, _ := transaction.NewVehicle(&transaction.VehicleConfig{VehicleID: vid, Key: vehicleKey})
	vs := v.NewSession()

	endpointKey, _ := dkey.GenerateSoftwareKey()
	slot, _ := dkey.NewKeySlot([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	cred := transaction.Credential{Slot: slot, Key: endpointKey, PublicKey: endpointKey.PublicKey(), VehicleKey: v.PublicKey()}
	es, _ := transaction.NewEndpointSession(&transaction.EndpointConfig{})

	// card answers one command the way an applet would.
	card := func(cmd transport.Command) transport.Response {
		var data []byte
		var err error
		switch cmd.INS {
		case 0xA4:
			data = es.Select(nil)
		case 0x80:
			if _, err = es.ReadAuth0(&cmd); err == nil {
				data, err = es.Auth0(nil, &cred)
			}
		case 0x81:
			var pk transaction.PersistentKey
			if data, pk, err = es.Auth1(nil, &cmd, nil, nil); err == nil {
				cred.Persistent = pk
			}
		case 0x3C:
			_, err = es.ReadControlFlow(&cmd)
		}
		return transport.Response{Data: data, SW: transaction.StatusWordFor(err)}
	}

	// Standard: SELECT, AUTH0, AUTH1, CONTROL FLOW.
	_ = vs.Start(dkey.ActionUnlock, 0)
	_ = vs.ReadSelect(card(vs.Select()))
	auth0, _ := vs.Auth0()
	_ = vs.ReadAuth0(card(auth0))
	auth1, _ := vs.Auth1()
	res, _ := vs.ReadAuth1(card(auth1))
	pk, err := vs.VerifyEndpoint(endpointKey.PublicKey()) // the key enrolled for res.Slot
	card(vs.ControlFlow(transaction.CFSuccess))
	fmt.Println("standard:", res.Slot, err, pk.Equal(&cred.Persistent))

	// Fast: the cryptogram in the AUTH0 response names the key.
	_ = vs.Start(dkey.ActionUnlock, transaction.FlagFast)
	_ = vs.ReadSelect(card(vs.Select()))
	auth0, _ = vs.Auth0()
	_ = vs.ReadAuth0(card(auth0))
	i := vs.FindFast([]transaction.FastKey{transaction.NewFastKey(endpointKey.PublicKey(), &pk)})
	card(vs.ControlFlow(transaction.CFSuccess))
	fmt.Println("fast:", i, vs.Fast())
	// Output:
	// standard: 0102030405060708 <nil> true
	// fast: 0 true
}
