package spake2plus

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/redacttest"
)

// TestSecretsRedacted (issue 12, finding 7): the prover secret (w0, w1),
// the verifier record (w0, L), both roles in the middle of a run (x, the
// shared key) and the run's shares and key schedule (Z, V, every derived
// key) format with every verb without showing a byte of any of them.
func TestSecretsRedacted(t *testing.T) {
	for _, tc := range testProfiles {
		t.Run(tc.name, func(t *testing.T) {
			secret := randomSecret(t)
			record := secret.Record()
			prover, err := NewProver(tc.profile, secret)
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := NewVerifier(tc.profile, record, prover.Share())
			if err != nil {
				t.Fatal(err)
			}
			// The prover's view of the run, as Finish computes it.
			var sh shares
			if !prover.computeShares(&sh, verifier.Share()) {
				t.Fatal("computeShares refused the verifier's share")
			}
			var k keySchedule
			prover.suite.schedule(&k, &sh)
			// The key arrays are longer than the CCC keys: their zero
			// tails are left out.
			used := func(b []byte) []byte { return bytes.Clone(bytes.TrimRight(b, "\x00")) }
			secrets := [][]byte{
				bytes.Clone(secret.w0[:]), bytes.Clone(secret.w1[:]), bytes.Clone(record.l[1:]),
				bytes.Clone(prover.x[:]), bytes.Clone(verifier.shared[:prover.suite.sharedSize()]),
				bytes.Clone(sh.z[1:]), bytes.Clone(sh.v[1:]),
				used(k.main[:]), used(k.proverKey[:]), used(k.verifierKey[:]),
			}
			for _, v := range []any{*secret, secret, *record, record, *prover, prover, *verifier, verifier, sh, &sh, k, &k} {
				redacttest.Check(t, v, secrets...)
			}
			if _, _, err := prover.Finish(verifier.Share(), verifier.Confirmation()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
