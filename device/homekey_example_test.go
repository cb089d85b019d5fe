package device_test

import (
	"fmt"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
)

// In the Home Key profile one key serves every lock of a home: it is named
// by the home's reader group identifier (or any lock's 16-byte reader
// identifier, whose first 8 bytes are the group), and holds the
// attestation document the owner's device provisions for it.
func ExampleApplet_ProvisionHomeKeyDocument() {
	phone, _ := device.NewApplet(&device.Config{Profile: dkey.HomeKey})
	readerKey, _ := dkey.GenerateSoftwareKey() // the home's reader key
	group, _ := dkey.NewVehicleID([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	key, _ := phone.CreateKey(device.KeyConfig{VehicleID: group, VehicleKey: readerKey.PublicKey()})

	issuer, _ := mdoc.NewIssuer(mdoc.HomeKey) // a home member's HomeKit identity
	doc, _ := issuer.Issue(mdoc.HomeKeyCredential(key.PublicKey, []byte("member"), time.Now(), time.Now().AddDate(1, 0, 0)))
	if err := phone.ProvisionHomeKeyDocument(group, doc); err != nil {
		fmt.Println(err)
		return
	}
	backDoor, _ := dkey.NewVehicleID([]byte{1, 2, 3, 4, 5, 6, 7, 8, 'B', 'A', 'C', 'K', 'D', 'O', 'O', 'R'})
	k, ok := phone.Key(backDoor)
	fmt.Println("the back door's identifier names the key:", ok && k.Slot == key.Slot)
	_, ok = phone.HomeKeyDocument(backDoor)
	fmt.Println("with its document:", ok)

	// A document for another key is refused.
	other, _ := dkey.GenerateSoftwareKey()
	wrong, _ := issuer.Issue(mdoc.HomeKeyCredential(other.PublicKey(), []byte("member"), time.Now(), time.Now().AddDate(1, 0, 0)))
	fmt.Println(phone.ProvisionHomeKeyDocument(group, wrong))
	// Output:
	// the back door's identifier names the key: true
	// with its document: true
	// device: the attestation document does not bind this key: it binds another device key
}
