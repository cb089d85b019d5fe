package sharing

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
)

// FriendConfig is what the receiving side knows. Its zero value works: the
// vehicle chain is verified up to the root the invitation carries, and the
// clock is time.Now.
type FriendConfig struct {
	// VehicleRoots, when set, are the Vehicle OEM roots the friend's device
	// trusts: the invitation must then carry a vehicle chain that leads to
	// one of them. Nil trusts the root the invitation carries, which only
	// proves that chain, root and vehicle key agree.
	VehicleRoots *x509.CertPool
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
}

// KeyRequest is what the friend's device must create: a key in its secure
// element bound to the vehicle (device.Applet.CreateKey with role friend),
// and its key-creation certificate chain.
type KeyRequest struct {
	// Vehicle and VehicleKey bind the key (AUTH0 tag 4D; the endpoint
	// certificate's vehicle_identifier and vehicle_PK).
	Vehicle    dkey.VehicleID
	VehicleKey *dkey.PublicKey
	// Slot is the key slot the owner assigned; zero lets the device
	// choose (the endpoint certificate's initial_key_slot).
	Slot dkey.KeySlot
	// Mailboxes is the key's mailbox configuration; the endpoint
	// certificate carries the sizes.
	Mailboxes dkey.MailboxConfig
	// NotBefore and NotAfter are the key's attested validity, which the
	// endpoint certificate may reflect.
	NotBefore, NotAfter time.Time
	// Owner is the key that will attest the new key, which the endpoint
	// certificate may list in authorized_PK_list (docs/protocol.md §10.2).
	Owner *dkey.PublicKey
}

// CreatedKey is a key the friend's device created.
type CreatedKey struct {
	// PublicKey and Slot are the new endpoint key and its key slot.
	PublicKey *dkey.PublicKey
	Slot      dkey.KeySlot
	// Chain is the key-creation chain, DER, leaf first: the endpoint
	// certificate [H], the instance CA [E] and, optionally, the Device OEM
	// intermediate [F] (docs/protocol.md §6.1 step 3, §10.1).
	Chain [][]byte
}

// KeyCreator is what the friend side needs of its device: create a friend
// key in the secure element and certify it with the applet instance's CA.
// device.Applet does it with CreateKey (role dkey.RoleFriend) and its
// instance CA.
//
// CreateSharedKey must return a key whose slot is req.Slot when that is not
// zero, and whose chain's leaf certifies PublicKey. It returns an error
// and leaves no key behind when it cannot.
type KeyCreator interface {
	CreateSharedKey(req *KeyRequest) (*CreatedKey, error)
}

// FriendSession is the friend's side of one invitation: OpenInvitation
// opens the KeyCreationRequest, SigningRequest creates the key and answers,
// Import verifies the owner's ImportRequest and returns the mailbox bytes.
// It is not safe for concurrent use.
type FriendSession struct {
	now      func() time.Time
	inv      Invitation
	invKey   *RecipientPrivateKey
	response *RecipientPrivateKey
	created  *CreatedKey
	done     bool
	// code is the activation code the friend entered, which the signing
	// request carries to the owner's device; empty when the invitation
	// requires none.
	code string
}

// Imported is an accepted share: the verified key attestation, its
// statement, and Mailbox, the bytes to write at offset 0 of the friend key's
// private mailbox (a statement area holding the attestation, see
// AppendMailboxArea) for the vehicle to read at the first friend
// transaction.
type Imported struct {
	Attestation *attest.KeyAttestation
	Statement   []byte
	Mailbox     []byte
}

