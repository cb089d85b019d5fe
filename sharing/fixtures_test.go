package sharing_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// t0 is the fixtures' clock start.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// clock is a settable clock shared by every party of a world.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recordingSE is a software secure element that lets the test reach the
// signers of the keys it holds: the tests of package sharing's own API sign
// with them directly, and an attacker holding a device uses its keys as it
// likes. The product path is device.Applet.SharingSigner (phone.signer).
type recordingSE struct {
	device.SoftwareElement
	mu   sync.Mutex
	keys map[string]crypto.Signer
}

func (s *recordingSE) GenerateKey(id device.KeyID) (crypto.Signer, error) {
	k, err := s.SoftwareElement.GenerateKey(id)
	if err != nil {
		return nil, err
	}
	pub, err := dkey.PublicKeyOf(k)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = make(map[string]crypto.Signer)
	}
	s.keys[string(pub.Bytes())] = k
	return k, nil
}

func (s *recordingSE) DeleteKey(id device.KeyID) error {
	if k, err := s.SoftwareElement.Key(id); err == nil {
		pub, err := dkey.PublicKeyOf(k)
		if err != nil {
			return err
		}
		s.mu.Lock()
		delete(s.keys, string(pub.Bytes()))
		s.mu.Unlock()
	}
	return s.SoftwareElement.DeleteKey(id)
}

func (s *recordingSE) signer(pub *dkey.PublicKey) crypto.Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[string(pub.Bytes())]
}

// pki is a Device OEM root and a Vehicle OEM root.
type pki struct {
	deviceRootKey  *dkey.SoftwareKey
	deviceRoot     *x509.Certificate
	vehicleRootKey *dkey.SoftwareKey
	vehicleRoot    *x509.Certificate
}

func tmpl(cn string) cert.Template {
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(10, 0, 0)}
}

