// Command home runs Apple Home Key transactions in memory: one home, two
// locks of one reader group (each with its own reader identifier), one
// phone key for the whole home. The first lock does not know the phone's
// key and learns it from the attestation document a home member's issuer
// signed; then come standard and fast transactions at both locks. It
// prints each step.
//
//	go run ./examples/home
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `Apple Home Key for a home, in memory: two locks of one reader group and one phone key; the first
lock learns the key from its attestation document, then standard and fast transactions at both.
It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: home\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "home:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	// The home: one reader key, which the home's controller gives every
	// lock (in the lock's secure element), and the reader group identifier
	// it names.
	readerKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return err
	}
	scalar, err := readerKey.Bytes()
	if err != nil {
		return err
	}
	group := vehicle.HomeKeyGroupID(scalar)
	// A home member's HomeKit identity, which issues the attestation
	// documents of the devices the member invites.
	issuer, err := mdoc.NewIssuer(mdoc.HomeKey)
	if err != nil {
		return err
	}

	// Two locks: the group, then each lock's own 8 bytes.
	var locks []*vehicle.Reader
	for _, name := range []string{"FRONTDOR", "BACKDOOR"} {
		id, err := dkey.NewVehicleID(append(group[:], name...))
		if err != nil {
			return err
		}
		lock, err := vehicle.NewReader(&vehicle.Config{Profile: dkey.HomeKey, VehicleID: id, Key: readerKey})
		if err != nil {
			return err
		}
		locks = append(locks, lock)
	}
	front, back := locks[0], locks[1]
	// The front door trusts the member's issuer.
	if err := front.EnrollIssuer(issuer.Key()); err != nil {
		return err
	}
	fmt.Fprintln(w, "home: one reader group, two locks (front door, back door); the front door trusts one issuer")

	// The phone: one key for the home's reader group, and its attestation
	// document, which the owner's device gets from the issuer and
	// provisions into the applet.
	phone, err := device.NewApplet(&device.Config{Profile: dkey.HomeKey})
	if err != nil {
		return err
	}
	gid, err := dkey.NewVehicleID(group[:])
	if err != nil {
		return err
	}
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: gid, VehicleKey: front.PublicKey()})
	if err != nil {
		return err
	}
	now := time.Now()
	doc, err := issuer.Issue(mdoc.HomeKeyCredential(key.PublicKey, []byte("member-0001"), now.Add(-time.Hour), now.AddDate(1, 0, 0)))
	if err != nil {
		return err
	}
	if err := phone.ProvisionHomeKeyDocument(gid, doc); err != nil {
		return err
	}
	fmt.Fprintln(w, "phone: one key for the reader group, with its attestation document")

	nfc := transporttest.NewCard(phone)
	tap := func(where string, lock *vehicle.Reader, action dkey.Action) error {
		res, err := lock.Transact(context.Background(), nfc, action)
		if err != nil {
			return fmt.Errorf("%s, %v: %w", where, action, err)
		}
		kind := "standard"
		switch {
		case res.Attested:
			kind = "attestation"
		case res.Fast:
			kind = "fast"
		}
		same := "another key"
		if res.Slot == key.Slot {
			same = "the phone's key"
		}
		fmt.Fprintf(w, "%-10s %-19s %-11s %s, control flow %v\n", where, action, kind, same, res.ControlFlow)
		return nil
	}

	// The front door learns the key by attestation, then knows it.
	for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionLock, dkey.ActionUserAuthentication} {
		if err := tap("front door", front, a); err != nil {
			return err
		}
	}
	k := front.Keys()[0]
	fmt.Fprintf(w, "front door enrolled the key by attestation: issuer is the member's %t, fast next time %t\n", k.Issuer == issuer.Key().ID(), k.HasPersistent)

	// The back door gets the key from the home's controller (it could
	// learn it by attestation as well, with the issuer enrolled).
	if err := back.Enroll(vehicle.Enrollment{PublicKey: k.PublicKey, Slot: k.Slot, Profile: k.Profile}); err != nil {
		return err
	}
	fmt.Fprintln(w, "back door: the home's controller enrolled the same key")
	for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionUnlock, dkey.ActionUserAuthentication} {
		if err := tap("back door", back, a); err != nil {
			return err
		}
	}
	// The phone keeps a Kpersistent per lock: the front door is still fast.
	if err := tap("front door", front, dkey.ActionUnlock); err != nil {
		return err
	}
	fmt.Fprintf(w, "phone: one key, fast at %d locks\n", len(phone.HomeKeyReaders(gid)))
	return nil
}
