package keyservice_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/keyservice/pgstore/pgtest"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

// world is a vehicle whose command loop runs against a key service, its
// owner's phone, and a friend's phone.
type world struct {
	pki     *pki
	svc     *service
	car     *car
	owner   *phone
	ownerK  ownerKey
	friend  *phone
	vclient *client.Client
	oclient *client.Client
	applied atomic.Int64
}

type ownerKey struct {
	slot dkey.KeySlot
	pub  *dkey.PublicKey
}

// countingApplier counts the commands the reader applied without error.
type countingApplier struct {
	w *world
}

func (a countingApplier) ApplyCommand(cmd *sharing.KeyCommand) error {
	err := a.w.car.reader.ApplyCommand(cmd)
	if err == nil {
		a.w.applied.Add(1)
	}
	return err
}

func newWorld(t *testing.T, b backend) *world {
	w := &world{pki: newPKI(t, "A")}
	open := b.new(t)
	store := open()
	t.Cleanup(func() { store.Close() })
	w.svc = startService(t, w.pki, store, serviceOptions{maxWait: 5 * time.Second, poll: time.Second})
	w.car = newCar(t, w.pki, "VIN00001")
	w.owner, w.friend = newPhone(t, w.pki, "owner"), newPhone(t, w.pki, "friend")
	info := w.car.enrollOwner(t, w.owner)
	w.ownerK = ownerKey{slot: info.Slot, pub: info.PublicKey}
	w.vclient = w.svc.client(t, &w.car.cert)
	oc := w.owner.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	w.oclient = w.svc.client(t, &oc)
	return w
}

