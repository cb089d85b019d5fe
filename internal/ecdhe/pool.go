package ecdhe

import (
	"sync"
	"time"
)

// Pool keeps up to a fixed number of ephemeral key pairs generated ahead
// of use by one background goroutine, so that a protocol run takes a key
// instead of computing one on its critical path (issue 18).
//
// Each slot of the pool is in exactly one place at a time, which the two
// channels of slot numbers record:
//
//   - ready: the slot holds a key no one has taken;
//   - free: the slot is empty and the filler may generate into it;
//   - neither: the filler is generating into it, or a caller took its key
//     and has not released the slot yet.
//
// Take moves a ready key into the caller's PrivateKey and erases the
// slot, so a key is handed out once and lives on in one place only. The
// slot goes back to the filler when the caller calls Release, at the end
// of its protocol run: the refill then runs between runs, not during the
// one that took the key. Take never waits; with nothing ready it reports
// false and the caller generates its key itself.
//
// Neither Take nor Release wakes the filler. Waking a goroutine parked on
// a channel makes the waking thread ask the kernel to wake another one (a
// futex call, an inter-processor interrupt in a virtual machine), and the
// woken thread may preempt the one that woke it: measured on the
// project's two-core machine, the release at the end of a tap cost it 4
// to 5 µs on average, and a standard tap lost to it about what the pool
// saved. The filler wakes on its own timer instead: pollMin (50 µs)
// after a round that found work, twice as long after each round that
// found none, up to pollMax (1 s). While taps keep coming a released slot
// is refilled within a few hundred microseconds; after a quiet spell,
// within a second; an idle pool costs one wakeup a second, a rate it
// reaches fifteen rounds (1.6 s) after its last work. (With a 1 ms
// pollMin, a benchmark that waits for the refill between taps found its
// taps slower by 5 to 7 µs: it measured the wait, not the pool.)
//
// The zero Pool is not usable; NewPool starts one, Close stops it.
type Pool struct {
	keys  []PrivateKey
	ready chan int
	free  chan int
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// The filler's polling interval.
const (
	pollMin = 50 * time.Microsecond
	pollMax = time.Second
)

// NewPool returns a pool of n key pairs (n > 0) and starts the goroutine
// that fills it. It returns once that goroutine runs (so that a goroutine
// count taken after NewPool sees it in fill, not in the runtime's wrapper
// of a goroutine not yet scheduled). Close stops the goroutine.
func NewPool(n int) *Pool {
	p := &Pool{
		keys:  make([]PrivateKey, n),
		ready: make(chan int, n),
		free:  make(chan int, n),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for i := range n {
		p.free <- i
	}
	started := make(chan struct{})
	go p.fill(started)
	<-started
	return p
}

// fill closes started, then fills the free slots and sleeps for the
// polling interval, until Close. It is the pool's only goroutine.
func (p *Pool) fill(started chan<- struct{}) {
	defer close(p.done)
	close(started)
	wait := time.NewTimer(pollMin)
	defer wait.Stop()
	interval := pollMin
	for {
		worked, ok := p.fillFree()
		if !ok {
			return
		}
		interval = nextPoll(interval, worked)
		wait.Reset(interval)
		select {
		case <-p.stop:
			return
		case <-wait.C:
		}
	}
}

// nextPoll is the filler's next interval: pollMin after a round that
// filled a slot, otherwise twice the last one, at most pollMax.
func nextPoll(last time.Duration, worked bool) time.Duration {
	if worked {
		return pollMin
	}
	return min(2*last, pollMax)
}

// fillFree generates a key into every free slot. It reports whether it
// filled any, and false for ok when the pool is closing (or crypto/rand
// failed, which it does not in Go 1.24 and later; the pool then stops
// filling and callers generate their keys themselves, and see the error).
func (p *Pool) fillFree() (worked, ok bool) {
	for {
		select {
		case <-p.stop:
			return worked, false
		default:
		}
		select {
		case i := <-p.free:
			if err := p.keys[i].Generate(); err != nil {
				p.free <- i
				return worked, false
			}
			// ready has room for every slot: this never blocks.
			p.ready <- i
			worked = true
		default:
			return worked, true
		}
	}
}

// Ticket names the slot a key came from, for Release.
type Ticket struct{ slot int }

// Take moves a ready key pair into k, erases it from the pool and returns
// the ticket of its slot, which the caller passes to Release once it is
// done with the key. It reports false, leaving k as it was, when no key is
// ready. It never blocks, and is safe for concurrent use.
func (p *Pool) Take(k *PrivateKey) (Ticket, bool) {
	select {
	case i := <-p.ready:
		*k = p.keys[i]
		p.keys[i].Zeroize()
		return Ticket{i}, true
	default:
		return Ticket{}, false
	}
}

// Release gives the slot of t back to the filler, which generates a new
// key into it at its next round. Each ticket is released once. It never
// blocks, before or after Close, and wakes no goroutine: the filler is
// never parked on free (see Pool).
func (p *Pool) Release(t Ticket) {
	// free has room for every slot: this never blocks.
	p.free <- t.slot
}

// Ready returns the number of keys ready to be taken.
func (p *Pool) Ready() int { return len(p.ready) }

// Size returns the number of slots.
func (p *Pool) Size() int { return len(p.keys) }

// Close stops the filler, waits until it has returned, and erases the keys
// no one took. Take reports false afterwards. Closing twice is a no-op.
func (p *Pool) Close() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		for {
			select {
			case i := <-p.ready:
				p.keys[i].Zeroize()
			default:
				return
			}
		}
	})
}
