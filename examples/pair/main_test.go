package main

import (
	"log"
	"os"
)

// Example runs the program: pairing, then a wrong and a right code on a
// second vehicle. Keys and certificates are random; the output is not.
func Example() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// vehicle OEM: pairing code for VIN00001 issued, verifier installed (scrypt N=32768 r=8 p=1)
	// owner: pairing code typed into the phone
	// pairing: owner key enrolled; first transaction standard, control flow 0181 (pairing complete)
	// vehicle: owner key (unlock|lock|trunk|engine-start|share|manage), immobilizer token provisioned: true
	// phone: owner key for VIN00001, 1 vehicle certificate(s) kept, fast transaction ready: true
	// VIN00002: verifier installed, attempts left: 7
	// VIN00002, code 314158: pairing: wrong pairing password or tampered exchange (6 attempts left); vehicle keys: 0, phone keys: 1, attempts left: 6
	// VIN00002, code 314159: paired, the verifier used up; vehicle keys: 1, phone keys: 2, attempts left: 0
}