// runVehicle starts the vehicle's command loop.
func (w *world) runVehicle(t *testing.T) {
	runLoop(t, w.vclient, &client.LoopConfig{Applier: countingApplier{w}, Report: report(w.car.reader), Wait: 2 * time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	// The vehicle reports its keys first: the owner's key becomes the
	// inventory's.
	eventually(t, "the vehicle reports the owner key", func() bool {
		l, err := w.oclient.Keys(context.Background(), w.car.id)
		return err == nil && len(l.Keys) > 0
	})
}

// share runs the whole exchange through the service's relay: the owner's
// device creates the mailbox, the friend's device, with no certificate,
// fetches with the link's token.
func (w *world) share(t *testing.T, offer *sharing.Offer) *sharing.Issued {
	ctx := context.Background()
	signer := w.owner.signer(t, w.car.id)
	link := must[*sharing.Link](t)(sharing.NewLink())
	lk := must[*sharing.RecipientPrivateKey](t)(link.Key())
	os, sealed, err := sharing.Invite(&sharing.OwnerConfig{
		Vehicle: w.car.id, VehicleKey: w.car.reader.PublicKey(), Key: signer, Slot: w.ownerK.slot,
		Certificates: w.pki.config(),
	}, offer, lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	var relay sharing.Relay = w.oclient
	mb, err := relay.CreateMailbox(ctx, &sharing.NewMailbox{Content: sealed, Display: []byte("A key from Alice"), Expires: os.Invitation().Expires})
	if err != nil {
		t.Fatal(err)
	}
	url := w.svc.url + "/s/" + mb.ID.String() + "#" + sharing.Fragment(link, mb.Fetch)

	// The friend: anonymous.
	var frelay sharing.Relay = w.svc.client(t, nil)
	_, fragment, _ := strings.Cut(url, "#")
	flink, fetch := must2(t)(sharing.ParseFragment(fragment))
	if d, err := frelay.ReadDisplayInformation(ctx, mb.ID, fetch); err != nil || string(d) != "A key from Alice" {
		t.Fatalf("ReadDisplayInformation = %q, %v", d, err)
	}
	got, rtok, err := frelay.FetchInvitation(ctx, mb.ID, fetch)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := sharing.OpenInvitation(nil, must[*sharing.RecipientPrivateKey](t)(flink.Key()), offer.ActivationCode, got)
	if err != nil {
		t.Fatal(err)
	}
	ksr, err := fs.SigningRequest(w.friend.applet)
	if err != nil {
		t.Fatal(err)
	}
	if err := frelay.UpdateMailbox(ctx, mb.ID, rtok, ksr); err != nil {
		t.Fatal(err)
	}
	// The owner.
	got = must[[]byte](t)(relay.ReadSecureContent(ctx, mb.ID, mb.Sender))
	req, err := os.ReadSigningRequest(got)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := os.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := relay.UpdateMailbox(ctx, mb.ID, mb.Sender, issued.Message); err != nil {
		t.Fatal(err)
	}
	// The friend.
	got = must[[]byte](t)(frelay.ReadSecureContent(ctx, mb.ID, rtok))
	imp, err := fs.Import(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.friend.applet.ImportSharedKey(imp); err != nil {
		t.Fatal(err)
	}
	if err := frelay.DeleteMailbox(ctx, mb.ID, rtok); err != nil {
		t.Fatal(err)
	}
	if _, err := frelay.ReadSecureContent(ctx, mb.ID, rtok); !errors.Is(err, sharing.ErrNotFound) {
		t.Errorf("read after delete = %v, want ErrNotFound", err)
	}
	return issued
}

func must2(t testing.TB) func(*sharing.Link, sharing.AccessToken, error) (*sharing.Link, sharing.AccessToken) {
	return func(l *sharing.Link, tok sharing.AccessToken, err error) (*sharing.Link, sharing.AccessToken) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l, tok
	}
}

func unlockOnly() *sharing.Offer {
	return &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter: time.Now().Add(7 * 24 * time.Hour),
	}
}

// TestEndToEnd is the check: the owner shares a key through the
// relay, the friend unlocks, the owner terminates it on the phone, the
// command reaches the vehicle through the service, and the friend's next
// tap is refused; on each store.
func TestEndToEnd(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, b)
			w.runVehicle(t)
			var ks sharing.KeyServer = w.oclient
			receipt, err := ks.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: w.ownerK.slot, Key: w.ownerK.pub, Role: dkey.RoleOwner})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := attest.VerifyTrackingReceipt(receipt, attest.VerifyOptions{Vehicle: w.car.id, TrackingKeys: []*dkey.PublicKey{w.svc.tracked.PublicKey()}}); err != nil {
				t.Errorf("tracking receipt: %v", err)
			}

			issued := w.share(t, unlockOnly())
			res, err := w.car.reader.Transact(ctx, w.friend.card, dkey.ActionUnlock)
			if err != nil || !res.FirstFriend {
				t.Fatalf("first friend transaction = %+v, %v", res, err)
			}
			if _, err := w.car.reader.Transact(ctx, w.friend.card, dkey.ActionUnlock); err != nil {
				t.Fatalf("friend unlock: %v", err)
			}
			// The friend's device tracks its key with its own endpoint
			// chain, the one the owner verified.
			finfo, _ := w.friend.applet.Key(w.car.id)
			fc := w.friend.endpointCert(t, w.car.id, w.car.reader.PublicKey())
			fclient := w.svc.client(t, &fc)
			if _, err := fclient.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: finfo.Slot, Key: finfo.PublicKey, Role: dkey.RoleFriend}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the vehicle reports the friend key", func() bool {
				l, err := w.oclient.Keys(ctx, w.car.id)
				return err == nil && len(l.Keys) == 2 && l.Keys[0].Reported && l.Keys[1].Reported
			})

			// The owner terminates the key on the phone: the applet signs
			// the termination, the phone sends it to the service.
			w.owner.applet.AuthenticateUser(time.Now().Add(time.Hour))
			stmt, err := w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: w.car.id, Slot: issued.Attestation.FriendSlot, Key: issued.Attestation.FriendKey})
			if err != nil {
				t.Fatal(err)
			}
			cmd := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, finfo.Slot, stmt))
			if err := ks.ManageKey(ctx, cmd); err != nil {
				t.Fatalf("ManageKey: %v", err)
			}
			// The vehicle's loop receives and applies it, without the
			// owner's phone coming near the car.
			eventually(t, "the termination reaches the vehicle", func() bool { return len(w.car.reader.Keys()) == 1 })
			res, err = w.car.reader.Transact(ctx, w.friend.card, dkey.ActionUnlock)
			if !errors.Is(err, dkey.ErrKeyTerminated) || res.ControlFlow != transaction.CFKeyDeleted {
				t.Errorf("the friend's next tap = %v, %v; want ErrKeyTerminated and CONTROL FLOW 00A0", res.ControlFlow, err)
			}
			if err := w.car.reader.Revocations().Check(finfo.Slot, nil, attest.ID{}); !errors.Is(err, sharing.ErrRevoked) {
				t.Errorf("revocation store: %v", err)
			}
			// The friend's device is told too.
			ds, err := fclient.Wait(ctx, 2*time.Second)
			if err != nil || len(ds) != 1 || ds[0].Command.Action != sharing.ActionTerminate || ds[0].Command.Slot != finfo.Slot {
				t.Fatalf("the friend's device queue = %+v, %v", ds, err)
			}
			if err := fclient.Ack(ctx, &keyservice.Ack{Through: ds[0].Seq}); err != nil {
				t.Fatal(err)
			}
			// The inventory follows: terminated, and removed by the
			// vehicle.
			eventually(t, "the inventory shows the termination", func() bool {
				l, err := w.oclient.Keys(ctx, w.car.id)
				if err != nil {
					return false
				}
				for _, k := range l.Keys {
					if k.Slot == finfo.Slot {
						return k.State == dkey.KeyTerminated && !k.Reported && !k.Pending
					}
				}
				return false
			})
			if n := w.applied.Load(); n != 1 {
				t.Errorf("%d commands applied, want 1", n)
			}
			// Tracking the terminated key again is refused.
			if _, err := fclient.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: finfo.Slot, Key: finfo.PublicKey, Role: dkey.RoleFriend}); !errors.Is(err, dkey.ErrKeyTerminated) {
				t.Errorf("TrackKey of a terminated key = %v", err)
			}
		})
	}
}

