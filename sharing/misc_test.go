package sharing_test

import (
	"crypto"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

func TestErrorCode(t *testing.T) {
	for _, tt := range []struct {
		code sharing.ErrorCode
		want string
	}{
		{sharing.CodeMissingField, "missing mandatory field (00)"},
		{sharing.CodeInvalidStructure, "invalid structure (01)"},
		{sharing.CodeInvalidContent, "invalid content (02)"},
		{sharing.CodeVersionNotSupported, "version not supported (03)"},
		{sharing.CodeCertificateExpired, "certificate expired (04)"},
		{sharing.CodeInvalidCertificateStructure, "invalid certificate structure (05)"},
		{sharing.CodeInvalidCertificateContent, "invalid certificate content (06)"},
		{sharing.CodeInvalidChain, "invalid chain (07)"},
		{sharing.CodeRequestRejected, "request rejected (08)"},
		{sharing.CodeSharingCancelled, "sharing cancelled (20)"},
		{sharing.CodeCancelledByOwner, "cancelled by owner (21)"},
		{sharing.CodeCancelledByFriend, "cancelled by friend (22)"},
		{sharing.CodeUnspecified, "unspecified (ff)"},
	} {
		if got := tt.code.String(); got != tt.want || !tt.code.Known() {
			t.Errorf("ErrorCode(%02x).String() = %q, Known() = %v; want %q", uint8(tt.code), got, tt.code.Known(), tt.want)
		}
	}
	for _, c := range []sharing.ErrorCode{0x09, 0x1F, 0x23, 0xFE} {
		if c.Known() {
			t.Errorf("ErrorCode(%02x).Known() = true", uint8(c))
		}
	}
	err := fmt.Errorf("wrapped: %w", &sharing.Error{Code: sharing.CodeInvalidChain, Err: cert.ErrUnknownRoot})
	if !errors.Is(err, sharing.CodeInvalidChain) || !errors.Is(err, cert.ErrUnknownRoot) || errors.Is(err, sharing.CodeInvalidContent) {
		t.Errorf("errors.Is on %v", err)
	}
	if got, want := (&sharing.Error{Code: sharing.CodeInvalidChain, Err: cert.ErrUnknownRoot}).Error(), "sharing: invalid chain (07): cert: certificate signed by unknown authority"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&sharing.Error{Code: sharing.CodeUnspecified}).Error(); got != "sharing: unspecified (ff)" {
		t.Errorf("Error() without cause = %q", got)
	}
}

func TestVehicleErrorControlFlow(t *testing.T) {
	for _, tt := range []struct {
		check sharing.Check
		err   error
		want  transaction.ControlFlow
	}{
		{sharing.CheckStatement, &attest.VerifyError{Step: attest.StepValidity, Err: attest.ErrExpired}, transaction.CFKeyExpired},
		{sharing.CheckStatement, &attest.VerifyError{Step: attest.StepValidity, Err: attest.ErrNotYetValid}, transaction.CFKeyExpired},
		{sharing.CheckStatement, &attest.VerifyError{Step: attest.StepParse, Err: attest.ErrMalformed}, transaction.CFInvalidDataFormat},
		{sharing.CheckStatement, &attest.VerifyError{Step: attest.StepSignature, Err: attest.ErrBadSignature}, transaction.CFKeyNotTrusted},
		{sharing.CheckStatement, &attest.VerifyError{Step: attest.StepSigner, Err: attest.ErrUnknownSigner}, transaction.CFKeyNotTrusted},
		{sharing.CheckSlot, sharing.ErrMismatch, transaction.CFKeyNotTrusted},
		{sharing.CheckRevocation, sharing.ErrRevoked, transaction.CFKeyDeleted},
		{sharing.CheckCapacity, sharing.ErrStoreFull, transaction.CFFailure},
	} {
		e := &sharing.VehicleError{Check: tt.check, Err: tt.err}
		if got := transaction.ControlFlow(e.ControlFlow()); got != tt.want {
			t.Errorf("%v.ControlFlow() = %v, want %v", e, got, tt.want)
		}
	}
	if s := sharing.Check(9).String(); s != "Check(9)" {
		t.Errorf("Check(9).String() = %q", s)
	}
	if s := sharing.DataType(9).String(); s != "DataType(9)" {
		t.Errorf("DataType(9).String() = %q", s)
	}
	if s := sharing.KeyAction(9).String(); s != "KeyAction(9)" {
		t.Errorf("KeyAction(9).String() = %q", s)
	}
	if s := sharing.StatementKind(9).String(); s != "StatementKind(9)" {
		t.Errorf("StatementKind(9).String() = %q", s)
	}
}

