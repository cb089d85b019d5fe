package sharing_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

func TestMemoryRelay(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: t0}
	r := sharing.NewMemoryRelay(&sharing.MemoryRelayConfig{MaxMailboxes: 2, Time: c.Now})
	content := func(b byte) []byte { return bytes.Repeat([]byte{b}, 400) }
	mb, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: content(1), Display: []byte("A key from Alice"), Expires: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id := mb.ID
	if mb.Sender == mb.Fetch || mb.Sender == (sharing.AccessToken{}) {
		t.Fatalf("tokens %v, %v", mb.Sender, mb.Fetch)
	}
	for _, tok := range []sharing.AccessToken{mb.Sender, mb.Fetch} {
		if d, err := r.ReadDisplayInformation(ctx, id, tok); err != nil || string(d) != "A key from Alice" {
			t.Errorf("ReadDisplayInformation = %q, %v", d, err)
		}
	}
	if _, err := r.ReadDisplayInformation(ctx, id, sharing.AccessToken{1}); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("ReadDisplayInformation without a token = %v, want ErrAccessDenied", err)
	}
	// Before the fetch, nothing is readable with the fetch token, and the
	// receiver side cannot write.
	if _, err := r.ReadSecureContent(ctx, id, mb.Fetch); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("ReadSecureContent with the fetch token = %v, want ErrAccessDenied", err)
	}
	if err := r.UpdateMailbox(ctx, id, mb.Fetch, content(2)); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("UpdateMailbox with the fetch token = %v, want ErrAccessDenied", err)
	}
	if got, err := r.ReadSecureContent(ctx, id, mb.Sender); got != nil || err != nil {
		t.Errorf("receiver content before any = %x, %v", got, err)
	}
	// The fetch works once, with the fetch token only.
	if _, _, err := r.FetchInvitation(ctx, id, mb.Sender); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("FetchInvitation with the sender's token = %v, want ErrAccessDenied", err)
	}
	inv, rtok, err := r.FetchInvitation(ctx, id, mb.Fetch)
	if err != nil || !bytes.Equal(inv, content(1)) || rtok == mb.Sender || rtok == mb.Fetch {
		t.Fatalf("FetchInvitation = %x, %v, %v", inv[:1], rtok, err)
	}
	if _, _, err := r.FetchInvitation(ctx, id, mb.Fetch); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("second FetchInvitation = %v, want ErrAccessDenied", err)
	}
	// Delivered: the invitation is no longer on the relay.
	if got, err := r.ReadSecureContent(ctx, id, rtok); got != nil || err != nil {
		t.Errorf("sender content after the fetch = %x, %v; want none", got, err)
	}
	if d, err := r.ReadDisplayInformation(ctx, id, rtok); err != nil || len(d) == 0 {
		t.Errorf("ReadDisplayInformation with the receiver's token = %q, %v", d, err)
	}
	if _, err := r.ReadDisplayInformation(ctx, id, mb.Fetch); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("ReadDisplayInformation with the used fetch token = %v, want ErrAccessDenied", err)
	}
	if err := r.UpdateMailbox(ctx, id, rtok, content(2)); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateMailbox(ctx, id, sharing.AccessToken{1}, content(3)); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("wrong token = %v, want ErrAccessDenied", err)
	}
	if got, err := r.ReadSecureContent(ctx, id, mb.Sender); err != nil || !bytes.Equal(got, content(2)) {
		t.Errorf("receiver content = %x, %v", got, err)
	}
	if err := r.UpdateMailbox(ctx, id, mb.Sender, content(4)); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.ReadSecureContent(ctx, id, rtok); !bytes.Equal(got, content(4)) {
		t.Errorf("sender content = %x", got)
	}
	if err := r.DeleteMailbox(ctx, id, sharing.AccessToken{9}); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("delete with a wrong token = %v", err)
	}
	if err := r.DeleteMailbox(ctx, id, mb.Fetch); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("delete with the used fetch token = %v", err)
	}
	if err := r.DeleteMailbox(ctx, id, rtok); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadSecureContent(ctx, id, mb.Sender); !errors.Is(err, sharing.ErrNotFound) {
		t.Errorf("read after delete = %v, want ErrNotFound", err)
	}

	// Limits.
	for _, tt := range []struct {
		name string
		m    *sharing.NewMailbox
	}{
		{"nil", nil},
		{"no content", &sharing.NewMailbox{Expires: t0.Add(time.Hour)}},
		{"content too large", &sharing.NewMailbox{Content: make([]byte, sharing.MaxSealedSize+1), Expires: t0.Add(time.Hour)}},
		{"display too large", &sharing.NewMailbox{Content: content(1), Display: make([]byte, 257), Expires: t0.Add(time.Hour)}},
		{"expired", &sharing.NewMailbox{Content: content(1), Expires: t0}},
		{"too far", &sharing.NewMailbox{Content: content(1), Expires: t0.Add(sharing.MaxInvitationLifetime + time.Second)}},
	} {
		if _, err := r.CreateMailbox(ctx, tt.m); !errors.Is(err, sharing.ErrMalformed) {
			t.Errorf("CreateMailbox(%s) = %v, want ErrMalformed", tt.name, err)
		}
	}
	// Capacity and expiry.
	a, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: content(1), Expires: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: content(1), Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: content(1), Expires: t0.Add(time.Hour)}); !errors.Is(err, sharing.ErrCapacity) {
		t.Errorf("third mailbox = %v, want ErrCapacity", err)
	}
	c.Advance(2 * time.Minute)
	if _, err := r.ReadDisplayInformation(ctx, a.ID, a.Fetch); !errors.Is(err, sharing.ErrNotFound) {
		t.Errorf("expired mailbox = %v, want ErrNotFound", err)
	}
	if _, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: content(1), Expires: c.Now().Add(time.Hour)}); err != nil {
		t.Errorf("mailbox after an expiry = %v", err)
	}
	if r.Len() != 2 {
		t.Errorf("Len() = %d, want 2", r.Len())
	}
	// A context that is done.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.ReadSecureContent(done, id, mb.Sender); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadSecureContent(done) = %v", err)
	}
	if _, _, err := r.FetchInvitation(done, id, mb.Fetch); !errors.Is(err, context.Canceled) {
		t.Errorf("FetchInvitation(done) = %v", err)
	}
}

