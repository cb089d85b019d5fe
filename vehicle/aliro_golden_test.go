package vehicle

import (
	"context"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/opencarkey/sdk/transport/transporttest"
)

// TestGoldenAliro records whole Aliro transactions between an AliroLock
// and device.AliroApplet with every random value drawn from a fixed seed
// (testing/cryptotest.SetGlobalRandom) and a fixed clock, and compares
// them with the checked-in transcripts: a standard unlock then a fast one
// of a key a controller set (testdata/Aliro.transcript), and a first
// unlock that learns a key in the step-up phase (its access document
// through SELECT A000000909ACCE5502 and ENVELOPE, then the final status in
// a step-up EXCHANGE), followed by its fast unlock
// (testdata/AliroStepUp.transcript). Regenerate with
// go test ./vehicle -run TestGoldenAliro -update.
func TestGoldenAliro(t *testing.T) {
	t.Run("standard and fast", func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, 1)
		w := newAliroWorld(t, nil)
		p := w.phone(t)
		if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, p.pub.Bytes(), 1); err != nil {
			t.Fatal(err)
		}
		rec := transporttest.NewRecorder(transporttest.NewCard(p.card))
		for _, note := range []string{"standard unlock", "fast unlock"} {
			rec.Note(note)
			if _, err := w.lock.Transact(context.Background(), rec, AliroActionUnlock); err != nil {
				t.Fatalf("%s: %v", note, err)
			}
		}
		transporttest.CheckGolden(t, "testdata/Aliro.transcript", rec.Transcript(), *update)
	})
	t.Run("step-up", func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, 2)
		w := newAliroWorld(t, nil)
		w.enrollIssuer(t)
		p := w.phone(t)
		if err := p.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, p.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
		rec := transporttest.NewRecorder(transporttest.NewCard(p.card))
		for _, note := range []string{"unlock, learning the key in the step-up phase", "fast unlock"} {
			rec.Note(note)
			if _, err := w.lock.Transact(context.Background(), rec, AliroActionUnlock); err != nil {
				t.Fatalf("%s: %v", note, err)
			}
		}
		transporttest.CheckGolden(t, "testdata/AliroStepUp.transcript", rec.Transcript(), *update)
	})
}
