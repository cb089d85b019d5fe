package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/statefile"
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

// demoPrivateKey returns the demo device key's private scalar: SHA-256 of
// its label. TEST ONLY: a secure element creates a fresh key that never
// leaves it; the demo applet imports this one (device.KeyConfig.PrivateKey,
// which exists for test benches), so that examples/pcsc-reader can enrol it
// without pairing.
func demoPrivateKey() []byte {
	scalar := sha256.Sum256([]byte(demoDeviceKeyLabel))
	return scalar[:]
}

// newAppletCard returns the demo applet, with its state in the file
// statePath when it is not empty (see newDemoApplet), and the function
// that stores what it keeps in memory and closes the file.
func newAppletCard(statePath, kekPath string) (transport.Card, func() error, error) {
	a, err := newDemoApplet(statePath, kekPath)
	if err != nil {
		return nil, nil, err
	}
	return a, a.Close, nil
}

// newDemoApplet returns the Digital Key applet (package device, CCC profile)
// with one owner key: the demo device key for the demo vehicle. With a
// statePath its state (Kpersistent, mailboxes, the key itself) is kept in
// that file, sealed under the key-encryption key in kekPath (statePath
// plus ".kek" when empty; created when missing), so that the next run of
// vcard is the same phone: its first tap is fast. Without one the state
// lasts as long as the process.
func newDemoApplet(statePath, kekPath string) (*device.Applet, error) {
	cfg := &device.Config{}
	if statePath != "" {
		f, err := statefile.Open(statePath, kekPath)
		if err != nil {
			return nil, err
		}
		cfg.Store, cfg.KEK = f.Store, f.KEK
	}
	a, err := device.NewApplet(cfg)
	if err != nil {
		if cfg.Store != nil {
			cfg.Store.Close()
		}
		return nil, err
	}
	vid, err := dkey.NewVehicleID([]byte(demoVehicleID))
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	if _, ok := a.Key(vid); ok {
		// A state file from an earlier run holds the demo key.
		return a, nil
	}
	slot, err := dkey.NewKeySlot([]byte(demoSlot))
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	raw, err := hex.DecodeString(demoVehiclePublicKey)
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	vk, err := dkey.ParsePublicKey(raw)
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	if _, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: vk, Slot: slot, Mailboxes: demoMailboxes, PrivateKey: demoPrivateKey()}); err != nil {
		return nil, errors.Join(fmt.Errorf("creating the demo key: %w", err), a.Close())
	}
	return a, nil
}
