package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/dkey"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testTemplate(cn string) Template {
	return Template{
		Subject:   pkix.Name{CommonName: cn},
		NotBefore: testNow.Add(-24 * time.Hour),
		NotAfter:  testNow.Add(365 * 24 * time.Hour),
	}
}

// testPKI is a complete Digital Key PKI: a device chain with and without
// the Device OEM intermediate, and a vehicle chain with every optional CA.
type testPKI struct {
	deviceRootKey, deviceInterKey, instanceKey, endpointKey  *dkey.SoftwareKey
	deviceRoot, deviceInter, instanceCA, endpoint            *x509.Certificate
	instanceCADirect, endpointDirect                         *x509.Certificate // under the root, no [F]
	vehicleRootKey, oemCAKey, vehicleInterKey, vehicleKey    *dkey.SoftwareKey
	vehicleRoot, oemCA, vehicleInter, vehicle, vehicleDirect *x509.Certificate
	vehicleID                                                dkey.VehicleID
	ext                                                      *EndpointExtension
	instanceExt                                              *InstanceCAExtension
	cfg                                                      *Config
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

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	c := must[*x509.Certificate](t)
	k := must[*dkey.SoftwareKey](t)
	p := &testPKI{
		deviceRootKey:   k(dkey.GenerateSoftwareKey()),
		deviceInterKey:  k(dkey.GenerateSoftwareKey()),
		instanceKey:     k(dkey.GenerateSoftwareKey()),
		endpointKey:     k(dkey.GenerateSoftwareKey()),
		vehicleRootKey:  k(dkey.GenerateSoftwareKey()),
		oemCAKey:        k(dkey.GenerateSoftwareKey()),
		vehicleInterKey: k(dkey.GenerateSoftwareKey()),
		vehicleKey:      k(dkey.GenerateSoftwareKey()),
		vehicleID:       mustVehicleID(t, []byte("VIN00001")),
	}
	p.deviceRoot = c(NewDeviceRoot(testTemplate("Device OEM Root"), p.deviceRootKey))
	p.deviceInter = c(NewDeviceIntermediate(testTemplate("Device OEM CA"), p.deviceInterKey.PublicKey(), p.deviceRoot, p.deviceRootKey))
	p.instanceExt = &InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}
	p.instanceCA = c(NewInstanceCA(testTemplate("Instance CA"), p.instanceExt, p.instanceKey.PublicKey(), p.deviceInter, p.deviceInterKey))
	p.instanceCADirect = c(NewInstanceCA(testTemplate("Instance CA"), p.instanceExt, p.instanceKey.PublicKey(), p.deviceRoot, p.deviceRootKey))
	p.ext = &EndpointExtension{
		Version:                 1,
		VehicleID:               p.vehicleID,
		ProtocolVersion:         dkey.Version1,
		VehiclePublicKey:        p.vehicleKey.PublicKey(),
		InitialKeySlot:          mustSlot(t, []byte{0, 0, 0, 0, 0, 0, 0, 1}),
		ConfidentialMailboxSize: 256,
		PrivateMailboxSize:      512,
	}
	p.endpoint = c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), p.instanceCA, p.instanceKey))
	p.endpointDirect = c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), p.instanceCADirect, p.instanceKey))

	p.vehicleRoot = c(NewVehicleRoot(testTemplate("Vehicle OEM Root"), p.vehicleRootKey))
	p.oemCA = c(NewVehicleOEMCA(testTemplate("Vehicle OEM CA"), p.oemCAKey.PublicKey(), p.vehicleRoot, p.vehicleRootKey))
	p.vehicleInter = c(NewVehicleIntermediate(testTemplate("Vehicle Intermediate"), p.vehicleInterKey.PublicKey(), p.oemCA, p.oemCAKey))
	p.vehicle = c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), p.vehicleInter, p.vehicleInterKey))
	p.vehicleDirect = c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), p.vehicleRoot, p.vehicleRootKey))

	p.cfg = &Config{DeviceRoots: x509.NewCertPool(), VehicleRoots: x509.NewCertPool(), Time: func() time.Time { return testNow }}
	p.cfg.DeviceRoots.AddCert(p.deviceRoot)
	p.cfg.VehicleRoots.AddCert(p.vehicleRoot)
	return p
}

func ders(certs ...*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}