// TestLostMode: a device suspends its keys at every vehicle, and resumes
// them; the vehicle applies both.
func TestLostMode(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, boltBackend())
	w.runVehicle(t)
	if _, err := w.oclient.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: w.ownerK.slot, Key: w.ownerK.pub, Role: dkey.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	var ks sharing.KeyServer = w.oclient
	if n, err := ks.ManageDevice(ctx, w.owner.deviceID(), sharing.ActionSuspend); n != 1 || err != nil {
		t.Fatalf("ManageDevice(suspend) = %d, %v", n, err)
	}
	eventually(t, "the suspension reaches the vehicle", func() bool { return w.car.reader.Keys()[0].State == dkey.KeySuspended })
	if _, err := w.car.reader.Transact(ctx, w.owner.card, dkey.ActionUnlock); !errors.Is(err, dkey.ErrKeySuspended) {
		t.Errorf("unlock of a suspended key = %v", err)
	}
	if n, err := ks.ManageDevice(ctx, w.owner.deviceID(), sharing.ActionResume); n != 1 || err != nil {
		t.Fatalf("ManageDevice(resume) = %d, %v", n, err)
	}
	eventually(t, "the resumption reaches the vehicle", func() bool { return w.car.reader.Keys()[0].State == dkey.KeyActive })
	if _, err := ks.ManageDevice(ctx, sharing.DeviceID{1}, sharing.ActionSuspend); err == nil {
		t.Error("ManageDevice of another device succeeded")
	}
}

// TestOwnerSuspendsFriend: a signed suspension and resumption by the owner.
func TestOwnerSuspendsFriend(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, boltBackend())
	w.runVehicle(t)
	w.share(t, unlockOnly())
	if _, err := w.car.reader.Transact(ctx, w.friend.card, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	finfo, _ := w.friend.applet.Key(w.car.id)
	eventually(t, "the vehicle reports the friend key", func() bool {
		l, err := w.oclient.Keys(ctx, w.car.id)
		return err == nil && len(l.Keys) == 2
	})
	state := func() dkey.KeyState {
		for _, k := range w.car.reader.Keys() {
			if k.Slot == finfo.Slot {
				return k.State
			}
		}
		return 0
	}
	for _, tt := range []struct {
		action sharing.KeyAction
		want   dkey.KeyState
	}{{sharing.ActionSuspend, dkey.KeySuspended}, {sharing.ActionResume, dkey.KeyActive}} {
		cmd := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(tt.action, w.car.id, finfo.Slot, nil))
		if err := w.oclient.ManageKey(ctx, cmd); err != nil {
			t.Fatalf("ManageKey(%v) = %v", tt.action, err)
		}
		// A retry of the same command is accepted, not applied twice.
		if err := w.oclient.ManageKey(ctx, cmd); err != nil {
			t.Errorf("ManageKey(%v) again = %v", tt.action, err)
		}
		eventually(t, tt.action.String()+" reaches the vehicle", func() bool { return state() == tt.want })
	}
	if n := w.applied.Load(); n != 2 {
		t.Errorf("%d commands applied, want 2", n)
	}
}

