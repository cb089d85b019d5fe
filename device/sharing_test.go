package device

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var shareNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// shareSetup is an applet with an instance CA of a Device OEM root, and a
// vehicle (identifier and key) it creates keys for.
type shareSetup struct {
	applet *Applet
	se     *pairingElement
	roots  *x509.CertPool
	caKey  *dkey.SoftwareKey
	ca     *x509.Certificate
	vid    dkey.VehicleID
	vkey   *dkey.SoftwareKey
	owner  *dkey.PublicKey
	now    time.Time
}

func shareTemplate(cn string) cert.Template {
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: shareNow.AddDate(-1, 0, 0), NotAfter: shareNow.AddDate(5, 0, 0)}
}

func mustSoftwareKey(t testing.TB) *dkey.SoftwareKey {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newShareSetup(t testing.TB) *shareSetup {
	t.Helper()
	s := &shareSetup{se: &pairingElement{}, caKey: mustSoftwareKey(t), vkey: mustSoftwareKey(t), owner: mustSoftwareKey(t).PublicKey(), now: shareNow}
	rootKey := mustSoftwareKey(t)
	root, err := cert.NewDeviceRoot(shareTemplate("Device OEM Root"), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if s.ca, err = cert.NewInstanceCA(shareTemplate("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, s.caKey.PublicKey(), root, rootKey); err != nil {
		t.Fatal(err)
	}
	s.roots = x509.NewCertPool()
	s.roots.AddCert(root)
	s.vid, _ = dkey.NewVehicleID([]byte("VIN00008"))
	s.applet, err = NewApplet(&Config{SecureElement: s.se, Time: func() time.Time { return s.now }, InstanceCA: &InstanceCA{Certificate: s.ca, Key: s.caKey}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *shareSetup) request() *sharing.KeyRequest {
	return &sharing.KeyRequest{Vehicle: s.vid, VehicleKey: s.vkey.PublicKey(), Mailboxes: sharing.FriendMailboxes(), Owner: s.owner}
}

// attestation returns a key attestation of info signed by a fresh key, and
// the statement area holding it, as sharing.FriendSession.Import returns.
func (s *shareSetup) imported(t testing.TB, key *dkey.PublicKey, slot dkey.KeySlot) *sharing.Imported {
	t.Helper()
	ownerSlot, _ := dkey.NewKeySlot([]byte("owner"))
	a := &attest.KeyAttestation{
		ID: attest.NewID(), VehicleID: s.vid, FriendKey: key, FriendSlot: slot,
		Profile: dkey.AccessProfile{Entitlements: dkey.AccessOnly}, NotBefore: shareNow, NotAfter: shareNow.Add(time.Hour),
		IssuedAt: shareNow, SignerSlot: ownerSlot,
	}
	stmt, err := a.Sign(mustSoftwareKey(t))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: stmt})
	if err != nil {
		t.Fatal(err)
	}
	return &sharing.Imported{Attestation: a, Statement: stmt, Mailbox: mb}
}

// transact runs a standard unlock with the vehicle key against the applet,
// up to AUTH1 and the endpoint's signature, then ops (if any) by EXCHANGE,
// then CONTROL FLOW cf. It returns the first error.
func (s *shareSetup) transact(t testing.TB, cf transaction.ControlFlow, ops ...transaction.MailboxOp) error {
	t.Helper()
	return s.transactOn(t, s.applet, cf, ops...)
}

// transactOn is transact through card, in front of the applet.
func (s *shareSetup) transactOn(t testing.TB, card transport.Card, cf transaction.ControlFlow, ops ...transaction.MailboxOp) error {
	t.Helper()
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: s.vid, Key: s.vkey})
	if err != nil {
		t.Fatal(err)
	}
	vs := v.NewSession()
	defer vs.Close()
	c := transport.NewClient(transporttest.NewCard(card), &transport.ClientConfig{ExtendedLength: true})
	do := func(cmd transport.Command) (transport.Response, error) {
		r, err := c.Do(context.Background(), &cmd, nil)
		if err == nil && !r.SW.OK() {
			err = r.SW
		}
		return r, err
	}
	if err := vs.Start(dkey.ActionUnlock, transaction.FlagExchange); err != nil {
		return err
	}
	steps := func() error {
		r, err := do(vs.Select())
		if err != nil {
			return err
		}
		if err := vs.ReadSelect(r); err != nil {
			return err
		}
		cmd, err := vs.Auth0()
		if err != nil {
			return err
		}
		if r, err = do(cmd); err != nil {
			return err
		}
		if err := vs.ReadAuth0(r); err != nil {
			return err
		}
		if cmd, err = vs.Auth1(); err != nil {
			return err
		}
		if r, err = do(cmd); err != nil {
			return err
		}
		a1, err := vs.ReadAuth1(r)
		if err != nil {
			return err
		}
		info, _ := s.applet.Key(s.vid)
		if _, err := vs.VerifyEndpoint(info.PublicKey); err != nil || a1.Slot != info.Slot {
			return errors.Join(err, errors.New("AUTH1 from another slot"))
		}
		for _, op := range ops {
			cmd, err := vs.Exchange([]transaction.MailboxOp{op})
			if err != nil {
				return err
			}
			if r, err = do(cmd); err != nil {
				return err
			}
			if _, err := vs.ReadExchange(r); err != nil {
				return err
			}
		}
		return nil
	}
	err = steps()
	if _, cerr := do(vs.ControlFlow(cf)); err == nil {
		err = cerr
	}
	return err
}

func TestCreateSharedKey(t *testing.T) {
	s := newShareSetup(t)
	assigned, _ := dkey.NewKeySlot([]byte("assigned"))
	req := s.request()
	req.Slot = assigned
	ck, err := s.applet.CreateSharedKey(req)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Slot != assigned || len(ck.Chain) != 2 || !bytes.Equal(ck.Chain[1], s.ca.Raw) {
		t.Fatalf("CreateSharedKey = slot %v, %d certificates", ck.Slot, len(ck.Chain))
	}
	// The chain is what the owner verifies (docs/protocol.md §6.1 step 4).
	ep, err := (&cert.Config{DeviceRoots: s.roots, Time: func() time.Time { return shareNow }}).VerifyEndpoint(ck.Chain, s.vid, s.vkey.PublicKey())
	if err != nil {
		t.Fatalf("VerifyEndpoint: %v", err)
	}
	x := ep.Extension
	if !ep.Key.Equal(ck.PublicKey) || x.InitialKeySlot != assigned || x.ProtocolVersion != dkey.Version1 || len(x.AuthorizedKeys) != 1 || !x.AuthorizedKeys[0].Equal(s.owner) ||
		x.PrivateMailboxSize != req.Mailboxes.PrivateSize || x.ConfidentialMailboxSize != req.Mailboxes.ConfidentialSize {
		t.Errorf("endpoint certificate extension = %+v", x)
	}
	info, _ := s.applet.Key(s.vid)
	if info.Role != dkey.RoleFriend || info.State != dkey.KeySuspended || !info.AwaitingImport || !info.PublicKey.Equal(ck.PublicKey) || !info.VehicleKey.Equal(s.vkey.PublicKey()) {
		t.Errorf("the new key = %+v, want a suspended friend key awaiting its attestation", info)
	}
	// It can neither transact nor be resumed before the import.
	if err := s.transact(t, transaction.CFSuccess); !errors.Is(err, dkey.SWConditionsNotSatisfied) {
		t.Errorf("transaction before the import = %v, want %v", err, dkey.SWConditionsNotSatisfied)
	}
	if err := s.applet.Resume(s.vid); !errors.Is(err, ErrAwaitingImport) {
		t.Errorf("Resume before the import = %v, want %v", err, ErrAwaitingImport)
	}
	if _, err := s.applet.CreateSharedKey(s.request()); !errors.Is(err, ErrKeyExists) {
		t.Errorf("a second key for the vehicle = %v, want %v", err, ErrKeyExists)
	}
	// Imported, it transacts.
	if err := s.applet.ImportSharedKey(s.imported(t, ck.PublicKey, ck.Slot)); err != nil {
		t.Fatal(err)
	}
	if err := s.transact(t, transaction.CFSuccess); err != nil {
		t.Errorf("transaction after the import = %v", err)
	}
}

// failingSigner is an instance CA key that cannot sign.
type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("secure element busy")
}

