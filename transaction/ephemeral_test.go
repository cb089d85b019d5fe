package transaction

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
)

func TestEphemeralPoolConfig(t *testing.T) {
	for _, n := range []int{-1, 0, MaxEphemeralKeys + 1} {
		if p, err := NewEphemeralPool(n); err == nil {
			p.Close()
			t.Errorf("NewEphemeralPool(%d) = nil error, want a refusal", n)
		}
	}
	pool, err := NewEphemeralPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := dkey.NewVehicleID([]byte("vehicle-"))
	rnd := bytes.NewReader(make([]byte, 64))
	if _, err := NewVehicleParams(&VehicleConfig{VehicleID: id, Key: k, Rand: rnd, Ephemeral: pool}); err != errRandAndPool {
		t.Errorf("NewVehicleParams with Rand and Ephemeral = %v, want %v", err, errRandAndPool)
	}
	if _, err := NewEndpointSession(&EndpointConfig{Rand: rnd, Ephemeral: pool}); err != errRandAndPool {
		t.Errorf("NewEndpointSession with Rand and Ephemeral = %v, want %v", err, errRandAndPool)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		if got := fmt.Sprintf(verb, pool); !strings.HasPrefix(got, "transaction.EphemeralPool{") {
			t.Errorf("Sprintf(%q, pool) = %q, want its String", verb, got)
		}
	}
}

func TestNewEphemeralPoolFor(t *testing.T) {
	for _, tt := range []struct {
		name          string
		n             int
		deterministic bool
		pool, refused bool
	}{
		{"no keys", 0, false, false, false},
		{"deterministic", 4, true, false, false},
		{"deterministic, size out of range", MaxEphemeralKeys + 1, true, false, false},
		{"pool", 3, false, true, false},
		{"largest pool", MaxEphemeralKeys, false, true, false},
		{"negative", -1, false, false, true},
		{"too large", MaxEphemeralKeys + 1, false, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewEphemeralPoolFor(tt.n, tt.deterministic)
			if p != nil {
				defer p.Close()
			}
			if (err != nil) != tt.refused || (p != nil) != tt.pool {
				t.Fatalf("NewEphemeralPoolFor(%d, %t) = %v, %v; want pool %t, refused %t", tt.n, tt.deterministic, p, err, tt.pool, tt.refused)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "transaction: ephemeral pool of ") {
				t.Errorf("error %q, want NewEphemeralPool's", err)
			}
			if p != nil && p.Size() != tt.n {
				t.Errorf("Size() = %d, want %d", p.Size(), tt.n)
			}
		})
	}
}

