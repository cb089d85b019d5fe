package transaction

import (
	"testing"

	"github.com/opencarkey/sdk/dkey"
)

// TestTransactionID checks that both sides report the same transaction
// identifier while a transaction runs, the one AUTH0 carried, and none
// before it, after a failure or after a new SELECT.
func TestTransactionID(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	if _, ok := tv.s.TransactionID(); ok {
		t.Errorf("vehicle: a transaction identifier before Start")
	}
	if _, ok := te.s.TransactionID(); ok {
		t.Errorf("endpoint: a transaction identifier before AUTH0")
	}
	if _, _, err := tv.standard(dkey.ActionRangingKey, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	vid, vok := tv.s.TransactionID()
	eid, eok := te.s.TransactionID()
	if !vok || !eok || vid != eid || vid == ([TransactionIDSize]byte{}) {
		t.Fatalf("TransactionID: vehicle %x %v, endpoint %x %v", vid, vok, eid, eok)
	}
	// The transaction identifier is the 4C of AUTH0: the vehicle draws a new
	// one for every transaction.
	if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
		t.Fatal(err)
	}
	vid2, _ := tv.s.TransactionID()
	eid2, ok := te.s.TransactionID()
	if !ok || vid2 != eid2 || vid2 == vid {
		t.Errorf("second transaction: vehicle %x, endpoint %x %v (first %x)", vid2, eid2, ok, vid)
	}
	te.s.Select(nil)
	if _, ok := te.s.TransactionID(); ok {
		t.Errorf("endpoint: a transaction identifier after SELECT")
	}
	tv.s.Close()
	if _, ok := tv.s.TransactionID(); ok {
		t.Errorf("vehicle: a transaction identifier after Close")
	}
}
