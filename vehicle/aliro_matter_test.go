package vehicle

import (
	"bytes"
	"errors"
	"testing"
)

// TestAliroReaderConfig: the cluster's SetAliroReaderConfig and
// ClearAliroReaderConfig, and the attributes they set.
func TestAliroReaderConfig(t *testing.T) {
	l, err := NewAliroLock(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := l.AliroAttributes()
	if a.ReaderVerificationKey != nil || a.ReaderGroupIdentifier != nil || len(a.ReaderGroupSubIdentifier) != 16 ||
		len(a.ExpeditedVersions) != 1 || !bytes.Equal(a.ExpeditedVersions[0], []byte{1, 0}) ||
		a.EndpointKeysSupported != DefaultAliroEndpointKeys || a.CredentialIssuerKeysSupported != DefaultAliroIssuerKeys {
		t.Errorf("attributes of a new lock: %+v", a)
	}
	if _, err := l.Transact(t.Context(), nil, AliroActionUnlock); !errors.Is(err, ErrAliroNotConfigured) {
		t.Errorf("Transact before the configuration: %v", err)
	}
	k := pairKey(t)
	sk, _ := k.Bytes()
	group := bytes.Repeat([]byte{0x61}, 16)
	grk := bytes.Repeat([]byte{0x77}, 16)
	good := AliroReaderConfig{SigningKey: sk, VerificationKey: k.PublicKey().Bytes(), GroupIdentifier: group, GroupResolvingKey: grk}
	for name, c := range map[string]AliroReaderConfig{
		"short signing key":   {SigningKey: sk[:31], VerificationKey: good.VerificationKey, GroupIdentifier: group},
		"another key's half":  {SigningKey: sk, VerificationKey: pairKey(t).PublicKey().Bytes(), GroupIdentifier: group},
		"compressed key":      {SigningKey: sk, VerificationKey: good.VerificationKey[:33], GroupIdentifier: group},
		"group of 8 bytes":    {SigningKey: sk, VerificationKey: good.VerificationKey, GroupIdentifier: group[:8]},
		"resolving key of 8":  {SigningKey: sk, VerificationKey: good.VerificationKey, GroupIdentifier: group, GroupResolvingKey: grk[:8]},
		"scalar out of range": {SigningKey: bytes.Repeat([]byte{0xFF}, 32), VerificationKey: good.VerificationKey, GroupIdentifier: group},
	} {
		if err := l.SetAliroReaderConfig(c); !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("%s: %v, want ErrInvalidCredential", name, err)
		}
	}
	if err := l.SetAliroReaderConfig(good); err != nil {
		t.Fatal(err)
	}
	a = l.AliroAttributes()
	if !bytes.Equal(a.ReaderVerificationKey, good.VerificationKey) || !bytes.Equal(a.ReaderGroupIdentifier, group) || !bytes.Equal(a.GroupResolvingKey, grk) {
		t.Errorf("attributes after the configuration: %+v", a)
	}
	if err := l.SetAliroReaderConfig(good); !errors.Is(err, ErrAliroConfigured) {
		t.Errorf("a second configuration: %v, want ErrAliroConfigured", err)
	}
	if id := l.ReaderID(); !bytes.Equal(id.Group[:], group) || !bytes.Equal(id.SubGroup[:], a.ReaderGroupSubIdentifier) {
		t.Errorf("ReaderID = %v", id)
	}
	if err := l.ClearAliroReaderConfig(); err != nil {
		t.Fatal(err)
	}
	if a := l.AliroAttributes(); a.ReaderVerificationKey != nil || a.GroupResolvingKey != nil {
		t.Errorf("attributes after the clear: %+v", a)
	}
	if s := l.String(); bytes.Contains([]byte(s), sk) {
		t.Error("String prints the signing key")
	}
}

