package sharing_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

func slot(s string) dkey.KeySlot {
	k, err := dkey.NewKeySlot([]byte(s))
	if err != nil {
		panic(err)
	}
	return k
}

func TestRevocationStore(t *testing.T) {
	k1, k2 := mustKey(t).PublicKey(), mustKey(t).PublicKey()
	id := attest.NewID()
	s := sharing.NewRevocationStore(2)
	if s.Cap() != 2 {
		t.Fatalf("Cap() = %d", s.Cap())
	}
	if err := s.Revoke(sharing.Revocation{Slot: slot("s1"), KeyHash: attest.KeyHash(k1), ID: id, At: t0}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		slot dkey.KeySlot
		key  *dkey.PublicKey
		id   attest.ID
		want error
	}{
		{"revoked slot", slot("s1"), nil, attest.ID{}, sharing.ErrRevoked},
		{"revoked key", slot("other"), k1, attest.ID{}, sharing.ErrRevoked},
		{"revoked statement", dkey.KeySlot{}, k2, id, sharing.ErrRevoked},
		{"nothing revoked", slot("s2"), k2, attest.NewID(), nil},
		{"zero values", dkey.KeySlot{}, nil, attest.ID{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(tt.slot, tt.key, tt.id)
			if !errors.Is(err, tt.want) || (tt.want != nil && !errors.Is(err, dkey.ErrKeyTerminated)) || (tt.want == nil && err != nil) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	gen := s.Generation()
	if err := s.Revoke(sharing.Revocation{Slot: slot("s1"), KeyHash: attest.KeyHash(k1), At: t0}); err != nil || s.Generation() != gen || s.Len() != 1 {
		t.Errorf("recording a revocation again: %v, generation %d → %d, %d records", err, gen, s.Generation(), s.Len())
	}
	if err := s.Revoke(sharing.Revocation{KeyHash: attest.KeyHash(k2), At: t0}); err != nil || s.Generation() != gen+1 || !s.Full() {
		t.Fatalf("second revocation: %v", err)
	}
	before := s.Revocations()
	if err := s.Revoke(sharing.Revocation{KeyHash: sha256.Sum256([]byte("k3")), At: t0}); !errors.Is(err, sharing.ErrStoreFull) {
		t.Errorf("Revoke when full = %v, want ErrStoreFull", err)
	}
	if diff := cmp.Diff(before, s.Revocations(), cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b })); diff != "" {
		t.Errorf("a refused revocation changed the store:\n%s", diff)
	}
	for _, r := range []sharing.Revocation{{At: t0}, {KeyHash: attest.KeyHash(k2)}} {
		if err := sharing.NewRevocationStore(0).Revoke(r); err == nil {
			t.Errorf("Revoke(%+v) succeeded", r)
		}
	}
	if c := sharing.NewRevocationStore(sharing.MaxRevocations + 1).Cap(); c != sharing.MaxRevocations {
		t.Errorf("capacity above the bound = %d", c)
	}
}

func TestRevocationStorePersistence(t *testing.T) {
	s := sharing.NewRevocationStore(0)
	for i := range 5 {
		r := sharing.Revocation{KeyHash: sha256.Sum256([]byte{byte(i)}), At: t0.Add(time.Duration(i) * time.Hour)}
		if i%2 == 0 {
			r.Slot = slot(fmt.Sprint("slot", i))
		}
		if i%3 == 0 {
			r.ID = attest.NewID()
		}
		if err := s.Revoke(r); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := sharing.ParseRevocationStore(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Revocations(), got.Revocations(), cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b })); diff != "" || got.Generation() != s.Generation() {
		t.Errorf("round trip (-want +got):\n%s generation %d, want %d", diff, got.Generation(), s.Generation())
	}
	for i := range len(b) {
		if _, err := sharing.ParseRevocationStore(b[:i], 0); err == nil {
			t.Fatalf("ParseRevocationStore of the %d-byte prefix succeeded", i)
		}
	}
	if _, err := sharing.ParseRevocationStore(b, 4); !errors.Is(err, sharing.ErrStoreFull) && !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("ParseRevocationStore into a smaller store = %v", err)
	}
	empty, err := sharing.NewRevocationStore(0).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sharing.ParseRevocationStore(empty, 0); err != nil {
		t.Errorf("ParseRevocationStore(empty store) = %v", err)
	}
}

