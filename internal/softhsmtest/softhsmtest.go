// Package softhsmtest gives tests the SoftHSM2 token that
// scripts/softhsm/run.sh initialises: the PKCS#11 URI of a fresh key in it,
// or a skip (a failure with CI=true) outside the wrapper. Only the tests of
// packages built with the pkcs11 tag import it.
package softhsmtest

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Environment variables that scripts/softhsm/run.sh sets.
const (
	EnvModule = "OPENCARKEY_PKCS11_MODULE" // path of the PKCS#11 module
	EnvToken  = "OPENCARKEY_PKCS11_TOKEN"  // label of the token
	EnvPIN    = "OPENCARKEY_PKCS11_PIN"    // user PIN of the token
)

// PIN returns the token's user PIN, empty outside the wrapper.
func PIN() string { return os.Getenv(EnvPIN) }

// KeyURIs returns a function that gives the pkcs11: URI of a new key slot
// in the token, named object with a random suffix and a random id, so that
// tests can run again in one token. Outside scripts/softhsm/run.sh it skips
// the test, saying how to run it; with CI=true it fails it instead. how
// names the package, for that message.
func KeyURIs(t testing.TB, how string) func(object string) string {
	t.Helper()
	module, token, pin := os.Getenv(EnvModule), os.Getenv(EnvToken), os.Getenv(EnvPIN)
	if module == "" || token == "" {
		msg := "no SoftHSM2 token: run under scripts/softhsm/run.sh, e.g. CGO_ENABLED=1 bash scripts/softhsm/run.sh go test -tags pkcs11 " + how
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return func(object string) string {
		var id [8]byte
		rand.Read(id[:])
		// The id as the %XX escapes of RFC 7512.
		var esc strings.Builder
		for _, c := range id {
			fmt.Fprintf(&esc, "%%%02x", c)
		}
		return fmt.Sprintf("pkcs11:module-path=%s;token=%s;id=%s;object=%s-%x?pin-value=%s", module, token, esc.String(), object, id[:4], pin)
	}
}