// TestInviteChecks: what Invite refuses before it seals anything.
func TestInviteChecks(t *testing.T) {
	w := newWorld(t)
	to := mustRecipient(t).PublicKey()
	other := newCar(t, w.pki, w.clock, "VIN00004")
	now := w.clock.Now()
	for _, tt := range []struct {
		name  string
		cfg   func(*sharing.OwnerConfig)
		offer func(*sharing.Offer)
		want  error
	}{
		{name: "no vehicle", cfg: func(c *sharing.OwnerConfig) { c.Vehicle = dkey.VehicleID{} }},
		{name: "no key", cfg: func(c *sharing.OwnerConfig) { c.Key = nil }},
		{name: "no slot", cfg: func(c *sharing.OwnerConfig) { c.Slot = dkey.KeySlot{} }},
		{name: "no Device OEM roots", cfg: func(c *sharing.OwnerConfig) { c.Certificates = &cert.Config{} }},
		{name: "chain of another vehicle", cfg: func(c *sharing.OwnerConfig) { c.VehicleChain = other.chain }, want: sharing.ErrMismatch},
		{name: "chain without root", cfg: func(c *sharing.OwnerConfig) { c.VehicleRoot = nil }, want: sharing.ErrMalformed},
		{name: "root without chain", cfg: func(c *sharing.OwnerConfig) { c.VehicleChain = nil }, want: sharing.ErrMalformed},
		{name: "empty profile", offer: func(o *sharing.Offer) { o.Profile = dkey.AccessProfile{} }},
		{name: "unknown entitlement", offer: func(o *sharing.Offer) { o.Profile.Entitlements |= 1 << 20 }},
		{name: "no NotAfter", offer: func(o *sharing.Offer) { o.NotAfter = time.Time{} }},
		{name: "NotAfter before NotBefore", offer: func(o *sharing.Offer) { o.NotBefore = o.NotAfter.Add(time.Second) }},
		{name: "NotAfter past", offer: func(o *sharing.Offer) { o.NotBefore, o.NotAfter = now.Add(-2*time.Hour), now.Add(-time.Hour) }, want: dkey.ErrKeyExpired},
		{name: "expiry past", offer: func(o *sharing.Offer) { o.Expires = now.Add(-time.Second) }},
		{name: "expiry too far", offer: func(o *sharing.Offer) { o.Expires = now.Add(sharing.MaxInvitationLifetime + time.Second) }},
		{name: "private mailbox too small", offer: func(o *sharing.Offer) { o.Mailboxes = dkey.MailboxConfig{PrivateSize: 100} }},
		{name: "invalid mailboxes", offer: func(o *sharing.Offer) {
			o.Mailboxes = dkey.MailboxConfig{PrivateSize: 640, PrivateAuth1: dkey.MailboxRange{Offset: 600, Length: 100}}
		}},
		{name: "time before 1970", offer: func(o *sharing.Offer) { o.NotBefore = time.Unix(-1, 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, offer := w.ownerConfig(), w.unlockOnly()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			if tt.offer != nil {
				tt.offer(offer)
			}
			_, sealed, err := sharing.Invite(cfg, offer, to)
			if err == nil || sealed != nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Invite = %v, want an error (%v)", err, tt.want)
			}
		})
	}
	if _, _, err := sharing.Invite(nil, nil, nil); err == nil {
		t.Error("Invite(nil) succeeded")
	}
	if _, err := sharing.OpenInvitation(nil, nil, "", nil); err == nil {
		t.Error("OpenInvitation(nil key) succeeded")
	}
	// The defaults: NotBefore now, expiry DefaultInvitationLifetime, the
	// friend mailboxes.
	os, _, err := sharing.Invite(w.ownerConfig(), &sharing.Offer{Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}, NotAfter: now.Add(time.Hour)}, to)
	if err != nil {
		t.Fatal(err)
	}
	inv := os.Invitation()
	if !inv.NotBefore.Equal(now) || !inv.Expires.Equal(now.Add(sharing.DefaultInvitationLifetime)) || inv.Mailboxes != sharing.FriendMailboxes() || inv.ActivationCode {
		t.Errorf("defaults: %+v", inv)
	}
}

