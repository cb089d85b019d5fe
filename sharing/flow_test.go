package sharing_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/vehicle"
)

// state summarises what an attack must not change: the vehicle's keys and
// revocations, the keys of both phones and the friend's mailbox area.
type state struct {
	Vehicle     []string
	Revocations uint64
	Owner       []string
	Friend      []string
	FriendArea  string
}

func (w *world) state(t testing.TB) state {
	t.Helper()
	var s state
	for _, k := range w.car.reader.Keys() {
		s.Vehicle = append(s.Vehicle, fmt.Sprintf("%v %v %v %v", k.Slot, k.State, k.Role, k.Profile))
	}
	s.Revocations = w.car.store.Generation()
	for _, ph := range []*phone{w.owner, w.friend} {
		var list []string
		for _, k := range ph.applet.Keys() {
			list = append(list, fmt.Sprintf("%v %v %v %v", k.VehicleID, k.Slot, k.State, k.Role))
		}
		if ph == w.owner {
			s.Owner = list
		} else {
			s.Friend = list
		}
	}
	if area, err := w.car.readArea(w.friend); err == nil {
		s.FriendArea = fmt.Sprintf("%x", area)
	} else {
		s.FriendArea = err.Error()
	}
	return s
}

// assertDeletedByVehicle checks that nothing changed but the friend's key,
// which the vehicle's CONTROL FLOW 00A0 suspended and flagged for deletion.
func (w *world) assertDeletedByVehicle(t testing.TB, before state) {
	t.Helper()
	if info, ok := w.friend.applet.Key(w.car.id); !ok || info.State != dkey.KeySuspended || !info.VehicleDeleted {
		t.Errorf("friend's key = %+v, want suspended and flagged by the vehicle", info)
	}
	after := w.state(t)
	after.Friend = before.Friend
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("state changed (-before +after):\n%s", diff)
	}
}

func (w *world) assertUnchanged(t testing.TB, before state) {
	t.Helper()
	if diff := cmp.Diff(before, w.state(t)); diff != "" {
		t.Errorf("state changed (-before +after):\n%s", diff)
	}
}

// TestShareUnlockOnly is the issue's example: the owner shares an
// unlock-only key, the friend unlocks but cannot start the engine, the
// owner revokes, the friend's next tap fails and the device deletes the key.
func TestShareUnlockOnly(t *testing.T) {
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatalf("first friend transaction: %v", err)
	}
	if f.Profile != issued.Attestation.Profile || f.Slot != issued.Attestation.FriendSlot || f.AttestationID != issued.Attestation.ID {
		t.Errorf("admitted %+v, want the attested key", f)
	}
	if area, err := w.car.readArea(w.friend); err != nil || len(area) != sharing.AreaHeaderSize {
		t.Errorf("friend's area after 4082 = %x, %v; want empty", area, err)
	}
	res, err := w.car.transact(t, w.friend, dkey.ActionUnlock)
	if err != nil {
		t.Fatalf("friend unlock: %v", err)
	}
	if res.Profile.MaxSpeed != 80 || res.Role != dkey.RoleFriend {
		t.Errorf("friend unlock result = %+v", res)
	}
	if _, err := w.car.transact(t, w.friend, dkey.ActionEngineStart); !errors.Is(err, dkey.ErrNotEntitled) {
		t.Errorf("friend engine start: %v, want ErrNotEntitled", err)
	}
	if _, err := w.car.transact(t, w.owner, dkey.ActionEngineStart); err != nil {
		t.Errorf("owner engine start: %v", err)
	}

	// The owner revokes: its device signs the termination and queues it;
	// the owner's next transaction delivers it.
	stmt := w.revoke(t, f.Slot, f.PublicKey)
	revs := w.car.store.Revocations()
	if rev := revs[len(revs)-1]; rev.Slot != f.Slot || rev.KeyHash != attest.KeyHash(f.PublicKey) {
		t.Errorf("revocation = %+v", rev)
	}
	if len(w.car.reader.Keys()) != 1 {
		t.Errorf("vehicle keys after the termination = %+v, want the owner's", w.car.reader.Keys())
	}
	res, err = w.car.transact(t, w.friend, dkey.ActionUnlock)
	if !errors.Is(err, dkey.ErrKeyTerminated) || res.ControlFlow != transaction.CFKeyDeleted {
		t.Errorf("friend unlock after termination = %v, %v; want ErrKeyTerminated, 00A0", res.ControlFlow, err)
	}
	// The device suspends the key and flags it; the host app confirms and
	// terminates it.
	if info, ok := w.friend.applet.Key(w.car.id); !ok || info.State != dkey.KeySuspended || !info.VehicleDeleted {
		t.Errorf("friend's key after 00A0 = %+v, want suspended and flagged", info)
	}
	// Processing the same termination again changes nothing.
	gen := w.car.store.Generation()
	w.car.queue(t, w.owner, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: stmt})
	res = w.car.deliver(t, w.owner, 1)
	if err := res.Statements[0].Err; err != nil || w.car.store.Generation() != gen {
		t.Errorf("repeated termination: %v, generation %d → %d", err, gen, w.car.store.Generation())
	}
}

