package vehicle

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
)

// events records what the hooks of a reader and of applets report, one
// line each, in order.
type events struct {
	mu    sync.Mutex
	lines []string
}

func (e *events) add(format string, a ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, fmt.Sprintf(format, a...))
}

// take returns the lines recorded since the last take.
func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lines
	e.lines = nil
	return l
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return "failed"
}

// vehicleHooks reports every vehicle hook to e.
func (e *events) vehicleHooks() *Hooks {
	return &Hooks{
		TransactionStart: func(i TransactionStartInfo) { e.add("vehicle start %v", i.Action) },
		FastMiss:         func(i FastMissInfo) { e.add("vehicle fast miss %v %v", i.Action, i.Version) },
		KeyRefused: func(i KeyRefusedInfo) {
			e.add("vehicle refused %v slot %v: %v, %v", i.Action, i.Slot, i.Reason, i.ControlFlow)
		},
		Statement: func(i StatementInfo) {
			e.add("vehicle statement %v from %v about %v: %v", i.Kind, i.Delivered, i.Slot, outcome(i.Err))
		},
		TransactionDone: func(i TransactionDoneInfo) {
			if i.Elapsed <= 0 {
				e.add("vehicle done without a duration")
			}
			e.add("vehicle done %v fast %v miss %v slot %v %v %v", i.Result.Action, i.Result.Fast, i.FastMiss, i.Result.Slot, i.Result.ControlFlow, outcome(i.Result.Err))
		},
		PairingStart:   func(i PairingStartInfo) { e.add("vehicle pairing start, %d attempts", i.AttemptsLeft) },
		PairingAttempt: func(i PairingAttemptInfo) { e.add("vehicle pairing attempt, %d left", i.Remaining) },
		PairingDone: func(i PairingDoneInfo) {
			e.add("vehicle pairing done slot %v: %v", i.Result.Slot, outcome(i.Err))
		},
	}
}

// deviceHooks reports every device hook to e.
func (e *events) deviceHooks() *device.Hooks {
	return &device.Hooks{
		TransactionStart: func(i device.TransactionStartInfo) {
			e.add("device start %v slot %v cryptogram %v", i.Action, i.Slot, i.Cryptogram)
		},
		KeyRefused: func(i device.KeyRefusedInfo) {
			e.add("device refused %v slot %v: %v", i.Action, i.Slot, i.Reason)
		},
		StatementsCleared: func(i device.StatementsClearedInfo) { e.add("device statements cleared slot %v", i.Slot) },
		TransactionDone: func(i device.TransactionDoneInfo) {
			e.add("device done slot %v standard %v %v committed %v %v", i.Slot, i.Standard, i.ControlFlow, i.Committed, outcome(i.Err))
		},
		PairingStart:   func(i device.PairingStartInfo) { e.add("device pairing start, %d requests left", i.RequestsLeft) },
		PairingAttempt: func(i device.PairingAttemptInfo) { e.add("device pairing attempt: %v", outcome(i.Err)) },
		PairingDone:    func(i device.PairingDoneInfo) { e.add("device pairing done slot %v: %v", i.Slot, outcome(i.Err)) },
	}
}

func checkEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: events (-want +got):\n%s", what, diff)
	}
}

