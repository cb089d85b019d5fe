package device

import "github.com/opencarkey/sdk/transaction"

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