// TestShareWithActivationCode shares with an activation code; the code
// goes through another channel than the link.
func TestShareWithActivationCode(t *testing.T) {
	w := newWorld(t)
	offer := w.unlockOnly()
	offer.ActivationCode = "4711-0815"
	w.share(t, offer)
	if _, err := w.car.firstFriendTransaction(w.friend); err != nil {
		t.Fatal(err)
	}
}

// TestShareToDeviceKey seals the invitation to a recipient key the friend's
// device published instead of a link.
func TestShareToDeviceKey(t *testing.T) {
	w := newWorld(t)
	dk, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := sharing.NewRecipientPrivateKey(dk)
	if err != nil {
		t.Fatal(err)
	}
	published := rk.PublicKey().Bytes()
	to, err := sharing.ParseRecipientKey(published)
	if err != nil {
		t.Fatal(err)
	}
	os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), to)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, rk, "", sealed)
	if err != nil {
		t.Fatal(err)
	}
	issued := w.issue(t, os, fs)
	imp, err := fs.Import(issued.Message)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.friend.applet.ImportSharedKey(imp); err != nil {
		t.Fatal(err)
	}
	if _, err := w.car.firstFriendTransaction(w.friend); err != nil {
		t.Fatal(err)
	}
	if _, err := w.car.transact(t, w.friend, dkey.ActionLock); err != nil {
		t.Errorf("friend lock: %v", err)
	}
}

// TestShareAssignedSlot: the owner assigns the slot from the identifiers
// the vehicle pre-allocated, and the friend's device uses it.
func TestShareAssignedSlot(t *testing.T) {
	w := newWorld(t)
	offer := w.unlockOnly()
	offer.FriendSlot, _ = dkey.NewKeySlot([]byte("friend-1"))
	issued := w.share(t, offer)
	if issued.Attestation.FriendSlot != offer.FriendSlot {
		t.Errorf("attested slot %v, want %v", issued.Attestation.FriendSlot, offer.FriendSlot)
	}
	if info, _ := w.friend.applet.Key(w.car.id); info.Slot != offer.FriendSlot {
		t.Errorf("friend key slot %v, want %v", info.Slot, offer.FriendSlot)
	}
}

// TestVerifiedVehicleRoots: a friend whose device knows the Vehicle OEM
// roots requires the chain to lead to one of them.
func TestVerifiedVehicleRoots(t *testing.T) {
	w := newWorld(t)
	other := newPKI(t, "B")
	lk := mustRecipient(t)
	_, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		roots *sharing.FriendConfig
		want  error
	}{
		{"known root", &sharing.FriendConfig{VehicleRoots: pool(w.pki.vehicleRoot), Time: w.clock.Now}, nil},
		{"unknown root", &sharing.FriendConfig{VehicleRoots: pool(other.vehicleRoot), Time: w.clock.Now}, sharing.CodeInvalidChain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sharing.OpenInvitation(tt.roots, lk, "", sealed)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Errorf("OpenInvitation = %v, want %v", err, tt.want)
			}
		})
	}
	// Without a chain, a friend that requires one refuses the invitation.
	cfg := w.ownerConfig()
	cfg.VehicleChain, cfg.VehicleRoot = nil, nil
	_, sealed, err = sharing.Invite(cfg, w.unlockOnly(), lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sharing.OpenInvitation(&sharing.FriendConfig{VehicleRoots: pool(w.pki.vehicleRoot), Time: w.clock.Now}, lk, "", sealed); !errors.Is(err, sharing.CodeMissingField) {
		t.Errorf("OpenInvitation without chain = %v, want CodeMissingField", err)
	}
	if _, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed); err != nil {
		t.Errorf("OpenInvitation without chain, no roots required = %v", err)
	}
}

