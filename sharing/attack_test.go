package sharing_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

// invite returns an owner session and the invitation sealed to a fresh
// recipient key, and opens it for the friend.
func (w *world) invite(t testing.TB, offer *sharing.Offer) (*sharing.OwnerSession, *sharing.FriendSession, *sharing.RecipientPrivateKey, []byte) {
	t.Helper()
	return w.inviteWith(t, w.ownerConfig(), offer)
}

func wantVehicleError(t testing.TB, err error, check sharing.Check, cf transaction.ControlFlow, want error) {
	t.Helper()
	var ve *sharing.VehicleError
	if !errors.As(err, &ve) || ve.Check != check || !errors.Is(err, want) {
		t.Fatalf("error = %v, want a VehicleError at %v wrapping %v", err, check, want)
	}
	if got := transaction.ControlFlow(ve.ControlFlow()); got != cf {
		t.Errorf("ControlFlow() = %v, want %v", got, cf)
	}
}

// TestAttackInvitationOpenedByWrongDevice: an invitation sealed to one
// device's key, or to one link, opens nowhere else.
func TestAttackInvitationOpenedByWrongDevice(t *testing.T) {
	w := newWorld(t)
	alice, mallory := mustRecipient(t), mustRecipient(t)
	l1, _ := sharing.NewLink()
	l2, _ := sharing.NewLink()
	k1, _ := l1.Key()
	k2, _ := l2.Key()
	for _, tt := range []struct {
		name     string
		to, open *sharing.RecipientPrivateKey
	}{
		{"device key", alice, mallory},
		{"link", k1, k2},
		{"link key for a device invitation", alice, k1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), tt.to.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			before := w.state(t)
			if _, err := sharing.OpenInvitation(nil, tt.open, "", sealed); err != sharing.ErrDecrypt {
				t.Errorf("OpenInvitation by the wrong key = %v, want exactly ErrDecrypt", err)
			}
			w.assertUnchanged(t, before)
			if _, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, tt.to, "", sealed); err != nil {
				t.Errorf("OpenInvitation by the right key = %v", err)
			}
		})
	}
	// A signing request for one invitation does not open in another.
	os1, fs1, _, _ := w.invite(t, w.unlockOnly())
	os2, _, _, _ := w.invite(t, w.unlockOnly())
	ksr, err := fs1.SigningRequest(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os2.ReadSigningRequest(ksr); err != sharing.ErrDecrypt {
		t.Errorf("signing request in another session = %v, want ErrDecrypt", err)
	}
	if _, err := os1.ReadSigningRequest(ksr); err != nil {
		t.Errorf("signing request in its session = %v", err)
	}
}

