// Command walkthrough tells the whole story of a car key, in memory, one
// line per step with its result in words:
//
//   - owner pairing: the owner types the automaker's pairing code into the
//     phone and holds it to the console reader; SPAKE2+ through the Digital
//     Key framework, certificates both ways, the owner key enrolled and its
//     immobilizer token provisioned by a first standard transaction;
//   - the owner unlocks (a fast transaction, from the Kpersistent of the
//     last standard one) and starts the engine (a standard transaction,
//     the immobilizer token checked);
//   - the owner shares a key: an invitation sealed end to end to a link,
//     carried by the relay, which hands it out once; the friend's phone
//     creates the key and answers with the activation code the owner gave
//     apart, which the owner's phone checks before it signs the key
//     attestation;
//   - the friend's first unlock (the first friend transaction enrolls the
//     key from its attestation), a lock, and an engine start its profile
//     refuses;
//   - revocation: the owner terminates the friend's key, the termination
//     reaches the vehicle at the owner's next tap, and the friend's next tap
//     is refused;
//   - lost mode: the owner's phone reported lost refuses to transact, and
//     works again once found;
//   - a restart: the vehicle and the owner's phone close and open again
//     from their stores, and the first tap after the restart is fast.
//
// Both sides keep their state in a store.Memory (store/bolt keeps it in a
// file), sealed under a key-encryption key. examples/pair shows owner
// pairing in more detail, a wrong code included.
//
//	go run ./examples/walkthrough
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/cert/certtest"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `The whole story of a car key, in memory, one line per step: owner pairing, unlock, engine start,
sharing a key through the relay, the friend's first unlock and the limits of its profile, revocation,
lost mode, and a restart of the vehicle and the phone from their stored state.
It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: walkthrough\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "walkthrough:", err)
		os.Exit(1)
	}
}

// The vehicle, and the pairing code the automaker's server gives the
// owner.
const (
	vin         = "VIN00001"
	pairingCode = "271828"
)

// story is the vehicle and the two phones, each in the field of the
// reader behind a chaining layer (certificates and attestations are
// longer than a short APDU), and the relay between the phones.
type story struct {
	ctx context.Context
	out io.Writer
	pki *certtest.PKI
	vid dkey.VehicleID

	car       *vehicle.Reader
	carConfig vehicle.Config
	carStore  *store.Memory

	owner, friend       *device.Applet
	ownerConfig         device.Config
	ownerStore          *store.Memory
	ownerNFC, friendNFC *transporttest.Card

	relay *sharing.MemoryRelay
	// shared is the friend's key as the owner's phone signed it.
	shared *sharing.SigningRequest
}

func run(w io.Writer) error {
	s := &story{ctx: context.Background(), out: w, relay: sharing.NewMemoryRelay(nil)}
	for _, step := range []func() error{s.setUp, s.pair, s.drive, s.share, s.friendDrives, s.revoke, s.lostMode, s.restart} {
		if err := step(); err != nil {
			return err
		}
	}
	return errors.Join(s.car.Close(), s.owner.Close(), s.friend.Close())
}

// step prints one step and its result.
func (s *story) step(what, format string, args ...any) {
	fmt.Fprintf(s.out, "%-30s %s\n", what, fmt.Sprintf(format, args...))
}

// newKEK returns a key-encryption key for a store: a vehicle keeps it in
// its HSM, a phone in its secure element.
func newKEK() (device.KeyEncryptionKey, error) {
	b := make([]byte, 32)
	rand.Read(b)
	return device.SoftwareKEK(b)
}

// setUp makes the PKI, the vehicle, whose certificate the Vehicle OEM
// signs, and the phones, whose applet instances the Device OEM certifies.
func (s *story) setUp() error {
	var err error
	if s.pki, err = certtest.New(); err != nil {
		return err
	}
	if s.vid, err = dkey.NewVehicleID([]byte(vin)); err != nil {
		return err
	}
	vc, vehicleKey, err := s.pki.Vehicle(vin)
	if err != nil {
		return err
	}
	kek, err := newKEK()
	if err != nil {
		return err
	}
	s.carStore = store.NewMemory()
	s.carConfig = vehicle.Config{VehicleID: s.vid, Key: vehicleKey, Store: s.carStore, KEK: kek, Pairing: &vehicle.PairingConfig{
		VehicleRoot: s.pki.VehicleRoot.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: s.pki.DeviceRoots(),
	}}
	if s.car, err = vehicle.NewReader(&s.carConfig); err != nil {
		return err
	}
	if s.ownerConfig, err = s.phoneConfig("owner"); err != nil {
		return err
	}
	s.ownerConfig.Pairing = &pairing.DeviceConfig{} // the framework, with the instance CA
	s.ownerStore = s.ownerConfig.Store.(*store.Memory)
	if s.owner, s.ownerNFC, err = openPhone(&s.ownerConfig); err != nil {
		return err
	}
	friendConfig, err := s.phoneConfig("friend")
	if err != nil {
		return err
	}
	s.friend, s.friendNFC, err = openPhone(&friendConfig)
	return err
}

