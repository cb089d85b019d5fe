//go:build unix

package vehicle

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/bolt"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// The crash test re-executes the test binary as a child that runs a
// scripted life of a vehicle and two phones over bbolt files, and kills
// itself with SIGKILL at the N-th write point: just before or just after
// the N-th batch written to any of the three stores. The parent then
// reopens the files and checks the invariants of durable state.
const (
	crashEnvKill = "OPENCARKEY_CRASH_KILL" // N, or "count" for a run that labels every point
	crashEnvDir  = "OPENCARKEY_CRASH_DIR"
)

// crashKEK is the test bench's key-encryption key of the three files.
func crashKEK(tb testing.TB) KeyEncryptionKey {
	k, err := SoftwareKEK(make([]byte, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// crashKey returns the software key whose scalar is SHA-256 of label: the
// same in the child and the parent.
func crashKey(tb testing.TB, label string) *dkey.SoftwareKey {
	s := sha256.Sum256([]byte("opencarkey crash test: " + label))
	k, err := dkey.NewSoftwareKey(s[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// killStore is a store that counts the write points of all the stores of
// a process and kills the process at the chosen one.
type killStore struct {
	Store
	name string
	w    *crashWitness
}

// crashWitness numbers write points: 2k-1 before the k-th batch, 2k after.
type crashWitness struct {
	mu     sync.Mutex
	n      int
	killAt int
	step   string
	labels *os.File // the counting run writes one label per point
}

func (c *crashWitness) point(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.labels != nil {
		fmt.Fprintf(c.labels, "%s_%s\n", c.step, what)
	}
	if c.n == c.killAt {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal arrives
	}
}

func (s *killStore) Write(ops []store.Op) error {
	s.w.point(s.name + "_before")
	if err := s.Store.Write(ops); err != nil {
		return err
	}
	s.w.point(s.name + "_after")
	return nil
}

// crashWorld is the vehicle and the two phones of the script, each over
// its bbolt file in dir.
type crashWorld struct {
	reader        *Reader
	owner, friend *device.Applet
	ownerCard     *transporttest.Card
	friendCard    *transporttest.Card
	roots         *x509.CertPool
	vid           dkey.VehicleID
	pairCfg       *PairingConfig
	ownerCA       *device.InstanceCA
	friendCA      *device.InstanceCA
}

const crashCode = "314159"

// openCrashWorld opens (or creates) the world's files in dir; wrap, when
// set, wraps each store.
func openCrashWorld(tb testing.TB, dir string, wrap func(name string, s Store) Store) (*crashWorld, error) {
	if wrap == nil {
		wrap = func(_ string, s Store) Store { return s }
	}
	kek := crashKEK(tb)
	open := func(name string) (Store, error) {
		// SIGKILL kills the process, not the machine: the pages written
		// survive without fsync, which only slows the test.
		s, err := bolt.Open(filepath.Join(dir, name+".db"), &bolt.Options{NoSync: true})
		if err != nil {
			return nil, err
		}
		return wrap(name, s), nil
	}
	w := &crashWorld{roots: x509.NewCertPool()}
	w.vid, _ = dkey.NewVehicleID([]byte("CRASHVIN"))
	vrKey, vKey, drKey := crashKey(tb, "vehicle root"), crashKey(tb, "vehicle"), crashKey(tb, "device root")
	root := pairMust(tb)(cert.NewVehicleRoot(pairTemplate("Vehicle OEM Root"), vrKey))
	vc := pairMust(tb)(cert.NewVehicle(pairTemplate("Vehicle"), vKey.PublicKey(), root, vrKey))
	dr := pairMust(tb)(cert.NewDeviceRoot(pairTemplate("Device OEM Root"), drKey))
	w.roots.AddCert(dr)
	ca := func(label string) *device.InstanceCA {
		k := crashKey(tb, label)
		c := pairMust(tb)(cert.NewInstanceCA(pairTemplate(label), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, k.PublicKey(), dr, drKey))
		return &device.InstanceCA{Certificate: c, Key: k}
	}
	w.ownerCA, w.friendCA = ca("owner instance CA"), ca("friend instance CA")
	w.pairCfg = &PairingConfig{VehicleRoot: root.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: w.roots}
	vs, err := open("vehicle")
	if err != nil {
		return nil, err
	}
	if w.reader, err = NewReader(&Config{VehicleID: w.vid, Key: vKey, Time: pairTime, Pairing: w.pairCfg, Store: vs, KEK: kek}); err != nil {
		return nil, err
	}
	ost, err := open("owner")
	if err != nil {
		return nil, err
	}
	w.owner, err = device.NewApplet(&device.Config{Time: pairTime, Store: ost, KEK: kek,
		Pairing: &pairing.DeviceConfig{InstanceCA: w.ownerCA.Certificate, InstanceCAKey: w.ownerCA.Key}})
	if err != nil {
		return nil, err
	}
	fst, err := open("friend")
	if err != nil {
		return nil, err
	}
	if w.friend, err = device.NewApplet(&device.Config{Time: pairTime, Store: fst, KEK: kek, InstanceCA: w.friendCA}); err != nil {
		return nil, err
	}
	w.ownerCard = transporttest.NewCard(transport.NewChainingCard(w.owner))
	w.friendCard = transporttest.NewCard(transport.NewChainingCard(w.friend))
	return w, nil
}

func (w *crashWorld) close() {
	w.reader.Close()
	w.owner.Close()
	w.friend.Close()
}

// share runs a share from the owner's phone to the friend's, up to the
// friend's import of the attestation.
func (w *crashWorld) share(tb testing.TB) error {
	w.owner.AuthenticateUser(pairNow.Add(time.Hour))
	key, slot, err := w.owner.SharingSigner(w.vid)
	if err != nil {
		return err
	}
	pi, _ := w.owner.Pairing(w.vid)
	info, _ := w.owner.Key(w.vid)
	oc := &sharing.OwnerConfig{
		Vehicle: w.vid, VehicleKey: info.VehicleKey, VehicleChain: pi.VehicleCertificates, VehicleRoot: pi.VehicleRoot,
		Key: key, Slot: slot, Certificates: &cert.Config{DeviceRoots: w.roots}, Time: pairTime,
	}
	lk, err := sharing.GenerateRecipientKey()
	if err != nil {
		return err
	}
	osess, sealed, err := sharing.Invite(oc, unlockOnly(), lk.PublicKey())
	if err != nil {
		return err
	}
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: pairTime}, lk, "", sealed)
	if err != nil {
		return err
	}
	ksr, err := fs.SigningRequest(w.friend)
	if err != nil {
		return err
	}
	req, err := osess.ReadSigningRequest(ksr)
	if err != nil {
		return err
	}
	issued, err := osess.Sign(req)
	if err != nil {
		return err
	}
	imp, err := fs.Import(issued.Message)
	if err != nil {
		return err
	}
	return w.friend.ImportSharedKey(imp)
}

// crashScript is the child's life: pair, transact, share, revoke,
// terminate, lost mode, a wrong pairing password. Each step, once
// complete, is appended to the progress file, synced: what the parent
// finds there happened before the kill.
func crashScript(tb testing.TB, dir string, w *crashWorld, wit *crashWitness) {
	progress, err := os.OpenFile(filepath.Join(dir, "progress"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	step := func(name string, f func() error) {
		fmt.Fprintln(progress, "begin:"+name)
		wit.mu.Lock()
		wit.step = name
		wit.mu.Unlock()
		if err := f(); err != nil {
			tb.Fatalf("step %s: %v", name, err)
		}
		fmt.Fprintln(progress, name)
		if err := progress.Sync(); err != nil {
			tb.Fatal(err)
		}
	}
	transact := func(card *transporttest.Card, a dkey.Action, want func(Result, error) error) func() error {
		return func() error { return want(w.reader.Transact(ctx, card, a)) }
	}
	ok := func(res Result, err error) error { return err }
	refused := func(res Result, err error) error {
		if err == nil {
			return errors.New("succeeded")
		}
		return nil
	}
	step("pair", func() error {
		v, err := pairing.NewVerifier([]byte(crashCode), []byte("crash-salt-01234"), pairParams)
		if err != nil {
			return err
		}
		if err := w.reader.InstallVerifier(v); err != nil {
			return err
		}
		if err := w.owner.StartPairing([]byte(crashCode)); err != nil {
			return err
		}
		_, err = w.reader.Pair(ctx, w.ownerCard)
		return err
	})
	step("unlock", transact(w.ownerCard, dkey.ActionUnlock, ok))
	step("fastunlock", transact(w.ownerCard, dkey.ActionUnlock, ok))
	step("enginestart", transact(w.ownerCard, dkey.ActionEngineStart, ok))
	step("share", func() error { return w.share(tb) })
	step("firstfriend", transact(w.friendCard, dkey.ActionUnlock, ok))
	step("friendunlock", transact(w.friendCard, dkey.ActionUnlock, ok))
	step("queuetermination", func() error {
		info, _ := w.friend.Key(w.vid)
		_, err := w.owner.TerminateShared(&sharing.Termination{Vehicle: w.vid, Slot: info.Slot, Key: info.PublicKey})
		return err
	})
	step("revoke", transact(w.ownerCard, dkey.ActionEngineStart, ok))
	step("revokedfriend", transact(w.friendCard, dkey.ActionUnlock, refused))
	step("terminate", func() error { return w.friend.Terminate(w.vid) })
	step("lost", func() error { return w.owner.SetLostMode(true) })
	step("lostunlock", transact(w.ownerCard, dkey.ActionUnlock, refused))
	step("found", func() error { return w.owner.SetLostMode(false) })
	step("newverifier", func() error {
		v, err := pairing.NewVerifier([]byte(crashCode), []byte("crash-salt-56789"), pairParams)
		if err != nil {
			return err
		}
		return w.reader.ReplaceOwnerDevice(v)
	})
	step("wrongpassword", func() error {
		if err := w.owner.StartPairing([]byte("000000")); err != nil {
			return err
		}
		if _, err := w.reader.Pair(ctx, w.ownerCard); !errors.Is(err, pairing.ErrAuthentication) {
			return fmt.Errorf("a wrong password: %v", err)
		}
		return nil
	})
	step("last", transact(w.ownerCard, dkey.ActionEngineStart, ok))
	w.close()
}

// TestCrashSafety kills the script at every write point in turn and checks,
// after each kill, that the three stores open (each batch whole or not at
// all: never a mix), that no revoked or terminated key transacts, that what
// a completed step stored is there, that no attempt count went back, that
// the statement area was never cleared before the vehicle recorded it, and
// that Kpersistent on the two sides agrees, or heals in the next standard
// transaction.
func TestCrashSafety(t *testing.T) {
	if v := os.Getenv(crashEnvKill); v != "" {
		crashChild(t, v)
		return
	}
	// The counting run labels every write point.
	dir := t.TempDir()
	out, err := runCrashChild(t, dir, "count")
	if err != nil {
		t.Fatalf("the counting run failed: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "labels"))
	if err != nil {
		t.Fatal(err)
	}
	labels := strings.Fields(string(raw))
	if len(labels) < 20 {
		t.Fatalf("only %d write points", len(labels))
	}
	checkCrashed(t, dir, len(labels)+1)
	t.Logf("%d write points, each killed", len(labels))
	for n, label := range labels {
		n := n + 1
		t.Run(fmt.Sprintf("%03d_%s", n, label), func(t *testing.T) {
			if testing.Short() && n%7 != 0 {
				t.Skip("-short kills every 7th point")
			}
			dir := t.TempDir()
			out, err := runCrashChild(t, dir, strconv.Itoa(n))
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed at point %d: %v\n%s", n, err, out)
			}
			checkCrashed(t, dir, n)
		})
	}
}

func runCrashChild(t *testing.T, dir, kill string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$", "-test.v")
	cmd.Env = append(os.Environ(), crashEnvKill+"="+kill, crashEnvDir+"="+dir)
	return cmd.CombinedOutput()
}

// crashChild is the child: the script, killed at the point kill names.
func crashChild(t *testing.T, kill string) {
	dir := os.Getenv(crashEnvDir)
	wit := &crashWitness{step: "open"}
	if kill == "count" {
		f, err := os.Create(filepath.Join(dir, "labels"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		wit.labels = f
	} else {
		n, err := strconv.Atoi(kill)
		if err != nil {
			t.Fatal(err)
		}
		wit.killAt = n
	}
	w, err := openCrashWorld(t, dir, func(name string, s Store) Store { return &killStore{Store: s, name: name, w: wit} })
	if err != nil {
		t.Fatal(err)
	}
	crashScript(t, dir, w, wit)
}

// checkCrashed reopens the files of a run killed at point n and checks the
// invariants.
func checkCrashed(t *testing.T, dir string, n int) {
	t.Helper()
	done := map[string]bool{}
	if f, err := os.Open(filepath.Join(dir, "progress")); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			done[s.Text()] = true
		}
		f.Close()
	}
	w, err := openCrashWorld(t, dir, nil)
	if err != nil {
		t.Fatalf("killed at point %d, the state does not open: %v", n, err)
	}
	defer w.close()
	r, ctx := w.reader, context.Background()
	var ownerSlot dkey.KeySlot
	for _, k := range r.Keys() {
		if k.Role == dkey.RoleOwner {
			ownerSlot = k.Slot
		}
	}
	ownerKey, ownerLive := w.owner.Key(w.vid)
	friendKeys := w.friend.Keys()

	// What a completed step stored is there.
	if done["pair"] && (ownerSlot.IsZero() || !ownerLive || ownerKey.Slot != ownerSlot) {
		t.Errorf("paired, and the owner key is gone: reader %v, phone %+v", ownerSlot, ownerKey)
	}
	if done["firstfriend"] && len(r.Keys()) < 2 && !done["queuetermination"] {
		t.Error("the friend was admitted, and is no longer enrolled")
	}
	if done["terminate"] && (len(friendKeys) != 1 || friendKeys[0].State != dkey.KeyTerminated) {
		t.Errorf("the friend's key was terminated, and it is %+v", friendKeys)
	}
	if done["lost"] && !done["begin:found"] && !w.owner.LostMode() {
		t.Error("lost mode was turned on, and it is off")
	}
	if done["found"] && w.owner.LostMode() {
		t.Error("lost mode was turned off, and it is on")
	}

	// No revoked key is enrolled; the revoked or terminated friend never
	// transacts again.
	revoked := false
	for _, rev := range r.Revocations().Revocations() {
		for _, k := range r.Keys() {
			if k.Slot == rev.Slot {
				t.Errorf("revoked slot %v is enrolled", rev.Slot)
			}
		}
		if len(friendKeys) == 1 && rev.Slot == friendKeys[0].Slot {
			revoked = true
		}
	}
	if done["revoke"] && !revoked {
		t.Error("the termination was consumed, and the friend is not revoked")
	}
	friendGone := len(friendKeys) == 1 && friendKeys[0].State == dkey.KeyTerminated
	if revoked || friendGone {
		if _, err := r.Transact(ctx, w.friendCard, dkey.ActionUnlock); err == nil {
			t.Error("a revoked or terminated key transacted")
		}
	}
	// The statement area is cleared only once the vehicle recorded what
	// it held.
	if done["queuetermination"] && ownerLive {
		hdr, err := w.owner.ReadPrivateMailbox(w.vid, 0, sharing.AreaHeaderSize)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := sharing.ParseAreaHeader(hdr); n == 0 && !revoked {
			t.Error("the statement area was cleared, and the vehicle has not revoked the friend")
		}
	}
	// No attempt count goes back.
	if done["newverifier"] {
		left := r.PairingAttempts()
		switch {
		case left == 0:
			t.Error("the new verifier is gone")
		case done["wrongpassword"] && left > DefaultPairingAttempts-1:
			t.Errorf("a wrong password was tried, and %d attempts are left", left)
		}
	}
	// Kpersistent agrees, or heals in the next standard transaction.
	if !ownerSlot.IsZero() && ownerLive && ownerKey.Slot == ownerSlot {
		if w.owner.LostMode() {
			if err := w.owner.SetLostMode(false); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := r.Transact(ctx, w.ownerCard, dkey.ActionEngineStart); err != nil || res.ControlFlow == transaction.CFKeyDeleted {
			t.Fatalf("the owner's engine start after the crash: %v, %v", res.ControlFlow, err)
		}
		if res, err := r.Transact(ctx, w.ownerCard, dkey.ActionUnlock); err != nil || !res.Fast {
			t.Errorf("the owner's unlock after a standard transaction: fast %v, %v", res.Fast, err)
		}
	}
}
