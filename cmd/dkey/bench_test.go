package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// firstLine returns the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// wantOK checks a successful run: exit status 0 and a first line of
// standard output matching the pattern.
func wantOK(t *testing.T, r result, pattern string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0; stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile("^" + pattern + "$").MatchString(firstLine(r.stdout)) {
		t.Errorf("first line %q, want %q; stderr %q", firstLine(r.stdout), pattern, r.stderr)
	}
}

// bench is a test PKI and the state files of a vehicle, an owner's phone
// and a friend's, in a temporary directory.
type bench struct {
	dir, pki, car, phone, friend string
}

func newBench(t *testing.T) *bench {
	t.Helper()
	dir := t.TempDir()
	b := &bench{dir: dir, pki: filepath.Join(dir, "pki"), car: filepath.Join(dir, "car.db"), phone: filepath.Join(dir, "phone.db"), friend: filepath.Join(dir, "friend.db")}
	if r := dkeyRun(t, nil, "-q", "pki", "init", "-dir", b.pki); r.code != 0 {
		t.Fatalf("pki init: %q", r.stderr)
	}
	return b
}

// pair pairs the bench's vehicle and owner's phone, with the cheapest
// scrypt.
func (b *bench) pair(t *testing.T, extra ...string) result {
	t.Helper()
	args := append([]string{"pair", "-vehicle", b.car, "-device", b.phone, "-pki", b.pki, "-password", "271828", "-scrypt-n", "1024"}, extra...)
	return dkeyRun(t, nil, args...)
}

const slotRE = `[0-9a-f]{16}`

// slotOf returns the key slot in the first line of a run's output.
func slotOf(t *testing.T, r result) string {
	t.Helper()
	s := regexp.MustCompile(slotRE).FindString(firstLine(r.stdout))
	if s == "" {
		t.Fatalf("no key slot in %q", r.stdout)
	}
	return s
}

