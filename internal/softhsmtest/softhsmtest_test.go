package softhsmtest

import (
	"net/url"
	"strings"
	"testing"
)

// TestKeyURIs checks the URIs given a token (the variables are set here,
// as scripts/softhsm/run.sh sets them): two keys never share an id or an
// object, and the URI names the module, token and PIN.
func TestKeyURIs(t *testing.T) {
	t.Setenv(EnvModule, "/usr/lib/softhsm/libsofthsm2.so")
	t.Setenv(EnvToken, "bench")
	t.Setenv(EnvPIN, "1234")
	next := KeyURIs(t, "./x")
	a, b := next("vehicle"), next("vehicle")
	if a == b {
		t.Fatalf("two keys got the same URI %q", a)
	}
	u, err := url.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "pkcs11" || u.Query().Get("pin-value") != "1234" || PIN() != "1234" {
		t.Errorf("URI %q", a)
	}
	for _, want := range []string{"module-path=/usr/lib/softhsm/libsofthsm2.so;", "token=bench;", ";id=%", ";object=vehicle-"} {
		if !strings.Contains(a, want) {
			t.Errorf("URI %q lacks %q", a, want)
		}
	}
}

// TestKeyURIsSkips: outside the wrapper the test skips (this test runs
// with CI unset so that the skip is what happens).
func TestKeyURIsSkips(t *testing.T) {
	t.Setenv(EnvModule, "")
	t.Setenv("CI", "")
	skipped := true
	t.Run("inner", func(t *testing.T) {
		KeyURIs(t, "./x")
		skipped = false
	})
	if !skipped {
		t.Error("KeyURIs did not skip without a token")
	}
}
