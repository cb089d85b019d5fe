package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// demoVehicleKeyLabel is the label of the demo vehicle key, whose private
// half only examples/pcsc-reader holds: SHA-256 of the label is the scalar.
const demoVehicleKeyLabel = "opencarkey demo vehicle key: TEST ONLY, PUBLIC"

// demoVehicle returns the demo vehicle as examples/pcsc-reader builds it,
// from the label rather than from vcard's copy of its public key, with the
// key of applet enrolled.
func demoVehicle(t *testing.T, devicePub *dkey.PublicKey, slot dkey.KeySlot, token []byte) *vehicle.Reader {
	t.Helper()
	scalar := sha256.Sum256([]byte(demoVehicleKeyLabel))
	vk, err := dkey.NewSoftwareKey(scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	vid, err := dkey.NewVehicleID([]byte("DEMO-VIN"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Enroll(vehicle.Enrollment{
		PublicKey: devicePub, Slot: slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: token, Mailboxes: demoMailboxes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDemoKey(t *testing.T) {
	// vcard's copy of the vehicle public key is the key of the vehicle
	// label, which examples/pcsc-reader turns into its private key.
	scalar := sha256.Sum256([]byte(demoVehicleKeyLabel))
	vk, err := dkey.NewSoftwareKey(scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(vk.PublicKey().Bytes()); got != demoVehiclePublicKey {
		t.Errorf("public key of SHA-256(%q) = %s, want demoVehiclePublicKey %s", demoVehicleKeyLabel, got, demoVehiclePublicKey)
	}

	a, err := newDemoApplet("", "")
	if err != nil {
		t.Fatalf("newDemoApplet() = %v", err)
	}
	keys := a.Keys()
	if len(keys) != 1 {
		t.Fatalf("demo applet has %d keys, want 1", len(keys))
	}
	k := keys[0]
	ds := sha256.Sum256([]byte(demoDeviceKeyLabel))
	dk, err := dkey.NewSoftwareKey(ds[:])
	if err != nil {
		t.Fatal(err)
	}
	if !k.PublicKey.Equal(dk.PublicKey()) {
		t.Errorf("demo key = %x, want the key of SHA-256(%q) %x", k.PublicKey.Bytes(), demoDeviceKeyLabel, dk.PublicKey().Bytes())
	}
	if got := string(k.VehicleID.Bytes()); got != "DEMO-VIN" {
		t.Errorf("demo key vehicle = %q, want %q", got, "DEMO-VIN")
	}
	if got := string(k.Slot.Bytes()); got != "DEMOKEY1" {
		t.Errorf("demo key slot = %q, want %q", got, "DEMOKEY1")
	}
	if k.Role != dkey.RoleOwner || k.State != dkey.KeyActive || !k.Express {
		t.Errorf("demo key = %+v, want an active owner key in express mode", k)
	}
	if !bytes.Equal(demoPrivateKey(), ds[:]) {
		t.Errorf("demoPrivateKey() = %x, want SHA-256(%q)", demoPrivateKey(), demoDeviceKeyLabel)
	}
}

// TestAppletState: with a state file the applet is the same phone from one
// run to the next: the demo key is not created again, and the tap after a
// restart is fast. A wrong key-encryption key opens nothing.
func TestAppletState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "phone.db")
	slot, _ := dkey.NewKeySlot([]byte("DEMOKEY1"))
	ds := sha256.Sum256([]byte(demoDeviceKeyLabel))
	dk, _ := dkey.NewSoftwareKey(ds[:])
	r := demoVehicle(t, dk.PublicKey(), slot, []byte("demo-immobilizer"))
	for run, wantFast := range []bool{false, true, true} {
		card, closeCard, err := cards["applet"](state, "")
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		res, err := r.Transact(context.Background(), transporttest.NewCard(card), dkey.ActionUnlock)
		if err != nil || res.Fast != wantFast {
			t.Errorf("run %d: unlock = fast %v, %v; want fast %v", run, res.Fast, err, wantFast)
		}
		if err := closeCard(); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(state + ".kek"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key-encryption key file: %v, %v; want mode 0600", fi, err)
	}
	other := filepath.Join(dir, "other.kek")
	if err := os.WriteFile(other, bytes.Repeat([]byte{1}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cards["applet"](state, other); !errors.Is(err, device.ErrStateKEK) {
		t.Errorf("the state with another key-encryption key = %v, want %v", err, device.ErrStateKEK)
	}
	if err := os.WriteFile(other, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cards["applet"](state, other); err == nil {
		t.Error("a 5-byte key-encryption key was accepted")
	}
}

// TestAppletCard runs the demo vehicle's transactions against the card that
// -card applet serves, in memory: a standard unlock, a fast one, engine start
// (the token from the AUTH1 response).
func TestAppletCard(t *testing.T) {
	card, _, err := cards["applet"]("", "")
	if err != nil {
		t.Fatalf(`cards["applet"]() = %v`, err)
	}
	if _, ok := card.(transport.Resetter); !ok {
		t.Errorf("applet card %T is not a transport.Resetter", card)
	}
	slot, _ := dkey.NewKeySlot([]byte("DEMOKEY1"))
	ds := sha256.Sum256([]byte(demoDeviceKeyLabel))
	dk, _ := dkey.NewSoftwareKey(ds[:])
	r := demoVehicle(t, dk.PublicKey(), slot, []byte("demo-immobilizer"))
	nfc := transporttest.NewCard(card)
	for i, tt := range []struct {
		action dkey.Action
		fast   bool
	}{
		{dkey.ActionUnlock, false},
		{dkey.ActionUnlock, true},
		{dkey.ActionEngineStart, false},
		{dkey.ActionLock, true},
	} {
		res, err := r.Transact(context.Background(), nfc, tt.action)
		if err != nil {
			t.Fatalf("transaction %d: Transact(%v) = %v", i, tt.action, err)
		}
		if res.Fast != tt.fast || res.Slot != slot || res.Role != dkey.RoleOwner {
			t.Errorf("transaction %d: Transact(%v) = fast %v, slot %v, role %v; want fast %v, slot %v, owner", i, tt.action, res.Fast, res.Slot, res.Role, tt.fast, slot)
		}
	}

	// A vehicle with another identity finds no key (6A82 to AUTH0).
	vk, _ := dkey.GenerateSoftwareKey()
	other, _ := dkey.NewVehicleID([]byte("OTHERVIN"))
	r2, err := vehicle.NewReader(&vehicle.Config{VehicleID: other, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Transact(context.Background(), nfc, dkey.ActionUnlock); !errors.Is(err, vehicle.ErrRefused) || !errors.Is(err, dkey.SWFileNotFound) {
		t.Errorf("Transact(other vehicle) = %v, want %v (%v)", err, vehicle.ErrRefused, dkey.SWFileNotFound)
	}
}

func TestRunApplet(t *testing.T) {
	state := filepath.Join(t.TempDir(), "phone.db")
	exchange, stop, _ := fakeVPCD(t, "-card", "applet", "-state", state)
	got := exchange(selectAPDU([]byte(dkey.AIDDigitalKey)))
	if len(got) < 2 || !bytes.Equal(got[len(got)-2:], []byte{0x90, 0x00}) {
		t.Errorf("SELECT = %X, want a response ending 9000", got)
	}
	out := stop()
	for _, want := range []string{`card "applet" inserted`, "demo key (TEST ONLY", `vehicle "DEMO-VIN"`, "state is in " + state} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}