func TestParseMailboxID(t *testing.T) {
	var id sharing.MailboxID
	id[0], id[15] = 0xAB, 0xCD
	got, err := sharing.ParseMailboxID(id.String())
	if err != nil || got != id {
		t.Errorf("ParseMailboxID(%s) = %v, %v", id, got, err)
	}
	for _, s := range []string{"", "ab", id.String() + "00", "zz" + id.String()[2:], strings.ToUpper(id.String())} {
		if _, err := sharing.ParseMailboxID(s); !errors.Is(err, sharing.ErrMalformed) {
			t.Errorf("ParseMailboxID(%q) = %v", s, err)
		}
	}
}

func TestFragment(t *testing.T) {
	l, err := sharing.NewLink()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sharing.NewAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	f := sharing.Fragment(l, tok)
	if len(f) != 43+1+22 {
		t.Fatalf("Fragment = %q, %d characters", f, len(f))
	}
	gl, gt, err := sharing.ParseFragment(f)
	if err != nil || gl.Text() != l.Text() || gt != tok {
		t.Fatalf("ParseFragment(%q) = %v, %v, %v", f, gl, gt, err)
	}
	if back, err := sharing.ParseAccessToken(tok.Text()); err != nil || back != tok {
		t.Errorf("ParseAccessToken(%s) = %v, %v", tok, back, err)
	}
	for _, bad := range []string{"", l.Text(), l.Text() + ".", l.Text() + "." + tok.Text() + "A", "x." + tok.Text(), l.Text() + ".." + tok.Text()[1:], l.Text() + "." + tok.Text()[:21] + "B"} {
		if _, _, err := sharing.ParseFragment(bad); !errors.Is(err, sharing.ErrMalformed) {
			t.Errorf("ParseFragment(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

// TestMemoryRelayConcurrent runs exchanges in parallel; run with -race.
func TestMemoryRelayConcurrent(t *testing.T) {
	ctx := context.Background()
	r := sharing.NewMemoryRelay(nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			mb, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: []byte{1}, Expires: time.Now().Add(time.Hour)})
			if err != nil {
				t.Error(err)
				return
			}
			_, rtok, err := r.FetchInvitation(ctx, mb.ID, mb.Fetch)
			if err != nil {
				t.Error(err)
				return
			}
			_ = r.UpdateMailbox(ctx, mb.ID, rtok, []byte{2})
			_, _ = r.ReadSecureContent(ctx, mb.ID, mb.Sender)
			_ = r.UpdateMailbox(ctx, mb.ID, mb.Sender, []byte{3})
			_ = r.DeleteMailbox(ctx, mb.ID, rtok)
		})
	}
	wg.Wait()
	if r.Len() != 0 {
		t.Errorf("Len() = %d, want 0", r.Len())
	}
}