// phoneConfig configures a phone with a new instance CA and a new store.
func (s *story) phoneConfig(name string) (device.Config, error) {
	ca, caKey, err := s.pki.InstanceCA(name)
	if err != nil {
		return device.Config{}, err
	}
	kek, err := newKEK()
	if err != nil {
		return device.Config{}, err
	}
	return device.Config{InstanceCA: &device.InstanceCA{Certificate: ca, Key: caKey}, Store: store.NewMemory(), KEK: kek}, nil
}

func openPhone(cfg *device.Config) (*device.Applet, *transporttest.Card, error) {
	a, err := device.NewApplet(cfg)
	if err != nil {
		return nil, nil, err
	}
	return a, transporttest.NewCard(transport.NewChainingCard(a)), nil
}

// pair is owner pairing (docs/protocol.md §3): the automaker's server
// installs in the vehicle the verifier of the code it gave the owner, with
// a new salt; the owner types the code into the phone and holds it to the
// console reader.
func (s *story) pair() error {
	salt := make([]byte, pairing.SaltSize)
	rand.Read(salt)
	verifier, err := pairing.NewVerifier([]byte(pairingCode), salt, pairing.DefaultScryptParams())
	if err != nil {
		return err
	}
	if err := s.car.InstallVerifier(verifier); err != nil {
		return err
	}
	if err := s.owner.StartPairing([]byte(pairingCode)); err != nil {
		return err
	}
	res, err := s.car.Pair(s.ctx, s.ownerNFC)
	if err != nil {
		return fmt.Errorf("pairing: %w", err)
	}
	first := res.FirstTransaction
	token := "no immobilizer token"
	if s.tokenProvisioned(res.Slot) {
		token = "immobilizer token provisioned"
	}
	s.step("owner pairs, code "+pairingCode, "%v key enrolled (SPAKE2+, certificates both ways), %s by a %s first transaction, control flow %v",
		first.Role, token, kind(first), first.ControlFlow)
	return nil
}

// enrolled returns the vehicle's record of the key of slot, nil when the
// key is not enrolled.
func (s *story) enrolled(slot dkey.KeySlot) *vehicle.KeyInfo {
	for _, k := range s.car.Keys() {
		if k.Slot == slot {
			return &k
		}
	}
	return nil
}

// tokenProvisioned reports whether the vehicle wrote the immobilizer token
// of the key of slot into its confidential mailbox.
func (s *story) tokenProvisioned(slot dkey.KeySlot) bool {
	k := s.enrolled(slot)
	return k != nil && k.TokenProvisioned
}

// drive: the owner unlocks at the door and starts the engine at the
// console.
func (s *story) drive() error {
	s.tap("owner unlocks", s.ownerNFC, dkey.ActionUnlock)
	s.tap("owner starts the engine", s.ownerNFC, dkey.ActionEngineStart)
	return nil
}

// tap runs one transaction and prints its result.
func (s *story) tap(what string, nfc *transporttest.Card, action dkey.Action) {
	res, err := s.car.Transact(s.ctx, nfc, action)
	s.step(what, "%s", s.result(res, err))
}

