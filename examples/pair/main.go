// Command pair runs owner pairing between a vehicle and a phone in memory,
// step by step: the vehicle OEM installs a verifier for a pairing code,
// the owner types the code into the phone and holds it to the console
// reader, SPAKE2+ builds the pairing channel, the certificates go both
// ways, the phone creates its key and the vehicle enrols it, and the first
// standard transaction provisions the immobilizer token. Then a second
// vehicle: a mistyped code fails cleanly, leaves no key on either side and
// spends one attempt of the verifier; the right code pairs.
// examples/walkthrough goes on from pairing to the rest of the story.
//
//	go run ./examples/pair
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/opencarkey/sdk/cert/certtest"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `Owner pairing in memory: the vehicle OEM issues a pairing code, the phone and the vehicle run SPAKE2+
and exchange certificates, the vehicle enrols the owner key; on a second vehicle a wrong code leaves no
key and spends an attempt, and the right one pairs. It takes no flags.
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

// newVehicle builds a vehicle whose certificate the Vehicle OEM root of
// pki signs, trusting its Device OEM root for owner keys.
func newVehicle(pki *certtest.PKI, vin string) (*vehicle.Reader, error) {
	vc, key, err := pki.Vehicle(vin)
	if err != nil {
		return nil, err
	}
	vid, err := dkey.NewVehicleID([]byte(vin))
	if err != nil {
		return nil, err
	}
	return vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: key, Pairing: &vehicle.PairingConfig{
		VehicleRoot: pki.VehicleRoot.Raw, Certificates: [][]byte{vc.Raw}, DeviceRoots: pki.DeviceRoots(),
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
	pki, err := certtest.New()
	if err != nil {
		return err
	}
	instanceCA, caKey, err := pki.InstanceCA("phone") // the key in the phone's secure element
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

	car, err := newVehicle(pki, "VIN00001")
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
		fmt.Fprintf(w, "vehicle: %v key (%v), immobilizer token provisioned: %v\n", k.Role, k.Profile, k.TokenProvisioned)
	}
	for _, k := range phone.Keys() {
		info, _ := phone.Pairing(k.VehicleID)
		fmt.Fprintf(w, "phone: %v key for %s, %d vehicle certificate(s) kept, fast transaction ready: %v\n",
			k.Role, k.VehicleID.Bytes(), len(info.VehicleCertificates), k.HasPersistent)
	}

	// A second vehicle; the owner mistypes its code, then types it right.
	other, err := newVehicle(pki, "VIN00002")
	if err != nil {
		return err
	}
	if err := installCode(other, "314159"); err != nil {
		return err
	}
	fmt.Fprintf(w, "VIN00002: verifier installed, attempts left: %d\n", other.PairingAttempts())
	for _, code := range []string{"314158", "314159"} {
		if err := phone.StartPairing([]byte(code)); err != nil {
			return err
		}
		_, err = other.Pair(ctx, nfc)
		result := "paired, the verifier used up"
		if err != nil {
			result = err.Error()
		}
		fmt.Fprintf(w, "VIN00002, code %s: %s; vehicle keys: %d, phone keys: %d, attempts left: %d\n",
			code, result, len(other.Keys()), len(phone.Keys()), other.PairingAttempts())
	}
	return nil
}

func kind(r vehicle.Result) string {
	if r.Fast {
		return "fast"
	}
	return "standard"
}