func TestVehicleChecks(t *testing.T) {
	if _, err := sharing.NewVehicleIntake(nil); err == nil {
		t.Error("NewVehicle(nil) succeeded")
	}
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	f := issued.Attestation
	// The slot that authenticated must be the attested one.
	before := w.state(t)
	_, err := w.car.sharing.AdmitFriend(issued.Statement, slot("other"), w.car.signers())
	wantVehicleError(t, err, sharing.CheckSlot, transaction.CFKeyNotTrusted, sharing.ErrMismatch)
	w.assertUnchanged(t, before)
	// The dashboard removes a key: revoked for good.
	if err := w.car.sharing.Revoke(f.FriendSlot, f.FriendKey); err != nil {
		t.Fatal(err)
	}
	_, err = w.car.sharing.AdmitFriend(issued.Statement, f.FriendSlot, w.car.signers())
	wantVehicleError(t, err, sharing.CheckRevocation, transaction.CFKeyDeleted, sharing.ErrRevoked)
	if err := w.car.sharing.Revoke(f.FriendSlot, nil); err == nil {
		t.Error("Revoke without a key succeeded")
	}
	// A full store admits no key it could not revoke.
	full := sharing.NewRevocationStore(1)
	if err := full.Revoke(sharing.Revocation{KeyHash: [32]byte{1}, At: t0}); err != nil {
		t.Fatal(err)
	}
	sv, err := sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: w.car.id, Revocations: full, Time: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if sv.Revocations() != full {
		t.Error("Revocations() is not the configured store")
	}
	w2 := newWorld(t)
	issued2 := w2.share(t, w2.unlockOnly())
	sv2, _ := sharing.NewVehicleIntake(&sharing.VehicleConfig{Vehicle: w2.car.id, Revocations: full, Time: w2.clock.Now})
	_, err = sv2.AdmitFriend(issued2.Statement, issued2.Attestation.FriendSlot, w2.car.signers())
	wantVehicleError(t, err, sharing.CheckCapacity, transaction.CFFailure, sharing.ErrStoreFull)
	term, _, err := (&sharing.Termination{Vehicle: w2.car.id, Slot: issued2.Attestation.FriendSlot, Key: issued2.Attestation.FriendKey}).
		Sign(w2.owner.se.signer(w2.ownerK.PublicKey), w2.ownerK.Slot)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sv2.ProcessTermination(term, w2.car.signers())
	wantVehicleError(t, err, sharing.CheckCapacity, transaction.CFFailure, sharing.ErrStoreFull)
}