func mustKey(t testing.TB) *dkey.SoftwareKey {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPKI(t testing.TB, name string) *pki {
	t.Helper()
	p := &pki{deviceRootKey: mustKey(t), vehicleRootKey: mustKey(t)}
	var err error
	if p.deviceRoot, err = cert.NewDeviceRoot(tmpl(name+" Device OEM root"), p.deviceRootKey); err != nil {
		t.Fatal(err)
	}
	if p.vehicleRoot, err = cert.NewVehicleRoot(tmpl(name+" Vehicle OEM root"), p.vehicleRootKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pki) deviceRoots() *x509.CertPool { return pool(p.deviceRoot) }

func pool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// phone is a device: one applet with an instance CA issued by a Device OEM
// root, which creates and certifies shared keys (device.Applet
// implements sharing.KeyCreator).
type phone struct {
	applet   *device.Applet
	se       *recordingSE
	card     *transporttest.Card
	instKey  *dkey.SoftwareKey
	instCert *x509.Certificate
	clock    *clock
	// tamper, when set, changes what CreateSharedKey returns, as a device
	// that is not a genuine secure element might.
	tamper func(*sharing.CreatedKey)
}

func newPhone(t testing.TB, p *pki, c *clock, name string) *phone {
	t.Helper()
	instKey := mustKey(t)
	instCert, err := cert.NewInstanceCA(tmpl(name+" instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}},
		instKey.PublicKey(), p.deviceRoot, p.deviceRootKey)
	if err != nil {
		t.Fatal(err)
	}
	return newPhoneCA(t, c, instKey, instCert)
}

// newPhoneCA returns a phone whose applet instance CA is instCert.
func newPhoneCA(t testing.TB, c *clock, instKey *dkey.SoftwareKey, instCert *x509.Certificate) *phone {
	t.Helper()
	se := new(recordingSE)
	a, err := device.NewApplet(&device.Config{SecureElement: se, Time: c.Now, InstanceCA: &device.InstanceCA{Certificate: instCert, Key: instKey}})
	if err != nil {
		t.Fatal(err)
	}
	return &phone{applet: a, se: se, card: transporttest.NewCard(a), instKey: instKey, instCert: instCert, clock: c}
}

func (ph *phone) deviceID() sharing.DeviceID {
	id, ok := ph.applet.DeviceID()
	if !ok || id != sharing.DeviceIDOf(ph.instKey.PublicKey()) {
		panic("applet DeviceID is not its instance CA's")
	}
	return id
}

// CreateSharedKey has the applet create the key, then applies tamper.
func (ph *phone) CreateSharedKey(req *sharing.KeyRequest) (*sharing.CreatedKey, error) {
	ck, err := ph.applet.CreateSharedKey(req)
	if err == nil && ph.tamper != nil {
		ph.tamper(ck)
	}
	return ck, err
}

var _ sharing.KeyCreator = (*phone)(nil)

// signer returns the phone's key for vehicle as the applet lends it to
// sharing, after the user authenticated for an hour.
func (ph *phone) signer(t testing.TB, vehicle dkey.VehicleID) (crypto.Signer, dkey.KeySlot) {
	t.Helper()
	ph.applet.AuthenticateUser(ph.clock.Now().Add(time.Hour))
	s, slot, err := ph.applet.SharingSigner(vehicle)
	if err != nil {
		t.Fatalf("SharingSigner: %v", err)
	}
	return s, slot
}

// car is a vehicle: a reader, its certificate chain, and the revocation
// store the reader records in. sharing is the package's API over the same
// store, for the tests that call AdmitFriend and friends directly.
type car struct {
	id      dkey.VehicleID
	key     *dkey.SoftwareKey
	reader  *vehicle.Reader
	chain   [][]byte
	sharing *sharing.VehicleIntake
	store   *sharing.RevocationStore
}

func newCar(t testing.TB, p *pki, c *clock, vin string) *car {
	t.Helper()
	id, err := dkey.NewVehicleID([]byte(vin))
	if err != nil {
		t.Fatal(err)
	}
	k := mustKey(t)
	store := sharing.NewRevocationStore(0)
	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: id, Key: k, Time: c.Now, Revocations: store})
	if err != nil {
		t.Fatal(err)
	}
	if r.Revocations() != store {
		t.Fatal("the reader does not use the configured revocation store")
	}
	leaf, err := cert.NewVehicle(tmpl(vin), k.PublicKey(), p.vehicleRoot, p.vehicleRootKey)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: id, Revocations: store, Time: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &car{id: id, key: k, reader: r, chain: [][]byte{leaf.Raw}, sharing: sv, store: store}
}

// signers returns the active enrolled keys as attest signers, with their
// profiles and validity, as the reader passes them to its sharing intake.
// The reader's NotAfter is the first invalid instant; attest's the last
// valid second.
func (c *car) signers() []attest.Signer {
	var out []attest.Signer
	for _, k := range c.reader.Keys() {
		if k.State == dkey.KeyActive {
			s := attest.Signer{Key: k.PublicKey, Slot: k.Slot, Grant: k.Profile, NotBefore: k.NotBefore}
			if !k.NotAfter.IsZero() {
				s.NotAfter = k.NotAfter.Add(-time.Second)
			}
			out = append(out, s)
		}
	}
	return out
}

// enrollOwner creates an owner key on ph for c and enrolls it, as owner
// pairing does.
func (c *car) enrollOwner(t testing.TB, ph *phone) device.KeyInfo {
	t.Helper()
	info, err := ph.applet.CreateKey(deviceKeyConfig(c, dkey.KeySlot{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.reader.Enroll(vehicleOwner(info)); err != nil {
		t.Fatal(err)
	}
	return info
}

// ownerMailboxes return nothing in AUTH1: the reader reads the owner's
// statement area by EXCHANGE.
var ownerMailboxes = dkey.MailboxConfig{PrivateSize: 2048, ConfidentialSize: 64}

func deviceKeyConfig(c *car, slot dkey.KeySlot) device.KeyConfig {
	return device.KeyConfig{VehicleID: c.id, VehicleKey: c.reader.PublicKey(), Slot: slot, Mailboxes: ownerMailboxes}
}

func vehicleOwner(info device.KeyInfo) vehicle.Enrollment {
	return vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), Mailboxes: ownerMailboxes, StatementArea: true}
}

// readArea reads the statement area of the key of c on ph, as the vehicle
// does with EXCHANGE: the header, then the entries.
func (c *car) readArea(ph *phone) ([]byte, error) {
	hdr, err := ph.applet.ReadPrivateMailbox(c.id, 0, sharing.AreaHeaderSize)
	if err != nil {
		return nil, err
	}
	n, err := sharing.ParseAreaHeader(hdr)
	if err != nil {
		return nil, err
	}
	return ph.applet.ReadPrivateMailbox(c.id, 0, sharing.AreaHeaderSize+n)
}

// firstFriendTransaction is the friend's first tap (an unlock): the reader
// finds the slot unknown, admits the key from the attestation in the AUTH1
// response, enrolls it and ends with CONTROL FLOW 4082, on which the
// device clears its statement area. It returns the admitted key as the
// reader enrolled it.
func (c *car) firstFriendTransaction(ph *phone) (*sharing.Friend, error) {
	res, err := c.reader.Transact(context.Background(), ph.card, dkey.ActionUnlock)
	if err != nil {
		return nil, err
	}
	if !res.FirstFriend || res.ControlFlow != transaction.CFDeleteAttestation || !res.ControlFlowDelivered {
		return nil, fmt.Errorf("friend transaction %+v is not a first friend transaction", res)
	}
	for _, k := range c.reader.Keys() {
		if k.Slot == res.Slot {
			return &sharing.Friend{
				PublicKey: k.PublicKey, Slot: k.Slot, Profile: k.Profile, NotBefore: k.NotBefore, NotAfter: k.NotAfter.Add(-time.Second),
				AttestationID: k.AttestationID, SignerSlot: k.SharedBy,
			}, nil
		}
	}
	return nil, errors.New("the admitted key is not enrolled")
}

// queue has ph queue statements for the vehicle in its key's statement
// area (device.Applet.AppendStatement).
func (c *car) queue(t testing.TB, ph *phone, entries ...sharing.MailboxEntry) {
	t.Helper()
	for _, e := range entries {
		if err := ph.applet.AppendStatement(c.id, e); err != nil {
			t.Fatalf("AppendStatement: %v", err)
		}
	}
}

// deliver runs ph's next standard transaction (an engine start), which
// consumes the n statements queued in its key's statement area and ends
// with CONTROL FLOW 4082, on which the device clears the area.
func (c *car) deliver(t testing.TB, ph *phone, n int) vehicle.Result {
	t.Helper()
	res, err := c.transact(t, ph, dkey.ActionEngineStart)
	if err != nil {
		t.Fatalf("delivering transaction: %v", err)
	}
	if res.ControlFlow != transaction.CFDeleteAttestation || len(res.Statements) != n {
		t.Fatalf("delivering transaction = %+v, want %d statements consumed (4082)", res, n)
	}
	if area, err := c.readArea(ph); err != nil || len(area) != sharing.AreaHeaderSize {
		t.Errorf("statement area after 4082 = %x, %v; want empty", area, err)
	}
	return res
}

// revoke has the owner's device terminate the key in slot (TerminateShared)
// and delivers the termination at the owner's next transaction.
func (w *world) revoke(t testing.TB, slot dkey.KeySlot, key *dkey.PublicKey) []byte {
	t.Helper()
	w.owner.applet.AuthenticateUser(w.clock.Now().Add(time.Hour))
	stmt, err := w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: w.car.id, Slot: slot, Key: key})
	if err != nil {
		t.Fatalf("TerminateShared: %v", err)
	}
	res := w.car.deliver(t, w.owner, 1)
	if s := res.Statements[0]; s.Kind != sharing.KindTermination || s.Slot != slot || s.Err != nil {
		t.Fatalf("termination at the vehicle = %+v", s)
	}
	return stmt
}

