package vehicle

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/transport/transporttest"
)

// FuzzAliroLock answers the lock's commands with arbitrary responses
// (split on FE ED), as a malicious device would, seeded with the responses
// of real transactions (a step-up that learns a key, a fast one). The lock
// never panics, never grants access to a card without a credential's
// private key, and never changes its state: no key learned, no
// Kpersistent, no revocation.
func FuzzAliroLock(f *testing.F) {
	w := newAliroWorld(f, nil)
	w.enrollIssuer(f)
	p := w.phone(f)
	if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(f, p.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
		f.Fatal(err)
	}
	for range 2 {
		rec := transporttest.NewRecorder(transporttest.NewCard(p.card))
		if _, err := w.lock.Transact(context.Background(), rec, AliroActionUnlock); err != nil {
			f.Fatal(err)
		}
		var resps [][]byte
		for _, e := range rec.Transcript() {
			resps = append(resps, e.Response)
		}
		f.Add(bytes.Join(resps, []byte{0xFE, 0xED}))
	}
	// The learned key is forgotten: a replay of its step-up must not bring
	// it back.
	if err := w.lock.ClearCredential(nil); err != nil {
		f.Fatal(err)
	}
	w.enrollIssuer(f)
	before := w.snapshot()
	f.Fuzz(func(t *testing.T, script []byte) {
		answers := bytes.Split(script, []byte{0xFE, 0xED})
		i := 0
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
			if i >= len(answers) {
				return append(dst, 0x6F, 0x00)
			}
			i++
			return append(dst, answers[i-1]...)
		}))
		for _, a := range []AliroAction{AliroActionUnlock, AliroActionLock} {
			i = 0
			if res, err := w.lock.Transact(context.Background(), card, a); err == nil || res.Granted || res.Learned {
				t.Fatalf("a card without a credential's key was granted %v: %+v", a, res)
			}
		}
		if diff := cmp.Diff(before, w.snapshot(), aliroLockState); diff != "" {
			t.Fatalf("a forged transaction changed the lock:\n%s", diff)
		}
	})
}
