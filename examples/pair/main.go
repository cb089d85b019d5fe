// Command pair runs owner pairing between a vehicle and a phone in memory,
// then uses the new key: the vehicle OEM installs a verifier for a pairing
// code, the owner types the code into the phone and holds it to the
// console reader, SPAKE2+ builds the pairing channel, the phone creates its
// key and the vehicle enrols it. The key then unlocks and starts the
// engine. Last, a second vehicle shows that a wrong code fails cleanly and
// leaves no key on either side.
//
//	go run ./examples/pair
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `Owner pairing in memory: the vehicle OEM issues a pairing code, the phone and the vehicle run SPAKE2+
and exchange certificates, the owner key unlocks and starts the engine; a wrong code leaves no key.
It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: pair\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pair:", err)
		os.Exit(1)
	}
}

// pki issues the demo certificates of one OEM: a root and the certificates
// it signs, valid from an hour ago for ten years.
type pki struct {
	root    *x509.Certificate
	rootKey crypto.Signer
}

func template(cn string) cert.Template {
	now := time.Now()
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0)}
}

func newKey() *dkey.SoftwareKey {
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		panic(err) // crypto/rand failed: nothing to demonstrate
	}
	return k
}

// newVehicle builds a vehicle whose certificate the Vehicle OEM root signs,
// trusting the Device OEM root for owner keys.
func newVehicle(oem *pki, deviceRoot *x509.Certificate, vin string) (*vehicle.Reader, error) {
	key := newKey()
	vc, err := cert.NewVehicle(template("Vehicle "+vin), key.PublicKey(), oem.root, oem.rootKey)
	if err != nil {
		return nil, err
	}
	vid, err := dkey.NewVehicleID([]byte(vin))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(deviceRoot)
	return vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: key, Pairing: &vehicle.PairingConfig{
		VehicleRoot: oem.root.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: roots,
	}})
}

// installCode is the vehicle OEM server: it derives the verifier of the
// pairing code with a fresh salt and installs it in the vehicle.
func installCode(r *vehicle.Reader, code string) error {
	salt := make([]byte, pairing.SaltSize)
	copy(salt, "demo-salt-"+string(r.ID().Bytes())) // a real server draws it from crypto/rand
	v, err := pairing.NewVerifier([]byte(code), salt, pairing.DefaultScryptParams())
	if err != nil {
		return err
	}
	return r.InstallVerifier(v)
}

func run(w io.Writer) error {
	ctx := context.Background()

	// The Device OEM certifies the phone's applet instance; the Vehicle OEM
	// certifies its vehicles.
	deviceOEM, vehicleOEM := &pki{rootKey: newKey()}, &pki{rootKey: newKey()}
	var err error
	if deviceOEM.root, err = cert.NewDeviceRoot(template("Device OEM Root"), deviceOEM.rootKey); err != nil {
		return err
	}
	if vehicleOEM.root, err = cert.NewVehicleRoot(template("Vehicle OEM Root"), vehicleOEM.rootKey); err != nil {
		return err
	}
	caKey := newKey() // in the phone's secure element
	instanceCA, err := cert.NewInstanceCA(template("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}},
		caKey.PublicKey(), deviceOEM.root, deviceOEM.rootKey)
	if err != nil {
		return err
	}
	phone, err := device.NewApplet(&device.Config{Pairing: &pairing.DeviceConfig{InstanceCA: instanceCA, InstanceCAKey: caKey}})
	if err != nil {
		return err
	}
	// The phone in the field of the console reader. Certificates are longer
	// than a short APDU: the reader chains commands, the phone answers
	// long responses through GET RESPONSE.
	nfc := transporttest.NewCard(transport.NewChainingCard(phone))

	car, err := newVehicle(vehicleOEM, deviceOEM.root, "VIN00001")
	if err != nil {
		return err
	}
	p := pairing.DefaultScryptParams()
	if err := installCode(car, "271828"); err != nil {
		return err
	}
	fmt.Fprintf(w, "vehicle OEM: pairing code for VIN00001 issued, verifier installed (scrypt N=%d r=%d p=%d)\n", p.N, p.R, p.P)

	if err := phone.StartPairing([]byte("271828")); err != nil {
		return err
	}
	fmt.Fprintln(w, "owner: pairing code typed into the phone")
	res, err := car.Pair(ctx, nfc)
	if err != nil {
		return fmt.Errorf("pairing: %w", err)
	}
	first := res.FirstTransaction
	fmt.Fprintf(w, "pairing: owner key enrolled; first transaction %v, control flow %v\n", kind(first), first.ControlFlow)
	for _, k := range car.Keys() {
		fmt.Fprintf(w, "vehicle: %v key, immobilizer token provisioned: %v\n", k.Role, k.TokenProvisioned)
	}
	for _, k := range phone.Keys() {
		fmt.Fprintf(w, "phone: %v key for %s\n", k.Role, k.VehicleID.Bytes())
	}

	// The owner uses the key. The pairing's first transaction was a standard
	// one, so the phone and the vehicle share Kpersistent: unlock goes fast.
	for _, action := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart, dkey.ActionLock} {
		r, err := car.Transact(ctx, nfc, action)
		if err != nil {
			return fmt.Errorf("%v: %w", action, err)
		}
		fmt.Fprintf(w, "%-12s %-8s %v key, control flow %v\n", action, kind(r), r.Role, r.ControlFlow)
	}

	// A second vehicle; the owner mistypes its code.
	other, err := newVehicle(vehicleOEM, deviceOEM.root, "VIN00002")
	if err != nil {
		return err
	}
	if err := installCode(other, "314159"); err != nil {
		return err
	}
	if err := phone.StartPairing([]byte("314158")); err != nil {
		return err
	}
	_, err = other.Pair(ctx, nfc)
	fmt.Fprintf(w, "VIN00002 with a wrong code: %v\n", err)
	fmt.Fprintf(w, "VIN00002 keys: %d; phone keys: %d; attempts left: %d\n", len(other.Keys()), len(phone.Keys()), other.PairingAttempts())
	return nil
}

func kind(r vehicle.Result) string {
	if r.Fast {
		return "fast"
	}
	return "standard"
}
