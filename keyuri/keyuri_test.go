package keyuri

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/redacttest"
)

func softURI(dir, name string) string { return "softkms:path=" + filepath.Join(dir, name) }

func TestSoftKMS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	u := softURI(dir, "vehicle.pem")
	k, err := Create(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if fi, err := os.Stat(filepath.Join(dir, "vehicle.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if _, err := Create(ctx, u); !errors.Is(err, ErrExists) {
		t.Errorf("Create over an existing key = %v, want ErrExists", err)
	}
	for _, raw := range []string{u, "softkms:" + filepath.Join(dir, "vehicle.pem")} {
		o, err := Open(ctx, raw)
		if err != nil {
			t.Fatalf("Open(%q) = %v", raw, err)
		}
		if !o.PublicKey().Equal(k.PublicKey()) {
			t.Errorf("Open(%q) gave another key", raw)
		}
		// A signature of the opened key verifies under the created one.
		sig, err := dkey.Sign(o, []byte("message"))
		if err != nil {
			t.Fatal(err)
		}
		if err := k.PublicKey().Verify([]byte("message"), &sig); err != nil {
			t.Errorf("signature of %q: %v", raw, err)
		}
	}
	// ECDH agrees with crypto/ecdh.
	x, err := k.KeyExchanger()
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	z, err := x.ECDH(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	kpub, _ := k.PublicKey().ECDH()
	if want, _ := peer.ECDH(kpub); string(z) != string(want) {
		t.Error("ECDH differs from the peer's")
	}
	if _, err := x.ECDH(nil); err == nil {
		t.Error("ECDH(nil) succeeded")
	}
	standardTransaction(t, k)
	if err := k.Close(); err != nil {
		t.Error(err)
	}
}

func TestSoftKMSPKI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var keys [4]*Key
	for i, name := range []string{"device-root", "instance-ca", "vehicle-root", "vehicle"} {
		k, err := Create(ctx, softURI(dir, name+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	issueAndVerify(t, pkiKeys{keys[0], keys[1], keys[2], keys[3]})
}

func writePEM(t *testing.T, path string, key any) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	writePEM(t, filepath.Join(dir, "p384.pem"), p384)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	writePEM(t, filepath.Join(dir, "ed25519.pem"), ed)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600)
	for _, tt := range []struct {
		uri  string
		want error
		text string
	}{
		{softURI(dir, "p384.pem"), ErrNotP256, "not a P-256 key"},
		{softURI(dir, "ed25519.pem"), ErrNotP256, "ed25519"},
		{softURI(dir, "missing.pem"), nil, "missing.pem"},
		{softURI(dir, "junk.pem"), nil, "junk.pem"},
		{"softkms:", nil, "no file path"},
		{"awskms:key-id=1234", ErrScheme, `"awskms"`},
		{"/etc/key.pem", nil, "scheme is missing"},
		{"pkcs11:token=x;object=y?pin-value=secret", nil, ""},
	} {
		_, err := Open(ctx, tt.uri)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("Open(%q) = %v, want an error %v containing %q", tt.uri, err, tt.want, tt.text)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error shows the PIN: %v", tt.uri, err)
		}
	}
	if _, err := Create(ctx, "awskms:key-id=1"); !errors.Is(err, ErrScheme) {
		t.Errorf("Create(awskms) = %v, want ErrScheme", err)
	}
	if _, err := Create(ctx, softURI(filepath.Join(dir, "no-such-dir"), "k.pem")); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"pkcs11:token=a;object=b?pin-value=1234", "pkcs11:token=a;object=b?pin-value=redacted"},
		{"pkcs11:token=a?pin-value=1234&max-sessions=3", "pkcs11:token=a?pin-value=redacted&max-sessions=3"},
		{"pkcs11:pin-value=1;token=a;PIN-VALUE=2", "pkcs11:pin-value=redacted;token=a;PIN-VALUE=redacted"},
		{"pkcs11:token=a?pin-source=/run/pin", "pkcs11:token=a?pin-source=/run/pin"},
		{"softkms:path=/k.pem", "softkms:path=/k.pem"},
	} {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKeyRedacted(t *testing.T) {
	dir := t.TempDir()
	k, err := Create(context.Background(), softURI(dir, "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.signer.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	redacttest.Check(t, *k, raw)
	redacttest.Check(t, k, raw)
	if got, want := k.String(), "keyuri.Key("+softURI(dir, "k.pem")+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	d := sha256.Sum256([]byte("x"))
	if _, err := k.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Errorf("Sign = %v", err)
	}
	// A backend's failure names the key.
	f, err := newKey(failingSigner{k.signer}, "pkcs11:token=t;object=o?pin-value=1234", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Sign(rand.Reader, d[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "object=o?pin-value=redacted: signing: token removed") {
		t.Errorf("Sign with a failing backend = %v", err)
	}
	if _, err := f.KeyExchanger(); !errors.Is(err, ErrNoKeyExchange) {
		t.Errorf("KeyExchanger of a key without ECDH = %v, want ErrNoKeyExchange", err)
	}
}

// failingSigner is a backend whose key cannot sign any more.
type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("token removed")
}
