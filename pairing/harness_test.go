package pairing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// testNow is the clock of every test: inside the validity of the test PKI.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func testTime() time.Time { return testNow }

// fastParams are the cheapest scrypt parameters the limits allow, for tests
// that run many pairings.
var fastParams = ScryptParams{N: MinScryptN, R: 8, P: 1}

// testPKI is a Device OEM and a Vehicle OEM with one applet instance and one
// vehicle.
type testPKI struct {
	deviceRoot, intermediate, instanceCA *x509.Certificate
	instanceKey                          *dkey.SoftwareKey
	vehicleRoot, vehicleCA, vehicleCert  *x509.Certificate
	vehicleKey                           *dkey.SoftwareKey
	vid                                  dkey.VehicleID
}

func tmpl(cn string) cert.Template {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: start, NotAfter: start.AddDate(10, 0, 0)}
}

func mustKey(t testing.TB) *dkey.SoftwareKey {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newPKI issues the certificates. withIntermediates adds a Device OEM
// intermediate [F] and a Vehicle OEM CA [J].
func newPKI(t testing.TB, withIntermediates bool) *testPKI {
	t.Helper()
	p := &testPKI{}
	check := func(c *x509.Certificate, err error) *x509.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	drKey := mustKey(t)
	p.deviceRoot = check(cert.NewDeviceRoot(tmpl("Device OEM Root"), drKey))
	issuer, issuerKey := p.deviceRoot, crypto.Signer(drKey)
	if withIntermediates {
		k := mustKey(t)
		p.intermediate = check(cert.NewDeviceIntermediate(tmpl("Device OEM CA"), k.PublicKey(), p.deviceRoot, drKey))
		issuer, issuerKey = p.intermediate, k
	}
	p.instanceKey = mustKey(t)
	p.instanceCA = check(cert.NewInstanceCA(tmpl("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}},
		p.instanceKey.PublicKey(), issuer, issuerKey))

	vrKey := mustKey(t)
	p.vehicleRoot = check(cert.NewVehicleRoot(tmpl("Vehicle OEM Root"), vrKey))
	issuer, issuerKey = p.vehicleRoot, vrKey
	if withIntermediates {
		k := mustKey(t)
		p.vehicleCA = check(cert.NewVehicleOEMCA(tmpl("Vehicle OEM CA"), k.PublicKey(), p.vehicleRoot, vrKey))
		issuer, issuerKey = p.vehicleCA, k
	}
	p.vehicleKey = mustKey(t)
	p.vehicleCert = check(cert.NewVehicle(tmpl("Vehicle"), p.vehicleKey.PublicKey(), issuer, issuerKey))
	p.vid, _ = dkey.NewVehicleID([]byte("VIN00001"))
	return p
}

func (p *testPKI) vehicleConfig() *VehicleConfig {
	chain := [][]byte{p.vehicleCert.Raw}
	if p.vehicleCA != nil {
		chain = append(chain, p.vehicleCA.Raw)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.deviceRoot)
	return &VehicleConfig{
		VehicleID: p.vid, VehicleKey: p.vehicleKey.PublicKey(), VehicleRoot: p.vehicleRoot.Raw, Certificates: chain,
		DeviceRoots: roots, Time: testTime, Brand: 0x0042,
	}
}

func (p *testPKI) deviceConfig() *DeviceConfig {
	return &DeviceConfig{InstanceCA: p.instanceCA, InstanceCAKey: p.instanceKey, Intermediate: p.intermediate, Time: testTime}
}

// memStore is a SecureElement that counts the keys alive in its "secure element".
type memStore struct {
	live      map[crypto.Signer]bool
	vehicles  map[dkey.VehicleID]bool
	committed []*DeviceResult
	failNew   error
}

func newMemStore() *memStore {
	return &memStore{live: map[crypto.Signer]bool{}, vehicles: map[dkey.VehicleID]bool{}}
}

func (s *memStore) NewKey(v dkey.VehicleID) (crypto.Signer, error) {
	if s.failNew != nil {
		return nil, s.failNew
	}
	if s.vehicles[v] {
		return nil, fmt.Errorf("%w: %v", ErrDeviceHasKey, v)
	}
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return nil, err
	}
	s.live[k] = true
	return k, nil
}

func (s *memStore) DeleteKey(k crypto.Signer) error {
	if !s.live[k] {
		return errors.New("memStore: unknown key")
	}
	delete(s.live, k)
	return nil
}

func (s *memStore) Commit(r *DeviceResult) error {
	if s.vehicles[r.VehicleID] {
		return ErrDeviceHasKey
	}
	s.vehicles[r.VehicleID] = true
	s.committed = append(s.committed, r)
	return nil
}

// deviceCard is the framework as a transport.Card: SELECT starts a new
// DeviceSession, everything else goes to it.
type deviceCard struct {
	cfg      *DeviceConfig
	store    *memStore
	password []byte
	d        *DeviceSession
	runs     []*DeviceSession
}

func (c *deviceCard) ProcessAPDU(dst, apdu []byte) []byte {
	cmd, err := transport.ParseCommand(apdu)
	if err != nil {
		return transport.AppendResponse(dst, nil, dkey.SWWrongLength)
	}
	if cmd.CLA == claISO && cmd.INS == insSelect {
		if c.d != nil {
			c.d.Close()
			c.d = nil
		}
		if !dkey.AIDFramework.Selects(cmd.Data) {
			return transport.AppendResponse(dst, nil, dkey.SWFileNotFound)
		}
		if c.d, err = NewDeviceSession(c.cfg, c.store, c.password); err != nil {
			return transport.AppendResponse(dst, nil, dkey.SWNoPreciseDiagnosis)
		}
		c.runs = append(c.runs, c.d)
		return transport.AppendResponse(c.d.AppendSelect(dst), nil, dkey.SWSuccess)
	}
	if c.d == nil {
		return transport.AppendResponse(dst, nil, dkey.SWConditionsNotSatisfied)
	}
	start := len(dst)
	out, err := c.d.Process(dst, &cmd)
	if err != nil {
		return transport.AppendResponse(dst[:start], nil, StatusWordFor(err))
	}
	return transport.AppendResponse(out, nil, dkey.SWSuccess)
}

func (c *deviceCard) Reset() {
	if c.d != nil {
		c.d.Close()
		c.d = nil
	}
}

// drive runs the vehicle core over t, sending the abort on failure, as
// package vehicle does (without the attempt counter).
func drive(ctx context.Context, t transport.Transceiver, p *VehicleSession) (*VehicleResult, error) {
	c := transport.NewClient(t, nil)
	cmd, err := p.Start()
	if err != nil {
		return nil, err
	}
	for {
		resp, err := c.Do(ctx, &cmd, nil)
		if err != nil {
			return nil, err
		}
		st, err := p.Next(resp)
		if err != nil {
			if a, ok := p.Abort(); ok {
				_, _ = c.Do(ctx, &a, nil)
			}
			return nil, err
		}
		if st.Done {
			res, _ := p.Result()
			return res, nil
		}
		cmd = st.Command
	}
}

// fixture is one vehicle and one device, ready to pair.
type fixture struct {
	pki      *testPKI
	verifier *Verifier
	vcfg     *VehicleConfig
	card     *deviceCard
	link     *transporttest.Card
}

func newFixture(t testing.TB, password string, intermediates bool) *fixture {
	t.Helper()
	pki := newPKI(t, intermediates)
	v, err := NewVerifier([]byte("123456"), []byte("0123456789abcdef"), fastParams)
	if err != nil {
		t.Fatal(err)
	}
	card := &deviceCard{cfg: pki.deviceConfig(), store: newMemStore(), password: []byte(password)}
	return &fixture{pki: pki, verifier: v, vcfg: pki.vehicleConfig(), card: card, link: transporttest.NewCard(transport.NewChainingCard(card))}
}

func (f *fixture) pair(t testing.TB) (*VehicleResult, error) {
	t.Helper()
	p, err := NewVehicleSession(f.vcfg, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	return drive(context.Background(), f.link, p)
}

// checkNoKey fails unless the device committed nothing and holds no key.
func (f *fixture) checkNoKey(t testing.TB) {
	t.Helper()
	if n := len(f.card.store.committed); n != 0 {
		t.Errorf("device committed %d keys, want 0", n)
	}
	if n := len(f.card.store.live); n != 0 {
		t.Errorf("%d keys left in the secure element, want 0", n)
	}
}

func newPool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// dkeyVersionList is the empty version list, which defaultVersions turns
// into 1.0.
func dkeyVersionList() dkey.VersionList { return dkey.VersionList{} }

// tamperCard sits between the chaining layer and the framework and may
// change commands and responses; it records the commands it sees.
type tamperCard struct {
	inner transport.Card
	cmd   func(apdu []byte)
	resp  func(cmd, resp []byte) []byte
	seen  [][]byte
}

func (c *tamperCard) ProcessAPDU(dst, apdu []byte) []byte {
	apdu = bytes.Clone(apdu)
	if c.cmd != nil {
		c.cmd(apdu)
	}
	c.seen = append(c.seen, apdu)
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

// withTamper puts a tamperCard in front of the fixture's framework.
func (f *fixture) withTamper() *tamperCard {
	tc := &tamperCard{inner: f.card}
	f.link = transporttest.NewCard(transport.NewChainingCard(tc))
	return tc
}

// lastCommand returns the last command the framework saw.
func (c *tamperCard) lastCommand() []byte {
	if len(c.seen) == 0 {
		return nil
	}
	return c.seen[len(c.seen)-1]
}
