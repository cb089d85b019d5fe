//go:build pkcs11 && cgo

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/internal/softhsmtest"
)

// TestPKIInHSM runs dkey pki init with the CA keys in the HSM, checks that
// pki.json keeps no PIN, and issues another vehicle and instance CA with
// the HSM-held CA keys given again by -issuer-key.
func TestPKIInHSM(t *testing.T) {
	key := softhsmtest.KeyURIs(t, "./cmd/dkey")
	pin := softhsmtest.PIN()
	dir := filepath.Join(t.TempDir(), "pki")
	deviceRoot, instanceCA, vehicleRoot := key("device-root"), key("instance-ca"), key("vehicle-root")
	r := dkeyRun(t, nil, "pki", "init", "-dir", dir, "-device-root-key", deviceRoot, "-instance-ca-key", instanceCA, "-vehicle-root-key", vehicleRoot)
	if r.code != 0 {
		t.Fatalf("pki init with HSM keys: exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, pin) {
		t.Errorf("the progress lines show the PIN: %q", r.stderr)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "pki.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(manifest), pin) || !strings.Contains(string(manifest), "pin-value=redacted") {
		t.Errorf("pki.json keeps the PIN, or not the HSM URIs:\n%s", manifest)
	}
	// The CA keys are in the HSM: no key file for them.
	for _, name := range []string{"device-root", "instance-ca", "vehicle-root"} {
		if _, err := os.Stat(filepath.Join(dir, name+".key")); err == nil {
			t.Errorf("%s.key written for a key in the HSM", name)
		}
	}
	verifyPKI(t, dir, "instance-ca", instanceCA, "vehicle")

	// Without the PIN, issuing with an HSM-held CA key says what to do.
	wantError(t, dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "car2"), 2, "give its URI with -issuer-key")
	r = dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "car2", "-issuer-key", vehicleRoot, "-key", key("car2"))
	if r.code != 0 {
		t.Fatalf("pki issue with an HSM-held issuer: exit %d, stderr %q", r.code, r.stderr)
	}
	phone2 := key("phone2")
	r = dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "instance-ca", "-name", "phone2", "-issuer-key", deviceRoot, "-key", phone2)
	if r.code != 0 {
		t.Fatalf("pki issue instance-ca in the HSM: exit %d, stderr %q", r.code, r.stderr)
	}
	verifyPKI(t, dir, "phone2", phone2, "vehicle", "car2")
	// The issuer key must be the one of the issuer's certificate.
	wantError(t, dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "x", "-issuer-key", deviceRoot), 1, "is not the key of vehicle-root.crt")
}

// TestBenchInHSM: a vehicle whose key, and a phone whose instance CA key,
// live in the HSM. The state files keep their URIs without the PIN: the
// commands that need the key are told it again with -key and
// -instance-ca-key, and say so when they are not.
func TestBenchInHSM(t *testing.T) {
	key := softhsmtest.KeyURIs(t, "./cmd/dkey")
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	vehicleKey, caKey := key("vehicle"), key("instance-ca")
	if r := dkeyRun(t, nil, "-q", "pki", "init", "-dir", pki, "-vehicle-key", vehicleKey, "-instance-ca-key", caKey); r.code != 0 {
		t.Fatalf("pki init: %q", r.stderr)
	}
	car, phone := filepath.Join(dir, "car.db"), filepath.Join(dir, "phone.db")
	pair := []string{"pair", "-vehicle", car, "-device", phone, "-pki", pki, "-password", "271828", "-scrypt-n", "1024"}
	wantError(t, dkeyRun(t, nil, pair...), 2, "the vehicle key's PIN is not kept: give its URI with -key")
	r := dkeyRun(t, nil, append(pair, "-key", vehicleKey, "-instance-ca-key", caKey)...)
	wantOK(t, r, "paired: owner key "+slotRE+" enrolled in .*")
	if strings.Contains(r.stderr, softhsmtest.PIN()) {
		t.Errorf("the output shows the PIN: %q", r.stderr)
	}
	wantError(t, dkeyRun(t, nil, "reader", "-state", car, "-card", phone), 2, "give its URI with -key")
	wantOK(t, dkeyRun(t, nil, "reader", "-state", car, "-card", phone, "-key", vehicleKey, "-action", "engine-start"),
		"engine start: OK, standard transaction .*")
	wantOK(t, dkeyRun(t, nil, "keys", "list", "-state", car, "-key", vehicleKey), "vehicle DKEY-VIN in .*: 1 key")
	// The phone's keys need no instance CA; sharing from it does.
	wantOK(t, dkeyRun(t, nil, "keys", "list", "-state", phone), "phone .*: 1 key")
	wantError(t, dkeyRun(t, nil, "share", "-from", phone, "-to", filepath.Join(dir, "friend.db"), "-pki", pki), 2, "give its URI with -from-instance-ca-key")
}
