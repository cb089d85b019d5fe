package sharing_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/cert/certtest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// An invitation may require an activation code, which the owner gives the
// friend by another channel than the link. The invitation opens with any
// code of the right shape (without one, ErrCodeRequired): the friend's
// signing request is bound to the code, and only the owner's device can
// tell whether it is the right one, online, when the answer reaches it. A
// wrong code fails there with the one opaque ErrDecrypt and counts against
// MaxCodeAttempts; the friend answers anew with the right one.
func ExampleOffer_activationCode() {
	pki := must(certtest.New())
	instCert, instKey := must2(pki.InstanceCA("friend"))
	vid := must(dkey.NewVehicleID([]byte("VIN00001")))
	vehicleKey := must(dkey.GenerateSoftwareKey())
	ownerKey := must(dkey.GenerateSoftwareKey()) // the owner key, in the owner's secure element
	link := must(sharing.NewLink())
	owner, invitation, err := sharing.Invite(&sharing.OwnerConfig{
		Vehicle: vid, VehicleKey: vehicleKey.PublicKey(), Key: ownerKey, Slot: must(dkey.NewKeySlot([]byte("owner001"))),
		Certificates: &cert.Config{DeviceRoots: pki.DeviceRoots()},
	}, &sharing.Offer{
		Profile:        dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter:       time.Now().Add(7 * 24 * time.Hour),
		ActivationCode: "2718-2818", // an owner's app draws it with NewActivationCode
	}, must(link.Key()).PublicKey())
	if err != nil {
		panic(err)
	}

	received := must(link.Key()) // the friend's, from the link's fragment
	_, err = sharing.OpenInvitation(nil, received, "", invitation)
	fmt.Println("without a code: ErrCodeRequired", errors.Is(err, sharing.ErrCodeRequired))
	for _, code := range []string{"3141-5926", "2718-2818"} {
		friend := must(sharing.OpenInvitation(nil, received, code, invitation))
		answer := must(friend.SigningRequest(&exampleDevice{instKey, instCert}))
		req, err := owner.ReadSigningRequest(answer)
		if err != nil {
			fmt.Printf("answer with %s: refused by the owner's device, ErrDecrypt %v\n", code, errors.Is(err, sharing.ErrDecrypt))
			continue
		}
		fmt.Printf("answer with %s: accepted, a friend key for %s\n", code, req.Endpoint.Extension.VehicleID.Bytes())
	}
	// Output:
	// without a code: ErrCodeRequired true
	// answer with 3141-5926: refused by the owner's device, ErrDecrypt true
	// answer with 2718-2818: accepted, a friend key for VIN00001
}

// must2 is must for two results.
func must2[T, U any](t T, u U, err error) (T, U) {
	if err != nil {
		panic(err)
	}
	return t, u
}

// The owner revokes a friend key: the owner's device signs a termination
// attestation (device.Applet.TerminateShared queues it in the owner key's
// statement area), and the vehicle verifies it against its enrolled keys,
// of which the signer must hold dkey.EntitleManage, and records the
// revocation for good: the friend's key attestation never admits the key
// again.
func ExampleVehicleIntake_ProcessTermination() {
	vid := must(dkey.NewVehicleID([]byte("VIN00001")))
	ownerKey, ownerSlot := must(dkey.GenerateSoftwareKey()), must(dkey.NewKeySlot([]byte("owner001")))
	friendKey, friendSlot := must(dkey.GenerateSoftwareKey()), must(dkey.NewKeySlot([]byte("friend01")))
	termination := &sharing.Termination{Vehicle: vid, Slot: friendSlot, Key: friendKey.PublicKey()}
	statement, _, err := termination.Sign(ownerKey, ownerSlot)
	if err != nil {
		panic(err)
	}

	v := must(sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: vid}))
	// A signer without the manage entitlement may not terminate others.
	limited := []attest.Signer{{Key: ownerKey.PublicKey(), Slot: ownerSlot, Grant: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}}}
	_, err = v.ProcessTermination(statement, limited)
	var ve *sharing.VehicleError
	fmt.Println("signed by a key that may not manage: refused at the statement check", errors.As(err, &ve) && ve.Check == sharing.CheckStatement)

	owner := []attest.Signer{{Key: ownerKey.PublicKey(), Slot: ownerSlot, Grant: dkey.OwnerProfile()}}
	r, err := v.ProcessTermination(statement, owner)
	if err != nil {
		panic(err)
	}
	fmt.Println("revoked slot:", string(r.Slot.Bytes()))
	err = v.Revocations().Check(friendSlot, friendKey.PublicKey(), attest.ID{})
	fmt.Println("the friend key again:", errors.Is(err, sharing.ErrRevoked), errors.Is(err, dkey.ErrKeyTerminated))
	// Output:
	// signed by a key that may not manage: refused at the statement check true
	// revoked slot: friend01
	// the friend key again: true true
}
