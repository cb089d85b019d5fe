//go:build pkcs11 && cgo

package keyuri

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/internal/softhsmtest"
)

// TestPKCS11Transaction runs a standard transaction whose vehicle key lives
// in the token: transaction.VehicleSession signs AUTH1 through PKCS#11 and
// the endpoint verifies it.
func TestPKCS11Transaction(t *testing.T) {
	uri := softhsmtest.KeyURIs(t, "./keyuri")("vehicle")
	ctx := context.Background()
	k, err := Create(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if strings.Contains(k.String(), softhsmtest.PIN()) {
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
	uri := softhsmtest.KeyURIs(t, "./keyuri")
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
	uri := softhsmtest.KeyURIs(t, "./keyuri")
	ctx := context.Background()
	if _, err := Open(ctx, uri("missing")); err == nil {
		t.Error("Open of a key that does not exist succeeded")
	}
	wrong := strings.Replace(uri("x"), "pin-value="+softhsmtest.PIN(), "pin-value=000000", 1)
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