// TestSelfTermination: the friend deletes its key; the device signs the
// termination with the key before the secure element destroys it; the
// vehicle removes the key for good.
func TestSelfTermination(t *testing.T) {
	w := newWorld(t)
	w.share(t, w.unlockOnly())
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	// The device signs with the key, then terminates it, in one step.
	stmt, err := w.friend.applet.TerminateAttested(w.car.id)
	if err != nil {
		t.Fatal(err)
	}
	ta, err := attest.VerifyTerminationAttestation(stmt, attest.VerifyOptions{Vehicle: w.car.id, Signers: []attest.Signer{{Key: f.PublicKey, Slot: f.Slot}}})
	if err != nil || ta.Slot != f.Slot {
		t.Fatalf("the friend's termination = %+v, %v", ta, err)
	}
	if info, ok := w.friend.applet.Key(w.car.id); ok {
		t.Errorf("the friend's key after TerminateAttested = %+v", info)
	}
	if w.friend.se.signer(f.PublicKey) != nil {
		t.Fatal("the secure element kept the key")
	}
	if _, err := w.car.transact(t, w.friend, dkey.ActionUnlock); !errors.Is(err, vehicle.ErrRefused) {
		t.Errorf("unlock with a deleted key: %v, want a refusal", err)
	}
	// The termination reaches the vehicle through the automaker's server.
	cmd, err := sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, f.Slot, stmt)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.server.ManageKey(context.Background(), cmd); !errors.Is(err, sharing.ErrNotFound) && err != nil {
		t.Fatal(err)
	}
	cmds, err := w.server.Commands(context.Background(), w.car.id)
	if err != nil || len(cmds) != 1 {
		t.Fatalf("Commands = %v, %v", cmds, err)
	}
	if err := w.car.reader.ApplyCommand(cmds[0]); err != nil {
		t.Fatalf("ApplyCommand: %v", err)
	}
	if len(w.car.reader.Keys()) != 1 {
		t.Errorf("vehicle keys = %d, want the owner's only", len(w.car.reader.Keys()))
	}
	if err := w.car.store.Check(f.Slot, nil, ta.ID); !errors.Is(err, sharing.ErrRevoked) {
		t.Errorf("store.Check(slot) = %v, want ErrRevoked", err)
	}
}

// TestTerminationBeforeFirstUse: the owner withdraws a share before the
// friend ever used it; the vehicle learns it first, and the attestation is
// refused when the friend taps.
func TestTerminationBeforeFirstUse(t *testing.T) {
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	a := issued.Attestation
	// Through the owner's mailbox: the owner's device queues the
	// termination; the vehicle reads it in the owner's next transaction,
	// and the device clears the area.
	w.revoke(t, a.FriendSlot, a.FriendKey)
	if err := w.car.store.Check(a.FriendSlot, a.FriendKey, attest.ID{}); !errors.Is(err, sharing.ErrRevoked) {
		t.Fatalf("store.Check of the withdrawn key = %v, want ErrRevoked", err)
	}
	before := w.state(t)
	_, err := w.car.firstFriendTransaction(w.friend)
	var ve *sharing.VehicleError
	if !errors.As(err, &ve) || ve.Check != sharing.CheckRevocation || !errors.Is(err, dkey.ErrKeyTerminated) || ve.ControlFlow() != uint16(transaction.CFKeyDeleted) {
		t.Fatalf("first friend transaction after termination = %v, want CheckRevocation, 00A0", err)
	}
	w.assertDeletedByVehicle(t, before)
}