// rawCert issues a certificate from a free-form template, for the cases the
// profile functions refuse to produce. pub is the subject key; a nil parent
// makes it self-signed.
func rawCert(t testing.TB, tmpl *x509.Certificate, pub any, parent *x509.Certificate, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(1)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = testNow.Add(-time.Hour), testNow.Add(time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cccExt(t testing.TB, k Kind, value []byte, critical bool) pkix.Extension {
	t.Helper()
	return pkix.Extension{Id: k.OID(), Critical: critical, Value: value}
}

func simpleValue(t testing.TB) []byte {
	t.Helper()
	v, err := (&SimpleExtension{Version: 1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// endpointTemplate is the x509 template NewEndpoint would use, with the
// given extensions.
func endpointTemplate(exts ...pkix.Extension) *x509.Certificate {
	return &x509.Certificate{
		Subject:            pkix.Name{CommonName: "Endpoint"},
		SignatureAlgorithm: x509.ECDSAWithSHA256,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		ExtraExtensions:    exts,
	}
}

func caTemplate(cn string, pathLen int, exts ...pkix.Extension) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		ExtraExtensions:       exts,
	}
}

func TestVerifyEndpoint(t *testing.T) {
	p := newTestPKI(t)
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		depth int
	}{
		{"with device OEM intermediate", []*x509.Certificate{p.endpoint, p.instanceCA, p.deviceInter}, 4},
		{"without device OEM intermediate", []*x509.Certificate{p.endpointDirect, p.instanceCADirect}, 3},
		{"root included", []*x509.Certificate{p.endpointDirect, p.instanceCADirect, p.deviceRoot}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.cfg.VerifyEndpoint(ders(tc.chain...), p.vehicleID, p.vehicleKey.PublicKey())
			if err != nil {
				t.Fatalf("VerifyEndpoint() = %v", err)
			}
			if !got.Key.Equal(p.endpointKey.PublicKey()) {
				t.Errorf("VerifyEndpoint().Key = %x, want %x", got.Key.Bytes(), p.endpointKey.PublicKey().Bytes())
			}
			if diff := cmp.Diff(p.ext, &got.Extension, cmpKeys, cmpIDs); diff != "" {
				t.Errorf("VerifyEndpoint().Extension mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(p.instanceExt, &got.InstanceCA); diff != "" {
				t.Errorf("VerifyEndpoint().InstanceCA mismatch (-want +got):\n%s", diff)
			}
			if len(got.Chain) != tc.depth || !got.Chain[len(got.Chain)-1].Equal(p.deviceRoot) {
				t.Errorf("VerifyEndpoint().Chain has %d certificates, want %d ending at the root", len(got.Chain), tc.depth)
			}
			if got.Extension.InitialKeySlot != p.ext.InitialKeySlot || got.Extension.PrivateMailboxSize != 512 || got.Extension.ConfidentialMailboxSize != 256 {
				t.Errorf("VerifyEndpoint() slot %v, mailboxes %d/%d", got.Extension.InitialKeySlot, got.Extension.ConfidentialMailboxSize, got.Extension.PrivateMailboxSize)
			}
		})
	}
	// The caller's parsed certificates are not modified.
	if len(p.endpoint.UnhandledCriticalExtensions) != 1 {
		t.Errorf("endpoint UnhandledCriticalExtensions = %v, want the CCC extension", p.endpoint.UnhandledCriticalExtensions)
	}
}

func TestVerifyVehicle(t *testing.T) {
	p := newTestPKI(t)
	k := must[*dkey.SoftwareKey](t)
	c := must[*x509.Certificate](t)
	oemCAKeyM := k(dkey.GenerateSoftwareKey())
	oemCAM := rawCert(t, caTemplate("Vehicle OEM CA M", 1, cccExt(t, KindVehicleOEMCAAlternative, simpleValue(t), true)), oemCAKeyM.PublicKey().ECDSA(), p.vehicleRoot, p.vehicleRootKey)
	underM := c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), oemCAM, oemCAKeyM))
	underJ := c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), p.oemCA, p.oemCAKey))
	inter8 := c(NewVehicleIntermediate(testTemplate("Vehicle Intermediate"), p.vehicleInterKey.PublicKey(), p.vehicleRoot, p.vehicleRootKey))
	under8 := c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), inter8, p.vehicleInterKey))
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
	}{
		{"directly under the root", []*x509.Certificate{p.vehicleDirect}},
		{"under OEM CA J", []*x509.Certificate{underJ, p.oemCA}},
		{"under OEM CA M", []*x509.Certificate{underM, oemCAM}},
		{"under vehicle intermediate", []*x509.Certificate{under8, inter8}},
		{"under intermediate and OEM CA", []*x509.Certificate{p.vehicle, p.vehicleInter, p.oemCA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.cfg.VerifyVehicle(ders(tc.chain...))
			if err != nil {
				t.Fatalf("VerifyVehicle() = %v", err)
			}
			if !got.Key.Equal(p.vehicleKey.PublicKey()) || got.Extension.Version != 1 {
				t.Errorf("VerifyVehicle() = key %x, extension %+v", got.Key.Bytes(), got.Extension)
			}
		})
	}
}

