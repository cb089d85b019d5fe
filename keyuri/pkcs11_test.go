//go:build pkcs11 && cgo

package keyuri

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// softHSM returns a function that gives the URI of a fresh key slot in the
// SoftHSM2 token that scripts/softhsm/run.sh set up, or skips the test
// outside it. Under CI (CI=true) a missing token is a failure.
func softHSM(t *testing.T) func(object string) string {
	t.Helper()
	module, token, pin := os.Getenv("OPENCARKEY_PKCS11_MODULE"), os.Getenv("OPENCARKEY_PKCS11_TOKEN"), os.Getenv("OPENCARKEY_PKCS11_PIN")
	if module == "" || token == "" {
		const how = "no SoftHSM2 token: run under scripts/softhsm/run.sh, e.g. CGO_ENABLED=1 bash scripts/softhsm/run.sh go test -tags pkcs11 ./keyuri"
		if os.Getenv("CI") == "true" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	return func(object string) string {
		// A random id per key, so that tests can run again in one token.
		var id [8]byte
		rand.Read(id[:])
		return fmt.Sprintf("pkcs11:module-path=%s;token=%s;id=%s;object=%s-%x?pin-value=%s", module, token, hexID(id[:]), object, id[:4], pin)
	}
}

// hexID encodes an id as the %XX escapes of RFC 7512.
func hexID(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%%%02x", c)
	}
	return s.String()
}

// TestPKCS11Transaction runs a standard transaction whose vehicle key lives
// in the token: transaction.VehicleSession signs AUTH1 through PKCS#11 and
// the endpoint verifies it.
func TestPKCS11Transaction(t *testing.T) {
	uri := softHSM(t)("vehicle")
	ctx := context.Background()
	k, err := Create(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if strings.Contains(k.String(), os.Getenv("OPENCARKEY_PKCS11_PIN")) {
		t.Errorf("String() shows the PIN: %s", k)
	}
	if _, err := k.KeyExchanger(); !errors.Is(err, ErrNoKeyExchange) {
		t.Errorf("KeyExchanger of a PKCS#11 key = %v, want ErrNoKeyExchange", err)
	}
	standardTransaction(t, k)

	// Opened again, by another module session, it is the same key.
	o, err := Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if !o.PublicKey().Equal(k.PublicKey()) {
		t.Error("Open gave another key")
	}
	standardTransaction(t, o)
	if _, err := Create(ctx, uri); !errors.Is(err, ErrExists) {
		t.Errorf("Create over an existing key = %v, want ErrExists", err)
	}
}

// TestPKCS11PKI issues the test PKI with every CA key (and the vehicle
// key) in the token and verifies both chains.
func TestPKCS11PKI(t *testing.T) {
	uri := softHSM(t)
	ctx := context.Background()
	var keys [4]*Key
	for i, name := range []string{"device-root", "instance-ca", "vehicle-root", "vehicle"} {
		k, err := Create(ctx, uri(name))
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		keys[i] = k
	}
	issueAndVerify(t, pkiKeys{keys[0], keys[1], keys[2], keys[3]})
}

func TestPKCS11Errors(t *testing.T) {
	uri := softHSM(t)
	ctx := context.Background()
	if _, err := Open(ctx, uri("missing")); err == nil {
		t.Error("Open of a key that does not exist succeeded")
	}
	wrong := strings.Replace(uri("x"), "pin-value="+os.Getenv("OPENCARKEY_PKCS11_PIN"), "pin-value=000000", 1)
	_, err := Create(ctx, wrong)
	if err == nil {
		t.Fatal("Create with a wrong PIN succeeded")
	}
	if strings.Contains(err.Error(), "000000") {
		t.Errorf("the error shows the PIN: %v", err)
	}
	if _, err := Create(ctx, strings.Replace(uri("x"), "token=", "token=no-such-", 1)); err == nil {
		t.Error("Create in a token that does not exist succeeded")
	}
}
