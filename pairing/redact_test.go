package pairing

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/redacttest"
)

// TestSecretsRedacted (issue 12, finding 7): the verifier (w0, L), both
// sides of a pairing in the middle of the run (the password, the SPAKE2+
// run, LONG_TERM_SHARED_SECRET), the system keys and both results format
// with every verb without showing a byte of any of them.
func TestSecretsRedacted(t *testing.T) {
	f, p, _ := channelFixture(t) // password 123456, channel open
	// The encoding: 01 ‖ salt (16) ‖ N (4) ‖ r (2) ‖ p (2) ‖ w0 (32) ‖ L (65).
	enc, err := f.verifier.AppendBinary(nil)
	if err != nil || len(enc) != VerifierSize {
		t.Fatalf("AppendBinary = %x, %v", enc, err)
	}
	w0, l := enc[25:57], enc[58:]
	secrets := [][]byte{[]byte("123456"), w0, l}
	for _, v := range []any{*f.verifier, f.verifier} {
		redacttest.Check(t, v, secrets...)
	}

	// Mid-run, both sides hold the long-term secret.
	d := f.card.d
	if !p.smReady || p.keys.ltss != d.sk.ltss || p.keys.ltss == [LongTermSecretSize]byte{} {
		t.Fatal("the two sides do not hold the same long-term secret")
	}
	ltss := bytes.Clone(p.keys.ltss[:])
	for _, v := range []any{*p, p, *d, d, p.keys, &d.sk} {
		redacttest.Check(t, v, append(secrets, ltss)...)
	}

	// A completed pairing: the same password and salt, another run.
	f = newFixture(t, "123456", true)
	res, err := f.pair(t)
	if err != nil {
		t.Fatal(err)
	}
	dres := f.card.store.committed[0]
	ltss = bytes.Clone(res.LongTermSecret[:])
	if !bytes.Equal(ltss, dres.LongTermSecret[:]) {
		t.Fatal("results hold different long-term secrets")
	}
	for _, v := range []any{*res, res, *dres, dres} {
		redacttest.Check(t, v, append(secrets, ltss)...)
	}
	if got, want := res.String(), "pairing.VehicleResult{Slot: "+res.Slot.String()+", LongTermSecret: redacted}"; got != want {
		t.Errorf("VehicleResult.String() = %q, want %q", got, want)
	}
	if got, want := dres.String(), "pairing.DeviceResult{VehicleID: "+dres.VehicleID.String()+", Slot: "+dres.Slot.String()+", LongTermSecret: redacted}"; got != want {
		t.Errorf("DeviceResult.String() = %q, want %q", got, want)
	}

	// The system keys as derived, channel keys included.
	var k systemKeys
	if err := k.derive([]byte("SPAKE2+ shared key SK of a run..")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{k, &k} {
		redacttest.Check(t, v, k.channel.Enc[:], k.channel.MAC[:], k.channel.RMAC[:], k.ltss[:])
	}
}