// result says what a transaction did, in words that do not depend on the
// random keys.
func (s *story) result(r vehicle.Result, err error) string {
	var sw dkey.StatusWord
	switch {
	case err == nil:
		words := []string{kind(r) + " transaction"}
		if r.FirstFriend {
			words = append(words, fmt.Sprintf("%v key enrolled from its key attestation (%v)", r.Role, r.Profile))
		}
		if r.Action == dkey.ActionEngineStart && s.tokenProvisioned(r.Slot) {
			words = append(words, "immobilizer token checked")
		}
		for _, st := range r.Statements {
			switch {
			case st.Err != nil:
				words = append(words, fmt.Sprintf("%v refused", st.Kind))
			case st.Kind == sharing.KindTermination && s.enrolled(st.Slot) == nil:
				words = append(words, fmt.Sprintf("%v accepted, key removed", st.Kind))
			case st.Kind != sharing.KindKeyAttestation || !r.FirstFriend:
				words = append(words, fmt.Sprintf("%v accepted", st.Kind))
			}
		}
		return fmt.Sprintf("%s: %s, control flow %v", done(r.Action), strings.Join(words, ", "), r.ControlFlow)
	case errors.Is(err, dkey.ErrNotEntitled):
		return fmt.Sprintf("refused: not in the key's profile (%v), control flow %v", r.Profile, r.ControlFlow)
	case errors.Is(err, dkey.ErrKeyTerminated):
		return fmt.Sprintf("refused: key terminated, control flow %v", r.ControlFlow)
	case errors.Is(err, vehicle.ErrRefused) && errors.As(err, &sw):
		return fmt.Sprintf("refused by the phone: %v", sw)
	}
	return fmt.Sprintf("failed: %v", err)
}

func kind(r vehicle.Result) string {
	if r.Fast {
		return "fast"
	}
	return "standard"
}

// done names what a successful action did.
func done(a dkey.Action) string {
	switch a {
	case dkey.ActionUnlock:
		return "unlocked"
	case dkey.ActionLock:
		return "locked"
	case dkey.ActionEngineStart:
		return "engine started"
	}
	return a.String()
}

// share is key sharing (docs/protocol.md §6) through the relay, which
// stores and forwards what it cannot open.
func (s *story) share() error {
	// The owner's app: a link whose secret will travel in the URL
	// fragment, an activation code the owner tells the friend apart, and
	// an offer of a key that unlocks and locks, limited to 80 km/h, for a
	// week.
	link, err := sharing.NewLink()
	if err != nil {
		return err
	}
	code, err := sharing.NewActivationCode()
	if err != nil {
		return err
	}
	offer := &sharing.Offer{
		Profile:        dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter:       time.Now().Add(7 * 24 * time.Hour),
		ActivationCode: code,
	}
	// The owner authenticates on the phone (face, fingerprint or
	// passcode), whose owner key signs for the vehicle.
	s.owner.AuthenticateUser(time.Now().Add(5 * time.Minute))
	signer, slot, err := s.owner.SharingSigner(s.vid)
	if err != nil {
		return err
	}
	key, _ := s.owner.Key(s.vid)
	paired, _ := s.owner.Pairing(s.vid)
	linkKey, err := link.Key()
	if err != nil {
		return err
	}
	session, invitation, err := sharing.Invite(&sharing.OwnerConfig{
		Vehicle: s.vid, VehicleKey: key.VehicleKey, VehicleChain: paired.VehicleCertificates, VehicleRoot: paired.VehicleRoot,
		Key: signer, Slot: slot, Certificates: &cert.Config{DeviceRoots: s.pki.DeviceRoots()},
	}, offer, linkKey.PublicKey())
	if err != nil {
		return err
	}
	mailbox, err := s.relay.CreateMailbox(s.ctx, &sharing.NewMailbox{Content: invitation, Expires: session.Invitation().Expires})
	if err != nil {
		return err
	}
	url := "https://relay.example/m/" + mailbox.ID.String() + "#" + sharing.Fragment(link, mailbox.Fetch)

	// The friend's app opens the URL, received by any messenger: the
	// fragment (the link's secret and the relay's fetch token) never
	// reaches the relay but to fetch the invitation, once.
	_, fragment, _ := strings.Cut(url, "#")
	received, fetch, err := sharing.ParseFragment(fragment)
	if err != nil {
		return err
	}
	receivedKey, err := received.Key()
	if err != nil {
		return err
	}
	sealed, friendToken, err := s.relay.FetchInvitation(s.ctx, mailbox.ID, fetch)
	if err != nil {
		return err
	}
	_, _, again := s.relay.FetchInvitation(s.ctx, mailbox.ID, fetch)
	friendSession, err := sharing.OpenInvitation(nil, receivedKey, code, sealed)
	if err != nil {
		return err
	}
	// The friend accepts: the phone creates the key in its secure
	// element, certified by its instance CA, and answers, bound to the
	// activation code.
	answer, err := friendSession.SigningRequest(s.friend)
	if err != nil {
		return err
	}
	if err := s.relay.UpdateMailbox(s.ctx, mailbox.ID, friendToken, answer); err != nil {
		return err
	}

	// The owner's phone checks the code, the friend's device and key, and
	// signs the key attestation.
	if sealed, err = s.relay.ReadSecureContent(s.ctx, mailbox.ID, mailbox.Sender); err != nil {
		return err
	}
	if s.shared, err = session.ReadSigningRequest(sealed); err != nil {
		return err
	}
	issued, err := session.Sign(s.shared)
	if err != nil {
		return err
	}
	if err := s.relay.UpdateMailbox(s.ctx, mailbox.ID, mailbox.Sender, issued.Message); err != nil {
		return err
	}

	// The friend's phone imports the attestation into the key's private
	// mailbox, where the vehicle will read it, and deletes the relay
	// mailbox.
	if sealed, err = s.relay.ReadSecureContent(s.ctx, mailbox.ID, friendToken); err != nil {
		return err
	}
	imported, err := friendSession.Import(sealed)
	if err != nil {
		return err
	}
	if err := s.friend.ImportSharedKey(imported); err != nil {
		return err
	}
	if err := s.relay.DeleteMailbox(s.ctx, mailbox.ID, friendToken); err != nil {
		return err
	}
	info, _ := s.friend.Key(s.vid)
	once := "the link works once"
	if !errors.Is(again, sharing.ErrAccessDenied) {
		once = fmt.Sprintf("the link fetched twice: %v", again)
	}
	s.step("owner shares, code "+code, "friend key %v: %v, 7 days; sealed end to end via the relay (%s), the code checked by the owner's phone",
		info.State, issued.Attestation.Profile, once)
	return nil
}

