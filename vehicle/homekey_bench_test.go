package vehicle

import (
	"context"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// BenchmarkHomeKeyAttestation: a lock that does not know the phone's key
// learns it by attestation (standard transaction, EXCHANGE, 40A0, the
// configuration applet's handover and request, document verification,
// enrolment), in memory. Each round has a new lock.
func BenchmarkHomeKeyAttestation(b *testing.B) {
	w := newHomeWorld(b, nil)
	card := transporttest.NewCard(w.phone)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r, err := NewReader(&Config{Profile: dkey.HomeKey, VehicleID: w.lockID(0), Key: w.key, Time: func() time.Time { return hkNow }})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.EnrollIssuer(w.issuer.Key()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res, err := r.Transact(ctx, card, dkey.ActionUnlock); err != nil || !res.Attested {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkHomeKeyFastTwoLocks: fast unlocks alternating between the two
// locks of a home, the phone holding one key with a Kpersistent per lock.
func BenchmarkHomeKeyFastTwoLocks(b *testing.B) {
	w := newHomeWorld(b, nil)
	card := transporttest.NewCard(w.phone)
	ctx := context.Background()
	for i := range w.locks {
		if _, err := w.tap(b, i, w.phone, dkey.ActionUnlock); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if res, err := w.locks[i].Transact(ctx, card, dkey.ActionUnlock); err != nil || !res.Fast {
			b.Fatal(res, err)
		}
		i ^= 1
	}
}