// TestVerifyEndpointErrors is the table of the chain failures, each with its
// typed error.
func TestVerifyEndpointErrors(t *testing.T) {
	p := newTestPKI(t)
	k := must[*dkey.SoftwareKey](t)
	c := must[*x509.Certificate](t)
	epKey := p.endpointKey.PublicKey().ECDSA()
	epExt, err := p.ext.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	endpointWith := func(exts ...pkix.Extension) *x509.Certificate {
		return rawCert(t, endpointTemplate(exts...), epKey, p.instanceCA, p.instanceKey)
	}
	good := cccExt(t, KindEndpoint, epExt, true)
	tmplAt := func(nb, na time.Time) Template {
		tt := testTemplate("Endpoint")
		tt.NotBefore, tt.NotAfter = nb, na
		return tt
	}
	otherRootKey := k(dkey.GenerateSoftwareKey())
	otherRoot := c(NewDeviceRoot(testTemplate("Device OEM Root"), otherRootKey))
	otherInter := c(NewDeviceIntermediate(testTemplate("Device OEM CA"), p.deviceInterKey.PublicKey(), otherRoot, otherRootKey))
	otherInstance := c(NewInstanceCA(testTemplate("Instance CA"), p.instanceExt, p.instanceKey.PublicKey(), otherInter, p.deviceInterKey))
	otherEndpoint := c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), otherInstance, p.instanceKey))

	expiredInstance := c(NewInstanceCA(Template{Subject: pkix.Name{CommonName: "Instance CA"}, NotBefore: testNow.Add(-48 * time.Hour), NotAfter: testNow.Add(-time.Hour)}, p.instanceExt, p.instanceKey.PublicKey(), p.deviceInter, p.deviceInterKey))

	// An expired root in the pool.
	expiredRootKey := k(dkey.GenerateSoftwareKey())
	expiredRoot := rawCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Old Root"}, NotBefore: testNow.Add(-48 * time.Hour), NotAfter: testNow.Add(-time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: x509.ECDSAWithSHA256}, expiredRootKey.PublicKey().ECDSA(), nil, expiredRootKey)
	expiredRootInstance := c(NewInstanceCA(testTemplate("Instance CA"), p.instanceExt, p.instanceKey.PublicKey(), expiredRoot, expiredRootKey))
	expiredRootEndpoint := c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), expiredRootInstance, p.instanceKey))
	expiredRootCfg := p.cfg.Clone()
	expiredRootCfg.DeviceRoots = x509.NewCertPool()
	expiredRootCfg.DeviceRoots.AddCert(expiredRoot)

	// A root that allows no intermediate.
	tightRootKey := k(dkey.GenerateSoftwareKey())
	tightRoot := rawCert(t, caTemplate("Tight Root", 0), tightRootKey.PublicKey().ECDSA(), nil, tightRootKey)
	tightInter := c(NewDeviceIntermediate(testTemplate("Device OEM CA"), p.deviceInterKey.PublicKey(), tightRoot, tightRootKey))
	tightInstance := c(NewInstanceCA(testTemplate("Instance CA"), p.instanceExt, p.instanceKey.PublicKey(), tightInter, p.deviceInterKey))
	tightEndpoint := c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), tightInstance, p.instanceKey))
	tightCfg := p.cfg.Clone()
	tightCfg.DeviceRoots = x509.NewCertPool()
	tightCfg.DeviceRoots.AddCert(tightRoot)

	// Three intermediates: root → F → F2 → E → H.
	inter2Key := k(dkey.GenerateSoftwareKey())
	inter2 := rawCert(t, caTemplate("Device OEM CA 2", 1, cccExt(t, KindDeviceIntermediate, simpleValue(t), true)), inter2Key.PublicKey().ECDSA(), p.deviceInter, p.deviceInterKey)
	longInstance := c(NewInstanceCA(testTemplate("Instance CA"), p.instanceExt, p.instanceKey.PublicKey(), inter2, inter2Key))
	longEndpoint := c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), longInstance, p.instanceKey))

	// A P-384 root, an endpoint key on P-384, an ECDSA-SHA384 signature.
	p384Root, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384RootCert := rawCert(t, caTemplate("P-384 Root", 2), &p384Root.PublicKey, nil, p384Root)
	p384Instance := rawCert(t, caTemplate("Instance CA", 0, cccExt(t, KindInstanceCA, must[[]byte](t)(p.instanceExt.Marshal()), true)), p.instanceKey.PublicKey().ECDSA(), p384RootCert, p384Root)
	p384Endpoint := rawCert(t, endpointTemplate(good), epKey, p384Instance, p.instanceKey)
	p384Cfg := p.cfg.Clone()
	p384Cfg.DeviceRoots = x509.NewCertPool()
	p384Cfg.DeviceRoots.AddCert(p384RootCert)
	p384Leaf, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sha384Tmpl := endpointTemplate(good)
	sha384Tmpl.SignatureAlgorithm = x509.ECDSAWithSHA384
	sha384Signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // dkey.SoftwareKey signs SHA-256 only
	if err != nil {
		t.Fatal(err)
	}
	sha384Instance := rawCert(t, caTemplate("Instance CA", 0, cccExt(t, KindInstanceCA, must[[]byte](t)(p.instanceExt.Marshal()), true)), &sha384Signer.PublicKey, p.deviceInter, p.deviceInterKey)

	// Instance CA without keyCertSign; endpoint that is a CA.
	noCertSign := caTemplate("Instance CA", 0, cccExt(t, KindInstanceCA, must[[]byte](t)(p.instanceExt.Marshal()), true))
	noCertSign.KeyUsage = x509.KeyUsageDigitalSignature
	noCertSignCA := rawCert(t, noCertSign, p.instanceKey.PublicKey().ECDSA(), p.deviceInter, p.deviceInterKey)
	caLeafTmpl := caTemplate("Endpoint", 0, good)
	caLeafTmpl.KeyUsage |= x509.KeyUsageDigitalSignature
	noDigitalSignature := endpointTemplate(good)
	noDigitalSignature.KeyUsage = x509.KeyUsageKeyAgreement

	// Instance CA without its extension.
	bareInstance := rawCert(t, caTemplate("Instance CA", 0), p.instanceKey.PublicKey().ECDSA(), p.deviceInter, p.deviceInterKey)
	underBare := rawCert(t, endpointTemplate(good), epKey, bareInstance, p.instanceKey)
	// Endpoint directly under the Device OEM intermediate.
	underInter := rawCert(t, endpointTemplate(good), epKey, p.deviceInter, p.deviceInterKey)

	tampered := append([]byte(nil), p.endpoint.Raw...)
	tampered[len(tampered)-5] ^= 1

	otherVehicle := mustVehicleID(t, []byte("VIN00002"))
	otherVehicleKey := k(dkey.GenerateSoftwareKey()).PublicKey()
	badExt := malformedEndpointExtension(t, p.ext)

	for _, tc := range []struct {
		name       string
		cfg        *Config
		chain      [][]byte
		vehicle    *dkey.VehicleID
		vehicleKey *dkey.PublicKey
		want       error
		depth      int
	}{
		{name: "expired", chain: ders(c(NewEndpoint(tmplAt(testNow.Add(-48*time.Hour), testNow.Add(-time.Second)), p.ext, p.endpointKey.PublicKey(), p.instanceCA, p.instanceKey)), p.instanceCA, p.deviceInter), want: ErrExpired, depth: 0},
		{name: "not yet valid", chain: ders(c(NewEndpoint(tmplAt(testNow.Add(time.Second), testNow.Add(48*time.Hour)), p.ext, p.endpointKey.PublicKey(), p.instanceCA, p.instanceKey)), p.instanceCA, p.deviceInter), want: ErrNotYetValid, depth: 0},
		{name: "expired instance CA", chain: ders(c(NewEndpoint(testTemplate("Endpoint"), p.ext, p.endpointKey.PublicKey(), expiredInstance, p.instanceKey)), expiredInstance, p.deviceInter), want: ErrExpired, depth: 1},
		{name: "expired root", cfg: expiredRootCfg, chain: ders(expiredRootEndpoint, expiredRootInstance), want: ErrExpired, depth: -1},
		{name: "wrong root", chain: ders(otherEndpoint, otherInstance, otherInter), want: ErrUnknownRoot, depth: -1},
		{name: "no roots", cfg: &Config{Time: p.cfg.Time}, chain: ders(p.endpoint, p.instanceCA, p.deviceInter), want: ErrUnknownRoot, depth: -1},
		{name: "nil config", cfg: nil, chain: ders(p.endpoint, p.instanceCA, p.deviceInter), want: ErrUnknownRoot, depth: -1},
		{name: "tampered signature", chain: [][]byte{tampered, p.instanceCA.Raw, p.deviceInter.Raw}, want: ErrUnknownRoot, depth: -1},
		{name: "missing intermediate", chain: ders(p.endpoint, p.instanceCA), want: ErrUnknownRoot, depth: -1},
		{name: "wrong vehicle identifier", chain: ders(p.endpoint, p.instanceCA, p.deviceInter), vehicle: &otherVehicle, want: ErrWrongVehicle, depth: 0},
		{name: "wrong vehicle key", chain: ders(p.endpoint, p.instanceCA, p.deviceInter), vehicleKey: otherVehicleKey, want: ErrWrongVehicle, depth: 0},
		{name: "no vehicle", chain: ders(p.endpoint, p.instanceCA, p.deviceInter), vehicle: &dkey.VehicleID{}, want: ErrWrongVehicle, depth: -1},
		{name: "missing endpoint extension", chain: ders(endpointWith(), p.instanceCA, p.deviceInter), want: ErrMissingExtension, depth: 0},
		{name: "missing instance CA extension", chain: ders(underBare, bareInstance, p.deviceInter), want: ErrMissingExtension, depth: 1},
		{name: "endpoint directly under the root", chain: ders(rawCert(t, endpointTemplate(good), epKey, p.deviceRoot, p.deviceRootKey)), want: ErrMissingExtension, depth: 1},
		{name: "no instance CA", chain: ders(underInter, p.deviceInter), want: ErrMisplacedExtension, depth: 1},
		{name: "malformed endpoint extension", chain: ders(endpointWith(cccExt(t, KindEndpoint, badExt, true)), p.instanceCA, p.deviceInter), want: ErrMalformedExtension, depth: 0},
		{name: "endpoint extension not DER", chain: ders(endpointWith(cccExt(t, KindEndpoint, []byte{0x30, 0x80, 0, 0}, true)), p.instanceCA, p.deviceInter), want: ErrMalformedExtension, depth: 0},
		{name: "endpoint extension not critical", chain: ders(endpointWith(cccExt(t, KindEndpoint, epExt, false)), p.instanceCA, p.deviceInter), want: ErrMalformedExtension, depth: 0},
		{name: "unknown critical extension", chain: ders(endpointWith(good, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}), p.instanceCA, p.deviceInter), want: ErrUnknownCriticalExtension, depth: 0},
		{name: "unknown critical CCC extension", chain: ders(endpointWith(good, pkix.Extension{Id: Kind(11).OID(), Critical: true, Value: simpleValue(t)}), p.instanceCA, p.deviceInter), want: ErrUnknownCriticalExtension, depth: 0},
		{name: "instance CA extension on the endpoint", chain: ders(endpointWith(cccExt(t, KindInstanceCA, must[[]byte](t)(p.instanceExt.Marshal()), true)), p.instanceCA, p.deviceInter), want: ErrMisplacedExtension, depth: 0},
		{name: "vehicle extension on the endpoint", chain: ders(endpointWith(good, cccExt(t, KindVehicle, simpleValue(t), true)), p.instanceCA, p.deviceInter), want: ErrMisplacedExtension, depth: 0},
		{name: "path too long", chain: ders(longEndpoint, longInstance, inter2, p.deviceInter), want: ErrPathTooLong, depth: -1},
		{name: "path length constraint", cfg: tightCfg, chain: ders(tightEndpoint, tightInstance, tightInter), want: ErrPathTooLong, depth: -1},
		{name: "P-384 endpoint key", chain: ders(rawCert(t, endpointTemplate(good), &p384Leaf.PublicKey, p.instanceCA, p.instanceKey), p.instanceCA, p.deviceInter), want: ErrWrongAlgorithm, depth: 0},
		{name: "ECDSA-SHA384 signature", chain: ders(rawCert(t, sha384Tmpl, epKey, sha384Instance, sha384Signer), sha384Instance, p.deviceInter), want: ErrWrongAlgorithm, depth: 0},
		{name: "P-384 root", cfg: p384Cfg, chain: ders(p384Endpoint, p384Instance), want: ErrWrongAlgorithm, depth: 2},
		{name: "instance CA without keyCertSign", chain: ders(rawCert(t, endpointTemplate(good), epKey, noCertSignCA, p.instanceKey), noCertSignCA, p.deviceInter), want: ErrKeyUsage, depth: 1},
		{name: "endpoint is a CA", chain: ders(rawCert(t, caLeafTmpl, epKey, p.instanceCA, p.instanceKey), p.instanceCA, p.deviceInter), want: ErrKeyUsage, depth: 0},
		{name: "endpoint without digitalSignature", chain: ders(rawCert(t, noDigitalSignature, epKey, p.instanceCA, p.instanceKey), p.instanceCA, p.deviceInter), want: ErrKeyUsage, depth: 0},
		{name: "vehicle chain as endpoint chain", chain: ders(p.vehicle, p.vehicleInter, p.oemCA), want: ErrUnknownRoot, depth: -1},
		{name: "empty chain", chain: nil, want: ErrMalformedCertificate, depth: -1},
		{name: "garbage", chain: [][]byte{{0x30, 0x03, 0x02, 0x01, 0x01}}, want: ErrMalformedCertificate, depth: 0},
		{name: "oversized certificate", chain: [][]byte{make([]byte, MaxCertificateSize+1)}, want: ErrMalformedCertificate, depth: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := p.cfg
			if tc.cfg != nil || tc.name == "nil config" {
				cfg = tc.cfg
			}
			vehicle, vehicleKey := p.vehicleID, p.vehicleKey.PublicKey()
			if tc.vehicle != nil {
				vehicle = *tc.vehicle
			}
			if tc.vehicleKey != nil {
				vehicleKey = tc.vehicleKey
			}
			_, err := cfg.VerifyEndpoint(tc.chain, vehicle, vehicleKey)
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifyEndpoint() = %v, want *ChainError", err)
			}
			if !errors.Is(err, tc.want) || ce.Reason != tc.want {
				t.Errorf("VerifyEndpoint() = %v, want %v", err, tc.want)
			}
			if ce.Depth != tc.depth {
				t.Errorf("VerifyEndpoint() = %v at depth %d, want depth %d", err, ce.Depth, tc.depth)
			}
		})
	}
}

