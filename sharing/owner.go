package sharing

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
)

// Invitation lifetimes.
const (
	// DefaultInvitationLifetime is how long an invitation stays open when
	// the offer names no expiry.
	DefaultInvitationLifetime = 72 * time.Hour
	// MaxInvitationLifetime bounds how long an invitation stays open.
	MaxInvitationLifetime = 30 * 24 * time.Hour
)

// OwnerConfig is what the sharing side knows: the vehicle, the key that
// signs attestations, and the trust anchors of friends' devices. A config
// must not be modified after use.
type OwnerConfig struct {
	// Vehicle and VehicleKey identify the vehicle (from pairing).
	Vehicle    dkey.VehicleID
	VehicleKey *dkey.PublicKey
	// VehicleChain (leaf first) and VehicleRoot (the Vehicle OEM root the
	// owner received at pairing), DER, optional: when set the invitation
	// carries them so that the friend can verify the vehicle key, and
	// Invite checks that they certify VehicleKey.
	VehicleChain [][]byte
	VehicleRoot  []byte
	// Key is the sharing endpoint key, in the device's secure element;
	// Slot is its key slot (the kid of the attestations it signs).
	Key  crypto.Signer
	Slot dkey.KeySlot
	// Grant is the access profile Key holds at the vehicle. Zero means
	// dkey.OwnerProfile(). The vehicle checks the grant again.
	Grant dkey.AccessProfile
	// NotBefore and NotAfter are Key's own validity at the vehicle, as its
	// key attestation states it (inclusive, to the second); zero leaves an
	// end unbounded, as for an owner key. A friend key entitled to share
	// sets its attestation's window: the offer's window must lie within it
	// (attest.ErrOutsideSignerValidity), and the vehicle checks it again.
	NotBefore, NotAfter time.Time
	// Certificates holds the Device OEM roots (DeviceRoots) that friends'
	// key-creation chains must lead to. Its Time, when nil, is Time.
	Certificates *cert.Config
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
}

// Offer is what the owner shares.
type Offer struct {
	// Profile is the access profile of the friend key; it must be within
	// the owner's Grant.
	Profile dkey.AccessProfile
	// NotBefore and NotAfter bound the friend key's validity, inclusive,
	// to the second. A zero NotBefore means now; NotAfter is required.
	NotBefore, NotAfter time.Time
	// Expires is when the invitation lapses; zero means
	// DefaultInvitationLifetime from now.
	Expires time.Time
	// ActivationCode, when not empty, is required of the friend's answer
	// (CheckActivationCode says which codes qualify; NewActivationCode
	// draws one). Send it through another channel than the link. The
	// owner's session checks it when the signing request arrives, and
	// accepts MaxCodeAttempts wrong ones.
	ActivationCode string
	// FriendSlot is the slot the friend key must use, from the identifiers
	// the vehicle pre-allocated; zero lets the friend's device choose.
	FriendSlot dkey.KeySlot
	// Mailboxes configures the friend key's mailboxes; zero means
	// FriendMailboxes().
	Mailboxes dkey.MailboxConfig
}

// OwnerSession is the owner's side of one invitation (docs/protocol.md §6.1):
// Invite creates it with the sealed KeyCreationRequest, ReadSigningRequest
// verifies the friend's answer, Sign returns the sealed ImportRequest.
// An OwnerSession signs at most one key; it is not safe for concurrent use.
type OwnerSession struct {
	key      crypto.Signer
	signer   attest.Signer // what key holds: grant and validity
	certs    *cert.Config
	now      func() time.Time
	inv      Invitation
	to       *RecipientKey
	response *RecipientPrivateKey
	pending  *SigningRequest
	done     bool
	// code is the activation code the friend's answer must carry, empty if
	// none; attempts counts the distinct answers that did not open with it,
	// and lastFailed is the hash of the last one, so that reading the same
	// relay content again costs no attempt.
	code       string
	attempts   int
	lastFailed [sha256.Size]byte
}

// Issued is a signed share: the key attestation, its statement (the owner's
// device keeps both, for device change and termination), and the sealed
// ImportRequest for the relay.
type Issued struct {
	Attestation *attest.KeyAttestation
	Statement   []byte
	Message     []byte
}

