package transaction

import (
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

// fixedAliroStandard records one standard Aliro transaction (SELECT to the
// final EXCHANGE) in which both ephemeral keys and the transaction
// identifier are fixed, so that either side can replay the other's
// messages.
func fixedAliroStandard(b testing.TB) (*aliroTestReader, *aliroTestEndpoint, *AliroCredential, *recorder) {
	tr, te, cred := aliroPair(b)
	var rs, es [32]byte
	rs[31], es[31] = 7, 9
	txID := [txIDSize]byte{1, 2, 3}
	tr.s.testingOnlyScalar, tr.s.testingOnlyTxID = rs[:], &txID
	te.s.testingOnlyScalar = es[:]
	rec := &recorder{inner: te}
	tr.card = rec
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		b.Fatal(err)
	}
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		b.Fatal(err)
	}
	return tr, te, cred, rec
}

// runAliroFast runs a whole fast Aliro transaction: SELECT, AUTH0 with the
// fast request, FindFast, then the final EXCHANGE under the fast keys.
func runAliroFast(tr *aliroTestReader, keys []FastKey) error {
	i, err := tr.fast(AliroPolicyUserDevice, keys)
	if err != nil {
		return err
	}
	if i < 0 {
		return errNoFastMatch
	}
	return tr.finish(AliroStatusUnsecure)
}

// fixedAliroFast records one fast transaction with fixed ephemeral keys and
// transaction identifier after a standard one.
func fixedAliroFast(b testing.TB) (*aliroTestReader, *aliroTestEndpoint, *recorder, []FastKey) {
	tr, te, cred, _ := fixedAliroStandard(b)
	pk := te.persist[tr.r.ID()]
	keys := []FastKey{NewFastKey(cred.PublicKey, &pk)}
	rec := &recorder{inner: te}
	tr.card = rec
	if err := runAliroFast(tr, keys); err != nil {
		b.Fatal(err)
	}
	return tr, te, rec, keys
}

// benchAnswer times the device answering the recorded commands of one
// transaction, each of which must succeed.
func benchAnswer(b *testing.B, card *aliroTestEndpoint, cmds [][]byte) {
	resp := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		for _, cmd := range cmds {
			resp = card.ProcessAPDU(resp[:0], cmd)
			if resp[len(resp)-2] != 0x90 {
				b.Fatalf("%X answered %X", cmd, resp)
			}
		}
	}
}

func BenchmarkAliroStandard(b *testing.B) {
	b.Run("reader", func(b *testing.B) {
		tr, _, cred, rec := fixedAliroStandard(b)
		card := &replayCard{resps: rec.resps}
		tr.card = card
		b.ReportAllocs()
		for b.Loop() {
			card.i = 0
			pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
			if err != nil || !pk.Valid() {
				b.Fatal(err)
			}
			if err := tr.finish(AliroStatusUnsecure); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("endpoint", func(b *testing.B) {
		_, te, _, rec := fixedAliroStandard(b)
		benchAnswer(b, te, rec.cmds)
	})
}

func BenchmarkAliroFast(b *testing.B) {
	b.Run("reader", func(b *testing.B) {
		tr, _, rec, keys := fixedAliroFast(b)
		card := &replayCard{resps: rec.resps}
		tr.card = card
		b.ReportAllocs()
		for b.Loop() {
			card.i = 0
			if err := runAliroFast(tr, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("endpoint", func(b *testing.B) {
		_, te, rec, _ := fixedAliroFast(b)
		benchAnswer(b, te, rec.cmds)
	})
}

// BenchmarkAliroFastLookup measures the reader finding the key that
// produced a cryptogram among n enrolled keys, the right one last.
func BenchmarkAliroFastLookup(b *testing.B) {
	for _, n := range []int{1, 16, 1000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tr, te, cred := aliroPair(b)
			if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
				b.Fatal(err)
			}
			pk := te.persist[tr.r.ID()]
			keys := append(fastKeys(b, n-1), NewFastKey(cred.PublicKey, &pk))
			if err := tr.auth0(AliroPolicyUserDevice, true); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				tr.s.stage = aliroStAuth0
				if i := tr.s.FindFast(keys); i != n-1 {
					b.Fatalf("FindFast = %d", i)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

// TestAliroFastAllocations asserts the allocations of the Aliro fast path
// once the sessions exist. Unlike the CCC fast path (AES-CMAC over a key
// schedule the session keeps), the Aliro cryptogram and the fast secure
// channel are AES-GCM under keys derived per transaction, and crypto/aes
// cannot rekey a cipher in place: each new key costs aliroKeyAllocs
// allocations (the cipher.Block and the AEAD), of a few hundred bytes. The
// device allocates for the one cryptogram it seals and the two channel keys
// of the final EXCHANGE; the reader for each candidate key it tries and
// for the channel keys of the one that matched. Everything else (messages,
// HKDF, ECDH, transcript) allocates nothing: the test pins the counts so
// that a regression shows.
func TestAliroFastAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	tr, te, cred := aliroPair(t)
	pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	const candidates = 16
	keys := append(fastKeys(t, candidates-1), NewFastKey(cred.PublicKey, &pk))

	// The whole transaction, both sides.
	want := float64(aliroKeyAllocs * (1 + 2 + candidates + 2))
	if n := testing.AllocsPerRun(50, func() {
		if err := runAliroFast(tr, keys); err != nil {
			t.Fatal(err)
		}
	}); n != want {
		t.Errorf("fast transaction with %d candidate keys allocated %v times, want %v", candidates, n, want)
	}

	// The reader's lookup alone: one key per candidate.
	if err := tr.auth0(AliroPolicyUserDevice, true); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() {
		tr.s.stage = aliroStAuth0
		if tr.s.FindFast(keys) != candidates-1 {
			t.Fatal("no match")
		}
	}); n != aliroKeyAllocs*candidates {
		t.Errorf("FindFast over %d keys allocated %v times, want %v", candidates, n, aliroKeyAllocs*candidates)
	}

	// A device without Kpersistent (random cryptogram) allocates nothing
	// for it.
	delete(te.persist, tr.r.ID())
	if n := testing.AllocsPerRun(50, func() {
		if i, err := tr.fast(AliroPolicyUserDevice, keys); err != nil || i != -1 {
			t.Fatal(i, err)
		}
	}); n != aliroKeyAllocs*candidates {
		t.Errorf("fast miss allocated %v times, want %v", n, aliroKeyAllocs*candidates)
	}
}

// TestAliroBenchmarkHelpers checks that the benchmark helpers run complete
// transactions.
func TestAliroBenchmarkHelpers(t *testing.T) {
	tr, te, rec, keys := fixedAliroFast(t)
	if len(rec.cmds) != 3 || te.status != AliroStatusUnsecure || !te.s.Ended() {
		t.Errorf("fast transaction of %d commands, device status %04X", len(rec.cmds), te.status)
	}
	if err := runAliroFast(tr, keys); err != nil {
		t.Fatal(err)
	}
}

// aliroKeyAllocs is what one AES-GCM key costs in crypto/aes and
// crypto/cipher.
const aliroKeyAllocs = 2