// OpenInvitation opens a sealed KeyCreationRequest with key (the key of the
// Link, or the device's recipient key) and code (the activation code, empty
// if none), and checks it. In order:
//
//  1. the envelope is well formed; an invitation that requires an
//     activation code needs one (ErrCodeRequired) that
//     CheckActivationCode accepts (ErrInvalidCode);
//  2. the message opens (ErrDecrypt: another device's or link's invitation,
//     or any changed byte);
//  3. it is a KeyCreationRequest (or a SenderCancel: an [*Error] wrapping
//     ErrCancelled) in the strict encoding, every field within its range;
//  4. the invitation has not expired (ErrInvitationExpired), nor the key's
//     validity window (dkey.ErrKeyExpired);
//  5. the vehicle chain, when present or required by cfg.VehicleRoots,
//     verifies and certifies the vehicle key.
//
// Failures after step 2 are [*Error] values whose code the friend may report
// with Decline — but OpenInvitation returns no session then, so it cannot:
// the invitation simply lapses.
//
// The activation code does not change what opens: whether it is the right
// one only the owner's device can tell, when the signing request, bound to
// the code, reaches it (OwnerSession.ReadSigningRequest), and it accepts
// MaxCodeAttempts wrong ones. No offline guessing is possible. A friend who
// typed a wrong code opens the invitation again with the right one and
// answers anew (the key of the first session is deleted, see Created).
func OpenInvitation(cfg *FriendConfig, key *RecipientPrivateKey, code string, sealed []byte) (*FriendSession, error) {
	if key == nil {
		return nil, errors.New("sharing: OpenInvitation needs a recipient key")
	}
	if cfg == nil {
		cfg = &FriendConfig{}
	}
	now := cfg.Time
	if now == nil {
		now = time.Now
	}
	pt, err := open(key, purposeInvitation, code, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	t, body, err := parseMessage(pt)
	if err != nil {
		return nil, err
	}
	switch t {
	case TypeSenderCancel:
		return nil, parseCancel(body, nil)
	case TypeKeyCreationRequest:
	default:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: %v", ErrUnexpectedMessage, t))
	}
	inv, err := parseInvitation(body)
	if err != nil {
		return nil, err
	}
	inv.ActivationCode = sealedCodeRequired(sealed)
	at := now().Unix()
	switch {
	case at > inv.Expires.Unix():
		return nil, fail(CodeRequestRejected, ErrInvitationExpired)
	case at > inv.NotAfter.Unix():
		return nil, fail(CodeInvalidContent, dkey.ErrKeyExpired)
	}
	if len(inv.VehicleChain) > 0 || cfg.VehicleRoots != nil {
		if err := verifyVehicleChain(inv.VehicleChain, inv.VehicleRoot, cfg.VehicleRoots, inv.VehicleKey, now); err != nil {
			return nil, err
		}
	}
	fs := &FriendSession{now: now, inv: *inv, invKey: key}
	if inv.ActivationCode {
		fs.code = code
	}
	return fs, nil
}

// Invitation returns what the invitation offers, for the friend's UI.
func (s *FriendSession) Invitation() Invitation { return s.inv }

// KeyRequest returns what the friend's device must create.
func (s *FriendSession) KeyRequest() *KeyRequest {
	return &KeyRequest{
		Vehicle: s.inv.Vehicle, VehicleKey: s.inv.VehicleKey, Slot: s.inv.FriendSlot,
		Mailboxes: s.inv.Mailboxes, NotBefore: s.inv.NotBefore, NotAfter: s.inv.NotAfter, Owner: s.inv.Owner,
	}
}

// Created returns the key the device created, or nil before SigningRequest
// had the device create one. When the exchange fails after the key was
// created (SigningRequest failing after CreateSharedKey, a cancel, an import
// that does not verify), the friend's device deletes it
// (device.Applet.Terminate).
func (s *FriendSession) Created() *CreatedKey { return s.created }

// SigningRequest has dev create the friend key and returns the sealed
// KeySigningRequest carrying the new key, its slot, its key-creation chain
// and a fresh response key for the ImportRequest. It is called once.
func (s *FriendSession) SigningRequest(dev KeyCreator) ([]byte, error) {
	if s.done || s.created != nil {
		return nil, ErrSessionState
	}
	ck, err := dev.CreateSharedKey(s.KeyRequest())
	if err != nil {
		return nil, fmt.Errorf("sharing: creating the key: %w", err)
	}
	if ck == nil {
		return nil, fmt.Errorf("sharing: created key: %w: none returned", ErrMismatch)
	}
	// From here the device holds a key: Created reports it, so that the
	// caller deletes it if the exchange goes no further.
	s.created = &CreatedKey{PublicKey: ck.PublicKey, Slot: ck.Slot, Chain: cloneChain(ck.Chain)}
	if err := s.checkCreated(s.created); err != nil {
		return nil, err
	}
	response, err := GenerateRecipientKey()
	if err != nil {
		return nil, err
	}
	req := &SigningRequest{Key: ck.PublicKey, Slot: ck.Slot, id: s.inv.ID, chain: s.created.Chain, response: response.PublicKey()}
	msg, err := req.marshal()
	if err != nil {
		return nil, err
	}
	sealed, err := seal(s.inv.response, purposeToOwner, s.code, msg)
	if err != nil {
		return nil, err
	}
	s.response = response
	return sealed, nil
}

// sent reports whether the signing request went out.
func (s *FriendSession) sent() bool { return s.response != nil }

// checkCreated checks what the device returned against the request.
func (s *FriendSession) checkCreated(ck *CreatedKey) error {
	switch {
	case ck.PublicKey == nil || ck.Slot.IsZero():
		return fmt.Errorf("sharing: created key: %w: no key or slot", ErrMismatch)
	case !s.inv.FriendSlot.IsZero() && ck.Slot != s.inv.FriendSlot:
		return fmt.Errorf("sharing: created key: %w: slot %v, assigned %v", ErrMismatch, ck.Slot, s.inv.FriendSlot)
	case len(ck.Chain) < 2 || len(ck.Chain) > MaxDeviceChain:
		return fmt.Errorf("sharing: created key: %w: chain of %d certificates", ErrMismatch, len(ck.Chain))
	}
	for _, c := range ck.Chain {
		if len(c) == 0 || len(c) > cert.MaxCertificateSize {
			return fmt.Errorf("sharing: created key: %w: certificate of %d bytes", ErrMismatch, len(c))
		}
	}
	leaf, err := x509.ParseCertificate(ck.Chain[0])
	if err != nil {
		return fmt.Errorf("sharing: created key: %w: %w", ErrMismatch, err)
	}
	pub, _ := leaf.PublicKey.(*ecdsa.PublicKey)
	if lk, err := dkey.NewPublicKey(pub); pub == nil || err != nil || !lk.Equal(ck.PublicKey) {
		return fmt.Errorf("sharing: created key: %w: the leaf certifies another key", ErrMismatch)
	}
	return nil
}

// Decline ends the session with a ReceiverCancel carrying code (typically
// CodeCancelledByFriend), sealed to the owner.
func (s *FriendSession) Decline(code ErrorCode) ([]byte, error) {
	if s.done {
		return nil, ErrSessionState
	}
	msg, err := marshalCancel(TypeReceiverCancel, s.inv.ID, code)
	if err != nil {
		return nil, err
	}
	sealed, err := seal(s.inv.response, purposeToOwner, "", msg)
	if err != nil {
		return nil, err
	}
	s.done = true
	return sealed, nil
}

// Import opens the owner's answer and verifies the key attestation in it.
// In order:
//
//  1. the message opens with the friend's response key, or, for a
//     SenderCancel sent before the owner saw the signing request, with the
//     invitation's key (ErrDecrypt);
//  2. it is an ImportRequest (or a SenderCancel: an [*Error] wrapping
//     ErrCancelled) in the strict encoding, for this invitation
//     (ErrWrongInvitation);
//  3. the attestation verifies (attest.VerifyKeyAttestation) under the
//     invitation's owner key and slot, for the invitation's vehicle, and has
//     not expired; not-yet-valid is accepted;
//  4. it attests exactly the created key and slot with the invitation's
//     profile and validity window (ErrMismatch).
//
// It returns the mailbox bytes to store. A failure leaves the session as it
// was, so that a later, valid ImportRequest is still accepted.
func (s *FriendSession) Import(sealed []byte) (*Imported, error) {
	if s.done || !s.sent() {
		return nil, ErrSessionState
	}
	pt, err := open(s.response, purposeToFriend, "", sealed)
	if errors.Is(err, ErrDecrypt) {
		// A SenderCancel sealed to the invitation key: the owner cancelled
		// before it read our request. Nothing else is accepted that way.
		if p2, err2 := open(s.invKey, purposeInvitation, "", sealed); err2 == nil {
			defer clear(p2)
			t, body, err := parseMessage(p2)
			if err != nil {
				return nil, err
			}
			if t != TypeSenderCancel {
				return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: %v", ErrUnexpectedMessage, t))
			}
			return nil, s.cancelled(body)
		}
	}
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	t, body, err := parseMessage(pt)
	if err != nil {
		return nil, err
	}
	switch t {
	case TypeSenderCancel:
		return nil, s.cancelled(body)
	case TypeImportRequest:
	default:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: %v", ErrUnexpectedMessage, t))
	}
	id, stmt, err := parseImport(body)
	if err != nil {
		return nil, err
	}
	if id != s.inv.ID {
		return nil, fail(CodeInvalidContent, ErrWrongInvitation)
	}
	// A key valid from tomorrow is imported today: verify at the later of
	// now and the invitation's NotBefore; the exact window is compared
	// below.
	at := s.now()
	if at.Before(s.inv.NotBefore) {
		at = s.inv.NotBefore
	}
	att, err := attest.VerifyKeyAttestation(stmt, attest.VerifyOptions{
		Vehicle: s.inv.Vehicle,
		Signers: []attest.Signer{{Key: s.inv.Owner, Slot: s.inv.OwnerSlot, Grant: dkey.OwnerProfile()}},
		Time:    func() time.Time { return at },
	})
	if err != nil {
		return nil, fail(CodeInvalidContent, err)
	}
	if !att.FriendKey.Equal(s.created.PublicKey) || att.FriendSlot != s.created.Slot || att.Profile != s.inv.Profile ||
		att.NotBefore.Unix() != s.inv.NotBefore.Unix() || att.NotAfter.Unix() != s.inv.NotAfter.Unix() {
		return nil, fail(CodeInvalidContent, fmt.Errorf("%w: the attestation is not the one offered", ErrMismatch))
	}
	stmt = slices.Clone(stmt)
	mb, err := AppendMailboxArea(nil, MailboxEntry{Kind: KindKeyAttestation, Statement: stmt})
	if err != nil {
		return nil, err
	}
	if len(mb) > int(s.inv.Mailboxes.PrivateSize) {
		return nil, fail(CodeInvalidContent, fmt.Errorf("attestation area of %d bytes does not fit the private mailbox", len(mb)))
	}
	s.done = true
	return &Imported{Attestation: att, Statement: stmt, Mailbox: mb}, nil
}

func (s *FriendSession) cancelled(body []byte) error {
	err := parseCancel(body, &s.inv.ID)
	if errors.Is(err, ErrCancelled) {
		s.done = true
	}
	return err
}