// TestKeyServerCommands: a vehicle may also drain its queue through
// sharing.KeyServer.Commands, which acknowledges what it returns.
func TestKeyServerCommands(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, boltBackend())
	if err := w.vclient.ReportKeys(ctx, report(w.car.reader)()); err != nil {
		t.Fatal(err)
	}
	cmd := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, w.ownerK.slot, nil))
	if err := w.oclient.ManageKey(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	var ks sharing.KeyServer = w.vclient
	cmds, err := ks.Commands(ctx, w.car.id)
	if err != nil || len(cmds) != 1 || cmds[0].ID != cmd.ID || cmds[0].Action != sharing.ActionSuspend {
		t.Fatalf("Commands = %+v, %v", cmds, err)
	}
	if again, err := ks.Commands(ctx, w.car.id); err != nil || len(again) != 0 {
		t.Errorf("Commands again = %d, %v; want none", len(again), err)
	}
	if _, err := ks.Commands(ctx, vidOf(t, "VIN00002")); err == nil {
		t.Error("Commands of another vehicle succeeded")
	}
	if _, err := w.oclient.Commands(ctx, w.car.id); err == nil {
		t.Error("Commands by a device succeeded")
	}
}

// TestTwoInstances: two services on one PostgreSQL database; the vehicle
// waits on one, the owner posts to the other, and the command crosses.
func TestTwoInstances(t *testing.T) {
	url := pgtest.NewDatabase(t, pgtest.Require(t))
	ctx := context.Background()
	w := newWorld(t, backend{name: "postgres", new: func(t testing.TB) func() keyservice.Store {
		return func() keyservice.Store { return openPostgres(t, url) }
	}})
	// A second instance on the same database.
	second := openPostgres(t, url)
	t.Cleanup(func() { second.Close() })
	other := startService(t, w.pki, second, serviceOptions{maxWait: 5 * time.Second, poll: time.Hour})
	other.tracked = w.svc.tracked
	w.runVehicle(t)
	oc := w.owner.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	owner := other.client(t, &oc)
	cmd := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, w.ownerK.slot, nil))
	if err := owner.ManageKey(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the command posted to the other instance reaches the vehicle", func() bool {
		return w.car.reader.Keys()[0].State == dkey.KeySuspended
	})
}

// TestExpire: the janitor deletes expired mailboxes; an expired mailbox is
// gone for every operation before that already.
func TestExpire(t *testing.T) {
	ctx := context.Background()
	clock := struct {
		sync.Mutex
		now time.Time
	}{now: time.Now()}
	now := func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.now }
	p := newPKI(t, "A")
	store := boltBackend().new(t)()
	t.Cleanup(func() { store.Close() })
	s := startService(t, p, store, serviceOptions{now: now})
	ph := newPhone(t, p, "owner")
	c := newCar(t, p, "VIN00001")
	c.enrollOwner(t, ph)
	oc := ph.endpointCert(t, c.id, c.reader.PublicKey())
	owner := s.client(t, &oc)
	mb := must[*sharing.CreatedMailbox](t)(owner.CreateMailbox(ctx, &sharing.NewMailbox{Content: []byte{1}, Expires: now().Add(time.Hour)}))
	if n, err := s.srv.Expire(ctx); n != 0 || err != nil {
		t.Errorf("Expire before the expiry = %d, %v", n, err)
	}
	clock.Lock()
	clock.now = clock.now.Add(2 * time.Hour)
	clock.Unlock()
	if _, err := owner.ReadDisplayInformation(ctx, mb.ID, mb.Sender); !errors.Is(err, sharing.ErrNotFound) {
		t.Errorf("an expired mailbox = %v, want ErrNotFound", err)
	}
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.srv.RunJanitor(jctx, 10*time.Millisecond, func(err error) { t.Error(err) }) }()
	eventually(t, "the janitor deletes the mailbox", func() bool {
		var err error
		_ = store.View(ctx, func(tx keyservice.Tx) error { _, err = tx.Mailbox(mb.ID); return nil })
		return errors.Is(err, keyservice.ErrNotFound)
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunJanitor = %v", err)
	}
}