// malformedEndpointExtension returns the encoding of e with
// private_mailbox_size 0, outside its range.
func malformedEndpointExtension(t testing.TB, e *EndpointExtension) []byte {
	t.Helper()
	m := *e
	m.PrivateMailboxSize = 1
	der := must[[]byte](t)(m.Marshal())
	der[len(der)-1] = 0
	return der
}

func TestVerifyEndpointMalformedExtensionDetail(t *testing.T) {
	p := newTestPKI(t)
	epExt := malformedEndpointExtension(t, p.ext)
	leaf := rawCert(t, endpointTemplate(cccExt(t, KindEndpoint, epExt, true)), p.endpointKey.PublicKey().ECDSA(), p.instanceCA, p.instanceKey)
	_, err := p.cfg.VerifyEndpoint(ders(leaf, p.instanceCA, p.deviceInter), p.vehicleID, p.vehicleKey.PublicKey())
	var ee *ExtensionError
	if !errors.As(err, &ee) || ee.Field != "private_mailbox_size" {
		t.Errorf("VerifyEndpoint() = %v, want *ExtensionError for private_mailbox_size", err)
	}
}

func TestVerifyVehicleErrors(t *testing.T) {
	p := newTestPKI(t)
	k := must[*dkey.SoftwareKey](t)
	c := must[*x509.Certificate](t)
	// Root → [8] → [J] → K: the CAs in the wrong order.
	inter8 := rawCert(t, caTemplate("Vehicle Intermediate", 1, cccExt(t, KindVehicleIntermediate, simpleValue(t), true)), p.vehicleInterKey.PublicKey().ECDSA(), p.vehicleRoot, p.vehicleRootKey)
	jUnder8 := rawCert(t, caTemplate("Vehicle OEM CA", 0, cccExt(t, KindVehicleOEMCA, simpleValue(t), true)), p.oemCAKey.PublicKey().ECDSA(), inter8, p.vehicleInterKey)
	swapped := c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), jUnder8, p.oemCAKey))
	// A vehicle certificate without its extension.
	bare := rawCert(t, endpointTemplate(), p.vehicleKey.PublicKey().ECDSA(), p.vehicleRoot, p.vehicleRootKey)
	// Wrong root.
	otherRootKey := k(dkey.GenerateSoftwareKey())
	otherRoot := c(NewVehicleRoot(testTemplate("Vehicle OEM Root"), otherRootKey))
	otherVehicle := c(NewVehicle(testTemplate("VIN00001"), p.vehicleKey.PublicKey(), otherRoot, otherRootKey))
	expired := c(NewVehicle(Template{Subject: pkix.Name{CommonName: "VIN00001"}, NotBefore: testNow.Add(-48 * time.Hour), NotAfter: testNow.Add(-time.Hour)}, p.vehicleKey.PublicKey(), p.vehicleRoot, p.vehicleRootKey))
	for _, tc := range []struct {
		name  string
		chain [][]byte
		want  error
		depth int
	}{
		{"wrong root", ders(otherVehicle), ErrUnknownRoot, -1},
		{"expired", ders(expired), ErrExpired, 0},
		{"CAs in the wrong order", ders(swapped, jUnder8, inter8), ErrMisplacedExtension, 1},
		{"missing vehicle extension", ders(bare), ErrMissingExtension, 0},
		{"endpoint chain as vehicle chain", ders(p.endpoint, p.instanceCA, p.deviceInter), ErrUnknownRoot, -1},
		{"path too long", ders(p.vehicle, p.vehicleInter, p.oemCA, p.vehicleRoot), ErrPathTooLong, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.cfg.VerifyVehicle(tc.chain)
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Reason != tc.want || !errors.Is(err, tc.want) {
				t.Fatalf("VerifyVehicle() = %v, want %v", err, tc.want)
			}
			if ce.Depth != tc.depth {
				t.Errorf("VerifyVehicle() = %v at depth %d, want depth %d", err, ce.Depth, tc.depth)
			}
		})
	}
	// An endpoint certificate where the vehicle certificate belongs, under
	// the vehicle root.
	epUnderVehicleRoot := rawCert(t, endpointTemplate(cccExt(t, KindEndpoint, must[[]byte](t)(p.ext.Marshal()), true)), p.vehicleKey.PublicKey().ECDSA(), p.vehicleRoot, p.vehicleRootKey)
	if _, err := p.cfg.VerifyVehicle(ders(epUnderVehicleRoot)); !errors.Is(err, ErrMisplacedExtension) {
		t.Errorf("VerifyVehicle(endpoint certificate) = %v, want %v", err, ErrMisplacedExtension)
	}
}

func TestChainErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *ChainError
		want string
	}{
		{&ChainError{Reason: ErrExpired, Depth: 1}, "cert: certificate 1: certificate expired"},
		{&ChainError{Reason: ErrUnknownRoot, Depth: -1, Err: errNoRoots}, "cert: certificate signed by unknown authority: no trust anchors configured"},
		{&ChainError{Reason: ErrMalformedExtension, Depth: 0, Err: extErr("vehicle_PK")}, "cert: certificate 0: malformed CCC extension: malformed CCC extension: vehicle_PK"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestIssueErrors(t *testing.T) {
	p := newTestPKI(t)
	pub := p.endpointKey.PublicKey()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    func() error
		want error
	}{
		{"empty subject", func() error {
			_, err := NewVehicle(Template{NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}, pub, p.vehicleRoot, p.vehicleRootKey)
			return err
		}, nil},
		{"no validity", func() error {
			_, err := NewVehicle(Template{Subject: pkix.Name{CommonName: "x"}}, pub, p.vehicleRoot, p.vehicleRootKey)
			return err
		}, nil},
		{"P-384 issuer", func() error {
			_, err := NewVehicle(testTemplate("x"), pub, p.vehicleRoot, p384)
			return err
		}, ErrWrongAlgorithm},
		{"P-384 root", func() error { _, err := NewDeviceRoot(testTemplate("x"), p384); return err }, ErrWrongAlgorithm},
		{"issuer does not match parent", func() error {
			_, err := NewVehicle(testTemplate("x"), pub, p.vehicleRoot, p.deviceRootKey)
			return err
		}, nil},
		{"bad endpoint extension", func() error {
			_, err := NewEndpoint(testTemplate("x"), &EndpointExtension{}, pub, p.instanceCA, p.instanceKey)
			return err
		}, ErrMalformedExtension},
		{"nil endpoint extension", func() error {
			_, err := NewEndpoint(testTemplate("x"), nil, pub, p.instanceCA, p.instanceKey)
			return err
		}, nil},
		{"nil subject", func() error {
			_, err := NewVehicle(testTemplate("x"), nil, p.vehicleRoot, p.vehicleRootKey)
			return err
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("issue = %v, want an error matching %v", err, tc.want)
			}
		})
	}
}

