package transaction

import (
	"testing"

	"github.com/opencarkey/sdk/dkey"
)

// TestZeroEphemeralPool: the zero EphemeralPool (not from NewEphemeralPool)
// behaves as a nil pool instead of panicking: Size and Ready are 0, Close
// and printing work, and sessions configured with it generate their own
// keys and complete a transaction.
func TestZeroEphemeralPool(t *testing.T) {
	var zero EphemeralPool
	if n, r := zero.Size(), zero.Ready(); n != 0 || r != 0 {
		t.Errorf("zero pool: Size %d Ready %d, want 0 and 0", n, r)
	}
	if got, want := zero.String(), "transaction.EphemeralPool{0 of 0 ready}"; got != want {
		t.Errorf("zero pool prints %q, want %q", got, want)
	}
	zero.Close()
	zero.Close()

	vpool, epool := new(EphemeralPool), new(EphemeralPool)
	tv, te := pairWithPools(t, dkey.CCC, vpool, epool)
	standardSuccess(t, tv, te)
	tv.s.Close()
	vpool.Close()
}
