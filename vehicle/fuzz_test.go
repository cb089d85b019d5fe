package vehicle

import (
	"bytes"
	"context"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// FuzzReader answers the reader's commands with arbitrary responses (split
// on FE ED), as a malicious card would. The reader never panics, and a card
// without an enrolled key's private key never changes the reader's state:
// no key gains or changes Kpersistent, none is provisioned or used.
func FuzzReader(f *testing.F) {
	w := newWorld(f, dkey.CCC)
	// Seed with the responses of a real transaction.
	var resps [][]byte
	rec := transporttest.NewRecorder(w.card)
	if _, err := w.reader.Transact(context.Background(), rec, dkey.ActionUnlock); err != nil {
		f.Fatal(err)
	}
	for _, e := range rec.Transcript() {
		resps = append(resps, e.Response)
	}
	f.Add(bytes.Join(resps, []byte{0xFE, 0xED}))
	f.Add([]byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00, 0xFE, 0xED, 0x61, 0x10})
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
		for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart} {
			i = 0
			res, err := w.reader.Transact(context.Background(), card, a)
			if err == nil || res.OK() {
				t.Fatalf("a card without the key's private key completed %v", a)
			}
		}
		after := w.snapshot()
		if len(after.fast) != len(before.fast) || after.fast[0] != before.fast[0] || after.reader[0].LastUse != before.reader[0].LastUse {
			t.Fatal("a forged transaction changed the reader's state")
		}
	})
}
