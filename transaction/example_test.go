package transaction_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

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
	v, _ := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: vid, Key: vehicleKey})
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

// ExampleVehicleConfig_keyLog fixes both sides' randomness (for tests and
// vectors only) and logs the session keys (for test benches only): with the
// same seeds the ephemeral keys, the transaction identifier and so every
// session key come out the same on every run, and the key log shows them.
func ExampleVehicleConfig_keyLog() {
	vehicleKey, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	var keyLog strings.Builder
	v, _ := transaction.NewVehicleParams(&transaction.VehicleConfig{
		VehicleID: vid, Key: vehicleKey,
		Rand:   rand.NewChaCha8([32]byte{1}), // NEVER outside tests: every key becomes predictable
		KeyLog: &keyLog,                      // NEVER outside test benches: it decrypts the sessions
	})
	vs := v.NewSession()

	endpointKey, _ := dkey.GenerateSoftwareKey()
	slot, _ := dkey.NewKeySlot([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	cred := transaction.Credential{Slot: slot, Key: endpointKey, PublicKey: endpointKey.PublicKey(), VehicleKey: v.PublicKey()}
	es, _ := transaction.NewEndpointSession(&transaction.EndpointConfig{Rand: rand.NewChaCha8([32]byte{2})})

	_ = vs.Start(dkey.ActionUnlock, 0)
	_ = vs.ReadSelect(transport.Response{Data: es.Select(nil), SW: dkey.SWSuccess})
	auth0, _ := vs.Auth0()
	_, _ = es.ReadAuth0(&auth0)
	data, _ := es.Auth0(nil, &cred)
	_ = vs.ReadAuth0(transport.Response{Data: data, SW: dkey.SWSuccess})
	auth1, _ := vs.Auth1()
	data, _, _ = es.Auth1(nil, &auth1, nil, nil)
	_, err := vs.ReadAuth1(transport.Response{Data: data, SW: dkey.SWSuccess})
	fmt.Println(err)
	fmt.Print(keyLog.String())
	// Output:
	// <nil>
	// TRANSACTION_KENC 0cd87274d67084caaf0e0d36c8496db7 acf08b859147a34485759e36b64f4f22
	// TRANSACTION_KMAC 0cd87274d67084caaf0e0d36c8496db7 bbe6df6b037de649bd6dca82b9d6d6b7
	// TRANSACTION_KRMAC 0cd87274d67084caaf0e0d36c8496db7 1c807e66e6b40e9787fd699ca3e032c5
	// TRANSACTION_KPERSISTENT 0cd87274d67084caaf0e0d36c8496db7 099610e0f4f0be7fcca37c624ba435b2894625ee3b8f5506476a20b8f74dd039
	// TRANSACTION_URSK 0cd87274d67084caaf0e0d36c8496db7 5bb2014b6d401c1b267402d081106e7098c320eca5bea915e569d15cb318c429
}
