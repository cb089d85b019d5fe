package vehicle

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// shareWorld is a vehicle whose owner paired (phones[0]), configured with
// a revocation store and a key tracking service, and the Device OEM roots
// of every phone, which the owner's device trusts for friends' keys.
type shareWorld struct {
	cfg    *Config
	reader *Reader
	store  *sharing.RevocationStore
	owner  *pairPhone
	slot   dkey.KeySlot // the owner key
	roots  *x509.CertPool
	ks     *sharing.MemoryKeyServer
	ksKey  *dkey.SoftwareKey
}

type shareOptions struct {
	keyConfig *pairing.OwnerKeyConfig
	noTrack   bool
	phones    []*pairPhone
	// store and kek keep the reader's state.
	store Store
	kek   KeyEncryptionKey
	hooks *Hooks
}

func newShareWorld(t testing.TB, o shareOptions) *shareWorld {
	t.Helper()
	if len(o.phones) == 0 {
		o.phones = []*pairPhone{newPairPhone(t)}
	}
	w := &shareWorld{store: sharing.NewRevocationStore(0), owner: o.phones[0], roots: x509.NewCertPool(), ksKey: pairKey(t)}
	for _, p := range o.phones {
		w.roots.AddCert(p.root)
	}
	rootKey, vk := pairKey(t), pairKey(t)
	root := pairMust(t)(cert.NewVehicleRoot(pairTemplate("Vehicle OEM Root"), rootKey))
	vc := pairMust(t)(cert.NewVehicle(pairTemplate("Vehicle"), vk.PublicKey(), root, rootKey))
	vid, _ := dkey.NewVehicleID([]byte("VIN00042"))
	cfg := &Config{VehicleID: vid, Key: vk, Time: pairTime, Revocations: w.store, Store: o.store, KEK: o.kek, Hooks: o.hooks, Pairing: &PairingConfig{
		VehicleRoot: root.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: w.roots, KeyConfig: o.keyConfig,
	}}
	if !o.noTrack {
		cfg.TrackingKeys = []*dkey.PublicKey{w.ksKey.PublicKey()}
	}
	w.cfg = cfg
	var err error
	if w.reader, err = NewReader(cfg); err != nil {
		t.Fatal(err)
	}
	if w.ks, err = sharing.NewMemoryKeyServer(&sharing.MemoryKeyServerConfig{Key: w.ksKey, Time: pairTime}); err != nil {
		t.Fatal(err)
	}
	w.slot = w.pair(t, w.owner, false).Slot
	return w
}

// pair pairs p as the owner (replacing the previous one's device when
// replace is set: the same owner's new phone).
func (w *shareWorld) pair(t testing.TB, p *pairPhone, replace bool) PairResult {
	t.Helper()
	v, err := pairing.NewVerifier([]byte(pairCode), []byte("salt-0123456789!"), pairParams)
	if err != nil {
		t.Fatal(err)
	}
	install := w.reader.InstallVerifier
	if replace {
		install = w.reader.ReplaceOwnerDevice
	}
	if err := install(v); err != nil {
		t.Fatal(err)
	}
	if err := p.applet.StartPairing([]byte(pairCode)); err != nil {
		t.Fatal(err)
	}
	res, err := w.reader.Pair(context.Background(), p.card)
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	return res
}

// ownerConfig is the sharing configuration of the owner's device p: its
// key for the vehicle, lent after a user authentication, and what pairing
// left (the vehicle chain and root).
func (w *shareWorld) ownerConfig(t testing.TB, p *pairPhone) *sharing.OwnerConfig {
	t.Helper()
	p.applet.AuthenticateUser(pairNow.Add(time.Hour))
	key, slot, err := p.applet.SharingSigner(w.reader.ID())
	if err != nil {
		t.Fatalf("SharingSigner: %v", err)
	}
	pi, ok := p.applet.Pairing(w.reader.ID())
	if !ok {
		t.Fatal("the owner's device has no pairing record")
	}
	info, _ := p.applet.Key(w.reader.ID())
	return &sharing.OwnerConfig{
		Vehicle: w.reader.ID(), VehicleKey: info.VehicleKey, VehicleChain: pi.VehicleCertificates, VehicleRoot: pi.VehicleRoot,
		Key: key, Slot: slot, Certificates: &cert.Config{DeviceRoots: w.roots}, Time: pairTime,
	}
}

func unlockOnly() *sharing.Offer {
	return &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter: pairNow.Add(7 * 24 * time.Hour),
	}
}