// friendDrives: the friend's first tap carries the key attestation, from
// which the vehicle enrolls the key; from then on it enforces the key's
// profile.
func (s *story) friendDrives() error {
	s.tap("friend unlocks, first tap", s.friendNFC, dkey.ActionUnlock)
	s.tap("friend locks", s.friendNFC, dkey.ActionLock)
	s.tap("friend starts the engine", s.friendNFC, dkey.ActionEngineStart)
	return nil
}

// revoke: the owner terminates the friend's key on the phone; the
// termination attestation reaches the vehicle in the owner's next standard
// transaction (or, sooner, through the automaker's server), and the
// friend's next tap tells the friend's phone that the key is gone.
func (s *story) revoke() error {
	s.owner.AuthenticateUser(time.Now().Add(5 * time.Minute))
	if _, err := s.owner.TerminateShared(&sharing.Termination{Vehicle: s.vid, Slot: s.shared.Slot, Key: s.shared.Key}); err != nil {
		return err
	}
	s.step("owner revokes friend's key", "termination attestation signed on the owner's phone, queued for the vehicle")
	s.tap("owner starts the engine", s.ownerNFC, dkey.ActionEngineStart)
	res, err := s.car.Transact(s.ctx, s.friendNFC, dkey.ActionUnlock)
	info, _ := s.friend.Key(s.vid)
	s.step("friend unlocks", "%s; friend's phone: key %v, deleted by the vehicle: %v", s.result(res, err), info.State, info.VehicleDeleted)
	return nil
}

// lostMode: the owner reports the phone lost (through the phone maker's
// service), which suspends every key of the phone; found, it resumes them.
func (s *story) lostMode() error {
	if err := s.owner.SetLostMode(true); err != nil {
		return err
	}
	s.step("owner's phone reported lost", "lost mode %s: every key of the phone suspended", onOff(s.owner.LostMode()))
	s.tap("someone taps the lost phone", s.ownerNFC, dkey.ActionUnlock)
	if err := s.owner.SetLostMode(false); err != nil {
		return err
	}
	s.step("owner's phone found", "lost mode %s: its keys resume", onOff(s.owner.LostMode()))
	s.tap("owner unlocks", s.ownerNFC, dkey.ActionUnlock)
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// restart closes the vehicle and the owner's phone and opens them again
// from their stores: the keys, their Kpersistent and the immobilizer token
// come back, so the first tap is fast.
func (s *story) restart() error {
	if err := errors.Join(s.car.Close(), s.owner.Close()); err != nil {
		return err
	}
	s.carConfig.Store, s.ownerConfig.Store = s.carStore.Reopen(), s.ownerStore.Reopen()
	var err error
	if s.car, err = vehicle.NewReader(&s.carConfig); err != nil {
		return err
	}
	if s.owner, s.ownerNFC, err = openPhone(&s.ownerConfig); err != nil {
		return err
	}
	s.step("vehicle and phone restart", "state read back from their stores: %d key(s) in the vehicle, %d in the owner's phone", len(s.car.Keys()), len(s.owner.Keys()))
	s.tap("owner unlocks", s.ownerNFC, dkey.ActionUnlock)
	return nil
}
