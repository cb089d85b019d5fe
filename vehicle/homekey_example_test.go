package vehicle_test

import (
	"context"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// A Home Key lock that trusts a home member's issuer learns a phone's key
// from its attestation document at the first tap, and takes the next tap
// fast.
func ExampleReader_EnrollIssuer() {
	readerKey, _ := dkey.GenerateSoftwareKey() // the home's reader key
	scalar, _ := readerKey.Bytes()
	group := vehicle.HomeKeyGroupID(scalar)
	lockID, _ := dkey.NewVehicleID(append(group[:], "FRONTDOR"...))
	lock, _ := vehicle.NewReader(&vehicle.Config{Profile: dkey.HomeKey, VehicleID: lockID, Key: readerKey})
	issuer, _ := mdoc.NewIssuer(mdoc.HomeKey) // a member's HomeKit identity
	_ = lock.EnrollIssuer(issuer.Key())

	// The phone: a key for the home, and the document the member issued.
	phone, _ := device.NewApplet(&device.Config{Profile: dkey.HomeKey})
	gid, _ := dkey.NewVehicleID(group[:])
	key, _ := phone.CreateKey(device.KeyConfig{VehicleID: gid, VehicleKey: readerKey.PublicKey()})
	doc, _ := issuer.Issue(mdoc.HomeKeyCredential(key.PublicKey, []byte("member"), time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)))
	_ = phone.ProvisionHomeKeyDocument(gid, doc)

	card := transporttest.NewCard(phone)
	for range 2 {
		res, err := lock.Transact(context.Background(), card, dkey.ActionUnlock)
		fmt.Println("attested", res.Attested, "fast", res.Fast, "error", err)
	}
	fmt.Println("issuer of the enrolled key is the member's:", lock.Keys()[0].Issuer == issuer.Key().ID())
	// Output:
	// attested true fast false error <nil>
	// attested false fast true error <nil>
	// issuer of the enrolled key is the member's: true
}
