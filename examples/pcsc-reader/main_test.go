package main

// These tests need no pcscd. The example's loop runs against the real
// middleware, with the virtual card of cmd/vcard, in
// transport/pcsc/programs_integration_test.go: the tests that use pcscd's
// virtual readers all live in that one package, so that `go test ./...`
// never runs two of them at once.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/statefile"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// demoDeviceKeyLabel is the label of the demo device key, whose private half
// only cmd/vcard holds: SHA-256 of the label is the scalar.
const demoDeviceKeyLabel = "opencarkey demo device key: TEST ONLY, PUBLIC"

// demoPhone returns an applet with the demo key for vehicle, built from the
// label rather than from the example's copy of the public key, and
// imported as cmd/vcard does.
func demoPhone(t *testing.T, vehicleKey *dkey.PublicKey) *device.Applet {
	t.Helper()
	a, err := device.NewApplet(nil)
	if err != nil {
		t.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("DEMO-VIN"))
	slot, _ := dkey.NewKeySlot([]byte("DEMOKEY1"))
	s := sha256.Sum256([]byte(demoDeviceKeyLabel))
	if _, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: vehicleKey, Slot: slot, Mailboxes: demoMailboxes, PrivateKey: s[:]}); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDemoVehicle(t *testing.T) {
	v, err := newDemoVehicle("", "")
	if err != nil {
		t.Fatalf("newDemoVehicle() = %v", err)
	}
	// The example's copy of the device public key is the key of the device
	// label, which cmd/vcard turns into its private key.
	s := sha256.Sum256([]byte(demoDeviceKeyLabel))
	dk, err := dkey.NewSoftwareKey(s[:])
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(dk.PublicKey().Bytes()); got != demoDevicePublicKey {
		t.Errorf("public key of SHA-256(%q) = %s, want demoDevicePublicKey %s", demoDeviceKeyLabel, got, demoDevicePublicKey)
	}
	vs := sha256.Sum256([]byte(demoVehicleKeyLabel))
	vk, _ := dkey.NewSoftwareKey(vs[:])
	if !v.PublicKey().Equal(vk.PublicKey()) {
		t.Errorf("demo vehicle key = %x, want the key of SHA-256(%q)", v.PublicKey().Bytes(), demoVehicleKeyLabel)
	}
	if got := string(v.ID().Bytes()); got != "DEMO-VIN" {
		t.Errorf("demo vehicle ID = %q, want %q", got, "DEMO-VIN")
	}
	keys := v.Keys()
	if len(keys) != 1 || !keys[0].PublicKey.Equal(dk.PublicKey()) || string(keys[0].Slot.Bytes()) != "DEMOKEY1" || keys[0].Role != dkey.RoleOwner {
		t.Errorf("demo vehicle keys = %+v, want the demo key as owner key DEMOKEY1", keys)
	}
}

// TestUnlockInMemory runs the example's transaction and report against the
// demo key in memory: the first tap standard, the next ones fast.
func TestUnlockInMemory(t *testing.T) {
	v, err := newDemoVehicle("", "")
	if err != nil {
		t.Fatal(err)
	}
	phone := demoPhone(t, v.PublicKey())
	nfc := transporttest.NewCard(transport.NewChainingCard(phone))
	slot, _ := dkey.NewKeySlot([]byte("DEMOKEY1"))
	for i, wantKind := range []string{"standard", "fast", "fast"} {
		res, err := unlock(t.Context(), v, nfc)
		if err != nil {
			t.Fatalf("tap %d: unlock() = %v", i, err)
		}
		if res.Slot != slot || res.Fast != (wantKind == "fast") {
			t.Errorf("tap %d: unlock() = slot %v, fast %v; want slot %v, %s", i, res.Slot, res.Fast, slot, wantKind)
		}
		var out bytes.Buffer
		report(&out, &res, 1234567*time.Nanosecond)
		want := "unlock: OK, " + wantKind + " transaction in 1ms, owner key " + slot.String() + ", protocol 1.0, control flow 0100"
		if got := out.String(); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
			t.Errorf("tap %d: report() = %q, want one line starting %q", i, got, want)
		}
	}
	if info, _ := phone.Key(v.ID()); info.Transactions != 3 {
		t.Errorf("phone counted %d transactions, want 3", info.Transactions)
	}
}

