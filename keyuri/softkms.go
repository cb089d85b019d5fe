package keyuri

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"go.step.sm/crypto/kms/apiv1"
	"go.step.sm/crypto/kms/softkms"
	"go.step.sm/crypto/kms/uri"
)

// softBackend serves softkms: URIs, PEM private key files, through the
// library's softkms backend.
type softBackend struct{}

// start returns the file a softkms URI names and the library's backend.
func (softBackend) start(ctx context.Context, u *uri.URI) (string, *softkms.SoftKMS, error) {
	path, err := pathOf(u)
	if err != nil {
		return "", nil, err
	}
	kms, err := softkms.New(ctx, apiv1.Options{})
	if err != nil {
		return "", nil, fmt.Errorf("keyuri: softkms: %w", err)
	}
	return path, kms, nil
}

func (b softBackend) open(ctx context.Context, u *uri.URI, raw string) (*Key, error) {
	path, kms, err := b.start(ctx, u)
	if err != nil {
		return nil, err
	}
	signer, err := kms.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: path})
	if err != nil {
		return nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	return newKey(signer, raw, nil)
}

func (b softBackend) create(ctx context.Context, u *uri.URI, raw string) (*Key, error) {
	path, kms, err := b.start(ctx, u)
	if err != nil {
		return nil, err
	}
	resp, err := kms.CreateKey(&apiv1.CreateKeyRequest{Name: path, SignatureAlgorithm: apiv1.ECDSAWithSHA256})
	if err != nil {
		return nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(resp.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	defer clear(block)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err != nil {
		return nil, fmt.Errorf("keyuri: %w", err)
	}
	_, err = f.Write(block)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("keyuri: writing %s: %w", path, err)
	}
	return newKey(resp.CreateSignerRequest.Signer, raw, nil)
}
