// Command aliro-lock runs CSA Aliro in memory: a door lock configured as a
// Matter controller would configure it (SetAliroReaderConfig,
// SetCredential), and phones whose wallets hold Aliro credentials. Alice's
// key is set by the controller: her first unlock is a standard
// transaction, the next ones fast. Bob's key comes from the building's
// Credential Issuer: the lock learns it in the step-up phase from his
// access document, whose schedule opens the door on weekdays from 09:00
// to 17:00 UTC and refuses in the evening. Then the issuer revokes Bob's
// key: Carol's phone carries the revocation document, and the lock
// refuses Bob from then on. It prints each step.
//
//	go run ./examples/aliro-lock
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `CSA Aliro in memory: a door lock provisioned as a Matter controller would, standard then fast
unlocks, a key learned from a step-up access document whose schedule refuses outside its window,
and a revocation. It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: aliro-lock\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "aliro-lock:", err)
		os.Exit(1)
	}
}

// clock is the simulated time the lock and the phones share.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// phone is a phone's Aliro applet behind the NFC field.
type phone struct {
	name   string
	applet *device.AliroApplet
	card   transport.Transceiver
	key    *dkey.PublicKey
}

func run(w io.Writer) error {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)} // a Monday
	var group dkey.ReaderGroupID
	copy(group[:], "ACME HQ doors   ")

	// The controller configures the lock (Matter Door Lock cluster,
	// SetAliroReaderConfig): the reader key pair and the group.
	readerKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return err
	}
	signing, err := readerKey.Bytes()
	if err != nil {
		return err
	}
	lock, err := vehicle.NewAliroLock(&vehicle.AliroLockConfig{Time: clk.now})
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := lock.SetAliroReaderConfig(vehicle.AliroReaderConfig{
		SigningKey: signing, VerificationKey: readerKey.PublicKey().Bytes(), GroupIdentifier: group[:],
	}); err != nil {
		return err
	}
	attrs := lock.AliroAttributes()
	fmt.Fprintf(w, "controller: SetAliroReaderConfig, group %q, versions %x, %d endpoint keys\n",
		attrs.ReaderGroupIdentifier, attrs.ExpeditedVersions, attrs.EndpointKeysSupported)

	newPhone := func(name string) (*phone, error) {
		a, err := device.NewAliroApplet(&device.AliroConfig{Time: clk.now})
		if err != nil {
			return nil, err
		}
		// The wallet provisions a credential for the group, trusting the
		// lock's verification key (the cluster's attribute).
		vk, err := dkey.ParsePublicKey(attrs.ReaderVerificationKey)
		if err != nil {
			return nil, err
		}
		info, err := a.CreateCredential(device.AliroCredentialConfig{Group: group, ReaderKey: vk})
		if err != nil {
			return nil, err
		}
		return &phone{name: name, applet: a, card: transporttest.NewCard(transport.NewChainingCard(a)), key: info.PublicKey}, nil
	}
	tap := func(p *phone, a vehicle.AliroAction) error {
		res, err := lock.Transact(context.Background(), p.card, a)
		if err != nil && !errors.Is(err, vehicle.ErrAliroDenied) {
			return err
		}
		kind := "standard"
		switch {
		case res.Fast:
			kind = "fast"
		case res.StepUp:
			kind = "step-up"
		}
		verdict := "granted"
		if !res.Granted {
			verdict = "refused"
		}
		fmt.Fprintf(w, "%s %-8s %-6s %-8s %s, status %04X", clk.t.Format("Mon 15:04"), p.name, a, kind, verdict, uint16(res.Status))
		if res.Learned {
			fmt.Fprintf(w, ", key learned (%v %d, user %d)", res.Credential.Type, res.Credential.Index, res.User)
		}
		if res.Revocations > 0 {
			fmt.Fprintf(w, ", %d revocation applied", res.Revocations)
		}
		fmt.Fprintln(w)
		return nil
	}

	// Alice: the controller sets her key (SetCredential, a 65-byte P-256
	// key).
	alice, err := newPhone("Alice")
	if err != nil {
		return err
	}
	if _, err := lock.SetCredential(vehicle.DataOperationAdd, vehicle.AliroCredential{Type: vehicle.AliroNonEvictableEndpointKey, Index: 1}, alice.key.Bytes(), 1); err != nil {
		return err
	}
	fmt.Fprintln(w, "controller: SetCredential AliroNonEvictableEndpointKey 1 for Alice (user 1)")
	for _, a := range []vehicle.AliroAction{vehicle.AliroActionUnlock, vehicle.AliroActionUnlock, vehicle.AliroActionLock} {
		if err := tap(alice, a); err != nil {
			return err
		}
	}

	// The building's Credential Issuer: the controller sets its key; it
	// signs the employees' access documents.
	issuerKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return err
	}
	issuer, err := mdoc.NewP256Issuer(issuerKey)
	if err != nil {
		return err
	}
	if _, err := lock.SetCredential(vehicle.DataOperationAdd, vehicle.AliroCredential{Type: vehicle.AliroIssuerKey, Index: 1}, issuerKey.PublicKey().Bytes(), 2); err != nil {
		return err
	}
	fmt.Fprintln(w, "controller: SetCredential AliroCredentialIssuerKey 1 for the building's issuer (user 2)")
	officeHours := &mdoc.AccessData{
		Rules: []mdoc.AccessRule{{Capabilities: mdoc.CapabilityUnsecure, Allow: 1}, {Capabilities: mdoc.CapabilitySecure}},
		Schedules: []mdoc.Schedule{{
			Start:      uint32(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Unix()),
			Recurrence: &mdoc.Recurrence{Duration: 8 * 3600, Pattern: mdoc.RecurWeekly, Interval: 1, Mask: 0x1F},
			Flags:      mdoc.ScheduleFlagUTC,
		}},
	}
	issue := func(p *phone, docType string, value []byte) (*mdoc.Document, error) {
		return issuer.Issue(&mdoc.DocumentSpec{
			DocType: docType, DeviceKey: p.key, Signed: clk.t.Add(-time.Minute),
			Elements:  []mdoc.Element{{NameSpace: docType, Identifier: mdoc.AliroDefaultElement, Value: value}},
			ValidFrom: clk.t.Add(-time.Hour), ValidUntil: clk.t.AddDate(0, 6, 0),
		})
	}
	employee := func(name string) (*phone, error) {
		p, err := newPhone(name)
		if err != nil {
			return nil, err
		}
		a := *officeHours
		a.ID = []byte(name)
		v, err := a.Encode()
		if err != nil {
			return nil, err
		}
		doc, err := issue(p, mdoc.AliroAccessDocType, v)
		if err != nil {
			return nil, err
		}
		return p, p.applet.ProvisionAccessDocument(group, doc)
	}
	bob, err := employee("Bob")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "issuer: Bob's access document: unlock on weekdays 09:00-17:00 UTC, lock at any time")
	if err := tap(bob, vehicle.AliroActionUnlock); err != nil {
		return err
	}
	if err := tap(bob, vehicle.AliroActionUnlock); err != nil {
		return err
	}
	clk.t = time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC)
	if err := tap(bob, vehicle.AliroActionUnlock); err != nil {
		return err
	}
	if err := tap(bob, vehicle.AliroActionLock); err != nil {
		return err
	}

	// The issuer revokes Bob's key; Carol's phone carries the revocation
	// document to the lock.
	clk.t = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	carol, err := employee("Carol")
	if err != nil {
		return err
	}
	h := mdoc.RevocationKeyHash(bob.key)
	rd, err := (&mdoc.RevocationData{Entries: []mdoc.RevocationEntry{{KeyHash: h[:]}}}).Encode()
	if err != nil {
		return err
	}
	doc, err := issue(carol, mdoc.AliroRevocationDocType, rd)
	if err != nil {
		return err
	}
	if err := carol.applet.ProvisionRevocationDocument(group, doc); err != nil {
		return err
	}
	fmt.Fprintln(w, "issuer: revokes Bob's key; Carol's phone carries the revocation document")
	if err := tap(carol, vehicle.AliroActionUnlock); err != nil {
		return err
	}
	if err := tap(bob, vehicle.AliroActionUnlock); err != nil {
		return err
	}
	if err := tap(alice, vehicle.AliroActionUnlock); err != nil {
		return err
	}
	fmt.Fprintf(w, "lock: %d endpoint keys\n", len(lock.Endpoints()))
	return nil
}
