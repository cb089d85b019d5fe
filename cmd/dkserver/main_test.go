package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/keyservice/pgstore/pgtest"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/vehicle"
)

// binary is the dkserver built for the tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dkserver-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dkserver")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building dkserver: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exitOf runs the binary to its end and returns its status and output.
func exitOf(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := exitOf(t, arg)
		if code != 0 || !strings.HasPrefix(stdout, "Usage: dkserver") || !strings.Contains(stdout, "-postgres URL") || stderr != "" {
			t.Errorf("dkserver %s = %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
}

// TestBadFlags: each mistake exits 2 with one clear line.
func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{nil, "give one of -data DIR and -postgres URL"},
		{[]string{"-data", dir, "-postgres", "postgres://x"}, "give one of -data DIR and -postgres URL"},
		{[]string{"-postgres", "postgres://x"}, "-postgres needs -tls-cert, -tls-key and -tracking-key"},
		{[]string{"-data", dir, "-tls-cert", "c.pem"}, "give both -tls-cert and -tls-key"},
		{[]string{"-data", dir, "-log-level", "loud"}, `-log-level "loud"`},
		{[]string{"-data", dir, "-log-format", "xml"}, `-log-format "xml"`},
		{[]string{"-data", dir, "-max-wait", "1ms"}, "-max-wait must be between"},
		{[]string{"-data", dir, "-max-wait", "soon"}, `invalid value "soon" for flag -max-wait`},
		{[]string{"-data", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"-data", dir, "-postgres-max-conns", "-1"}, "-postgres-max-conns must be between"},
	} {
		code, stdout, stderr := exitOf(t, tt.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 2 || stdout != "" || len(lines) != 1 || !strings.HasPrefix(stderr, "dkserver: ") || !strings.Contains(stderr, tt.want) {
			t.Errorf("dkserver %q = %d, stdout %q, stderr %q; want 2 and one line with %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

// process is a running dkserver.
type process struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// start runs dkserver with args and waits until it listens.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(binary, append([]string{"-listen", "127.0.0.1:0", "-poll", "200ms"}, args...)...), done: make(chan error, 1)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		t.Fatalf("dkserver exited before listening: %v\n%s", err, p.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("dkserver did not listen within 60 s:\n%s", p.output())
	}
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends sig and returns the exit error.
func (p *process) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("dkserver did not stop:\n%s", p.output())
	}
	return nil
}

func pool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	p, err := loadPool(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJustWorks: `dkserver -data DIR` starts with nothing else, answers its
// health check, stops on SIGTERM with status 0, and reuses what it created.
func TestJustWorks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := start(t, "-data", dir)
	c, err := client.New(&client.Config{URL: "https://" + p.addr, RootCAs: pool(t, filepath.Join(dir, "tls-cert.pem"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(context.Background()); err != nil {
		t.Fatalf("health: %v\n%s", err, p.output())
	}
	// A refusal is logged: an anonymous client posting a command.
	if _, err := c.PostCommand(context.Background(), []byte{0x80}); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("an anonymous command = %v, want a refusal", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.output(), `msg=refused method=POST path=/v1/commands status=401 code=unauthenticated`) {
		if time.Now().After(deadline) {
			t.Fatalf("the refusal was not logged:\n%s", p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("dkserver after SIGTERM: %v\n%s", err, p.output())
	}
	first := p.output()
	p = start(t, "-data", dir)
	if strings.Contains(p.output(), "created") {
		t.Errorf("the second start created files again:\n%s", p.output())
	}
	fp := regexp.MustCompile(`tls_sha256=(\S+) tracking_key=(\S+)`)
	if a, b := fp.FindStringSubmatch(first), fp.FindStringSubmatch(p.output()); a == nil || b == nil || a[1] != b[1] || a[2] != b[2] {
		t.Errorf("the certificate or tracking key changed between starts")
	}
	if err := p.stop(t, os.Interrupt); err != nil {
		t.Errorf("dkserver after SIGINT: %v", err)
	}
}

// fixture is a PKI written to files, a vehicle and its owner.
type fixture struct {
	dir                    string
	vehicleRoots, devRoots string
	trackingKey            string
	tlsCert, tlsKey        string
	roots                  *x509.CertPool
	reader                 *vehicle.Reader
	vid                    dkey.VehicleID
	vcert, ocert           tls.Certificate
	owner                  *dkey.SoftwareKey
	ownerSlot              dkey.KeySlot
}

func writeFile(t *testing.T, path, typ string, der ...[]byte) {
	t.Helper()
	var b bytes.Buffer
	for _, d := range der {
		pem.Encode(&b, &pem.Block{Type: typ, Bytes: d})
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: t.TempDir()}
	key := func() *dkey.SoftwareKey {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	tmpl := func(cn string) cert.Template {
		return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
	}
	check := func(c *x509.Certificate, err error) *x509.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	drk, vrk := key(), key()
	droot := check(cert.NewDeviceRoot(tmpl("Device OEM root"), drk))
	vroot := check(cert.NewVehicleRoot(tmpl("Vehicle OEM root"), vrk))
	f.devRoots, f.vehicleRoots = filepath.Join(f.dir, "device-roots.pem"), filepath.Join(f.dir, "vehicle-roots.pem")
	writeFile(t, f.devRoots, "CERTIFICATE", droot.Raw)
	writeFile(t, f.vehicleRoots, "CERTIFICATE", vroot.Raw)
	tk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(tk)
	f.trackingKey = filepath.Join(f.dir, "tracking.pem")
	writeFile(t, f.trackingKey, "PRIVATE KEY", der)
	f.tlsCert, f.tlsKey = filepath.Join(f.dir, "tls-cert.pem"), filepath.Join(f.dir, "tls-key.pem")
	if err := ensureServerCert(f.tlsCert, f.tlsKey, discard()); err != nil {
		t.Fatal(err)
	}
	f.roots = pool(t, f.tlsCert)

	f.vid, _ = dkey.NewVehicleID([]byte("VIN00001"))
	vk := key()
	vt := tmpl("")
	vt.Subject = keyservice.VehicleName(f.vid, "Vehicle")
	vc := check(cert.NewVehicle(vt, vk.PublicKey(), vroot, vrk))
	f.vcert = tls.Certificate{Certificate: [][]byte{vc.Raw}, PrivateKey: vk}
	if f.reader, err = vehicle.NewReader(&vehicle.Config{VehicleID: f.vid, Key: vk}); err != nil {
		t.Fatal(err)
	}
	f.owner = key()
	f.ownerSlot, _ = dkey.NewKeySlot([]byte("owner001"))
	if err := f.reader.Enroll(vehicle.Enrollment{PublicKey: f.owner.PublicKey(), Slot: f.ownerSlot, Profile: dkey.OwnerProfile()}); err != nil {
		t.Fatal(err)
	}
	ik := key()
	inst := check(cert.NewInstanceCA(tmpl("instance CA"), &cert.InstanceCAExtension{Version: 1}, ik.PublicKey(), droot, drk))
	ep := check(cert.NewEndpoint(tmpl("endpoint"), &cert.EndpointExtension{Version: 1, VehicleID: f.vid, ProtocolVersion: dkey.Version1, VehiclePublicKey: vk.PublicKey(), InitialKeySlot: f.ownerSlot},
		f.owner.PublicKey(), inst, ik))
	f.ocert = tls.Certificate{Certificate: [][]byte{ep.Raw, inst.Raw}, PrivateKey: f.owner}
	return f
}

func (f *fixture) args(store ...string) []string {
	return append(store, "-device-roots", f.devRoots, "-vehicle-roots", f.vehicleRoots, "-tracking-key", f.trackingKey, "-tls-cert", f.tlsCert, "-tls-key", f.tlsKey)
}

func (f *fixture) client(t *testing.T, p *process, c *tls.Certificate) *client.Client {
	cl, err := client.New(&client.Config{URL: "https://" + p.addr, Certificate: c, RootCAs: f.roots})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestKilledBetweenAcceptAndDelivery: the service accepts a command, is
// killed (SIGKILL) before the vehicle fetched it, and delivers it after the
// restart; the vehicle applies it once.
func TestKilledBetweenAcceptAndDelivery(t *testing.T) {
	stores := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"bbolt", func(t *testing.T) []string { return []string{"-data", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string {
			return []string{"-postgres", pgtest.NewDatabase(t, pgtest.Require(t))}
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			args := f.args(st.args(t)...)
			p := start(t, args...)
			vc := f.client(t, p, &f.vcert)
			if err := vc.ReportKeys(ctx, []keyservice.ReportedKey{{Slot: f.ownerSlot, PublicKey: f.owner.PublicKey(), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive}}); err != nil {
				t.Fatalf("report: %v\n%s", err, p.output())
			}
			cmd, err := sharing.NewKeyCommand(sharing.ActionSuspend, f.vid, f.ownerSlot, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.client(t, p, &f.ocert).ManageKey(ctx, cmd); err != nil {
				t.Fatalf("ManageKey: %v\n%s", err, p.output())
			}
			// Accepted, not delivered: killed.
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-p.done

			p = start(t, args...)
			vc = f.client(t, p, &f.vcert)
			var calls atomic.Int64
			lctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- vc.Run(lctx, &client.LoopConfig{Applier: applierFunc(func(c *sharing.KeyCommand) error {
					calls.Add(1)
					return f.reader.ApplyCommand(c)
				}), Wait: time.Second, MinBackoff: 10 * time.Millisecond})
			}()
			deadline := time.Now().Add(60 * time.Second)
			for f.reader.Keys()[0].State != dkey.KeySuspended {
				if time.Now().After(deadline) {
					t.Fatalf("the command never reached the vehicle after the restart:\n%s", p.output())
				}
				time.Sleep(20 * time.Millisecond)
			}
			for {
				ds, err := vc.Wait(ctx, 0)
				if err == nil && len(ds) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the command was never acknowledged: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			stop()
			<-done
			if n := calls.Load(); n != 1 {
				t.Errorf("applied %d times, want 1", n)
			}
			if !strings.Contains(p.output(), `msg="commands acknowledged"`) {
				t.Errorf("the acknowledgement was not logged:\n%s", p.output())
			}
			if err := p.stop(t, syscall.SIGTERM); err != nil {
				t.Errorf("dkserver after SIGTERM: %v", err)
			}
		})
	}
}

type applierFunc func(*sharing.KeyCommand) error

func (a applierFunc) ApplyCommand(c *sharing.KeyCommand) error { return a(c) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
