package transaction

import (
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

// timedCard stops the benchmark timer while the other side works, so that a
// benchmark measures one side of the transaction only.
type timedCard struct {
	b     *testing.B
	inner transport.Card
}

func (c timedCard) ProcessAPDU(dst, apdu []byte) []byte {
	c.b.StopTimer()
	defer c.b.StartTimer()
	return c.inner.ProcessAPDU(dst, apdu)
}

// benchPair returns a vehicle and an endpoint after one standard
// transaction, so both hold Kpersistent.
func benchPair(b *testing.B, p dkey.Profile) (*testVehicle, *testEndpoint) {
	tv, te := pair(b, p)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		b.Fatal(err)
	}
	return tv, te
}

func BenchmarkStandard(b *testing.B) {
	b.Run("vehicle", func(b *testing.B) {
		tv, te := benchPair(b, dkey.CCC)
		tv.card = timedCard{b: b, inner: te}
		b.ReportAllocs()
		for b.Loop() {
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
		tv, te := benchPair(b, dkey.CCC)
		tv.card = te
		d := &sideTimer{b: b}
		b.ReportAllocs()
		for b.Loop() {
			d.vehicle(func() { _ = tv.s.Start(dkey.ActionEngineStart, 0) })
			if _, _, err := d.standard(tv, te); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sideTimer times the endpoint side of a transaction: the vehicle's work
// runs with the timer stopped.
type sideTimer struct{ b *testing.B }

func (d *sideTimer) vehicle(f func()) {
	d.b.StopTimer()
	f()
	d.b.StartTimer()
}

// standard runs SELECT to CONTROL FLOW with only the endpoint timed.
func (d *sideTimer) standard(tv *testVehicle, te *testEndpoint) (PersistentKey, Auth1Result, error) {
	var (
		cmd  transport.Command
		apdu []byte
		err  error
		r    transport.Response
		res  Auth1Result
		pk   PersistentKey
	)
	step := func(build func() (transport.Command, error), read func(transport.Response) error) error {
		d.vehicle(func() {
			cmd, err = build()
			if err == nil {
				apdu, err = cmd.Append(tv.apdu[:0])
			}
		})
		if err != nil {
			return err
		}
		tv.resp = te.ProcessAPDU(tv.resp[:0], apdu)
		d.vehicle(func() {
			r, err = transport.ParseResponse(tv.resp)
			if err == nil {
				err = read(r)
			}
		})
		return err
	}
	if err := step(func() (transport.Command, error) { return tv.s.Select(), nil }, tv.s.ReadSelect); err != nil {
		return pk, res, err
	}
	if err := step(tv.s.Auth0, tv.s.ReadAuth0); err != nil {
		return pk, res, err
	}
	if err := step(tv.s.Auth1, func(r transport.Response) error {
		var err error
		if res, err = tv.s.ReadAuth1(r); err != nil {
			return err
		}
		pk, err = tv.s.VerifyEndpoint(te.cred.PublicKey)
		return err
	}); err != nil {
		return pk, res, err
	}
	err = step(func() (transport.Command, error) { return tv.s.ControlFlow(CFSuccess), nil }, func(r transport.Response) error { return r.SW.Err() })
	return pk, res, err
}

// fast runs a fast transaction with only the endpoint timed.
func (d *sideTimer) fast(tv *testVehicle, te *testEndpoint, keys []FastKey) error {
	var (
		cmd  transport.Command
		apdu []byte
		err  error
	)
	step := func(build func() (transport.Command, error), read func(transport.Response) error) error {
		d.vehicle(func() {
			cmd, err = build()
			if err == nil {
				apdu, err = cmd.Append(tv.apdu[:0])
			}
		})
		if err != nil {
			return err
		}
		tv.resp = te.ProcessAPDU(tv.resp[:0], apdu)
		d.vehicle(func() {
			var r transport.Response
			r, err = transport.ParseResponse(tv.resp)
			if err == nil {
				err = read(r)
			}
		})
		return err
	}
	d.vehicle(func() { err = tv.s.Start(dkey.ActionUnlock, FlagFast) })
	if err != nil {
		return err
	}
	if err := step(func() (transport.Command, error) { return tv.s.Select(), nil }, tv.s.ReadSelect); err != nil {
		return err
	}
	if err := step(tv.s.Auth0, func(r transport.Response) error {
		if err := tv.s.ReadAuth0(r); err != nil {
			return err
		}
		if tv.s.FindFast(keys) < 0 {
			return errNoFastMatch
		}
		return nil
	}); err != nil {
		return err
	}
	return step(func() (transport.Command, error) { return tv.s.ControlFlow(CFSuccess), nil }, func(r transport.Response) error { return r.SW.Err() })
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

func BenchmarkFast(b *testing.B) {
	b.Run("vehicle", func(b *testing.B) {
		tv, te := benchPair(b, dkey.CCC)
		keys := []FastKey{NewFastKey(te.cred.PublicKey, &te.cred.Persistent)}
		tv.card = timedCard{b: b, inner: te}
		b.ReportAllocs()
		for b.Loop() {
			if err := runFast(tv, keys); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("endpoint", func(b *testing.B) {
		tv, te := benchPair(b, dkey.CCC)
		keys := []FastKey{NewFastKey(te.cred.PublicKey, &te.cred.Persistent)}
		d := &sideTimer{b: b}
		b.ReportAllocs()
		for b.Loop() {
			if err := d.fast(tv, te, keys); err != nil {
				b.Fatal(err)
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
