package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyuri"
)

// The dkey program, built once, on the first run of a test that needs it
// (not in the fuzzing workers, which run no such test), with PKCS#11
// support when this test is (-tags pkcs11 with cgo).
var (
	buildOnce sync.Once
	binDir    string
	binary    string
	buildErr  error
)

// dkeyBinary returns the path of the built program.
func dkeyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "dkey-test"); buildErr != nil {
			return
		}
		binary = filepath.Join(binDir, "dkey")
		args := []string{"build", "-o", binary}
		if keyuri.PKCS11 {
			args = append(args, "-tags", "pkcs11")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building dkey: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// result is what a run of the binary gave.
type result struct {
	code           int
	stdout, stderr string
}

// dkeyRun runs the built binary with args (and stdin, if not nil) as a user
// would.
func dkeyRun(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dkeyBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("dkey %q: %v", args, err)
	}
	return r
}

// wantError checks a failed run: the exit status and one line on standard
// error that says what went wrong.
func wantError(t *testing.T, r result, code int, text string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "dkey: ") || !strings.Contains(last, text) || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr %q, want a last line \"dkey: ...%s...\"", r.stderr, text)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "dkey: ") {
			t.Errorf("stderr line %q is neither progress nor the error", l)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"-help"}, {"trace", "-h"}, {"pki", "-h"}, {"trace", "decode", "-h"},
		{"pki", "init", "-h"}, {"pki", "issue", "--help"}, {"-q", "pki", "init", "-h"},
	} {
		r := dkeyRun(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "usage:") || r.stderr != "" {
			t.Errorf("dkey %q: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", args, r.code, r.stdout, r.stderr)
		}
	}
	r := dkeyRun(t, nil, "pki", "issue", "-h")
	for _, flag := range []string{"-kind", "-name", "-issuer-key", "-key", "-dir", "-days", "-start", "-q"} {
		if !strings.Contains(r.stdout, "  "+flag) {
			t.Errorf("dkey pki issue -h does not list %s:\n%s", flag, r.stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"-x"}, "flag provided but not defined: -x"},
		{[]string{"trace"}, "trace needs a subcommand: decode"},
		{[]string{"trace", "encode"}, `unknown command "trace encode"`},
		{[]string{"trace", "decode"}, "want one TRACE file"},
		{[]string{"trace", "decode", "a", "b"}, "want one TRACE file"},
		{[]string{"trace", "decode", "-keylog"}, "flag needs an argument: -keylog"},
		{[]string{"pki"}, "pki needs a subcommand: init or issue"},
		{[]string{"pki", "init", "extra"}, "unexpected arguments"},
		{[]string{"pki", "init", "-days", "0", "-dir", t.TempDir()}, "-days 0"},
		{[]string{"pki", "init", "-start", "yesterday", "-dir", t.TempDir()}, `-start "yesterday"`},
		{[]string{"pki", "issue", "-kind", "endpoint", "-name", "x"}, `-kind "endpoint"`},
		{[]string{"pki", "issue", "-kind", "vehicle", "-name", "../x"}, `-name "../x"`},
	} {
		wantError(t, dkeyRun(t, nil, tt.args...), 2, tt.want)
	}
}

