// Command share runs key sharing between two phones and a vehicle in
// memory: the owner pairs, shares an unlock-only key with a friend through
// the relay (an invitation sealed end to end to a link the friend receives
// by any messenger), the friend's first tap enrolls the key from its
// attestation, the friend unlocks but cannot start the engine, the owner
// revokes the key from the phone, and the friend's next tap fails.
//
//	go run ./examples/share
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `Key sharing in memory: the owner pairs, shares an unlock-only key through the relay with a sealed
invitation, the friend's first tap enrolls it, the friend unlocks but cannot start the engine, the
owner revokes it. It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: share\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "share:", err)
		os.Exit(1)
	}
}

// pki issues the demo certificates of one OEM: a root and the certificates
// it signs, valid from an hour ago for ten years.
type pki struct {
	root    *x509.Certificate
	rootKey crypto.Signer
}

func template(cn string) cert.Template {
	now := time.Now()
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0)}
}

func newKey() *dkey.SoftwareKey {
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		panic(err) // crypto/rand failed: nothing to demonstrate
	}
	return k
}

func newPKI(name string, root func(cert.Template, crypto.Signer) (*x509.Certificate, error)) (*pki, error) {
	p := &pki{rootKey: newKey()}
	var err error
	p.root, err = root(template(name), p.rootKey)
	return p, err
}

// newPhone returns a phone whose applet instance the Device OEM certifies
// (its instance CA certifies every key the phone creates), in the field of
// the reader behind a chaining layer: certificates and attestations are
// longer than a short APDU.
func newPhone(oem *pki, name string, pair bool) (*device.Applet, *transporttest.Card, error) {
	caKey := newKey() // in the phone's secure element
	ca, err := cert.NewInstanceCA(template(name+" instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}},
		caKey.PublicKey(), oem.root, oem.rootKey)
	if err != nil {
		return nil, nil, err
	}
	cfg := &device.Config{InstanceCA: &device.InstanceCA{Certificate: ca, Key: caKey}}
	if pair {
		cfg.Pairing = &pairing.DeviceConfig{}
	}
	a, err := device.NewApplet(cfg)
	if err != nil {
		return nil, nil, err
	}
	return a, transporttest.NewCard(transport.NewChainingCard(a)), nil
}

func run(w io.Writer) error {
	ctx := context.Background()
	deviceOEM, err := newPKI("Device OEM Root", cert.NewDeviceRoot)
	if err != nil {
		return err
	}
	vehicleOEM, err := newPKI("Vehicle OEM Root", cert.NewVehicleRoot)
	if err != nil {
		return err
	}
	deviceRoots := x509.NewCertPool()
	deviceRoots.AddCert(deviceOEM.root)

	// The vehicle, and the owner's and the friend's phones.
	vehicleKey := newKey()
	vc, err := cert.NewVehicle(template("Vehicle VIN00001"), vehicleKey.PublicKey(), vehicleOEM.root, vehicleOEM.rootKey)
	if err != nil {
		return err
	}
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	if err != nil {
		return err
	}
	car, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey, Pairing: &vehicle.PairingConfig{
		VehicleRoot: vehicleOEM.root.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: deviceRoots,
	}})
	if err != nil {
		return err
	}
	owner, ownerNFC, err := newPhone(deviceOEM, "owner", true)
	if err != nil {
		return err
	}
	friend, friendNFC, err := newPhone(deviceOEM, "friend", false)
	if err != nil {
		return err
	}

	// Owner pairing, as in examples/pair.
	salt := make([]byte, pairing.SaltSize)
	copy(salt, "demo-salt-VIN00001") // a real server draws it from crypto/rand
	verifier, err := pairing.NewVerifier([]byte("271828"), salt, pairing.DefaultScryptParams())
	if err != nil {
		return err
	}
	if err := car.InstallVerifier(verifier); err != nil {
		return err
	}
	if err := owner.StartPairing([]byte("271828")); err != nil {
		return err
	}
	paired, err := car.Pair(ctx, ownerNFC)
	if err != nil {
		return fmt.Errorf("pairing: %w", err)
	}
	fmt.Fprintf(w, "owner: paired, first transaction control flow %v\n", paired.FirstTransaction.ControlFlow)

	// The owner shares an unlock-only key for a week. The owner's device
	// signs with its key for the vehicle once the user authenticated.
	owner.AuthenticateUser(time.Now().Add(5 * time.Minute))
	ownerKey, ownerSlot, err := owner.SharingSigner(vid)
	if err != nil {
		return err
	}
	ownerInfo, _ := owner.Key(vid)
	pi, _ := owner.Pairing(vid)
	ownerCfg := &sharing.OwnerConfig{
		Vehicle: vid, VehicleKey: ownerInfo.VehicleKey, VehicleChain: pi.VehicleCertificates, VehicleRoot: pi.VehicleRoot,
		Key: ownerKey, Slot: ownerSlot, Certificates: &cert.Config{DeviceRoots: deviceRoots},
	}
	offer := &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter: time.Now().Add(7 * 24 * time.Hour),
	}
	link, err := sharing.NewLink()
	if err != nil {
		return err
	}
	linkKey, err := link.Key()
	if err != nil {
		return err
	}
	session, invitation, err := sharing.Invite(ownerCfg, offer, linkKey.PublicKey())
	if err != nil {
		return err
	}
	relay := sharing.NewMemoryRelay(nil)
	mbox, err := relay.CreateMailbox(ctx, &sharing.NewMailbox{Content: invitation, Expires: session.Invitation().Expires})
	if err != nil {
		return err
	}
	url := "https://relay.example/m/" + mbox.ID.String() + "#" + sharing.Fragment(link, mbox.Fetch)
	fmt.Fprintf(w, "owner: invitation offering %v sealed to a link; the relay holds a mailbox it cannot open\n", offer.Profile)

	// The friend opens the link from the messenger: the fragment never
	// reaches the relay.
	_, fragment, _ := strings.Cut(url, "#")
	friendLink, fetch, err := sharing.ParseFragment(fragment)
	if err != nil {
		return err
	}
	friendKey, err := friendLink.Key()
	if err != nil {
		return err
	}
	sealed, friendToken, err := relay.FetchInvitation(ctx, mbox.ID, fetch)
	if err != nil {
		return err
	}
	fs, err := sharing.OpenInvitation(nil, friendKey, "", sealed)
	if err != nil {
		return err
	}
	inv := fs.Invitation()
	fmt.Fprintf(w, "friend: invitation opened for %s: %v\n", inv.Vehicle.Bytes(), inv.Profile)
	ksr, err := fs.SigningRequest(friend)
	if err != nil {
		return err
	}
	if err := relay.UpdateMailbox(ctx, mbox.ID, friendToken, ksr); err != nil {
		return err
	}
	fmt.Fprintln(w, "friend: key created in the secure element, signing request sent")

	// The owner checks the friend's device and signs the key attestation.
	sealed, err = relay.ReadSecureContent(ctx, mbox.ID, mbox.Sender)
	if err != nil {
		return err
	}
	req, err := session.ReadSigningRequest(sealed)
	if err != nil {
		return err
	}
	issued, err := session.Sign(req)
	if err != nil {
		return err
	}
	if err := relay.UpdateMailbox(ctx, mbox.ID, mbox.Sender, issued.Message); err != nil {
		return err
	}
	fmt.Fprintf(w, "owner: friend's key certified by %s, key attestation signed\n", req.Endpoint.Chain[len(req.Endpoint.Chain)-1].Subject.CommonName)

	// The friend imports it; the relay mailbox goes.
	sealed, err = relay.ReadSecureContent(ctx, mbox.ID, friendToken)
	if err != nil {
		return err
	}
	imported, err := fs.Import(sealed)
	if err != nil {
		return err
	}
	if err := friend.ImportSharedKey(imported); err != nil {
		return err
	}
	if err := relay.DeleteMailbox(ctx, mbox.ID, friendToken); err != nil {
		return err
	}
	info, _ := friend.Key(vid)
	fmt.Fprintf(w, "friend: key attestation imported, key %v\n", info.State)

	// The friend taps: the vehicle enrolls the key from its attestation,
	// then enforces its profile.
	for _, action := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart, dkey.ActionLock} {
		res, err := car.Transact(ctx, friendNFC, action)
		fmt.Fprintf(w, "friend %-14s %s\n", action.String()+":", describe(res, err))
	}
	dashboard(w, car)

	// The owner revokes the key on the phone; the termination reaches the
	// vehicle at the owner's next drive.
	owner.AuthenticateUser(time.Now().Add(5 * time.Minute))
	if _, err := owner.TerminateShared(&sharing.Termination{Vehicle: vid, Slot: req.Slot, Key: req.Key}); err != nil {
		return err
	}
	fmt.Fprintln(w, "owner: friend's key revoked on the phone, termination queued for the vehicle")
	res, err := car.Transact(ctx, ownerNFC, dkey.ActionEngineStart)
	fmt.Fprintf(w, "owner  %-14s %s\n", "engine start:", describe(res, err))
	for _, s := range res.Statements {
		fmt.Fprintf(w, "vehicle: %v: accepted %v\n", s.Kind, s.Err == nil)
	}
	dashboard(w, car)

	res, err = car.Transact(ctx, friendNFC, dkey.ActionUnlock)
	fmt.Fprintf(w, "friend %-14s %s\n", "unlock:", describe(res, err))
	info, _ = friend.Key(vid)
	fmt.Fprintf(w, "friend: key %v, deleted by the vehicle: %v\n", info.State, info.VehicleDeleted)
	return nil
}

// describe summarises a transaction in words that do not depend on the
// random keys.
func describe(r vehicle.Result, err error) string {
	kind := "standard"
	if r.Fast {
		kind = "fast"
	}
	switch {
	case err == nil && r.FirstFriend:
		return fmt.Sprintf("%s, first friend transaction, %v key enrolled (%v), control flow %v", kind, r.Role, r.Profile, r.ControlFlow)
	case err == nil:
		return fmt.Sprintf("%s, %v key (%v), control flow %v", kind, r.Role, r.Profile, r.ControlFlow)
	case errors.Is(err, dkey.ErrNotEntitled):
		return fmt.Sprintf("refused, not entitled, control flow %v", r.ControlFlow)
	case errors.Is(err, dkey.ErrKeyTerminated):
		return fmt.Sprintf("refused, key terminated, control flow %v", r.ControlFlow)
	}
	return fmt.Sprintf("failed: %v", err)
}

func dashboard(w io.Writer, r *vehicle.Reader) {
	var keys []string
	for _, k := range r.Keys() {
		keys = append(keys, fmt.Sprintf("%v (%v)", k.Role, k.Profile))
	}
	fmt.Fprintf(w, "vehicle dashboard: %s\n", strings.Join(keys, "; "))
}
