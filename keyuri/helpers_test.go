package keyuri

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// standardTransaction runs a standard transaction between a
// transaction.VehicleSession whose long-term key is vehicleKey and an
// EndpointSession, moving the APDUs by hand, and fails the test unless both
// sides authenticate and agree on Kpersistent: the vehicle's AUTH1
// signature, made by vehicleKey, verified on the endpoint.
func standardTransaction(t *testing.T, vehicleKey crypto.Signer) {
	t.Helper()
	vid, _ := dkey.NewVehicleID([]byte("HSM-VIN1"))
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: vid, Key: vehicleKey})
	if err != nil {
		t.Fatal(err)
	}
	vs := v.NewSession()
	endpointKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	slot, _ := dkey.NewKeySlot([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	cred := transaction.Credential{Slot: slot, Key: endpointKey, PublicKey: endpointKey.PublicKey(), VehicleKey: v.PublicKey()}
	es, err := transaction.NewEndpointSession(&transaction.EndpointConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ok := func(data []byte, err error) transport.Response {
		t.Helper()
		if err != nil {
			t.Fatalf("endpoint: %v", err)
		}
		return transport.Response{Data: data, SW: dkey.SWSuccess}
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(vs.Start(dkey.ActionEngineStart, 0))
	check(vs.ReadSelect(ok(es.Select(nil), nil)))
	auth0, err := vs.Auth0()
	check(err)
	_, err = es.ReadAuth0(&auth0)
	check(err)
	check(vs.ReadAuth0(ok(es.Auth0(nil, &cred))))
	auth1, err := vs.Auth1()
	check(err)
	data, epk, err := es.Auth1(nil, &auth1, nil, nil) // verifies the vehicle's signature
	if err != nil {
		t.Fatalf("the endpoint refused the AUTH1 signature of the key: %v", err)
	}
	res, err := vs.ReadAuth1(ok(data, nil))
	check(err)
	vpk, err := vs.VerifyEndpoint(endpointKey.PublicKey())
	check(err)
	if res.Slot != slot || !vpk.Equal(&epk) {
		t.Fatal("the two sides disagree after the transaction")
	}
}

// pkiKeys are the keys of a test PKI.
type pkiKeys struct {
	deviceRoot, instanceCA, vehicleRoot, vehicle crypto.Signer
}

// issueAndVerify issues a Device OEM root, an instance CA, an endpoint
// certificate, a Vehicle OEM root and a vehicle certificate with the given
// keys (through package cert) and verifies both chains, as pairing does.
func issueAndVerify(t *testing.T, k pkiKeys) {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := func(cn string) cert.Template {
		return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: start, NotAfter: start.AddDate(5, 0, 0)}
	}
	pub := func(s crypto.Signer) *dkey.PublicKey {
		p, err := dkey.PublicKeyOf(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	must := func(c *x509.Certificate, err error) *x509.Certificate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dr := must(cert.NewDeviceRoot(tmpl("Device OEM Root"), k.deviceRoot))
	ica := must(cert.NewInstanceCA(tmpl("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, pub(k.instanceCA), dr, k.deviceRoot))
	vr := must(cert.NewVehicleRoot(tmpl("Vehicle OEM Root"), k.vehicleRoot))
	vc := must(cert.NewVehicle(tmpl("Vehicle"), pub(k.vehicle), vr, k.vehicleRoot))
	endpointKey, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("HSM-VIN1"))
	slot, _ := dkey.NewKeySlot([]byte{8, 7, 6, 5, 4, 3, 2, 1})
	ext := &cert.EndpointExtension{Version: 1, VehicleID: vid, ProtocolVersion: dkey.Version1, VehiclePublicKey: pub(k.vehicle), InitialKeySlot: slot,
		ConfidentialMailboxSize: 64, PrivateMailboxSize: 512}
	ep := must(cert.NewEndpoint(tmpl("Endpoint"), ext, endpointKey.PublicKey(), ica, k.instanceCA))

	now := func() time.Time { return start.AddDate(1, 0, 0) }
	dp, vp := x509.NewCertPool(), x509.NewCertPool()
	dp.AddCert(dr)
	vp.AddCert(vr)
	if _, err := (&cert.Config{DeviceRoots: dp, Time: now}).VerifyEndpoint([][]byte{ep.Raw, ica.Raw}, vid, pub(k.vehicle)); err != nil {
		t.Errorf("endpoint chain: %v", err)
	}
	got, err := (&cert.Config{VehicleRoots: vp, Time: now}).VerifyVehicle([][]byte{vc.Raw})
	if err != nil {
		t.Fatalf("vehicle chain: %v", err)
	}
	if !got.Key.Equal(pub(k.vehicle)) {
		t.Error("the vehicle certificate does not certify the vehicle key")
	}
}