// TestHooksTransactions follows a key through the events a bench sees:
// standard, fast, refused by the vehicle's policy, refused by the device, a
// fast miss at another reader of the same vehicle, an unknown key, and a
// closed reader. Each transaction starts once and ends once, on both
// sides.
func TestHooksTransactions(t *testing.T) {
	e := &events{}
	var vk crypto.Signer
	w := newWorld(t, dkey.CCC, func(o *worldOptions) {
		o.vehicle = func(c *Config) { c.Hooks, vk = e.vehicleHooks(), c.Key }
		o.device = func(c *device.Config) { c.Hooks = e.deviceHooks() }
	})
	ctx := context.Background()
	s := w.slot.String()
	unlock := func(r *Reader) {
		t.Helper()
		r.Transact(ctx, w.card, dkey.ActionUnlock)
	}

	unlock(w.reader)
	checkEvents(t, "standard unlock", e.take(),
		"vehicle start unlock",
		"device start unlock slot "+s+" cryptogram false",
		"device done slot "+s+" standard true 0100 (success) committed true ok",
		"vehicle done unlock fast false miss false slot "+s+" 0100 (success) ok")

	unlock(w.reader)
	checkEvents(t, "fast unlock", e.take(),
		"vehicle start unlock",
		"device start unlock slot "+s+" cryptogram true",
		"device done slot "+s+" standard false 0100 (success) committed false ok",
		"vehicle done unlock fast true miss false slot "+s+" 0100 (success) ok")

	if err := w.reader.SetState(w.slot, dkey.KeySuspended); err != nil {
		t.Fatal(err)
	}
	unlock(w.reader)
	checkEvents(t, "key suspended in the vehicle", e.take(),
		"vehicle start unlock",
		"device start unlock slot "+s+" cryptogram true",
		"device done slot "+s+" standard false 0000 (failure) committed false ok",
		"vehicle refused unlock slot "+s+": "+dkey.ErrKeySuspended.Error()+", 0000 (failure)",
		"vehicle done unlock fast true miss false slot "+s+" 0000 (failure) failed")
	if err := w.reader.SetState(w.slot, dkey.KeyActive); err != nil {
		t.Fatal(err)
	}

	vid := w.reader.ID()
	if err := w.applet.Suspend(vid); err != nil {
		t.Fatal(err)
	}
	unlock(w.reader)
	checkEvents(t, "key suspended on the device", e.take(),
		"vehicle start unlock",
		"device refused unlock slot "+s+": "+dkey.ErrKeySuspended.Error(),
		"vehicle refused unlock slot : "+ErrRefused.Error()+", 0000 (failure)",
		"vehicle done unlock fast false miss false slot  0000 (failure) failed")
	if err := w.applet.Resume(vid); err != nil {
		t.Fatal(err)
	}

	// Another reader of the same vehicle, which has not enrolled the key
	// yet and then enrols it without its Kpersistent: the device's
	// cryptogram matches nothing.
	other, err := NewReader(&Config{VehicleID: vid, Key: vk, Hooks: e.vehicleHooks()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	unlock(other)
	checkEvents(t, "unknown key", e.take(),
		"vehicle start unlock",
		"device start unlock slot "+s+" cryptogram true",
		"vehicle fast miss unlock 1.0",
		"device done slot "+s+" standard true 0001 (key not found) committed false ok",
		"vehicle refused unlock slot : "+dkey.ErrUnknownKey.Error()+", 0001 (key not found)",
		"vehicle done unlock fast false miss true slot  0001 (key not found) failed")
	ki := w.reader.Keys()[0]
	mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64, ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16}}
	if err := other.Enroll(Enrollment{PublicKey: ki.PublicKey, Slot: ki.Slot, Profile: ki.Profile, Mailboxes: mb}); err != nil {
		t.Fatal(err)
	}
	unlock(other)
	checkEvents(t, "fast miss", e.take(),
		"vehicle start unlock",
		"device start unlock slot "+s+" cryptogram true",
		"vehicle fast miss unlock 1.0",
		"device done slot "+s+" standard true 0100 (success) committed true ok",
		"vehicle done unlock fast false miss true slot "+s+" 0100 (success) ok")

	other.Close()
	unlock(other)
	checkEvents(t, "closed reader", e.take(),
		"vehicle start unlock",
		"vehicle done unlock fast false miss false slot  0000 (failure) failed")
}