func TestTerminationSign(t *testing.T) {
	w := newWorld(t)
	owner := w.owner.se.signer(w.ownerK.PublicKey)
	vid, sl, key := w.car.id, w.ownerK.Slot, w.ownerK.PublicKey
	for _, tt := range []struct {
		name   string
		t      sharing.Termination
		signer crypto.Signer
		slot   dkey.KeySlot
		want   error
	}{
		{"no key", sharing.Termination{Vehicle: vid, Slot: sl}, owner, sl, nil},
		{"no slot", sharing.Termination{Vehicle: vid, Key: key}, owner, sl, nil},
		{"no vehicle", sharing.Termination{Slot: sl, Key: key}, owner, sl, nil},
		{"no signer", sharing.Termination{Vehicle: vid, Slot: sl, Key: key}, nil, sl, nil},
		{"no signer slot", sharing.Termination{Vehicle: vid, Slot: sl, Key: key}, owner, dkey.KeySlot{}, nil},
		{"self with another key", sharing.Termination{Vehicle: vid, Slot: sl, Key: key}, mustKey(t), sl, sharing.ErrMismatch},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stmt, a, err := tt.t.Sign(tt.signer, tt.slot)
			if err == nil || stmt != nil || a != nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Sign = %v, want an error (%v)", err, tt.want)
			}
		})
	}
	// A zero time is now; the statement verifies as the key's own.
	stmt, a, err := (&sharing.Termination{Vehicle: vid, Slot: sl, Key: key}).Sign(owner, sl)
	if err != nil {
		t.Fatal(err)
	}
	if a.TerminatedAt.IsZero() || a.KeyHash != attest.KeyHash(key) || a.SignerSlot != sl {
		t.Errorf("termination = %+v", a)
	}
	if _, err := attest.VerifyTerminationAttestation(stmt, attest.VerifyOptions{Vehicle: vid, Signers: w.car.signers()}); err != nil {
		t.Errorf("VerifyTerminationAttestation = %v", err)
	}
}

func TestPlanDeviceChangeChecks(t *testing.T) {
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	newKey, newSlot := mustKey(t), slot("newowner")
	base := func() *sharing.DeviceChange {
		return &sharing.DeviceChange{
			Vehicle: w.car.id, OldKey: w.ownerK.PublicKey, OldSlot: w.ownerK.Slot, NewKey: newKey, NewSlot: newSlot,
			Issued: []*attest.KeyAttestation{issued.Attestation}, Time: w.clock.Now,
		}
	}
	foreign := *issued.Attestation
	foreign.SignerSlot = slot("someone")
	wide := *issued.Attestation
	wide.Profile = dkey.OwnerProfile()
	for _, tt := range []struct {
		name string
		edit func(*sharing.DeviceChange)
		want error
	}{
		{"no vehicle", func(c *sharing.DeviceChange) { c.Vehicle = dkey.VehicleID{} }, nil},
		{"no old key", func(c *sharing.DeviceChange) { c.OldKey = nil }, nil},
		{"no new key", func(c *sharing.DeviceChange) { c.NewKey = nil }, nil},
		{"same slot", func(c *sharing.DeviceChange) { c.NewSlot = c.OldSlot }, nil},
		{"new key may not manage", func(c *sharing.DeviceChange) {
			c.NewGrant = dkey.AccessProfile{Entitlements: dkey.UnlockAndDrive | dkey.EntitleShare}
		}, dkey.ErrNotEntitled},
		{"another signer's attestation", func(c *sharing.DeviceChange) { c.Issued = []*attest.KeyAttestation{&foreign} }, sharing.ErrMismatch},
		{"more than the new key holds", func(c *sharing.DeviceChange) {
			c.NewGrant = dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleShare | dkey.EntitleManage}
			c.Issued = []*attest.KeyAttestation{&wide}
		}, attest.ErrExceedsGrant},
		{"longer than the new key is valid", func(c *sharing.DeviceChange) {
			c.NewNotAfter = issued.Attestation.NotAfter.Add(-time.Second)
		}, attest.ErrOutsideSignerValidity},
		{"earlier than the new key is valid", func(c *sharing.DeviceChange) {
			c.NewNotBefore = issued.Attestation.NotBefore.Add(time.Second)
		}, attest.ErrOutsideSignerValidity},
		{"nil attestation", func(c *sharing.DeviceChange) { c.Issued = []*attest.KeyAttestation{nil} }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(c)
			plan, err := sharing.PlanDeviceChange(c)
			if err == nil || plan != nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("PlanDeviceChange = %v, want an error (%v)", err, tt.want)
			}
		})
	}
	if _, err := sharing.PlanDeviceChange(nil); err == nil {
		t.Error("PlanDeviceChange(nil) succeeded")
	}
	within := base()
	within.NewNotBefore, within.NewNotAfter = issued.Attestation.NotBefore, issued.Attestation.NotAfter
	if _, err := sharing.PlanDeviceChange(within); err != nil {
		t.Errorf("PlanDeviceChange within the new key's window = %v", err)
	}
	plan, err := sharing.PlanDeviceChange(base())
	if err != nil {
		t.Fatal(err)
	}
	r := plan.Reissued[0]
	if r.Attestation.ID == r.Previous.ID || r.Attestation.SignerSlot != newSlot || r.Attestation.FriendKey != r.Previous.FriendKey ||
		r.Attestation.Profile != r.Previous.Profile || !r.Attestation.NotAfter.Equal(r.Previous.NotAfter) {
		t.Errorf("re-issued %+v from %+v", r.Attestation, r.Previous)
	}
}

