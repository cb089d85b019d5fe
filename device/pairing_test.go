package device

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
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var pairingNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// pairingElement is a SoftwareElement that counts the keys alive in it.
type pairingElement struct {
	SoftwareElement
	mu   sync.Mutex
	live map[KeyID]bool
}

func (e *pairingElement) GenerateKey(id KeyID) (crypto.Signer, error) {
	k, err := e.SoftwareElement.GenerateKey(id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live == nil {
		e.live = map[KeyID]bool{}
	}
	e.live[id] = true
	return k, nil
}

func (e *pairingElement) DeleteKey(id KeyID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.live, id)
	return e.SoftwareElement.DeleteKey(id)
}

func (e *pairingElement) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.live)
}

// pairingSetup is an applet with an instance CA and the configuration of a
// vehicle that trusts its Device OEM root.
type pairingSetup struct {
	cfg      *Config
	applet   *Applet
	se       *pairingElement
	card     *transporttest.Card
	vehicle  *pairing.VehicleConfig
	verifier *pairing.Verifier
}

func newPairingSetup(t testing.TB, profile dkey.Profile, opts ...func(*Config)) *pairingSetup {
	t.Helper()
	tmpl := func(cn string) cert.Template {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: start, NotAfter: start.AddDate(5, 0, 0)}
	}
	key := func() *dkey.SoftwareKey {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	must := func(c *x509.Certificate, err error) *x509.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	drKey, caKey, vrKey, vKey := key(), key(), key(), key()
	dr := must(cert.NewDeviceRoot(tmpl("Device OEM Root"), drKey))
	ca := must(cert.NewInstanceCA(tmpl("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, caKey.PublicKey(), dr, drKey))
	vr := must(cert.NewVehicleRoot(tmpl("Vehicle OEM Root"), vrKey))
	vc := must(cert.NewVehicle(tmpl("Vehicle"), vKey.PublicKey(), vr, vrKey))
	se := &pairingElement{}
	cfg := &Config{Profile: profile, SecureElement: se, Pairing: &pairing.DeviceConfig{InstanceCA: ca, InstanceCAKey: caKey, Time: func() time.Time { return pairingNow }}}
	for _, o := range opts {
		o(cfg)
	}
	a, err := NewApplet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(dr)
	vid, _ := dkey.NewVehicleID([]byte("VIN00007"))
	v, err := pairing.NewVerifier([]byte("1234"), []byte("0123456789abcdef"), pairing.ScryptParams{N: pairing.MinScryptN, R: 8, P: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &pairingSetup{
		cfg:    cfg,
		applet: a, se: se, card: transporttest.NewCard(transport.NewChainingCard(a)), verifier: v,
		vehicle: &pairing.VehicleConfig{
			VehicleID: vid, VehicleKey: vKey.PublicKey(), VehicleRoot: vr.Raw, Certificates: [][]byte{vc.Raw},
			DeviceRoots: roots, Time: func() time.Time { return pairingNow },
		},
	}
}

// run drives a vehicle's pairing against the applet. It stops, without
// sending it, before the first command for which stop returns true.
func (s *pairingSetup) run(t testing.TB, stop func(transport.Command) bool) error {
	t.Helper()
	p, err := pairing.NewVehicleSession(s.vehicle, s.verifier)
	if err != nil {
		t.Fatal(err)
	}
	c := transport.NewClient(s.card, nil)
	cmd, err := p.Start()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if stop != nil && stop(cmd) {
			return nil
		}
		resp, err := c.Do(context.Background(), &cmd, nil)
		if err != nil {
			return err
		}
		st, err := p.Next(resp)
		if err != nil {
			if a, ok := p.Abort(); ok {
				_, _ = c.Do(context.Background(), &a, nil)
			}
			return err
		}
		if st.Done {
			return nil
		}
		cmd = st.Command
	}
}

func TestPairingSelect(t *testing.T) {
	selectFramework := transport.Command{INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDFramework), Ne: 256}
	plain, err := NewApplet(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := apdu(t, plain, selectFramework); r.SW != dkey.SWFileNotFound {
		t.Errorf("SELECT framework without pairing = %v, want %v", r.SW, dkey.SWFileNotFound)
	}
	if err := plain.StartPairing([]byte("1234")); !errors.Is(err, ErrPairingUnavailable) {
		t.Errorf("StartPairing without pairing = %v, want %v", err, ErrPairingUnavailable)
	}
	homeKey := newPairingSetup(t, dkey.HomeKey)
	if r := apdu(t, homeKey.applet, selectFramework); r.SW != dkey.SWFileNotFound {
		t.Errorf("SELECT framework in the Home Key profile = %v, want %v", r.SW, dkey.SWFileNotFound)
	}

	s := newPairingSetup(t, dkey.CCC)
	for _, tt := range []struct {
		name     string
		password string
		want     []byte
	}{
		{"no password", "", []byte{0x5A, 0x02, 0x01, 0x00, 0x5C, 0x02, 0x01, 0x00, 0xD4, 0x01, 0x00}},
		{"password entered", "1234", []byte{0x5A, 0x02, 0x01, 0x00, 0x5C, 0x02, 0x01, 0x00, 0xD4, 0x01, 0x02}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.password != "" {
				if err := s.applet.StartPairing([]byte(tt.password)); err != nil {
					t.Fatal(err)
				}
			}
			r := apdu(t, s.applet, selectFramework)
			if r.SW != dkey.SWSuccess || !bytes.Equal(r.Data, tt.want) {
				t.Errorf("SELECT framework = %X %v, want %X 9000", r.Data, r.SW, tt.want)
			}
		})
	}
	if err := s.applet.StartPairing(nil); err == nil {
		t.Error("StartPairing with an empty password succeeded")
	}
}

func TestPairingCommit(t *testing.T) {
	s := newPairingSetup(t, dkey.CCC)
	if err := s.applet.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t, nil); err != nil {
		t.Fatalf("pairing: %v", err)
	}
	keys := s.applet.Keys()
	if len(keys) != 1 || keys[0].Role != dkey.RoleOwner || keys[0].State != dkey.KeyActive || !keys[0].Express || keys[0].VehicleID != s.vehicle.VehicleID {
		t.Fatalf("applet keys = %+v", keys)
	}
	if n := s.se.count(); n != 1 {
		t.Errorf("%d keys in the secure element, want 1", n)
	}
	info, ok := s.applet.Pairing(s.vehicle.VehicleID)
	if !ok || !bytes.Equal(info.VehicleRoot, s.vehicle.VehicleRoot) || len(info.Certificates) != 2 || info.KeyConfig != pairing.DefaultOwnerKeyConfig() {
		t.Errorf("Pairing = %+v, %v", info, ok)
	}
	if s.applet.PairingReady() {
		t.Error("the password is still there after a pairing")
	}
	// The mailboxes have the configured sizes.
	if _, err := s.applet.ReadPrivateMailbox(s.vehicle.VehicleID, 0, 512); err != nil {
		t.Errorf("private mailbox: %v", err)
	}
}

func TestPairingWrongPasswordUsesItUp(t *testing.T) {
	s := newPairingSetup(t, dkey.CCC)
	if err := s.applet.StartPairing([]byte("4321")); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t, nil); !errors.Is(err, pairing.ErrAuthentication) {
		t.Fatalf("pairing with a wrong password = %v, want %v", err, pairing.ErrAuthentication)
	}
	if s.applet.PairingReady() {
		t.Error("a wrong password is kept for another try")
	}
	if len(s.applet.Keys()) != 0 || s.se.count() != 0 {
		t.Errorf("keys after a failed pairing: applet %d, secure element %d", len(s.applet.Keys()), s.se.count())
	}
}

// Whatever interrupts a run after the key was created (field reset, another
// SELECT, the host cancelling) deletes the key from the secure element.
func TestPairingInterruptedDeletesKey(t *testing.T) {
	afterKeyCreation := func(c transport.Command) bool { return c.INS == 0x3C && c.P1 == 0x10 && c.P2 == 0x01 }
	beforeCommit := func(c transport.Command) bool { return c.INS == 0x3C && c.P1 == 0x11 }
	for _, tt := range []struct {
		name      string
		stop      func(transport.Command) bool
		interrupt func(*pairingSetup)
	}{
		{"reset after key creation", afterKeyCreation, func(s *pairingSetup) { s.card.Remove() }},
		{"reset before commit", beforeCommit, func(s *pairingSetup) { s.applet.Reset() }},
		{"select the applet", beforeCommit, func(s *pairingSetup) {
			s.applet.ProcessAPDU(nil, []byte("\x00\xA4\x04\x00\x0D"+string(dkey.AIDDigitalKey)))
		}},
		{"select the framework again", afterKeyCreation, func(s *pairingSetup) {
			s.applet.ProcessAPDU(nil, []byte("\x00\xA4\x04\x00\x0D"+string(dkey.AIDFramework)))
		}},
		{"cancel", beforeCommit, func(s *pairingSetup) { s.applet.CancelPairing() }},
		{"lost mode", afterKeyCreation, func(s *pairingSetup) { s.applet.SetLostMode(true) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newPairingSetup(t, dkey.CCC)
			if err := s.applet.StartPairing([]byte("1234")); err != nil {
				t.Fatal(err)
			}
			if err := s.run(t, tt.stop); err != nil {
				t.Fatalf("pairing up to the stop: %v", err)
			}
			if n := s.se.count(); n != 1 {
				t.Fatalf("%d keys in the secure element before the interruption, want 1", n)
			}
			tt.interrupt(s)
			if len(s.applet.Keys()) != 0 || s.se.count() != 0 {
				t.Errorf("after %s: applet keys %d, secure element %d, want none", tt.name, len(s.applet.Keys()), s.se.count())
			}
			// The run is over: OP CONTROL FLOW 11 11 commits nothing.
			s.applet.ProcessAPDU(nil, []byte{0x80, 0x3C, 0x11, 0x11})
			if len(s.applet.Keys()) != 0 {
				t.Errorf("a late 11 11 committed a key")
			}
		})
	}
}