// share runs a whole share from the owner's device p to friend (the relay
// left out: package sharing tests it) and imports the attestation.
func (w *shareWorld) share(t testing.TB, p, friend *pairPhone, offer *sharing.Offer) *sharing.Issued {
	t.Helper()
	lk, err := sharing.GenerateRecipientKey()
	if err != nil {
		t.Fatal(err)
	}
	os, sealed, err := sharing.Invite(w.ownerConfig(t, p), offer, lk.PublicKey())
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: pairTime}, lk, "", sealed)
	if err != nil {
		t.Fatalf("OpenInvitation: %v", err)
	}
	ksr, err := fs.SigningRequest(friend.applet)
	if err != nil {
		t.Fatalf("SigningRequest: %v", err)
	}
	req, err := os.ReadSigningRequest(ksr)
	if err != nil {
		t.Fatalf("ReadSigningRequest: %v", err)
	}
	issued, err := os.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := fs.Import(issued.Message)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if err := friend.applet.ImportSharedKey(imp); err != nil {
		t.Fatalf("ImportSharedKey: %v", err)
	}
	return issued
}

// transact runs a transaction with p and records it.
func (w *shareWorld) transact(p *pairPhone, a dkey.Action) (Result, transporttest.Transcript, error) {
	rec := transporttest.NewRecorder(p.card)
	res, err := w.reader.Transact(context.Background(), rec, a)
	return res, rec.Transcript(), err
}

// exchanges counts the EXCHANGE commands of a transcript.
func exchanges(tr transporttest.Transcript) int {
	n := 0
	for _, e := range tr {
		if len(e.Command) > 1 && e.Command[1] == 0xC9 {
			n++
		}
	}
	return n
}

