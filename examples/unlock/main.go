// Command unlock runs Digital Key transactions between a vehicle and a phone
// in memory: it provisions one owner key, unlocks with a standard
// transaction, unlocks again with a fast one, starts the engine, and prints
// each result.
//
//	go run ./examples/unlock
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `A vehicle and a phone in memory: an owner key, a standard unlock, a fast unlock and an engine start.
It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: unlock\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "unlock:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	// The vehicle: its long-term key (in its secure element) and identifier.
	vehicleKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return err
	}
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	if err != nil {
		return err
	}
	reader, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey})
	if err != nil {
		return err
	}

	// The phone: one Digital Key applet instance.
	phone, err := device.NewApplet(nil)
	if err != nil {
		return err
	}

	// Provision an owner key directly (owner pairing does this in
	// examples/pair): the phone creates the key in its secure element, the
	// vehicle enrolls its public key with an immobilizer token.
	mailboxes := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: reader.PublicKey(), Mailboxes: mailboxes})
	if err != nil {
		return err
	}
	err = reader.Enroll(vehicle.Enrollment{
		PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte("immobilizer-token"), Mailboxes: mailboxes,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "provisioned one owner key")

	// The phone in the field of the door-handle reader.
	nfc := transporttest.NewCard(phone)
	for _, action := range []dkey.Action{dkey.ActionUnlock, dkey.ActionUnlock, dkey.ActionEngineStart} {
		res, err := reader.Transact(context.Background(), nfc, action)
		if err != nil {
			return fmt.Errorf("%v: %w", action, err)
		}
		kind := "standard"
		if res.Fast {
			kind = "fast"
		}
		owner := ""
		if res.Slot == key.Slot && res.Role == dkey.RoleOwner {
			owner = "owner key, "
		}
		fmt.Fprintf(w, "%-12s %-8s %sprotocol %v, control flow %v\n", action, kind, owner, res.Version, res.ControlFlow)
	}
	return nil
}
