package vehicle_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// A test bench watches the reader through its hooks and keeps the session
// keys in a key log, with which dkey trace decode -keylog decrypts a
// recorded trace. Never set KeyLog in a vehicle.
func ExampleHooks() {
	var keyLog bytes.Buffer
	hooks := &vehicle.Hooks{
		FastMiss: func(i vehicle.FastMissInfo) { fmt.Printf("%v: fast cryptogram matched no key\n", i.Action) },
		KeyRefused: func(i vehicle.KeyRefusedInfo) {
			fmt.Printf("%v refused: %v\n", i.Action, i.Reason)
		},
		TransactionDone: func(i vehicle.TransactionDoneInfo) {
			fmt.Printf("%v: fast %v, %v\n", i.Result.Action, i.Result.Fast, i.Result.ControlFlow)
		},
	}
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	r, _ := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk, Hooks: hooks, KeyLog: &keyLog})
	phone, _ := device.NewApplet(nil)
	key, _ := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey()})
	_ = r.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}})
	card := transporttest.NewCard(phone)
	for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionUnlock, dkey.ActionLock} {
		r.Transact(context.Background(), card, a)
	}
	fmt.Println("key log lines:", strings.Count(keyLog.String(), "\n"))
	// Output:
	// unlock: fast false, 0100 (success)
	// unlock: fast true, 0100 (success)
	// lock refused: dkey: action not allowed by the access profile
	// lock: fast true, 0000 (failure)
	// key log lines: 11
}
