package keyuri

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/opencarkey/sdk/dkey"
	"go.step.sm/crypto/kms/uri"
)

// Errors of the package.
var (
	// ErrScheme reports a URI whose scheme no backend of this package
	// serves.
	ErrScheme = errors.New("keyuri: unsupported key URI scheme")
	// ErrNoPKCS11 reports a pkcs11: URI in a program built without PKCS#11
	// support (the pkcs11 build tag with cgo).
	ErrNoPKCS11 = errors.New("keyuri: built without PKCS#11 support; build with -tags pkcs11 and CGO_ENABLED=1")
	// ErrNotP256 reports a key that is not a P-256 key.
	ErrNotP256 = errors.New("keyuri: not a P-256 key")
	// ErrNoKeyExchange reports a key whose backend cannot do ECDH here.
	ErrNoKeyExchange = errors.New("keyuri: the key's backend does not do ECDH")
	// ErrExists reports a Create at a URI where a key already is.
	ErrExists = errors.New("keyuri: a key already exists at this URI")
)

// Key is a P-256 private key opened by URI. It is a crypto.Signer: Sign
// takes a SHA-256 digest and returns an ASN.1 DER signature, as
// dkey.Sign and crypto/x509 expect. It is safe for concurrent use when its
// backend is (PEM keys, and crypto11's PKCS#11 sessions, are). Close
// releases the backend (a PKCS#11 module's sessions).
type Key struct {
	signer crypto.Signer
	pub    *dkey.PublicKey
	ecdh   *ecdh.PrivateKey // nil when the backend does not do ECDH here
	close  func() error
	uri    string
}

var _ crypto.Signer = (*Key)(nil)

// backend opens and creates keys for one URI scheme.
type backend interface {
	open(ctx context.Context, u *uri.URI, raw string) (*Key, error)
	create(ctx context.Context, u *uri.URI, raw string) (*Key, error)
}

// backends returns the backend of a URI's scheme.
func backendFor(raw string) (backend, *uri.URI, error) {
	u, err := uri.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("keyuri: %s: %w", Redact(raw), err)
	}
	switch strings.ToLower(u.Scheme) {
	case "softkms":
		return softBackend{}, u, nil
	case "pkcs11":
		return pkcs11Backend, u, nil
	}
	return nil, nil, fmt.Errorf("%w %q (have softkms, pkcs11)", ErrScheme, u.Scheme)
}

// Open opens the key that raw names. The context bounds opening only.
func Open(ctx context.Context, raw string) (*Key, error) {
	b, u, err := backendFor(raw)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, u, raw)
}

// Create makes a new P-256 key at raw and opens it. It fails with an error
// wrapping ErrExists when a key is already there.
func Create(ctx context.Context, raw string) (*Key, error) {
	b, u, err := backendFor(raw)
	if err != nil {
		return nil, err
	}
	return b.create(ctx, u, raw)
}

// newKey checks that signer holds a P-256 key and wraps it.
func newKey(signer crypto.Signer, raw string, close func() error) (*Key, error) {
	ecPub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds a %T", ErrNotP256, Redact(raw), signer.Public())
	}
	pub, err := dkey.NewPublicKey(ecPub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotP256, Redact(raw), err)
	}
	k := &Key{signer: signer, pub: pub, close: close, uri: Redact(raw)}
	if priv, ok := signer.(*ecdsa.PrivateKey); ok {
		if k.ecdh, err = priv.ECDH(); err != nil {
			return nil, fmt.Errorf("keyuri: %s: %w", k.uri, err)
		}
	}
	return k, nil
}

// Public returns the key's *ecdsa.PublicKey.
func (k *Key) Public() crypto.PublicKey { return k.signer.Public() }

// PublicKey returns the key's public key in its protocol form.
func (k *Key) PublicKey() *dkey.PublicKey { return k.pub }

// Sign signs digest with the key in its backend.
func (k *Key) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := k.signer.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("keyuri: %s: signing: %w", k.uri, err)
	}
	return sig, nil
}

// KeyExchanger returns the key as a dkey.PrivateKey, which also agrees
// keys (ECDH), when its backend can; otherwise an error wrapping
// ErrNoKeyExchange.
func (k *Key) KeyExchanger() (dkey.PrivateKey, error) {
	if k.ecdh == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoKeyExchange, k.uri)
	}
	return exchanger{k}, nil
}

// exchanger is a Key whose backend does ECDH.
type exchanger struct{ *Key }

// ECDH returns the X coordinate of the shared point with remote.
func (e exchanger) ECDH(remote *ecdh.PublicKey) ([]byte, error) {
	if remote == nil || remote.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: not a P-256 key", dkey.ErrInvalidPublicKey)
	}
	return e.ecdh.ECDH(remote)
}

// URI returns the URI the key was opened with, without a pin-value.
func (k *Key) URI() string { return k.uri }

// Close releases the key's backend. The key must not be used after.
func (k *Key) Close() error {
	if k.close == nil {
		return nil
	}
	c := k.close
	k.close = nil
	return c()
}

// String returns the URI without a pin-value; never key material.
func (k Key) String() string { return "keyuri.Key(" + k.uri + ")" }

// GoString returns the same as String.
func (k Key) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// Redact returns raw with the value of any pin-value attribute replaced by
// "redacted", for messages and logs.
func Redact(raw string) string {
	lower := strings.ToLower(raw)
	const attr = "pin-value="
	var b strings.Builder
	for {
		i := strings.Index(lower, attr)
		if i < 0 {
			b.WriteString(raw)
			return b.String()
		}
		b.WriteString(raw[:i+len(attr)] + "redacted")
		j := i + len(attr)
		end := strings.IndexAny(raw[j:], ";&?#")
		if end < 0 {
			return b.String()
		}
		raw, lower = raw[j+end:], lower[j+end:]
	}
}

// pathOf returns the file a softkms URI names: the path attribute, or the
// opaque part (softkms:/etc/key.pem, softkms:key.pem).
func pathOf(u *uri.URI) (string, error) {
	p := u.Get("path")
	switch {
	case p != "":
	case u.Path != "":
		p = u.Path
	default:
		p = u.Opaque
	}
	if p == "" || strings.ContainsAny(p, ";=") {
		return "", fmt.Errorf("keyuri: %s: no file path", u.String())
	}
	if s, err := url.PathUnescape(p); err == nil {
		p = s
	}
	return p, nil
}