// Invite checks offer against cfg and returns the session and the sealed
// KeyCreationRequest, sealed to `to`: the key of a Link, or the recipient key
// the friend's device published.
func Invite(cfg *OwnerConfig, offer *Offer, to *RecipientKey) (*OwnerSession, []byte, error) {
	switch {
	case cfg == nil || offer == nil || to == nil:
		return nil, nil, errors.New("sharing: Invite needs a config, an offer and a recipient")
	case cfg.Vehicle.IsZero() || cfg.VehicleKey == nil:
		return nil, nil, errors.New("sharing: no vehicle")
	case cfg.Key == nil || cfg.Slot.IsZero():
		return nil, nil, errors.New("sharing: no signing key or slot")
	case cfg.Certificates == nil || cfg.Certificates.DeviceRoots == nil:
		return nil, nil, errors.New("sharing: no Device OEM roots to verify the friend's device")
	}
	now := cfg.Time
	if now == nil {
		now = time.Now
	}
	certs := cfg.Certificates.Clone()
	if certs.Time == nil {
		certs.Time = now
	}
	owner, err := dkey.PublicKeyOf(cfg.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: signing key: %w", err)
	}
	grant := cfg.Grant
	if grant == (dkey.AccessProfile{}) {
		grant = dkey.OwnerProfile()
	}
	if !grant.Entitlements.Has(dkey.EntitleShare) {
		return nil, nil, fmt.Errorf("sharing: %w: the signing key may not share", dkey.ErrNotEntitled)
	}
	if err := checkProfile(offer.Profile); err != nil {
		return nil, nil, fmt.Errorf("sharing: offer: %w", err)
	}
	signer := attest.Signer{Slot: cfg.Slot, Grant: grant, NotBefore: cfg.NotBefore, NotAfter: cfg.NotAfter}
	if !offer.Profile.Within(grant) {
		return nil, nil, fmt.Errorf("sharing: offer: %w", attest.ErrExceedsGrant)
	}
	t := now().Truncate(time.Second)
	inv := Invitation{
		Vehicle: cfg.Vehicle, VehicleKey: cfg.VehicleKey,
		Owner: owner, OwnerSlot: cfg.Slot,
		Profile: offer.Profile, NotBefore: offer.NotBefore, NotAfter: offer.NotAfter, Expires: offer.Expires,
		FriendSlot: offer.FriendSlot, Mailboxes: offer.Mailboxes, ActivationCode: offer.ActivationCode != "",
	}
	if inv.NotBefore.IsZero() {
		inv.NotBefore = t
	}
	if inv.Expires.IsZero() {
		inv.Expires = t.Add(DefaultInvitationLifetime)
	}
	if inv.Mailboxes == (dkey.MailboxConfig{}) {
		inv.Mailboxes = FriendMailboxes()
	}
	switch {
	case inv.NotAfter.IsZero() || inv.NotAfter.Before(inv.NotBefore):
		return nil, nil, errors.New("sharing: offer: NotAfter missing or before NotBefore")
	case !inv.NotAfter.After(t):
		return nil, nil, fmt.Errorf("sharing: offer: %w: NotAfter is past", dkey.ErrKeyExpired)
	case !inv.Expires.After(t) || inv.Expires.After(t.Add(MaxInvitationLifetime)):
		return nil, nil, fmt.Errorf("sharing: offer: expiry must be within %v from now", MaxInvitationLifetime)
	}
	// The signing key grants no more than it holds, nor for longer: the
	// window lies within its own, as the vehicle will check (issue 12,
	// finding 2).
	if err := signer.CheckGrant(inv.Profile, inv.NotBefore, inv.NotAfter); err != nil {
		return nil, nil, fmt.Errorf("sharing: offer: %w", err)
	}
	if err := checkFriendMailboxes(inv.Mailboxes); err != nil {
		return nil, nil, fmt.Errorf("sharing: offer: %w", err)
	}
	if offer.ActivationCode != "" {
		if err := CheckActivationCode(offer.ActivationCode); err != nil {
			return nil, nil, err
		}
	}
	if len(cfg.VehicleChain) > 0 || len(cfg.VehicleRoot) > 0 {
		if err := verifyVehicleChain(cfg.VehicleChain, cfg.VehicleRoot, nil, cfg.VehicleKey, now); err != nil {
			return nil, nil, fmt.Errorf("sharing: the config's vehicle chain: %w", err)
		}
		inv.VehicleChain = cloneChain(cfg.VehicleChain)
		inv.VehicleRoot = slices.Clone(cfg.VehicleRoot)
	}
	if _, err := rand.Read(inv.ID[:]); err != nil {
		return nil, nil, fmt.Errorf("sharing: invitation identifier: %w", err)
	}
	response, err := GenerateRecipientKey()
	if err != nil {
		return nil, nil, err
	}
	inv.response = response.PublicKey()
	msg, err := inv.marshal()
	if err != nil {
		return nil, nil, err
	}
	sealed, err := seal(to, purposeInvitation, offer.ActivationCode, msg)
	if err != nil {
		return nil, nil, err
	}
	s := &OwnerSession{key: cfg.Key, signer: signer, certs: certs, now: now, inv: inv, to: to, response: response, code: offer.ActivationCode}
	return s, sealed, nil
}