// goldens are the repository's golden transcripts, their key logs and the
// golden decodings that package apdutrace keeps.
var goldens = []struct {
	trace, keyLog, name string
	json                bool
}{
	{"../../vehicle/testdata/CCC.transcript", "../../vehicle/testdata/CCC.keylog", "CCC", true},
	{"../../vehicle/testdata/HomeKey.transcript", "../../vehicle/testdata/HomeKey.keylog", "HomeKey", false},
	{"../../pairing/testdata/pairing-own-share.txt", "../../pairing/testdata/pairing-own-share.keylog", "pairing-own-share", true},
	{"../../pairing/testdata/pairing-peer-share.txt", "../../pairing/testdata/pairing-peer-share.keylog", "pairing-peer-share", false},
	{"../../pairing/testdata/pairing-intermediates.txt", "../../pairing/testdata/pairing-intermediates.keylog", "pairing-intermediates", false},
	{"../../transport/transporttest/testdata/select.transcript", "", "select", false},
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "apdutrace", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTraceDecode runs dkey trace decode on every golden transcript of the
// repository, with and without its key log, in text and JSON, and compares
// the output with the golden decodings of package apdutrace.
func TestTraceDecode(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			r := dkeyRun(t, nil, "trace", "decode", g.trace)
			if r.code != 0 || r.stdout != golden(t, g.name+".txt") {
				t.Errorf("dkey trace decode %s: exit %d, stderr %q, output differs from the golden decoding:\n%s", g.trace, r.code, r.stderr, r.stdout)
			}
			if !strings.Contains(r.stderr, "dkey: decoding ") || !strings.Contains(r.stderr, " 0 verified and decrypted") {
				t.Errorf("progress lines %q", r.stderr)
			}
			if g.keyLog == "" {
				return
			}
			r = dkeyRun(t, nil, "trace", "decode", "-keylog", g.keyLog, g.trace)
			if r.code != 0 || r.stdout != golden(t, g.name+".keylog.txt") {
				t.Errorf("dkey trace decode -keylog: exit %d, stderr %q, output differs from the golden decoding:\n%s", r.code, r.stderr, r.stdout)
			}
			if !strings.Contains(r.stderr, "key log "+g.keyLog) || strings.Contains(r.stderr, " 0 verified") {
				t.Errorf("progress lines %q", r.stderr)
			}
			if g.json {
				r = dkeyRun(t, nil, "-q", "trace", "decode", "-json", "-keylog", g.keyLog, g.trace)
				if r.code != 0 || r.stderr != "" || r.stdout != golden(t, g.name+".keylog.json") {
					t.Errorf("dkey -q trace decode -json: exit %d, stderr %q, output differs from the golden decoding", r.code, r.stderr)
				}
			}
		})
	}
	// Standard input, quiet.
	trace, err := os.ReadFile(goldens[0].trace)
	if err != nil {
		t.Fatal(err)
	}
	r := dkeyRun(t, trace, "trace", "decode", "-q", "-")
	if r.code != 0 || r.stderr != "" || r.stdout != golden(t, "CCC.txt") {
		t.Errorf("dkey trace decode -q -: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestTraceDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.trace")
	os.WriteFile(bad, []byte("> 00A40400\n> 00A40400\n< 9000\n"), 0o644)
	badLog := filepath.Join(dir, "bad.keylog")
	os.WriteFile(badLog, []byte("TRANSACTION_KENC 00 00\n"), 0o644)
	wantError(t, dkeyRun(t, nil, "trace", "decode", bad), 1, "bad.trace: apdutrace: invalid trace: line 2: command without a response")
	wantError(t, dkeyRun(t, nil, "trace", "decode", "-keylog", badLog, goldens[0].trace), 1, "bad.keylog: apdutrace: key log: keylog: invalid key log: line 1")
	wantError(t, dkeyRun(t, nil, "trace", "decode", filepath.Join(dir, "missing")), 1, "no such file")
	wantError(t, dkeyRun(t, nil, "trace", "decode", "-keylog", filepath.Join(dir, "missing"), goldens[0].trace), 1, "no such file")
}

// loadPKI reads pki.json and the certificates it lists, by name.
func loadPKI(t *testing.T, dir string) (map[string]certRecord, map[string]*x509.Certificate) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pki.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Version != 1 {
		t.Fatalf("pki.json: %v, version %d", err, m.Version)
	}
	recs, certs := map[string]certRecord{}, map[string]*x509.Certificate{}
	for _, r := range m.Certificates {
		recs[r.Name] = r
		pb, err := os.ReadFile(filepath.Join(dir, r.File))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(pb)
		if block == nil {
			t.Fatalf("%s is not PEM", r.File)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs[r.Name] = c
	}
	return recs, certs
}