// TestAttackActivationCodeOffline is finding 5 of the security review: a
// sealed invitation fetched from the relay, which needed no token, could be
// opened by trying every four-digit code in minutes. Now a code has at least
// MinCodeBits, the relay hands the invitation out once and only for the
// link's fetch token, the invitation does not depend on the code (nothing
// to test a guess against offline), and the owner's device checks the code
// carried by the answer and accepts MaxCodeAttempts wrong ones.
func TestAttackActivationCodeOffline(t *testing.T) {
	w := newWorld(t)
	lk := mustRecipient(t)
	offer := w.unlockOnly()

	// The entropy floor: short codes, repetitions and runs are refused.
	for _, code := range []string{"4711", "271828", "0000-0000", "1234-5678", "8765 4321", "abcde", "ABCDEF", "12345\xff78", "1234_5678", strings.Repeat("7", sharing.MaxCodeLen+1)} {
		offer.ActivationCode = code
		if _, _, err := sharing.Invite(w.ownerConfig(), offer, lk.PublicKey()); !errors.Is(err, sharing.ErrInvalidCode) {
			t.Errorf("Invite(code %q) = %v, want ErrInvalidCode", code, err)
		}
	}
	for _, code := range []string{"4711-0815", "47110815", "k7q-2mx", "K7Q 2MX"} {
		if err := sharing.CheckActivationCode(code); err != nil {
			t.Errorf("CheckActivationCode(%q) = %v", code, err)
		}
	}
	for range 20 {
		code, err := sharing.NewActivationCode()
		if err != nil || len(code) != 9 || code[4] != '-' || sharing.CheckActivationCode(code) != nil {
			t.Fatalf("NewActivationCode() = %q, %v", code, err)
		}
	}

	offer.ActivationCode = "4711-0815"
	os, sealed, err := sharing.Invite(w.ownerConfig(), offer, lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// The relay gives the invitation to the holder of the fetch token, once.
	ctx := context.Background()
	mb, err := w.relay.CreateMailbox(ctx, &sharing.NewMailbox{Content: sealed, Expires: os.Invitation().Expires})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.relay.FetchInvitation(ctx, mb.ID, sharing.AccessToken{}); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("FetchInvitation without the fetch token = %v, want ErrAccessDenied", err)
	}
	if _, _, err := w.relay.FetchInvitation(ctx, mb.ID, mb.Fetch); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.relay.FetchInvitation(ctx, mb.ID, mb.Fetch); !errors.Is(err, sharing.ErrAccessDenied) {
		t.Errorf("second FetchInvitation = %v, want ErrAccessDenied", err)
	}

	// Offline, a guess is not testable: the invitation opens the same with
	// any well-formed code, and without one it asks for one.
	if _, err := sharing.OpenInvitation(nil, lk, "", sealed); !errors.Is(err, sharing.ErrCodeRequired) {
		t.Errorf("OpenInvitation without a code = %v, want ErrCodeRequired", err)
	}
	if _, err := sharing.OpenInvitation(nil, lk, "2718\xff", sealed); !errors.Is(err, sharing.ErrInvalidCode) {
		t.Errorf("OpenInvitation with an invalid code = %v, want ErrInvalidCode", err)
	}
	right, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "4711-0815", sealed)
	if err != nil {
		t.Fatal(err)
	}
	guess, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "9031-5562", sealed)
	if err != nil {
		t.Fatalf("OpenInvitation with a wrong code = %v; the invitation must not depend on the code", err)
	}
	inv := guess.Invitation()
	if inv.ID != right.Invitation().ID || !inv.ActivationCode {
		t.Errorf("invitation opened with a guess = %+v", inv)
	}

	// Online, the owner's device refuses answers bound to a wrong code,
	// counts distinct ones, and after MaxCodeAttempts refuses the right one
	// too.
	ck, err := w.friend.CreateSharedKey(right.KeyRequest())
	if err != nil {
		t.Fatal(err)
	}
	body := ksrBody(inv.ID, ck, mustRecipient(t))
	msg, err := sharing.MarshalForTest(sharing.TypeKeySigningRequest, body)
	if err != nil {
		t.Fatal(err)
	}
	before := w.state(t)
	answer := func(code string) []byte {
		b, err := sharing.SealForTest(inv.ResponseKeyForTest(), sharing.PurposeToOwner, code, msg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// An answer without the code is refused and costs no attempt.
	if _, err := os.ReadSigningRequest(answer("")); !errors.Is(err, sharing.ErrCodeRequired) || !errors.Is(err, sharing.CodeCancelledByOwner) {
		t.Errorf("signing request without the code = %v, want ErrCodeRequired", err)
	}
	first := answer("9031-5562")
	for range 3 { // the same answer read three times is one attempt
		if _, err := os.ReadSigningRequest(first); err != sharing.ErrDecrypt {
			t.Errorf("signing request with a wrong code = %v, want exactly ErrDecrypt", err)
		}
	}
	if _, err := os.ReadSigningRequest(answer("5550-1234")); err != sharing.ErrDecrypt {
		t.Errorf("second wrong code = %v, want exactly ErrDecrypt", err)
	}
	if _, err := os.ReadSigningRequest(answer("7777-0001")); !errors.Is(err, sharing.ErrTooManyAttempts) {
		t.Errorf("third wrong code = %v, want ErrTooManyAttempts", err)
	}
	if _, err := os.ReadSigningRequest(answer("4711 0815")); !errors.Is(err, sharing.ErrTooManyAttempts) || !errors.Is(err, sharing.CodeCancelledByOwner) {
		t.Errorf("the right code after %d wrong ones = %v, want ErrTooManyAttempts", sharing.MaxCodeAttempts, err)
	}
	if _, err := os.Cancel(sharing.CodeCancelledByOwner); err != nil {
		t.Errorf("Cancel after the attempts = %v", err)
	}
	w.assertUnchanged(t, before)

	// A fresh invitation with the right code completes, its separators and
	// case normalized.
	offer.ActivationCode = "k7q-2mx"
	os2, sealed2, err := sharing.Invite(w.ownerConfig(), offer, lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	fs2, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "K7Q 2MX", sealed2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.friend.applet.Terminate(w.car.id); err != nil {
		t.Fatal(err)
	}
	issued := w.issue(t, os2, fs2)
	if _, err := fs2.Import(issued.Message); err != nil {
		t.Errorf("Import after the right code = %v", err)
	}
	// The code is bound to the friend's answers only.
	if _, err := sharing.SealForTest(lk.PublicKey(), sharing.PurposeToFriend, "4711-0815", []byte{0}); err == nil {
		t.Error("a message to the friend sealed with an activation code")
	}
}

// TestAttackTamperedInvitation changes every byte of a sealed invitation,
// and of a sealed ImportRequest, two ways each: nothing opens, nothing
// changes, and the genuine message still works afterwards.
func TestAttackTamperedInvitation(t *testing.T) {
	w := newWorld(t)
	lk := mustRecipient(t)
	os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	before := w.state(t)
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), sealed...)
			b[i] ^= bit
			_, err := sharing.OpenInvitation(nil, lk, "", b)
			var want error = sharing.ErrDecrypt
			switch i {
			case 0:
				want = sharing.CodeVersionNotSupported
			case 1: // flags: unknown, or the code flag with the salt missing
				want = sharing.ErrMalformed
			}
			if !errors.Is(err, want) {
				t.Fatalf("OpenInvitation with byte %d ^ %02x = %v, want %v", i, bit, err, want)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := sharing.OpenInvitation(nil, lk, "", sealed[:n]); err == nil {
			t.Fatalf("OpenInvitation of a %d-byte prefix succeeded", n)
		}
	}
	if _, err := sharing.OpenInvitation(nil, lk, "", append(sealed, 0)); !errors.Is(err, sharing.ErrMalformed) {
		t.Errorf("OpenInvitation with a byte appended = %v, want ErrMalformed", err)
	}
	w.assertUnchanged(t, before)
	fs, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed)
	if err != nil {
		t.Fatal(err)
	}

	issued := w.issue(t, os, fs)
	before = w.state(t)
	for i := range issued.Message {
		b := append([]byte(nil), issued.Message...)
		b[i] ^= 0x01
		if _, err := fs.Import(b); err == nil {
			t.Fatalf("Import with byte %d changed succeeded", i)
		}
	}
	w.assertUnchanged(t, before)
	if _, err := fs.Import(issued.Message); err != nil {
		t.Errorf("Import of the genuine message = %v", err)
	}
}

