package device

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// everyControlFlow is every CONTROL FLOW code the protocol defines
// (docs/protocol.md §4.9), and two it does not.
var everyControlFlow = []transaction.ControlFlow{
	transaction.CFFailure, transaction.CFKeyNotFound, transaction.CFKeyExpired, transaction.CFKeyNotTrusted,
	transaction.CFInvalidSignature, transaction.CFInvalidChannel, transaction.CFInvalidDataFormat,
	transaction.CFInvalidDataContent, transaction.CFKeyDeleted, transaction.CFDoorOpen, transaction.CFSuccess,
	transaction.CFSuccessFirstApproach, transaction.CFPairingComplete, transaction.CFTracked, transaction.CFNotTracked,
	transaction.CFTokenRefill, transaction.CFDeleteAttestation, transaction.CFServiceData, transaction.CFReceiptInDevice,
	transaction.CFReceiptInCar, transaction.CFMoreTime, transaction.CFLongProcessing, 0x4084, 0xFFFF,
}

// relayedState is what a relay's forged CONTROL FLOW may change on the
// device: the display data (transaction count, last code), the staged
// Kpersistent of the standard transaction it let run (a forged success
// makes the device commit it; the vehicle did not, and the next standard
// transaction brings the two together again), and the state of a key a
// forged 00A0 suspends and flags for the host app. Nothing else: the
// statement area above all.
var relayedState = cmp.Options{
	appletState,
	cmpopts.IgnoreFields(key{}, "txCount", "lastCF", "cred.Persistent", "state", "vehicleDeleted"),
}

// relayRun runs a standard transaction of the vehicle key vk with the
// applet, as a relay passes it: ops by EXCHANGE, whose responses the car
// never gets (the relay corrupts them), then the relay's CONTROL FLOW cf in
// place of the car's. auth1Lost corrupts the AUTH1 response instead: the
// car stops there.
func relayRun(t *testing.T, a *Applet, vid dkey.VehicleID, vk *dkey.SoftwareKey, auth1Lost bool, cf transaction.ControlFlow, ops ...transaction.MailboxOp) {
	t.Helper()
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: vid, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	vs := v.NewSession()
	defer vs.Close()
	c := transport.NewClient(transporttest.NewCard(a), &transport.ClientConfig{ExtendedLength: true})
	do := func(cmd transport.Command) transport.Response {
		r, err := c.Do(context.Background(), &cmd, nil)
		if err != nil || !r.SW.OK() {
			t.Fatalf("%X: %v %v", cmd.INS, r.SW, err)
		}
		return r
	}
	if err := vs.Start(dkey.ActionUnlock, transaction.FlagExchange); err != nil {
		t.Fatal(err)
	}
	if err := vs.ReadSelect(do(vs.Select())); err != nil {
		t.Fatal(err)
	}
	cmd, _ := vs.Auth0()
	if err := vs.ReadAuth0(do(cmd)); err != nil {
		t.Fatal(err)
	}
	cmd, _ = vs.Auth1()
	r := do(cmd)
	if !auth1Lost {
		if _, err := vs.ReadAuth1(r); err != nil {
			t.Fatal(err)
		}
		info, _ := a.Key(vid)
		if _, err := vs.VerifyEndpoint(info.PublicKey); err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			cmd, err := vs.Exchange([]transaction.MailboxOp{op})
			if err != nil {
				t.Fatal(err)
			}
			do(cmd) // the response never reaches the car
		}
	}
	do(vs.ControlFlow(cf))
}

// TestAttackForgedControlFlowErasesStatements (issue 12, finding 3): a
// relay lets the device serve its statement area, corrupts what the car
// receives, and rewrites the final CONTROL FLOW, in clear, to any code,
// 4082 ("delete the attestation package") included. The car processed
// nothing: the owner's queued termination, or a friend's only key
// attestation at its first tap, must stay. Only the vehicle's
// acknowledgement inside the secure channel clears the area.
func TestAttackForgedControlFlowErasesStatements(t *testing.T) {
	for _, tt := range []struct {
		name      string
		friend    bool // the friend's first tap: the attestation in AUTH1
		auth1Lost bool
	}{
		{name: "owner's termination read by EXCHANGE"},
		{name: "friend's attestation in AUTH1", friend: true, auth1Lost: true},
	} {
		for _, cf := range everyControlFlow {
			t.Run(tt.name+"/"+cf.String(), func(t *testing.T) {
				s := newShareSetup(t)
				a := s.applet
				var area []byte
				var ops []transaction.MailboxOp
				if tt.friend {
					ck, err := a.CreateSharedKey(s.request())
					if err != nil {
						t.Fatal(err)
					}
					imp := s.imported(t, ck.PublicKey, ck.Slot)
					if err := a.ImportSharedKey(imp); err != nil {
						t.Fatal(err)
					}
					area = imp.Mailbox
				} else {
					mb := dkey.MailboxConfig{PrivateSize: 512, PrivateAuth1: dkey.MailboxRange{Length: sharing.AreaHeaderSize}}
					if _, err := a.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Mailboxes: mb}); err != nil {
						t.Fatal(err)
					}
					if err := a.AppendStatement(s.vid, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: bytes.Repeat([]byte{0xA5}, 200)}); err != nil {
						t.Fatal(err)
					}
					area = readArea(t, a, s.vid)
					ops = []transaction.MailboxOp{{Kind: transaction.OpRead, Mailbox: dkey.PrivateMailbox, Offset: sharing.AreaHeaderSize, Length: uint16(len(area) - sharing.AreaHeaderSize)}}
				}
				before, err := NewApplet(nil)
				if err != nil {
					t.Fatal(err)
				}
				before.keys = cloneKeys(a.keys)
				relayRun(t, a, s.vid, s.vkey, tt.auth1Lost, cf, ops...)
				if got := readArea(t, a, s.vid); !bytes.Equal(got, area) {
					t.Fatalf("CONTROL FLOW %v after a corrupted response erased the statement area: %x", cf, got)
				}
				if diff := cmp.Diff(before.keys, a.keys, relayedState); diff != "" {
					t.Errorf("state changed (-before +after):\n%s", diff)
				}
			})
		}
	}
}