// pooledPair is pair with a pool of n keys on each side.
func pooledPair(t *testing.T, p dkey.Profile, n int) (*testVehicle, *testEndpoint, *EphemeralPool, *EphemeralPool) {
	t.Helper()
	vpool, err := NewEphemeralPool(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vpool.Close)
	epool, err := NewEphemeralPool(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(epool.Close)
	tv, te := pairWithPools(t, p, vpool, epool)
	return tv, te, vpool, epool
}

// pairWithPools is pair with the vehicle taking its ephemeral keys from
// vpool and the endpoint from epool.
func pairWithPools(t *testing.T, p dkey.Profile, vpool, epool *EphemeralPool) (*testVehicle, *testEndpoint) {
	t.Helper()
	tv, te := pair(t, p)
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	if tv.v, err = NewVehicleParams(&VehicleConfig{Profile: p, VehicleID: tv.v.ID(), Key: k, Ephemeral: vpool}); err != nil {
		t.Fatal(err)
	}
	tv.s = tv.v.NewSession()
	te.cred.VehicleKey = tv.v.PublicKey()
	if te.s, err = NewEndpointSession(&EndpointConfig{Profile: p, Ephemeral: epool}); err != nil {
		t.Fatal(err)
	}
	return tv, te
}

// standardSuccess runs a standard unlock ending in CONTROL FLOW success
// and checks that the endpoint saw it.
func standardSuccess(t *testing.T, tv *testVehicle, te *testEndpoint) {
	t.Helper()
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := tv.controlFlow(CFSuccess); err != nil {
		t.Fatal(err)
	}
	if te.lastCF != CFSuccess {
		t.Errorf("endpoint saw %v", te.lastCF)
	}
}

// waitReady waits until p has n keys ready.
func waitReady(t *testing.T, p *EphemeralPool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Ready() < n {
		if time.Now().After(deadline) {
			t.Fatalf("pool has %d keys ready after 10s, want %d", p.Ready(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestEphemeralPoolTransactions runs standard and fast transactions with
// a pool on each side: each side takes its key from its pool (the vehicle
// at Start, the endpoint at Auth0), holds the slot until the transaction
// ends, and the pool refills it afterwards; every ephemeral key on the
// wire is new.
func TestEphemeralPoolTransactions(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			const n = 2
			tv, te, vpool, epool := pooledPair(t, p, n)
			waitReady(t, vpool, n)
			waitReady(t, epool, n)
			seen := map[string]bool{}
			fresh := func(what string, key []byte) {
				t.Helper()
				if seen[string(key)] {
					t.Fatalf("%s %x was used before", what, key)
				}
				seen[string(key)] = true
			}
			for i, fast := range []bool{false, true, true, false} {
				waitReady(t, vpool, n)
				waitReady(t, epool, n)
				flags := Flags(0)
				if fast {
					flags = FlagFast
				}
				if err := tv.auth0(dkey.ActionUnlock, flags); err != nil {
					t.Fatalf("transaction %d: %v", i, err)
				}
				// The slots stay taken until the transaction ends.
				if got := vpool.Ready(); got != n-1 {
					t.Errorf("transaction %d: vehicle pool has %d keys ready during the transaction, want %d", i, got, n-1)
				}
				if got := epool.Ready(); got != n-1 {
					t.Errorf("transaction %d: endpoint pool has %d keys ready during the transaction, want %d", i, got, n-1)
				}
				fresh("vehicle ephemeral key", tv.s.eph.Public().Bytes())
				fresh("endpoint ephemeral key", tv.s.peer.Bytes())
				if fast {
					if tv.s.FindFast([]FastKey{NewFastKey(te.cred.PublicKey, &te.cred.Persistent)}) != 0 {
						t.Fatalf("transaction %d: the cryptogram matched no key", i)
					}
				} else if _, _, err := tv.auth1(te.cred.PublicKey); err != nil {
					t.Fatalf("transaction %d: %v", i, err)
				}
				if err := tv.controlFlow(CFSuccess); err != nil {
					t.Fatalf("transaction %d: CONTROL FLOW: %v", i, err)
				}
				tv.s.Close()
				if te.s.eph.Public().Valid() || tv.s.eph.Public().Valid() {
					t.Errorf("transaction %d: an ephemeral key outlived its transaction", i)
				}
			}
		})
	}
}

// TestEphemeralPoolEmpty: a session whose pool has no key ready generates
// its own, and the transaction runs as without a pool.
func TestEphemeralPoolEmpty(t *testing.T) {
	tv, te, vpool, epool := pooledPair(t, dkey.CCC, 1)
	vpool.Close() // closed: never a key ready
	epool.Close()
	standardSuccess(t, tv, te)
}

// TestEphemeralPoolFastAllocations: with pools, a fast transaction still
// allocates nothing on either side.
func TestEphemeralPoolFastAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	tv, te, _, _ := pooledPair(t, dkey.CCC, 2)
	pk, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := tv.controlFlow(CFSuccess); err != nil {
		t.Fatal(err)
	}
	keys := []FastKey{NewFastKey(te.cred.PublicKey, &pk)}
	if n := testing.AllocsPerRun(50, func() {
		if err := runFast(tv, keys); err != nil {
			t.Fatal(err)
		}
		tv.s.Close()
	}); n != 0 {
		t.Errorf("fast transaction with pools allocated %v times, want 0", n)
	}
}
