package main

import (
	"log"
	"os"
)

// Example runs the program: time sync, an unlock tunnelled over BLE, and
// remote keyless entry for the trunk. Keys are random; the output is not.
func Example() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// vehicle: GATT service 0000fff5-0000-1000-8000-00805f9b34fb, SPSM 0x0081
	// phone: connected to the DK channel
	// vehicle: Time_Sync: device event 1, UWB clock 5000000 µs, max 20 ppm
	// vehicle: unlock over BLE, standard transaction, owner key, control flow 0100 (success)
	// phone: vehicle says 00 (deselect SE); the user taps "unlock trunk"
	// vehicle: RKE request 0110 (trunk (manual)): activate from the owner key, challenge sent
	// phone: challenge for 0110 (trunk (manual)): activate signed with the endpoint key
	// vehicle: signature verified, trunk released for the key with unlock|lock|trunk|engine-start|share|manage
	// vehicle: the same answer again: ble: RKE challenge already used
	// phone: vehicle status 0110 (trunk (manual)): activate: 00 (executed successfully)
	// vehicle: link closed by the phone
}