func (c *car) transact(t testing.TB, ph *phone, a dkey.Action) (vehicle.Result, error) {
	t.Helper()
	return c.reader.Transact(context.Background(), ph.card, a)
}

// world is a vehicle with an owner, a friend's phone, a relay and the
// automaker's key server.
type world struct {
	tb     testing.TB
	clock  *clock
	pki    *pki
	car    *car
	owner  *phone
	ownerK device.KeyInfo
	friend *phone
	relay  *sharing.MemoryRelay
	server *sharing.MemoryKeyServer
	ksKey  *dkey.SoftwareKey
}

func newWorld(t testing.TB) *world {
	t.Helper()
	c := &clock{now: t0}
	p := newPKI(t, "A")
	w := &world{tb: t, clock: c, pki: p, car: newCar(t, p, c, "VIN00001"), owner: newPhone(t, p, c, "owner"), friend: newPhone(t, p, c, "friend")}
	w.ownerK = w.car.enrollOwner(t, w.owner)
	w.relay = sharing.NewMemoryRelay(&sharing.MemoryRelayConfig{Time: c.Now})
	w.ksKey = mustKey(t)
	var err error
	if w.server, err = sharing.NewMemoryKeyServer(&sharing.MemoryKeyServerConfig{Key: w.ksKey, Time: c.Now}); err != nil {
		t.Fatal(err)
	}
	return w
}

