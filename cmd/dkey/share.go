package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// entitlementNames are the names -entitlements takes, as
// dkey.Entitlements prints them.
var entitlementNames = map[string]dkey.Entitlements{
	"unlock": dkey.EntitleUnlock, "lock": dkey.EntitleLock, "trunk": dkey.EntitleTrunk,
	"engine-start": dkey.EntitleEngineStart, "share": dkey.EntitleShare, "manage": dkey.EntitleManage,
}

// parseEntitlements parses a list like "unlock,lock".
func parseEntitlements(s string) (dkey.Entitlements, error) {
	var e dkey.Entitlements
	for _, n := range strings.Split(s, ",") {
		bit, ok := entitlementNames[strings.TrimSpace(n)]
		if !ok {
			return 0, usagef("share: -entitlements: unknown entitlement %q (have unlock, lock, trunk, engine-start, share, manage)", n)
		}
		e |= bit
	}
	return e, nil
}

// ownerAuthentication is how long the bench authenticates the owner on
// its phone for signing a share (a phone asks for face, fingerprint or
// passcode).
const ownerAuthentication = 5 * time.Minute

// shareCmd is dkey share: the owner's phone in one state file shares a key
// with the friend's phone in another, in this process: the invitation,
// sealed end to end, the friend's key created in its applet, the key
// attestation signed by the owner and imported by the friend. The vehicle
// learns of the key at the friend's first transaction.
func shareCmd(e *env, args []string) (err error) {
	fs := newFlags(e, "share")
	var from, to stateFlags
	stateFlagSet(fs, &from, "from", "from-kek", "the owner's phone")
	keyFlag(fs, &from, "from-instance-ca-key", "the owner phone's instance CA key")
	stateFlagSet(fs, &to, "to", "to-kek", "the friend's phone")
	keyFlag(fs, &to, "to-instance-ca-key", "the friend phone's instance CA key")
	var c create
	fs.StringVar(&c.pki, "pki", "", "test PKI `directory` (dkey pki init) to create the friend's phone from when -to holds none")
	fs.StringVar(&c.name, "instance-ca", kindInstanceCA, "`name` of the friend phone's applet instance CA in -pki")
	vehicleID := fs.String("vehicle", "", "the vehicle, 8 `characters`, when the owner's phone has keys for several")
	entitlements := fs.String("entitlements", "unlock,lock", "what the friend key may do: a `list` of unlock, lock, trunk, engine-start, share, manage")
	maxSpeed := fs.Uint("max-speed", 0, "speed limit in `km/h` while the friend drives (0: none)")
	days := fs.Int("days", 7, "validity of the friend key in `days` from now")
	if err := parse(e, fs, "share", args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usagef("share: unexpected arguments %q (see dkey share -h)", fs.Args())
	case from.path == "" || to.path == "":
		return usagef("share: -from FILE and -to FILE are required (see dkey share -h)")
	case *days <= 0 || *days > 3650:
		return usagef("share: -days %d: want 1 to 3650", *days)
	case *maxSpeed > 0xFFFF:
		return usagef("share: -max-speed %d", *maxSpeed)
	}
	ent, err := parseEntitlements(*entitlements)
	if err != nil {
		return err
	}
	log := e.logger()
	owner, err := e.openDevice(from, nil, deviceOptions{log: log.With("side", "owner")})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, owner.Close()) }()
	friend, err := e.openDevice(to, &c, deviceOptions{log: log.With("side", "friend")})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, friend.Close()) }()

	vid, err := ownedVehicle(owner, *vehicleID)
	if err != nil {
		return err
	}
	pi, _ := owner.Pairing(vid)
	info, _ := owner.Key(vid)
	e.progress("the owner authenticates on the phone (for %v) to sign the share", ownerAuthentication)
	owner.AuthenticateUser(time.Now().Add(ownerAuthentication))
	signer, slot, err := owner.SharingSigner(vid)
	if err != nil {
		return err
	}
	cfg := &sharing.OwnerConfig{
		Vehicle: vid, VehicleKey: info.VehicleKey, VehicleChain: pi.VehicleCertificates, VehicleRoot: pi.VehicleRoot,
		Key: signer, Slot: slot, Certificates: owner.certConfig(),
	}
	offer := &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: ent, MaxSpeed: uint16(*maxSpeed)},
		NotAfter: time.Now().Add(time.Duration(*days) * 24 * time.Hour).Truncate(time.Second),
	}
	// The invitation goes sealed to a link's key, as through a messenger;
	// the relay is left out.
	link, err := sharing.NewLink()
	if err != nil {
		return err
	}
	linkKey, err := link.Key()
	if err != nil {
		return err
	}
	session, invitation, err := sharing.Invite(cfg, offer, linkKey.PublicKey())
	if err != nil {
		return err
	}
	e.progress("invitation sealed: %v until %s", offer.Profile, offer.NotAfter.Format(time.DateTime))
	fs2, err := sharing.OpenInvitation(nil, linkKey, "", invitation)
	if err != nil {
		return fmt.Errorf("the friend's phone: %w", err)
	}
	ksr, err := fs2.SigningRequest(friend)
	if err != nil {
		return fmt.Errorf("the friend's phone: %w", err)
	}
	req, err := session.ReadSigningRequest(ksr)
	if err != nil {
		return fmt.Errorf("the owner's phone: %w", err)
	}
	issued, err := session.Sign(req)
	if err != nil {
		return fmt.Errorf("the owner's phone: %w", err)
	}
	imported, err := fs2.Import(issued.Message)
	if err != nil {
		return fmt.Errorf("the friend's phone: %w", err)
	}
	if err := friend.ImportSharedKey(imported); err != nil {
		return fmt.Errorf("the friend's phone: %w", err)
	}
	a := issued.Attestation
	fmt.Fprintf(e.stdout, "shared: friend key %v in %s for vehicle %s, %v, until %s; the vehicle enrols it at its first transaction\n",
		a.FriendSlot, friend.path, vid.Bytes(), a.Profile, a.NotAfter.Format(time.DateTime))
	return nil
}

// ownedVehicle returns the vehicle of the owner key a phone holds from
// owner pairing: the one named, or the only one.
func ownedVehicle(d *openedDevice, name string) (dkey.VehicleID, error) {
	var found []dkey.VehicleID
	for _, k := range d.Keys() {
		if _, paired := d.Pairing(k.VehicleID); paired && k.State == dkey.KeyActive {
			if name == "" || string(k.VehicleID.Bytes()) == name {
				found = append(found, k.VehicleID)
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && name != "":
		return dkey.VehicleID{}, fmt.Errorf("%s holds no active owner key for vehicle %q", d.path, name)
	case len(found) == 0:
		return dkey.VehicleID{}, fmt.Errorf("%s holds no active owner key from owner pairing: pair it first (dkey pair)", d.path)
	}
	return dkey.VehicleID{}, usagef("share: %s holds owner keys for %d vehicles: name one with -vehicle", d.path, len(found))
}
