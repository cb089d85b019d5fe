package vehicle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// The pairing tests use one fixed clock and the cheapest scrypt parameters.
var (
	pairNow    = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	pairParams = pairing.ScryptParams{N: pairing.MinScryptN, R: 8, P: 1}
)

func pairTime() time.Time { return pairNow }

const pairCode = "271828"

// pairSE is a device.SoftwareElement that counts the keys alive in it.
type pairSE struct {
	device.SoftwareElement
	mu   sync.Mutex
	live map[device.KeyID]bool
}

func (s *pairSE) GenerateKey(id device.KeyID) (crypto.Signer, error) {
	k, err := s.SoftwareElement.GenerateKey(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[device.KeyID]bool{}
	}
	s.live[id] = true
	return k, nil
}

func (s *pairSE) DeleteKey(id device.KeyID) error {
	s.mu.Lock()
	delete(s.live, id)
	s.mu.Unlock()
	return s.SoftwareElement.DeleteKey(id)
}

func (s *pairSE) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// pairPhone is a device with an applet instance certified by a Device OEM.
type pairPhone struct {
	applet *device.Applet
	se     *pairSE
	tamper *tamperCard
	card   *transporttest.Card
	root   *x509.Certificate
}

// pairWorld is one vehicle, configured for pairing, and one phone.
type pairWorld struct {
	cfg    *Config
	reader *Reader
	phone  *pairPhone
}

func pairTemplate(cn string) cert.Template {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: start, NotAfter: start.AddDate(10, 0, 0)}
}

