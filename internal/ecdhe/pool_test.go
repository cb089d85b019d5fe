package ecdhe

import (
	"bytes"
	"crypto/ecdh"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/internal/leakcheck"
	"github.com/opencarkey/sdk/internal/race"
)

const fillName = "github.com/opencarkey/sdk/internal/ecdhe.(*Pool).fill"

// waitFull waits until p is full (the filler has work only while it is
// not, so this ends).
func waitFull(t *testing.T, p *Pool) {
	t.Helper()
	for p.Ready() < p.Size() {
		waitFiller()
	}
}

// waitFiller yields to the filler goroutine for a moment.
func waitFiller() {
	var k PrivateKey
	_ = k.Generate() // about as long as one key of the filler
}

// checkPair checks that k's public key is its scalar times the generator,
// as crypto/ecdh computes it.
func checkPair(t *testing.T, k *PrivateKey) {
	t.Helper()
	ref, err := ecdh.P256().NewPrivateKey(k.scalar[:])
	if err != nil {
		t.Fatalf("taken key has an invalid scalar: %v", err)
	}
	if !bytes.Equal(ref.PublicKey().Bytes(), k.Public().Bytes()) {
		t.Fatalf("taken key: public %x, want %x", k.Public().Bytes(), ref.PublicKey().Bytes())
	}
}

// TestPoolTakeRelease takes every key of a full pool: each is a valid
// pair, distinct from the others, its slot erased; then nothing is ready
// until a slot is released, after which the filler fills it again.
func TestPoolTakeRelease(t *testing.T) {
	p := NewPool(4)
	defer p.Close()
	waitFull(t, p)
	seen := map[string]bool{}
	var tickets []Ticket
	for range p.Size() {
		var k PrivateKey
		tk, ok := p.Take(&k)
		if !ok {
			t.Fatalf("Take from a full pool reported nothing ready after %d keys", len(tickets))
		}
		checkPair(t, &k)
		if seen[string(k.Public().Bytes())] {
			t.Fatalf("Take returned the key %x twice", k.Public().Bytes())
		}
		seen[string(k.Public().Bytes())] = true
		if p.keys[tk.slot] != (PrivateKey{}) {
			t.Errorf("slot %d still holds the key taken from it", tk.slot)
		}
		tickets = append(tickets, tk)
	}
	var k PrivateKey
	if _, ok := p.Take(&k); ok || k.Public().Valid() {
		t.Fatal("Take from an empty pool reported a key")
	}
	// Nothing is refilled before a release: the slots are the takers'.
	waitFiller()
	if n := p.Ready(); n != 0 {
		t.Fatalf("Ready = %d before any release, want 0", n)
	}
	for _, tk := range tickets {
		p.Release(tk)
	}
	waitFull(t, p)
	for range p.Size() {
		var k PrivateKey
		if _, ok := p.Take(&k); !ok {
			t.Fatal("Take after the refill reported nothing ready")
		}
		checkPair(t, &k)
		if seen[string(k.Public().Bytes())] {
			t.Fatalf("the refilled pool gave the key %x again", k.Public().Bytes())
		}
		seen[string(k.Public().Bytes())] = true
	}
}

// TestPoolConcurrent takes keys from many goroutines at once, each
// releasing its slot after use, until every goroutine has had its share
// of keys from the pool, and checks that no key is handed out twice. Run
// it with -race: the pool's slots move between goroutines.
func TestPoolConcurrent(t *testing.T) {
	const workers, each = 8, 25
	p := NewPool(3)
	defer p.Close()
	var mu sync.Mutex
	seen := map[[PublicKeySize]byte]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for got := 0; got < each; {
				var k PrivateKey
				tk, ok := p.Take(&k)
				if !ok {
					// A caller would generate its own key; the test
					// leaves the processor to the filler instead.
					time.Sleep(50 * time.Microsecond)
					continue
				}
				got++
				pub := [PublicKeySize]byte(k.Public().Bytes())
				mu.Lock()
				dup := seen[pub]
				seen[pub] = true
				mu.Unlock()
				if dup {
					t.Errorf("key %x handed out twice", pub)
				}
				k.Zeroize()
				p.Release(tk)
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Errorf("%d distinct keys taken, want %d", len(seen), workers*each)
	}
}

