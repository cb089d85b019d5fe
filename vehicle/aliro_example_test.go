package vehicle_test

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// An Aliro lock configured as a Matter controller configures it, and a
// phone whose key the controller set: the first unlock is standard, the
// next one fast.
func ExampleAliroLock() {
	readerKey, _ := dkey.GenerateSoftwareKey()
	signing, _ := readerKey.Bytes()
	var group dkey.ReaderGroupID
	copy(group[:], "front door group")

	lock, err := vehicle.NewAliroLock(nil)
	if err != nil {
		panic(err)
	}
	defer lock.Close()
	err = lock.SetAliroReaderConfig(vehicle.AliroReaderConfig{SigningKey: signing, VerificationKey: readerKey.PublicKey().Bytes(), GroupIdentifier: group[:]})
	if err != nil {
		panic(err)
	}

	phone, _ := device.NewAliroApplet(nil)
	cred, err := phone.CreateCredential(device.AliroCredentialConfig{Group: group, ReaderKey: readerKey.PublicKey()})
	if err != nil {
		panic(err)
	}
	_, err = lock.SetCredential(vehicle.DataOperationAdd, vehicle.AliroCredential{Type: vehicle.AliroNonEvictableEndpointKey, Index: 1}, cred.PublicKey.Bytes(), 1)
	if err != nil {
		panic(err)
	}
	card := transporttest.NewCard(transport.NewChainingCard(phone))
	for range 2 {
		res, err := lock.Transact(context.Background(), card, vehicle.AliroActionUnlock)
		fmt.Println(res.Granted, res.Fast, res.User, err)
	}
	// Output:
	// true false 1 <nil>
	// true true 1 <nil>
}