// area returns the statement area of p's key.
func (w *shareWorld) area(t testing.TB, p *pairPhone) []byte {
	t.Helper()
	hdr, err := p.applet.ReadPrivateMailbox(w.reader.ID(), 0, sharing.AreaHeaderSize)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sharing.ParseAreaHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.applet.ReadPrivateMailbox(w.reader.ID(), 0, sharing.AreaHeaderSize+n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vstate is what a refused statement or transaction must not change.
type vstate struct {
	keys       string
	generation uint64
}

func (w *shareWorld) state() vstate {
	keys := w.reader.Keys()
	for i := range keys {
		keys[i].LastUse = time.Time{}
	}
	return vstate{fmt.Sprint(keys), w.store.Generation()}
}

func TestShareFirstFriendTransaction(t *testing.T) {
	owner, friend := newPairPhone(t), newPairPhone(t)
	w := newShareWorld(t, shareOptions{phones: []*pairPhone{owner, friend}})
	issued := w.share(t, w.owner, friend, unlockOnly())

	res, tr, err := w.transact(friend, dkey.ActionUnlock)
	if err != nil {
		t.Fatalf("first friend transaction: %v", err)
	}
	a := issued.Attestation
	if !res.FirstFriend || res.Fast || res.Slot != a.FriendSlot || res.Role != dkey.RoleFriend || res.Profile != a.Profile ||
		res.ControlFlow != transaction.CFDeleteAttestation || !res.ControlFlowDelivered {
		t.Fatalf("first friend transaction = %+v", res)
	}
	// The attestation came in the AUTH1 response: one EXCHANGE, the
	// authenticated acknowledgement that clears it.
	if n := exchanges(tr); n != 1 {
		t.Errorf("first friend transaction sent %d EXCHANGE commands, want 1", n)
	}
	if len(res.Statements) != 1 || res.Statements[0].Err != nil {
		t.Errorf("statements = %+v, want the friend's own attestation, accepted", res.Statements)
	}
	if area := w.area(t, friend); len(area) != sharing.AreaHeaderSize {
		t.Errorf("the friend's area after 4082 = %x, want empty", area)
	}
	// The dashboard lists the friend key with its role, profile and
	// validity.
	var got *KeyInfo
	for _, k := range w.reader.Keys() {
		if k.Slot == a.FriendSlot {
			got = &k
		}
	}
	if got == nil || got.Role != dkey.RoleFriend || got.Profile != a.Profile || !got.NotBefore.Equal(a.NotBefore) ||
		!got.NotAfter.Equal(a.NotAfter.Add(time.Second)) || got.SharedBy != w.slot || got.AttestationID != a.ID || !got.PublicKey.Equal(a.FriendKey) {
		t.Errorf("dashboard entry = %+v, want the attested key", got)
	}

	if _, _, err := w.transact(friend, dkey.ActionEngineStart); !errors.Is(err, dkey.ErrNotEntitled) {
		t.Errorf("friend engine start = %v, want %v", err, dkey.ErrNotEntitled)
	}
	res, _, err = w.transact(friend, dkey.ActionUnlock)
	if err != nil || !res.Fast || res.FirstFriend || res.Profile.MaxSpeed != 80 {
		t.Errorf("friend unlock = %+v, %v; want fast, with the speed limit", res, err)
	}
	if res, _, err := w.transact(w.owner, dkey.ActionEngineStart); err != nil || res.ControlFlow != transaction.CFSuccess {
		t.Errorf("owner engine start = %+v, %v", res, err)
	}
}

func TestSharedKeyRefusedBeforeImport(t *testing.T) {
	w := newShareWorld(t, shareOptions{})
	friend := newPairPhone(t)
	req := &sharing.KeyRequest{Vehicle: w.reader.ID(), VehicleKey: w.reader.PublicKey(), Mailboxes: sharing.FriendMailboxes()}
	if _, err := friend.applet.CreateSharedKey(req); err != nil {
		t.Fatal(err)
	}
	before := w.state()
	if _, _, err := w.transact(friend, dkey.ActionUnlock); !errors.Is(err, ErrRefused) || !errors.Is(err, dkey.SWConditionsNotSatisfied) {
		t.Errorf("transaction before the import = %v, want a refusal", err)
	}
	if after := w.state(); after != before {
		t.Errorf("state changed:\n%v\n%v", before, after)
	}
}

// bigOwner is a key configuration whose private mailbox holds long
// statement areas, read by EXCHANGE, header included (no private subset in
// AUTH1).
func bigOwner() *pairing.OwnerKeyConfig {
	kc := pairing.DefaultOwnerKeyConfig()
	kc.Mailboxes.PrivateSize = 4096
	kc.Mailboxes.PrivateAuth1 = dkey.MailboxRange{}
	kc.Mapping.AttestationLength = 4096 - kc.Mapping.AttestationOffset
	kc.Mapping.End = 4096
	return &kc
}

// terminations returns n termination attestations of unknown keys signed
// by the owner's device.
func (w *shareWorld) terminations(t testing.TB, n int) [][]byte {
	t.Helper()
	var out [][]byte
	w.owner.applet.AuthenticateUser(pairNow.Add(time.Hour))
	for i := range n {
		slot, _ := dkey.NewKeySlot([]byte(fmt.Sprintf("gone%04d", i)))
		stmt, err := w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: w.reader.ID(), Slot: slot, Key: pairKey(t).PublicKey()})
		if err != nil {
			t.Fatalf("TerminateShared %d: %v", i, err)
		}
		out = append(out, stmt)
	}
	return out
}

