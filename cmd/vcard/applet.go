package main

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// The demo identity that `vcard -card applet` carries, shared with
// examples/pcsc-reader (which holds the other half: the vehicle's private key
// and the device's public key). Neither program can import the other, so the
// values are written out in both; the tests of each derive the other's key
// from its label and check the copy.
//
// TEST ONLY. Both private keys are public: each is SHA-256 of its label, so
// anyone can compute them. The demo key opens nothing but the demo vehicle of
// examples/pcsc-reader; never enrol it in a real vehicle.
const (
	// demoVehicleID is the vehicle the demo key opens (AUTH0 tag 4D, CCC: 8
	// bytes).
	demoVehicleID = "DEMO-VIN"
	// demoSlot is the key slot identifier of the demo key (AUTH1 tag 4E).
	demoSlot = "DEMOKEY1"
	// demoDeviceKeyLabel names the demo device key: its private scalar is
	// SHA-256 of this label.
	demoDeviceKeyLabel = "opencarkey demo device key: TEST ONLY, PUBLIC"
	// demoVehiclePublicKey is the demo vehicle's public key, which verifies
	// AUTH1: the public key of SHA-256("opencarkey demo vehicle key: TEST
	// ONLY, PUBLIC").
	demoVehiclePublicKey = "043458eb57c288438e2c6c6ee69ed16594d42fc6654f2ccb2d1804acc16a4bd5f2" +
		"60ed079b741dc78473baffc38ea2c10922459efa9ee6a2fab28f68a9e562b5a4"
)

// demoMailboxes is the mailbox configuration of the demo key: the
// immobilizer token (16 bytes at offset 0 of the confidential mailbox) comes
// back in the AUTH1 response, so engine start needs no EXCHANGE.
var demoMailboxes = dkey.MailboxConfig{
	PrivateSize:       256,
	ConfidentialSize:  64,
	ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16},
}

// demoElement is a device.SecureElement that holds one fixed, public key:
// the demo device key. TEST ONLY: a secure element creates a fresh key that
// never leaves it; this one hands out a key anyone can compute, so that
// examples/pcsc-reader can enrol it without pairing.
type demoElement struct{}

var _ device.SecureElement = demoElement{}

func (demoElement) GenerateKey() (crypto.Signer, error) {
	scalar := sha256.Sum256([]byte(demoDeviceKeyLabel))
	return dkey.NewSoftwareKey(scalar[:])
}

func (demoElement) DeleteKey(crypto.Signer) error { return nil }

// newAppletCard returns the demo applet behind a transport.ChainingCard,
// as an applet in a secure element stands behind the card's operating
// system, so that a reader limited to short APDUs can use it (command
// chaining, GET RESPONSE).
func newAppletCard() (transport.Card, error) {
	a, err := newDemoApplet()
	if err != nil {
		return nil, err
	}
	return a, nil
}

// newDemoApplet returns the Digital Key applet (package device, CCC profile)
// with one owner key: the demo device key for the demo vehicle.
func newDemoApplet() (*device.Applet, error) {
	a, err := device.NewApplet(&device.Config{SecureElement: demoElement{}})
	if err != nil {
		return nil, err
	}
	vid, err := dkey.NewVehicleID([]byte(demoVehicleID))
	if err != nil {
		return nil, err
	}
	slot, err := dkey.NewKeySlot([]byte(demoSlot))
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(demoVehiclePublicKey)
	if err != nil {
		return nil, err
	}
	vk, err := dkey.ParsePublicKey(raw)
	if err != nil {
		return nil, err
	}
	if _, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: vk, Slot: slot, Mailboxes: demoMailboxes}); err != nil {
		return nil, fmt.Errorf("creating the demo key: %w", err)
	}
	return a, nil
}