// TestHooksPairing: a wrong password, then the right one; the reader and
// the applet report the attempts with what is left, and the first
// transaction of the paired key.
func TestHooksPairing(t *testing.T) {
	e := &events{}
	phone := newPairPhone(t, func(c *device.Config) { c.Hooks = e.deviceHooks() })
	w := newPairWorldWith(t, 3, func(c *Config) { c.Hooks = e.vehicleHooks() }, phone)
	w.install(t, pairCode)
	if _, err := w.pair(t, phone, "000000"); err == nil {
		t.Fatal("pairing with a wrong password succeeded")
	}
	checkEvents(t, "wrong password", e.take(),
		"vehicle pairing start, 3 attempts",
		"device pairing start, 2 requests left",
		"vehicle pairing attempt, 2 left",
		"device pairing attempt: failed",
		"device pairing done slot : failed",
		"vehicle pairing done slot : failed")

	res, err := w.pair(t, phone, pairCode)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Slot.String()
	checkEvents(t, "right password", e.take(),
		"vehicle pairing start, 2 attempts",
		"device pairing start, 2 requests left",
		"vehicle pairing attempt, 1 left",
		"device pairing attempt: ok",
		"device pairing done slot "+s+": ok",
		"vehicle start owner pairing, first transaction",
		"device start owner pairing, first transaction slot "+s+" cryptogram false",
		"device done slot "+s+" standard true 0181 (pairing complete) committed true ok",
		"vehicle done owner pairing, first transaction fast false miss false slot "+s+" 0181 (pairing complete) ok",
		"vehicle pairing done slot "+s+": ok")

	// Pairing refused before it starts reports nothing.
	if _, err := w.reader.Pair(context.Background(), phone.card); !errors.Is(err, ErrNoVerifier) {
		t.Fatalf("Pair without a verifier = %v", err)
	}
	checkEvents(t, "no verifier", e.take())
}

