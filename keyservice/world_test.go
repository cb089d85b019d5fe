package keyservice_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/boltstore"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// backend opens a fresh store for one test; open may be called again on
// the same storage (after a close for bbolt).
type backend struct {
	name string
	new  func(t testing.TB) (open func() keyservice.Store)
}

func boltBackend() backend {
	return backend{name: "bbolt", new: func(t testing.TB) func() keyservice.Store {
		path := filepath.Join(t.TempDir(), "dkserver.db")
		return func() keyservice.Store {
			s, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}}
}

// backends are the stores every end-to-end test runs on: bbolt, and
// PostgreSQL under scripts/postgres/run.sh (postgres_test.go).
func backends(t *testing.T) []backend {
	bs := []backend{boltBackend()}
	if pg, ok := postgresBackend(t); ok {
		bs = append(bs, pg)
	}
	return bs
}

func mustKey(t testing.TB) *dkey.SoftwareKey {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func tmpl(cn string) cert.Template {
	now := time.Now()
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
}

// pki is a Device OEM root and a Vehicle OEM root.
type pki struct {
	deviceKey, vehicleKey *dkey.SoftwareKey
	device, vehicle       *x509.Certificate
}

func newPKI(t testing.TB, name string) *pki {
	p := &pki{deviceKey: mustKey(t), vehicleKey: mustKey(t)}
	p.device = must[*x509.Certificate](t)(cert.NewDeviceRoot(tmpl(name+" Device OEM root"), p.deviceKey))
	p.vehicle = must[*x509.Certificate](t)(cert.NewVehicleRoot(tmpl(name+" Vehicle OEM root"), p.vehicleKey))
	return p
}

func (p *pki) config() *cert.Config {
	d, v := x509.NewCertPool(), x509.NewCertPool()
	d.AddCert(p.device)
	v.AddCert(p.vehicle)
	return &cert.Config{DeviceRoots: d, VehicleRoots: v}
}

// vehicleCert issues a vehicle certificate the service recognizes.
func (p *pki) vehicleCert(t testing.TB, id dkey.VehicleID, k *dkey.SoftwareKey) tls.Certificate {
	tp := tmpl("")
	tp.Subject = keyservice.VehicleName(id, "Vehicle "+id.String())
	c := must[*x509.Certificate](t)(cert.NewVehicle(tp, k.PublicKey(), p.vehicle, p.vehicleKey))
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k}
}

// phone is a device: an applet with an instance CA, and the default
// (software) secure element.
type phone struct {
	applet   *device.Applet
	card     *transporttest.Card
	instKey  *dkey.SoftwareKey
	instCert *x509.Certificate
}

func newPhone(t testing.TB, p *pki, name string) *phone {
	instKey := mustKey(t)
	inst := must[*x509.Certificate](t)(cert.NewInstanceCA(tmpl(name+" instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1}}, instKey.PublicKey(), p.device, p.deviceKey))
	a := must[*device.Applet](t)(device.NewApplet(&device.Config{InstanceCA: &device.InstanceCA{Certificate: inst, Key: instKey}}))
	return &phone{applet: a, card: transporttest.NewCard(a), instKey: instKey, instCert: inst}
}

func (ph *phone) deviceID() sharing.DeviceID { return sharing.DeviceIDOf(ph.instKey.PublicKey()) }

// signer returns the phone's key for vehicle as the applet lends it to the
// host app (SharingSigner), after a user authentication good for an hour.
func (ph *phone) signer(t testing.TB, vid dkey.VehicleID) crypto.Signer {
	ph.applet.AuthenticateUser(time.Now().Add(time.Hour))
	s, _, err := ph.applet.SharingSigner(vid)
	if err != nil {
		t.Fatalf("SharingSigner: %v", err)
	}
	return s
}

// endpointCert is the TLS identity of the phone's key for vehicle: its
// endpoint certificate from the instance CA and the key in the SE.
func (ph *phone) endpointCert(t testing.TB, vid dkey.VehicleID, vehicleKey *dkey.PublicKey) tls.Certificate {
	info, ok := ph.applet.Key(vid)
	if !ok {
		t.Fatalf("the phone has no key for %v", vid)
	}
	ext := &cert.EndpointExtension{Version: 1, VehicleID: vid, ProtocolVersion: dkey.Version1, VehiclePublicKey: vehicleKey, InitialKeySlot: info.Slot}
	leaf := must[*x509.Certificate](t)(cert.NewEndpoint(tmpl("endpoint"), ext, info.PublicKey, ph.instCert, ph.instKey))
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, ph.instCert.Raw}, PrivateKey: ph.signer(t, vid)}
}

// car is a vehicle reader with its certificate.
type car struct {
	id     dkey.VehicleID
	key    *dkey.SoftwareKey
	reader *vehicle.Reader
	cert   tls.Certificate
}

var ownerMailboxes = dkey.MailboxConfig{PrivateSize: 2048, ConfidentialSize: 64}

func newCar(t testing.TB, p *pki, vin string) *car {
	id := must[dkey.VehicleID](t)(dkey.NewVehicleID([]byte(vin)))
	k := mustKey(t)
	r := must[*vehicle.Reader](t)(vehicle.NewReader(&vehicle.Config{VehicleID: id, Key: k}))
	return &car{id: id, key: k, reader: r, cert: p.vehicleCert(t, id, k)}
}

// keyConfig is the configuration of an owner key for c.
func (c *car) keyConfig() device.KeyConfig {
	return device.KeyConfig{VehicleID: c.id, VehicleKey: c.reader.PublicKey(), Mailboxes: ownerMailboxes}
}

// enrollOwner creates an owner key on ph and enrolls it, as owner pairing
// does.
func (c *car) enrollOwner(t testing.TB, ph *phone) device.KeyInfo {
	info := must[device.KeyInfo](t)(ph.applet.CreateKey(c.keyConfig()))
	if err := c.reader.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), Mailboxes: ownerMailboxes, StatementArea: true}); err != nil {
		t.Fatal(err)
	}
	return info
}