// TestIssuedProfile checks what the issuance functions put in the
// certificates, and reports their sizes.
func TestIssuedProfile(t *testing.T) {
	p := newTestPKI(t)
	for _, tc := range []struct {
		name    string
		c       *x509.Certificate
		kind    Kind
		ca      bool
		pathLen int
	}{
		{"device root", p.deviceRoot, 0, true, 2},
		{"device OEM intermediate", p.deviceInter, KindDeviceIntermediate, true, 1},
		{"instance CA", p.instanceCA, KindInstanceCA, true, 0},
		{"endpoint", p.endpoint, KindEndpoint, false, -1},
		{"vehicle root", p.vehicleRoot, 0, true, 2},
		{"vehicle OEM CA", p.oemCA, KindVehicleOEMCA, true, 1},
		{"vehicle intermediate", p.vehicleInter, KindVehicleIntermediate, true, 0},
		{"vehicle", p.vehicle, KindVehicle, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			t.Logf("%s: %d bytes", tc.name, len(c.Raw))
			if c.SignatureAlgorithm != x509.ECDSAWithSHA256 || !isP256(c.PublicKey) {
				t.Errorf("algorithms %v, %T", c.SignatureAlgorithm, c.PublicKey)
			}
			if c.SerialNumber.Sign() <= 0 || len(c.SerialNumber.Bytes()) > 20 {
				t.Errorf("serial %v", c.SerialNumber)
			}
			if c.IsCA != tc.ca || (tc.ca && c.MaxPathLen != tc.pathLen) {
				t.Errorf("IsCA %v MaxPathLen %d, want %v %d", c.IsCA, c.MaxPathLen, tc.ca, tc.pathLen)
			}
			if len(c.ExtKeyUsage) != 0 {
				t.Errorf("ExtKeyUsage = %v, want none", c.ExtKeyUsage)
			}
			var found []Kind
			for _, e := range c.Extensions {
				if k, ok := isCCCOID(e.Id); ok {
					found = append(found, k)
					if !e.Critical {
						t.Errorf("%v extension not critical", k)
					}
				}
			}
			want := []Kind{}
			if tc.kind != 0 {
				want = []Kind{tc.kind}
			}
			if diff := cmp.Diff(want, found, cmp.Comparer(func(a, b []Kind) bool { return len(a) == len(b) && (len(a) == 0 || a[0] == b[0]) })); diff != "" {
				t.Errorf("CCC extensions mismatch (-want +got):\n%s", diff)
			}
			if len(c.Raw) > 600 {
				t.Errorf("certificate is %d bytes, want at most 600 (docs/protocol.md §10.3)", len(c.Raw))
			}
		})
	}
}

func BenchmarkVerifyEndpoint(b *testing.B) {
	p := newTestPKI(b)
	chain := ders(p.endpoint, p.instanceCA, p.deviceInter)
	vk := p.vehicleKey.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.cfg.VerifyEndpoint(chain, p.vehicleID, vk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyVehicle(b *testing.B) {
	p := newTestPKI(b)
	chain := ders(p.vehicle, p.vehicleInter, p.oemCA)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.cfg.VerifyVehicle(chain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEndpointExtension(b *testing.B) {
	der, err := fullEndpointExtension(b).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEndpointExtension(der); err != nil {
			b.Fatal(err)
		}
	}
}