func TestKeyCommand(t *testing.T) {
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	for _, tt := range []struct {
		action sharing.KeyAction
		term   []byte
	}{
		{sharing.ActionSuspend, nil},
		{sharing.ActionResume, nil},
		{sharing.ActionTerminate, bytes.Repeat([]byte{0xD2}, 200)},
	} {
		t.Run(tt.action.String(), func(t *testing.T) {
			c, err := sharing.NewKeyCommand(tt.action, vid, slot("slot0001"), tt.term)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := sharing.ParseKeyCommand(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != c.ID || got.Action != c.Action || got.Vehicle != c.Vehicle || got.Slot != c.Slot || !bytes.Equal(got.Termination, c.Termination) {
				t.Errorf("ParseKeyCommand(%x) = %+v, want %+v", b, got, c)
			}
			for i := range len(b) {
				if _, err := sharing.ParseKeyCommand(b[:i]); !errors.Is(err, sharing.ErrMalformed) {
					t.Fatalf("ParseKeyCommand of the %d-byte prefix = %v", i, err)
				}
			}
		})
	}
	for _, tt := range []struct {
		name string
		c    sharing.KeyCommand
	}{
		{"no ID", sharing.KeyCommand{Action: sharing.ActionSuspend, Vehicle: vid, Slot: slot("s")}},
		{"action 0", sharing.KeyCommand{ID: [16]byte{1}, Vehicle: vid, Slot: slot("s")}},
		{"action 4", sharing.KeyCommand{ID: [16]byte{1}, Action: 4, Vehicle: vid, Slot: slot("s")}},
		{"no vehicle", sharing.KeyCommand{ID: [16]byte{1}, Action: sharing.ActionSuspend, Slot: slot("s")}},
		{"terminate without attestation", sharing.KeyCommand{ID: [16]byte{1}, Action: sharing.ActionTerminate, Vehicle: vid, Slot: slot("s")}},
		{"suspend with attestation", sharing.KeyCommand{ID: [16]byte{1}, Action: sharing.ActionSuspend, Vehicle: vid, Slot: slot("s"), Termination: []byte{1}}},
		{"attestation too long", sharing.KeyCommand{ID: [16]byte{1}, Action: sharing.ActionTerminate, Vehicle: vid, Slot: slot("s"), Termination: make([]byte, 1025)}},
	} {
		if _, err := tt.c.MarshalBinary(); !errors.Is(err, sharing.ErrMalformed) {
			t.Errorf("MarshalBinary(%s) = %v, want ErrMalformed", tt.name, err)
		}
	}
	for _, h := range []string{
		"a4015001010101010101010101010101010101020103480102030405060708044173",               // valid suspend
		"a5015001010101010101010101010101010101020103480102030405060708044173" + "0540",      // empty attestation present
		"a4015001010101010101010101010101010101021901000348010203040506070804417300",         // non-minimal action
		"a4015001010101010101010101010101010101020103480102030405060708044173" + "00",        // trailing byte
		"a5015001010101010101010101010101010101020103480102030405060708044173" + "0600",      // unknown key
		"a40150010101010101010101010101010101011901000348010203040506070804417300",           // garbled
		"a401500101010101010101010101010101010102010347010203040506070448010203040506070809", // 7-byte vehicle, 9-byte slot
	} {
		b := unhex(t, h)
		_, err := sharing.ParseKeyCommand(b)
		if h == "a4015001010101010101010101010101010101020103480102030405060708044173" {
			if err != nil {
				t.Errorf("ParseKeyCommand(%s) = %v", h, err)
			}
			continue
		}
		if !errors.Is(err, sharing.ErrMalformed) {
			t.Errorf("ParseKeyCommand(%s) = %v, want ErrMalformed", h, err)
		}
	}
}

func TestMemoryKeyServer(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := sharing.NewMemoryKeyServer(nil); err == nil {
		t.Error("NewMemoryKeyServer(nil) succeeded")
	}
	ks, err := sharing.NewMemoryKeyServer(&sharing.MemoryKeyServerConfig{Key: w.ksKey, MaxKeys: 2, MaxPending: 2, Time: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	dev := w.owner.deviceID()
	req := &sharing.TrackRequest{Vehicle: w.car.id, Slot: w.ownerK.Slot, Key: w.ownerK.PublicKey, Role: dkey.RoleOwner, Device: dev}
	receipt, err := ks.TrackKey(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := attest.VerifyTrackingReceipt(receipt, attest.VerifyOptions{Vehicle: w.car.id, TrackingKeys: []*dkey.PublicKey{w.ksKey.PublicKey()}})
	if err != nil || r.Slot != w.ownerK.Slot || r.RegisteredAt.Unix() != t0.Unix() {
		t.Fatalf("receipt = %+v, %v", r, err)
	}
	// The vehicle checks the receipt the device hands over.
	tk := []*dkey.PublicKey{w.ksKey.PublicKey()}
	if _, err := w.car.sharing.CheckReceipt(receipt, tk, w.ownerK.Slot, w.ownerK.PublicKey); err != nil {
		t.Errorf("CheckReceipt = %v", err)
	}
	_, err = w.car.sharing.CheckReceipt(receipt, tk, slot("other"), w.ownerK.PublicKey)
	wantVehicleError(t, err, sharing.CheckSlot, transaction.CFKeyNotTrusted, sharing.ErrMismatch)
	_, err = w.car.sharing.CheckReceipt(receipt, tk, w.ownerK.Slot, mustKey(t).PublicKey())
	wantVehicleError(t, err, sharing.CheckSlot, transaction.CFKeyNotTrusted, sharing.ErrMismatch)
	_, err = w.car.sharing.CheckReceipt(receipt, []*dkey.PublicKey{mustKey(t).PublicKey()}, w.ownerK.Slot, w.ownerK.PublicKey)
	wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyNotTrusted, attest.ErrBadSignature)
	if _, err := ks.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: w.ownerK.Slot, Key: mustKey(t).PublicKey()}); !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("TrackKey of another key in a tracked slot = %v", err)
	}
	if _, err := ks.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id}); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("TrackKey without a key = %v", err)
	}
	if _, err := ks.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: slot("k2"), Key: mustKey(t).PublicKey()}); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.TrackKey(ctx, &sharing.TrackRequest{Vehicle: w.car.id, Slot: slot("k3"), Key: mustKey(t).PublicKey()}); !errors.Is(err, sharing.ErrCapacity) {
		t.Errorf("third key = %v, want ErrCapacity", err)
	}
	suspend, _ := sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, slot("untrackd"), nil)
	if err := ks.ManageKey(ctx, suspend); !errors.Is(err, sharing.ErrNotFound) {
		t.Errorf("suspend of an untracked key = %v, want ErrNotFound", err)
	}
	if _, err := ks.ManageDevice(ctx, dev, sharing.ActionTerminate); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("ManageDevice(terminate) = %v, want ErrMalformed", err)
	}
	if n, err := ks.ManageDevice(ctx, dev, sharing.ActionSuspend); n != 1 || err != nil {
		t.Fatalf("ManageDevice = %d, %v", n, err)
	}
	if s, _ := ks.State(w.car.id, w.ownerK.Slot); s != dkey.KeySuspended {
		t.Errorf("state after suspension = %v", s)
	}
	// Re-tracking keeps the state.
	if _, err := ks.TrackKey(ctx, req); err != nil {
		t.Fatal(err)
	}
	if s, _ := ks.State(w.car.id, w.ownerK.Slot); s != dkey.KeySuspended {
		t.Errorf("state after re-tracking = %v", s)
	}
	term, _, err := (&sharing.Termination{Vehicle: w.car.id, Slot: w.ownerK.Slot, Key: w.ownerK.PublicKey}).Sign(w.owner.se.signer(w.ownerK.PublicKey), w.ownerK.Slot)
	if err != nil {
		t.Fatal(err)
	}
	tc, _ := sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, w.ownerK.Slot, term)
	if err := ks.ManageKey(ctx, tc); err != nil {
		t.Fatal(err)
	}
	resume, _ := sharing.NewKeyCommand(sharing.ActionResume, w.car.id, w.ownerK.Slot, nil)
	if err := ks.ManageKey(ctx, resume); !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("resume of a terminated key = %v", err)
	}
	tc2, _ := sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, slot("other"), term)
	if err := ks.ManageKey(ctx, tc2); !errors.Is(err, sharing.ErrCapacity) {
		t.Errorf("third command in the queue = %v, want ErrCapacity", err)
	}
	if n, err := ks.ManageDevice(ctx, dev, sharing.ActionResume); n != 0 || err != nil {
		t.Errorf("ManageDevice after termination = %d, %v", n, err)
	}
	cmds, err := ks.Commands(ctx, w.car.id)
	if err != nil || len(cmds) != 2 || cmds[0].Action != sharing.ActionSuspend || cmds[1].Action != sharing.ActionTerminate {
		t.Fatalf("Commands = %v, %v", cmds, err)
	}
	if again, _ := ks.Commands(ctx, w.car.id); len(again) != 0 {
		t.Errorf("Commands did not drain: %d left", len(again))
	}
	if _, err := ks.TrackKey(ctx, req); !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("TrackKey of a terminated key = %v", err)
	}
}

