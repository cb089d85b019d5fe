package mdoc

import (
	"testing"
	"testing/cryptotest"
)

// setTestRandom makes crypto/rand, and so the issuer's salts and ECDSA
// signatures, deterministic for the test (the derandomized twin of
// the project style: new APIs take no io.Reader for randomness).
func setTestRandom(t *testing.T) { cryptotest.SetGlobalRandom(t, 20260301) }