var _ client.Applier = (*vehicle.Reader)(nil)

// report is what the vehicle reports to the service: every key it has
// enrolled.
func report(r *vehicle.Reader) func() []keyservice.ReportedKey {
	return func() []keyservice.ReportedKey {
		var out []keyservice.ReportedKey
		for _, k := range r.Keys() {
			out = append(out, keyservice.ReportedKey{Slot: k.Slot, PublicKey: k.PublicKey, Role: k.Role, Profile: k.Profile, State: k.State, NotBefore: k.NotBefore, NotAfter: k.NotAfter})
		}
		return out
	}
}

// service is a running key service on a loopback TLS listener.
type service struct {
	t       testing.TB
	srv     *keyservice.Server
	http    *http.Server
	url     string
	roots   *x509.CertPool
	tlsCert tls.Certificate
	tracked *dkey.SoftwareKey
	store   keyservice.Store

	mu       sync.Mutex
	refusals []*keyservice.Rejection
	accepted []*keyservice.CommandEvent
}

// serverTLS is a CA and a server certificate for 127.0.0.1.
func serverTLS(t testing.TB) (tls.Certificate, *x509.CertPool) {
	caKey := must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test service CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER := must[[]byte](t)(x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey))
	caCert := must[*x509.Certificate](t)(x509.ParseCertificate(caDER))
	key := must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der := must[[]byte](t)(x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey))
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

type serviceOptions struct {
	maxWait time.Duration
	poll    time.Duration
	addr    string
	now     func() time.Time
}

// startService runs a service on store until the test ends.
func startService(t testing.TB, p *pki, store keyservice.Store, opts serviceOptions) *service {
	tc, roots := serverTLS(t)
	s := &service{t: t, roots: roots, tlsCert: tc, tracked: mustKey(t), store: store}
	s.start(p, opts)
	return s
}

func (s *service) start(p *pki, opts serviceOptions) {
	t := s.t
	var err error
	s.srv, err = keyservice.New(&keyservice.Config{
		Store: s.store, Certificates: p.config(), TrackingKey: s.tracked, MaxWait: opts.maxWait, PollInterval: opts.poll, Time: opts.now,
		Hooks: &keyservice.Hooks{
			Refused: func(r *keyservice.Rejection) {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.refusals = append(s.refusals, r)
			},
			Accepted: func(e *keyservice.CommandEvent) {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.accepted = append(s.accepted, e)
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := opts.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.url = "https://" + ln.Addr().String()
	s.http = s.srv.HTTPServer(&tls.Config{Certificates: []tls.Certificate{s.tlsCert}})
	// Handshakes cut short by the tests' own faults and cancellations
	// are not news.
	s.http.ErrorLog = log.New(io.Discard, "", 0)
	go s.http.ServeTLS(ln, "", "")
	t.Cleanup(s.stop)
}

func (s *service) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		s.http.Close()
	}
}

// lastRefusal returns the last refusal the hooks saw.
func (s *service) lastRefusal() *keyservice.Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.refusals) == 0 {
		return nil
	}
	return s.refusals[len(s.refusals)-1]
}

func (s *service) refusalCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.refusals)
}

// client returns a client of the service with tc as its certificate (nil:
// anonymous).
func (s *service) client(t testing.TB, tc *tls.Certificate) *client.Client {
	return must[*client.Client](t)(client.New(&client.Config{URL: s.url, Certificate: tc, RootCAs: s.roots}))
}

// runLoop runs the command loop of c with applier until the test ends.
func runLoop(t testing.TB, c *client.Client, cfg *client.LoopConfig) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx, cfg); !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// eventually polls cond until it holds; the bound catches a hang, it is
// not a measurement.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