// TestAttackAttestationForAnotherVehicle presents at vehicle A attestations
// made for vehicle B.
func TestAttackAttestationForAnotherVehicle(t *testing.T) {
	w := newWorld(t)
	b := newCar(t, w.pki, w.clock, "VIN00002")
	ownerB := b.enrollOwner(t, w.owner) // the same owner's phone, a second key
	sameSlot := newPhone(t, w.pki, w.clock, "owner B2")
	// A second owner of B whose key happens to have A's owner slot.
	ownerB2, err := sameSlot.applet.CreateKey(deviceKeyConfig(b, w.ownerK.Slot))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.reader.Enroll(vehicleOwner(ownerB2)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		signer *phone
		key    *dkey.PublicKey
		slot   dkey.KeySlot
		want   error
	}{
		// A key vehicle A trusts, signing for B (an owner device confused,
		// or compromised, about the vehicle it shares).
		{"signed for B by A's owner key", w.owner, w.ownerK.PublicKey, w.ownerK.Slot, attest.ErrWrongVehicle},
		{"B's owner, a slot A does not know", w.owner, ownerB.PublicKey, ownerB.Slot, attest.ErrUnknownSigner},
		{"B's owner, the slot of A's owner", sameSlot, ownerB2.PublicKey, ownerB2.Slot, attest.ErrBadSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := w.ownerConfig()
			cfg.Vehicle, cfg.VehicleKey, cfg.VehicleChain = b.id, b.reader.PublicKey(), b.chain
			cfg.Key, cfg.Slot = tt.signer.se.signer(tt.key), tt.slot
			friend := newPhone(t, w.pki, w.clock, "friend of B")
			os, fs, _, _ := w.inviteWith(t, cfg, w.unlockOnly())
			issued := issueTo(t, os, fs, friend)
			before := w.state(t)
			_, err := w.car.sharing.AdmitFriend(issued.Statement, issued.Attestation.FriendSlot, w.car.signers())
			wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyNotTrusted, tt.want)
			w.assertUnchanged(t, before)
		})
	}
}