// cloneKeys copies the keys deeply enough to compare them later.
func cloneKeys(keys []*key) []*key {
	out := make([]*key, len(keys))
	for i, k := range keys {
		c := *k
		c.private, c.conf = bytes.Clone(k.private), bytes.Clone(k.conf)
		out[i] = &c
	}
	return out
}

// spakeRequest returns the SPAKE2+ REQUEST of a vehicle's pairing with s,
// after sending the SELECT it needs; ready reports what SELECT said.
func spakeRequest(t *testing.T, s *pairingSetup) (req transport.Command, ready bool) {
	t.Helper()
	p, err := pairing.NewVehicleSession(s.vehicle, s.verifier)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := p.Start()
	if err != nil {
		t.Fatal(err)
	}
	r := apdu(t, s.applet, sel)
	st, err := p.Next(r)
	if err != nil {
		return transport.Command{}, false
	}
	return st.Command, true
}

// TestAttackPairingRequestFlood (issue 12, finding 6): while a pairing
// password waits, any reader in range can select the framework and send
// SPAKE2+ REQUEST again and again, each costing the phone a scrypt
// derivation (up to 256 MiB). Each request counts against the password
// entry: after maxPairingRequests the password is forgotten and further
// requests are refused without deriving anything, until the owner types it
// again.
func TestAttackPairingRequestFlood(t *testing.T) {
	s := newPairingSetup(t, dkey.CCC)
	if err := s.applet.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	var last transport.Command
	for i := range maxPairingRequests {
		req, ready := spakeRequest(t, s)
		if !ready {
			t.Fatalf("request %d: the framework is not ready", i+1)
		}
		if r := apdu(t, s.applet, req); r.SW != dkey.SWSuccess {
			t.Fatalf("request %d: %v", i+1, r.SW)
		}
		last = req
	}
	if _, ready := spakeRequest(t, s); ready || s.applet.PairingReady() {
		t.Fatal("the framework still offers pairing after the entry's last request")
	}
	derived := false
	s.applet.testingOnlyDeriving = func() { derived = true }
	if r := apdu(t, s.applet, last); r.SW != dkey.SWConditionsNotSatisfied || derived {
		t.Errorf("one more SPAKE2+ REQUEST = %v, derived %v; want 6985 without deriving", r.SW, derived)
	}
	if len(s.applet.Keys()) != 0 || s.se.count() != 0 {
		t.Errorf("the flood left keys: %d, %d in the secure element", len(s.applet.Keys()), s.se.count())
	}
	// The owner types it again: pairing works.
	if err := s.applet.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t, nil); err != nil {
		t.Errorf("pairing after the owner typed the password again: %v", err)
	}
}

// TestAttackScryptUnderLock (issue 12, finding 6): the scrypt of a SPAKE2+
// REQUEST runs outside the applet's lock, so the host's calls do not wait
// for it: lost mode turns on while a reader's request derives, and ends
// the run.
func TestAttackScryptUnderLock(t *testing.T) {
	s := newPairingSetup(t, dkey.CCC)
	if err := s.applet.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	req, ready := spakeRequest(t, s)
	if !ready {
		t.Fatal("not ready")
	}
	free := false
	s.applet.testingOnlyDeriving = func() {
		if free = s.applet.mu.TryLock(); free {
			s.applet.mu.Unlock()
		}
		// Called from the APDU's own goroutine: with the lock held this
		// would never return.
		if err := s.applet.SetLostMode(true); err != nil {
			t.Error(err)
		}
	}
	r := apdu(t, s.applet, req)
	if !free {
		t.Error("the applet's lock was held during the derivation")
	}
	if r.SW != dkey.SWConditionsNotSatisfied || !s.applet.LostMode() || s.applet.pairRun != nil {
		t.Errorf("SPAKE2+ REQUEST during lost mode = %v, lost mode %v; want 6985, the run ended", r.SW, s.applet.LostMode())
	}
}
