package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/statefile"
	"github.com/opencarkey/sdk/vehicle"
)

// The demo vehicle and the one key it accepts: the demo key that
// `go run ./cmd/vcard -card applet` carries (cmd/vcard/applet.go holds the
// other half: the device's private key and the vehicle's public key).
// Neither program can import the other, so the values are written out in
// both; the tests of each derive the other's key from its label and check
// the copy.
//
// TEST ONLY. Both private keys are public: each is SHA-256 of its label, so
// anyone can compute them. A real vehicle keeps its key in a secure element
// or HSM and enrols each phone's key at owner pairing (package pairing).
const (
	// demoVehicleID identifies the vehicle to the phone (AUTH0 tag 4D, CCC:
	// 8 bytes).
	demoVehicleID = "DEMO-VIN"
	// demoVehicleKeyLabel names the demo vehicle key: its private scalar is
	// SHA-256 of this label.
	demoVehicleKeyLabel = "opencarkey demo vehicle key: TEST ONLY, PUBLIC"
	// demoSlot is the key slot identifier of the demo key (AUTH1 tag 4E).
	demoSlot = "DEMOKEY1"
	// demoDevicePublicKey is the demo key's public key: the public key of
	// SHA-256("opencarkey demo device key: TEST ONLY, PUBLIC").
	demoDevicePublicKey = "04870387437550da459eebf4be3263d6ca8dafc61aa7a9562be5dda968937dd285" +
		"fef48f86820f6574ddd12b2066dc743b136918c4c819d33b7a7cf813d095cdce"
	// demoToken is the immobilizer token the vehicle writes into the demo
	// key's confidential mailbox at its first standard transaction.
	demoToken = "demo-immobilizer"
)

// demoMailboxes is the mailbox configuration the demo key was created with:
// the immobilizer token comes back in the AUTH1 response.
var demoMailboxes = dkey.MailboxConfig{
	PrivateSize:       256,
	ConfidentialSize:  64,
	ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16},
}

// newDemoVehicle returns the demo vehicle with the demo key enrolled as an
// owner key. With a statePath its state (the enrolled key, its Kpersistent
// and immobilizer token) is kept in that file, sealed under the
// key-encryption key in kekPath (statePath plus ".kek" when empty; created
// when missing): a restarted reader remembers the phone, and its first tap
// is fast. Without one the state lasts as long as the process.
func newDemoVehicle(statePath, kekPath string) (*vehicle.Reader, error) {
	scalar := sha256.Sum256([]byte(demoVehicleKeyLabel))
	key, err := dkey.NewSoftwareKey(scalar[:])
	if err != nil {
		return nil, err
	}
	vid, err := dkey.NewVehicleID([]byte(demoVehicleID))
	if err != nil {
		return nil, err
	}
	cfg := &vehicle.Config{VehicleID: vid, Key: key}
	if statePath != "" {
		f, err := statefile.Open(statePath, kekPath)
		if err != nil {
			return nil, err
		}
		cfg.Store, cfg.KEK = f.Store, f.KEK
	}
	v, err := vehicle.NewReader(cfg)
	if err != nil {
		if cfg.Store != nil {
			cfg.Store.Close()
		}
		return nil, err
	}
	if len(v.Keys()) > 0 {
		// A state file from an earlier run holds the demo key.
		return v, nil
	}
	raw, err := hex.DecodeString(demoDevicePublicKey)
	if err != nil {
		return nil, errors.Join(err, v.Close())
	}
	pub, err := dkey.ParsePublicKey(raw)
	if err != nil {
		return nil, errors.Join(err, v.Close())
	}
	slot, err := dkey.NewKeySlot([]byte(demoSlot))
	if err != nil {
		return nil, errors.Join(err, v.Close())
	}
	err = v.Enroll(vehicle.Enrollment{
		PublicKey: pub, Slot: slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte(demoToken), Mailboxes: demoMailboxes,
	})
	if err != nil {
		return nil, errors.Join(err, v.Close())
	}
	return v, nil
}