// Invitation returns what the invitation offers.
func (s *OwnerSession) Invitation() Invitation { return s.inv }

// ReadSigningRequest opens and verifies the friend's answer. It returns the
// verified KeySigningRequest, for the owner to confirm before Sign; an
// [*Error] with the peer's code, wrapping ErrCancelled, when the friend
// declined; ErrDecrypt when the message does not open; or an [*Error] whose
// code to report names the failed check. In order:
//
//  1. the message opens with the owner's response key and, when the offer
//     has an activation code, with that code (ErrDecrypt); a signing
//     request without the code is refused (ErrCodeRequired). This is the
//     online check of the code: after MaxCodeAttempts distinct answers
//     that did not open, every answer is refused with ErrTooManyAttempts,
//     and the owner cancels (Cancel with CodeCancelledByOwner);
//  2. it is a KeySigningRequest (or a ReceiverCancel) in the strict encoding;
//  3. it names this invitation (ErrWrongInvitation);
//  4. the invitation has not expired (ErrInvitationExpired);
//  5. the key-creation chain verifies up to a Device OEM root of the config
//     and binds the vehicle identifier and key (cert.Config.VerifyEndpoint);
//  6. the chain certifies the request's key and slot, the slot is the one the
//     owner assigned, if any, and neither is the owner's own (ErrMismatch).
//
// A request that fails leaves the session as it was: a later, valid request
// is still accepted. The request carries no access profile: the profile the
// owner signs is the offer's, whatever the friend sends.
func (s *OwnerSession) ReadSigningRequest(sealed []byte) (*SigningRequest, error) {
	if s.done {
		return nil, ErrSessionState
	}
	if s.attempts >= MaxCodeAttempts {
		return nil, fail(CodeCancelledByOwner, ErrTooManyAttempts)
	}
	bound := sealedCodeBound(sealed)
	if bound && s.code == "" {
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: an activation code in an exchange without one", ErrMalformed))
	}
	code := ""
	if bound {
		code = s.code
	}
	pt, err := open(s.response, purposeToOwner, code, sealed)
	if errors.Is(err, ErrDecrypt) && s.code != "" {
		// A wrong code and a changed byte look the same: both count.
		if h := sha256.Sum256(sealed); h != s.lastFailed {
			s.lastFailed = h
			s.attempts++
		}
		if s.attempts >= MaxCodeAttempts {
			return nil, fail(CodeCancelledByOwner, ErrTooManyAttempts)
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
	if t == TypeKeySigningRequest && s.code != "" && !bound {
		return nil, fail(CodeCancelledByOwner, ErrCodeRequired)
	}
	switch t {
	case TypeReceiverCancel:
		err := parseCancel(body, &s.inv.ID)
		if errors.Is(err, ErrCancelled) {
			s.done = true
		}
		return nil, err
	case TypeKeySigningRequest:
	default:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: %v", ErrUnexpectedMessage, t))
	}
	req, err := parseSigningRequest(body)
	if err != nil {
		return nil, err
	}
	if req.id != s.inv.ID {
		return nil, fail(CodeInvalidContent, ErrWrongInvitation)
	}
	if s.now().Unix() > s.inv.Expires.Unix() {
		return nil, fail(CodeRequestRejected, ErrInvitationExpired)
	}
	// docs/protocol.md §6.1 step 4: the owner device verifies the key-creation
	// chain, an authentic secure element of a known Device OEM, bound to
	// this vehicle.
	ep, err := s.certs.VerifyEndpoint(req.chain, s.inv.Vehicle, s.inv.VehicleKey)
	if err != nil {
		return nil, fail(chainCode(err), err)
	}
	switch {
	case !ep.Key.Equal(req.Key) || ep.Extension.InitialKeySlot != req.Slot:
		return nil, fail(CodeInvalidContent, fmt.Errorf("%w: key or slot is not the chain's", ErrMismatch))
	case !s.inv.FriendSlot.IsZero() && req.Slot != s.inv.FriendSlot:
		return nil, fail(CodeInvalidContent, fmt.Errorf("%w: slot %v, assigned %v", ErrMismatch, req.Slot, s.inv.FriendSlot))
	case req.Key.Equal(s.inv.Owner) || req.Slot == s.inv.OwnerSlot:
		return nil, fail(CodeInvalidContent, fmt.Errorf("%w: the owner's own key or slot", ErrMismatch))
	}
	req.Endpoint = ep
	s.pending = req
	return req, nil
}

// Sign signs the key attestation for req, the request ReadSigningRequest
// returned last, with the owner's key, and returns it with the sealed
// ImportRequest. The attestation carries the offer's profile and validity,
// the request's key and slot, and the owner's slot as kid. It refuses
// (dkey.ErrKeyExpired) once the offered window has ended, and never signs a
// window outside the signing key's own (OwnerConfig.NotBefore, NotAfter).
// After Sign the session is finished; to withdraw the key later, terminate
// it ([Termination]).
func (s *OwnerSession) Sign(req *SigningRequest) (*Issued, error) {
	if s.done || req == nil || req != s.pending {
		return nil, ErrSessionState
	}
	now := s.now()
	if now.Unix() > s.inv.NotAfter.Unix() {
		return nil, fmt.Errorf("sharing: %w", dkey.ErrKeyExpired)
	}
	// Invite checked the offer; the signature is where it matters, so
	// check again: no window outside the signing key's own (issue 12,
	// finding 2). With the check above, the signing key has not expired.
	if err := s.signer.CheckGrant(s.inv.Profile, s.inv.NotBefore, s.inv.NotAfter); err != nil {
		return nil, fmt.Errorf("sharing: %w", err)
	}
	att := &attest.KeyAttestation{
		ID: attest.NewID(), VehicleID: s.inv.Vehicle,
		FriendKey: req.Key, FriendSlot: req.Slot,
		Profile: s.inv.Profile, NotBefore: s.inv.NotBefore, NotAfter: s.inv.NotAfter,
		IssuedAt: now, SignerSlot: s.inv.OwnerSlot,
	}
	stmt, err := att.Sign(s.key)
	if err != nil {
		return nil, fmt.Errorf("sharing: signing the key attestation: %w", err)
	}
	if len(stmt) > MaxFriendStatement {
		return nil, fmt.Errorf("sharing: key attestation of %d bytes, more than %d", len(stmt), MaxFriendStatement)
	}
	msg, err := marshalMessage(TypeImportRequest, importRequest{ID: s.inv.ID[:], Attestation: stmt})
	if err != nil {
		return nil, err
	}
	sealed, err := seal(req.response, purposeToFriend, "", msg)
	if err != nil {
		return nil, err
	}
	s.done = true
	return &Issued{Attestation: att, Statement: stmt, Message: sealed}, nil
}

// Cancel ends the session with a SenderCancel carrying code, sealed to the
// friend's response key once a signing request arrived, otherwise to the
// invitation's recipient key. The owner's device also deletes the relay
// mailbox. After Sign, Cancel fails: terminate the key instead.
func (s *OwnerSession) Cancel(code ErrorCode) ([]byte, error) {
	if s.done {
		return nil, ErrSessionState
	}
	msg, err := marshalCancel(TypeSenderCancel, s.inv.ID, code)
	if err != nil {
		return nil, err
	}
	to, p := s.to, purposeInvitation
	if s.pending != nil {
		to, p = s.pending.response, purposeToFriend
	}
	sealed, err := seal(to, p, "", msg)
	if err != nil {
		return nil, err
	}
	s.done = true
	return sealed, nil
}

// verifyVehicleChain verifies a vehicle chain up to roots, or, when roots is
// nil, up to the root certificate root, and checks that it certifies key.
func verifyVehicleChain(chain [][]byte, root []byte, roots *x509.CertPool, key *dkey.PublicKey, now func() time.Time) error {
	if len(chain) == 0 {
		return fail(CodeMissingField, fmt.Errorf("%w: vehicle chain missing", ErrMalformed))
	}
	if roots == nil {
		if len(root) == 0 {
			return fail(CodeMissingField, fmt.Errorf("%w: Vehicle OEM root missing", ErrMalformed))
		}
		var err error
		if roots, err = certPool(root); err != nil {
			return err
		}
	}
	v, err := (&cert.Config{VehicleRoots: roots, Time: now}).VerifyVehicle(chain)
	if err != nil {
		return fail(chainCode(err), err)
	}
	if !v.Key.Equal(key) {
		return fail(CodeInvalidCertificateContent, fmt.Errorf("%w: the vehicle chain certifies another key", ErrMismatch))
	}
	return nil
}

func cloneChain(c [][]byte) [][]byte {
	if len(c) == 0 {
		return nil
	}
	out := make([][]byte, len(c))
	for i := range c {
		out[i] = slices.Clone(c[i])
	}
	return out
}
