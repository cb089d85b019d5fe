package sharing_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
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
// signers of the keys it holds, as the owner's device reaches its own key
// to sign attestations.
type recordingSE struct {
	mu   sync.Mutex
	keys map[string]crypto.Signer
}

func (s *recordingSE) GenerateKey() (crypto.Signer, error) {
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = make(map[string]crypto.Signer)
	}
	s.keys[string(k.PublicKey().Bytes())] = k
	return k, nil
}

func (s *recordingSE) DeleteKey(k crypto.Signer) error {
	pub, err := dkey.PublicKeyOf(k)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, string(pub.Bytes()))
	return nil
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
// root. It implements sharing.KeyCreator as device.Applet will.
type phone struct {
	applet   *device.Applet
	se       *recordingSE
	card     *transporttest.Card
	instKey  *dkey.SoftwareKey
	instCert *x509.Certificate
	clock    *clock
	// tamper, when set, changes what CreateSharedKey returns.
	tamper func(*sharing.CreatedKey)
}

func newPhone(t testing.TB, p *pki, c *clock, name string) *phone {
	t.Helper()
	se := new(recordingSE)
	a, err := device.NewApplet(&device.Config{SecureElement: se, Time: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ph := &phone{applet: a, se: se, card: transporttest.NewCard(a), instKey: mustKey(t), clock: c}
	ph.instCert, err = cert.NewInstanceCA(tmpl(name+" instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}},
		ph.instKey.PublicKey(), p.deviceRoot, p.deviceRootKey)
	if err != nil {
		t.Fatal(err)
	}
	return ph
}

func (ph *phone) deviceID() sharing.DeviceID { return sharing.DeviceIDOf(ph.instKey.PublicKey()) }

// CreateSharedKey creates a friend key in the applet and certifies it with
// the instance CA.
func (ph *phone) CreateSharedKey(req *sharing.KeyRequest) (*sharing.CreatedKey, error) {
	info, err := ph.applet.CreateKey(device.KeyConfig{
		VehicleID: req.Vehicle, VehicleKey: req.VehicleKey, Slot: req.Slot, Role: dkey.RoleFriend, Mailboxes: req.Mailboxes,
	})
	if err != nil {
		return nil, err
	}
	ext := &cert.EndpointExtension{
		Version: 1, VehicleID: req.Vehicle, ProtocolVersion: dkey.Version1, VehiclePublicKey: req.VehicleKey,
		InitialKeySlot: info.Slot, AuthorizedKeys: []*dkey.PublicKey{req.Owner},
		ConfidentialMailboxSize: req.Mailboxes.ConfidentialSize, PrivateMailboxSize: req.Mailboxes.PrivateSize,
	}
	leaf, err := cert.NewEndpoint(tmpl("endpoint"), ext, info.PublicKey, ph.instCert, ph.instKey)
	if err != nil {
		_ = ph.applet.Terminate(req.Vehicle)
		return nil, err
	}
	ck := &sharing.CreatedKey{PublicKey: info.PublicKey, Slot: info.Slot, Chain: [][]byte{leaf.Raw, ph.instCert.Raw}}
	if ph.tamper != nil {
		ph.tamper(ck)
	}
	return ck, nil
}

var _ sharing.KeyCreator = (*phone)(nil)

// car is a vehicle: a reader, its certificate chain and the sharing side.
type car struct {
	id      dkey.VehicleID
	key     *dkey.SoftwareKey
	reader  *vehicle.Reader
	chain   [][]byte
	sharing *sharing.Vehicle
	store   *sharing.RevocationStore
	// slots records the attestation ID of each admitted friend key, as
	// the lead's vehicle will.
	friends map[dkey.KeySlot]*sharing.Friend
}

func newCar(t testing.TB, p *pki, c *clock, vin string) *car {
	t.Helper()
	id, err := dkey.NewVehicleID([]byte(vin))
	if err != nil {
		t.Fatal(err)
	}
	k := mustKey(t)
	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: id, Key: k, Time: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := cert.NewVehicle(tmpl(vin), k.PublicKey(), p.vehicleRoot, p.vehicleRootKey)
	if err != nil {
		t.Fatal(err)
	}
	store := sharing.NewRevocationStore(0)
	sv, err := sharing.NewVehicle(&sharing.VehicleConfig{Vehicle: id, Revocations: store, Time: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &car{id: id, key: k, reader: r, chain: [][]byte{leaf.Raw}, sharing: sv, store: store, friends: map[dkey.KeySlot]*sharing.Friend{}}
}

// signers returns the active enrolled keys as attest signers.
func (c *car) signers() []attest.Signer {
	var out []attest.Signer
	for _, k := range c.reader.Keys() {
		if k.State == dkey.KeyActive {
			out = append(out, attest.Signer{Key: k.PublicKey, Slot: k.Slot, Grant: k.Profile})
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

var ownerMailboxes = dkey.MailboxConfig{PrivateSize: 2048, ConfidentialSize: 64}

func deviceKeyConfig(c *car, slot dkey.KeySlot) device.KeyConfig {
	return device.KeyConfig{VehicleID: c.id, VehicleKey: c.reader.PublicKey(), Slot: slot, Mailboxes: ownerMailboxes}
}

func vehicleOwner(info device.KeyInfo) vehicle.Enrollment {
	return vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), Mailboxes: ownerMailboxes}
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

// firstFriendTransaction runs the vehicle's unknown-slot path over APDUs
// against the friend's applet, as the lead wires it into vehicle.Reader: a
// standard transaction whose AUTH1 response carries the statement area (the
// private subset of FriendMailboxes), AdmitFriend with the AUTH1 slot, the
// AUTH1 signature verified with the attested key, enrolment, and CONTROL
// FLOW 4082, on which the device clears the area.
func (c *car) firstFriendTransaction(ph *phone) (*sharing.Friend, error) {
	v, err := transaction.NewVehicle(&transaction.VehicleConfig{VehicleID: c.id, Key: c.key})
	if err != nil {
		return nil, err
	}
	s := v.NewSession()
	defer s.Close()
	cl := transport.NewClient(ph.card, nil)
	do := func(cmd transport.Command) (transport.Response, error) {
		r, err := cl.Do(context.Background(), &cmd, nil)
		if err == nil && !r.SW.OK() {
			err = r.SW
		}
		return r, err
	}
	if err := s.Start(dkey.ActionUnlock, 0); err != nil {
		return nil, err
	}
	r, err := do(s.Select())
	if err != nil {
		return nil, err
	}
	if err := s.ReadSelect(r); err != nil {
		return nil, err
	}
	cmd, err := s.Auth0()
	if err != nil {
		return nil, err
	}
	if r, err = do(cmd); err != nil {
		return nil, err
	}
	if err := s.ReadAuth0(r); err != nil {
		return nil, err
	}
	if cmd, err = s.Auth1(); err != nil {
		return nil, err
	}
	if r, err = do(cmd); err != nil {
		return nil, err
	}
	a1, err := s.ReadAuth1(r)
	if err != nil {
		return nil, err
	}
	f, cf, err := c.admit(s, a1)
	if _, cerr := do(s.ControlFlow(cf)); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// The device's side of CONTROL FLOW 4082, which the lead wires into
	// device.Applet: clear the statement area.
	area, err := c.readArea(ph)
	if err != nil {
		return nil, err
	}
	sharing.ClearMailboxArea(area)
	if err := ph.applet.WritePrivateMailbox(c.id, 0, area); err != nil {
		return nil, err
	}
	return f, nil
}

// admit is the vehicle's decision on an unknown slot, and the CONTROL FLOW
// that ends the transaction.
func (c *car) admit(s *transaction.VehicleSession, a1 transaction.Auth1Result) (*sharing.Friend, transaction.ControlFlow, error) {
	entries, err := sharing.ParseMailbox(a1.Private)
	if err != nil {
		return nil, transaction.CFInvalidDataFormat, err
	}
	var stmt []byte
	for _, e := range entries {
		if e.Kind == sharing.KindKeyAttestation && stmt == nil {
			stmt = e.Statement
		}
	}
	if stmt == nil {
		return nil, transaction.CFKeyNotFound, dkey.ErrUnknownKey
	}
	f, err := c.sharing.AdmitFriend(stmt, a1.Slot, c.signers())
	if err != nil {
		var ve *sharing.VehicleError
		errors.As(err, &ve)
		return nil, transaction.ControlFlow(ve.ControlFlow()), err
	}
	if _, err := s.VerifyEndpoint(f.PublicKey); err != nil {
		return nil, transaction.CFInvalidSignature, err
	}
	if err := c.enrollFriend(f); err != nil {
		return nil, transaction.CFFailure, err
	}
	return f, transaction.CFDeleteAttestation, nil
}

func (c *car) enrollFriend(f *sharing.Friend) error {
	err := c.reader.Enroll(vehicle.Enrollment{
		PublicKey: f.PublicKey, Slot: f.Slot, Role: dkey.RoleFriend, Profile: f.Profile,
		// Friend.NotAfter is inclusive to the second; the reader's bound is
		// exclusive.
		NotBefore: f.NotBefore, NotAfter: f.NotAfter.Add(time.Second), Mailboxes: sharing.FriendMailboxes(),
	})
	if err == nil {
		c.friends[f.Slot] = f
	}
	return err
}

// terminate processes a termination attestation and removes the key, as the
// lead's vehicle will.
func (c *car) terminate(stmt []byte) (*sharing.Revocation, error) {
	r, err := c.sharing.ProcessTermination(stmt, c.signers())
	if err != nil {
		return nil, err
	}
	if err := c.reader.Remove(r.Slot); err != nil && !errors.Is(err, dkey.ErrUnknownKey) {
		return nil, err
	}
	return r, nil
}

func (c *car) transact(t testing.TB, ph *phone, a dkey.Action) (vehicle.Result, error) {
	t.Helper()
	return c.reader.Transact(context.Background(), ph.card, a)
}

// world is a vehicle with an owner, a friend's phone, a relay and the
// automaker's key server.
type world struct {
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
	w := &world{clock: c, pki: p, car: newCar(t, p, c, "VIN00001"), owner: newPhone(t, p, c, "owner"), friend: newPhone(t, p, c, "friend")}
	w.ownerK = w.car.enrollOwner(t, w.owner)
	w.relay = sharing.NewMemoryRelay(&sharing.MemoryRelayConfig{Time: c.Now})
	w.ksKey = mustKey(t)
	var err error
	if w.server, err = sharing.NewMemoryKeyServer(&sharing.MemoryKeyServerConfig{Key: w.ksKey, Time: c.Now}); err != nil {
		t.Fatal(err)
	}
	return w
}

// ownerConfig is the sharing configuration of the owner's device.
func (w *world) ownerConfig() *sharing.OwnerConfig {
	return &sharing.OwnerConfig{
		Vehicle: w.car.id, VehicleKey: w.car.reader.PublicKey(),
		VehicleChain: w.car.chain, VehicleRoot: w.pki.vehicleRoot.Raw,
		Key: w.owner.se.signer(w.ownerK.PublicKey), Slot: w.ownerK.Slot,
		Certificates: &cert.Config{DeviceRoots: w.pki.deviceRoots()},
		Time:         w.clock.Now,
	}
}

// unlockOnly is the offer of the example: unlock and lock, a week.
func (w *world) unlockOnly() *sharing.Offer {
	return &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter: w.clock.Now().Add(7 * 24 * time.Hour),
	}
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
	mbox, stok, err := w.relay.CreateMailbox(ctx, &sharing.NewMailbox{Content: sealed, Expires: os.Invitation().Expires})
	if err != nil {
		t.Fatal(err)
	}
	// The URL ...#<link> goes to the friend through any messenger.
	url := "https://relay.example/m/" + mbox.String() + "#" + link.String()

	// Friend.
	fragment := url[len(url)-43:]
	flink, err := sharing.ParseLink(fragment)
	if err != nil {
		t.Fatal(err)
	}
	fk, err := flink.Key()
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.relay.ReadSecureContent(ctx, mbox, sharing.Sender)
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
	rtok, err := w.relay.UpdateMailbox(ctx, mbox, sharing.AccessToken{}, ksr)
	if err != nil {
		t.Fatal(err)
	}

	// Owner.
	got, err = w.relay.ReadSecureContent(ctx, mbox, sharing.Receiver)
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
	if _, err := w.relay.UpdateMailbox(ctx, mbox, stok, issued.Message); err != nil {
		t.Fatal(err)
	}

	// Friend.
	got, err = w.relay.ReadSecureContent(ctx, mbox, sharing.Sender)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := fs.Import(got)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if err := w.friend.applet.WritePrivateMailbox(w.car.id, 0, imp.Mailbox); err != nil {
		t.Fatal(err)
	}
	if err := w.relay.DeleteMailbox(ctx, mbox, rtok); err != nil {
		t.Fatal(err)
	}
	return issued
}
