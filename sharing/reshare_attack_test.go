package sharing_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

// reshareState is the world's state plus the third phone's keys and
// statement area.
type reshareState struct {
	World     state
	Third     []string
	ThirdArea string
}

func (w *world) reshareState(t testing.TB, third *phone) reshareState {
	t.Helper()
	s := reshareState{World: w.state(t)}
	for _, k := range third.applet.Keys() {
		s.Third = append(s.Third, fmt.Sprintf("%v %v %v %v %v", k.VehicleID, k.Slot, k.State, k.Role, k.VehicleDeleted))
	}
	if area, err := w.car.readArea(third); err == nil {
		s.ThirdArea = fmt.Sprintf("%x", area)
	} else {
		s.ThirdArea = err.Error()
	}
	return s
}

// friendSharer returns the friend key's sharing configuration: a key
// entitled to share, valid for one hour from now, enrolled at the vehicle,
// and the key the vehicle enrolled. The configuration states the key's
// own grant and validity, as an honest device does.
func (w *world) friendSharer(t testing.TB) (*sharing.OwnerConfig, *sharing.Friend) {
	t.Helper()
	w.share(t, &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.UnlockAndDrive | dkey.EntitleShare},
		NotAfter: w.clock.Now().Add(time.Hour),
	})
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.ownerConfig()
	cfg.Key, cfg.Slot = w.friend.signer(t, w.car.id)
	cfg.Grant, cfg.NotBefore, cfg.NotAfter = f.Profile, f.NotBefore, f.NotAfter
	return cfg, f
}

// TestAttackReshareOutlivesSigner (issue 12, finding 2): a friend key
// entitled to share, valid for one hour, attests a key valid for ten
// years. Its device skips the sharer-side check (it leaves its own
// validity out of the configuration); the vehicle refuses the attestation
// at the first friend transaction, enrolls nothing, and nothing changes.
// An honest device refuses to make the offer at all.
func TestAttackReshareOutlivesSigner(t *testing.T) {
	w := newWorld(t)
	cfg, f := w.friendSharer(t)
	if got := f.NotAfter.Sub(w.clock.Now()); got != time.Hour {
		t.Fatalf("the friend key is valid for %v, want an hour", got)
	}
	tenYears := &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.AccessOnly}, NotAfter: w.clock.Now().AddDate(10, 0, 0)}

	// An honest sharing device refuses the offer.
	if _, _, err := sharing.Invite(cfg, tenYears, mustRecipient(t).PublicKey()); !errors.Is(err, attest.ErrOutsideSignerValidity) {
		t.Errorf("Invite of a ten-year key by a one-hour key = %v, want ErrOutsideSignerValidity", err)
	}

	// A device that skips the check signs it, and the third phone imports
	// it.
	rogue := *cfg
	rogue.NotBefore, rogue.NotAfter = time.Time{}, time.Time{}
	third := newPhone(t, w.pki, w.clock, "third")
	issued := w.reshare(t, &rogue, third, tenYears)
	if got := issued.Attestation.NotAfter; !got.Equal(tenYears.NotAfter) {
		t.Fatalf("the rogue attestation ends %v, want %v", got, tenYears.NotAfter)
	}

	// The vehicle refuses the key, directly and at the first friend
	// transaction, and nothing changes.
	before := w.reshareState(t, third)
	_, err := w.car.sharing.AdmitFriend(issued.Statement, issued.Attestation.FriendSlot, w.car.signers())
	wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyNotTrusted, attest.ErrOutsideSignerValidity)
	_, err = w.car.firstFriendTransaction(third)
	wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyNotTrusted, attest.ErrOutsideSignerValidity)
	for _, k := range w.car.reader.Keys() {
		if k.Slot == issued.Attestation.FriendSlot {
			t.Fatalf("the ten-year key is enrolled: %+v", k)
		}
	}
	if diff := cmp.Diff(before, w.reshareState(t, third)); diff != "" {
		t.Errorf("state changed (-before +after):\n%s", diff)
	}
}

// TestReshareWithinSigner: along the chain owner → friend (one hour,
// entitled to share) → third → fourth, a key attested within its signer's
// window is admitted, up to the signer's last second, and a sharing device
// offers not one second more.
func TestReshareWithinSigner(t *testing.T) {
	w := newWorld(t)
	cfg, f := w.friendSharer(t)
	// third gets the whole of the friend's window, entitled to share too.
	third := newPhone(t, w.pki, w.clock, "third")
	w.reshare(t, cfg, third, &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.AccessOnly | dkey.EntitleShare}, NotAfter: f.NotAfter})
	tf, err := w.car.firstFriendTransaction(third)
	if err != nil {
		t.Fatalf("third key within the friend's window: %v", err)
	}
	if !tf.NotAfter.Equal(f.NotAfter) || !tf.NotBefore.Equal(f.NotBefore) {
		t.Errorf("third key enrolled for [%v, %v], want the friend's [%v, %v]", tf.NotBefore, tf.NotAfter, f.NotBefore, f.NotAfter)
	}
	// third shares on: its device may not offer one second more than it
	// holds, and the vehicle bounds the fourth key by third's window.
	tcfg := w.ownerConfig()
	tcfg.Key, tcfg.Slot = third.signer(t, w.car.id)
	tcfg.Grant, tcfg.NotBefore, tcfg.NotAfter = tf.Profile, tf.NotBefore, tf.NotAfter
	longer := &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}, NotAfter: tf.NotAfter.Add(time.Second)}
	if _, _, err := sharing.Invite(tcfg, longer, mustRecipient(t).PublicKey()); !errors.Is(err, attest.ErrOutsideSignerValidity) {
		t.Errorf("Invite one second past the signer's window = %v, want ErrOutsideSignerValidity", err)
	}
	fourth := newPhone(t, w.pki, w.clock, "fourth")
	w.reshare(t, tcfg, fourth, &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}, NotAfter: tf.NotAfter})
	if _, err := w.car.firstFriendTransaction(fourth); err != nil {
		t.Errorf("fourth key within third's window: %v", err)
	}
}
