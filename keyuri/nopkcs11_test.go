//go:build !pkcs11 || !cgo

package keyuri

import (
	"context"
	"errors"
	"testing"
)

// TestNoPKCS11: without the pkcs11 build tag (or without cgo) a pkcs11: URI
// says how to get PKCS#11 support, and nothing else changes.
func TestNoPKCS11(t *testing.T) {
	if PKCS11 {
		t.Fatal("PKCS11 is true in a build without PKCS#11 support")
	}
	for _, f := range []func(context.Context, string) (*Key, error){Open, Create} {
		if _, err := f(context.Background(), "pkcs11:token=bench;id=01;object=vehicle?pin-value=1234"); !errors.Is(err, ErrNoPKCS11) {
			t.Errorf("pkcs11: URI without PKCS#11 support = %v, want ErrNoPKCS11", err)
		}
	}
}
