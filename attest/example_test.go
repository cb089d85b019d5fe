package attest_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
)

// Example shows the owner's endpoint attesting a friend's key and the
// vehicle verifying the attestation at the friend's first transaction.
func Example() {
	owner, err := dkey.GenerateSoftwareKey() // in a real phone: the owner key in the secure element
	if err != nil {
		log.Fatal(err)
	}
	friend, err := dkey.GenerateSoftwareKey()
	if err != nil {
		log.Fatal(err)
	}
	vehicle, _ := dkey.NewVehicleID([]byte("VIN00001"))
	ownerSlot, _ := dkey.NewKeySlot([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	friendSlot, _ := dkey.NewKeySlot([]byte{0, 0, 0, 0, 0, 0, 0, 2})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// The owner shares an "Access only" key for one week.
	statement, err := (&attest.KeyAttestation{
		ID:         attest.NewID(),
		VehicleID:  vehicle,
		FriendKey:  friend.PublicKey(),
		FriendSlot: friendSlot,
		Profile:    dkey.AccessProfile{Entitlements: dkey.AccessOnly},
		NotBefore:  now,
		NotAfter:   now.AddDate(0, 0, 7),
		IssuedAt:   now,
		SignerSlot: ownerSlot,
	}).Sign(owner)
	if err != nil {
		log.Fatal(err)
	}

	// The vehicle knows the owner key it enrolled at pairing.
	opts := attest.VerifyOptions{
		Vehicle: vehicle,
		Signers: []attest.Signer{{Key: owner.PublicKey(), Slot: ownerSlot, Grant: dkey.OwnerProfile()}},
		Time:    func() time.Time { return now.Add(time.Hour) },
	}
	a, err := attest.VerifyKeyAttestation(statement, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("friend key:", a.FriendKey.Equal(friend.PublicKey()))
	fmt.Println("slot:", a.FriendSlot)
	fmt.Println("profile:", a.Profile)
	fmt.Println("engine start:", a.Profile.Allows(dkey.ActionEngineStart))

	// A week and a day later the attestation has expired.
	opts.Time = func() time.Time { return now.AddDate(0, 0, 8) }
	_, err = attest.VerifyKeyAttestation(statement, opts)
	fmt.Println(err, errors.Is(err, attest.ErrExpired))
	// Output:
	// friend key: true
	// slot: 0000000000000002
	// profile: unlock|lock|trunk
	// engine start: false
	// attest: validity: key attestation expired true
}

// ExampleSigner_CheckGrant shows the bound on re-sharing: a friend key
// entitled to share, valid for an hour, may grant a key within that hour
// and within its own profile, and nothing longer.
func ExampleSigner_CheckGrant() {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	friend := attest.Signer{
		Grant:     dkey.AccessProfile{Entitlements: dkey.AccessOnly | dkey.EntitleShare},
		NotBefore: start,
		NotAfter:  start.Add(time.Hour - time.Second), // the last valid second
	}
	unlock := dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}
	fmt.Println(friend.CheckGrant(unlock, start, start.Add(30*time.Minute)))
	fmt.Println(friend.CheckGrant(unlock, start, start.AddDate(10, 0, 0)))
	fmt.Println(friend.CheckGrant(dkey.OwnerProfile(), start, start.Add(30*time.Minute)))
	// Output:
	// <nil>
	// attest: validity window outside the signer's own
	// attest: access profile exceeds the signer's own
}