func TestCreateSharedKeyRefused(t *testing.T) {
	s := newShareSetup(t)
	plain, _ := NewApplet(nil)
	homeKey, _ := NewApplet(&Config{Profile: dkey.HomeKey, InstanceCA: &InstanceCA{Certificate: s.ca, Key: s.caKey}})
	failing, err := NewApplet(&Config{SecureElement: s.se, InstanceCA: &InstanceCA{Certificate: s.ca, Key: failingSigner{s.caKey}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		a    *Applet
		req  *sharing.KeyRequest
		want error
	}{
		{"no instance CA", plain, s.request(), ErrNoInstanceCA},
		{"Home Key", homeKey, s.request(), ErrNoInstanceCA},
		{"no request", s.applet, nil, nil},
		{"no vehicle key", s.applet, &sharing.KeyRequest{Vehicle: s.vid}, nil},
		{"the CA cannot sign", failing, s.request(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := s.se.count()
			ck, err := tt.a.CreateSharedKey(tt.req)
			if err == nil || ck != nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("CreateSharedKey = %v, %v; want an error %v", ck, err, tt.want)
			}
			if len(tt.a.Keys()) != 0 || s.se.count() != before {
				t.Errorf("a refused creation left keys: %+v, %d in the secure element", tt.a.Keys(), s.se.count()-before)
			}
		})
	}
}

func TestInstanceCAConfig(t *testing.T) {
	s := newShareSetup(t)
	other := newShareSetup(t)
	for _, tt := range []struct {
		name string
		cfg  *Config
		ok   bool
	}{
		{"instance CA", &Config{InstanceCA: &InstanceCA{Certificate: s.ca, Key: s.caKey}}, true},
		{"from pairing", &Config{Pairing: &pairing.DeviceConfig{InstanceCA: s.ca, InstanceCAKey: s.caKey}}, true},
		{"both, the same", &Config{InstanceCA: &InstanceCA{Certificate: s.ca, Key: s.caKey}, Pairing: &pairing.DeviceConfig{InstanceCA: s.ca, InstanceCAKey: s.caKey}}, true},
		{"both, different", &Config{InstanceCA: &InstanceCA{Certificate: s.ca, Key: s.caKey}, Pairing: &pairing.DeviceConfig{InstanceCA: other.ca, InstanceCAKey: other.caKey}}, false},
		{"another key", &Config{InstanceCA: &InstanceCA{Certificate: s.ca, Key: other.caKey}}, false},
		{"no key", &Config{InstanceCA: &InstanceCA{Certificate: s.ca}}, false},
		{"no certificate", &Config{InstanceCA: &InstanceCA{Key: s.caKey}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewApplet(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewApplet = %v, want success %v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			id, ok := a.DeviceID()
			if want := sharing.DeviceIDOf(s.caKey.PublicKey()); !ok || id != want {
				t.Errorf("DeviceID = %x, %v; want %x", id, ok, want)
			}
		})
	}
	plain, _ := NewApplet(nil)
	if _, ok := plain.DeviceID(); ok {
		t.Error("DeviceID of an applet without an instance CA")
	}
}

func TestImportSharedKey(t *testing.T) {
	s := newShareSetup(t)
	ck, err := s.applet.CreateSharedKey(s.request())
	if err != nil {
		t.Fatal(err)
	}
	otherSlot, _ := dkey.NewKeySlot([]byte("other"))
	otherVehicle, _ := dkey.NewVehicleID([]byte("VIN00009"))
	good := s.imported(t, ck.PublicKey, ck.Slot)
	big := s.imported(t, ck.PublicKey, ck.Slot)
	big.Mailbox = append(bytes.Clone(big.Mailbox), make([]byte, 1024)...)
	foreign := s.imported(t, ck.PublicKey, ck.Slot)
	foreign.Attestation.VehicleID = otherVehicle
	for _, tt := range []struct {
		name string
		imp  *sharing.Imported
		want error
	}{
		{"another key", s.imported(t, mustSoftwareKey(t).PublicKey(), ck.Slot), sharing.ErrMismatch},
		{"another slot", s.imported(t, ck.PublicKey, otherSlot), sharing.ErrMismatch},
		{"another vehicle", foreign, dkey.ErrUnknownVehicle},
		{"too large", big, ErrMailboxAccess},
		{"no area", &sharing.Imported{Attestation: good.Attestation, Mailbox: []byte{0, 0}}, sharing.ErrMalformed},
		{"nil", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.applet.ImportSharedKey(tt.imp)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("ImportSharedKey = %v, want %v", err, tt.want)
			}
			if info, _ := s.applet.Key(s.vid); !info.AwaitingImport || info.State != dkey.KeySuspended {
				t.Errorf("a refused import changed the key: %+v", info)
			}
		})
	}
	if err := s.applet.ImportSharedKey(good); err != nil {
		t.Fatal(err)
	}
	info, _ := s.applet.Key(s.vid)
	if info.AwaitingImport || info.State != dkey.KeyActive {
		t.Errorf("the imported key = %+v, want active", info)
	}
	got, _ := s.applet.ReadPrivateMailbox(s.vid, 0, len(good.Mailbox))
	if !bytes.Equal(got, good.Mailbox) {
		t.Errorf("private mailbox = %x, want %x", got, good.Mailbox)
	}
	if err := s.applet.ImportSharedKey(good); err == nil {
		t.Error("a second import succeeded")
	}
}

