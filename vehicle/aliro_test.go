package vehicle

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// aliroClock is a settable clock shared by a lock and its phones.
type aliroClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *aliroClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *aliroClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// aliroMonday9 is a Monday at 09:30 UTC: inside office hours.
var aliroMonday9 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// aliroWorld is a lock configured as a Matter controller would, an issuer
// (the Credential Issuer of the phones' access documents) and phones.
type aliroWorld struct {
	clock  *aliroClock
	lock   *AliroLock
	cfg    *AliroLockConfig
	reader *dkey.SoftwareKey
	group  dkey.ReaderGroupID
	issuer *mdoc.Issuer
	issKey *dkey.SoftwareKey
}

type aliroPhone struct {
	applet *device.AliroApplet
	card   transport.Card
	pub    *dkey.PublicKey
}

func newAliroWorld(t testing.TB, m *store.Memory) *aliroWorld {
	t.Helper()
	w := &aliroWorld{clock: &aliroClock{t: aliroMonday9}}
	w.cfg = &AliroLockConfig{Time: w.clock.now}
	if m != nil {
		w.cfg.Store, w.cfg.KEK = m, testKEK(t, 7)
	}
	var err error
	if w.lock, err = NewAliroLock(w.cfg); err != nil {
		t.Fatal(err)
	}
	w.reader = pairKey(t)
	copy(w.group[:], "office door grp")
	sk, _ := w.reader.Bytes()
	if err := w.lock.SetAliroReaderConfig(AliroReaderConfig{SigningKey: sk, VerificationKey: w.reader.PublicKey().Bytes(), GroupIdentifier: w.group[:]}); err != nil {
		t.Fatal(err)
	}
	w.issKey = pairKey(t)
	if w.issuer, err = mdoc.NewP256Issuer(w.issKey); err != nil {
		t.Fatal(err)
	}
	return w
}

// phone returns a phone holding a credential for the lock's group.
func (w *aliroWorld) phone(t testing.TB) *aliroPhone {
	t.Helper()
	a, err := device.NewAliroApplet(&device.AliroConfig{Time: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	info, err := a.CreateCredential(device.AliroCredentialConfig{Group: w.group, ReaderKey: w.reader.PublicKey(), MailboxSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	return &aliroPhone{applet: a, card: transport.NewChainingCard(a), pub: info.PublicKey}
}

// accessDocument issues an access document for p with access data a,
// valid for a year from the clock.
func (w *aliroWorld) accessDocument(t testing.TB, pub *dkey.PublicKey, a *mdoc.AccessData, signed time.Time) *mdoc.Document {
	t.Helper()
	v, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := w.issuer.Issue(&mdoc.DocumentSpec{
		DocType: mdoc.AliroAccessDocType, DeviceKey: pub, Signed: signed,
		Elements:  []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: mdoc.AliroDefaultElement, Value: v}},
		ValidFrom: aliroMonday9.AddDate(0, 0, -1), ValidUntil: aliroMonday9.AddDate(1, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// officeHours is access data that unlocks Monday to Friday, 09:00 to
// 17:00 UTC, and locks at any time.
func officeHours() *mdoc.AccessData {
	return &mdoc.AccessData{
		ID: []byte("employee-42"),
		Rules: []mdoc.AccessRule{
			{Capabilities: mdoc.CapabilityUnsecure, Allow: 1},
			{Capabilities: mdoc.CapabilitySecure},
		},
		Schedules: []mdoc.Schedule{{
			Start:      uint32(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Unix()),
			Recurrence: &mdoc.Recurrence{Duration: 8 * 3600, Pattern: mdoc.RecurWeekly, Interval: 1, Mask: 0x1F},
			Flags:      mdoc.ScheduleFlagUTC,
		}},
	}
}

func (w *aliroWorld) transact(t testing.TB, p *aliroPhone, a AliroAction) (AliroResult, error) {
	t.Helper()
	return w.lock.Transact(context.Background(), transporttest.NewCard(p.card), a)
}

// enrollIssuer adds the world's issuer as an AliroCredentialIssuerKey of
// user 5.
func (w *aliroWorld) enrollIssuer(t testing.TB) {
	t.Helper()
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroIssuerKey, Index: 1}, w.issKey.PublicKey().Bytes(), 5); err != nil {
		t.Fatal(err)
	}
}

func TestAliroStandardThenFast(t *testing.T) {
	w := newAliroWorld(t, nil)
	p := w.phone(t)
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, p.pub.Bytes(), 3); err != nil {
		t.Fatal(err)
	}
	res, err := w.transact(t, p, AliroActionUnlock)
	if err != nil || !res.Granted || res.Fast || res.StepUp || res.User != 3 || res.Status != transaction.AliroStatusUnsecure {
		t.Fatalf("standard unlock = %+v, %v", res, err)
	}
	res, err = w.transact(t, p, AliroActionUnlock)
	if err != nil || !res.Granted || !res.Fast {
		t.Fatalf("fast unlock = %+v, %v", res, err)
	}
	res, err = w.transact(t, p, AliroActionLock)
	if err != nil || !res.Granted || !res.Fast || res.Status != transaction.AliroStatusSecure {
		t.Fatalf("fast lock = %+v, %v", res, err)
	}
	// An unknown phone is refused after its signature is checked.
	other := w.phone(t)
	res, err = w.transact(t, other, AliroActionUnlock)
	if !errors.Is(err, ErrAliroDenied) || res.Granted || res.Status != transaction.AliroStatusKeyNotFound {
		t.Fatalf("unknown phone = %+v, %v", res, err)
	}
}

// TestAliroStepUpLearnsAndSchedules: a phone the lock does not know, whose
// access document the lock's issuer key validates, is learned in a
// step-up phase as an evictable key of the issuer's user; its schedule
// then governs every unlock, fast ones included.
func TestAliroStepUpLearnsAndSchedules(t *testing.T) {
	w := newAliroWorld(t, nil)
	w.enrollIssuer(t)
	p := w.phone(t)
	if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, p.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	res, err := w.transact(t, p, AliroActionUnlock)
	if err != nil || !res.Granted || !res.StepUp || !res.Learned || res.User != 5 || res.Credential.Type != AliroEvictableEndpointKey {
		t.Fatalf("first unlock = %+v, %v", res, err)
	}
	res, err = w.transact(t, p, AliroActionUnlock)
	if err != nil || !res.Granted || !res.Fast || res.StepUp {
		t.Fatalf("second unlock = %+v, %v", res, err)
	}
	// In the evening the schedule refuses the unlock, fast.
	w.clock.set(aliroMonday9.Add(9 * time.Hour))
	res, err = w.transact(t, p, AliroActionUnlock)
	if !errors.Is(err, ErrAliroDenied) || !errors.Is(err, mdoc.ErrAccessDenied) || !res.Fast || res.Status != transaction.AliroStatusInvalidRights {
		t.Fatalf("evening unlock = %+v, %v", res, err)
	}
	// Locking is allowed at any time.
	if res, err = w.transact(t, p, AliroActionLock); err != nil || !res.Granted {
		t.Fatalf("evening lock = %+v, %v", res, err)
	}
}
