package device_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// hookWorld is an applet with hooks that record the refusals, and a
// reader that has enrolled its key for one vehicle.
type hookWorld struct {
	applet  *device.Applet
	reader  *vehicle.Reader
	card    *transporttest.Card
	vid     dkey.VehicleID
	reasons []error
	keyLog  bytes.Buffer
	now     time.Time
}

func newHookWorld(t *testing.T) *hookWorld {
	t.Helper()
	w := &hookWorld{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	vk, _ := dkey.GenerateSoftwareKey()
	w.vid, _ = dkey.NewVehicleID([]byte("VIN-HOOK"))
	var err error
	w.applet, err = device.NewApplet(&device.Config{
		Time:   func() time.Time { return w.now },
		KeyLog: &w.keyLog,
		Hooks: &device.Hooks{KeyRefused: func(i device.KeyRefusedInfo) {
			if i.Vehicle != w.vid || i.Action != dkey.ActionUnlock {
				t.Errorf("refusal of %v for %v", i.Action, i.Vehicle)
			}
			w.reasons = append(w.reasons, i.Reason)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.reader, err = vehicle.NewReader(&vehicle.Config{VehicleID: w.vid, Key: vk}); err != nil {
		t.Fatal(err)
	}
	w.card = transporttest.NewCard(w.applet)
	return w
}

func (w *hookWorld) unlock() error {
	_, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock)
	return err
}

// TestHooksRefusals: each policy refusal of AUTH0 reaches KeyRefused with
// its reason, and the device's key log gets the keys of the transactions
// that ran.
func TestHooksRefusals(t *testing.T) {
	w := newHookWorld(t)
	if err := w.unlock(); err == nil {
		t.Fatal("unlock without a key succeeded")
	}
	info, err := w.applet.CreateKey(device.KeyConfig{VehicleID: w.vid, VehicleKey: w.reader.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reader.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile()}); err != nil {
		t.Fatal(err)
	}
	if err := w.unlock(); err != nil {
		t.Fatal(err)
	}
	if err := w.applet.SetLostMode(true); err != nil {
		t.Fatal(err)
	}
	w.unlock()
	w.applet.SetLostMode(false)
	w.applet.SetExpress(w.vid, false)
	w.unlock()
	w.applet.AuthenticateUser(w.now.Add(time.Minute))
	if err := w.unlock(); err != nil {
		t.Fatalf("unlock after user authentication: %v", err)
	}
	want := []error{dkey.ErrUnknownVehicle, dkey.ErrKeySuspended, dkey.ErrUserAuthenticationRequired}
	if len(w.reasons) != len(want) {
		t.Fatalf("refusals %v, want %v", w.reasons, want)
	}
	for i := range want {
		if !errors.Is(w.reasons[i], want[i]) {
			t.Errorf("refusal %d: %v, want %v", i, w.reasons[i], want[i])
		}
	}
	// A standard transaction, then a fast one.
	if n := strings.Count(w.keyLog.String(), "TRANSACTION_KENC "); n != 1 {
		t.Errorf("key log has %d standard transactions, want 1:\n%s", n, w.keyLog.String())
	}
	if n := strings.Count(w.keyLog.String(), "FAST_KENC "); n != 1 {
		t.Errorf("key log has %d fast transactions, want 1:\n%s", n, w.keyLog.String())
	}
}

// fixedRand returns the same bytes to every reader made from one seed.
type fixedRand byte

func (r fixedRand) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(r) + byte(i)
	}
	return len(b), nil
}

// TestRandSlot: the slot identifier CreateKey derives in the CCC profile
// comes from Config.Rand.
func TestRandSlot(t *testing.T) {
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN-RAND"))
	slot := func(r fixedRand) dkey.KeySlot {
		a, err := device.NewApplet(&device.Config{Rand: r})
		if err != nil {
			t.Fatal(err)
		}
		info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		return info.Slot
	}
	if a, b := slot(7), slot(7); a != b || a.String() != "0708090a0b0c0d0e" {
		t.Errorf("slots from the same Rand: %v and %v, want 0708090a0b0c0d0e", a, b)
	}
	if a, b := slot(7), slot(8); a == b {
		t.Errorf("slots from different Rand streams are both %v", a)
	}
}

// A host app shows what its applet does: the hooks report each
// transaction a vehicle runs with it.
func ExampleHooks() {
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	hooks := &device.Hooks{
		TransactionStart: func(i device.TransactionStartInfo) {
			fmt.Printf("%v: cryptogram %v\n", i.Action, i.Cryptogram)
		},
		TransactionDone: func(i device.TransactionDoneInfo) {
			fmt.Printf("done: standard %v, %v, new Kpersistent %v\n", i.Standard, i.ControlFlow, i.Committed)
		},
	}
	phone, _ := device.NewApplet(&device.Config{Hooks: hooks})
	r, _ := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk})
	key, _ := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey()})
	_ = r.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile()})
	card := transporttest.NewCard(phone)
	for range 2 {
		r.Transact(context.Background(), card, dkey.ActionUnlock)
	}
	// Output:
	// unlock: cryptogram false
	// done: standard true, 0100 (success), new Kpersistent true
	// unlock: cryptogram true
	// done: standard false, 0100 (success), new Kpersistent false
}
