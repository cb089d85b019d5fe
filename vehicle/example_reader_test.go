package vehicle_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/cert/certtest"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// check stops an example on an error it does not expect.
func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// A key enrolled directly (owner pairing enrolls one too, see
// ExampleReader_Pair) with an immobilizer token and a profile that unlocks
// and starts the engine but does not lock: its first unlock is a standard
// transaction, which writes the token; the next unlock is fast, from the
// Kpersistent the standard one left; engine start always takes a standard
// transaction and checks the token; a lock is refused.
func ExampleReader_Transact() {
	vehicleKey, err := dkey.GenerateSoftwareKey() // in the vehicle's HSM
	check(err)
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	check(err)
	car, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey})
	check(err)
	phone, err := device.NewApplet(nil)
	check(err)
	mailboxes := dkey.MailboxConfig{PrivateSize: 64, ConfidentialSize: 32}
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: car.PublicKey(), Mailboxes: mailboxes})
	check(err)
	check(car.Enroll(vehicle.Enrollment{
		PublicKey: key.PublicKey, Slot: key.Slot, Mailboxes: mailboxes, ImmobilizerToken: []byte("immobilizer-token"),
		Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleEngineStart},
	}))

	nfc := transporttest.NewCard(phone) // the phone in the reader's field
	for _, action := range []dkey.Action{dkey.ActionUnlock, dkey.ActionUnlock, dkey.ActionEngineStart, dkey.ActionLock} {
		res, err := car.Transact(context.Background(), nfc, action)
		fmt.Printf("%-12v fast %-5v %v key, control flow %v, error: %v\n", action, res.Fast, res.Role, res.ControlFlow, err)
	}
	fmt.Println("immobilizer token provisioned:", car.Keys()[0].TokenProvisioned)
	// Output:
	// unlock       fast false owner key, control flow 0100 (success), error: <nil>
	// unlock       fast true  owner key, control flow 0100 (success), error: <nil>
	// engine start fast false owner key, control flow 0100 (success), error: <nil>
	// lock         fast true  owner key, control flow 0000 (failure), error: dkey: action not allowed by the access profile: lock
	// immobilizer token provisioned: true
}

// Owner pairing (docs/protocol.md §3): the automaker's server installs the
// verifier of the pairing code it gives the owner; the owner types the code
// into the phone (device.Applet.StartPairing) and holds it to the console
// reader, and Pair runs SPAKE2+ and the certificate exchange. A wrong code
// spends one attempt and enrolls nothing; the right one enrolls the owner
// key, and the first standard transaction provisions its immobilizer token.
// The phone keeps the vehicle's certificates.
func ExampleReader_Pair() {
	pki, err := certtest.New() // the Device OEM and Vehicle OEM roots
	check(err)
	vehicleCert, vehicleKey, err := pki.Vehicle("VIN00001")
	check(err)
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	check(err)
	car, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey, Pairing: &vehicle.PairingConfig{
		VehicleRoot: pki.VehicleRoot.Raw, Certificates: [][]byte{vehicleCert.Raw}, DeviceRoots: pki.DeviceRoots(),
	}})
	check(err)
	ca, caKey, err := pki.InstanceCA("phone")
	check(err)
	phone, err := device.NewApplet(&device.Config{Pairing: &pairing.DeviceConfig{InstanceCA: ca, InstanceCAKey: caKey}})
	check(err)
	// Certificates are longer than a short APDU: the reader chains
	// commands, the phone answers long responses through GET RESPONSE.
	nfc := transporttest.NewCard(transport.NewChainingCard(phone))

	salt := make([]byte, pairing.SaltSize)
	rand.Read(salt)
	verifier, err := pairing.NewVerifier([]byte("271828"), salt, pairing.DefaultScryptParams())
	check(err)
	check(car.InstallVerifier(verifier))
	fmt.Println("attempts:", car.PairingAttempts())
	for _, code := range []string{"314159", "271828"} {
		check(phone.StartPairing([]byte(code)))
		res, err := car.Pair(context.Background(), nfc)
		if err != nil {
			fmt.Printf("code %s: %v; keys enrolled: %d\n", code, err, len(car.Keys()))
			continue
		}
		first := res.FirstTransaction
		fmt.Printf("code %s: %v key enrolled, first transaction control flow %v, token provisioned: %v\n",
			code, first.Role, first.ControlFlow, car.Keys()[0].TokenProvisioned)
	}
	info, _ := phone.Pairing(vid)
	fmt.Printf("the phone keeps %d vehicle certificate(s) and the Vehicle OEM root: %v\n", len(info.VehicleCertificates), string(info.VehicleRoot) == string(pki.VehicleRoot.Raw))
	// Output:
	// attempts: 7
	// code 314159: pairing: wrong pairing password or tampered exchange (6 attempts left); keys enrolled: 0
	// code 271828: owner key enrolled, first transaction control flow 0181 (pairing complete), token provisioned: true
	// the phone keeps 1 vehicle certificate(s) and the Vehicle OEM root: true
}

