package transaction

import (
	"bytes"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/redacttest"
)

// TestSecretsRedacted (issue 12, finding 7): every type of the package
// that holds a secret, captured in the middle of a real transaction when
// its secrets are live, formats with every verb without showing a byte of
// Kpersistent, its PRK, the ranging key, the session keys, the ECDH
// secret, the key schedule, the fast cryptogram or the confidential
// mailbox subset.
func TestSecretsRedacted(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	// The confidential subset returned in AUTH1 holds an immobilizer token.
	token := []byte{0xC1, 0x5E, 0xC2, 0xE7, 0x70, 0x4B, 0xE0, 0x1D, 0x9A, 0x37, 0x8F, 0x25, 0xB6, 0x4C, 0xD3, 0x61}
	copy(te.conf, token)
	te.subsets[0] = dkey.MailboxRange{Offset: 0, Length: uint16(len(token))}
	pk, res, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Confidential, token) {
		t.Fatalf("confidential subset %x, want %x", res.Confidential, token)
	}
	rk := tv.s.RangingKey()
	if !rk.Valid() {
		t.Fatal("no ranging key")
	}
	// The secrets, while the transaction is live.
	standard := [][]byte{
		pk.Bytes(), bytes.Clone(pk.prk[:]), rk.Bytes(), token,
		bytes.Clone(tv.s.smKeys.Enc[:]), bytes.Clone(tv.s.smKeys.MAC[:]), bytes.Clone(tv.s.smKeys.RMAC[:]),
		bytes.Clone(tv.s.z[:]), bytes.Clone(tv.s.ks.kdh[:]), bytes.Clone(tv.s.ks.prk[:]),
		bytes.Clone(tv.s.ks.volatile[:]), bytes.Clone(tv.s.ks.persist[:]),
	}
	fk := NewFastKey(te.cred.PublicKey, &pk)
	ks, mac := tv.s.ks, *tv.s.ks.mac
	values := []any{
		pk, &pk, rk, &rk, fk, &fk, te.cred, &te.cred, res, &res,
		*tv.s, tv.s, *te.s, te.s, tv.s.core, &te.s.core, ks, &ks, mac, &mac, tv.s.auth1, &tv.s.auth1,
	}
	for _, v := range values {
		redacttest.Check(t, v, standard...)
	}
	// The long-term keys are handles (dkey.SoftwareKey here, which redacts
	// itself): neither the credential nor the vehicle shows a scalar.
	endpointScalar, _ := te.cred.Key.(*dkey.SoftwareKey).Bytes()
	vehicleScalar, _ := tv.v.key.(*dkey.SoftwareKey).Bytes()
	redacttest.Check(t, te.cred, endpointScalar, vehicleScalar)
	for _, v := range []any{*tv.v, tv.v} {
		if err := redacttest.Shown(v, endpointScalar, vehicleScalar); err != nil {
			t.Error(err)
		}
	}

	// A fast transaction: the cryptogram in the vehicle's AUTH0 response.
	if err := tv.controlFlow(CFSuccess); err != nil {
		t.Fatal(err)
	}
	if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil || !tv.s.HasCryptogram() {
		t.Fatalf("fast AUTH0: %v, cryptogram %v", err, tv.s.HasCryptogram())
	}
	cryptogram := bytes.Clone(tv.s.resp.cryptogram[:])
	if tv.s.FindFast([]FastKey{fk}) != 0 {
		t.Fatal("fast transaction not recognised")
	}
	fast := [][]byte{cryptogram, bytes.Clone(tv.s.smKeys.Enc[:]), bytes.Clone(tv.s.smKeys.MAC[:]), bytes.Clone(tv.s.smKeys.RMAC[:])}
	for _, v := range []any{tv.s.resp, &tv.s.resp, *tv.s, tv.s, *te.s, te.s, tv.s.ks} {
		redacttest.Check(t, v, append(fast, standard[0], standard[1])...)
	}

	// The zero values say so, and a redacted value still names its public
	// part.
	for _, tt := range []struct {
		v    any
		want string
	}{
		{PersistentKey{}, "transaction.PersistentKey(none)"},
		{RangingKey{}, "transaction.RangingKey(none)"},
		{&pk, "transaction.PersistentKey(redacted)"},
		{res, "transaction.Auth1Result{Slot: " + te.cred.Slot.String() + ", Confidential: 16 bytes, Private: 0 bytes}"},
		{te.cred, "transaction.Credential{Slot: " + te.cred.Slot.String() + ", keys redacted}"},
	} {
		if got := tt.v.(interface{ String() string }).String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestRangingKey(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	vk, ek := tv.s.RangingKey(), te.s.RangingKey()
	if !vk.Valid() || !vk.Equal(&ek) || len(vk.Bytes()) != RangingKeySize || !bytes.Equal(vk.Bytes(), ek.Bytes()) {
		t.Fatalf("ranging keys differ or are missing")
	}
	b := vk.Bytes()
	b[0] ^= 1
	if !bytes.Equal(vk.Bytes(), ek.Bytes()) {
		t.Error("Bytes aliases the key")
	}
	vk.Zeroize()
	if vk.Valid() || vk.Bytes() != nil || vk.Equal(&ek) || !vk.Equal(&RangingKey{}) {
		t.Error("Zeroize left a key")
	}
}
