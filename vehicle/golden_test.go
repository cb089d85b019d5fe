package vehicle

import (
	"context"
	"flag"
	"testing"
	"testing/cryptotest"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata")

// TestGoldenTranscripts records whole transactions with fixed keys (a
// deterministic crypto/rand) and compares them with the checked-in
// transcripts, so that any change to the bytes on the wire shows. Regenerate
// with go test ./vehicle -run TestGoldenTranscripts -update.
func TestGoldenTranscripts(t *testing.T) {
	for _, p := range []dkey.Profile{dkey.CCC, dkey.HomeKey} {
		t.Run(p.String(), func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, 1)
			w := newWorld(t, p)
			rec := transporttest.NewRecorder(w.card)
			for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionUnlock, dkey.ActionEngineStart} {
				rec.Note(a.String())
				if _, err := w.reader.Transact(context.Background(), rec, a); err != nil {
					t.Fatalf("%v: %v", a, err)
				}
			}
			transporttest.CheckGolden(t, "testdata/"+p.String()+".transcript", rec.Transcript(), *update)
		})
	}
}
