package device_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// TestPowerReserveWithoutHost: the phone's battery is out. The applet,
// restarted from its store as a secure element is at every tap, runs in
// power reserve with no host: its clock fails the test if read, and no
// host call is made. The key marked for power reserve, express mode on,
// unlocks (standard, then fast); a key not marked, and a key that needs
// user authentication, are refused with their usual code; management
// calls are refused.
func TestPowerReserveWithoutHost(t *testing.T) {
	m := store.NewMemory()
	kek, err := device.SoftwareKEK(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	vk, _ := dkey.GenerateSoftwareKey()
	mb := dkey.MailboxConfig{PrivateSize: 16, ConfidentialSize: 16}
	var readers []*vehicle.Reader
	var keys []device.KeyInfo
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	phone, err := device.NewApplet(&device.Config{Store: m, KEK: kek, Time: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ reserve, express bool }{{true, true}, {false, true}, {true, false}} {
		vid, _ := dkey.NewVehicleID([]byte{'V', 'I', 'N', '0', '0', '0', '0', byte('0' + i)})
		info, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey(), Mailboxes: mb, PowerReserve: c.reserve})
		if err != nil {
			t.Fatal(err)
		}
		if err := phone.SetExpress(vid, c.express); err != nil {
			t.Fatal(err)
		}
		r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk, Time: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), Mailboxes: mb}); err != nil {
			t.Fatal(err)
		}
		readers, keys = append(readers, r), append(keys, info)
	}
	if err := phone.EnterPowerReserve(); err != nil {
		t.Fatal(err)
	}
	if err := phone.Close(); err != nil {
		t.Fatal(err)
	}

	// The field powers the secure element; the host is gone.
	se, err := device.NewApplet(&device.Config{Store: m.Reopen(), KEK: kek, Time: func() time.Time {
		t.Error("the transaction path read the host's clock")
		return time.Time{}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !se.PowerReserve() {
		t.Fatal("power reserve was not stored")
	}
	card := transporttest.NewCard(se)
	for _, wantFast := range []bool{false, true} {
		res, err := readers[0].Transact(context.Background(), card, dkey.ActionUnlock)
		if err != nil || res.Fast != wantFast {
			t.Errorf("unlock with the power-reserve key = fast %v, %v; want fast %v", res.Fast, err, wantFast)
		}
	}
	for i, name := range []string{"", "a key not marked for power reserve", "a key that needs user authentication"} {
		if i == 0 {
			continue
		}
		_, err := readers[i].Transact(context.Background(), card, dkey.ActionUnlock)
		if !errors.Is(err, vehicle.ErrRefused) || !errors.Is(err, dkey.SWConditionsNotSatisfied) {
			t.Errorf("%s: %v, want 6985", name, err)
		}
	}
	if _, err := se.CreateKey(device.KeyConfig{VehicleID: keys[0].VehicleID, VehicleKey: vk.PublicKey()}); !errors.Is(err, device.ErrPowerReserve) {
		t.Errorf("CreateKey in power reserve = %v, want ErrPowerReserve", err)
	}
	if err := se.SetExpress(keys[2].VehicleID, true); !errors.Is(err, device.ErrPowerReserve) {
		t.Errorf("SetExpress in power reserve = %v, want ErrPowerReserve", err)
	}
	if err := se.StartPairing([]byte("1234")); !errors.Is(err, device.ErrPowerReserve) {
		t.Errorf("StartPairing in power reserve = %v, want ErrPowerReserve", err)
	}
	// Lost mode still reaches the keys.
	if err := se.SetLostMode(true); err != nil {
		t.Fatal(err)
	}
	if _, err := readers[0].Transact(context.Background(), card, dkey.ActionUnlock); !errors.Is(err, dkey.SWConditionsNotSatisfied) {
		t.Errorf("unlock in lost mode: %v, want 6985", err)
	}
	// The host is back.
	if err := se.SetLostMode(false); err != nil {
		t.Fatal(err)
	}
	if err := se.ExitPowerReserve(); err != nil {
		t.Fatal(err)
	}
	if err := se.SetPowerReserve(keys[1].VehicleID, true); err != nil {
		t.Fatal(err)
	}
	if info, _ := se.Key(keys[1].VehicleID); !info.PowerReserve {
		t.Error("SetPowerReserve did not mark the key")
	}
}
