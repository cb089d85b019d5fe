package device_test

import (
	"fmt"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
)

// A wallet's Aliro applet holding an Access Credential for a reader
// group: its key slot is the first 8 bytes of SHA-1 over its public key,
// and it announces its mailbox to the readers of the group.
func ExampleAliroApplet() {
	a, err := device.NewAliroApplet(nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()
	readerKey, _ := dkey.GenerateSoftwareKey()
	var group dkey.ReaderGroupID
	copy(group[:], "front door group")
	info, err := a.CreateCredential(device.AliroCredentialConfig{Group: group, ReaderKey: readerKey.PublicKey(), MailboxSize: 64})
	if err != nil {
		panic(err)
	}
	slot, _ := dkey.Aliro.DerivedKeySlot(info.PublicKey)
	fmt.Println(info.KeySlot == slot, info.KeySlot.Len(), info.Express, info.Status.Signaling)
	// Output: true 8 true 48
}