// TestAliroCredentials: SetCredential, GetCredentialStatus and
// ClearCredential as the cluster has them.
func TestAliroCredentials(t *testing.T) {
	l, err := NewAliroLock(&AliroLockConfig{MaxEndpointKeys: 2, MaxIssuerKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	k1, k2, k3, ik := pairKey(t).PublicKey().Bytes(), pairKey(t).PublicKey().Bytes(), pairKey(t).PublicKey().Bytes(), pairKey(t).PublicKey().Bytes()
	ev := func(i uint16) AliroCredential { return AliroCredential{Type: AliroEvictableEndpointKey, Index: i} }
	ne := func(i uint16) AliroCredential { return AliroCredential{Type: AliroNonEvictableEndpointKey, Index: i} }
	next, err := l.SetCredential(DataOperationAdd, ne(1), k1, 1)
	if err != nil || next != 2 {
		t.Fatalf("add = %d, %v", next, err)
	}
	for name, tt := range map[string]struct {
		op   DataOperation
		c    AliroCredential
		data []byte
		user uint16
		want error
	}{
		"occupied":            {DataOperationAdd, ne(1), k2, 1, ErrCredentialOccupied},
		"duplicate":           {DataOperationAdd, ev(1), k1, 1, ErrCredentialDuplicate},
		"modify of nothing":   {DataOperationModify, ev(2), k2, 1, ErrCredentialNotFound},
		"index 0":             {DataOperationAdd, ev(0), k2, 1, ErrInvalidCredential},
		"index over the max":  {DataOperationAdd, ev(3), k2, 1, ErrInvalidCredential},
		"a PIN":               {DataOperationAdd, AliroCredential{Type: 1, Index: 1}, k2, 1, ErrInvalidCredential},
		"compressed key":      {DataOperationAdd, ev(1), k2[:33], 1, ErrInvalidCredential},
		"not on the curve":    {DataOperationAdd, ev(1), append([]byte{4}, make([]byte, 64)...), 1, ErrInvalidCredential},
		"user 0":              {DataOperationAdd, ev(1), k2, 0, ErrInvalidCredential},
		"clear operation":     {1, ev(1), k2, 1, ErrInvalidCredential},
		"issuer index 2 of 1": {DataOperationAdd, AliroCredential{Type: AliroIssuerKey, Index: 2}, ik, 1, ErrInvalidCredential},
	} {
		if _, err := l.SetCredential(tt.op, tt.c, tt.data, tt.user); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", name, err, tt.want)
		}
	}
	if _, err := l.SetCredential(DataOperationAdd, ev(1), k2, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetCredential(DataOperationAdd, ev(2), k3, 2); !errors.Is(err, ErrCredentialsFull) {
		t.Errorf("a third endpoint key of 2: %v, want ErrCredentialsFull", err)
	}
	if next, err := l.SetCredential(DataOperationAdd, AliroCredential{Type: AliroIssuerKey, Index: 1}, ik, 9); err != nil || next != 0 {
		t.Errorf("issuer key = %d, %v", next, err)
	}
	st, err := l.GetCredentialStatus(ne(1))
	if err != nil || !st.Exists || st.User != 1 || !bytes.Equal(st.Data, k1) || st.NextIndex != 0 {
		t.Errorf("status of %v = %+v, %v", ne(1), st, err)
	}
	if st, _ := l.GetCredentialStatus(ne(2)); st.Exists || st.NextIndex != 0 {
		t.Errorf("status of an empty index = %+v", st)
	}
	// Modify replaces the key and the user.
	if _, err := l.SetCredential(DataOperationModify, ev(1), k3, 4); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.GetCredentialStatus(ev(1)); !bytes.Equal(st.Data, k3) || st.User != 4 {
		t.Errorf("status after modify = %+v", st)
	}
	// Clear one, all of a type, all.
	if err := l.ClearCredential(&AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}); err != nil {
		t.Fatal(err)
	}
	if err := l.ClearCredential(&AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}); err != nil {
		t.Errorf("clearing an empty index: %v", err)
	}
	if len(l.Endpoints()) != 1 {
		t.Errorf("%d endpoint keys after clearing one", len(l.Endpoints()))
	}
	if err := l.ClearCredential(&AliroCredential{Type: AliroEvictableEndpointKey, Index: AliroAllIndices}); err != nil || len(l.Endpoints()) != 0 {
		t.Errorf("clear all evictable: %v, %d left", err, len(l.Endpoints()))
	}
	if err := l.ClearCredential(nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.GetCredentialStatus(AliroCredential{Type: AliroIssuerKey, Index: 1}); st.Exists {
		t.Error("the issuer key survived ClearCredential(nil)")
	}
	if err := l.ClearCredential(&AliroCredential{Type: 2, Index: 1}); !errors.Is(err, ErrInvalidCredential) {
		t.Errorf("clearing an RFID: %v", err)
	}
}
