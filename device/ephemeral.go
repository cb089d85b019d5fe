package device

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
		return nil, fmt.Errorf("device: Config.EphemeralKeys: %w", err)
	}
	return p, nil
}

// newSession returns an endpoint session of interface iface (0: NFC) with
// the applet's profile, randomness, key log and pool of ephemeral keys:
// every interface's sessions share the pool.
func (a *Applet) newSession(iface byte) (*transaction.EndpointSession, error) {
	return transaction.NewEndpointSession(&transaction.EndpointConfig{
		Profile: a.cfg.Profile, Interface: iface, Rand: a.cfg.Rand, KeyLog: a.cfg.KeyLog, Ephemeral: a.ephemeral,
	})
}

// EphemeralKeysReady returns the number of ephemeral keys ready in the
// applet's pool (Config.EphemeralKeys), for diagnostics. It is 0 without
// a pool and after Close.
func (a *Applet) EphemeralKeysReady() int {
	return a.ephemeral.Ready()
}
