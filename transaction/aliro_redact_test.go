package transaction

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/internal/redacttest"
)

// TestAliroSecretsRedacted: every Aliro type that holds a secret, captured
// in the middle of real transactions when its secrets are live, formats
// with every verb without showing a byte of Kpersistent, the step-up key,
// the ECDH secret, the key material, the channel keys, the cryptogram or
// the mailbox subset.
func TestAliroSecretsRedacted(t *testing.T) {
	tr, te, cred := aliroPair(t)
	subset := []byte{0xC1, 0x5E, 0xC2, 0xE7, 0x70, 0x4B, 0xE0, 0x1D, 0x9A, 0x37, 0x8F, 0x25, 0xB6, 0x4C, 0xD3, 0x61}
	cred.MailboxSubset = subset
	pk, res, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.MailboxSubset, subset) {
		t.Fatalf("mailbox subset %x", res.MailboxSubset)
	}
	su := tr.s.StepUpKey()
	standard := [][]byte{
		pk.Bytes(), bytes.Clone(pk.prk[:]), su.Bytes(), subset,
		bytes.Clone(tr.s.z[:]), bytes.Clone(tr.s.keys.kdh[:]), bytes.Clone(tr.s.keys.prk[:]),
		bytes.Clone(tr.s.keys.okm[:aliroKeySize]), bytes.Clone(tr.s.keys.okm[aliroKeySize : 2*aliroKeySize]),
		bytes.Clone(tr.s.keys.persist[:]), bytes.Clone(te.s.z[:]),
	}
	fk := NewFastKey(cred.PublicKey, &pk)
	keys := tr.s.keys
	values := []any{
		pk, &pk, su, &su, fk, &fk, *cred, cred, res, &res,
		*tr.s, tr.s, *te.s, te.s, tr.s.aliroCore, &te.s.aliroCore, keys, &keys, tr.s.ch, &te.s.ch,
	}
	for _, v := range values {
		redacttest.Check(t, v, standard...)
	}
	scalar, _ := tr.r.key.(interface{ Bytes() ([]byte, error) }).Bytes()
	for _, v := range []any{*tr.r, tr.r} {
		if err := redacttest.Shown(v, scalar); err != nil {
			t.Error(err)
		}
	}

	// A fast transaction: the cryptogram and the fast keys.
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	if err := tr.auth0(AliroPolicyUserDevice, true); err != nil || !tr.s.HasCryptogram() {
		t.Fatalf("fast AUTH0: %v", err)
	}
	cryptogram := bytes.Clone(tr.s.resp.cryptogram[:])
	if tr.s.FindFast([]FastKey{fk}) != 0 {
		t.Fatal("fast transaction not recognised")
	}
	fast := [][]byte{cryptogram, bytes.Clone(tr.s.keys.okm[:aliroKeySize]), bytes.Clone(tr.s.keys.okm[aliroKeySize : 2*aliroKeySize]), standard[0], standard[1]}
	for _, v := range []any{tr.s.resp, &tr.s.resp, *tr.s, tr.s, *te.s, te.s, tr.s.keys} {
		redacttest.Check(t, v, fast...)
	}

	for _, tt := range []struct {
		v    any
		want string
	}{
		{AliroStepUpKey{}, "transaction.AliroStepUpKey(none)"},
		{su, "transaction.AliroStepUpKey(redacted)"},
		{res, "transaction.AliroAuth1Result{Credential: " + hexOf(cred.PublicKey.Bytes()) + ", Signaling: 0030, MailboxSubset: 16 bytes}"},
	} {
		if got := tt.v.(interface{ String() string }).String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestAliroRangingKey: over Bluetooth LE both sides derive the same URSK
// in a standard transaction and another in a fast one (Aliro 1.0 8.3.1.13:
// both key materials end with URSK); over NFC none.
func TestAliroRangingKey(t *testing.T) {
	tr := newAliroTestReader(t, &AliroReaderConfig{Interface: InterfaceBLE})
	te := newAliroTestEndpoint(t, &AliroEndpointConfig{Interface: InterfaceBLE})
	cred := te.add(t, tr.r.ID().Group, tr.r.PublicKey(), false)
	tr.card = te
	pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rk, ek := tr.s.RangingKey(), te.s.RangingKey()
	if !rk.Valid() || !rk.Equal(&ek) || len(rk.Bytes()) != RangingKeySize {
		t.Fatalf("ranging keys differ or are missing")
	}
	nfcR, nfcE, nfcCred := aliroPair(t)
	if _, _, err := nfcR.standard(AliroPolicyUserDevice, nfcCred.PublicKey); err != nil {
		t.Fatal(err)
	}
	if k := nfcR.s.RangingKey(); k.Valid() {
		t.Errorf("reader ranging key over NFC")
	}
	if k := nfcE.s.RangingKey(); k.Valid() {
		t.Errorf("device ranging key over NFC")
	}
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	if i, err := tr.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &pk)}); err != nil || i != 0 {
		t.Fatal(i, err)
	}
	frk, fek := tr.s.RangingKey(), te.s.RangingKey()
	if !frk.Valid() || !frk.Equal(&fek) || frk.Equal(&rk) {
		t.Errorf("fast ranging keys differ, are missing or repeat the standard one")
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
