package ecdhe

import "sync"

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
// The zero Pool is not usable; NewPool starts one, Close stops it.
type Pool struct {
	keys  []PrivateKey
	ready chan int
	free  chan int
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// NewPool returns a pool of n key pairs (n > 0) and starts the goroutine
// that fills it. Close stops the goroutine.
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
	go p.fill()
	return p
}

// fill generates a key into each free slot, until Close. It is the pool's
// only goroutine.
func (p *Pool) fill() {
	defer close(p.done)
	for {
		// A stop pending wins over a free slot.
		select {
		case <-p.stop:
			return
		default:
		}
		select {
		case <-p.stop:
			return
		case i := <-p.free:
			if err := p.keys[i].Generate(); err != nil {
				// crypto/rand does not fail in Go 1.24 and later; if it
				// ever does, the pool stops filling and callers generate
				// their keys themselves (and see the error).
				p.free <- i
				return
			}
			// ready has room for every slot: this never blocks.
			p.ready <- i
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
// key into it. Each ticket is released once. It never blocks, before or
// after Close.
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
