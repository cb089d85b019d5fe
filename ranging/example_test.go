package ranging_test

import (
	"fmt"
	"time"

	"github.com/opencarkey/sdk/ranging"
)

// Example runs the ranging setup of docs/protocol.md §8.4 between a vehicle and a
// device in memory. Both hold the URSK of the standard transaction whose
// transaction identifier ends in 0BADCAFE.
func Example() {
	txid := []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0b\xad\xca\xfe")
	id, _ := ranging.SessionIDFromTransaction(txid)
	var ursk ranging.URSK // from the transaction: Volatile[48:80]
	vkeys, _ := ranging.NewMemoryKeyStore(4, 12*time.Hour, nil)
	dkeys, _ := ranging.NewMemoryKeyStore(4, 12*time.Hour, nil)
	_ = vkeys.Put(id, &ursk)
	_ = dkeys.Put(id, &ursk)

	vehicle, _ := ranging.NewVehicle(&ranging.VehicleConfig{Responders: 4, Keys: vkeys})
	device, _ := ranging.NewDevice(&ranging.DeviceConfig{Keys: dkeys})

	mid, msg, err := vehicle.Start(nil, id)
	for err == nil && mid != 0 {
		fmt.Println(mid)
		if mid, msg, err = device.Handle(nil, mid, msg); err != nil {
			break
		}
		fmt.Println(mid)
		mid, msg, err = vehicle.Handle(nil, mid, msg)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	p := vehicle.Session().Params()
	fmt.Printf("session %v: %v, RAN %d (%v blocks), %d chaps per slot, %d slots for %d responders, hopping %v, SYNC code %d\n",
		p.SessionID, p.Channel, p.RANMultiplier, p.BlockDuration(), p.ChapsPerSlot, p.SlotsPerRound, p.Responders, p.Hopping, p.SyncCode)
	fmt.Println(vehicle.Session().State(), device.Session().Params() == p)
	// Output:
	// Ranging_Capability_RQ
	// Ranging_Capability_RS
	// Ranging_Session_RQ
	// Ranging_Session_RS
	// Ranging_Session_Setup_RQ
	// Ranging_Session_Setup_RS
	// session 0badcafe: ch9, RAN 1 (96ms blocks), 3 chaps per slot, 8 slots for 4 responders, hopping continuous+default, SYNC code 9
	// established true
}

// ExampleKeySchedule derives the keys of a ranging round.
func ExampleKeySchedule() {
	var ursk ranging.URSK
	ks, _ := ranging.NewKeySchedule(&ursk, ranging.SaltProjectKDF)
	defer ks.Close()
	p := &ranging.SessionParams{
		Version: 0x0100, ConfigID: ranging.ConfigID1, PulseShape: 0x12, Channel: ranging.Channel9,
		RANMultiplier: 2, ChapsPerSlot: 6, Responders: 4, SlotsPerRound: 8,
		Hopping: ranging.HoppingNone, SyncCode: 9, STSIndex0: 1000,
	}
	if err := ks.Setup(p); err != nil {
		fmt.Println(err)
		return
	}
	var keys ranging.RoundKeys
	_ = ks.RoundKeys(p.STSIndex0, &keys)
	fmt.Println(keys.DURSK) // keys print redacted
	// Output:
	// ranging.Key128(redacted)
}