// TestUnlockAcrossRestarts: with a state file the vehicle remembers the
// phone: its first tap after a restart is fast, and the key is not
// enrolled twice.
func TestUnlockAcrossRestarts(t *testing.T) {
	state := filepath.Join(t.TempDir(), "vehicle.db")
	var phone *device.Applet
	for run, wantFast := range []bool{false, true, true} {
		v, err := newDemoVehicle(state, "")
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if phone == nil {
			phone = demoPhone(t, v.PublicKey())
		}
		if n := len(v.Keys()); n != 1 {
			t.Errorf("run %d: %d keys enrolled, want 1", run, n)
		}
		res, err := unlock(t.Context(), v, transporttest.NewCard(phone))
		if err != nil || res.Fast != wantFast {
			t.Errorf("run %d: unlock = fast %v, %v; want fast %v", run, res.Fast, err, wantFast)
		}
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(t.TempDir(), "other.kek")
	if _, err := newDemoVehicle(state, other); !errors.Is(err, statefile.ErrNoKEK) {
		t.Errorf("the state with a missing key-encryption key file = %v, want %v", err, statefile.ErrNoKEK)
	}
	if err := os.WriteFile(other, bytes.Repeat([]byte{7}, statefile.KEKSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newDemoVehicle(state, other); !errors.Is(err, vehicle.ErrStateKEK) {
		t.Errorf("the state with another key-encryption key = %v, want %v", err, vehicle.ErrStateKEK)
	}
}

func TestReportFailure(t *testing.T) {
	v, err := newDemoVehicle("", "")
	if err != nil {
		t.Fatal(err)
	}
	// A phone without the demo key refuses AUTH0.
	other, err := device.NewApplet(nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := unlock(t.Context(), v, transporttest.NewCard(other))
	if !errors.Is(err, vehicle.ErrRefused) {
		t.Fatalf("unlock(phone without key) = %v, want %v", err, vehicle.ErrRefused)
	}
	var out bytes.Buffer
	report(&out, &res, 2*time.Millisecond)
	re := regexp.MustCompile(`^unlock: failed after 2ms: vehicle: device refused the transaction: .* \(control flow 0000.*\)\n$`)
	if got := out.String(); !re.MatchString(got) {
		t.Errorf("report() = %q, want a match of %s", got, re)
	}
}

func TestRunErrors(t *testing.T) {
	// No pcscd: the socket does not exist.
	t.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(t.TempDir(), "pcscd.comm"))
	tests := []struct {
		name string
		args []string
		want string
		is   error
	}{
		{name: "no pcscd", args: []string{"-once"}, want: "is pcscd running?", is: transport.ErrNoReader},
		{name: "bad flag", args: []string{"-nope"}, want: "flag provided but not defined"},
		{name: "extra argument", args: []string{"extra"}, want: "unexpected arguments"},
		{name: "negative timeout", args: []string{"-timeout", "-1s"}, want: "invalid -timeout"},
		{name: "kek without state", args: []string{"-kek", "x.kek"}, want: "-kek needs -state"},
		{name: "state in a missing directory", args: []string{"-state", "/nonexistent/dir/x.db"}, want: "key-encryption key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := run(ctx, tt.args, &stdout, &stderr)
			// Flag errors are said on stderr by the flag set, the rest in err.
			if err == nil || !strings.Contains(err.Error()+"\n"+stderr.String(), tt.want) {
				t.Errorf("run(%q) = %v (stderr %q), want an error containing %q", tt.args, err, stderr.String(), tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("run(%q) = %v, want %v", tt.args, err, tt.is)
			}
		})
	}
}