// TestReshare: a friend entitled to share (sharing in a chain) shares
// onward within its own profile; the vehicle checks the chain of grants.
func TestReshare(t *testing.T) {
	w := newWorld(t)
	offer := w.unlockOnly()
	offer.Profile = dkey.AccessProfile{Entitlements: dkey.UnlockAndDrive | dkey.EntitleShare}
	w.share(t, offer)
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	third := newPhone(t, w.pki, w.clock, "third")
	cfg := w.ownerConfig()
	cfg.Key, cfg.Slot = w.friend.signer(t, w.car.id)
	cfg.Grant = f.Profile
	if cfg.Slot != f.Slot {
		t.Fatalf("the friend's sharing slot %v, want %v", cfg.Slot, f.Slot)
	}
	if _, _, err := sharing.Invite(cfg, &sharing.Offer{Profile: dkey.OwnerProfile(), NotAfter: offer.NotAfter}, mustRecipient(t).PublicKey()); !errors.Is(err, attest.ErrExceedsGrant) {
		t.Errorf("Invite beyond the friend's grant = %v, want ErrExceedsGrant", err)
	}
	w.reshare(t, cfg, third, &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.AccessOnly}, NotAfter: offer.NotAfter})
	if _, err := w.car.firstFriendTransaction(third); err != nil {
		t.Fatalf("third key: %v", err)
	}
	if _, err := w.car.transact(t, third, dkey.ActionUnlock); err != nil {
		t.Errorf("third unlock: %v", err)
	}
}

