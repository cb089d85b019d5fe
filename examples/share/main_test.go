package main

import (
	"log"
	"os"
)

// Example runs the program: pairing, sharing through the relay, the
// friend's taps, the owner's revocation. Keys and certificates are random;
// the output is not.
func Example() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// owner: paired, first transaction control flow 0181 (pairing complete)
	// owner: invitation offering unlock|lock, max 80 km/h sealed to a link; the relay holds a mailbox it cannot open
	// friend: invitation opened for VIN00001: unlock|lock, max 80 km/h
	// friend: key created in the secure element, signing request sent
	// owner: friend's key certified by Device OEM Root, key attestation signed
	// friend: key attestation imported, key active
	// friend unlock:        standard, first friend transaction, friend key enrolled (unlock|lock, max 80 km/h), control flow 4082 (delete attestation)
	// friend engine start:  refused, not entitled, control flow 0000 (failure)
	// friend lock:          fast, friend key (unlock|lock, max 80 km/h), control flow 0100 (success)
	// vehicle dashboard: friend (unlock|lock, max 80 km/h); owner (unlock|lock|trunk|engine-start|share|manage)
	// owner: friend's key revoked on the phone, termination queued for the vehicle
	// owner  engine start:  standard, owner key (unlock|lock|trunk|engine-start|share|manage), control flow 4082 (delete attestation)
	// vehicle: termination attestation: accepted true
	// vehicle dashboard: owner (unlock|lock|trunk|engine-start|share|manage)
	// friend unlock:        refused, key terminated, control flow 00A0 (key deleted)
	// friend: key suspended, deleted by the vehicle: true
}