// ownerKey is the owner's key as its applet lends it to sharing, after a
// user authentication; nil (and a test error) when the applet refuses.
func (w *world) ownerKey() crypto.Signer {
	w.owner.applet.AuthenticateUser(w.clock.Now().Add(time.Hour))
	s, slot, err := w.owner.applet.SharingSigner(w.car.id)
	if err != nil || slot != w.ownerK.Slot {
		w.tb.Errorf("SharingSigner = %v, %v; want the owner key in slot %v", slot, err, w.ownerK.Slot)
		return nil
	}
	return s
}

// ownerConfig is the sharing configuration of the owner's device.
func (w *world) ownerConfig() *sharing.OwnerConfig {
	return &sharing.OwnerConfig{
		Vehicle: w.car.id, VehicleKey: w.car.reader.PublicKey(),
		VehicleChain: w.car.chain, VehicleRoot: w.pki.vehicleRoot.Raw,
		Key: w.ownerKey(), Slot: w.ownerK.Slot,
		Certificates: &cert.Config{DeviceRoots: w.pki.deviceRoots()},
		Time:         w.clock.Now,
	}
}

// unlockOnly is the offer of the issue's example: unlock and lock, a week.
func (w *world) unlockOnly() *sharing.Offer {
	return &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter: w.clock.Now().Add(7 * 24 * time.Hour),
	}
}

// issue runs the friend's signing request and the owner's signature
// directly, without the relay, for tests that then look at the messages.
func (w *world) issue(t testing.TB, os *sharing.OwnerSession, fs *sharing.FriendSession) *sharing.Issued {
	t.Helper()
	return issueTo(t, os, fs, w.friend)
}

// issueTo is issue for the key that dev creates.
func issueTo(t testing.TB, os *sharing.OwnerSession, fs *sharing.FriendSession, dev sharing.KeyCreator) *sharing.Issued {
	t.Helper()
	ksr, err := fs.SigningRequest(dev)
	if err != nil {
		t.Fatalf("SigningRequest: %v", err)
	}
	req, err := os.ReadSigningRequest(ksr)
	if err != nil {
		t.Fatalf("ReadSigningRequest: %v", err)
	}
	issued, err := os.Sign(req)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return issued
}

