package device_test

import (
	"crypto/rand"
	"fmt"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/store"
)

// An applet keeps its state in a store (here in memory; store/bolt keeps
// it in a file), its keys and secrets in a StoredElement beside it, all
// sealed under a key-encryption key. A restarted applet has its keys, and
// a wrong key-encryption key opens nothing.
func ExampleNewApplet_store() {
	kekBytes := make([]byte, 32)
	rand.Read(kekBytes)
	kek, _ := device.SoftwareKEK(kekBytes) // a phone keeps it in its secure element
	st := store.NewMemory()
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))

	a, _ := device.NewApplet(&device.Config{Store: st, KEK: kek})
	_, _ = a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey(), PowerReserve: true})
	_ = a.SetLostMode(true)
	a.Close()

	a, _ = device.NewApplet(&device.Config{Store: st.Reopen(), KEK: kek})
	info, _ := a.Key(vid)
	fmt.Println("power reserve:", info.PowerReserve, "lost mode:", a.LostMode())
	a.Close()

	other, _ := device.SoftwareKEK(make([]byte, 32))
	_, err := device.NewApplet(&device.Config{Store: st.Reopen(), KEK: other})
	fmt.Println(err != nil)
	// Output:
	// power reserve: true lost mode: true
	// true
}
