package pairing_test

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
)

// store is a SecureElement over software keys, as an applet over its secure
// element.
type store struct{ committed *pairing.DeviceResult }

func (s *store) NewKey(dkey.VehicleID) (crypto.Signer, error) { return dkey.GenerateSoftwareKey() }
func (s *store) DeleteKey(crypto.Signer) error                { return nil }
func (s *store) Commit(r *pairing.DeviceResult) error {
	if s.committed != nil {
		return errors.New("one key only")
	}
	s.committed = r
	return nil
}

// Example pairs a vehicle and a device in one process, moving the commands
// by hand: package vehicle and package device do it over a real link.
func Example() {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tmpl := func(cn string) cert.Template {
		return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0)}
	}
	key := func() *dkey.SoftwareKey {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	must := func(c *x509.Certificate, err error) *x509.Certificate {
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	// The Device OEM certifies the applet instance; the Vehicle OEM the
	// vehicle.
	drKey, caKey, vrKey, vehicleKey := key(), key(), key(), key()
	deviceRoot := must(cert.NewDeviceRoot(tmpl("Device OEM Root"), drKey))
	instanceCA := must(cert.NewInstanceCA(tmpl("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, caKey.PublicKey(), deviceRoot, drKey))
	vehicleRoot := must(cert.NewVehicleRoot(tmpl("Vehicle OEM Root"), vrKey))
	vehicleCert := must(cert.NewVehicle(tmpl("Vehicle"), vehicleKey.PublicKey(), vehicleRoot, vrKey))
	deviceRoots := x509.NewCertPool()
	deviceRoots.AddCert(deviceRoot)
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))

	// The vehicle OEM server derives the verifier; the owner gets the code.
	verifier, err := pairing.NewVerifier([]byte("271828"), []byte("fresh-salt-16-by"), pairing.DefaultScryptParams())
	if err != nil {
		log.Fatal(err)
	}
	vehicle, err := pairing.NewVehicleSession(&pairing.VehicleConfig{
		VehicleID: vid, VehicleKey: vehicleKey.PublicKey(), VehicleRoot: vehicleRoot.Raw,
		Certificates: [][]byte{vehicleCert.Raw}, DeviceRoots: deviceRoots, Time: clock,
	}, verifier)
	if err != nil {
		log.Fatal(err)
	}
	keys := &store{}
	device, err := pairing.NewDeviceSession(&pairing.DeviceConfig{InstanceCA: instanceCA, InstanceCAKey: caKey, Time: clock}, keys, []byte("271828"))
	if err != nil {
		log.Fatal(err)
	}

	cmd, err := vehicle.Start() // SELECT: the applet answers it
	if err != nil {
		log.Fatal(err)
	}
	resp := transport.Response{Data: device.AppendSelect(nil), SW: dkey.SWSuccess}
	commands := 1
	for {
		st, err := vehicle.Next(resp)
		if err != nil {
			log.Fatal(err)
		}
		if st.Done {
			break
		}
		cmd = st.Command
		commands++
		data, err := device.Process(nil, &cmd)
		resp = transport.Response{Data: data, SW: pairing.StatusWordFor(err)}
	}
	res, _ := vehicle.Result()
	fmt.Println("commands:", commands)
	fmt.Println("same key on both sides:", res.PublicKey.Equal(keys.committed.PublicKey))
	fmt.Println("same slot:", res.Slot == keys.committed.Slot)
	fmt.Println("endpoint chain verified up to:", res.Endpoint.Chain[len(res.Endpoint.Chain)-1].Subject.CommonName)
	fmt.Println("device bound to vehicle:", string(keys.committed.VehicleID.Bytes()))
	fmt.Println("same LONG_TERM_SHARED_SECRET:", res.LongTermSecret == keys.committed.LongTermSecret)
	// Output:
	// commands: 17
	// same key on both sides: true
	// same slot: true
	// endpoint chain verified up to: Device OEM Root
	// device bound to vehicle: VIN00001
	// same LONG_TERM_SHARED_SECRET: true
}