// TestAttackFriendGrantsItselfMore: a friend cannot get more than the owner
// offered, whether it asks for more, edits its attestation, signs one
// itself or passes on more than it holds.
func TestAttackFriendGrantsItselfMore(t *testing.T) {
	t.Run("signing request asking for a profile", func(t *testing.T) {
		w := newWorld(t)
		os, fs, _, _ := w.invite(t, w.unlockOnly())
		ck, err := w.friend.CreateSharedKey(fs.KeyRequest())
		if err != nil {
			t.Fatal(err)
		}
		inv := fs.Invitation()
		resp := mustRecipient(t)
		body := ksrBody(inv.ID, ck, resp)
		body[6] = uint64(dkey.OwnerEntitlements) // not a field of the CDDL
		_, err = os.ReadSigningRequest(sealKSR(t, inv, body))
		if !errors.Is(err, sharing.CodeInvalidStructure) || !errors.Is(err, sharing.ErrMalformed) {
			t.Fatalf("ReadSigningRequest with a profile field = %v, want CodeInvalidStructure", err)
		}
		// The request without it is accepted, and the owner signs the
		// offer's profile.
		delete(body, 6)
		req, err := os.ReadSigningRequest(sealKSR(t, inv, body))
		if err != nil {
			t.Fatal(err)
		}
		issued, err := os.Sign(req)
		if err != nil {
			t.Fatal(err)
		}
		if issued.Attestation.Profile != w.unlockOnly().Profile {
			t.Errorf("signed profile %v, want the offer's", issued.Attestation.Profile)
		}
	})
	t.Run("attestation edited in the mailbox", func(t *testing.T) {
		w := newWorld(t)
		issued := w.share(t, w.unlockOnly())
		edited := editPayload(t, issued.Statement, 6, uint64(dkey.UnlockAndDrive))
		area, err := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: edited})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.friend.applet.WritePrivateMailbox(w.car.id, 0, area); err != nil {
			t.Fatal(err)
		}
		before := w.state(t)
		_, err = w.car.firstFriendTransaction(w.friend)
		wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyNotTrusted, attest.ErrBadSignature)
		w.assertUnchanged(t, before)
	})
	t.Run("attestation signed by the friend itself", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			grant dkey.Entitlements
			want  error
		}{
			{"without share", dkey.AccessOnly, attest.ErrSignerNotAuthorised},
			{"with share, more than its own", dkey.AccessOnly | dkey.EntitleShare, attest.ErrExceedsGrant},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := newWorld(t)
				offer := w.unlockOnly()
				offer.Profile = dkey.AccessProfile{Entitlements: tt.grant}
				w.share(t, offer)
				f, err := w.car.firstFriendTransaction(w.friend)
				if err != nil {
					t.Fatal(err)
				}
				second := newPhone(t, w.pki, w.clock, "friend's second phone")
				ck, err := second.CreateSharedKey(&sharing.KeyRequest{Vehicle: w.car.id, VehicleKey: w.car.reader.PublicKey(), Mailboxes: sharing.FriendMailboxes(), Owner: f.PublicKey})
				if err != nil {
					t.Fatal(err)
				}
				a := &attest.KeyAttestation{
					ID: attest.NewID(), VehicleID: w.car.id, FriendKey: ck.PublicKey, FriendSlot: ck.Slot,
					Profile: dkey.AccessProfile{Entitlements: dkey.UnlockAndDrive}, NotBefore: t0, NotAfter: t0.Add(time.Hour),
					IssuedAt: t0, SignerSlot: f.Slot,
				}
				fk, _ := w.friend.signer(t, w.car.id)
				stmt, err := a.Sign(fk)
				if err != nil {
					t.Fatal(err)
				}
				before := w.state(t)
				_, err = w.car.sharing.AdmitFriend(stmt, ck.Slot, w.car.signers())
				wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyNotTrusted, tt.want)
				w.assertUnchanged(t, before)
			})
		}
	})
	t.Run("owner offers more than it holds", func(t *testing.T) {
		w := newWorld(t)
		cfg := w.ownerConfig()
		cfg.Grant = dkey.AccessProfile{Entitlements: dkey.AccessOnly | dkey.EntitleShare, MaxSpeed: 100}
		for _, p := range []dkey.AccessProfile{
			{Entitlements: dkey.UnlockAndDrive, MaxSpeed: 100},
			{Entitlements: dkey.AccessOnly},                // no speed limit is more than 100 km/h
			{Entitlements: dkey.AccessOnly, MaxSpeed: 120}, // a higher limit too
		} {
			if _, _, err := sharing.Invite(cfg, &sharing.Offer{Profile: p, NotAfter: t0.Add(time.Hour)}, mustRecipient(t).PublicKey()); !errors.Is(err, attest.ErrExceedsGrant) {
				t.Errorf("Invite(%v) by a %v key = %v, want ErrExceedsGrant", p, cfg.Grant, err)
			}
		}
		cfg.Grant = dkey.AccessProfile{Entitlements: dkey.UnlockAndDrive}
		if _, _, err := sharing.Invite(cfg, w.unlockOnly(), mustRecipient(t).PublicKey()); !errors.Is(err, dkey.ErrNotEntitled) {
			t.Errorf("Invite by a key without share = %v, want ErrNotEntitled", err)
		}
	})
	t.Run("import of an attestation that is not the offer", func(t *testing.T) {
		other, _ := dkey.NewKeySlot([]byte("other"))
		for _, tt := range []struct {
			name string
			edit func(*attest.KeyAttestation)
		}{
			{"more entitlements", func(a *attest.KeyAttestation) { a.Profile.Entitlements = dkey.UnlockAndDrive }},
			{"no speed limit", func(a *attest.KeyAttestation) { a.Profile.MaxSpeed = 0 }},
			{"longer window", func(a *attest.KeyAttestation) { a.NotAfter = a.NotAfter.Add(time.Hour) }},
			{"earlier start", func(a *attest.KeyAttestation) { a.NotBefore = a.NotBefore.Add(-time.Hour) }},
			{"another key", func(a *attest.KeyAttestation) { a.FriendKey = mustKey(t).PublicKey() }},
			{"another slot", func(a *attest.KeyAttestation) { a.FriendSlot = other }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := newWorld(t)
				os, fs, _, _ := w.invite(t, w.unlockOnly())
				ksr, err := fs.SigningRequest(w.friend)
				if err != nil {
					t.Fatal(err)
				}
				req, err := os.ReadSigningRequest(ksr)
				if err != nil {
					t.Fatal(err)
				}
				// The owner's device signs something else than it
				// offered: the friend's device refuses to store it.
				inv := fs.Invitation()
				a := &attest.KeyAttestation{
					ID: attest.NewID(), VehicleID: w.car.id, FriendKey: req.Key, FriendSlot: req.Slot,
					Profile: inv.Profile, NotBefore: inv.NotBefore, NotAfter: inv.NotAfter,
					IssuedAt: t0, SignerSlot: w.ownerK.Slot,
				}
				tt.edit(a)
				stmt, err := a.Sign(w.owner.se.signer(w.ownerK.PublicKey))
				if err != nil {
					t.Fatal(err)
				}
				msg, err := sharing.MarshalForTest(sharing.TypeImportRequest, map[uint64]any{1: inv.ID[:], 2: stmt})
				if err != nil {
					t.Fatal(err)
				}
				sealed, err := sharing.SealForTest(fs.ResponseKeyForTest(), sharing.PurposeToFriend, "", msg)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := fs.Import(sealed); !errors.Is(err, sharing.ErrMismatch) || !errors.Is(err, sharing.CodeInvalidContent) {
					t.Errorf("Import = %v, want ErrMismatch", err)
				}
			})
		}
	})
}