func TestSharingSigner(t *testing.T) {
	s := newShareSetup(t)
	info, err := s.applet.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Mailboxes: dkey.MailboxConfig{PrivateSize: 64}})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("attestation"))
	for _, tt := range []struct {
		name  string
		setup func(*Applet)
		want  error
	}{
		{"no user authentication", func(*Applet) {}, dkey.ErrUserAuthenticationRequired},
		{"expired user authentication", func(a *Applet) { a.AuthenticateUser(shareNow) }, dkey.ErrUserAuthenticationRequired},
		{"lost mode", func(a *Applet) { a.AuthenticateUser(shareNow.Add(time.Minute)); a.SetLostMode(true) }, dkey.ErrKeySuspended},
		{"suspended", func(a *Applet) { a.AuthenticateUser(shareNow.Add(time.Minute)); _ = a.Suspend(s.vid) }, dkey.ErrKeySuspended},
		{"authenticated", func(a *Applet) { a.AuthenticateUser(shareNow.Add(time.Minute)) }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				s.applet.SetLostMode(false)
				_ = s.applet.Resume(s.vid)
				s.applet.AuthenticateUser(time.Time{})
			}()
			tt.setup(s.applet)
			signer, slot, err := s.applet.SharingSigner(s.vid)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("SharingSigner = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if slot != info.Slot || !signer.Public().(*ecdsa.PublicKey).Equal(info.PublicKey.ECDSA()) {
				t.Errorf("SharingSigner = slot %v, another key", slot)
			}
			sig, err := signer.Sign(nil, digest[:], crypto.SHA256)
			if err != nil || !ecdsa.VerifyASN1(info.PublicKey.ECDSA(), digest[:], sig) {
				t.Errorf("Sign = %x, %v", sig, err)
			}
		})
	}
	// The checks hold at every signature.
	s.applet.AuthenticateUser(shareNow.Add(time.Minute))
	signer, _, err := s.applet.SharingSigner(s.vid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func()
		want   error
	}{
		{"lost mode since", func() { s.applet.SetLostMode(true) }, dkey.ErrKeySuspended},
		{"authentication expired since", func() { s.applet.SetLostMode(false); s.now = shareNow.Add(time.Minute) }, dkey.ErrUserAuthenticationRequired},
		{"terminated since", func() { _ = s.applet.Terminate(s.vid) }, dkey.ErrKeyTerminated},
	} {
		tt.change()
		if _, err := signer.Sign(nil, digest[:], crypto.SHA256); !errors.Is(err, tt.want) {
			t.Errorf("%s: Sign = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, _, err := s.applet.SharingSigner(s.vid); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("SharingSigner of a terminated key = %v", err)
	}
}

func TestTerminateAttested(t *testing.T) {
	s := newShareSetup(t)
	info, err := s.applet.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Role: dkey.RoleFriend})
	if err != nil {
		t.Fatal(err)
	}
	s.applet.SetLostMode(true) // deleting a key is always allowed
	stmt, err := s.applet.TerminateAttested(s.vid)
	if err != nil {
		t.Fatal(err)
	}
	ta, err := attest.VerifyTerminationAttestation(stmt, attest.VerifyOptions{Vehicle: s.vid, Signers: []attest.Signer{{Key: info.PublicKey, Slot: info.Slot}}})
	if err != nil || ta.Slot != info.Slot || ta.KeyHash != attest.KeyHash(info.PublicKey) || !ta.TerminatedAt.Equal(shareNow) {
		t.Fatalf("termination attestation = %+v, %v", ta, err)
	}
	if _, ok := s.applet.Key(s.vid); ok || s.se.count() != 0 {
		t.Errorf("the key survived TerminateAttested (%d in the secure element)", s.se.count())
	}
	if _, err := s.applet.TerminateAttested(s.vid); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("TerminateAttested again = %v", err)
	}
}

