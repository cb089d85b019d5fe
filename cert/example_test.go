package cert_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
)

// Example issues a device chain (Device OEM root, instance CA, endpoint) and
// verifies it as the vehicle does at owner pairing.
func Example() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tmpl := func(cn string) cert.Template {
		return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now, NotAfter: now.AddDate(10, 0, 0)}
	}
	key := func() *dkey.SoftwareKey {
		k, err := dkey.GenerateSoftwareKey() // in a real device, keys live in the secure element
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	rootKey, instanceKey, endpointKey, vehicleKey := key(), key(), key(), key()
	vehicleID, err := dkey.NewVehicleID([]byte("VIN00001"))
	if err != nil {
		log.Fatal(err)
	}
	slot, err := dkey.NewKeySlot([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	if err != nil {
		log.Fatal(err)
	}

	root, err := cert.NewDeviceRoot(tmpl("Device OEM Root"), rootKey)
	if err != nil {
		log.Fatal(err)
	}
	instanceCA, err := cert.NewInstanceCA(tmpl("Instance CA"),
		&cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}},
		instanceKey.PublicKey(), root, rootKey)
	if err != nil {
		log.Fatal(err)
	}
	endpoint, err := cert.NewEndpoint(tmpl("Endpoint"), &cert.EndpointExtension{
		Version:                 1,
		VehicleID:               vehicleID,
		ProtocolVersion:         dkey.Version1,
		VehiclePublicKey:        vehicleKey.PublicKey(),
		InitialKeySlot:          slot,
		ConfidentialMailboxSize: 256,
		PrivateMailboxSize:      1024,
	}, endpointKey.PublicKey(), instanceCA, instanceKey)
	if err != nil {
		log.Fatal(err)
	}

	// The vehicle trusts the Device OEM root and knows its own identity.
	cfg := &cert.Config{DeviceRoots: x509.NewCertPool(), Time: func() time.Time { return now.AddDate(1, 0, 0) }}
	cfg.DeviceRoots.AddCert(root)
	ep, err := cfg.VerifyEndpoint([][]byte{endpoint.Raw, instanceCA.Raw}, vehicleID, vehicleKey.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("endpoint key certified:", ep.Key.Equal(endpointKey.PublicKey()))
	fmt.Println("key slot:", ep.Extension.InitialKeySlot)
	fmt.Println("mailboxes:", ep.Extension.ConfidentialMailboxSize, ep.Extension.PrivateMailboxSize)
	fmt.Println("chain length:", len(ep.Chain))

	// The same chain presented to another vehicle is refused.
	other, _ := dkey.NewVehicleID([]byte("VIN00002"))
	_, err = cfg.VerifyEndpoint([][]byte{endpoint.Raw, instanceCA.Raw}, other, vehicleKey.PublicKey())
	fmt.Println(err)
	// Output:
	// endpoint key certified: true
	// key slot: 0000000000000001
	// mailboxes: 256 1024
	// chain length: 3
	// cert: certificate 0: endpoint certificate bound to another vehicle
}