// TestBenchCommands runs a bench as a user would, each command a run of
// the built program on the same state files: pairing creates the vehicle
// and the phone from the PKI; every transaction is a restart of both, and
// the first unlock after pairing is fast; sharing; the keys commands on
// either side.
func TestBenchCommands(t *testing.T) {
	b := newBench(t)

	r := b.pair(t)
	wantOK(t, r, "paired: owner key "+slotRE+" enrolled in "+regexp.QuoteMeta(b.car)+`, first transaction 0181 \(pairing complete\)`)
	owner := slotOf(t, r)
	for _, want := range []string{
		"dkey: new vehicle \"DKEY-VIN\" in " + b.car + ", from vehicle in " + b.pki,
		"dkey: deriving the pairing verifier from the password (scrypt N=1024, r=8, p=1)",
		`dkey: level=INFO msg="pairing: deriving the keys from the password (scrypt)" side=phone`,
		`dkey: level=INFO msg="pairing done" side=vehicle slot=` + owner,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("pair: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, f := range []string{b.car, b.car + ".kek", b.phone, b.phone + ".kek"} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// A second pairing needs to say what it replaces.
	wantError(t, b.pair(t), 1, "pair with -replace owner or -replace device")

	// Each run restarts the vehicle and the phone from their files.
	keyLog := filepath.Join(b.dir, "keys.log")
	r = dkeyRun(t, nil, "reader", "-state", b.car, "-card", b.phone, "-keylog", keyLog)
	wantOK(t, r, `unlock: OK, fast transaction in .*, owner key `+owner+` \(.*\), protocol 1.0, control flow 0100 \(success\)`)
	if !strings.Contains(r.stderr, "dkey: writing session keys to "+keyLog) {
		t.Errorf("no key log warning:\n%s", r.stderr)
	}
	if b, err := os.ReadFile(keyLog); err != nil || strings.Count(string(b), "FAST_KENC ") != 2 {
		t.Errorf("key log of one fast transaction seen by both sides: %q, %v", b, err)
	}
	wantOK(t, dkeyRun(t, nil, "-q", "reader", "-state", b.car, "-card", b.phone, "-action", "engine-start"), "engine start: OK, standard transaction .*")
	r = dkeyRun(t, nil, "reader", "-q", "-state", b.car, "-card", b.phone, "-action", "lock")
	wantOK(t, r, "lock: OK, fast transaction .*")
	if r.stderr != "" {
		t.Errorf("reader -q wrote %q", r.stderr)
	}

	// Sharing creates the friend's phone; the vehicle enrols the key at its
	// first transaction and enforces its profile.
	r = dkeyRun(t, nil, "share", "-from", b.phone, "-to", b.friend, "-pki", b.pki, "-max-speed", "80", "-days", "2")
	wantOK(t, r, "shared: friend key "+slotRE+" in "+regexp.QuoteMeta(b.friend)+" for vehicle DKEY-VIN, unlock\\|lock, max 80 km/h, until .*")
	friend := slotOf(t, r)
	r = dkeyRun(t, nil, "reader", "-state", b.car, "-card", b.friend)
	wantOK(t, r, "unlock: OK, standard transaction .*, friend key "+friend+` \(unlock\|lock, max 80 km/h\), .*, first friend transaction`)
	if !strings.Contains(r.stderr, `msg=statement side=vehicle kind="key attestation" from=`+friend) {
		t.Errorf("no statement in the log:\n%s", r.stderr)
	}
	r = dkeyRun(t, nil, "reader", "-state", b.car, "-card", b.friend, "-action", "engine-start")
	if firstLine(r.stdout) == "" || !strings.HasPrefix(r.stdout, "engine start: failed after ") {
		t.Errorf("friend engine start: stdout %q", r.stdout)
	}
	wantError(t, r, 1, "transaction failed: dkey: action not allowed by the access profile")
	if !strings.Contains(r.stderr, `level=WARN msg="key refused" side=vehicle action="engine start" slot=`+friend) {
		t.Errorf("no refusal in the log:\n%s", r.stderr)
	}

	// The keys, on the vehicle's side.
	r = dkeyRun(t, nil, "keys", "list", "-state", b.car)
	wantOK(t, r, "vehicle DKEY-VIN in "+regexp.QuoteMeta(b.car)+": 2 keys")
	if !regexp.MustCompile(friend + ` +friend +active +unlock\|lock, max 80 km/h +yes +no +.* ` + owner).MatchString(r.stdout) {
		t.Errorf("keys list:\n%s", r.stdout)
	}
	wantOK(t, dkeyRun(t, nil, "keys", "suspend", "-state", b.car, friend), "vehicle DKEY-VIN: key "+friend+" suspended")
	r = dkeyRun(t, nil, "reader", "-state", b.car, "-card", b.friend)
	wantError(t, r, 1, "key suspended")
	wantOK(t, dkeyRun(t, nil, "keys", "resume", "-state", b.car, friend), "vehicle DKEY-VIN: key "+friend+" resumed")
	wantOK(t, dkeyRun(t, nil, "-q", "reader", "-state", b.car, "-card", b.friend), "unlock: OK, fast transaction .*")
	wantOK(t, dkeyRun(t, nil, "keys", "remove", "-state", b.car, friend), "vehicle DKEY-VIN: key "+friend+` removed for good \(revoked\)`)
	r = dkeyRun(t, nil, "reader", "-state", b.car, "-card", b.friend)
	wantError(t, r, 1, "key terminated")
	if !strings.Contains(r.stdout, "control flow 00A0") {
		t.Errorf("removed key: %q, want CONTROL FLOW 00A0", r.stdout)
	}

	// The keys, on the phones' side: the friend's phone was told that the
	// vehicle deleted its key; the owner suspends, resumes, terminates.
	r = dkeyRun(t, nil, "keys", "list", "-state", b.friend)
	wantOK(t, r, "phone "+regexp.QuoteMeta(b.friend)+": 1 key")
	if !regexp.MustCompile(friend + ` +DKEY-VIN +friend +suspended`).MatchString(r.stdout) {
		t.Errorf("friend's keys:\n%s", r.stdout)
	}
	wantOK(t, dkeyRun(t, nil, "keys", "suspend", "-state", b.phone, owner), "phone "+regexp.QuoteMeta(b.phone)+": key "+owner+" suspended")
	r = dkeyRun(t, nil, "reader", "-state", b.car, "-card", b.phone)
	wantError(t, r, 1, "device refused the transaction")
	if !strings.Contains(r.stderr, `level=WARN msg="transaction refused" side=phone vehicle=DKEY-VIN slot=`+owner) {
		t.Errorf("no refusal of the phone in the log:\n%s", r.stderr)
	}
	wantOK(t, dkeyRun(t, nil, "keys", "resume", "-state", b.phone, owner), "phone .*: key "+owner+" resumed")
	wantOK(t, dkeyRun(t, nil, "-q", "reader", "-state", b.car, "-card", b.phone), "unlock: OK, fast transaction .*")
	wantOK(t, dkeyRun(t, nil, "keys", "remove", "-state", b.phone, owner), "phone .*: key "+owner+` terminated \(deleted for good\)`)
	wantError(t, dkeyRun(t, nil, "keys", "remove", "-state", b.phone, owner), 1, "holds no live key "+owner)
	wantError(t, dkeyRun(t, nil, "keys", "suspend", "-state", b.car, "0102030405060708"), 1, "unknown key")
}

// TestBenchErrors: what a user gets wrong, with the exit status and the
// one line that says so; nothing is left behind by a mistyped file name.
func TestBenchErrors(t *testing.T) {
	b := newBench(t)
	missing := filepath.Join(b.dir, "missing.db")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"reader"}, 2, "reader: -state FILE is required"},
		{[]string{"reader", "-state", b.car, "-action", "open-trunk"}, 2, `-action "open-trunk"`},
		{[]string{"reader", "-state", b.car, "-card", b.phone, "-reader", "x"}, 2, "-card and -reader exclude each other"},
		{[]string{"reader", "-state", b.car, "extra"}, 2, "unexpected arguments"},
		{[]string{"card"}, 2, "card: -state FILE is required"},
		{[]string{"card", "-state", b.phone, "-port", "0"}, 2, "-port 0"},
		{[]string{"card", "-state", b.phone, "-atr", "3b"}, 2, `-atr "3b"`},
		{[]string{"pair", "-vehicle", b.car, "-password", "x"}, 2, "pair with -device FILE or with -reader NAME"},
		{[]string{"pair", "-vehicle", b.car, "-device", b.phone}, 2, "-password is required"},
		{[]string{"pair", "-vehicle", b.car, "-device", b.phone, "-password", "x", "-scrypt-n", "1000"}, 2, "-scrypt-n 1000"},
		{[]string{"pair", "-vehicle", b.car, "-device", b.phone, "-password", "x", "-replace", "all"}, 2, `-replace "all"`},
		{[]string{"pair", "-vehicle", b.car, "-device", b.phone, "-password", "x", "-pki", b.pki, "-vehicle-id", "SHORT"}, 2, `-vehicle-id "SHORT"`},
		{[]string{"share", "-from", b.phone}, 2, "-from FILE and -to FILE are required"},
		{[]string{"share", "-from", b.phone, "-to", b.friend, "-entitlements", "fly"}, 2, `unknown entitlement "fly"`},
		{[]string{"share", "-from", b.phone, "-to", b.friend, "-days", "0"}, 2, "-days 0"},
		{[]string{"keys"}, 2, "keys needs a subcommand: list or suspend or resume or remove"},
		{[]string{"keys", "list"}, 2, "keys list: -state FILE is required"},
		{[]string{"keys", "suspend", "-state", b.car}, 2, "want one key SLOT"},
		{[]string{"keys", "suspend", "-state", b.car, "zz"}, 2, `key slot "zz"`},
		{[]string{"reader", "-state", missing}, 1, "holds no vehicle yet: create it with dkey pair -vehicle " + missing + " -pki DIR"},
		{[]string{"keys", "list", "-state", missing}, 1, "holds no vehicle and no phone"},
		{[]string{"pair", "-vehicle", missing, "-device", b.phone, "-password", "x", "-pki", filepath.Join(b.dir, "nopki")}, 1, "a PKI made by dkey pki init?"},
		{[]string{"pair", "-vehicle", missing, "-device", b.phone, "-password", "x", "-pki", b.pki, "-vehicle-cert", "device-root"}, 1, "device-root in " + b.pki + " is a device-root, not a vehicle"},
	} {
		wantError(t, dkeyRun(t, nil, tt.args...), tt.code, tt.want)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a run on a mistyped state file left it behind")
	}
	if _, err := os.Stat(missing + ".kek"); err == nil {
		t.Error("a run on a mistyped state file left its key file behind")
	}
	// A key file given with -kek is the user's: it stays.
	shared := filepath.Join(b.dir, "shared.kek")
	os.WriteFile(shared, make([]byte, 32), 0o600)
	wantError(t, dkeyRun(t, nil, "reader", "-state", missing, "-kek", shared), 1, "holds no vehicle yet")
	if _, err := os.Stat(shared); err != nil {
		t.Errorf("a run on a mistyped state file removed the key file given: %v", err)
	}

	// The role of a state file is checked, and its key file required.
	if r := b.pair(t); r.code != 0 {
		t.Fatalf("pair: %q", r.stderr)
	}
	wantError(t, dkeyRun(t, nil, "reader", "-state", b.phone), 1, "holds a device, not a vehicle")
	wantError(t, dkeyRun(t, nil, "share", "-from", b.car, "-to", b.friend, "-pki", b.pki), 1, "holds a vehicle, not a device")
	wantError(t, dkeyRun(t, nil, "share", "-from", b.friend, "-to", b.phone), 1, "holds no device yet")
	os.Rename(b.car+".kek", b.car+".kek.moved")
	wantError(t, dkeyRun(t, nil, "keys", "list", "-state", b.car), 1, "its key-encryption key file does not")
	wantOK(t, dkeyRun(t, nil, "keys", "list", "-state", b.car, "-kek", b.car+".kek.moved"), "vehicle DKEY-VIN .*: 1 key")
	// The key of the record is checked against the vehicle certificate.
	other := "softkms:path=" + filepath.Join(b.pki, "vehicle-root.key")
	wantError(t, dkeyRun(t, nil, "keys", "list", "-state", b.car, "-kek", b.car+".kek.moved", "-key", other), 1, "is not the key of the vehicle certificate")
}

// TestBenchHelp: -h of every new command prints its usage and exits 0.
func TestBenchHelp(t *testing.T) {
	for _, args := range [][]string{
		{"reader", "-h"}, {"card", "-h"}, {"pair", "-h"}, {"share", "-h"}, {"keys", "-h"},
		{"keys", "list", "-h"}, {"keys", "suspend", "-h"}, {"keys", "resume", "-h"}, {"keys", "remove", "-h"},
	} {
		r := dkeyRun(t, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage:") || r.stderr != "" {
			t.Errorf("dkey %q: exit %d, stdout %q, stderr %q; want 0 and the usage", args, r.code, r.stdout, r.stderr)
		}
	}
	r := dkeyRun(t, nil, "reader", "-h")
	for _, flag := range []string{"-state", "-kek", "-key", "-reader", "-card", "-card-kek", "-action", "-once", "-timeout", "-keylog", "-q", "-v"} {
		if !regexp.MustCompile(`\n  ` + flag + `[ \t\n]`).MatchString(r.stdout) {
			t.Errorf("dkey reader -h does not list %s:\n%s", flag, r.stdout)
		}
	}
}