// TestLostMode: the owner's phone is lost; the automaker suspends every key
// of that device; the friend's key it shared keeps working; resuming
// restores the owner key. A suspended device's key is refused with no
// state change.
func TestLostMode(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.share(t, w.unlockOnly())
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct {
		ph   *phone
		slot dkey.KeySlot
		key  *dkey.PublicKey
		role dkey.KeyRole
	}{{w.owner, w.ownerK.Slot, w.ownerK.PublicKey, dkey.RoleOwner}, {w.friend, f.Slot, f.PublicKey, dkey.RoleFriend}} {
		receipt, err := w.server.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: tr.slot, Key: tr.key, Role: tr.role, Device: tr.ph.deviceID()})
		if err != nil {
			t.Fatal(err)
		}
		r, err := attest.VerifyTrackingReceipt(receipt, attest.VerifyOptions{Vehicle: w.car.id, TrackingKeys: []*dkey.PublicKey{w.ksKey.PublicKey()}})
		if err != nil || r.Slot != tr.slot || r.KeyHash != attest.KeyHash(tr.key) {
			t.Fatalf("tracking receipt = %+v, %v", r, err)
		}
	}
	apply := func() {
		t.Helper()
		cmds, err := w.server.Commands(ctx, w.car.id)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			if err := w.car.reader.ApplyCommand(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Lost: the device suspends every key locally, the server every key of
	// the device at the vehicle.
	w.owner.applet.SetLostMode(true)
	if n, err := w.server.ManageDevice(ctx, w.owner.deviceID(), sharing.ActionSuspend); n != 1 || err != nil {
		t.Fatalf("ManageDevice = %d, %v", n, err)
	}
	apply()
	// A suspended device: refused at the device and at the vehicle, with
	// no state change.
	before := w.state(t)
	if _, err := w.car.transact(t, w.owner, dkey.ActionUnlock); !errors.Is(err, vehicle.ErrRefused) {
		t.Errorf("lost owner unlock: %v, want a refusal", err)
	}
	w.owner.applet.SetLostMode(false) // a thief turns lost mode off on the device: the vehicle still refuses
	if _, err := w.car.transact(t, w.owner, dkey.ActionUnlock); !errors.Is(err, dkey.ErrKeySuspended) {
		t.Errorf("suspended owner unlock: %v, want ErrKeySuspended", err)
	}
	w.owner.applet.SetLostMode(true)
	w.assertUnchanged(t, before)
	if _, err := w.car.transact(t, w.friend, dkey.ActionUnlock); err != nil {
		t.Errorf("friend unlock while the owner's phone is lost: %v", err)
	}
	// Found.
	w.owner.applet.SetLostMode(false)
	if n, err := w.server.ManageDevice(ctx, w.owner.deviceID(), sharing.ActionResume); n != 1 || err != nil {
		t.Fatalf("ManageDevice = %d, %v", n, err)
	}
	apply()
	if _, err := w.car.transact(t, w.owner, dkey.ActionUnlock); err != nil {
		t.Errorf("owner unlock after resume: %v", err)
	}
	if s, _ := w.server.State(w.car.id, f.Slot); s != dkey.KeyActive {
		t.Errorf("friend key state at the server = %v", s)
	}
}

// TestDeviceChange: the owner pairs a new phone; the keys the old phone
// shared keep working without the friends doing anything, those not yet
// used included; the old phone's key stops.
func TestDeviceChange(t *testing.T) {
	w := newWorld(t)
	// One friend used its key, another has not yet.
	used := w.share(t, w.unlockOnly())
	if _, err := w.car.firstFriendTransaction(w.friend); err != nil {
		t.Fatal(err)
	}
	late := newPhone(t, w.pki, w.clock, "late friend")
	w.friend, late = late, w.friend
	pending := w.share(t, w.unlockOnly())
	w.friend, late = late, w.friend
	// An expired share is not carried over.
	expired := *used.Attestation
	expired.NotAfter = w.clock.Now().Add(-time.Hour)
	expired.NotBefore = expired.NotAfter.Add(-time.Hour)

	// The new phone pairs.
	newOwner := newPhone(t, w.pki, w.clock, "new owner")
	newK := w.car.enrollOwner(t, newOwner)
	newKey, newSlot := newOwner.signer(t, w.car.id)
	if newSlot != newK.Slot {
		t.Fatalf("the new owner's sharing slot %v, want %v", newSlot, newK.Slot)
	}
	plan, err := sharing.PlanDeviceChange(&sharing.DeviceChange{
		Vehicle: w.car.id, OldKey: w.ownerK.PublicKey, OldSlot: w.ownerK.Slot,
		NewKey: newKey, NewSlot: newSlot,
		Issued: []*attest.KeyAttestation{used.Attestation, pending.Attestation, &expired},
		Time:   w.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Reissued) != 2 || len(plan.Expired) != 1 || plan.Expired[0] != &expired {
		t.Fatalf("plan: %d re-issued, %d expired", len(plan.Reissued), len(plan.Expired))
	}
	// The new owner's mailbox carries the plan to the vehicle: the
	// re-issued attestations, then the old key's termination.
	for _, r := range plan.Reissued {
		w.car.queue(t, newOwner, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: r.Statement})
	}
	w.car.queue(t, newOwner, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: plan.Termination})
	res := w.car.deliver(t, newOwner, 3)
	want := []vehicle.StatementResult{
		{Kind: sharing.KindKeyAttestation, Slot: used.Attestation.FriendSlot},
		{Kind: sharing.KindKeyAttestation, Slot: pending.Attestation.FriendSlot},
		{Kind: sharing.KindTermination, Slot: w.ownerK.Slot},
	}
	for i, got := range res.Statements {
		if got != want[i] {
			t.Errorf("statement %d at the vehicle = %+v, want %+v", i, got, want[i])
		}
	}
	if _, err := w.car.transact(t, w.owner, dkey.ActionUnlock); !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("old owner unlock: %v, want ErrKeyTerminated", err)
	}
	if _, err := w.car.transact(t, newOwner, dkey.ActionEngineStart); err != nil {
		t.Errorf("new owner engine start: %v", err)
	}
	for name, ph := range map[string]*phone{"used": w.friend, "pending": late} {
		if _, err := w.car.transact(t, ph, dkey.ActionUnlock); err != nil {
			t.Errorf("%s friend unlock after the device change: %v", name, err)
		}
	}
	// The pending friend's old attestation, signed by the terminated key,
	// is refused should it be presented.
	if _, err := w.car.sharing.AdmitFriend(pending.Statement, pending.Attestation.FriendSlot, w.car.signers()); !errors.Is(err, attest.ErrUnknownSigner) {
		t.Errorf("old attestation after the device change = %v, want ErrUnknownSigner", err)
	}
}