// TestApply: the vehicle's processing of key commands.
func TestApply(t *testing.T) {
	w := newWorld(t)
	w.share(t, w.unlockOnly())
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	other := newCar(t, w.pki, w.clock, "VIN00003")
	owner := w.owner.se.signer(w.ownerK.PublicKey)
	term, _, err := (&sharing.Termination{Vehicle: w.car.id, Slot: f.Slot, Key: f.PublicKey}).Sign(owner, w.ownerK.Slot)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		cmd  func() *sharing.KeyCommand
		want error
	}{
		{"another vehicle", func() *sharing.KeyCommand {
			c, _ := sharing.NewKeyCommand(sharing.ActionSuspend, other.id, f.Slot, nil)
			return c
		}, sharing.ErrMismatch},
		{"termination of another slot", func() *sharing.KeyCommand {
			c, _ := sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, w.ownerK.Slot, term)
			return c
		}, sharing.ErrMismatch},
		{"forged termination", func() *sharing.KeyCommand {
			forged, _, _ := (&sharing.Termination{Vehicle: w.car.id, Slot: f.Slot, Key: f.PublicKey}).Sign(mustKey(t), w.ownerK.Slot)
			c, _ := sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, f.Slot, forged)
			return c
		}, attest.ErrBadSignature},
		{"suspend an unknown key", func() *sharing.KeyCommand {
			c, _ := sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, slot("nobody"), nil)
			return c
		}, dkey.ErrUnknownKey},
		{"malformed", func() *sharing.KeyCommand { return &sharing.KeyCommand{} }, sharing.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := w.state(t)
			if err := w.car.reader.ApplyCommand(tt.cmd()); !errors.Is(err, tt.want) {
				t.Errorf("Apply = %v, want %v", err, tt.want)
			}
			w.assertUnchanged(t, before)
		})
	}
	c, _ := sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, f.Slot, term)
	if err := w.car.reader.ApplyCommand(c); err != nil {
		t.Fatal(err)
	}
	// Again: the key is gone, the revocation recorded; nothing changes.
	if err := w.car.reader.ApplyCommand(c); err != nil {
		t.Errorf("repeated termination = %v", err)
	}
	if n := len(w.car.reader.Keys()); n != 1 {
		t.Errorf("%d keys after termination, want 1", n)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil && s != "" {
		t.Fatal(err)
	}
	return b
}