// A shared key reaches the vehicle at its first transaction (docs/protocol.md
// §6.4): the friend's phone holds the key attestation the owner's phone
// signed, the vehicle admits the key from it, enrolls it with its profile
// and ends with CONTROL FLOW 4082, on which the phone clears the
// attestation. From then on the profile holds: the next lock is fast, the
// engine start refused. (The invitation travels sealed end to end, through
// a relay or any messenger; examples/walkthrough has the whole story.)
func ExampleReader_Transact_firstFriend() {
	ctx := context.Background()
	pki, err := certtest.New()
	check(err)
	vehicleKey, err := dkey.GenerateSoftwareKey()
	check(err)
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	check(err)
	car, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey})
	check(err)

	// The owner's key, enrolled directly here, signs shares once the owner
	// authenticated on the phone.
	owner, err := device.NewApplet(nil)
	check(err)
	ownerKey, err := owner.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: car.PublicKey()})
	check(err)
	check(car.Enroll(vehicle.Enrollment{PublicKey: ownerKey.PublicKey, Slot: ownerKey.Slot, Profile: dkey.OwnerProfile()}))
	owner.AuthenticateUser(time.Now().Add(time.Minute))
	signer, slot, err := owner.SharingSigner(vid)
	check(err)

	// The friend's phone, whose applet instance the Device OEM certifies.
	ca, caKey, err := pki.InstanceCA("friend")
	check(err)
	friend, err := device.NewApplet(&device.Config{InstanceCA: &device.InstanceCA{Certificate: ca, Key: caKey}})
	check(err)

	// The share: the invitation, the friend's new key and signing request,
	// the owner's key attestation, its import.
	offer := &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80}, NotAfter: time.Now().Add(24 * time.Hour)}
	link, err := sharing.NewLink()
	check(err)
	linkKey, err := link.Key()
	check(err)
	session, invitation, err := sharing.Invite(&sharing.OwnerConfig{Vehicle: vid, VehicleKey: car.PublicKey(), Key: signer, Slot: slot,
		Certificates: &cert.Config{DeviceRoots: pki.DeviceRoots()}}, offer, linkKey.PublicKey())
	check(err)
	opened, err := sharing.OpenInvitation(nil, linkKey, "", invitation)
	check(err)
	request, err := opened.SigningRequest(friend)
	check(err)
	verified, err := session.ReadSigningRequest(request)
	check(err)
	issued, err := session.Sign(verified)
	check(err)
	imported, err := opened.Import(issued.Message)
	check(err)
	check(friend.ImportSharedKey(imported))

	nfc := transporttest.NewCard(transport.NewChainingCard(friend))
	for _, action := range []dkey.Action{dkey.ActionUnlock, dkey.ActionLock, dkey.ActionEngineStart} {
		res, err := car.Transact(ctx, nfc, action)
		fmt.Printf("%-12v first friend %-5v fast %-5v %v key (%v), control flow %v, error: %v\n",
			action, res.FirstFriend, res.Fast, res.Role, res.Profile, res.ControlFlow, err)
	}
	// Output:
	// unlock       first friend true  fast false friend key (unlock|lock, max 80 km/h), control flow 4082 (delete attestation), error: <nil>
	// lock         first friend false fast true  friend key (unlock|lock, max 80 km/h), control flow 0100 (success), error: <nil>
	// engine start first friend false fast false friend key (unlock|lock, max 80 km/h), control flow 0000 (failure), error: dkey: action not allowed by the access profile: engine start
}