// inviteWith returns an owner session of the sharing configuration cfg
// and the invitation sealed to a fresh recipient key, and opens it for the
// friend.
func (w *world) inviteWith(t testing.TB, cfg *sharing.OwnerConfig, offer *sharing.Offer) (*sharing.OwnerSession, *sharing.FriendSession, *sharing.RecipientPrivateKey, []byte) {
	t.Helper()
	lk := mustRecipient(t)
	os, sealed, err := sharing.Invite(cfg, offer, lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, offer.ActivationCode, sealed)
	if err != nil {
		t.Fatal(err)
	}
	return os, fs, lk, sealed
}

// reshare runs the exchange directly with the sharing configuration cfg
// (an owner's, or a friend's entitled to share) and imports the
// attestation into to's mailbox.
func (w *world) reshare(t testing.TB, cfg *sharing.OwnerConfig, to *phone, offer *sharing.Offer) *sharing.Issued {
	t.Helper()
	os, fs, _, _ := w.inviteWith(t, cfg, offer)
	issued := issueTo(t, os, fs, to)
	imp, err := fs.Import(issued.Message)
	if err != nil {
		t.Fatal(err)
	}
	if err := to.applet.ImportSharedKey(imp); err != nil {
		t.Fatal(err)
	}
	return issued
}

// share runs the whole exchange through the relay, with a link, and
// imports the attestation into the friend's mailbox.
func (w *world) share(t testing.TB, offer *sharing.Offer) *sharing.Issued {
	t.Helper()
	ctx := context.Background()
	link, err := sharing.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	lk, err := link.Key()
	if err != nil {
		t.Fatal(err)
	}
	os, sealed, err := sharing.Invite(w.ownerConfig(), offer, lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	mbox, err := w.relay.CreateMailbox(ctx, &sharing.NewMailbox{Content: sealed, Expires: os.Invitation().Expires})
	if err != nil {
		t.Fatal(err)
	}
	// The URL ...#<link>.<fetch token> goes to the friend through any
	// messenger.
	url := "https://relay.example/m/" + mbox.ID.String() + "#" + sharing.Fragment(link, mbox.Fetch)

	// Friend.
	_, fragment, _ := strings.Cut(url, "#")
	flink, fetch, err := sharing.ParseFragment(fragment)
	if err != nil {
		t.Fatal(err)
	}
	fk, err := flink.Key()
	if err != nil {
		t.Fatal(err)
	}
	got, rtok, err := w.relay.FetchInvitation(ctx, mbox.ID, fetch)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, fk, offer.ActivationCode, got)
	if err != nil {
		t.Fatalf("OpenInvitation: %v", err)
	}
	ksr, err := fs.SigningRequest(w.friend)
	if err != nil {
		t.Fatalf("SigningRequest: %v", err)
	}
	if err := w.relay.UpdateMailbox(ctx, mbox.ID, rtok, ksr); err != nil {
		t.Fatal(err)
	}

	// Owner.
	got, err = w.relay.ReadSecureContent(ctx, mbox.ID, mbox.Sender)
	if err != nil {
		t.Fatal(err)
	}
	req, err := os.ReadSigningRequest(got)
	if err != nil {
		t.Fatalf("ReadSigningRequest: %v", err)
	}
	issued, err := os.Sign(req)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := w.relay.UpdateMailbox(ctx, mbox.ID, mbox.Sender, issued.Message); err != nil {
		t.Fatal(err)
	}

	// Friend.
	got, err = w.relay.ReadSecureContent(ctx, mbox.ID, rtok)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := fs.Import(got)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if err := w.friend.applet.ImportSharedKey(imp); err != nil {
		t.Fatalf("ImportSharedKey: %v", err)
	}
	if err := w.relay.DeleteMailbox(ctx, mbox.ID, rtok); err != nil {
		t.Fatal(err)
	}
	return issued
}
