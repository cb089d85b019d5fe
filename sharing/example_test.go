package sharing_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// exampleDevice is a friend's device: it creates keys in memory and
// certifies them with its instance CA. device.Applet plays this part in a
// real deployment.
type exampleDevice struct {
	instKey  *dkey.SoftwareKey
	instCert *x509.Certificate
}

func (d *exampleDevice) CreateSharedKey(req *sharing.KeyRequest) (*sharing.CreatedKey, error) {
	k := must(dkey.GenerateSoftwareKey())
	s := must(dkey.NewKeySlot([]byte("friend01")))
	ext := &cert.EndpointExtension{Version: 1, VehicleID: req.Vehicle, ProtocolVersion: dkey.Version1, VehiclePublicKey: req.VehicleKey, InitialKeySlot: s}
	leaf, err := cert.NewEndpoint(exampleTemplate("endpoint"), ext, k.PublicKey(), d.instCert, d.instKey)
	if err != nil {
		return nil, err
	}
	return &sharing.CreatedKey{PublicKey: k.PublicKey(), Slot: s, Chain: [][]byte{leaf.Raw, d.instCert.Raw}}, nil
}

func exampleTemplate(cn string) cert.Template {
	now := time.Now()
	return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
}

// Example shares a key that unlocks and locks, limited to 80 km/h: the
// owner's device invites through a link, the friend's device creates a key
// and answers, the owner's device signs, the friend's device stores the
// attestation, and the vehicle admits the key at its first transaction.
func Example() {
	// The PKI: a Device OEM root and the friend device's instance CA.
	rootKey := must(dkey.GenerateSoftwareKey())
	root := must(cert.NewDeviceRoot(exampleTemplate("Device OEM root"), rootKey))
	instKey := must(dkey.GenerateSoftwareKey())
	inst := must(cert.NewInstanceCA(exampleTemplate("instance CA"), &cert.InstanceCAExtension{Version: 1}, instKey.PublicKey(), root, rootKey))
	roots := x509.NewCertPool()
	roots.AddCert(root)

	// The vehicle and the owner key it enrolled at pairing.
	vid := must(dkey.NewVehicleID([]byte("VIN00001")))
	vehicleKey := must(dkey.GenerateSoftwareKey())
	ownerKey := must(dkey.GenerateSoftwareKey())
	ownerSlot := must(dkey.NewKeySlot([]byte("owner001")))

	// Owner: invite through a link.
	link := must(sharing.NewLink())
	lk := must(link.Key())
	owner, invitation, err := sharing.Invite(&sharing.OwnerConfig{
		Vehicle: vid, VehicleKey: vehicleKey.PublicKey(), Key: ownerKey, Slot: ownerSlot,
		Certificates: &cert.Config{DeviceRoots: roots},
	}, &sharing.Offer{
		Profile:  dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock, MaxSpeed: 80},
		NotAfter: time.Now().Add(7 * 24 * time.Hour),
	}, lk.PublicKey())
	if err != nil {
		panic(err)
	}

	// Friend: the link arrives by messenger, the invitation by the relay.
	flk := must(must(sharing.ParseLink(link.Text())).Key())
	friend := must(sharing.OpenInvitation(nil, flk, "", invitation))
	fmt.Println("offered:", friend.Invitation().Profile)
	answer := must(friend.SigningRequest(&exampleDevice{instKey, inst}))

	// Owner: verify the friend's device and sign.
	req := must(owner.ReadSigningRequest(answer))
	fmt.Println("friend's device certified by:", req.Endpoint.Chain[len(req.Endpoint.Chain)-1].Subject.CommonName)
	issued := must(owner.Sign(req))

	// Friend: verify and store in the key's private mailbox.
	imported := must(friend.Import(issued.Message))
	fmt.Printf("mailbox: signal %02x, %d bytes\n", imported.Mailbox[0], len(imported.Mailbox))

	// Vehicle: the first friend transaction reads the attestation.
	v := must(sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: vid}))
	entries := must(sharing.ParseMailbox(imported.Mailbox))
	f, err := v.AdmitFriend(entries[0].Statement, req.Slot, []attest.Signer{{Key: ownerKey.PublicKey(), Slot: ownerSlot, Grant: dkey.OwnerProfile()}})
	if err != nil {
		panic(err)
	}
	fmt.Println("enrolled:", f.Slot, f.Profile)
	// Output:
	// offered: unlock|lock, max 80 km/h
	// friend's device certified by: Device OEM root
	// mailbox: signal 08, 274 bytes
	// enrolled: 667269656e643031 unlock|lock, max 80 km/h
}

// ExampleAppendMailboxArea shows the statement area of a private mailbox.
func ExampleAppendMailboxArea() {
	area, err := sharing.AppendMailboxArea(nil,
		sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: []byte{0xD2, 0x84}},
		sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: []byte{0xD2}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", area)
	n, _ := sharing.ParseAreaHeader(area[:sharing.AreaHeaderSize])
	fmt.Println("area length:", n)
	sharing.ClearMailboxArea(area)
	fmt.Printf("% x\n", area)
	// Output:
	// 48 00 09 01 00 02 d2 84 02 00 01 d2
	// area length: 9
	// 00 00 00 00 00 00 00 00 00 00 00 00
}

// ExampleErrorCode reports a refusal to the peer with its Table 11-27 code.
func ExampleErrorCode() {
	err := fmt.Errorf("owner: %w", &sharing.Error{Code: sharing.CodeInvalidChain, Err: cert.ErrUnknownRoot})
	var se *sharing.Error
	if errors.As(err, &se) {
		fmt.Printf("report code %02x: %s\n", uint8(se.Code), se.Code.String())
	}
	fmt.Println(errors.Is(err, sharing.CodeInvalidChain), errors.Is(err, cert.ErrUnknownRoot))
	// Output:
	// report code 07: invalid chain (07)
	// true true
}

// ExampleRevocationStore revokes a key for good and persists the store.
func ExampleRevocationStore() {
	key := must(dkey.GenerateSoftwareKey()).PublicKey()
	s := sharing.NewRevocationStore(0)
	err := s.Revoke(sharing.Revocation{Slot: must(dkey.NewKeySlot([]byte("friend01"))), KeyHash: attest.KeyHash(key), At: time.Unix(1772359200, 0)})
	if err != nil {
		panic(err)
	}
	persisted := must(s.MarshalBinary())
	loaded := must(sharing.ParseRevocationStore(persisted, 0))
	err = loaded.Check(must(dkey.NewKeySlot([]byte("another"))), key, attest.ID{})
	fmt.Println(errors.Is(err, sharing.ErrRevoked), errors.Is(err, dkey.ErrKeyTerminated), loaded.Generation())
	// Output:
	// true true 1
}

// ExampleLink: the secret travels in the fragment of the sharing URL.
func ExampleLink() {
	link := must(sharing.NewLink())
	url := "https://relay.example/m/" + sharing.MailboxID{}.String() + "#" + link.Text()
	_, fragment, _ := strings.Cut(url, "#")
	received := must(sharing.ParseLink(fragment))
	a, b := must(link.Key()), must(received.Key())
	fmt.Println(len(fragment), a.PublicKey().Equal(b.PublicKey()))
	// Output:
	// 43 true
}
