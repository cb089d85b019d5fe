package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/boltstore"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/sharing"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func template(cn string) cert.Template {
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
}

// printer is the vehicle's side of the example: it prints the commands it
// applies (a vehicle.Reader applies them in a real vehicle).
type printer struct{ done chan struct{} }

func (p printer) ApplyCommand(cmd *sharing.KeyCommand) error {
	fmt.Printf("vehicle: %v key %s\n", cmd.Action, cmd.Slot.Bytes())
	close(p.done)
	return nil
}

// Example runs a key service on the loopback interface and a vehicle's
// command loop against it: the vehicle reports its owner key, the owner's
// device signs a suspension, and the vehicle receives and applies it.
func Example() {
	// The Digital Key PKI: a Device OEM root and a Vehicle OEM root.
	drk, vrk := must(dkey.GenerateSoftwareKey()), must(dkey.GenerateSoftwareKey())
	droot := must(cert.NewDeviceRoot(template("Device OEM root"), drk))
	vroot := must(cert.NewVehicleRoot(template("Vehicle OEM root"), vrk))
	dpool, vpool := x509.NewCertPool(), x509.NewCertPool()
	dpool.AddCert(droot)
	vpool.AddCert(vroot)

	// The service, with a bbolt store and a server certificate.
	dir := must(os.MkdirTemp("", "example"))
	defer os.RemoveAll(dir)
	store := must(boltstore.Open(filepath.Join(dir, "dkserver.db")))
	defer store.Close()
	srv := must(keyservice.New(&keyservice.Config{
		Store: store, Certificates: &cert.Config{DeviceRoots: dpool, VehicleRoots: vpool},
		TrackingKey: must(dkey.GenerateSoftwareKey()),
	}))
	sk := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	st := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	sder := must(x509.CreateCertificate(rand.Reader, st, st, &sk.PublicKey, sk))
	roots := x509.NewCertPool()
	roots.AddCert(must(x509.ParseCertificate(sder)))
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	hs := srv.HTTPServer(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{sder}, PrivateKey: sk}}})
	go hs.ServeTLS(ln, "", "")
	defer hs.Close()
	url := "https://" + ln.Addr().String()

	// The vehicle: its certificate names it (keyservice.VehicleName).
	vid := must(dkey.NewVehicleID([]byte("VIN00001")))
	vk := must(dkey.GenerateSoftwareKey())
	vt := template("")
	vt.Subject = keyservice.VehicleName(vid, "Vehicle VIN00001")
	vc := must(cert.NewVehicle(vt, vk.PublicKey(), vroot, vrk))
	vehicle := must(client.New(&client.Config{URL: url, RootCAs: roots, Certificate: &tls.Certificate{Certificate: [][]byte{vc.Raw}, PrivateKey: vk}}))

	// The owner's device: its endpoint chain, its key in the secure element.
	owner := must(dkey.GenerateSoftwareKey())
	slot := must(dkey.NewKeySlot([]byte("owner001")))
	ik := must(dkey.GenerateSoftwareKey())
	inst := must(cert.NewInstanceCA(template("instance CA"), &cert.InstanceCAExtension{Version: 1}, ik.PublicKey(), droot, drk))
	ep := must(cert.NewEndpoint(template("endpoint"), &cert.EndpointExtension{Version: 1, VehicleID: vid, ProtocolVersion: dkey.Version1, VehiclePublicKey: vk.PublicKey(), InitialKeySlot: slot}, owner.PublicKey(), inst, ik))
	phone := must(client.New(&client.Config{URL: url, RootCAs: roots, Certificate: &tls.Certificate{Certificate: [][]byte{ep.Raw, inst.Raw}, PrivateKey: owner}}))

	// The vehicle runs its loop and reports its keys.
	ctx, cancel := context.WithCancel(context.Background())
	p := printer{done: make(chan struct{})}
	stopped := make(chan error)
	go func() {
		stopped <- vehicle.Run(ctx, &client.LoopConfig{Applier: p, Wait: time.Second, Report: func() []keyservice.ReportedKey {
			return []keyservice.ReportedKey{{Slot: slot, PublicKey: owner.PublicKey(), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive}}
		}})
	}()
	for {
		if l, err := phone.Keys(ctx, vid); err == nil && len(l.Keys) == 1 {
			fmt.Println("inventory:", l.Keys[0].Role, l.Keys[0].State)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The owner suspends the key, signed on the phone; the vehicle gets it.
	cmd := must(sharing.NewKeyCommand(sharing.ActionSuspend, vid, slot, nil))
	if err := phone.ManageKey(ctx, cmd); err != nil {
		panic(err)
	}
	<-p.done
	cancel()
	fmt.Println(<-stopped)
	// Output:
	// inventory: owner active
	// vehicle: suspend key owner001
	// context canceled
}