// verifyPKI checks the chains of a PKI as pairing does: a vehicle chain up
// to the Vehicle OEM root for each of vehicles, and an endpoint
// certificate, issued here with the key of the instance CA named instance,
// up to the Device OEM root. instanceKey, when not empty, is that key's URI
// (a PIN is not kept in pki.json).
func verifyPKI(t *testing.T, dir, instance, instanceKey string, vehicles ...string) {
	t.Helper()
	recs, certs := loadPKI(t, dir)
	now := func() time.Time { return time.Now().Add(time.Hour) }
	vp, dp := x509.NewCertPool(), x509.NewCertPool()
	vp.AddCert(certs["vehicle-root"])
	dp.AddCert(certs["device-root"])
	for _, v := range vehicles {
		if _, err := (&cert.Config{VehicleRoots: vp, Time: now}).VerifyVehicle([][]byte{certs[v].Raw}); err != nil {
			t.Fatalf("%s chain: %v", v, err)
		}
		if recs[v].Key == "" || recs[v].Issuer != "vehicle-root" {
			t.Errorf("%s record %+v", v, recs[v])
		}
	}
	uri := instanceKey
	if uri == "" {
		uri = recs[instance].Key
	}
	k, err := keyuri.Open(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	epk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	slot, _ := dkey.NewKeySlot([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	vk, _ := dkey.GenerateSoftwareKey()
	ica := certs[instance]
	ep, err := cert.NewEndpoint(cert.Template{Subject: pkix.Name{CommonName: "Endpoint"}, NotBefore: ica.NotBefore, NotAfter: ica.NotAfter},
		&cert.EndpointExtension{Version: 1, VehicleID: vid, ProtocolVersion: dkey.Version1, VehiclePublicKey: vk.PublicKey(), InitialKeySlot: slot,
			ConfidentialMailboxSize: 64, PrivateMailboxSize: 512}, epk.PublicKey(), ica, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&cert.Config{DeviceRoots: dp, Time: now}).VerifyEndpoint([][]byte{ep.Raw, ica.Raw}, vid, vk.PublicKey()); err != nil {
		t.Fatalf("endpoint chain through %s: %v", instance, err)
	}
}

// TestPKI runs dkey pki init and dkey pki issue and checks what they wrote.
func TestPKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	r := dkeyRun(t, nil, "pki", "init", "-dir", dir, "-start", "2026-01-01", "-days", "20000")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("pki init: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"created the device-root key", "issued " + filepath.Join(dir, "vehicle.crt") + ": CN=Vehicle, issuer CN=Vehicle OEM Root", "test PKI written to " + dir} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("progress lines lack %q:\n%s", want, r.stderr)
		}
	}
	for _, name := range []string{"device-root", "instance-ca", "vehicle-root", "vehicle"} {
		fi, err := os.Stat(filepath.Join(dir, name+".key"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s.key: %v, mode %v", name, err, fi.Mode())
		}
	}
	_, certs := loadPKI(t, dir)
	if got := certs["vehicle"].NotBefore; !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("-start: NotBefore %v", got)
	}
	verifyPKI(t, dir, "instance-ca", "", "vehicle")

	wantError(t, dkeyRun(t, nil, "pki", "init", "-dir", dir), 1, "already holds a PKI")

	r = dkeyRun(t, nil, "-q", "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "car2")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("pki issue vehicle: exit %d, stderr %q", r.code, r.stderr)
	}
	r = dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "instance-ca", "-name", "phone2")
	if r.code != 0 || !strings.Contains(r.stderr, "CN=Instance CA phone2, issuer CN=Device OEM Root") {
		t.Fatalf("pki issue instance-ca: exit %d, stderr %q", r.code, r.stderr)
	}
	verifyPKI(t, dir, "phone2", "", "vehicle", "car2")

	// A key given by URI that already exists is used as it is.
	existing := "softkms:path=" + filepath.Join(dir, "car2.key")
	r = dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "car2-again", "-key", existing)
	if r.code != 0 || !strings.Contains(r.stderr, "using the existing car2-again key") {
		t.Errorf("pki issue with an existing key: exit %d, stderr %q", r.code, r.stderr)
	}

	wantError(t, dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "car2"), 1, `already has a certificate named "car2"`)
	wantError(t, dkeyRun(t, nil, "pki", "issue", "-dir", t.TempDir(), "-kind", "vehicle", "-name", "x"), 1, "a PKI made by dkey pki init?")
	wrong := "softkms:path=" + filepath.Join(dir, "vehicle.key")
	wantError(t, dkeyRun(t, nil, "pki", "issue", "-dir", dir, "-kind", "vehicle", "-name", "x", "-issuer-key", wrong), 1, "is not the key of vehicle-root.crt")
	wantError(t, dkeyRun(t, nil, "pki", "init", "-dir", t.TempDir(), "-vehicle-key", "awskms:key-id=1"), 1, "unsupported key URI scheme")
}
