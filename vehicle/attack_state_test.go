package vehicle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// TestAttackPairingAttemptsResetByRestart (issue 12, finding 1): an
// attacker guessing the pairing password gets the 7-guess limit back by
// having the reader restarted (a new Reader from the same configuration
// and verifier) or the verifier installed again. The count is stored with
// the verifier, spent before SPAKE2+ VERIFY goes out, and never given back
// by a restart or a re-install of the same verifier.
func TestAttackPairingAttemptsResetByRestart(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 1)
	w := newPairWorldWith(t, 3, func(c *Config) { c.Store, c.KEK = m, kek })
	restart := func() {
		t.Helper()
		// The old reader stays open, to compare with: what a Close
		// would add, it stores now.
		flush(t, w.reader)
		cfg := *w.cfg
		cfg.Store = m.Reopen()
		r, err := NewReader(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		w.reader = r
	}
	w.install(t, pairCode)
	// The attempt is stored before VERIFY reaches the phone: a restart at
	// that instant sees it spent.
	seenAtVerify := -1
	w.phone.tamper.cmd = func(apdu []byte) {
		if len(apdu) > 1 && apdu[1] == 0x32 && seenAtVerify < 0 {
			cfg := *w.cfg
			cfg.Store = m.Reopen()
			r, err := NewReader(&cfg)
			if err != nil {
				t.Error(err)
				return
			}
			seenAtVerify = r.PairingAttempts()
		}
	}
	for want := 2; want >= 1; want-- {
		if _, err := w.pair(t, w.phone, "999999"); !errors.Is(err, pairing.ErrAuthentication) {
			t.Fatalf("wrong password: %v", err)
		}
		if got := w.reader.PairingAttempts(); got != want {
			t.Fatalf("PairingAttempts = %d, want %d", got, want)
		}
	}
	if seenAtVerify != 2 {
		t.Errorf("a reader restarted during the first VERIFY saw %d attempts left, want 2", seenAtVerify)
	}
	w.phone.tamper.cmd = nil
	before := w.reader
	for _, attack := range []string{"re-install", "restart", "restart and re-install"} {
		if attack != "re-install" {
			restart()
		}
		if attack != "restart" {
			w.install(t, pairCode)
		}
		if got := w.reader.PairingAttempts(); got != 1 {
			t.Fatalf("after a %s: %d attempts left, want 1", attack, got)
		}
		if diff := cmp.Diff(before, w.reader, readerState); diff != "" {
			t.Errorf("after a %s the state changed (-before +after):\n%s", attack, diff)
		}
		before = w.reader
	}
	if _, err := w.pair(t, w.phone, "999999"); !errors.Is(err, pairing.ErrAttemptsExhausted) {
		t.Fatalf("last wrong password: %v", err)
	}
	restart()
	w.install(t, pairCode)
	var ae *pairing.AttemptsError
	if _, err := w.pair(t, w.phone, pairCode); !errors.As(err, &ae) || ae.Remaining != 0 || !errors.Is(err, pairing.ErrAttemptsExhausted) {
		t.Fatalf("the right password after a restart and a re-install = %v, want %v", err, pairing.ErrAttemptsExhausted)
	}
	w.checkNoKey(t, w.phone)
}

