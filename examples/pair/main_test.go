package main

import (
	"log"
	"os"
)

// Example runs the program: pairing, transactions, and a wrong code on a
// second vehicle. Keys and certificates are random; the output is not.
func Example() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// vehicle OEM: pairing code for VIN00001 issued, verifier installed (scrypt N=32768 r=8 p=1)
	// owner: pairing code typed into the phone
	// pairing: owner key enrolled; first transaction standard, control flow 0181 (pairing complete)
	// vehicle: owner key, immobilizer token provisioned: true
	// phone: owner key for VIN00001
	// unlock       fast     owner key, control flow 0100 (success)
	// engine start standard owner key, control flow 0100 (success)
	// lock         fast     owner key, control flow 0100 (success)
	// VIN00002 with a wrong code: pairing: wrong pairing password or tampered exchange (6 attempts left)
	// VIN00002 keys: 0; phone keys: 1; attempts left: 6
}
