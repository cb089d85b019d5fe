package vehicle

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
)

// aliroLockState compares the state of locks: every field but those given
// again at NewAliroLock and the machinery, so that a field added later
// fails the round trip until it is stored or listed with its reason.
var aliroLockState = cmp.Options{
	cmp.AllowUnexported(AliroLock{}, aliroReaderConf{}, aliroEndpoint{}, aliroIssuer{}, transaction.PersistentKey{}),
	cmpopts.IgnoreFields(AliroLock{},
		// Configuration, given again at NewAliroLock.
		"now", "loc", "link", "versions", "maxKeys", "maxIssuers", "readerRules", "element", "rand", "keyLog",
		// The lock, the store, and the transaction configuration
		// rebuilt from conf.
		"mu", "st", "sec", "closed", "reader"),
	cmp.Comparer(func(x, y *dkey.PublicKey) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(y) }),
	cmp.Comparer(func(x, y *dkey.SoftwareKey) bool {
		return x == nil && y == nil || x != nil && y != nil && x.PublicKey().Equal(y.PublicKey())
	}),
	cmp.Comparer(func(x, y *mdoc.IssuerKey) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(y) }),
}

// snapshot returns a deep copy of the lock's state, to compare with
// aliroLockState.
func (w *aliroWorld) snapshot() *AliroLock {
	l := w.lock
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &AliroLock{sub: l.sub, revSeen: l.revSeen}
	if l.conf != nil {
		conf := *l.conf
		c.conf = &conf
	}
	for _, e := range l.endpoints {
		n := *e
		c.endpoints = append(c.endpoints, &n)
	}
	for _, is := range l.issuers {
		n := *is
		n.revoked = slices.Clone(is.revoked)
		c.issuers = append(c.issuers, &n)
	}
	return c
}

