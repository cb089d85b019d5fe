package vehicle

import (
	"fmt"
	"io"

	"github.com/opencarkey/sdk/transaction"
)

// The pool of precomputed ephemeral keys (Config.EphemeralKeys, issue 18).

// newEphemeralPool starts the pool of n keys, or returns nil when n is
// zero or the deterministic mode is on (rand set): there is no pool, and
// no goroutine, then.
func newEphemeralPool(n int, rand io.Reader) (*transaction.EphemeralPool, error) {
	if n == 0 || rand != nil {
		return nil, nil
	}
	p, err := transaction.NewEphemeralPool(n)
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