// TestPoolClose checks that Close stops the filler (no goroutine left),
// erases the keys no one took, and that the pool then hands out nothing;
// Release after Close does not block, and a second Close does nothing.
func TestPoolClose(t *testing.T) {
	before := leakcheck.Count(fillName)
	p := NewPool(4)
	waitFull(t, p)
	var held PrivateKey
	tk, ok := p.Take(&held)
	if !ok {
		t.Fatal("Take from a full pool reported nothing ready")
	}
	if n := leakcheck.Count(fillName); n != before+1 {
		t.Fatalf("%d filler goroutines with one pool, want %d", n, before+1)
	}
	p.Close()
	leakcheck.WaitNone(t, fillName)
	for i := range p.keys {
		if p.keys[i] != (PrivateKey{}) {
			t.Errorf("slot %d holds a key after Close", i)
		}
	}
	var k PrivateKey
	if _, ok := p.Take(&k); ok {
		t.Error("Take after Close reported a key")
	}
	p.Release(tk)
	p.Close()
	if _, ok := p.Take(&k); ok {
		t.Error("Take after Release and a second Close reported a key")
	}
}

// TestPoolCloseWhileFilling closes a pool whose filler is at work.
func TestPoolCloseWhileFilling(t *testing.T) {
	for range 20 {
		p := NewPool(64)
		p.Close()
	}
	leakcheck.WaitNone(t, fillName)
}

func TestPoolAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	p := NewPool(2)
	defer p.Close()
	waitFull(t, p)
	var k PrivateKey
	if n := testing.AllocsPerRun(100, func() {
		tk, ok := p.Take(&k)
		if ok {
			p.Release(tk)
		}
	}); n != 0 {
		t.Errorf("Take and Release allocated %v times, want 0", n)
	}
}

// BenchmarkPoolTake measures the two sides of a pool: take-ns/op is the
// cost a pool leaves on the critical path (one Take and its Release, timed
// alone, against BenchmarkGenerate), ns/op the whole cycle of waiting for
// the filler to put a key back and taking it. (Stopping the benchmark
// timer around the wait would make b.Loop run millions of iterations of a
// take that costs nanoseconds, each waiting for a key generation.)
func BenchmarkPoolTake(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var k PrivateKey
	var taking time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for p.Ready() == 0 {
			waitFiller()
		}
		t0 := time.Now()
		tk, ok := p.Take(&k)
		if !ok {
			b.Fatal("no key ready")
		}
		p.Release(tk)
		taking += time.Since(t0)
	}
	b.ReportMetric(float64(taking.Nanoseconds())/float64(b.N), "take-ns/op")
}

// TestNextPoll: the filler polls every pollMin while it finds work and
// backs off to pollMax, doubling, while it finds none.
func TestNextPoll(t *testing.T) {
	for _, tt := range []struct {
		last   time.Duration
		worked bool
		want   time.Duration
	}{
		{pollMin, true, pollMin},
		{pollMax, true, pollMin},
		{pollMin, false, 2 * pollMin},
		{4 * pollMin, false, 8 * pollMin},
		{pollMax/2 + 1, false, pollMax},
		{pollMax, false, pollMax},
	} {
		if got := nextPoll(tt.last, tt.worked); got != tt.want {
			t.Errorf("nextPoll(%v, %v) = %v, want %v", tt.last, tt.worked, got, tt.want)
		}
	}
	// From pollMin, an idle pool reaches pollMax in a few rounds and
	// stays there.
	d, rounds := pollMin, 0
	for ; d < pollMax; rounds++ {
		d = nextPoll(d, false)
	}
	if rounds > 15 {
		t.Errorf("an idle filler reaches pollMax after %d rounds", rounds)
	}
}