// TestCancel: the owner cancels before and after the friend answered, the
// friend declines.
func TestCancel(t *testing.T) {
	w := newWorld(t)
	t.Run("owner before answer", func(t *testing.T) {
		lk := mustRecipient(t)
		os, _, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		c, err := os.Cancel(sharing.CodeSharingCancelled)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sharing.OpenInvitation(nil, lk, "", c)
		if !errors.Is(err, sharing.ErrCancelled) || !errors.Is(err, sharing.CodeSharingCancelled) {
			t.Errorf("OpenInvitation(cancel) = %v, want ErrCancelled with its code", err)
		}
		if _, err := os.Cancel(sharing.CodeSharingCancelled); !errors.Is(err, sharing.ErrSessionState) {
			t.Errorf("second Cancel = %v", err)
		}
	})
	t.Run("owner after answer", func(t *testing.T) {
		phone := newPhone(t, w.pki, w.clock, "f1")
		lk := mustRecipient(t)
		os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed)
		if err != nil {
			t.Fatal(err)
		}
		ksr, err := fs.SigningRequest(phone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadSigningRequest(ksr); err != nil {
			t.Fatal(err)
		}
		c, err := os.Cancel(sharing.CodeRequestRejected)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Import(c); !errors.Is(err, sharing.ErrCancelled) || !errors.Is(err, sharing.CodeRequestRejected) {
			t.Errorf("Import(cancel) = %v", err)
		}
		if _, err := fs.Import(c); !errors.Is(err, sharing.ErrSessionState) {
			t.Errorf("Import after cancel = %v", err)
		}
	})
	t.Run("owner before reading the answer", func(t *testing.T) {
		phone := newPhone(t, w.pki, w.clock, "f2")
		lk := mustRecipient(t)
		os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fs.SigningRequest(phone); err != nil {
			t.Fatal(err)
		}
		c, err := os.Cancel(sharing.CodeSharingCancelled)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Import(c); !errors.Is(err, sharing.ErrCancelled) {
			t.Errorf("Import(cancel to the invitation key) = %v", err)
		}
	})
	t.Run("friend declines", func(t *testing.T) {
		lk := mustRecipient(t)
		os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed)
		if err != nil {
			t.Fatal(err)
		}
		d, err := fs.Decline(sharing.CodeCancelledByFriend)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadSigningRequest(d); !errors.Is(err, sharing.ErrCancelled) || !errors.Is(err, sharing.CodeCancelledByFriend) {
			t.Errorf("ReadSigningRequest(decline) = %v", err)
		}
		if _, err := os.ReadSigningRequest(d); !errors.Is(err, sharing.ErrSessionState) {
			t.Errorf("ReadSigningRequest after decline = %v", err)
		}
		if _, err := fs.SigningRequest(w.friend); !errors.Is(err, sharing.ErrSessionState) {
			t.Errorf("SigningRequest after decline = %v", err)
		}
		if _, err := fs.Decline(sharing.ErrorCode(0x42)); !errors.Is(err, sharing.ErrSessionState) {
			t.Errorf("second Decline = %v", err)
		}
	})
}

// TestSessionOrder: methods out of order fail with ErrSessionState and a
// session signs one key.
func TestSessionOrder(t *testing.T) {
	w := newWorld(t)
	lk := mustRecipient(t)
	os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Sign(&sharing.SigningRequest{}); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("Sign before a request = %v", err)
	}
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Import(sealed); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("Import before SigningRequest = %v", err)
	}
	if fs.Created() != nil {
		t.Error("Created before SigningRequest")
	}
	ksr, err := fs.SigningRequest(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.SigningRequest(w.friend); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("second SigningRequest = %v", err)
	}
	req, err := os.ReadSigningRequest(ksr)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := os.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Sign(req); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("second Sign = %v", err)
	}
	if _, err := os.ReadSigningRequest(ksr); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("ReadSigningRequest after Sign = %v", err)
	}
	if _, err := os.Cancel(sharing.CodeSharingCancelled); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("Cancel after Sign = %v", err)
	}
	if _, err := fs.Import(issued.Message); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Import(issued.Message); !errors.Is(err, sharing.ErrSessionState) {
		t.Errorf("second Import = %v", err)
	}
}

func mustRecipient(t testing.TB) *sharing.RecipientPrivateKey {
	t.Helper()
	k, err := sharing.GenerateRecipientKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
