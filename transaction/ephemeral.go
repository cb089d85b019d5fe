package transaction

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/internal/ecdhe"
)

// MaxEphemeralKeys bounds the size of an [EphemeralPool].
const MaxEphemeralKeys = 64

// errRandAndPool refuses a configuration with both Rand and Ephemeral.
var errRandAndPool = errors.New("transaction: Rand and Ephemeral exclude each other: the deterministic mode draws every ephemeral key from Rand")

// EphemeralPool keeps ephemeral key pairs (vehicle_ePK, endpoint_ePK,
// docs/protocol.md §4.2) generated ahead of the transactions that use them, so
// that a transaction's critical path no longer includes the generation:
// neither side's ephemeral key depends on anything the other side sends.
// Sessions whose configuration names the pool (VehicleConfig.Ephemeral,
// EndpointConfig.Ephemeral) take their key from it.
//
// One background goroutine fills the pool. A session takes a key when it
// needs one (the vehicle at Start, the endpoint at Auth0) without waiting:
// with no key ready it generates its own, as without a pool. Each key is
// handed out once: the pool erases it as it hands it over, and the session
// erases its copy when the transaction ends. The slot it came from is
// refilled only then (at Close, ReadControlFlow, Deselect, the next
// transaction's start or a failure), so that the filler works between
// taps rather than during one; a pool of n keys therefore serves n
// transactions in flight at once without generating on the tap path.
//
// A pool is safe for concurrent use and may serve several sessions and
// configurations at once (a vehicle's NFC and BLE sessions, say). Close
// stops the goroutine, waits for it, and erases the keys no one took;
// sessions that come later generate their own. A pool and a configuration's
// Rand exclude each other: the deterministic mode reads every ephemeral
// scalar from Rand, in order, and a pool's keys come from crypto/rand.
//
// Make a pool with NewEphemeralPool. The zero EphemeralPool, like a nil
// one, holds no key and no goroutine: its sessions generate their own
// keys, Ready and Size are 0, and Close does nothing.
type EphemeralPool struct {
	p *ecdhe.Pool
}

// NewEphemeralPool starts a pool of size key pairs, from 1 to
// MaxEphemeralKeys, and the goroutine that fills it. The caller must Close
// it.
func NewEphemeralPool(size int) (*EphemeralPool, error) {
	if size < 1 || size > MaxEphemeralKeys {
		return nil, fmt.Errorf("transaction: ephemeral pool of %d keys, want 1 to %d", size, MaxEphemeralKeys)
	}
	return &EphemeralPool{p: ecdhe.NewPool(size)}, nil
}

// NewEphemeralPoolFor is NewEphemeralPool for a role's configuration that
// asks for n precomputed keys (device.Config and vehicle.Config
// EphemeralKeys). It returns nil and no error, so no pool and no
// goroutine, when n is 0 or when deterministic is set (the configuration
// has a Rand: the deterministic mode draws every ephemeral key from it, and
// excludes a pool). Otherwise it returns NewEphemeralPool(n), with its
// refusal of n outside 1 to MaxEphemeralKeys; the caller prefixes the
// error with its own configuration field. A nil pool is valid everywhere a
// pool is: its sessions generate their own keys, Ready and Size are 0, and
// Close does nothing.
func NewEphemeralPoolFor(n int, deterministic bool) (*EphemeralPool, error) {
	if n == 0 || deterministic {
		return nil, nil
	}
	return NewEphemeralPool(n)
}

// Size returns the number of keys the pool keeps, 0 for a nil or zero
// pool.
func (p *EphemeralPool) Size() int {
	if p.none() {
		return 0
	}
	return p.p.Size()
}

// Ready returns the number of keys ready to be taken now, for diagnostics
// and benchmarks: Size when the pool has caught up with the transactions,
// 0 for a nil, zero or closed pool.
func (p *EphemeralPool) Ready() int {
	if p.none() {
		return 0
	}
	return p.p.Ready()
}

// Close stops the goroutine that fills the pool, waits until it has
// returned, and erases the keys no one took. Closing twice, or closing a
// nil or zero pool, is a no-op.
func (p *EphemeralPool) Close() {
	if !p.none() {
		p.p.Close()
	}
}

// none reports a nil pool or the zero EphemeralPool: no keys, no goroutine.
func (p *EphemeralPool) none() bool { return p == nil || p.p == nil }

// String describes the pool without its keys.
func (p *EphemeralPool) String() string {
	return fmt.Sprintf("transaction.EphemeralPool{%d of %d ready}", p.Ready(), p.Size())
}

// GoString is String: the keys are never printed.
func (p *EphemeralPool) GoString() string { return p.String() }

// Format prints String for every verb.
func (p *EphemeralPool) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// ephemeralSource is the pool a session takes its keys from, and the
// ticket of the slot its current key came from.
type ephemeralSource struct {
	pool   *EphemeralPool
	ticket ecdhe.Ticket
	held   bool
}

// take moves a ready key into k, reporting false when there is no pool
// or no key ready.
func (e *ephemeralSource) take(k *ecdhe.PrivateKey) bool {
	if e.pool.none() {
		return false
	}
	e.release()
	t, ok := e.pool.p.Take(k)
	e.ticket, e.held = t, ok
	return ok
}

// release gives the slot of the key taken back to the pool, once the
// session has erased its copy.
func (e *ephemeralSource) release() {
	if e.held {
		e.pool.p.Release(e.ticket)
		e.held = false
	}
}