// TestAttackReplayAfterTermination: a friend device that ignores the
// deletion presents its old attestation again; the vehicle refuses it for
// good, after a restart too (the reader's memory of removed keys lost, the
// revocation store loaded from storage).
func TestAttackReplayAfterTermination(t *testing.T) {
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	oldArea, err := w.car.readArea(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	w.revoke(t, f.Slot, f.PublicKey)
	// The friend's device keeps the key and restores the attestation.
	if err := w.friend.applet.WritePrivateMailbox(w.car.id, 0, oldArea); err != nil {
		t.Fatal(err)
	}
	before := w.state(t)
	_, err = w.car.firstFriendTransaction(w.friend)
	wantVehicleError(t, err, sharing.CheckRevocation, transaction.CFKeyDeleted, sharing.ErrRevoked)
	if !errors.Is(err, dkey.ErrKeyTerminated) {
		t.Errorf("error %v does not match dkey.ErrKeyTerminated", err)
	}
	w.assertDeletedByVehicle(t, before)

	// Restart: a new reader knows only the enrolled owner; the store comes
	// back from its persisted form.
	persisted, err := w.car.store.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	store, err := sharing.ParseRevocationStore(persisted, 0)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: w.car.id, Revocations: store, Time: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sv.AdmitFriend(issued.Statement, f.Slot, w.car.signers())
	wantVehicleError(t, err, sharing.CheckRevocation, transaction.CFKeyDeleted, sharing.ErrRevoked)
	// A new attestation of the same key, even to another slot, is refused:
	// the key itself is revoked.
	a := *issued.Attestation
	a.ID, a.FriendSlot = attest.NewID(), dkey.KeySlot{}
	a.FriendSlot, _ = dkey.NewKeySlot([]byte("newslot1"))
	again, err := a.Sign(w.owner.se.signer(w.ownerK.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	_, err = sv.AdmitFriend(again, a.FriendSlot, w.car.signers())
	wantVehicleError(t, err, sharing.CheckRevocation, transaction.CFKeyDeleted, sharing.ErrRevoked)
}

// TestAttackExpiredValidity: validity windows and invitation expiry, on
// each side.
func TestAttackExpiredValidity(t *testing.T) {
	t.Run("attestation expired at the first transaction", func(t *testing.T) {
		w := newWorld(t)
		issued := w.share(t, w.unlockOnly())
		w.clock.Advance(issued.Attestation.NotAfter.Sub(w.clock.Now()) + time.Second)
		before := w.state(t)
		_, err := w.car.firstFriendTransaction(w.friend)
		wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyExpired, attest.ErrExpired)
		w.assertUnchanged(t, before)
	})
	t.Run("attestation not yet valid", func(t *testing.T) {
		w := newWorld(t)
		offer := w.unlockOnly()
		offer.NotBefore = w.clock.Now().Add(24 * time.Hour)
		w.share(t, offer) // imported today, valid from tomorrow
		before := w.state(t)
		_, err := w.car.firstFriendTransaction(w.friend)
		wantVehicleError(t, err, sharing.CheckStatement, transaction.CFKeyExpired, attest.ErrNotYetValid)
		w.assertUnchanged(t, before)
		w.clock.Advance(24 * time.Hour)
		if _, err := w.car.firstFriendTransaction(w.friend); err != nil {
			t.Errorf("first friend transaction once valid = %v", err)
		}
	})
	t.Run("enrolled key past its window", func(t *testing.T) {
		w := newWorld(t)
		issued := w.share(t, w.unlockOnly())
		if _, err := w.car.firstFriendTransaction(w.friend); err != nil {
			t.Fatal(err)
		}
		// Inclusive to the second: valid through NotAfter.
		w.clock.Advance(issued.Attestation.NotAfter.Sub(w.clock.Now()))
		if _, err := w.car.transact(t, w.friend, dkey.ActionUnlock); err != nil {
			t.Errorf("unlock at NotAfter = %v", err)
		}
		w.clock.Advance(time.Second)
		res, err := w.car.transact(t, w.friend, dkey.ActionUnlock)
		if !errors.Is(err, dkey.ErrKeyExpired) || res.ControlFlow != transaction.CFKeyExpired {
			t.Errorf("unlock after NotAfter = %v, %v; want ErrKeyExpired, 0002", res.ControlFlow, err)
		}
	})
	t.Run("invitation expired at the friend", func(t *testing.T) {
		w := newWorld(t)
		lk := mustRecipient(t)
		os, sealed, err := sharing.Invite(w.ownerConfig(), w.unlockOnly(), lk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(os.Invitation().Expires.Sub(w.clock.Now()) + time.Second)
		before := w.state(t)
		if _, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed); !errors.Is(err, sharing.ErrInvitationExpired) || !errors.Is(err, sharing.CodeRequestRejected) {
			t.Errorf("OpenInvitation after expiry = %v, want ErrInvitationExpired", err)
		}
		w.assertUnchanged(t, before)
	})
	t.Run("invitation expired at the owner", func(t *testing.T) {
		w := newWorld(t)
		offer := w.unlockOnly()
		offer.Expires = w.clock.Now().Add(time.Hour)
		os, fs, _, _ := w.invite(t, offer)
		ksr, err := fs.SigningRequest(w.friend)
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Hour + time.Second)
		if _, err := os.ReadSigningRequest(ksr); !errors.Is(err, sharing.ErrInvitationExpired) {
			t.Errorf("ReadSigningRequest after expiry = %v, want ErrInvitationExpired", err)
		}
	})
	t.Run("key window over before the invitation is opened", func(t *testing.T) {
		w := newWorld(t)
		lk := mustRecipient(t)
		offer := w.unlockOnly()
		offer.NotAfter = w.clock.Now().Add(time.Hour)
		_, sealed, err := sharing.Invite(w.ownerConfig(), offer, lk.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(2 * time.Hour)
		if _, err := sharing.OpenInvitation(&sharing.FriendConfig{Time: w.clock.Now}, lk, "", sealed); !errors.Is(err, dkey.ErrKeyExpired) {
			t.Errorf("OpenInvitation past the key's window = %v, want ErrKeyExpired", err)
		}
	})
}

// TestAttackSigningRequest: the owner's checks of the friend's answer.
func TestAttackSigningRequest(t *testing.T) {
	w := newWorld(t)
	other := newPKI(t, "rogue")
	rogue := newPhone(t, other, w.clock, "rogue")
	expiredKey := mustKey(t)
	expiredPhone := newPhoneCA(t, w.clock, expiredKey, mustCert(cert.NewInstanceCA(cert.Template{Subject: pkix.Name{CommonName: "old instance CA"}, NotBefore: t0.AddDate(-2, 0, 0), NotAfter: t0.AddDate(-1, 0, 0)},
		&cert.InstanceCAExtension{Version: 1}, expiredKey.PublicKey(), w.pki.deviceRoot, w.pki.deviceRootKey)))
	b := newCar(t, w.pki, w.clock, "VIN00009")
	assigned, _ := dkey.NewKeySlot([]byte("assigned"))
	for _, tt := range []struct {
		name   string
		dev    *phone
		offer  func(*sharing.Offer)
		req    func(*sharing.KeyRequest)
		tamper func(map[uint64]any, *sharing.CreatedKey)
		want   error
		code   sharing.ErrorCode
	}{
		{name: "unknown Device OEM", dev: rogue, want: cert.ErrUnknownRoot, code: sharing.CodeInvalidChain},
		{name: "expired instance CA", dev: expiredPhone, want: cert.ErrExpired, code: sharing.CodeCertificateExpired},
		{name: "key bound to another vehicle", req: func(r *sharing.KeyRequest) { r.Vehicle, r.VehicleKey = b.id, b.reader.PublicKey() },
			want: cert.ErrWrongVehicle, code: sharing.CodeInvalidCertificateContent},
		{name: "key not the chain's", tamper: func(m map[uint64]any, _ *sharing.CreatedKey) { m[2] = mustKey(t).PublicKey().Bytes() },
			want: sharing.ErrMismatch, code: sharing.CodeInvalidContent},
		{name: "slot not the chain's", tamper: func(m map[uint64]any, _ *sharing.CreatedKey) { m[3] = []byte("otherslt") },
			want: sharing.ErrMismatch, code: sharing.CodeInvalidContent},
		{name: "slot not the assigned one", offer: func(o *sharing.Offer) { o.FriendSlot = assigned },
			req: func(r *sharing.KeyRequest) { r.Slot = dkey.KeySlot{} }, want: sharing.ErrMismatch, code: sharing.CodeInvalidContent},
		{name: "the owner's own key", tamper: func(m map[uint64]any, _ *sharing.CreatedKey) {
			m[2], m[3], m[4] = w.ownerK.PublicKey.Bytes(), w.ownerK.Slot.Bytes(), [][]byte{ownerLeaf(t, w), w.owner.instCert.Raw}
		}, want: sharing.ErrMismatch, code: sharing.CodeInvalidContent},
		{name: "another invitation", tamper: func(m map[uint64]any, _ *sharing.CreatedKey) { m[1] = make([]byte, 16) },
			want: sharing.ErrWrongInvitation, code: sharing.CodeInvalidContent},
		{name: "one certificate", tamper: func(m map[uint64]any, ck *sharing.CreatedKey) { m[4] = ck.Chain[:1] },
			want: sharing.ErrMalformed, code: sharing.CodeInvalidChain},
		{name: "garbage certificate", tamper: func(m map[uint64]any, ck *sharing.CreatedKey) { m[4] = [][]byte{{0x30}, ck.Chain[1]} },
			want: cert.ErrMalformedCertificate, code: sharing.CodeInvalidCertificateStructure},
		{name: "missing response key", tamper: func(m map[uint64]any, _ *sharing.CreatedKey) { delete(m, 5) },
			want: sharing.ErrMalformed, code: sharing.CodeMissingField},
	} {
		t.Run(tt.name, func(t *testing.T) {
			offer := w.unlockOnly()
			if tt.offer != nil {
				tt.offer(offer)
			}
			os, fs, _, _ := w.invite(t, offer)
			kr := fs.KeyRequest()
			if tt.req != nil {
				tt.req(kr)
			}
			dev := tt.dev
			if dev == nil {
				dev = newPhone(t, w.pki, w.clock, "friend")
			}
			ck, err := dev.CreateSharedKey(kr)
			if err != nil {
				t.Fatal(err)
			}
			body := ksrBody(fs.Invitation().ID, ck, mustRecipient(t))
			if tt.tamper != nil {
				tt.tamper(body, ck)
			}
			_, err = os.ReadSigningRequest(sealKSR(t, fs.Invitation(), body))
			if !errors.Is(err, tt.want) || !errors.Is(err, tt.code) {
				t.Errorf("ReadSigningRequest = %v, want %v and %v", err, tt.want, tt.code)
			}
			if _, err := os.Sign(&sharing.SigningRequest{}); !errors.Is(err, sharing.ErrSessionState) {
				t.Errorf("Sign after a refused request = %v", err)
			}
		})
	}
}

// TestCreatedKeyChecks: the friend's session checks what its device
// returns before it answers.
func TestCreatedKeyChecks(t *testing.T) {
	w := newWorld(t)
	assigned, _ := dkey.NewKeySlot([]byte("assigned"))
	other := mustKey(t).PublicKey()
	for _, tt := range []struct {
		name   string
		offer  func(*sharing.Offer)
		tamper func(*sharing.CreatedKey)
	}{
		{"no key", nil, func(c *sharing.CreatedKey) { c.PublicKey = nil }},
		{"wrong slot", func(o *sharing.Offer) { o.FriendSlot = assigned }, func(c *sharing.CreatedKey) { c.Slot, _ = dkey.NewKeySlot([]byte("x")) }},
		{"short chain", nil, func(c *sharing.CreatedKey) { c.Chain = c.Chain[:1] }},
		{"empty certificate", nil, func(c *sharing.CreatedKey) { c.Chain[1] = nil }},
		{"garbage leaf", nil, func(c *sharing.CreatedKey) { c.Chain[0] = []byte{0x30, 0x00} }},
		{"leaf of another key", nil, func(c *sharing.CreatedKey) { c.PublicKey = other }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ph := newPhone(t, w.pki, w.clock, "friend")
			ph.tamper = tt.tamper
			offer := w.unlockOnly()
			if tt.offer != nil {
				tt.offer(offer)
			}
			_, fs, _, sealed := w.invite(t, offer)
			if _, err := fs.SigningRequest(ph); !errors.Is(err, sharing.ErrMismatch) {
				t.Errorf("SigningRequest = %v, want ErrMismatch", err)
			}
			// The device holds a key: Created says which, for the caller
			// to delete it; the session goes no further.
			if fs.Created() == nil {
				t.Error("Created() = nil after the device created a key")
			}
			if _, err := fs.Import(sealed); !errors.Is(err, sharing.ErrSessionState) {
				t.Errorf("Import after a failed SigningRequest = %v, want ErrSessionState", err)
			}
		})
	}
	ph := newPhone(t, w.pki, w.clock, "friend")
	if _, err := ph.applet.CreateKey(deviceKeyConfig(w.car, dkey.KeySlot{})); err != nil {
		t.Fatal(err)
	}
	_, fs, _, _ := w.invite(t, w.unlockOnly())
	if _, err := fs.SigningRequest(ph); err == nil {
		t.Error("SigningRequest when the device cannot create the key succeeded")
	}
}

// ksrBody is the body of a KeySigningRequest for ck.
func ksrBody(id sharing.InvitationID, ck *sharing.CreatedKey, resp *sharing.RecipientPrivateKey) map[uint64]any {
	return map[uint64]any{1: id[:], 2: ck.PublicKey.Bytes(), 3: ck.Slot.Bytes(), 4: ck.Chain, 5: resp.PublicKey().Bytes()}
}

func sealKSR(t testing.TB, inv sharing.Invitation, body map[uint64]any) []byte {
	t.Helper()
	msg, err := sharing.MarshalForTest(sharing.TypeKeySigningRequest, body)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sharing.SealForTest(inv.ResponseKeyForTest(), sharing.PurposeToOwner, "", msg)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// editPayload replaces field key of the payload of a COSE_Sign1 statement,
// keeping its signature.
func editPayload(t testing.TB, stmt []byte, key uint64, value any) []byte {
	t.Helper()
	var tag cbor.Tag
	if err := cbor.Unmarshal(stmt, &tag); err != nil {
		t.Fatal(err)
	}
	arr := tag.Content.([]any)
	var payload map[uint64]any
	if err := cbor.Unmarshal(arr[2].([]byte), &payload); err != nil {
		t.Fatal(err)
	}
	payload[key] = value
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	if arr[2], err = em.Marshal(payload); err != nil {
		t.Fatal(err)
	}
	if arr[1] == nil {
		arr[1] = map[int64]any{}
	}
	out, err := em.Marshal(cbor.Tag{Number: tag.Number, Content: arr})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustCert(c *x509.Certificate, err error) *x509.Certificate {
	if err != nil {
		panic(err)
	}
	return c
}

// ownerLeaf returns an endpoint certificate for the owner's key, as a
// friend would need to pass the owner's key off as its own.
func ownerLeaf(t testing.TB, w *world) []byte {
	t.Helper()
	ext := &cert.EndpointExtension{Version: 1, VehicleID: w.car.id, ProtocolVersion: dkey.Version1, VehiclePublicKey: w.car.reader.PublicKey(), InitialKeySlot: w.ownerK.Slot}
	leaf, err := cert.NewEndpoint(tmpl("owner endpoint"), ext, w.ownerK.PublicKey, w.owner.instCert, w.owner.instKey)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Raw
}

// TestAttackSuspendedDevice: a suspended key or a device in lost mode does
// nothing, at the device or at the vehicle, and changes nothing: the
// friend's key does not transact, the lost owner's device signs no share.
func TestAttackSuspendedDevice(t *testing.T) {
	w := newWorld(t)
	w.share(t, w.unlockOnly())
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name          string
		suspend, undo func()
		want          error
		cf            transaction.ControlFlow
	}{
		{"key suspended on the device", func() { _ = w.friend.applet.Suspend(w.car.id) }, func() { _ = w.friend.applet.Resume(w.car.id) },
			dkey.SWConditionsNotSatisfied, transaction.CFFailure},
		{"device in lost mode", func() { w.friend.applet.SetLostMode(true) }, func() { w.friend.applet.SetLostMode(false) },
			dkey.SWConditionsNotSatisfied, transaction.CFFailure},
		{"key suspended at the vehicle", func() {
			c, err := sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, f.Slot, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.car.reader.ApplyCommand(c); err != nil {
				t.Fatal(err)
			}
		}, func() {
			c, _ := sharing.NewKeyCommand(sharing.ActionResume, w.car.id, f.Slot, nil)
			if err := w.car.reader.ApplyCommand(c); err != nil {
				t.Fatal(err)
			}
		}, dkey.ErrKeySuspended, transaction.CFFailure},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.suspend()
			before := w.state(t)
			for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionLock} {
				res, err := w.car.transact(t, w.friend, a)
				if !errors.Is(err, tt.want) || res.ControlFlow != tt.cf {
					t.Errorf("%v with a suspended key = %v, %v; want %v, %v", a, res.ControlFlow, err, tt.want, tt.cf)
				}
			}
			w.assertUnchanged(t, before)
			tt.undo()
			if _, err := w.car.transact(t, w.friend, dkey.ActionUnlock); err != nil {
				t.Errorf("unlock once resumed: %v", err)
			}
		})
	}
	// The owner's device in lost mode signs nothing.
	w.owner.applet.SetLostMode(true)
	w.owner.applet.AuthenticateUser(w.clock.Now().Add(time.Hour))
	before := w.state(t)
	if _, _, err := w.owner.applet.SharingSigner(w.car.id); !errors.Is(err, dkey.ErrKeySuspended) {
		t.Errorf("SharingSigner in lost mode = %v, want %v", err, dkey.ErrKeySuspended)
	}
	if _, err := w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: w.car.id, Slot: f.Slot, Key: f.PublicKey}); !errors.Is(err, dkey.ErrKeySuspended) {
		t.Errorf("TerminateShared in lost mode = %v, want %v", err, dkey.ErrKeySuspended)
	}
	w.assertUnchanged(t, before)
}