// revocationDocument issues a revocation document of the world's issuer
// for the phone pub that delivers it.
func (w *aliroWorld) revocationDocument(t testing.TB, holder *dkey.PublicKey, rd *mdoc.RevocationData, signed time.Time) *mdoc.Document {
	t.Helper()
	v, err := rd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := w.issuer.Issue(&mdoc.DocumentSpec{
		DocType: mdoc.AliroRevocationDocType, DeviceKey: holder, Signed: signed,
		Elements:  []mdoc.Element{{NameSpace: mdoc.AliroRevocationDocType, Identifier: mdoc.AliroDefaultElement, Value: v}},
		ValidFrom: aliroMonday9.AddDate(0, 0, -1), ValidUntil: aliroMonday9.AddDate(1, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestAliroRevocation: a phone delivers its issuer's revocation document;
// the lock applies it (a learned key it names goes, and is refused from
// then on), ignores a replay of an older one, and accepts a newer one that
// removes the entry.
func TestAliroRevocation(t *testing.T) {
	w := newAliroWorld(t, nil)
	w.enrollIssuer(t)
	alice, bob := w.phone(t), w.phone(t)
	for _, p := range []*aliroPhone{alice, bob} {
		if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, p.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
		if res, err := w.transact(t, p, AliroActionUnlock); err != nil || !res.Learned {
			t.Fatalf("learning = %+v, %v", res, err)
		}
	}
	h := mdoc.RevocationKeyHash(alice.pub)
	rev := &mdoc.RevocationData{Entries: []mdoc.RevocationEntry{{KeyHash: h[:], Expiry: aliroMonday9.AddDate(0, 2, 0)}}}
	if err := bob.applet.ProvisionRevocationDocument(w.group, w.revocationDocument(t, bob.pub, rev, aliroMonday9.Add(-30*time.Minute))); err != nil {
		t.Fatal(err)
	}
	// Bob's fast tap sees a newer revocation document and steps up.
	res, err := w.transact(t, bob, AliroActionUnlock)
	if err != nil || !res.StepUp || res.Revocations != 1 || res.Fast {
		t.Fatalf("Bob with the revocation = %+v, %v", res, err)
	}
	if got := w.lock.Revocations()[1]; len(got) != 1 {
		t.Fatalf("revocations = %+v", got)
	}
	if len(w.lock.Endpoints()) != 1 {
		t.Errorf("Alice's learned key survived its revocation: %d keys", len(w.lock.Endpoints()))
	}
	// Alice is refused, and not learned again.
	before := w.snapshot()
	res, err = w.transact(t, alice, AliroActionUnlock)
	if !errors.Is(err, ErrAliroDenied) || res.Status != transaction.AliroStatusKeyNotTrusted || res.Learned {
		t.Fatalf("revoked Alice = %+v, %v", res, err)
	}
	if diff := cmp.Diff(before, w.snapshot(), aliroLockState); diff != "" {
		t.Errorf("the refusal changed the lock:\n%s", diff)
	}
	// Bob's next tap is fast: no newer document.
	if res, err := w.transact(t, bob, AliroActionUnlock); err != nil || !res.Fast {
		t.Errorf("Bob again = %+v, %v", res, err)
	}
	// An older revocation document (a replay) changes nothing.
	old := w.revocationDocument(t, bob.pub, &mdoc.RevocationData{}, aliroMonday9.Add(-40*time.Minute))
	if err := bob.applet.ProvisionRevocationDocument(w.group, old); err != nil {
		t.Fatal(err)
	}
	before = w.snapshot()
	if res, err := w.transact(t, bob, AliroActionUnlock); err != nil || res.StepUp {
		t.Errorf("Bob with an old revocation document = %+v, %v", res, err)
	}
	if diff := cmp.Diff(before.issuers, w.snapshot().issuers, aliroLockState); diff != "" {
		t.Errorf("an old revocation document changed the revocations:\n%s", diff)
	}
	// A newer one in append mode removes the entry: Alice is learned
	// again.
	lift := &mdoc.RevocationData{Mode: mdoc.RevocationAppend, Remove: []mdoc.RevocationEntry{{KeyHash: h[:]}}}
	if err := bob.applet.ProvisionRevocationDocument(w.group, w.revocationDocument(t, bob.pub, lift, aliroMonday9.Add(-10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if res, err := w.transact(t, bob, AliroActionUnlock); err != nil || res.Revocations != 1 {
		t.Fatalf("Bob lifting = %+v, %v", res, err)
	}
	if res, err := w.transact(t, alice, AliroActionUnlock); err != nil || !res.Learned {
		t.Errorf("Alice after the lift = %+v, %v", res, err)
	}
}

// TestAliroDocumentsRefused: an access document with a bad signature, an
// expired one, one from the issuer of another reader group, one for a
// revoked key, one that another phone's key is bound to, one naming reader
// rules the lock lacks, one with a critical extension: each is refused
// with its status, and the lock's state is unchanged.
func TestAliroDocumentsRefused(t *testing.T) {
	w := newAliroWorld(t, nil)
	w.enrollIssuer(t)
	// A learned key and a revocation, so that the state has something to
	// lose.
	known := w.phone(t)
	if err := known.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, known.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	revokedPhone := w.phone(t)
	h := mdoc.RevocationKeyHash(revokedPhone.pub)
	rd := &mdoc.RevocationData{Entries: []mdoc.RevocationEntry{{KeyHash: h[:]}}}
	if err := known.applet.ProvisionRevocationDocument(w.group, w.revocationDocument(t, known.pub, rd, aliroMonday9.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	if res, err := w.transact(t, known, AliroActionUnlock); err != nil || !res.Learned || res.Revocations != 1 {
		t.Fatalf("setup = %+v, %v", res, err)
	}

	otherIssuerKey := pairKey(t)
	otherIssuer, err := mdoc.NewP256Issuer(otherIssuerKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		doc    func(p *aliroPhone) *mdoc.Document
		status transaction.AliroReaderStatus
		cause  error
	}{
		{"bad signature", func(p *aliroPhone) *mdoc.Document {
			b := w.accessDocument(t, p.pub, officeHours(), aliroMonday9).Append(nil)
			// The signature ends 10 bytes before the end ("5": "aliro-a").
			b[len(b)-12] ^= 1
			doc, err := mdoc.ParseDocument(mdoc.Aliro, b)
			if err != nil {
				t.Fatal(err)
			}
			return doc
		}, transaction.AliroStatusInvalidSignature, mdoc.ErrBadSignature},
		{"expired", func(p *aliroPhone) *mdoc.Document {
			v, _ := officeHours().Encode()
			doc, err := w.issuer.Issue(&mdoc.DocumentSpec{
				DocType: mdoc.AliroAccessDocType, DeviceKey: p.pub,
				Elements:  []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: mdoc.AliroDefaultElement, Value: v}},
				ValidFrom: aliroMonday9.AddDate(0, -2, 0), ValidUntil: aliroMonday9.AddDate(0, 0, -1),
			})
			if err != nil {
				t.Fatal(err)
			}
			return doc
		}, transaction.AliroStatusKeyExpired, mdoc.ErrExpired},
		{"other reader group's issuer", func(p *aliroPhone) *mdoc.Document {
			v, _ := officeHours().Encode()
			doc, err := otherIssuer.Issue(&mdoc.DocumentSpec{
				DocType: mdoc.AliroAccessDocType, DeviceKey: p.pub,
				Elements:  []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: mdoc.AliroDefaultElement, Value: v}},
				ValidFrom: aliroMonday9.AddDate(0, 0, -1), ValidUntil: aliroMonday9.AddDate(0, 1, 0),
			})
			if err != nil {
				t.Fatal(err)
			}
			return doc
		}, transaction.AliroStatusKeyNotTrusted, mdoc.ErrUnknownIssuer},
		{"reader rules the lock lacks", func(p *aliroPhone) *mdoc.Document {
			a := officeHours()
			a.ReaderRules = []uint16{77}
			return w.accessDocument(t, p.pub, a, aliroMonday9)
		}, transaction.AliroStatusInvalidRights, mdoc.ErrReaderRule},
		{"critical extension", func(p *aliroPhone) *mdoc.Document {
			a := officeHours()
			a.AccessExtensions = map[uint32][]mdoc.Extension{0xFA1466: {{ID: 1, Version: 1, Data: []byte{0x40}}}}
			return w.accessDocument(t, p.pub, a, aliroMonday9)
		}, transaction.AliroStatusInvalidContent, mdoc.ErrCriticalExtension},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := w.phone(t)
			if err := p.applet.ProvisionAccessDocument(w.group, tc.doc(p)); err != nil {
				t.Fatal(err)
			}
			before := w.snapshot()
			res, err := w.transact(t, p, AliroActionUnlock)
			if !errors.Is(err, ErrAliroDenied) && !errors.Is(err, tc.cause) || res.Granted || res.Learned || res.Status != tc.status {
				t.Errorf("transaction = %+v, %v; want status %04X", res, err, uint16(tc.status))
			}
			if !errors.Is(err, tc.cause) {
				t.Errorf("error %v does not wrap %v", err, tc.cause)
			}
			if diff := cmp.Diff(before, w.snapshot(), aliroLockState); diff != "" {
				t.Errorf("the refused document changed the lock:\n%s", diff)
			}
		})
	}
	t.Run("revoked key", func(t *testing.T) {
		if err := revokedPhone.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, revokedPhone.pub, officeHours(), aliroMonday9)); err != nil {
			t.Fatal(err)
		}
		before := w.snapshot()
		res, err := w.transact(t, revokedPhone, AliroActionUnlock)
		if !errors.Is(err, ErrAliroDenied) || res.Status != transaction.AliroStatusKeyNotTrusted || res.Learned {
			t.Errorf("revoked = %+v, %v", res, err)
		}
		if diff := cmp.Diff(before, w.snapshot(), aliroLockState); diff != "" {
			t.Errorf("the revoked key changed the lock:\n%s", diff)
		}
	})
	t.Run("bound to another key", func(t *testing.T) {
		p := w.phone(t)
		// The issuer's document for another phone, which the device
		// does not take as its own (device.ErrDocumentMismatch), cannot
		// be provisioned; a device that served it anyway is the
		// mdoc.ErrDeviceKeyMismatch case of package mdoc's tests.
		if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, known.pub, officeHours(), aliroMonday9)); err == nil {
			t.Error("a document of another key was provisioned")
		}
	})
}

