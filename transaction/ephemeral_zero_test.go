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

	tv, te := pair(t, dkey.CCC)
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	vpool, epool := new(EphemeralPool), new(EphemeralPool)
	if tv.v, err = NewVehicleParams(&VehicleConfig{Profile: dkey.CCC, VehicleID: tv.v.ID(), Key: k, Ephemeral: vpool}); err != nil {
		t.Fatal(err)
	}
	tv.s = tv.v.NewSession()
	te.cred.VehicleKey = tv.v.PublicKey()
	if te.s, err = NewEndpointSession(&EndpointConfig{Profile: dkey.CCC, Ephemeral: epool}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := tv.controlFlow(CFSuccess); err != nil {
		t.Fatal(err)
	}
	if te.lastCF != CFSuccess {
		t.Errorf("endpoint saw %v", te.lastCF)
	}
	tv.s.Close()
	vpool.Close()
}
