package transaction

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/dkey"
)

var profiles = []dkey.Profile{dkey.CCC, dkey.HomeKey}

func TestStandardThenFast(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			tv, te := pair(t, p)
			pk, res, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
			if err != nil {
				t.Fatalf("standard transaction: %v", err)
			}
			if res.Slot != te.cred.Slot {
				t.Errorf("slot = %v, want %v", res.Slot, te.cred.Slot)
			}
			if !pk.Valid() || !pk.Equal(&te.cred.Persistent) {
				t.Fatalf("vehicle and endpoint Kpersistent differ")
			}
			vk, ek := tv.s.RangingKey(), te.s.RangingKey()
			if vk.Valid() != (p == dkey.CCC) || ek.Valid() != vk.Valid() || !vk.Equal(&ek) {
				t.Errorf("ranging key: vehicle %v, endpoint %v; want equal, valid %v", vk.Valid(), ek.Valid(), p == dkey.CCC)
			}
			if err := tv.controlFlow(CFSuccess); err != nil || te.lastCF != CFSuccess {
				t.Fatalf("CONTROL FLOW: %v, endpoint saw %v", err, te.lastCF)
			}
			if k := te.s.RangingKey(); k.Valid() {
				t.Errorf("ranging key survives the end of the transaction")
			}

			// Fast: the endpoint answers with a cryptogram that only the
			// right Kpersistent reproduces.
			if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
				t.Fatal(err)
			}
			if !tv.s.HasCryptogram() {
				t.Fatal("no cryptogram after a standard transaction")
			}
			other, _ := dkey.GenerateSoftwareKey()
			otherPK, _ := NewPersistentKey(bytes.Repeat([]byte{7}, 32))
			keys := []FastKey{NewFastKey(other.PublicKey(), &otherPK), {}, NewFastKey(te.cred.PublicKey, &pk)}
			if i := tv.s.FindFast(keys); i != 2 {
				t.Fatalf("FindFast = %d, want 2", i)
			}
			if !tv.s.Fast() || !tv.s.Authenticated() {
				t.Errorf("session not authenticated after a fast match")
			}
			// Mailbox access in the fast channel.
			got, err := tv.exchange(MailboxOp{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Offset: 3, Data: []byte("hello")},
				MailboxOp{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 2, Length: 7})
			if err != nil {
				t.Fatalf("fast EXCHANGE: %v", err)
			}
			rr := NewReadResults(got)
			d, ok := rr.Next()
			if !ok || !bytes.Equal(d, []byte("\x00hello\x00")) || !rr.Done() {
				t.Errorf("read result = %x %v", d, ok)
			}
			if err := tv.controlFlow(CFSuccess); err != nil {
				t.Fatal(err)
			}
			// A fast transaction does not rotate Kpersistent.
			if !pk.Equal(&te.cred.Persistent) {
				t.Errorf("fast transaction changed Kpersistent")
			}
		})
	}
}

func TestKpersistentRotates(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	pk1, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk2, _, err := tv.standard(dkey.ActionLock, 0, te.cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if pk1.Equal(&pk2) || !pk2.Equal(&te.cred.Persistent) {
		t.Errorf("Kpersistent was not replaced by the second standard transaction")
	}
	// The old key no longer matches.
	if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
		t.Fatal(err)
	}
	if i := tv.s.FindFast([]FastKey{NewFastKey(te.cred.PublicKey, &pk1)}); i != -1 {
		t.Errorf("stale Kpersistent matched")
	}
}

func TestNoCryptogramWithoutPersistent(t *testing.T) {
	tv, _ := pair(t, dkey.HomeKey)
	if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
		t.Fatal(err)
	}
	if tv.s.HasCryptogram() {
		t.Error("cryptogram without Kpersistent")
	}
	if i := tv.s.FindFast(nil); i != -1 {
		t.Error("FindFast matched without a cryptogram")
	}
}

func TestStandardExchange(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	te.subsets = [2]dkey.MailboxRange{{Offset: 0, Length: 16}, {Offset: 0, Length: 1}}
	copy(te.conf, "immobilizer-tok!")
	if _, _, err := tv.standard(dkey.ActionEngineStart, FlagExchange, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	res := tv.s.auth1
	if string(res.confidential) != "immobilizer-tok!" || len(res.private) != 1 {
		t.Errorf("AUTH1 subsets = %q, %x", res.confidential, res.private)
	}
	for i := 0; i < 5; i++ {
		if _, err := tv.exchange(MailboxOp{Kind: OpFill, Mailbox: dkey.ConfidentialMailbox, Offset: 16, Length: 8, Value: byte(i)}); err != nil {
			t.Fatalf("EXCHANGE %d: %v", i, err)
		}
	}
	if !bytes.Equal(te.conf[16:24], bytes.Repeat([]byte{4}, 8)) {
		t.Errorf("fill not applied: %x", te.conf[16:24])
	}
	// An operation outside the mailbox is refused, nothing changes, and the
	// channel stays up.
	before := bytes.Clone(te.conf)
	_, err := tv.exchange(MailboxOp{Kind: OpWrite, Mailbox: dkey.ConfidentialMailbox, Offset: 0, Data: []byte("x")},
		MailboxOp{Kind: OpRead, Mailbox: dkey.ConfidentialMailbox, Offset: 60, Length: 8})
	wantErr(t, "out-of-range EXCHANGE", err, dkey.SWWrongData)
	if !bytes.Equal(before, te.conf) {
		t.Errorf("a refused EXCHANGE changed the mailbox")
	}
	if _, err := tv.exchange(MailboxOp{Kind: OpRead, Mailbox: dkey.ConfidentialMailbox, Offset: 0, Length: 4}); err != nil {
		t.Errorf("EXCHANGE after a refused one: %v", err)
	}
}