func TestTerminateShared(t *testing.T) {
	s := newShareSetup(t)
	info, err := s.applet.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Mailboxes: dkey.MailboxConfig{PrivateSize: 600}})
	if err != nil {
		t.Fatal(err)
	}
	// Bits of the signaling bitmap that are not sharing's stay.
	if err := s.applet.WritePrivateMailbox(s.vid, 0, []byte{0x01, 0, 0}); err != nil {
		t.Fatal(err)
	}
	friendSlot, _ := dkey.NewKeySlot([]byte("friend"))
	friend := mustSoftwareKey(t).PublicKey()
	term := &sharing.Termination{Vehicle: s.vid, Slot: friendSlot, Key: friend}
	if _, err := s.applet.TerminateShared(term); !errors.Is(err, dkey.ErrUserAuthenticationRequired) {
		t.Errorf("TerminateShared without a user authentication = %v", err)
	}
	if _, err := s.applet.TerminateShared(&sharing.Termination{Vehicle: s.vid, Slot: info.Slot, Key: info.PublicKey}); err == nil {
		t.Error("TerminateShared of the key itself succeeded")
	}
	s.applet.AuthenticateUser(shareNow.Add(time.Minute))
	stmt, err := s.applet.TerminateShared(term)
	if err != nil {
		t.Fatal(err)
	}
	ta, err := attest.VerifyTerminationAttestation(stmt, attest.VerifyOptions{Vehicle: s.vid, Signers: []attest.Signer{{Key: info.PublicKey, Slot: info.Slot, Grant: dkey.OwnerProfile()}}})
	if err != nil || ta.Slot != friendSlot || !ta.TerminatedAt.Equal(shareNow) {
		t.Fatalf("termination = %+v, %v", ta, err)
	}
	area := readArea(t, s.applet, s.vid)
	entries, err := sharing.ParseMailbox(area)
	if err != nil || len(entries) != 1 || entries[0].Kind != sharing.KindTermination || !bytes.Equal(entries[0].Statement, stmt) {
		t.Fatalf("statement area = %v, %v", entries, err)
	}
	if area[0] != 0x01|sharing.SignalTermination {
		t.Errorf("signaling bitmap %02x, want %02x", area[0], 0x01|sharing.SignalTermination)
	}
	// The area fills up: nothing is written past it.
	for {
		before := readArea(t, s.applet, s.vid)
		_, err := s.applet.TerminateShared(term)
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrMailboxFull) {
			t.Fatalf("TerminateShared into a full area = %v, want %v", err, ErrMailboxFull)
		}
		if after := readArea(t, s.applet, s.vid); !bytes.Equal(before, after) {
			t.Error("a refused statement changed the area")
		}
		break
	}
	// A malformed area is never overwritten.
	if err := s.applet.WritePrivateMailbox(s.vid, 0, []byte{sharing.SignalTermination, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := s.applet.AppendStatement(s.vid, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: stmt}); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("AppendStatement to a malformed area = %v, want %v", err, sharing.ErrMalformed)
	}
	if err := s.applet.WritePrivateMailbox(s.vid, 0, []byte{0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := s.applet.AppendStatement(s.vid, sharing.MailboxEntry{Kind: 9, Statement: stmt}); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("AppendStatement of an unknown kind = %v, want %v", err, sharing.ErrMalformed)
	}
	tiny, _ := dkey.NewVehicleID([]byte("VIN0000T"))
	if _, err := s.applet.CreateKey(KeyConfig{VehicleID: tiny, VehicleKey: s.vkey.PublicKey(), Mailboxes: dkey.MailboxConfig{PrivateSize: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.applet.AppendStatement(tiny, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: stmt}); !errors.Is(err, ErrMailboxFull) {
		t.Errorf("AppendStatement to a 2-byte mailbox = %v, want %v", err, ErrMailboxFull)
	}
}

// readArea returns the statement area at the start of the private mailbox.
func readArea(t testing.TB, a *Applet, vid dkey.VehicleID) []byte {
	t.Helper()
	hdr, err := a.ReadPrivateMailbox(vid, 0, sharing.AreaHeaderSize)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sharing.ParseAreaHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.ReadPrivateMailbox(vid, 0, sharing.AreaHeaderSize+n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ackOp is the vehicle's acknowledgement of a statement area: the empty
// header written at offset 0 of the private mailbox (package vehicle).
func ackOp() transaction.MailboxOp {
	return transaction.MailboxOp{Kind: transaction.OpWrite, Mailbox: dkey.PrivateMailbox, Data: make([]byte, sharing.AreaHeaderSize)}
}

// TestStatementAreaAcknowledgement: the vehicle's acknowledgement, an
// EXCHANGE inside the secure channel, clears the statement area when the
// vehicle read it whole in the transaction and the host app did not write
// the mailbox meanwhile; it is refused, and clears nothing, otherwise.
// CONTROL FLOW 4082, in clear, clears nothing.
func TestStatementAreaAcknowledgement(t *testing.T) {
	readOp := func(off, n int) transaction.MailboxOp {
		return transaction.MailboxOp{Kind: transaction.OpRead, Mailbox: dkey.PrivateMailbox, Offset: uint16(off), Length: uint16(n)}
	}
	for _, tt := range []struct {
		name    string
		subset  uint16 // private AUTH1 subset from offset 0
		cf      transaction.ControlFlow
		ops     func(area int) []transaction.MailboxOp
		during  bool // the host app writes the mailbox during the transaction
		forged  bool // CONTROL FLOW right after SELECT: no AUTH1
		refused bool // the acknowledgement is refused
		cleared bool
	}{
		{name: "area in the AUTH1 subset", subset: 600, cf: transaction.CFDeleteAttestation, cleared: true,
			ops: func(n int) []transaction.MailboxOp { return []transaction.MailboxOp{ackOp()} }},
		{name: "header in AUTH1, the rest by EXCHANGE", subset: 3, cf: transaction.CFDeleteAttestation, cleared: true,
			ops: func(n int) []transaction.MailboxOp { return []transaction.MailboxOp{readOp(3, n-3), ackOp()} }},
		{name: "all by EXCHANGE, in two reads", cf: transaction.CFDeleteAttestation, cleared: true,
			ops: func(n int) []transaction.MailboxOp {
				return []transaction.MailboxOp{readOp(0, 100), readOp(100, n-100), ackOp()}
			}},
		{name: "acknowledged, success code", subset: 600, cf: transaction.CFSuccess, cleared: true,
			ops: func(n int) []transaction.MailboxOp { return []transaction.MailboxOp{ackOp()} }},
		{name: "not read", cf: transaction.CFDeleteAttestation, refused: true,
			ops: func(n int) []transaction.MailboxOp { return []transaction.MailboxOp{ackOp()} }},
		{name: "header only", subset: 3, cf: transaction.CFDeleteAttestation, refused: true,
			ops: func(n int) []transaction.MailboxOp { return []transaction.MailboxOp{ackOp()} }},
		{name: "a gap", cf: transaction.CFDeleteAttestation, refused: true,
			ops: func(n int) []transaction.MailboxOp {
				return []transaction.MailboxOp{readOp(0, 100), readOp(101, n-101), ackOp()}
			}},
		{name: "read whole, 4082 without acknowledgement", subset: 600, cf: transaction.CFDeleteAttestation},
		{name: "read, host wrote meanwhile", subset: 600, cf: transaction.CFDeleteAttestation, during: true, refused: true,
			ops: func(n int) []transaction.MailboxOp { return []transaction.MailboxOp{ackOp()} }},
		{name: "forged, no AUTH1", subset: 600, cf: transaction.CFDeleteAttestation, forged: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newShareSetup(t)
			mb := dkey.MailboxConfig{PrivateSize: 640, PrivateAuth1: dkey.MailboxRange{Length: tt.subset}}
			info, err := s.applet.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Role: dkey.RoleFriend, Mailboxes: mb})
			if err != nil {
				t.Fatal(err)
			}
			imp := s.imported(t, info.PublicKey, info.Slot)
			if err := s.applet.WritePrivateMailbox(s.vid, 0, imp.Mailbox); err != nil {
				t.Fatal(err)
			}
			var ops []transaction.MailboxOp
			if tt.ops != nil {
				ops = tt.ops(len(imp.Mailbox))
			}
			switch {
			case tt.forged:
				forgeControlFlow(t, s, tt.cf)
			case tt.during:
				// The host app queues a statement between AUTH1 and the
				// acknowledgement: the vehicle has not seen it.
				card := &hookCard{a: s.applet, before: func(cmd []byte) {
					if len(cmd) > 1 && cmd[1] == insExchange {
						_ = s.applet.WritePrivateMailbox(s.vid, 0, imp.Mailbox)
					}
				}}
				err = s.transactOn(t, card, tt.cf, ops...)
			default:
				err = s.transact(t, tt.cf, ops...)
			}
			if refused := errors.Is(err, dkey.SWConditionsNotSatisfied); refused != tt.refused || (err != nil && !refused) {
				t.Errorf("transaction = %v, want the acknowledgement refused: %v", err, tt.refused)
			}
			area := readArea(t, s.applet, s.vid)
			if cleared := len(area) == sharing.AreaHeaderSize; cleared != tt.cleared {
				t.Errorf("area after CONTROL FLOW %v = %x, want cleared %v", tt.cf, area, tt.cleared)
			}
		})
	}
}

// forgeControlFlow plays a relay that answers for the vehicle after AUTH0
// and sends CONTROL FLOW cf.
func forgeControlFlow(t *testing.T, s *shareSetup, cf transaction.ControlFlow) {
	t.Helper()
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: s.vid, Key: s.vkey})
	if err != nil {
		t.Fatal(err)
	}
	vs := v.NewSession()
	if err := vs.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	send := func(c transport.Command) transport.Response {
		b, err := c.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := transport.ParseResponse(s.applet.ProcessAPDU(nil, b))
		if err != nil || !r.SW.OK() {
			t.Fatalf("%X = %v, %v", b, r.SW, err)
		}
		return r
	}
	if err := vs.ReadSelect(send(vs.Select())); err != nil {
		t.Fatal(err)
	}
	auth0, err := vs.Auth0()
	if err != nil {
		t.Fatal(err)
	}
	send(auth0)
	send(vs.ControlFlow(cf))
}

