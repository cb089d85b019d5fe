package mdoc_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// Example runs a Home Key attestation exchange in memory: an issuer signs
// a document for the phone's key, the phone's applet serves it on the
// configuration applet, and the lock reads and verifies it.
func Example() {
	// The home member's HomeKit key issues the phone's attestation.
	issuer, _ := mdoc.NewEd25519Issuer(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	phoneKey, _ := dkey.GenerateSoftwareKey()
	doc, _ := issuer.Issue(mdoc.HomeKeyCredential(phoneKey.PublicKey(), []byte("credential-0001"),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	group := []byte{1, 2, 3, 4, 5, 6, 7, 8} // the home's reader group identifier
	stored, _ := mdoc.NewProvisioned(group, doc)

	// The reader sent this secret in the transaction's EXCHANGE.
	secret, _ := mdoc.NewSecret()

	// The phone: after SELECT of the configuration applet, its ENVELOPEs go
	// to a Device, behind a ChainingCard for the long response.
	device, _ := mdoc.NewHomeKeyDevice(secret, &mdoc.DeviceConfig{Documents: []*mdoc.Provisioned{stored}, ReaderGroup: group})
	card := transport.NewChainingCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		if c, _ := transport.ParseCommand(cmd); c.INS == 0xA4 && mdoc.AIDHomeKeyConfiguration.Equal(c.Data) {
			return transport.AppendResponse(dst, nil, dkey.SWSuccess)
		}
		return device.ProcessAPDU(dst, cmd)
	}))

	// The lock.
	client := transport.NewClient(transporttest.NewCard(card), nil)
	resp, err := mdoc.ReadHomeKey(context.Background(), client, secret, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	verified, err := resp.Verify(&mdoc.VerifyOptions{
		Issuers: []*mdoc.IssuerKey{issuer.Key()},
		Time:    func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := verified[0]
	fmt.Println(v.DocType)
	fmt.Println("device key is the phone's:", v.DeviceKey.Equal(phoneKey.PublicKey()))
	id, _ := v.Element(mdoc.HomeKeyNameSpace, mdoc.HomeKeyCredentialID)
	fmt.Printf("credential_id element: %x\n", id)
	// Output:
	// com.apple.HomeKit.1.credential
	// device key is the phone's: true
	// credential_id element: 4f63726564656e7469616c2d30303031
}

// ExampleAppendHomeKeyExchange shows the EXCHANGE plaintext that hands the
// secret to the device before the attestation exchange.
func ExampleAppendHomeKeyExchange() {
	secret, _ := mdoc.SecretFromBytes(make([]byte, mdoc.SecretSize))
	b := mdoc.AppendHomeKeyExchange(nil, secret)
	fmt.Printf("% X ...\n", b[:5])
	got, err := mdoc.ParseHomeKeyExchange(b)
	fmt.Println(got, err)
	// Output:
	// 00 8E 22 C0 20 ...
	// mdoc.Secret(redacted) <nil>
}

// ExampleDocument_Verify shows a refusal: a document whose issuer the
// reader does not trust.
func ExampleDocument_Verify() {
	issuer, _ := mdoc.NewIssuer(mdoc.Aliro)
	phoneKey, _ := dkey.GenerateSoftwareKey()
	doc, _ := issuer.Issue(&mdoc.DocumentSpec{
		DocType:    mdoc.AliroAccessDocType,
		DeviceKey:  phoneKey.PublicKey(),
		Elements:   []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: mdoc.AliroDefaultElement, Value: mdoc.EncodeBytes([]byte{1})}},
		ValidFrom:  time.Now().Add(-time.Hour),
		ValidUntil: time.Now().Add(time.Hour),
	})
	other, _ := mdoc.NewIssuer(mdoc.Aliro)
	_, err := doc.Verify(&mdoc.VerifyOptions{Issuers: []*mdoc.IssuerKey{other.Key()}})
	fmt.Println(err)
	_, err = doc.Verify(&mdoc.VerifyOptions{Issuers: []*mdoc.IssuerKey{issuer.Key()}})
	fmt.Println(err)
	// Output:
	// mdoc: "aliro-a": issuer: unknown issuer
	// <nil>
}
