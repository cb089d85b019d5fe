package vehicle

// EphemeralKeysReady returns the number of ephemeral keys ready in the
// reader's pool (Config.EphemeralKeys, issue 18), for diagnostics: when it
// stays below the configured number, taps come faster than the background
// generation and some generate their own. It is 0 without a pool and
// after Close.
func (r *Reader) EphemeralKeysReady() int {
	if r.ephemeral == nil {
		return 0 // a Reader NewReader did not make
	}
	return r.ephemeral.Ready()
}