// TestAttackOwnershipTransferKeepsSellersShares (issue 12, finding 4): the
// car is sold; the buyer pairs with ReplaceOwner. Every key shared from the
// seller's owner key, and re-shared from those, goes with it, recorded as
// revoked: the friend can no longer start the engine, and its attestation
// admits nothing again. A device change of the same owner
// (ReplaceOwnerDevice) keeps them.
func TestAttackOwnershipTransferKeepsSellersShares(t *testing.T) {
	for _, sale := range []bool{true, false} {
		name := "sale"
		if !sale {
			name = "same owner, new device"
		}
		t.Run(name, func(t *testing.T) {
			seller, buyer, friend := newPairPhone(t), newPairPhone(t), newPairPhone(t)
			w := newShareWorld(t, shareOptions{phones: []*pairPhone{seller, buyer, friend}})
			offer := &sharing.Offer{
				Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock | dkey.EntitleEngineStart | dkey.EntitleShare},
				NotAfter: pairNow.Add(7 * 24 * time.Hour),
			}
			issued := w.share(t, seller, friend, offer)
			if res, _, err := w.transact(friend, dkey.ActionEngineStart); err != nil || !res.FirstFriend {
				t.Fatalf("the friend's first engine start = %+v, %v", res, err)
			}
			// A key the friend re-shared, enrolled by its attestation.
			reshared := pairKey(t)
			rslot := slotOf(t, "reshare1")
			if err := w.reader.Enroll(Enrollment{PublicKey: reshared.PublicKey(), Slot: rslot, Role: dkey.RoleFriend, Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}, SharedBy: issued.Attestation.FriendSlot}); err != nil {
				t.Fatal(err)
			}
			for _, k := range w.reader.Keys() {
				if k.Role == dkey.RoleFriend && k.SharedFrom != w.slot {
					t.Fatalf("key %v is shared from %v, want the seller's key %v", k.Slot, k.SharedFrom, w.slot)
				}
			}

			v, err := pairing.NewVerifier([]byte(pairCode), []byte("salt-buyer-01234"), pairParams)
			if err != nil {
				t.Fatal(err)
			}
			install := w.reader.ReplaceOwnerDevice
			if sale {
				install = w.reader.ReplaceOwner
			}
			if err := install(v); err != nil {
				t.Fatal(err)
			}
			if err := buyer.applet.StartPairing([]byte(pairCode)); err != nil {
				t.Fatal(err)
			}
			pr, err := w.reader.Pair(context.Background(), buyer.card)
			if err != nil {
				t.Fatal(err)
			}
			if len(pr.Replaced) != 1 || pr.Replaced[0] != w.slot {
				t.Errorf("Replaced = %v, want the seller's key", pr.Replaced)
			}
			friendSlot := issued.Attestation.FriendSlot
			if !sale {
				if len(pr.RemovedShares) != 0 {
					t.Errorf("a device change removed shares %v", pr.RemovedShares)
				}
				for _, k := range w.reader.Keys() {
					if k.Role == dkey.RoleFriend && k.SharedFrom != pr.Slot {
						t.Errorf("key %v is shared from %v after the device change, want the new owner key %v", k.Slot, k.SharedFrom, pr.Slot)
					}
				}
				if _, _, err := w.transact(friend, dkey.ActionEngineStart); err != nil {
					t.Errorf("the friend's engine start after the owner's device change: %v", err)
				}
				return
			}
			if len(pr.RemovedShares) != 2 {
				t.Errorf("RemovedShares = %v, want the friend's and the re-shared key", pr.RemovedShares)
			}
			before := w.reader.Keys()
			res, _, err := w.transact(friend, dkey.ActionEngineStart)
			if !errors.Is(err, dkey.ErrKeyTerminated) || res.ControlFlow != transaction.CFKeyDeleted {
				t.Fatalf("the seller's friend starts the engine after the sale: %v, %v; want refused with 00A0", res.ControlFlow, err)
			}
			if diff := cmp.Diff(before, w.reader.Keys(), readerState); diff != "" {
				t.Errorf("the refused transaction changed the reader (-before +after):\n%s", diff)
			}
			for _, k := range []struct {
				slot dkey.KeySlot
				key  *dkey.PublicKey
				id   attest.ID
			}{{friendSlot, issued.Attestation.FriendKey, issued.Attestation.ID}, {rslot, reshared.PublicKey(), attest.ID{}}} {
				if err := w.store.Check(k.slot, k.key, k.id); !errors.Is(err, sharing.ErrRevoked) {
					t.Errorf("key %v not revoked after the sale: %v", k.slot, err)
				}
			}
			if _, err := w.reader.share.AdmitFriend(issued.Statement, dkey.KeySlot{}, w.reader.signers()); err == nil {
				t.Error("the friend's attestation admits the key again")
			}
		})
	}
}
