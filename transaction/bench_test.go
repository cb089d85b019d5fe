package transaction

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport"
)

// benchPair returns a vehicle and an endpoint after one standard
// transaction, so both hold Kpersistent.
func benchPair(b *testing.B, p dkey.Profile) (*testVehicle, *testEndpoint) {
	tv, te := pair(b, p)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		b.Fatal(err)
	}
	return tv, te
}

// replayCard answers each command with the next recorded response,
// without running the other side.
type replayCard struct {
	resps [][]byte
	i     int
}

func (c *replayCard) ProcessAPDU(dst, _ []byte) []byte {
	r := c.resps[c.i%len(c.resps)]
	c.i++
	return append(dst, r...)
}

// recorder passes commands to a card and keeps both.
type recorder struct {
	inner       transport.Card
	cmds, resps [][]byte
}

func (c *recorder) ProcessAPDU(dst, apdu []byte) []byte {
	c.cmds = append(c.cmds, bytes.Clone(apdu))
	out := c.inner.ProcessAPDU(dst, apdu)
	c.resps = append(c.resps, bytes.Clone(out[len(dst):]))
	return out
}

// fixedStandard records one standard transaction (engine start) in which
// both ephemeral keys and the transaction identifier are fixed, so that
// either side can replay the other's messages: each benchmark then times one
// side's work alone, every public-key operation included.
func fixedStandard(b *testing.B) (*testVehicle, *testEndpoint, *recorder) {
	tv, te := pair(b, dkey.CCC)
	var vs, es [32]byte
	vs[31], es[31] = 7, 9
	txID := [txIDSize]byte{1, 2, 3}
	tv.s.testingOnlyScalar, tv.s.testingOnlyTxID = vs[:], &txID
	te.s.testingOnlyScalar = es[:]
	rec := &recorder{inner: te}
	tv.card = rec
	if _, _, err := tv.standard(dkey.ActionEngineStart, 0, te.cred.PublicKey); err != nil {
		b.Fatal(err)
	}
	if err := tv.controlFlow(CFSuccess); err != nil {
		b.Fatal(err)
	}
	return tv, te, rec
}

func BenchmarkStandard(b *testing.B) {
	b.Run("vehicle", func(b *testing.B) {
		tv, te, rec := fixedStandard(b)
		card := &replayCard{resps: rec.resps}
		tv.card = card
		b.ReportAllocs()
		for b.Loop() {
			card.i = 0
			pk, _, err := tv.standard(dkey.ActionEngineStart, 0, te.cred.PublicKey)
			if err != nil || !pk.Valid() {
				b.Fatal(err)
			}
			if err := tv.controlFlow(CFSuccess); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("endpoint", func(b *testing.B) {
		_, te, rec := fixedStandard(b)
		var resp []byte
		b.ReportAllocs()
		for b.Loop() {
			for _, cmd := range rec.cmds {
				resp = te.ProcessAPDU(resp[:0], cmd)
				if resp[len(resp)-2] != 0x90 {
					b.Fatalf("%X answered %X", cmd, resp)
				}
			}
		}
	})
}

var errNoFastMatch = errors.New("cryptogram matches no key")

// runFast runs a whole fast transaction, both sides, untimed by side.
func runFast(tv *testVehicle, keys []FastKey) error {
	if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
		return err
	}
	if tv.s.FindFast(keys) < 0 {
		return errNoFastMatch
	}
	return tv.controlFlow(CFSuccess)
}

// fixedFast records one fast transaction with fixed ephemeral keys and
// transaction identifier after a standard one, for replay by either side.
func fixedFast(b *testing.B) (*testVehicle, *testEndpoint, *recorder, []FastKey) {
	tv, te, _ := fixedStandard(b)
	keys := []FastKey{NewFastKey(te.cred.PublicKey, &te.cred.Persistent)}
	rec := &recorder{inner: te}
	tv.card = rec
	if err := runFast(tv, keys); err != nil {
		b.Fatal(err)
	}
	return tv, te, rec, keys
}

func BenchmarkFast(b *testing.B) {
	b.Run("vehicle", func(b *testing.B) {
		tv, _, rec, keys := fixedFast(b)
		card := &replayCard{resps: rec.resps}
		tv.card = card
		b.ReportAllocs()
		for b.Loop() {
			card.i = 0
			if err := runFast(tv, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("endpoint", func(b *testing.B) {
		_, te, rec, _ := fixedFast(b)
		resp := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			for _, cmd := range rec.cmds {
				resp = te.ProcessAPDU(resp[:0], cmd)
				if resp[len(resp)-2] != 0x90 {
					b.Fatalf("%X answered %X", cmd, resp)
				}
			}
		}
	})
}

// BenchmarkFloor measures only the public-key operations each side must do,
// with the standard library: the floor the transaction benchmarks are held
// to (a standard side at most 1.2 times its floor).
func BenchmarkFloor(b *testing.B) {
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	peerBytes := peer.PublicKey().Bytes()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	verifier, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("signed data"))
	sig, _ := ecdsa.SignASN1(rand.Reader, verifier, digest[:])
	standard := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			eph, err := ecdh.P256().GenerateKey(rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			pub, err := ecdh.P256().NewPublicKey(peerBytes)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := eph.ECDH(pub); err != nil {
				b.Fatal(err)
			}
			if _, err := ecdsa.SignASN1(rand.Reader, signer, digest[:]); err != nil {
				b.Fatal(err)
			}
			if !ecdsa.VerifyASN1(&verifier.PublicKey, digest[:], sig) {
				b.Fatal("verify")
			}
		}
	}
	fast := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ecdh.P256().GenerateKey(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("standard-vehicle", standard)
	b.Run("standard-endpoint", standard)
	b.Run("fast-vehicle", fast)
	b.Run("fast-endpoint", fast)
}

// BenchmarkFastLookup measures the vehicle finding the key that produced a
// cryptogram among n enrolled keys, the right one last (the worst case).
func BenchmarkFastLookup(b *testing.B) {
	for _, n := range []int{1, 16, 1000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			tv, te := benchPair(b, dkey.CCC)
			keys := fastKeys(b, n-1)
			keys = append(keys, NewFastKey(te.cred.PublicKey, &te.cred.Persistent))
			if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				tv.s.stage = stageAuth0
				if i := tv.s.FindFast(keys); i != n-1 {
					b.Fatalf("FindFast = %d", i)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

func fastKeys(tb testing.TB, n int) []FastKey {
	keys := make([]FastKey, n)
	for i := range keys {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			tb.Fatal(err)
		}
		var raw [32]byte
		rand.Read(raw[:])
		pk, _ := NewPersistentKey(raw[:])
		keys[i] = NewFastKey(k.PublicKey(), &pk)
	}
	return keys
}

// TestFastAllocations asserts that a fast transaction allocates nothing on
// either side once the sessions exist.
func TestFastAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			tv, te := pair(t, p)
			pk, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			keys := append(fastKeys(t, 15), NewFastKey(te.cred.PublicKey, &pk))
			if n := testing.AllocsPerRun(50, func() {
				if err := runFast(tv, keys); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("fast transaction allocated %v times, want 0", n)
			}
		})
	}
}

// TestBenchmarkHelpers checks that the benchmark helpers run complete
// transactions, so that the benchmarks measure what they claim.
func TestBenchmarkHelpers(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	pk, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := runFast(tv, []FastKey{NewFastKey(te.cred.PublicKey, &pk)}); err != nil {
		t.Fatal(err)
	}
	if te.lastCF != CFSuccess {
		t.Errorf("endpoint saw %v", te.lastCF)
	}
}