// TestHooksStatements: the first friend transaction processes the
// friend's own key attestation (Statement), and the friend's applet
// reports the area cleared.
func TestHooksStatements(t *testing.T) {
	e := &events{}
	owner := newPairPhone(t)
	friend := newPairPhone(t, func(c *device.Config) { c.Hooks = &device.Hooks{StatementsCleared: e.deviceHooks().StatementsCleared} })
	vh := e.vehicleHooks()
	w := newShareWorld(t, shareOptions{phones: []*pairPhone{owner, friend}, hooks: &Hooks{Statement: vh.Statement, KeyRefused: vh.KeyRefused}})
	issued := w.share(t, owner, friend, unlockOnly())
	e.take()
	if _, _, err := w.transact(friend, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	s := issued.Attestation.FriendSlot.String()
	checkEvents(t, "first friend transaction", e.take(),
		"device statements cleared slot "+s,
		"vehicle statement "+sharing.KindKeyAttestation.String()+" from "+s+" about "+s+": ok")
	// Not entitled: the refusal names the key and the entitlement class.
	if _, _, err := w.transact(friend, dkey.ActionEngineStart); !errors.Is(err, dkey.ErrNotEntitled) {
		t.Fatal(err)
	}
	got := e.take()
	if len(got) != 1 || !strings.HasPrefix(got[0], "vehicle refused engine start slot "+s+": "+dkey.ErrNotEntitled.Error()) {
		t.Errorf("events of a refused engine start = %q", got)
	}
}

// TestRefusalReason maps transaction errors to the classes of
// KeyRefusedInfo.Reason; other failures are not refusals.
func TestRefusalReason(t *testing.T) {
	for _, tt := range []struct {
		err, want error
	}{
		{fmt.Errorf("x: %w", dkey.ErrKeySuspended), dkey.ErrKeySuspended},
		{fmt.Errorf("x: %w", dkey.ErrKeyExpired), dkey.ErrKeyExpired},
		{fmt.Errorf("x: %w: engine start", dkey.ErrNotEntitled), dkey.ErrNotEntitled},
		{fmt.Errorf("x: %w", sharing.ErrRevoked), dkey.ErrKeyTerminated},
		{fmt.Errorf("x: %w: %w", sharing.ErrRevoked, dkey.ErrKeyTerminated), dkey.ErrKeyTerminated},
		{fmt.Errorf("x: %w", dkey.ErrUnknownKey), dkey.ErrUnknownKey},
		{fmt.Errorf("%w: %w", ErrRefused, dkey.SWFileNotFound), ErrRefused},
		{ErrImmobilizer, nil},
		{pairing.ErrAuthentication, nil},
		{context.DeadlineExceeded, nil},
	} {
		if got := refusalReason(tt.err); got != tt.want {
			t.Errorf("refusalReason(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// fastUnlockAllocs is what a fast unlock through a Reader and an Applet in
// memory allocated before the hooks existed (transport.Client and the
// in-memory card): the hooks must add nothing to it, nil or set.
const fastUnlockAllocs = 6

// TestHooksAllocations: nil hooks cost no allocation on the fast path, and
// neither do hooks that are set (their information is passed by value).
func TestHooksAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	count := 0
	set := &Hooks{
		TransactionStart: func(TransactionStartInfo) { count++ },
		FastMiss:         func(FastMissInfo) { count++ },
		KeyRefused:       func(KeyRefusedInfo) { count++ },
		Statement:        func(StatementInfo) { count++ },
		TransactionDone:  func(TransactionDoneInfo) { count++ },
	}
	dset := &device.Hooks{
		TransactionStart: func(device.TransactionStartInfo) { count++ },
		TransactionDone:  func(device.TransactionDoneInfo) { count++ },
	}
	allocs := func(h *Hooks, dh *device.Hooks) float64 {
		w := newWorld(t, dkey.CCC, func(o *worldOptions) {
			o.vehicle = func(c *Config) { c.Hooks = h }
			o.device = func(c *device.Config) { c.Hooks = dh }
		})
		if _, err := w.reader.Transact(ctx, w.card, dkey.ActionUnlock); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(100, func() {
			if res, err := w.reader.Transact(ctx, w.card, dkey.ActionUnlock); err != nil || !res.Fast {
				t.Fatalf("fast unlock = %v, %v", res, err)
			}
		})
	}
	none := allocs(nil, nil)
	if none > fastUnlockAllocs {
		t.Errorf("a fast unlock with nil hooks allocates %v times, %d before the hooks", none, fastUnlockAllocs)
	}
	count = 0
	if with := allocs(set, dset); with != none {
		t.Errorf("a fast unlock with hooks set allocates %v times, with nil hooks %v", with, none)
	}
	if count == 0 {
		t.Error("the hooks were not called")
	}
}

// BenchmarkFastHooks is a fast unlock through a Reader and an Applet in
// memory with the hooks of both nil, and with every transaction hook of
// both set (counting).
func BenchmarkFastHooks(b *testing.B) {
	var n int
	for _, tt := range []struct {
		name string
		h    *Hooks
		dh   *device.Hooks
	}{
		{"nil", nil, nil},
		{"set", &Hooks{
			TransactionStart: func(TransactionStartInfo) { n++ },
			FastMiss:         func(FastMissInfo) { n++ },
			KeyRefused:       func(KeyRefusedInfo) { n++ },
			Statement:        func(StatementInfo) { n++ },
			TransactionDone:  func(TransactionDoneInfo) { n++ },
		}, &device.Hooks{
			TransactionStart: func(device.TransactionStartInfo) { n++ },
			KeyRefused:       func(device.KeyRefusedInfo) { n++ },
			TransactionDone:  func(device.TransactionDoneInfo) { n++ },
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			w := newWorld(b, dkey.CCC, func(o *worldOptions) {
				o.vehicle = func(c *Config) { c.Hooks = tt.h }
				o.device = func(c *device.Config) { c.Hooks = tt.dh }
			})
			ctx := context.Background()
			if _, err := w.reader.Transact(ctx, w.card, dkey.ActionUnlock); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res, err := w.reader.Transact(ctx, w.card, dkey.ActionUnlock); err != nil || !res.Fast {
					b.Fatalf("fast unlock = %v, %v", res, err)
				}
			}
		})
	}
}
