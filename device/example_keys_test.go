package device_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/cert/certtest"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// The phone creates a key for a vehicle in its secure element, and the
// vehicle enrolls the public key (owner pairing does both, see
// vehicle.Reader.Pair). The applet answers the vehicle's transactions under
// the phone's policy: with express mode off, a key transacts only while
// the user is authenticated (face, fingerprint or passcode).
func ExampleApplet_CreateKey() {
	phone, err := device.NewApplet(nil)
	if err != nil {
		log.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	vehicleKey, _ := dkey.GenerateSoftwareKey()
	car, _ := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey})
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: car.PublicKey()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("created: %v key, %v, express %v, fast ready %v\n", key.Role, key.State, key.Express, key.HasPersistent)
	_ = car.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile()})

	nfc := transporttest.NewCard(phone)
	unlock := func(when string) {
		res, err := car.Transact(context.Background(), nfc, dkey.ActionUnlock)
		fmt.Printf("unlock %s: fast %v, error: %v\n", when, res.Fast, err)
	}
	unlock("in express mode")
	if err := phone.SetExpress(vid, false); err != nil {
		log.Fatal(err)
	}
	unlock("without express mode")
	phone.AuthenticateUser(time.Now().Add(time.Minute))
	unlock("after user authentication")
	info, _ := phone.Key(vid)
	fmt.Printf("transactions %d, last control flow %v, fast ready %v\n", info.Transactions, info.LastControlFlow, info.HasPersistent)
	// Output:
	// created: owner key, active, express true, fast ready false
	// unlock in express mode: fast false, error: <nil>
	// unlock without express mode: fast false, error: vehicle: device refused the transaction: status word 6985: conditions of use not satisfied
	// unlock after user authentication: fast true, error: <nil>
	// transactions 2, last control flow 0100 (success), fast ready true
}

// Owner pairing starts on the phone (docs/protocol.md §3): the owner types
// the pairing code, which readies the Digital Key framework for one pairing
// that the vehicle then runs (vehicle.Reader.Pair shows it end to end).
// Without a code the framework refuses to pair; CancelPairing withdraws a
// code typed by mistake.
func ExampleApplet_StartPairing() {
	pki, err := certtest.New()
	if err != nil {
		log.Fatal(err)
	}
	ca, caKey, err := pki.InstanceCA("phone") // certifies the owner key pairing creates
	if err != nil {
		log.Fatal(err)
	}
	phone, err := device.NewApplet(&device.Config{Pairing: &pairing.DeviceConfig{InstanceCA: ca, InstanceCAKey: caKey}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready:", phone.PairingReady())
	if err := phone.StartPairing([]byte("271828")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready after the code:", phone.PairingReady())
	phone.CancelPairing()
	fmt.Println("ready after CancelPairing:", phone.PairingReady())
	// Output:
	// ready: false
	// ready after the code: true
	// ready after CancelPairing: false
}

// The friend's side of a share (docs/protocol.md §6.1): the invitation
// asks for a key (sharing.FriendSession.KeyRequest), the applet creates it
// in the secure element and certifies it with its instance CA, for the
// owner's phone to verify. The key stays suspended until ImportSharedKey
// stores the key attestation the owner's phone signs; a share that does not
// complete is deleted with Terminate. (vehicle.Reader.Transact has an
// example of the whole share, up to the friend's first transaction.)
func ExampleApplet_CreateSharedKey() {
	pki, err := certtest.New()
	if err != nil {
		log.Fatal(err)
	}
	ca, caKey, err := pki.InstanceCA("friend")
	if err != nil {
		log.Fatal(err)
	}
	friend, err := device.NewApplet(&device.Config{InstanceCA: &device.InstanceCA{Certificate: ca, Key: caKey}})
	if err != nil {
		log.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	vehicleKey, _ := dkey.GenerateSoftwareKey()
	created, err := friend.CreateSharedKey(&sharing.KeyRequest{Vehicle: vid, VehicleKey: vehicleKey.PublicKey(), Mailboxes: sharing.FriendMailboxes()})
	if err != nil {
		log.Fatal(err)
	}

	// What the owner's phone checks: the chain leads to a Device OEM root
	// it trusts and binds the vehicle.
	ep, err := (&cert.Config{DeviceRoots: pki.DeviceRoots()}).VerifyEndpoint(created.Chain, vid, vehicleKey.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("chain of %d certificates to %q, binds the key: %v\n", len(ep.Chain), ep.Chain[len(ep.Chain)-1].Subject.CommonName, ep.Key.Equal(created.PublicKey))

	key, _ := friend.Key(vid)
	fmt.Printf("%v key, %v, awaiting import %v\n", key.Role, key.State, key.AwaitingImport)
	fmt.Println("resume before the import:", errors.Is(friend.Resume(vid), device.ErrAwaitingImport))
	if err := friend.Terminate(vid); err != nil {
		log.Fatal(err)
	}
	_, live := friend.Key(vid)
	fmt.Println("after Terminate, a live key:", live)
	// Output:
	// chain of 3 certificates to "Device OEM Root", binds the key: true
	// friend key, suspended, awaiting import true
	// resume before the import: true
	// after Terminate, a live key: false
}
