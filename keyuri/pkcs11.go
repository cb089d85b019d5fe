//go:build pkcs11 && cgo

package keyuri

import (
	"context"
	"errors"
	"fmt"

	"go.step.sm/crypto/kms/apiv1"
	"go.step.sm/crypto/kms/pkcs11"
	"go.step.sm/crypto/kms/uri"
)

// pkcs11Backend serves pkcs11: URIs through the library's PKCS#11 backend
// (crypto11 over the module the URI names).
var pkcs11Backend backend = hsm{}

// PKCS11 reports whether this program was built with PKCS#11 support.
const PKCS11 = true

type hsm struct{}

// connect opens the module and logs in to the token the URI names.
func (hsm) connect(ctx context.Context, raw string) (*pkcs11.PKCS11, error) {
	k, err := pkcs11.New(ctx, apiv1.Options{Type: apiv1.PKCS11, URI: raw})
	if err != nil {
		return nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	return k, nil
}

func (h hsm) open(ctx context.Context, _ *uri.URI, raw string) (*Key, error) {
	k, err := h.connect(ctx, raw)
	if err != nil {
		return nil, err
	}
	return signerKey(k, raw)
}

func (h hsm) create(ctx context.Context, _ *uri.URI, raw string) (*Key, error) {
	k, err := h.connect(ctx, raw)
	if err != nil {
		return nil, err
	}
	if _, err := k.CreateKey(&apiv1.CreateKeyRequest{Name: raw, SignatureAlgorithm: apiv1.ECDSAWithSHA256}); err != nil {
		k.Close()
		if errors.As(err, new(apiv1.AlreadyExistsError)) {
			return nil, fmt.Errorf("%w: %s", ErrExists, Redact(raw))
		}
		return nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	return signerKey(k, raw)
}

// signerKey returns the key of the token that raw names, which closes the
// module's sessions when it is closed; on error it closes them at once.
func signerKey(k *pkcs11.PKCS11, raw string) (*Key, error) {
	signer, err := k.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: raw})
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	key, err := newKey(signer, raw, k.Close)
	if err != nil {
		k.Close()
	}
	return key, err
}
