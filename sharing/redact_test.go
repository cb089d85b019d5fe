package sharing_test

import (
	"strings"
	"testing"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/internal/redacttest"
	"github.com/opencarkey/sdk/sharing"
)

// TestSecretsRedacted (issue 12, finding 7): an offer with an activation
// code and both sessions of an invitation sealed with it redact
// themselves, and the configurations that carry a signing key format with
// every verb without showing the code or the key's scalar.
func TestSecretsRedacted(t *testing.T) {
	w := newWorld(t)
	const code = "q7Zx-94Kp"
	offer := w.unlockOnly()
	offer.ActivationCode = code
	os, fs, _, _ := w.invite(t, offer)
	key := mustKey(t)
	scalar, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.ownerConfig()
	cfg.Key = key
	change := &sharing.DeviceChange{Vehicle: w.car.id, NewKey: key, Issued: []*attest.KeyAttestation{}}
	secrets := [][]byte{[]byte(code), scalar}
	for _, v := range []any{*offer, offer, *os, os, *fs, fs} {
		redacttest.Check(t, v, secrets...)
	}
	// The configurations hold the key only in their exported Key fields,
	// and a dkey.SoftwareKey redacts itself.
	for _, v := range []any{*cfg, cfg, *change, change} {
		if err := redacttest.Shown(v, secrets...); err != nil {
			t.Error(err)
		}
	}
	if s := offer.String(); !strings.Contains(s, "ActivationCode: redacted") || !strings.Contains(s, offer.Profile.String()) {
		t.Errorf("Offer.String() = %q, want the profile and a redacted code", s)
	}
	offer.ActivationCode = ""
	if s := offer.String(); !strings.Contains(s, "ActivationCode: none") {
		t.Errorf("Offer.String() without a code = %q", s)
	}
	if s, id := os.String(), os.Invitation().ID.String(); !strings.Contains(s, id) || fs.String() != strings.Replace(s, "Owner", "Friend", 1) {
		t.Errorf("sessions print %q and %q, want the invitation %v", s, fs.String(), id)
	}
}
