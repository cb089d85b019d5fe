package device

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

var aliroTestNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// aliroTestReader drives an AliroApplet from a transaction.AliroReader, as
// a lock does, over a ChainingCard.
type aliroTestReader struct {
	t      testing.TB
	r      *transaction.AliroReader
	key    *dkey.SoftwareKey
	s      *transaction.AliroReaderSession
	c      *transport.Client
	issuer *mdoc.Issuer
}

func newAliroTestReader(t testing.TB, group string) *aliroTestReader {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	var id dkey.ReaderID
	copy(id.Group[:], group)
	copy(id.SubGroup[:], "reader one")
	r, err := transaction.NewAliroReader(&transaction.AliroReaderConfig{ReaderID: id, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	ik, _ := dkey.GenerateSoftwareKey()
	iss, err := mdoc.NewP256Issuer(ik)
	if err != nil {
		t.Fatal(err)
	}
	return &aliroTestReader{t: t, r: r, key: k, s: r.NewSession(), issuer: iss}
}

func (tr *aliroTestReader) attach(a *AliroApplet) {
	tr.c = transport.NewClient(transporttestCard{transport.NewChainingCard(a)}, nil)
}

// transporttestCard adapts a transport.Card to a Transceiver.
type transporttestCard struct{ c transport.Card }

func (c transporttestCard) Transceive(_ context.Context, dst, cmd []byte) ([]byte, error) {
	return c.c.ProcessAPDU(dst, cmd), nil
}

func (tr *aliroTestReader) do(cmd transport.Command) transport.Response {
	tr.t.Helper()
	r, err := tr.c.Do(context.Background(), &cmd, nil)
	if err != nil {
		tr.t.Fatal(err)
	}
	return r
}

// auth0 runs SELECT and AUTH0.
func (tr *aliroTestReader) auth0(policy transaction.AliroPolicy, fast bool) error {
	if err := tr.s.Start(policy, fast); err != nil {
		return err
	}
	if err := tr.s.ReadSelect(tr.do(tr.s.Select())); err != nil {
		return err
	}
	cmd, err := tr.s.Auth0()
	if err != nil {
		return err
	}
	return tr.s.ReadAuth0(tr.do(cmd))
}

// standard runs AUTH0 and AUTH1 and verifies the device.
func (tr *aliroTestReader) standard(policy transaction.AliroPolicy) (transaction.PersistentKey, transaction.AliroAuth1Result, error) {
	if err := tr.auth0(policy, false); err != nil {
		return transaction.PersistentKey{}, transaction.AliroAuth1Result{}, err
	}
	cmd, err := tr.s.Auth1()
	if err != nil {
		return transaction.PersistentKey{}, transaction.AliroAuth1Result{}, err
	}
	a, err := tr.s.ReadAuth1(tr.do(cmd))
	if err != nil {
		return transaction.PersistentKey{}, a, err
	}
	pk, err := tr.s.VerifyEndpoint(a.PublicKey)
	return pk, a, err
}

func (tr *aliroTestReader) exchange(x *transaction.AliroExchange) (transaction.AliroReadResults, error) {
	cmd, err := tr.s.Exchange(x)
	if err != nil {
		return transaction.AliroReadResults{}, err
	}
	return tr.s.ReadExchange(tr.do(cmd))
}

// stepUp selects the step-up applet, reads the documents and returns the
// channel for the final EXCHANGE.
func (tr *aliroTestReader) stepUp(reqs []mdoc.DocRequest) (*mdoc.DeviceResponse, *mdoc.RequestReader, error) {
	key := tr.s.StepUpKey()
	keys, err := mdoc.AliroStepUpKeys(key.Bytes())
	if err != nil {
		return nil, nil, err
	}
	req, err := mdoc.NewStepUpReader(keys, &mdoc.ReaderConfig{Requests: reqs})
	if err != nil {
		return nil, nil, err
	}
	r := tr.do(transport.Command{INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDAliroStepUp), Ne: 256})
	if r.SW != dkey.SWSuccess {
		return nil, nil, r.SW
	}
	dr, err := req.Handle(tr.do(req.Command()))
	return dr, req, err
}

func (tr *aliroTestReader) finishStepUp(req *mdoc.RequestReader, st transaction.AliroReaderStatus) error {
	cmd, err := tr.s.StepUpExchange(req, &transaction.AliroExchange{HasStatus: true, Status: st})
	if err != nil {
		return err
	}
	_, err = tr.s.ReadStepUpExchange(req, tr.do(cmd))
	return err
}

func newTestAliroApplet(t testing.TB, cfg *AliroConfig) *AliroApplet {
	t.Helper()
	if cfg == nil {
		cfg = &AliroConfig{}
	}
	if cfg.Time == nil {
		cfg.Time = func() time.Time { return aliroTestNow }
	}
	a, err := NewAliroApplet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// accessDoc issues an access document for pub.
func (tr *aliroTestReader) accessDoc(t testing.TB, docType string, pub *dkey.PublicKey) *mdoc.Document {
	t.Helper()
	v, _ := (&mdoc.AccessData{Rules: []mdoc.AccessRule{{Capabilities: mdoc.CapabilityUnsecure}}}).Encode()
	if docType == mdoc.AliroRevocationDocType {
		v, _ = (&mdoc.RevocationData{Entries: []mdoc.RevocationEntry{{ID: []byte("someone")}}}).Encode()
	}
	doc, err := tr.issuer.Issue(&mdoc.DocumentSpec{
		DocType: docType, DeviceKey: pub, Signed: aliroTestNow.Add(-time.Hour),
		Elements:  []mdoc.Element{{NameSpace: docType, Identifier: mdoc.AliroDefaultElement, Value: v}},
		ValidFrom: aliroTestNow.Add(-time.Hour), ValidUntil: aliroTestNow.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// credentialWithDocuments creates a credential of tr's group on a, with a
// mailbox of mailbox bytes, an access document and a revocation document.
func (tr *aliroTestReader) credentialWithDocuments(t testing.TB, a *AliroApplet, mailbox uint16) AliroCredentialInfo {
	t.Helper()
	info, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey(), MailboxSize: mailbox})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ProvisionAccessDocument(info.Group, tr.accessDoc(t, mdoc.AliroAccessDocType, info.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if err := a.ProvisionRevocationDocument(info.Group, tr.accessDoc(t, mdoc.AliroRevocationDocType, info.PublicKey)); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestAliroAppletTransactions: standard with a mailbox EXCHANGE, the step-up
// phase serving both documents and ending with the reader status under the
// step-up channel, then fast under the Kpersistent the first EXCHANGE
// committed.
func TestAliroAppletTransactions(t *testing.T) {
	tr := newAliroTestReader(t, "front door group")
	a := newTestAliroApplet(t, nil)
	tr.attach(a)
	info := tr.credentialWithDocuments(t, a, 16)
	pk, auth, err := tr.standard(transaction.AliroPolicyUserDevice)
	if err != nil {
		t.Fatal(err)
	}
	want := transaction.AliroAccessDocument | transaction.AliroRevocationDocument | transaction.AliroStepUpSelect | transaction.AliroMailboxRead | transaction.AliroMailboxWrite
	if auth.Status.Signaling != want || !auth.PublicKey.Equal(info.PublicKey) || auth.Status.CredentialSigned != transaction.NewAliroTimestamp(aliroTestNow.Add(-time.Hour)) {
		t.Errorf("AUTH1 status = %+v", auth.Status)
	}
	if _, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Ops: []transaction.AliroMailboxOp{{Kind: transaction.OpWrite, Offset: 2, Data: []byte("hi")}}}); err != nil {
		t.Fatal(err)
	}
	reqs := append(mdoc.Aliro.DefaultRequest(), mdoc.DocRequest{DocType: mdoc.AliroRevocationDocType, NameSpaces: []mdoc.RequestedNameSpace{{Name: mdoc.AliroRevocationDocType, Elements: []mdoc.RequestedElement{{Identifier: mdoc.AliroDefaultElement}}}}})
	dr, req, err := tr.stepUp(reqs)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := dr.Verify(&mdoc.VerifyOptions{Issuers: []*mdoc.IssuerKey{tr.issuer.Key()}, DeviceKey: info.PublicKey, Time: func() time.Time { return aliroTestNow }})
	if err != nil || len(vs) != 2 {
		t.Fatalf("documents: %d, %v", len(vs), err)
	}
	if err := tr.finishStepUp(req, transaction.AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	mb, _ := a.ReadMailbox(info.Group)
	if !bytes.Equal(mb[2:4], []byte("hi")) {
		t.Errorf("mailbox %x", mb)
	}
	got, _ := a.Credential(info.Group)
	if len(got.Readers) != 1 || got.Readers[0] != tr.r.ID().SubGroup || !got.Status.Signaling.Has(transaction.AliroMailboxNonZero) {
		t.Errorf("credential after the transaction: %+v", got)
	}
	// Fast, with the Kpersistent both sides committed; the reader reads
	// the mailbox, then ends.
	if err := tr.auth0(transaction.AliroPolicyUserDevice, true); err != nil {
		t.Fatal(err)
	}
	if i := tr.s.FindFast([]transaction.FastKey{transaction.NewFastKey(info.PublicKey, &pk)}); i != 0 {
		t.Fatal("no fast match")
	}
	res, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Ops: []transaction.AliroMailboxOp{{Kind: transaction.OpRead, Offset: 2, Length: 2}}, HasStatus: true, Status: transaction.AliroStatusUnsecure})
	if d, _ := res.Next(); err != nil || string(d) != "hi" {
		t.Fatalf("fast read = %q, %v", d, err)
	}
}

// TestAliroAppletMailbox: rights, bounds, atomic sessions (writes apply when
// the session closes; a transaction that ends first applies none).
func TestAliroAppletMailbox(t *testing.T) {
	tr := newAliroTestReader(t, "mailbox group")
	a := newTestAliroApplet(t, nil)
	tr.attach(a)
	info, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey(), MailboxSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	op := func(k transaction.OpKind, off uint16, data []byte, n uint16) transaction.AliroMailboxOp {
		return transaction.AliroMailboxOp{Kind: k, Offset: off, Data: data, Length: n}
	}
	if _, _, err := tr.standard(transaction.AliroPolicyUserDevice); err != nil {
		t.Fatal(err)
	}
	// An atomic write, read back within the session, not yet applied.
	res, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Atomic: true, Ops: []transaction.AliroMailboxOp{op(transaction.OpWrite, 0, []byte("ab"), 0), op(transaction.OpRead, 0, nil, 2)}})
	if d, _ := res.Next(); err != nil || string(d) != "ab" {
		t.Fatalf("atomic read = %q, %v", d, err)
	}
	if mb, _ := a.ReadMailbox(info.Group); mb[0] != 0 {
		t.Errorf("atomic write applied before the commit: %x", mb)
	}
	if _, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Ops: []transaction.AliroMailboxOp{op(transaction.OpFill, 4, nil, 2)}}); err != nil {
		t.Fatal(err)
	}
	if mb, _ := a.ReadMailbox(info.Group); string(mb[:2]) != "ab" {
		t.Errorf("the atomic session did not commit: %x", mb)
	}
	// Out of bounds: error code, the transaction ends.
	_, err = tr.exchange(&transaction.AliroExchange{Mailbox: true, Ops: []transaction.AliroMailboxOp{op(transaction.OpRead, 7, nil, 2)}})
	var xe *transaction.AliroExchangeError
	if !errors.As(err, &xe) || xe.Code != AliroErrorOutOfBounds {
		t.Errorf("read out of bounds: %v", err)
	}
	// An atomic session the transaction abandons applies nothing.
	if _, _, err := tr.standard(transaction.AliroPolicyUserDevice); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Atomic: true, Ops: []transaction.AliroMailboxOp{op(transaction.OpWrite, 0, []byte("zz"), 0)}}); err != nil {
		t.Fatal(err)
	}
	a.Reset()
	if mb, _ := a.ReadMailbox(info.Group); string(mb[:2]) != "ab" {
		t.Errorf("an abandoned atomic session applied: %x", mb)
	}
	// A credential without a mailbox refuses mailbox requests; update_doc
	// is not offered.
	tr2 := newAliroTestReader(t, "no mailbox group")
	tr2.attach(a)
	if _, err := a.CreateCredential(AliroCredentialConfig{Group: tr2.r.ID().Group, ReaderKey: tr2.r.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr2.standard(transaction.AliroPolicyUserDevice); err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.exchange(&transaction.AliroExchange{Mailbox: true, Ops: []transaction.AliroMailboxOp{op(transaction.OpRead, 0, nil, 1)}}); !errors.As(err, &xe) || xe.Code != AliroErrorNoRight {
		t.Errorf("read without a mailbox: %v", err)
	}
	if _, _, err := tr2.standard(transaction.AliroPolicyUserDevice); err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.exchange(&transaction.AliroExchange{UpdateDocument: []byte{1}}); !errors.As(err, &xe) || xe.Code != AliroErrorUnsupported {
		t.Errorf("update_doc: %v", err)
	}
}

// TestAliroAppletPolicy: a reader forcing user authentication, and a
// credential without express mode, transact only after AuthenticateUser.
func TestAliroAppletPolicy(t *testing.T) {
	tr := newAliroTestReader(t, "policy group")
	a := newTestAliroApplet(t, nil)
	tr.attach(a)
	info, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	refused := func() bool {
		err := tr.auth0(transaction.AliroPolicyForceUserAuthentication, false)
		return errors.Is(err, dkey.SWConditionsNotSatisfied)
	}
	if !refused() {
		t.Error("force user authentication without one: not refused")
	}
	a.AuthenticateUser(aliroTestNow.Add(time.Minute))
	if refused() {
		t.Error("force user authentication with one: refused")
	}
	a.AuthenticateUser(time.Time{})
	if _, _, err := tr.standard(transaction.AliroPolicyUserDevice); err != nil {
		t.Errorf("express: %v", err)
	}
	if err := a.SetExpress(info.Group, false); err != nil {
		t.Fatal(err)
	}
	if err := tr.auth0(transaction.AliroPolicyUserDevice, false); !errors.Is(err, dkey.SWConditionsNotSatisfied) {
		t.Errorf("express off, no user authentication: %v", err)
	}
}

// TestAliroAppletUnknownGroup: a reader of a group the applet has no
// credential for gets an AUTH0 of the same shape and 6982 at AUTH1; its
// step-up applet is 6A82, as it is after a fast transaction, for a
// credential without documents, and for the documents of another group.
func TestAliroAppletUnknownGroup(t *testing.T) {
	a := newTestAliroApplet(t, nil)
	known := newAliroTestReader(t, "known group")
	info, err := a.CreateCredential(AliroCredentialConfig{Group: known.r.ID().Group, ReaderKey: known.r.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ProvisionAccessDocument(info.Group, known.accessDoc(t, mdoc.AliroAccessDocType, info.PublicKey)); err != nil {
		t.Fatal(err)
	}
	stranger := newAliroTestReader(t, "other group")
	stranger.attach(a)
	if err := stranger.auth0(transaction.AliroPolicyUserDevice, true); err != nil {
		t.Fatalf("AUTH0 of an unknown group: %v", err)
	}
	cmd, _ := stranger.s.Auth1()
	if r := stranger.do(cmd); r.SW != dkey.SWSecurityNotSatisfied {
		t.Errorf("AUTH1 of an unknown group: %v", r.SW)
	}
	if r := stranger.do(transport.Command{INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDAliroStepUp), Ne: 256}); r.SW != dkey.SWFileNotFound {
		t.Errorf("step-up SELECT for another group: %v", r.SW)
	}
	// Fast only: no step-up.
	known.attach(a)
	pk, _, err := known.standard(transaction.AliroPolicyUserDevice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := known.exchange(&transaction.AliroExchange{HasStatus: true, Status: transaction.AliroStatusUnsecure}); err != nil {
		t.Fatal(err)
	}
	if err := known.auth0(transaction.AliroPolicyUserDevice, true); err != nil {
		t.Fatal(err)
	}
	if known.s.FindFast([]transaction.FastKey{transaction.NewFastKey(info.PublicKey, &pk)}) != 0 {
		t.Fatal("no fast match")
	}
	if r := known.do(transport.Command{INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDAliroStepUp), Ne: 256}); r.SW != dkey.SWFileNotFound {
		t.Errorf("step-up SELECT after a fast transaction: %v", r.SW)
	}
}

// aliroAppletState is what the tests compare of an applet: every
// credential, but the key handle (compared by its public key).
var aliroAppletState = cmp.Options{
	cmp.AllowUnexported(aliroCred{}, aliroReaderKey{}, transaction.PersistentKey{}),
	cmp.Comparer(func(x, y crypto.Signer) bool { return (x == nil) == (y == nil) }),
	cmp.Comparer(func(x, y *dkey.PublicKey) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(y) }),
	cmp.Comparer(func(x, y *mdoc.Provisioned) bool {
		if x == nil || y == nil {
			return x == y
		}
		a, _ := x.MarshalBinary()
		b, _ := y.MarshalBinary()
		return bytes.Equal(a, b)
	}),
}

// TestAliroAppletProvisioningRefused: documents of the wrong type, or
// binding another key, change nothing.
func TestAliroAppletProvisioningRefused(t *testing.T) {
	tr := newAliroTestReader(t, "docs group")
	a := newTestAliroApplet(t, nil)
	info, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	before := credsOf(a)
	other, _ := dkey.GenerateSoftwareKey()
	for name, f := range map[string]func() error{
		"another key": func() error {
			return a.ProvisionAccessDocument(info.Group, tr.accessDoc(t, mdoc.AliroAccessDocType, other.PublicKey()))
		},
		"a revocation as access": func() error {
			return a.ProvisionAccessDocument(info.Group, tr.accessDoc(t, mdoc.AliroRevocationDocType, info.PublicKey))
		},
		"an access as revocation": func() error {
			return a.ProvisionRevocationDocument(info.Group, tr.accessDoc(t, mdoc.AliroAccessDocType, info.PublicKey))
		},
		"another group": func() error {
			var g dkey.ReaderGroupID
			copy(g[:], "nobody")
			return a.ProvisionAccessDocument(g, tr.accessDoc(t, mdoc.AliroAccessDocType, info.PublicKey))
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: provisioned", name)
		}
		if diff := cmp.Diff(before, credsOf(a), aliroAppletState); diff != "" {
			t.Errorf("%s changed the credential:\n%s", name, diff)
		}
	}
	if _, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey()}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("a second credential for the group: %v", err)
	}
	if err := a.DeleteCredential(info.Group); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Credential(info.Group); ok || len(a.Credentials()) != 0 {
		t.Error("the deleted credential is still there")
	}
	if _, err := a.se.Key(1); !errors.Is(err, ErrNoSecret) {
		t.Errorf("the deleted credential's key is still in the secure element: %v", err)
	}
}