func TestParseRevocationStoreStrict(t *testing.T) {
	h := sha256.Sum256([]byte("k"))
	enc := func(v any) []byte {
		em, _ := cbor.CoreDetEncOptions().EncMode()
		b, err := em.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	entry := func(slot, hash, id []byte, at uint64) []any { return []any{slot, hash, id, at} }
	good := []any{uint64(1), uint64(1), []any{entry([]byte("s"), h[:], []byte{}, 100)}}
	if _, err := sharing.ParseRevocationStore(enc(good), 0); err != nil {
		t.Fatalf("ParseRevocationStore(good) = %v", err)
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"version 2", enc([]any{uint64(2), uint64(1), []any{entry([]byte("s"), h[:], []byte{}, 100)}}), sharing.ErrMalformed},
		{"generation below count", enc([]any{uint64(1), uint64(0), []any{entry([]byte("s"), h[:], []byte{}, 100)}}), sharing.ErrMalformed},
		{"short key hash", enc([]any{uint64(1), uint64(1), []any{entry([]byte("s"), h[:31], []byte{}, 100)}}), sharing.ErrMalformed},
		{"zero key hash", enc([]any{uint64(1), uint64(1), []any{entry([]byte("s"), make([]byte, 32), []byte{}, 100)}}), sharing.ErrMalformed},
		{"zero ID", enc([]any{uint64(1), uint64(1), []any{entry([]byte("s"), h[:], make([]byte, 16), 100)}}), sharing.ErrMalformed},
		{"ID of 15 bytes", enc([]any{uint64(1), uint64(1), []any{entry([]byte("s"), h[:], make([]byte, 15), 100)}}), sharing.ErrMalformed},
		{"slot of 9 bytes", enc([]any{uint64(1), uint64(1), []any{entry(make([]byte, 9), h[:], []byte{}, 100)}}), sharing.ErrMalformed},
		{"time after 9999", enc([]any{uint64(1), uint64(1), []any{entry([]byte("s"), h[:], []byte{}, 253402300800)}}), sharing.ErrMalformed},
		{"twice the same", enc([]any{uint64(1), uint64(2), []any{entry([]byte("s"), h[:], []byte{}, 100), entry([]byte("s"), h[:], []byte{}, 100)}}), sharing.ErrMalformed},
		{"trailing byte", append(enc(good), 0), sharing.ErrMalformed},
		{"non-minimal generation", []byte{0x83, 0x01, 0x18, 0x01, 0x80}, sharing.ErrMalformed},
		{"map", enc(map[uint64]any{1: 1}), sharing.ErrMalformed},
		{"over capacity", enc([]any{uint64(1), uint64(2), []any{entry([]byte("s"), h[:], []byte{}, 100), entry([]byte("t"), h[:], []byte{}, 100)}}), sharing.ErrStoreFull},
	} {
		t.Run(tt.name, func(t *testing.T) {
			max := 0
			if tt.want == sharing.ErrStoreFull {
				max = 1
			}
			if _, err := sharing.ParseRevocationStore(tt.b, max); !errors.Is(err, tt.want) {
				t.Errorf("ParseRevocationStore(%x) = %v, want %v", tt.b, err, tt.want)
			}
		})
	}
}

// TestRevocationStoreConcurrent exercises the store from several
// goroutines; run with -race.
func TestRevocationStoreConcurrent(t *testing.T) {
	s := sharing.NewRevocationStore(0)
	k := mustKey(t).PublicKey()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				_ = s.Revoke(sharing.Revocation{KeyHash: sha256.Sum256([]byte{byte(g), byte(i)}), At: t0})
				_ = s.Check(slot("x"), k, attest.ID{})
				_, _ = s.MarshalBinary()
			}
		})
	}
	wg.Wait()
	if s.Len() != 200 || s.Generation() != 200 {
		t.Errorf("Len() = %d, Generation() = %d; want 200", s.Len(), s.Generation())
	}
}

// TestFriendRevocation: the revocation of an admitted friend names its
// slot, the hash of its key and its attestation, at the given time; once
// the vehicle records it, each of the three alone is refused, and the same
// attestation is no longer admitted.
func TestFriendRevocation(t *testing.T) {
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	revs := sharing.NewRevocationStore(0)
	sv, err := sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: w.car.id, Revocations: revs, Time: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f, err := sv.AdmitFriend(issued.Statement, issued.Attestation.FriendSlot, w.car.signers())
	if err != nil {
		t.Fatal(err)
	}
	at := w.clock.Now().Truncate(time.Second)
	r := f.Revocation(at)
	if r.Slot != issued.Attestation.FriendSlot || r.Slot != f.Slot || r.KeyHash != attest.KeyHash(f.PublicKey) ||
		r.ID != issued.Attestation.ID || r.ID != f.AttestationID || !r.At.Equal(at) {
		t.Fatalf("Revocation(%v) = %+v, want the friend's slot %v, key hash, attestation %v", at, r, f.Slot, issued.Attestation.ID)
	}
	if err := revs.Check(f.Slot, f.PublicKey, f.AttestationID); err != nil {
		t.Fatalf("Check before the revocation = %v", err)
	}
	if err := revs.Revoke(r); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"slot":        revs.Check(f.Slot, nil, attest.ID{}),
		"key":         revs.Check(dkey.KeySlot{}, f.PublicKey, attest.ID{}),
		"attestation": revs.Check(dkey.KeySlot{}, nil, f.AttestationID),
	} {
		if !errors.Is(err, sharing.ErrRevoked) || !errors.Is(err, dkey.ErrKeyTerminated) {
			t.Errorf("Check of the revoked %s = %v, want ErrRevoked and ErrKeyTerminated", name, err)
		}
	}
	_, err = sv.AdmitFriend(issued.Statement, issued.Attestation.FriendSlot, w.car.signers())
	wantVehicleError(t, err, sharing.CheckRevocation, transaction.CFKeyDeleted, sharing.ErrRevoked)
}