// hookCard is an applet behind a hook called before each command.
type hookCard struct {
	a      *Applet
	before func(cmd []byte)
}

func (c *hookCard) ProcessAPDU(dst, cmd []byte) []byte {
	c.before(cmd)
	return c.a.ProcessAPDU(dst, cmd)
}

func TestTerminateErasesPairingSecret(t *testing.T) {
	s := newPairingSetup(t, dkey.CCC)
	if err := s.applet.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t, nil); err != nil {
		t.Fatalf("pairing: %v", err)
	}
	info, _ := s.applet.Key(s.vehicle.VehicleID)
	id := s.applet.keys[0].id
	secret, err := s.se.Secret(nil, SecretID{Key: id, Kind: SecretPairing})
	if err != nil || len(secret) != pairing.LongTermSecretSize || bytes.Equal(secret, make([]byte, pairing.LongTermSecretSize)) {
		t.Fatalf("the secure element holds pairing secret %x, %v; want one", secret, err)
	}
	if err := s.applet.Terminate(s.vehicle.VehicleID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.se.Secret(nil, SecretID{Key: id, Kind: SecretPairing}); !errors.Is(err, ErrNoSecret) {
		t.Errorf("after Terminate the secure element still holds the pairing secret: %v", err)
	}
	if _, ok := s.applet.Pairing(s.vehicle.VehicleID); ok {
		t.Error("Pairing of a terminated key")
	}
	if k := s.applet.keys[0]; k.pairing != nil || k.cred.Key != nil || info.Slot != k.cred.Slot {
		t.Errorf("the terminated key kept its pairing record or its key handle")
	}
}
