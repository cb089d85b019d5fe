package mdoc

import (
	"testing"
	"testing/cryptotest"
)

// setTestRandom makes crypto/rand, and so the issuer's salts and ECDSA
// signatures, deterministic for the test (the derandomized twin of
// STYLE.md §5).
func setTestRandom(t *testing.T) { cryptotest.SetGlobalRandom(t, 20260301) }