// credsOf returns copies of the applet's credentials.
func credsOf(a *AliroApplet) []aliroCred {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []aliroCred
	for _, c := range a.creds {
		n := *c
		n.key = nil
		n.mailbox = bytes.Clone(c.mailbox)
		out = append(out, n)
	}
	return out
}

// TestAliroAppletRedacts: no verb prints a Kpersistent or a private key.
func TestAliroAppletRedacts(t *testing.T) {
	tr := newAliroTestReader(t, "redaction group")
	a := newTestAliroApplet(t, nil)
	tr.attach(a)
	scalar := bytes.Repeat([]byte{0x42}, 32)
	if _, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey(), PrivateKey: scalar}); err != nil {
		t.Fatal(err)
	}
	pk, _, err := tr.standard(transaction.AliroPolicyUserDevice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.exchange(&transaction.AliroExchange{HasStatus: true, Status: transaction.AliroStatusUnsecure}); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		for _, v := range []any{a, AliroCredentialConfig{PrivateKey: scalar}} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range [][]byte{pk.Bytes(), scalar} {
				if strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", secret)) || strings.Contains(out, fmt.Sprint(secret)) {
					t.Errorf("Sprintf(%q, %T) prints a secret: %s", verb, v, out)
				}
			}
		}
	}
}
