package device

import (
	"crypto"
	"errors"

	"github.com/opencarkey/sdk/dkey"
)

// SecureElement creates and holds the long-term keys of the applet's
// endpoints. The private keys never leave it: the applet sees only
// crypto.Signer handles. A phone's embedded secure element, an HSM through
// PKCS#11 or a test double can implement it; [SoftwareElement] keeps keys in
// process memory and is the default.
//
// Implementations must be safe for concurrent use.
type SecureElement interface {
	// GenerateKey creates a new P-256 key pair inside the element and
	// returns its handle. Signatures from the handle are ECDSA over SHA-256
	// digests (crypto.SHA256 options), DER encoded.
	GenerateKey() (crypto.Signer, error)
	// DeleteKey destroys the key behind the handle, so that nothing signs
	// with it again. Deleting a key twice is not an error.
	DeleteKey(crypto.Signer) error
}

// SoftwareElement is a SecureElement that keeps keys in process memory:
// the default backend, for tests, examples and development devices. It
// offers none of the protection of a real secure element.
type SoftwareElement struct{}

var _ SecureElement = SoftwareElement{}

// GenerateKey returns a new [dkey.SoftwareKey].
func (SoftwareElement) GenerateKey() (crypto.Signer, error) { return dkey.GenerateSoftwareKey() }

// DeleteKey forgets the key. The Go runtime gives no way to erase the scalar
// inside crypto/ecdsa; a real secure element destroys it.
func (SoftwareElement) DeleteKey(k crypto.Signer) error {
	if _, ok := k.(*dkey.SoftwareKey); !ok {
		return errors.New("device: SoftwareElement cannot delete a key it did not create")
	}
	return nil
}
