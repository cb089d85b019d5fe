package vehicle

import (
	"context"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/transporttest"
)

// BenchmarkAliroFast: fast unlocks of a key the lock holds, through an
// AliroLock and an AliroApplet in memory (AUTH0 with the cryptogram, the
// EXCHANGE that authenticates the reader and carries its status).
func BenchmarkAliroFast(b *testing.B) {
	w := newAliroWorld(b, nil)
	p := w.phone(b)
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, p.pub.Bytes(), 1); err != nil {
		b.Fatal(err)
	}
	if res, err := w.transact(b, p, AliroActionUnlock); err != nil || res.Fast {
		b.Fatal(res, err)
	}
	card := transporttest.NewCard(p.card)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := w.lock.Transact(ctx, card, AliroActionUnlock); err != nil || !res.Fast {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkAliroStandard: standard unlocks (AUTH0, AUTH1 with both
// signatures, the EXCHANGE with the reader status, a new Kpersistent on
// both sides) of a key the lock holds. Each round has a new lock, so that
// no Kpersistent matches.
func BenchmarkAliroStandard(b *testing.B) {
	w := newAliroWorld(b, nil)
	p := w.phone(b)
	card := transporttest.NewCard(p.card)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		lock := w.newLock(b)
		if _, err := lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, p.pub.Bytes(), 1); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res, err := lock.Transact(ctx, card, AliroActionUnlock); err != nil || res.Fast || res.StepUp {
			b.Fatal(res, err)
		}
		b.StopTimer()
		_ = lock.Close()
		b.StartTimer()
	}
}

// BenchmarkAliroStepUp: a lock that does not know the phone's key learns
// it from the access document its issuer key validates (standard phase,
// SELECT of the step-up applet, ENVELOPE with the request and the
// document, verification, the EXCHANGE under the step-up channel). Each
// round has a new lock.
func BenchmarkAliroStepUp(b *testing.B) {
	w := newAliroWorld(b, nil)
	p := w.phone(b)
	if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(b, p.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
		b.Fatal(err)
	}
	card := transporttest.NewCard(p.card)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		lock := w.newLock(b)
		if _, err := lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroIssuerKey, Index: 1}, w.issKey.PublicKey().Bytes(), 5); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res, err := lock.Transact(ctx, card, AliroActionUnlock); err != nil || !res.StepUp || !res.Learned {
			b.Fatal(res, err)
		}
		b.StopTimer()
		_ = lock.Close()
		b.StartTimer()
	}
}

// newLock returns another lock of w's reader group, configured with w's
// reader key: a new sub-group identifier, no credentials.
func (w *aliroWorld) newLock(t testing.TB) *AliroLock {
	t.Helper()
	lock, err := NewAliroLock(&AliroLockConfig{Time: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := w.reader.Bytes()
	if err := lock.SetAliroReaderConfig(AliroReaderConfig{SigningKey: sk, VerificationKey: w.reader.PublicKey().Bytes(), GroupIdentifier: w.group[:]}); err != nil {
		t.Fatal(err)
	}
	return lock
}