func TestOwnerStatementsByExchange(t *testing.T) {
	w := newShareWorld(t, shareOptions{keyConfig: bigOwner()})
	// An empty area costs one EXCHANGE (the header) per standard
	// transaction of a key without the header in its AUTH1 subset.
	res, tr, err := w.transact(w.owner, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFSuccess || exchanges(tr) != 1 || len(res.Statements) != 0 {
		t.Fatalf("engine start with an empty area = %+v, %d EXCHANGE, %v", res, exchanges(tr), err)
	}
	// More than one read's worth of statements.
	stmts := w.terminations(t, 8)
	if n := len(w.area(t, w.owner)); n <= transaction.MaxReadLength {
		t.Fatalf("area of %d bytes, want more than %d", n, transaction.MaxReadLength)
	}
	res, tr, err = w.transact(w.owner, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFDeleteAttestation || len(res.Statements) != len(stmts) {
		t.Fatalf("engine start with statements = %+v, %v", res, err)
	}
	if n := exchanges(tr); n < 3 {
		t.Errorf("%d EXCHANGE commands, want the header and two reads at least", n)
	}
	for i, s := range res.Statements {
		if s.Kind != sharing.KindTermination || s.Err != nil {
			t.Errorf("statement %d = %+v", i, s)
		}
	}
	if n := w.store.Len(); n != len(stmts) {
		t.Errorf("%d revocations, want %d", n, len(stmts))
	}
	if area := w.area(t, w.owner); len(area) != sharing.AreaHeaderSize {
		t.Errorf("area after 4082 = %x, want empty", area)
	}
	// Processed again, they change nothing.
	gen := w.store.Generation()
	for _, s := range stmts[:2] {
		if err := w.owner.applet.AppendStatement(w.reader.ID(), sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: s}); err != nil {
			t.Fatal(err)
		}
	}
	if res, _, err := w.transact(w.owner, dkey.ActionEngineStart); err != nil || res.ControlFlow != transaction.CFDeleteAttestation || w.store.Generation() != gen {
		t.Errorf("repeated terminations = %+v, %v; generation %d → %d", res, err, gen, w.store.Generation())
	}
}

func TestOwnerStatementsInAuth1Subset(t *testing.T) {
	// The default configuration returns the area header in AUTH1.
	kc := pairing.DefaultOwnerKeyConfig()
	w := newShareWorld(t, shareOptions{keyConfig: &kc})
	// Token and area header come in AUTH1: no EXCHANGE.
	res, tr, err := w.transact(w.owner, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFSuccess || exchanges(tr) != 0 {
		t.Fatalf("engine start = %+v, %d EXCHANGE, %v", res, exchanges(tr), err)
	}
	w.terminations(t, 1)
	res, tr, err = w.transact(w.owner, dkey.ActionEngineStart)
	// The statement came in AUTH1 (the header) and one EXCHANGE (the
	// rest); one more acknowledges it.
	if err != nil || res.ControlFlow != transaction.CFDeleteAttestation || exchanges(tr) != 2 || len(res.Statements) != 1 || res.Statements[0].Err != nil {
		t.Fatalf("engine start with a statement = %+v, %d EXCHANGE, %v", res, exchanges(tr), err)
	}
	if area := w.area(t, w.owner); len(area) != sharing.AreaHeaderSize {
		t.Errorf("area after 4082 = %x, want empty", area)
	}
}

// TestStatementAreaRefusals: a statement area that does not parse leaves
// the transaction alone and is kept; statements that do not verify are
// consumed, and change nothing.
func TestStatementAreaRefusals(t *testing.T) {
	w := newShareWorld(t, shareOptions{keyConfig: bigOwner()})
	vid := w.reader.ID()
	if err := w.owner.applet.WritePrivateMailbox(vid, 0, []byte{sharing.SignalTermination, 0, 0}); err != nil {
		t.Fatal(err)
	}
	before := w.state()
	res, _, err := w.transact(w.owner, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFSuccess || len(res.Statements) != 1 || !errors.Is(res.Statements[0].Err, sharing.ErrMalformed) {
		t.Fatalf("engine start with a malformed area = %+v, %v", res, err)
	}
	if after := w.state(); after.generation != before.generation {
		t.Error("a malformed area changed the revocation store")
	}
	if hdr, _ := w.owner.applet.ReadPrivateMailbox(vid, 0, 3); hdr[0] != sharing.SignalTermination {
		t.Errorf("the malformed area was cleared: %x", hdr)
	}

	// A forged termination (signed by a key the vehicle does not know)
	// and a receipt for another key.
	if err := w.owner.applet.WritePrivateMailbox(vid, 0, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	owner, _ := w.owner.applet.Key(vid)
	forged, _, err := (&sharing.Termination{Vehicle: vid, Slot: owner.Slot, Key: owner.PublicKey}).Sign(pairKey(t), slotOf(t, "forger"))
	if err != nil {
		t.Fatal(err)
	}
	receipt, err := w.ks.TrackKey(context.Background(), &sharing.TrackRequest{Vehicle: vid, Slot: slotOf(t, "other"), Key: pairKey(t).PublicKey(), Role: dkey.RoleFriend})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []sharing.MailboxEntry{{Kind: sharing.KindTermination, Statement: forged}, {Kind: sharing.KindTrackingReceipt, Statement: receipt}} {
		if err := w.owner.applet.AppendStatement(vid, e); err != nil {
			t.Fatal(err)
		}
	}
	before = w.state()
	res, _, err = w.transact(w.owner, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFDeleteAttestation || len(res.Statements) != 2 {
		t.Fatalf("engine start = %+v, %v", res, err)
	}
	var ve *sharing.VehicleError
	if s := res.Statements[0]; !errors.Is(s.Err, attest.ErrUnknownSigner) || !errors.As(s.Err, &ve) || ve.Check != sharing.CheckStatement {
		t.Errorf("forged termination = %+v, want a CheckStatement refusal wrapping %v", s, attest.ErrUnknownSigner)
	}
	if s := res.Statements[1]; !errors.Is(s.Err, sharing.ErrMismatch) {
		t.Errorf("receipt for another key = %+v, want %v", s, sharing.ErrMismatch)
	}
	if after := w.state(); after != before {
		t.Errorf("refused statements changed the vehicle:\n%v\n%v", before, after)
	}
	if len(w.reader.Keys()) != 1 {
		t.Error("the forged termination removed the owner")
	}
}

func slotOf(t testing.TB, s string) dkey.KeySlot {
	t.Helper()
	k, err := dkey.NewKeySlot([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTrackingReceipt(t *testing.T) {
	for _, tt := range []struct {
		name    string
		noTrack bool
		tracked bool
	}{
		{"tracking key configured", false, true},
		{"no tracking key", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newShareWorld(t, shareOptions{noTrack: tt.noTrack})
			owner, _ := w.owner.applet.Key(w.reader.ID())
			id, _ := w.owner.applet.DeviceID()
			receipt, err := w.ks.TrackKey(context.Background(), &sharing.TrackRequest{Vehicle: w.reader.ID(), Slot: owner.Slot, Key: owner.PublicKey, Role: dkey.RoleOwner, Device: id})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.owner.applet.AppendStatement(w.reader.ID(), sharing.MailboxEntry{Kind: sharing.KindTrackingReceipt, Statement: receipt}); err != nil {
				t.Fatal(err)
			}
			res, _, err := w.transact(w.owner, dkey.ActionEngineStart)
			if err != nil || res.ControlFlow != transaction.CFDeleteAttestation || len(res.Statements) != 1 || (res.Statements[0].Err == nil) != tt.tracked {
				t.Fatalf("engine start = %+v, %v", res, err)
			}
			if k := w.reader.Keys()[0]; k.Tracked != tt.tracked {
				t.Errorf("Tracked = %v, want %v", k.Tracked, tt.tracked)
			}
		})
	}
}

// TestAttackFirstFriend presents forged first friend transactions: each
// refused with its CONTROL FLOW and typed error, and nothing enrolled or
// recorded.
func TestAttackFirstFriend(t *testing.T) {
	w := newShareWorld(t, shareOptions{})
	vid := w.reader.ID()
	otherVehicle, _ := dkey.NewVehicleID([]byte("VIN00043"))
	w.owner.applet.AuthenticateUser(pairNow.Add(time.Hour))
	ownerKey, ownerSlot, err := w.owner.applet.SharingSigner(vid)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		// edit changes the attestation of the friend key before the owner's
		// key signs it; area replaces the statement area.
		edit func(*attest.KeyAttestation)
		area func([]byte) []byte
		cf   transaction.ControlFlow
		want error
	}{
		{name: "attestation for another vehicle", edit: func(a *attest.KeyAttestation) { a.VehicleID = otherVehicle },
			cf: transaction.CFKeyNotTrusted, want: attest.ErrWrongVehicle},
		{name: "attestation of another slot", edit: func(a *attest.KeyAttestation) { a.FriendSlot = slotOf(t, "another") },
			cf: transaction.CFKeyNotTrusted, want: sharing.ErrMismatch},
		{name: "attestation of another key", edit: func(a *attest.KeyAttestation) { a.FriendKey = pairKey(t).PublicKey() },
			cf: transaction.CFInvalidSignature, want: transaction.ErrAuthentication},
		{name: "signed by the friend itself", edit: func(a *attest.KeyAttestation) { a.SignerSlot = a.FriendSlot },
			cf: transaction.CFKeyNotTrusted, want: attest.ErrUnknownSigner},
		{name: "expired", edit: func(a *attest.KeyAttestation) {
			a.NotBefore, a.NotAfter = pairNow.Add(-2*time.Hour), pairNow.Add(-time.Hour)
		},
			cf: transaction.CFKeyExpired, want: attest.ErrExpired},
		{name: "no attestation, an area that does not parse", area: func([]byte) []byte { return []byte{sharing.SignalKeyAttestation, 0, 1, 0} },
			cf: transaction.CFKeyNotFound, want: dkey.ErrUnknownKey},
		{name: "no attestation", area: func([]byte) []byte { return make([]byte, 3) },
			cf: transaction.CFKeyNotFound, want: dkey.ErrUnknownKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			friend := newPairPhone(t)
			ck, err := friend.applet.CreateSharedKey(&sharing.KeyRequest{Vehicle: vid, VehicleKey: w.reader.PublicKey(), Mailboxes: sharing.FriendMailboxes()})
			if err != nil {
				t.Fatal(err)
			}
			a := &attest.KeyAttestation{
				ID: attest.NewID(), VehicleID: vid, FriendKey: ck.PublicKey, FriendSlot: ck.Slot,
				Profile: dkey.AccessProfile{Entitlements: dkey.AccessOnly}, NotBefore: pairNow, NotAfter: pairNow.Add(time.Hour),
				IssuedAt: pairNow, SignerSlot: ownerSlot,
			}
			var mb []byte
			if tt.edit != nil {
				tt.edit(a)
				stmt, err := a.Sign(ownerKey)
				if err != nil {
					t.Fatal(err)
				}
				if mb, err = sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: stmt}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.area != nil {
				mb = tt.area(mb)
			}
			// The friend's device stores whatever it likes.
			if err := friend.applet.ImportSharedKey(&sharing.Imported{Attestation: &attest.KeyAttestation{VehicleID: vid, FriendKey: ck.PublicKey, FriendSlot: ck.Slot}, Mailbox: mustArea(t)}); err != nil {
				t.Fatal(err)
			}
			if err := friend.applet.WritePrivateMailbox(vid, 0, mb); err != nil {
				t.Fatal(err)
			}
			before := w.state()
			res, _, err := w.transact(friend, dkey.ActionUnlock)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || res.ControlFlow != tt.cf || res.FirstFriend || res.OK() {
				t.Errorf("forged first friend transaction = %v, %v; want %v, %v", res.ControlFlow, err, tt.cf, tt.want)
			}
			if after := w.state(); after != before {
				t.Errorf("state changed:\n%v\n%v", before, after)
			}
		})
	}
}

// mustArea returns a statement area holding one dummy attestation entry.
func mustArea(t testing.TB) []byte {
	t.Helper()
	b, err := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: []byte{0}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRemoveRecordsRevocation(t *testing.T) {
	w := newWorld(t, dkey.CCC)
	warm(t, w)
	keys := w.reader.Keys()
	if err := w.reader.Remove(w.slot); err != nil {
		t.Fatal(err)
	}
	if err := w.reader.Revocations().Check(w.slot, nil, attest.ID{}); !errors.Is(err, sharing.ErrRevoked) {
		t.Errorf("revocation of the removed slot = %v, want %v", err, sharing.ErrRevoked)
	}
	e := Enrollment{PublicKey: keys[0].PublicKey, Slot: w.slot, Profile: dkey.OwnerProfile()}
	if err := w.reader.Enroll(e); !errors.Is(err, sharing.ErrRevoked) || !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("Enroll of a removed key = %v, want %v", err, sharing.ErrRevoked)
	}
	e.Slot = slotOf(t, "newslot")
	if err := w.reader.Enroll(e); !errors.Is(err, sharing.ErrRevoked) {
		t.Errorf("Enroll of a removed key in another slot = %v, want %v", err, sharing.ErrRevoked)
	}

	// A full store does not stop a removal.
	store := sharing.NewRevocationStore(1)
	if err := store.Revoke(sharing.Revocation{KeyHash: [32]byte{1}, At: pairNow}); err != nil {
		t.Fatal(err)
	}
	vk := pairKey(t)
	vid, _ := dkey.NewVehicleID([]byte("VIN00044"))
	r, err := NewReader(&Config{VehicleID: vid, Key: vk, Revocations: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enroll(Enrollment{PublicKey: pairKey(t).PublicKey(), Slot: slotOf(t, "a"), Profile: dkey.OwnerProfile()}); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(slotOf(t, "a")); err != nil || len(r.Keys()) != 0 {
		t.Errorf("Remove with a full store = %v, %d keys left", err, len(r.Keys()))
	}
}

// TestDeviceChange is the owner's move to a new phone, end to end: the new
// phone pairs (ReplaceOwner), its device re-issues the old key's shares
// (sharing.PlanDeviceChange) and queues them with the old key's termination
// in its statement area; at the new owner's next transaction the vehicle
// enrolls the friend who had not used the share yet, and both friends keep
// working without doing anything; the old phone's key is refused and its
// device told to delete it.
func TestDeviceChange(t *testing.T) {
	old, next, used, pending := newPairPhone(t), newPairPhone(t), newPairPhone(t), newPairPhone(t)
	w := newShareWorld(t, shareOptions{keyConfig: bigOwner(), phones: []*pairPhone{old, next, used, pending}})
	vid := w.reader.ID()
	oldKey, _ := old.applet.Key(vid)
	usedShare := w.share(t, old, used, unlockOnly())
	if res, _, err := w.transact(used, dkey.ActionUnlock); err != nil || !res.FirstFriend {
		t.Fatalf("first friend transaction = %+v, %v", res, err)
	}
	pendingShare := w.share(t, old, pending, unlockOnly())

	// The new phone pairs; the old owner key goes at once.
	pr := w.pair(t, next, true)
	if len(pr.Replaced) != 1 || pr.Replaced[0] != oldKey.Slot {
		t.Fatalf("Replaced = %v, want the old owner key", pr.Replaced)
	}
	next.applet.AuthenticateUser(pairNow.Add(time.Hour))
	newKey, newSlot, err := next.applet.SharingSigner(vid)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sharing.PlanDeviceChange(&sharing.DeviceChange{
		Vehicle: vid, OldKey: oldKey.PublicKey, OldSlot: oldKey.Slot, NewKey: newKey, NewSlot: newSlot,
		Issued: []*attest.KeyAttestation{usedShare.Attestation, pendingShare.Attestation}, Time: pairTime,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range plan.Reissued {
		if err := next.applet.AppendStatement(vid, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: r.Statement}); err != nil {
			t.Fatal(err)
		}
	}
	if err := next.applet.AppendStatement(vid, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: plan.Termination}); err != nil {
		t.Fatal(err)
	}
	res, _, err := w.transact(next, dkey.ActionEngineStart)
	if err != nil || res.ControlFlow != transaction.CFDeleteAttestation || len(res.Statements) != 3 {
		t.Fatalf("the new owner's engine start = %+v, %v", res, err)
	}
	for i, want := range []dkey.KeySlot{usedShare.Attestation.FriendSlot, pendingShare.Attestation.FriendSlot, oldKey.Slot} {
		if s := res.Statements[i]; s.Err != nil || s.Slot != want {
			t.Errorf("statement %d = %+v, want slot %v accepted", i, s, want)
		}
	}
	// The friend who had not used the share is enrolled, by the new key.
	var pendingInfo *KeyInfo
	for _, k := range w.reader.Keys() {
		if k.Slot == pendingShare.Attestation.FriendSlot {
			pendingInfo = &k
		}
	}
	if pendingInfo == nil || pendingInfo.SharedBy != newSlot || pendingInfo.Role != dkey.RoleFriend {
		t.Fatalf("the pending friend at the vehicle = %+v", pendingInfo)
	}

	// Friends do nothing and keep working.
	if res, _, err := w.transact(used, dkey.ActionUnlock); err != nil || res.FirstFriend {
		t.Errorf("the friend who used the share: %+v, %v", res, err)
	}
	res, _, err = w.transact(pending, dkey.ActionUnlock)
	if err != nil || res.FirstFriend || res.ControlFlow != transaction.CFDeleteAttestation {
		t.Fatalf("the pending friend's first tap = %+v, %v", res, err)
	}
	// Its device still held the old attestation: refused (its signer is
	// gone), consumed, cleared.
	if len(res.Statements) != 1 || !errors.Is(res.Statements[0].Err, attest.ErrUnknownSigner) {
		t.Errorf("the pending friend's old attestation = %+v", res.Statements)
	}
	if area := w.area(t, pending); len(area) != sharing.AreaHeaderSize {
		t.Errorf("the pending friend's area = %x, want empty", area)
	}
	if _, _, err := w.transact(pending, dkey.ActionLock); err != nil {
		t.Errorf("the pending friend's lock: %v", err)
	}
	if _, _, err := w.transact(next, dkey.ActionUnlock); err != nil {
		t.Errorf("the new owner's unlock: %v", err)
	}

	// The old phone's key is refused; its device suspends and flags it,
	// and the host app deletes it, pairing secret included.
	res, _, err = w.transact(old, dkey.ActionUnlock)
	if !errors.Is(err, dkey.ErrKeyTerminated) || res.ControlFlow != transaction.CFKeyDeleted {
		t.Fatalf("the old phone's unlock = %v, %v; want %v, 00A0", res.ControlFlow, err, dkey.ErrKeyTerminated)
	}
	if info, ok := old.applet.Key(vid); !ok || !info.VehicleDeleted || info.State != dkey.KeySuspended {
		t.Fatalf("the old phone's key = %+v", info)
	}
	if _, err := old.applet.TerminateAttested(vid); err != nil {
		t.Fatal(err)
	}
	if _, ok := old.applet.Pairing(vid); ok {
		t.Error("the old phone kept its pairing record")
	}
	if err := w.store.Check(oldKey.Slot, oldKey.PublicKey, attest.ID{}); !errors.Is(err, sharing.ErrRevoked) {
		t.Errorf("the old owner key in the store: %v, want revoked", err)
	}
}

// TestLostModeSharedKeys: lost mode of one device suspends its keys, at the
// device and (through the automaker's server) at the vehicle; the keys of
// other devices keep working, the ones the lost device shared included.
func TestLostModeSharedKeys(t *testing.T) {
	ctx := context.Background()
	owner, friend := newPairPhone(t), newPairPhone(t)
	w := newShareWorld(t, shareOptions{phones: []*pairPhone{owner, friend}})
	issued := w.share(t, w.owner, friend, unlockOnly())
	if _, _, err := w.transact(friend, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	vid := w.reader.ID()
	for _, p := range []*pairPhone{w.owner, friend} {
		info, _ := p.applet.Key(vid)
		id, ok := p.applet.DeviceID()
		if !ok {
			t.Fatal("no DeviceID")
		}
		if _, err := w.ks.TrackKey(ctx, &sharing.TrackRequest{Vehicle: vid, Slot: info.Slot, Key: info.PublicKey, Role: info.Role, Device: id}); err != nil {
			t.Fatal(err)
		}
	}
	apply := func() {
		t.Helper()
		cmds, err := w.ks.Commands(ctx, vid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			if err := w.reader.ApplyCommand(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		name       string
		lost, kept *pairPhone
	}{
		{"the owner's phone", w.owner, friend},
		{"the friend's phone", friend, w.owner},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, _ := tt.lost.applet.DeviceID()
			tt.lost.applet.SetLostMode(true)
			if n, err := w.ks.ManageDevice(ctx, id, sharing.ActionSuspend); n != 1 || err != nil {
				t.Fatalf("ManageDevice = %d, %v", n, err)
			}
			apply()
			before := w.state()
			if _, _, err := w.transact(tt.lost, dkey.ActionUnlock); !errors.Is(err, ErrRefused) {
				t.Errorf("the lost phone's unlock = %v, want a refusal", err)
			}
			tt.lost.applet.SetLostMode(false) // a thief turns lost mode off: the vehicle refuses
			if _, _, err := w.transact(tt.lost, dkey.ActionUnlock); !errors.Is(err, dkey.ErrKeySuspended) {
				t.Errorf("the suspended key's unlock = %v, want %v", err, dkey.ErrKeySuspended)
			}
			if after := w.state(); after != before {
				t.Errorf("refused transactions changed the vehicle:\n%v\n%v", before, after)
			}
			if _, _, err := w.transact(tt.kept, dkey.ActionLock); err != nil {
				t.Errorf("the other phone's lock while %s is lost: %v", tt.name, err)
			}
			// Found.
			if n, err := w.ks.ManageDevice(ctx, id, sharing.ActionResume); n != 1 || err != nil {
				t.Fatalf("ManageDevice = %d, %v", n, err)
			}
			apply()
			if _, _, err := w.transact(tt.lost, dkey.ActionUnlock); err != nil {
				t.Errorf("the found phone's unlock: %v", err)
			}
		})
	}
	if s, ok := w.ks.State(vid, issued.Attestation.FriendSlot); !ok || s != dkey.KeyActive {
		t.Errorf("the friend key at the server = %v, %v", s, ok)
	}
}

// BenchmarkFirstFriendTransaction is the vehicle's side of a first friend
// transaction against an in-memory applet: a standard transaction plus the
// attestation's verification and the enrolment (the reader then forgets the
// key, and the device gets its attestation back, for the next iteration).
func BenchmarkFirstFriendTransaction(b *testing.B) {
	w := newWorld(b, dkey.CCC)
	friend := newFriend(b, w)
	area, err := friend.ReadPrivateMailbox(w.reader.ID(), 0, sharing.MinFriendPrivateMailbox)
	if err != nil {
		b.Fatal(err)
	}
	card := newCardFor(friend)
	b.ReportAllocs()
	for b.Loop() {
		res, err := w.reader.Transact(context.Background(), card, dkey.ActionUnlock)
		if err != nil || !res.FirstFriend {
			b.Fatalf("first friend transaction = %+v, %v", res, err)
		}
		w.reader.forget(res.Slot)
		if err := friend.WritePrivateMailbox(w.reader.ID(), 0, area); err != nil {
			b.Fatal(err)
		}
	}
}