func pairKey(t testing.TB) *dkey.SoftwareKey {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pairMust returns a function that fails t on an issuance error.
func pairMust(t testing.TB) func(*x509.Certificate, error) *x509.Certificate {
	return func(c *x509.Certificate, err error) *x509.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// newPairPhone returns a phone whose applet instance CA chains to a new
// Device OEM root; opts change the applet's configuration.
func newPairPhone(t testing.TB, opts ...func(*device.Config)) *pairPhone {
	t.Helper()
	rootKey, caKey := pairKey(t), pairKey(t)
	root := pairMust(t)(cert.NewDeviceRoot(pairTemplate("Device OEM Root"), rootKey))
	ca := pairMust(t)(cert.NewInstanceCA(pairTemplate("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, caKey.PublicKey(), root, rootKey))
	se := &pairSE{}
	cfg := &device.Config{SecureElement: se, Time: pairTime, Pairing: &pairing.DeviceConfig{InstanceCA: ca, InstanceCAKey: caKey}}
	for _, o := range opts {
		o(cfg)
	}
	a, err := device.NewApplet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tamperCard{inner: a}
	return &pairPhone{applet: a, se: se, tamper: tc, card: transporttest.NewCard(transport.NewChainingCard(tc)), root: root}
}

// newPairWorld returns a vehicle that trusts the Device OEM roots of the
// given phones (the first phone is the world's).
func newPairWorld(t testing.TB, maxAttempts int, phones ...*pairPhone) *pairWorld {
	return newPairWorldWith(t, maxAttempts, nil, phones...)
}

// newPairWorldWith is newPairWorld with opt applied to the reader's
// configuration.
func newPairWorldWith(t testing.TB, maxAttempts int, opt func(*Config), phones ...*pairPhone) *pairWorld {
	t.Helper()
	if len(phones) == 0 {
		phones = append(phones, newPairPhone(t))
	}
	rootKey, vk := pairKey(t), pairKey(t)
	root := pairMust(t)(cert.NewVehicleRoot(pairTemplate("Vehicle OEM Root"), rootKey))
	vc := pairMust(t)(cert.NewVehicle(pairTemplate("Vehicle"), vk.PublicKey(), root, rootKey))
	roots := x509.NewCertPool()
	for _, p := range phones {
		roots.AddCert(p.root)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00042"))
	cfg := &Config{VehicleID: vid, Key: vk, Time: pairTime, Pairing: &PairingConfig{
		VehicleRoot: root.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: roots, MaxAttempts: maxAttempts,
	}}
	if opt != nil {
		opt(cfg)
	}
	r, err := NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &pairWorld{cfg: cfg, reader: r, phone: phones[0]}
}

func (w *pairWorld) install(t testing.TB, code string) {
	t.Helper()
	v, err := pairing.NewVerifier([]byte(code), []byte("salt-0123456789!"), pairParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reader.InstallVerifier(v); err != nil {
		t.Fatal(err)
	}
}

func (w *pairWorld) pair(t testing.TB, p *pairPhone, code string) (PairResult, error) {
	t.Helper()
	if code != "" {
		if err := p.applet.StartPairing([]byte(code)); err != nil {
			t.Fatal(err)
		}
	}
	return w.reader.Pair(context.Background(), p.card)
}

// checkNoKey fails unless neither side holds a key: nothing enrolled,
// nothing in the applet, nothing left in the secure element.
func (w *pairWorld) checkNoKey(t testing.TB, p *pairPhone) {
	t.Helper()
	if keys := w.reader.Keys(); len(keys) != 0 {
		t.Errorf("reader keys = %+v, want none", keys)
	}
	if keys := p.applet.Keys(); len(keys) != 0 {
		t.Errorf("applet keys = %+v, want none", keys)
	}
	if n := p.se.count(); n != 0 {
		t.Errorf("%d keys left in the secure element, want 0", n)
	}
}

// tamperCard sits between the chaining layer and the applet and may change
// one command or response.
type tamperCard struct {
	inner transport.Card
	cmd   func(apdu []byte) // may modify the command APDU in place
	resp  func(cmd, resp []byte) []byte
}

func (c *tamperCard) ProcessAPDU(dst, apdu []byte) []byte {
	apdu = bytes.Clone(apdu)
	if c.cmd != nil {
		c.cmd(apdu)
	}
	start := len(dst)
	out := c.inner.ProcessAPDU(dst, apdu)
	if c.resp != nil {
		r := c.resp(apdu, bytes.Clone(out[start:]))
		out = append(out[:start], r...)
	}
	return out
}

func (c *tamperCard) Reset() {
	if r, ok := c.inner.(transport.Resetter); ok {
		r.Reset()
	}
}

// nth returns a predicate true for the n-th command (from 1) with the given
// INS.
func nth(ins byte, n int) func([]byte) bool {
	seen := 0
	return func(apdu []byte) bool {
		if len(apdu) > 1 && apdu[1] == ins {
			seen++
			return seen == n
		}
		return false
	}
}

func TestPairThenTransact(t *testing.T) {
	w := newPairWorld(t, 0)
	w.install(t, pairCode)
	res, err := w.pair(t, w.phone, pairCode)
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	if res.FirstTransaction.ControlFlow != transaction.CFPairingComplete || res.FirstTransaction.Action != dkey.ActionOwnerPairingFirst || res.FirstTransaction.Fast {
		t.Errorf("first transaction = %+v, want a standard %v ending with %v", res.FirstTransaction, dkey.ActionOwnerPairingFirst, transaction.CFPairingComplete)
	}
	keys := w.reader.Keys()
	if len(keys) != 1 || keys[0].Slot != res.Slot || keys[0].Role != dkey.RoleOwner || !keys[0].TokenProvisioned || !keys[0].HasPersistent {
		t.Fatalf("reader keys = %+v", keys)
	}
	info, ok := w.phone.applet.Key(w.reader.ID())
	if !ok || info.Slot != res.Slot || !info.PublicKey.Equal(res.PublicKey) || info.Role != dkey.RoleOwner ||
		info.LastControlFlow != transaction.CFPairingComplete {
		t.Fatalf("applet key = %+v, %v", info, ok)
	}
	if pi, ok := w.phone.applet.Pairing(w.reader.ID()); !ok || len(pi.Certificates) != 2 || pi.KeyConfig != pairing.DefaultOwnerKeyConfig() {
		t.Errorf("applet pairing info = %+v, %v", pi, ok)
	}
	if n := w.reader.PairingAttempts(); n != 0 {
		t.Errorf("PairingAttempts after success = %d, want 0 (verifier used up)", n)
	}
	for i, tt := range []struct {
		action dkey.Action
		fast   bool
	}{
		{dkey.ActionEngineStart, false}, // standard, reads the token from AUTH1
		{dkey.ActionUnlock, true},
		{dkey.ActionLock, true},
	} {
		r, err := w.reader.Transact(context.Background(), w.phone.card, tt.action)
		if err != nil {
			t.Fatalf("transaction %d (%v): %v", i, tt.action, err)
		}
		if r.Fast != tt.fast || r.Slot != res.Slot || r.Role != dkey.RoleOwner {
			t.Errorf("transaction %d = %+v, want fast=%v", i, r, tt.fast)
		}
	}
	// The password is used up on both sides.
	if w.phone.applet.PairingReady() {
		t.Error("applet still holds the pairing password")
	}
	if _, err := w.reader.Pair(context.Background(), w.phone.card); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("second Pair = %v, want %v", err, ErrNoVerifier)
	}
}

func TestPairFailures(t *testing.T) {
	flip := func(ins byte, n, off int) func(*tamperCard) {
		match := nth(ins, n)
		return func(c *tamperCard) {
			c.cmd = func(apdu []byte) {
				if match(apdu) {
					apdu[len(apdu)-off] ^= 0x01
				}
			}
		}
	}
	for _, tt := range []struct {
		name      string
		code      string
		tamper    func(*tamperCard)
		want      error
		remaining int // -1: no *pairing.AttemptsError expected
	}{
		{name: "wrong password", code: "000000", want: pairing.ErrAuthentication, remaining: 6},
		// M1 is the last 16 bytes of VERIFY before Le.
		{name: "tampered M1", code: pairCode, tamper: flip(0x32, 1, 2), want: pairing.ErrAuthentication, remaining: 6},
		{name: "tampered M2", code: pairCode, tamper: func(c *tamperCard) {
			c.resp = func(cmd, resp []byte) []byte {
				if cmd[1] == 0x32 && len(resp) > 2 {
					resp[len(resp)-3] ^= 0x80
				}
				return resp
			}
		}, want: pairing.ErrAuthentication, remaining: 6},
		// The first WRITE DATA (7F4A) and the 5F5A confirmation, after the
		// key was created, each with a flipped ciphertext byte.
		{name: "tampered WRITE DATA", code: pairCode, tamper: flip(0xD4, 1, 12), want: pairing.ErrChannel, remaining: -1},
		{name: "tampered confirmation", code: pairCode, tamper: flip(0xD4, 6, 12), want: pairing.ErrChannel, remaining: -1},
		{name: "tampered GET DATA response", code: pairCode, tamper: func(c *tamperCard) {
			match := nth(0xCA, 2)
			c.resp = func(cmd, resp []byte) []byte {
				if match(cmd) {
					resp[0] ^= 0x01
				}
				return resp
			}
		}, want: pairing.ErrChannel, remaining: -1},
		{name: "no password on the device", want: pairing.ErrNotReady, remaining: -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newPairWorld(t, 0)
			w.install(t, pairCode)
			if tt.tamper != nil {
				tt.tamper(w.phone.tamper)
			}
			_, err := w.pair(t, w.phone, tt.code)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Pair = %v, want %v", err, tt.want)
			}
			var ae *pairing.AttemptsError
			switch {
			case tt.remaining < 0 && errors.As(err, &ae):
				t.Errorf("Pair = %v, an attempts error", err)
			case tt.remaining >= 0 && (!errors.As(err, &ae) || ae.Remaining != tt.remaining):
				t.Errorf("Pair = %v, want an attempts error with %d left", err, tt.remaining)
			}
			w.checkNoKey(t, w.phone)
		})
	}
}

func TestPairForeignRoot(t *testing.T) {
	trusted := newPairPhone(t)
	w := newPairWorld(t, 0, trusted)
	foreign := newPairPhone(t)
	w.install(t, pairCode)
	_, err := w.pair(t, foreign, pairCode)
	if !errors.Is(err, pairing.ErrEndpointCertificate) || !errors.Is(err, cert.ErrUnknownRoot) {
		t.Fatalf("Pair = %v, want %v and %v", err, pairing.ErrEndpointCertificate, cert.ErrUnknownRoot)
	}
	w.checkNoKey(t, foreign)
}

func TestPairAttemptsExhausted(t *testing.T) {
	w := newPairWorld(t, 3)
	w.install(t, pairCode)
	for want := 2; want >= 0; want-- {
		_, err := w.pair(t, w.phone, "999999")
		var ae *pairing.AttemptsError
		if !errors.As(err, &ae) || ae.Remaining != want || !errors.Is(err, pairing.ErrAuthentication) {
			t.Fatalf("Pair with a wrong password = %v, want %d attempts left", err, want)
		}
		if got := w.reader.PairingAttempts(); got != want {
			t.Errorf("PairingAttempts = %d, want %d", got, want)
		}
	}
	// The right password no longer helps: the vehicle selects the
	// framework only to abort with 12 0D.
	var sent [][]byte
	w.phone.tamper.cmd = func(apdu []byte) { sent = append(sent, bytes.Clone(apdu)) }
	_, err := w.pair(t, w.phone, pairCode)
	var ae *pairing.AttemptsError
	if !errors.As(err, &ae) || ae.Remaining != 0 || !errors.Is(err, pairing.ErrAttemptsExhausted) {
		t.Fatalf("Pair with no attempt left = %v, want %v", err, pairing.ErrAttemptsExhausted)
	}
	if len(sent) != 2 || sent[0][1] != 0xA4 || !bytes.Equal(sent[1], []byte{0x80, 0x3C, 0x12, 0x0D}) {
		t.Errorf("commands with no attempt left = %X, want SELECT and OP CONTROL FLOW 12 0D", sent)
	}
	w.checkNoKey(t, w.phone)
	// The same verifier installed again does not; a new verifier from the
	// vehicle OEM (a new salt, a new password) resets the counter.
	w.phone.applet.CancelPairing()
	w.install(t, pairCode)
	if n := w.reader.PairingAttempts(); n != 0 {
		t.Fatalf("PairingAttempts after installing the same verifier again = %d, want 0", n)
	}
	v, err := pairing.NewVerifier([]byte(pairCode), []byte("salt-9876543210!"), pairParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reader.InstallVerifier(v); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pair(t, w.phone, pairCode); err != nil {
		t.Fatalf("Pair after a new verifier: %v", err)
	}
}

// A phone pulled away while SPAKE2+ VERIFY is under way has spent an
// attempt: the vehicle counted it before sending.
func TestPairCardRemovedDuringVerify(t *testing.T) {
	w := newPairWorld(t, 0)
	w.install(t, pairCode)
	// SELECT and REQUEST, then the link fails.
	card := transporttest.NewCard(transport.NewChainingCard(w.phone.tamper), transporttest.RemoveAfter(2))
	if err := w.phone.applet.StartPairing([]byte(pairCode)); err != nil {
		t.Fatal(err)
	}
	_, err := w.reader.Pair(context.Background(), card)
	var ae *pairing.AttemptsError
	if !errors.Is(err, transport.ErrCardRemoved) || !errors.As(err, &ae) || ae.Remaining != DefaultPairingAttempts-1 {
		t.Fatalf("Pair = %v, want %v counted as an attempt", err, transport.ErrCardRemoved)
	}
	w.checkNoKey(t, w.phone)
}

func TestPairDeviceHasKey(t *testing.T) {
	w := newPairWorld(t, 0)
	w.install(t, pairCode)
	if _, err := w.phone.applet.CreateKey(device.KeyConfig{VehicleID: w.reader.ID(), VehicleKey: w.reader.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	_, err := w.pair(t, w.phone, pairCode)
	if !errors.Is(err, pairing.ErrDeviceHasKey) {
		t.Fatalf("Pair = %v, want %v", err, pairing.ErrDeviceHasKey)
	}
	if keys := w.reader.Keys(); len(keys) != 0 {
		t.Errorf("reader keys = %+v, want none", keys)
	}
	if keys := w.phone.applet.Keys(); len(keys) != 1 || w.phone.se.count() != 1 {
		t.Errorf("applet keys = %+v, %d in the secure element; want the one it had", keys, w.phone.se.count())
	}
}

func TestPairOneOwner(t *testing.T) {
	first, second := newPairPhone(t), newPairPhone(t)
	w := newPairWorld(t, 0, first, second)
	w.install(t, pairCode)
	old, err := w.pair(t, first, pairCode)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pairing.NewVerifier([]byte("141421"), []byte("salt-0123456789?"), pairParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reader.InstallVerifier(v); !errors.Is(err, ErrOwnerExists) {
		t.Fatalf("InstallVerifier with an owner = %v, want %v", err, ErrOwnerExists)
	}
	if err := w.reader.ReplaceOwner(v); err != nil {
		t.Fatal(err)
	}
	// Until the new pairing succeeds, the old owner works.
	if _, err := w.reader.Transact(context.Background(), first.card, dkey.ActionUnlock); err != nil {
		t.Fatalf("old owner before the replacement: %v", err)
	}
	res, err := w.pair(t, second, "141421")
	if err != nil {
		t.Fatalf("Pair of the new owner: %v", err)
	}
	if len(res.Replaced) != 1 || res.Replaced[0] != old.Slot {
		t.Errorf("Replaced = %v, want [%v]", res.Replaced, old.Slot)
	}
	if keys := w.reader.Keys(); len(keys) != 1 || keys[0].Slot != res.Slot {
		t.Errorf("reader keys = %+v, want the new owner only", keys)
	}
	// The old owner's next transaction tells its device to delete the key.
	if _, err := w.reader.Transact(context.Background(), first.card, dkey.ActionUnlock); !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("old owner after the replacement = %v, want %v", err, dkey.ErrKeyTerminated)
	}
	// The device suspends the key and flags it for the host app (a
	// CONTROL FLOW in clear never destroys a key by itself).
	if info, ok := first.applet.Key(w.reader.ID()); !ok || info.State != dkey.KeySuspended || !info.VehicleDeleted {
		t.Errorf("the old owner's key after 00A0 = %+v, want suspended and flagged", info)
	}
}

// An attacker who turns OP CONTROL FLOW 11 11 into an abort in the field
// leaves the device without the key while the vehicle sees 9000: the first
// transaction finds out and the enrolment is rolled back.
func TestPairRollbackWhenDeviceDidNotCommit(t *testing.T) {
	w := newPairWorld(t, 0)
	w.install(t, pairCode)
	w.phone.tamper.cmd = func(apdu []byte) {
		if len(apdu) == 4 && apdu[0] == 0x80 && apdu[1] == 0x3C && apdu[2] == 0x11 {
			apdu[2], apdu[3] = 0x12, 0x00
		}
	}
	_, err := w.pair(t, w.phone, pairCode)
	if !errors.Is(err, dkey.SWFileNotFound) {
		t.Fatalf("Pair = %v, want the device's %v", err, dkey.SWFileNotFound)
	}
	w.checkNoKey(t, w.phone)
	if _, err := w.reader.Pair(context.Background(), w.phone.card); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("Pair after the rollback = %v, want %v (verifier used)", err, ErrNoVerifier)
	}
}

func TestPairConfiguration(t *testing.T) {
	vk := pairKey(t)
	vid, _ := dkey.NewVehicleID([]byte("VIN00042"))
	r, err := NewReader(&Config{VehicleID: vid, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pair(context.Background(), nil); !errors.Is(err, ErrPairingUnavailable) {
		t.Errorf("Pair without configuration = %v, want %v", err, ErrPairingUnavailable)
	}
	// A vehicle certificate for another key is refused at construction.
	w := newPairWorld(t, 0)
	cfg := *w.reader.pairCfg
	_, err = NewReader(&Config{VehicleID: vid, Key: vk, Time: pairTime, Pairing: &PairingConfig{
		VehicleRoot: cfg.VehicleRoot, Certificates: cfg.Certificates, DeviceRoots: cfg.DeviceRoots,
	}})
	if err == nil {
		t.Error("NewReader with a vehicle certificate for another key succeeded")
	}
	if _, err := w.reader.Pair(context.Background(), w.phone.card); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("Pair without verifier = %v, want %v", err, ErrNoVerifier)
	}
}