// TestZeroVehicleErrorMisuse: Error of a VehicleError not filled in (the
// zero value, a nil pointer) prints instead of panicking, and ControlFlow
// answers key not trusted.
func TestZeroVehicleErrorMisuse(t *testing.T) {
	var nilErr *sharing.VehicleError
	for _, tt := range []struct {
		e    *sharing.VehicleError
		want string
	}{
		{&sharing.VehicleError{}, "sharing: vehicle: Check(0): no cause"},
		{&sharing.VehicleError{Check: sharing.CheckSlot}, "sharing: vehicle: slot: no cause"},
		{nilErr, "sharing: vehicle: <nil VehicleError>"},
		{&sharing.VehicleError{Check: sharing.CheckRevocation, Err: sharing.ErrRevoked}, "sharing: vehicle: revocation: " + sharing.ErrRevoked.Error()},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if cf := (&sharing.VehicleError{}).ControlFlow(); cf != 0x0003 {
		t.Errorf("ControlFlow of a zero VehicleError = %04X, want 0003", cf)
	}
}

// TestZeroMemoryRelayMisuse: a MemoryRelay not made by NewMemoryRelay is
// an empty relay with the defaults: each method works on it first, and a
// mailbox goes through it.
func TestZeroMemoryRelayMisuse(t *testing.T) {
	ctx := t.Context()
	var id sharing.MailboxID
	var tok sharing.AccessToken
	first := map[string]func(r *sharing.MemoryRelay) error{
		"Len": func(r *sharing.MemoryRelay) error {
			if n := r.Len(); n != 0 {
				return fmt.Errorf("Len() = %d", n)
			}
			return nil
		},
		"ReadDisplayInformation": func(r *sharing.MemoryRelay) error {
			_, err := r.ReadDisplayInformation(ctx, id, tok)
			return notFound(err)
		},
		"FetchInvitation": func(r *sharing.MemoryRelay) error {
			_, _, err := r.FetchInvitation(ctx, id, tok)
			return notFound(err)
		},
		"ReadSecureContent": func(r *sharing.MemoryRelay) error {
			_, err := r.ReadSecureContent(ctx, id, tok)
			return notFound(err)
		},
		"UpdateMailbox": func(r *sharing.MemoryRelay) error { return notFound(r.UpdateMailbox(ctx, id, tok, []byte{1})) },
		"DeleteMailbox": func(r *sharing.MemoryRelay) error { return notFound(r.DeleteMailbox(ctx, id, tok)) },
		"CreateMailbox": func(r *sharing.MemoryRelay) error {
			mb, err := r.CreateMailbox(ctx, &sharing.NewMailbox{Content: []byte("sealed"), Display: []byte("a key"), Expires: time.Now().Add(time.Hour)})
			if err != nil {
				return err
			}
			if n := r.Len(); n != 1 {
				return fmt.Errorf("Len() after CreateMailbox = %d", n)
			}
			inv, _, err := r.FetchInvitation(ctx, mb.ID, mb.Fetch)
			if err != nil || string(inv) != "sealed" {
				return fmt.Errorf("FetchInvitation = %q, %w", inv, err)
			}
			return r.DeleteMailbox(ctx, mb.ID, mb.Sender)
		},
	}
	for name, f := range first {
		t.Run(name, func(t *testing.T) {
			var r sharing.MemoryRelay
			if err := f(&r); err != nil {
				t.Errorf("%s on a zero MemoryRelay: %v", name, err)
			}
		})
	}
}

// notFound is nil for an error wrapping sharing.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sharing.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("got %v, want ErrNotFound", err)
}
