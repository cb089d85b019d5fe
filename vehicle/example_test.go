package vehicle_test

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// A reader keeps its state in a store (here in memory; store/bolt keeps
// it in a file), sealed under a key-encryption key. After a restart it
// still knows the phone's key and its Kpersistent: the first unlock is
// fast.
func ExampleNewReader_store() {
	kekBytes := make([]byte, 32)
	rand.Read(kekBytes)
	kek, _ := vehicle.SoftwareKEK(kekBytes) // a vehicle keeps it in its HSM
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	st := store.NewMemory()

	r, _ := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk, Store: st, KEK: kek})
	phone, _ := device.NewApplet(nil)
	key, _ := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey()})
	_ = r.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile()})
	card := transporttest.NewCard(phone)
	res, _ := r.Transact(context.Background(), card, dkey.ActionUnlock)
	fmt.Println("before the restart: fast", res.Fast)
	r.Close()

	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk, Store: st.Reopen(), KEK: kek})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	res, _ = r.Transact(context.Background(), card, dkey.ActionUnlock)
	fmt.Println("after the restart: fast", res.Fast, "keys", len(r.Keys()))
	// Output:
	// before the restart: fast false
	// after the restart: fast true keys 1
}
