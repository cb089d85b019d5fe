package vehicle

import (
	"fmt"
	"io"

	"github.com/opencarkey/sdk/transaction"
)

// The pool of precomputed ephemeral keys (Config.EphemeralKeys, issue 18).

// newEphemeralPool starts the pool of n keys, or returns nil when n is
// zero or the deterministic mode is on (rand set): there is no pool, and
// no goroutine, then (transaction.NewEphemeralPoolFor). Its errors name
// the configuration field.
func newEphemeralPool(n int, rand io.Reader) (*transaction.EphemeralPool, error) {
	p, err := transaction.NewEphemeralPoolFor(n, rand != nil)
	if err != nil {
		return nil, fmt.Errorf("vehicle: Config.EphemeralKeys: %w", err)
	}
	return p, nil
}

// EphemeralKeysReady returns the number of ephemeral keys ready in the
// reader's pool (Config.EphemeralKeys), for diagnostics: when it stays
// below the configured number, taps come faster than the background
// generation and some generate their own. It is 0 without a pool and
// after Close.
func (r *Reader) EphemeralKeysReady() int {
	return r.ephemeral.Ready()
}
