package sharing_test

import (
	"testing"

	"github.com/opencarkey/sdk/sharing"
)

// BenchmarkInvitation seals and opens an invitation: one HPKE
// encapsulation (P-256 key generation and ECDH), the response key
// generation, and the vehicle chain verification at the friend.
func BenchmarkInvitation(b *testing.B) {
	w := newWorld(b)
	lk := mustRecipient(b)
	cfg, offer := w.ownerConfig(), w.unlockOnly()
	_, sealed, err := sharing.Invite(cfg, offer, lk.PublicKey())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := sharing.Invite(cfg, offer, lk.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		fc := &sharing.FriendConfig{Time: w.clock.Now}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sharing.OpenInvitation(fc, lk, "", sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OpenWrongKey", func(b *testing.B) {
		other := mustRecipient(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sharing.OpenInvitation(nil, other, "", sealed); err != sharing.ErrDecrypt {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSeal is the envelope alone, for a 1 KiB message.
func BenchmarkSeal(b *testing.B) {
	k := mustRecipient(b)
	msg := make([]byte, 1024)
	sealed, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeToOwner, "", msg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeToOwner, "", msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sharing.OpenForTest(k, sharing.PurposeToOwner, "", sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkActivationCode opens a message bound to an activation code, as
// the owner's device opens a signing request: the cost of one online check
// (scrypt N=2^15, r=8).
func BenchmarkActivationCode(b *testing.B) {
	k := mustRecipient(b)
	sealed, err := sharing.SealForTest(k.PublicKey(), sharing.PurposeToOwner, "4711-0815", make([]byte, 300))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sharing.OpenForTest(k, sharing.PurposeToOwner, "4711-0815", sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttestationIntake is the vehicle's work at a first friend
// transaction, after the EXCHANGE: parse the mailbox area, verify the
// attestation, check the revocation store.
func BenchmarkAttestationIntake(b *testing.B) {
	w := newWorld(b)
	w.share(b, w.unlockOnly())
	area, err := w.car.readArea(w.friend)
	if err != nil {
		b.Fatal(err)
	}
	info, _ := w.friend.applet.Key(w.car.id)
	signers := w.car.signers()
	// A store with a vehicle's lifetime of revocations.
	for i := range 1000 {
		if err := w.car.store.Revoke(sharing.Revocation{KeyHash: [32]byte{byte(i), byte(i >> 8), 1}, At: t0}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		entries, err := sharing.ParseMailbox(area)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.car.sharing.AdmitFriend(entries[0].Statement, info.Slot, signers); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevocationCheck is one lookup in a store of 10000 revocations.
func BenchmarkRevocationCheck(b *testing.B) {
	s := sharing.NewRevocationStore(0)
	for i := range 10000 {
		if err := s.Revoke(sharing.Revocation{KeyHash: [32]byte{byte(i), byte(i >> 8), 1}, At: t0}); err != nil {
			b.Fatal(err)
		}
	}
	k := mustKey(b).PublicKey()
	sl := slot("slot")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Check(sl, k, [16]byte{1}); err != nil {
			b.Fatal(err)
		}
	}
}