// TestAliroLearnedOutsideSchedule: a key whose document validates is kept
// even when its schedule refuses now (Matter §5.2.6.9.1), and its next
// tap is a fast refusal.
func TestAliroLearnedOutsideSchedule(t *testing.T) {
	w := newAliroWorld(t, nil)
	w.enrollIssuer(t)
	p := w.phone(t)
	a := officeHours()
	a.Rules = a.Rules[:1]
	a.Schedules[0].Start += 12 * 3600 // 21:00 to 05:00
	if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, p.pub, a, aliroMonday9)); err != nil {
		t.Fatal(err)
	}
	for i, fast := range []bool{false, true} {
		res, err := w.transact(t, p, AliroActionUnlock)
		if !errors.Is(err, mdoc.ErrAccessDenied) || res.Status != transaction.AliroStatusInvalidRights || res.Fast != fast || res.Learned != (i == 0) {
			t.Errorf("tap %d = %+v, %v", i, res, err)
		}
	}
	w.clock.set(aliroMonday9.Add(12 * time.Hour))
	if res, err := w.transact(t, p, AliroActionUnlock); err != nil || !res.Fast {
		t.Errorf("at night = %+v, %v", res, err)
	}
}

// TestAliroEviction: when the endpoint keys are full, a key learned from
// an issuer's document takes the place of the issuer user's evictable key
// used least recently; with none to evict, it opens the door without being
// kept (Matter §5.2.6.9.1).
func TestAliroEviction(t *testing.T) {
	w := newAliroWorld(t, nil)
	w.cfg.MaxEndpointKeys = 2
	l, err := NewAliroLock(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := w.reader.Bytes()
	if err := l.SetAliroReaderConfig(AliroReaderConfig{SigningKey: sk, VerificationKey: w.reader.PublicKey().Bytes(), GroupIdentifier: w.group[:]}); err != nil {
		t.Fatal(err)
	}
	w.lock = l
	w.enrollIssuer(t)
	phones := []*aliroPhone{w.phone(t), w.phone(t), w.phone(t)}
	for _, p := range phones {
		if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, p.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range phones[:2] {
		if res, err := w.transact(t, p, AliroActionUnlock); err != nil || !res.Learned {
			t.Fatalf("learning = %+v, %v", res, err)
		}
	}
	// phones[1] was used last: phones[0] is evicted.
	res, err := w.transact(t, phones[2], AliroActionUnlock)
	if err != nil || !res.Learned || res.Credential.Index != 1 {
		t.Fatalf("third phone = %+v, %v", res, err)
	}
	for _, e := range l.Endpoints() {
		if e.PublicKey.Equal(phones[0].pub) {
			t.Error("the least recently used key was not evicted")
		}
	}
	// With the slots held by a controller's keys, nothing is learned.
	if err := l.ClearCredential(nil); err != nil {
		t.Fatal(err)
	}
	w.enrollIssuer(t)
	for i := range 2 {
		k := pairKey(t).PublicKey().Bytes()
		if _, err := l.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: uint16(i + 1)}, k, 5); err != nil {
			t.Fatal(err)
		}
	}
	res, err = w.transact(t, phones[0], AliroActionUnlock)
	if err != nil || !res.Granted || res.Learned || len(l.Endpoints()) != 2 {
		t.Errorf("learning into a full lock = %+v, %v, %d keys", res, err, len(l.Endpoints()))
	}
}
