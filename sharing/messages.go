package sharing

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/cborstrict"
)

// DataType is the sharingDataType of a message (docs/protocol.md §6.1, S [YKB]
// §11.3.3). Types 6 and 7 (PIN re-entry) are not implemented: the activation
// code is bound into the invitation instead (doc.go, "Activation code").
type DataType uint8

// Message types.
const (
	TypeKeyCreationRequest DataType = 1 // owner → friend: the invitation
	TypeKeySigningRequest  DataType = 2 // friend → owner: the new key and its chain
	TypeImportRequest      DataType = 3 // owner → friend: the key attestation
	TypeSenderCancel       DataType = 4 // owner → friend: cancelled
	TypeReceiverCancel     DataType = 5 // friend → owner: declined
)

// String returns the name of the type.
func (t DataType) String() string {
	switch t {
	case TypeKeyCreationRequest:
		return "KeyCreationRequest"
	case TypeKeySigningRequest:
		return "KeySigningRequest"
	case TypeImportRequest:
		return "ImportRequest"
	case TypeSenderCancel:
		return "SenderCancel"
	case TypeReceiverCancel:
		return "ReceiverCancel"
	}
	return "DataType(" + strconv.Itoa(int(t)) + ")"
}

// Limits of the messages.
const (
	// InvitationIDSize is the size of an invitation identifier.
	InvitationIDSize = 16
	// MaxVehicleChain is the longest vehicle certificate chain an invitation
	// carries: the vehicle certificate and up to cert.MaxIntermediates
	// intermediates.
	MaxVehicleChain = 1 + cert.MaxIntermediates
	// MaxDeviceChain is the longest key-creation chain a signing request
	// carries: the endpoint certificate, the instance CA and an optional
	// Device OEM intermediate.
	MaxDeviceChain = 1 + cert.MaxIntermediates
)

// maxTime is the latest time a message carries: 9999-12-31T23:59:59Z, as in
// package attest.
const maxTime = 253402300799

// InvitationID identifies one invitation: 16 random bytes that every message
// of the exchange repeats, so that a message of another exchange is refused.
type InvitationID [InvitationIDSize]byte

// String returns id in lowercase hexadecimal.
func (id InvitationID) String() string { return hex.EncodeToString(id[:]) }

// CBOR modes, immutable once built and safe for concurrent use: Core
// Deterministic Encoding (RFC 8949 §4.2.1) out, strict decoding in.
var (
	encMode = cborstrict.EncMode()
	decMode = cborstrict.DecMode(cbor.TagsForbidden, 16)
)

// errNotDeterministic is the detail of an encoding that decodes but is not
// the deterministic one.
var errNotDeterministic = errors.New("not in Core Deterministic Encoding")

// checkCanonical checks that b is what the encoder writes for v: minimal
// heads, sorted keys, no optional field present with its zero value.
func checkCanonical(b []byte, v any) error {
	again, err := encMode.Marshal(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, b) {
		return errNotDeterministic
	}
	return nil
}

// message is the plaintext of every sealed message, before padding:
//
//	message = [type: uint, body: {* uint => any}]
type message struct {
	_    struct{} `cbor:",toarray"`
	Type uint64
	Body cbor.RawMessage
}

func marshalMessage(t DataType, body any) ([]byte, error) {
	b, err := encMode.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("sharing: encoding %v: %w", t, err)
	}
	return encMode.Marshal(message{Type: uint64(t), Body: b})
}

// parseMessage decodes a padded plaintext: one message in deterministic
// encoding followed by zero bytes only.
func parseMessage(padded []byte) (DataType, []byte, error) {
	var m message
	rest, err := decMode.UnmarshalFirst(padded, &m)
	if err != nil {
		return 0, nil, fail(CodeInvalidStructure, fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	for _, b := range rest {
		if b != 0 {
			return 0, nil, fail(CodeInvalidStructure, fmt.Errorf("%w: bytes after the message", ErrMalformed))
		}
	}
	if err := checkCanonical(padded[:len(padded)-len(rest)], m); err != nil {
		return 0, nil, fail(CodeInvalidStructure, fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	if m.Type < uint64(TypeKeyCreationRequest) || m.Type > uint64(TypeReceiverCancel) {
		return 0, nil, fail(CodeInvalidStructure, fmt.Errorf("%w: sharingDataType %d", ErrUnexpectedMessage, m.Type))
	}
	return DataType(m.Type), m.Body, nil
}

// decodeBody decodes a message body strictly into v.
func decodeBody(body []byte, v any) error {
	if err := decMode.Unmarshal(body, v); err != nil {
		return fail(CodeInvalidStructure, fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	return nil
}

// canonicalBody checks, after the fields are validated, that body is in
// deterministic encoding.
func canonicalBody(body []byte, v any) error {
	if err := checkCanonical(body, v); err != nil {
		return fail(CodeInvalidStructure, fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	return nil
}

func seconds(t time.Time) (uint64, error) {
	s := t.Unix()
	if s < 0 || s > maxTime {
		return 0, fmt.Errorf("sharing: time %v outside 1970 to 9999", t)
	}
	return uint64(s), nil
}

func fromSeconds(s uint64) (time.Time, error) {
	if s > maxTime {
		return time.Time{}, fail(CodeInvalidContent, fmt.Errorf("%w: time after 9999", ErrMalformed))
	}
	return time.Unix(int64(s), 0).UTC(), nil
}

// Invitation is the content of a KeyCreationRequest (docs/protocol.md §6.1 step
// 2): what the owner offers and what the friend's device needs to create a
// key bound to the vehicle.
type Invitation struct {
	// ID identifies the exchange.
	ID InvitationID
	// Vehicle and VehicleKey are the vehicle identifier and long-term
	// public key the friend key is bound to.
	Vehicle    dkey.VehicleID
	VehicleKey *dkey.PublicKey
	// VehicleChain is the vehicle certificate chain, leaf first, and
	// VehicleRoot the Vehicle OEM root certificate (DER), both optional
	// (docs/protocol.md §6.1: the owner received the root at pairing). The
	// friend verifies the chain and that its leaf certifies VehicleKey.
	VehicleChain [][]byte
	VehicleRoot  []byte
	// Owner and OwnerSlot are the key that will sign the key attestation.
	Owner     *dkey.PublicKey
	OwnerSlot dkey.KeySlot
	// Profile is the access profile offered.
	Profile dkey.AccessProfile
	// NotBefore and NotAfter bound the friend key's validity, inclusive,
	// to the second.
	NotBefore, NotAfter time.Time
	// Expires is when the invitation lapses, inclusive, to the second.
	Expires time.Time
	// FriendSlot is the key slot the owner assigned to the friend key
	// (from the slot identifiers the vehicle pre-allocated, docs/protocol.md
	// §9); zero lets the friend's device choose.
	FriendSlot dkey.KeySlot
	// Mailboxes is the mailbox configuration the friend key gets.
	Mailboxes dkey.MailboxConfig
	// ActivationCode reports that the invitation was sealed with an
	// activation code.
	ActivationCode bool

	response *RecipientKey
}

// keyCreationRequest is the body of TypeKeyCreationRequest (CDDL in doc.go).
type keyCreationRequest struct {
	ID           []byte   `cbor:"1,keyasint"`
	Vehicle      []byte   `cbor:"2,keyasint"`
	VehicleKey   []byte   `cbor:"3,keyasint"`
	VehicleChain [][]byte `cbor:"4,keyasint,omitempty"`
	VehicleRoot  []byte   `cbor:"5,keyasint,omitempty"`
	Owner        []byte   `cbor:"6,keyasint"`
	OwnerSlot    []byte   `cbor:"7,keyasint"`
	Entitlements uint64   `cbor:"8,keyasint"`
	MaxSpeed     uint64   `cbor:"9,keyasint,omitempty"`
	NotBefore    uint64   `cbor:"10,keyasint"`
	NotAfter     uint64   `cbor:"11,keyasint"`
	Expires      uint64   `cbor:"12,keyasint"`
	FriendSlot   []byte   `cbor:"13,keyasint,omitempty"`
	Mailboxes    []uint64 `cbor:"14,keyasint"`
	ResponseKey  []byte   `cbor:"15,keyasint"`
}

func (inv *Invitation) marshal() ([]byte, error) {
	nb, err := seconds(inv.NotBefore)
	if err != nil {
		return nil, err
	}
	na, err := seconds(inv.NotAfter)
	if err != nil {
		return nil, err
	}
	ex, err := seconds(inv.Expires)
	if err != nil {
		return nil, err
	}
	m := inv.Mailboxes
	w := keyCreationRequest{
		ID:           inv.ID[:],
		Vehicle:      inv.Vehicle.Bytes(),
		VehicleKey:   inv.VehicleKey.Bytes(),
		VehicleChain: inv.VehicleChain,
		VehicleRoot:  inv.VehicleRoot,
		Owner:        inv.Owner.Bytes(),
		OwnerSlot:    inv.OwnerSlot.Bytes(),
		Entitlements: uint64(inv.Profile.Entitlements),
		MaxSpeed:     uint64(inv.Profile.MaxSpeed),
		NotBefore:    nb,
		NotAfter:     na,
		Expires:      ex,
		FriendSlot:   inv.FriendSlot.Bytes(),
		Mailboxes: []uint64{
			uint64(m.PrivateSize), uint64(m.ConfidentialSize),
			uint64(m.PrivateAuth1.Offset), uint64(m.PrivateAuth1.Length),
			uint64(m.ConfidentialAuth1.Offset), uint64(m.ConfidentialAuth1.Length),
		},
		ResponseKey: inv.response.raw[:],
	}
	if _, err := w.parse(); err != nil {
		return nil, fmt.Errorf("sharing: invitation: %w", err)
	}
	return marshalMessage(TypeKeyCreationRequest, w)
}

func parseInvitation(body []byte) (*Invitation, error) {
	var w keyCreationRequest
	if err := decodeBody(body, &w); err != nil {
		return nil, err
	}
	inv, err := w.parse()
	if err != nil {
		return nil, err
	}
	if err := canonicalBody(body, w); err != nil {
		return nil, err
	}
	return inv, nil
}

// parse validates every field, in the order of the CDDL.
func (w *keyCreationRequest) parse() (*Invitation, error) {
	inv := new(Invitation)
	var err error
	if inv.ID, err = parseInvitationID(w.ID); err != nil {
		return nil, err
	}
	if len(w.Vehicle) == 0 || len(w.VehicleKey) == 0 || len(w.Owner) == 0 || len(w.OwnerSlot) == 0 || len(w.ResponseKey) == 0 || len(w.Mailboxes) == 0 {
		return nil, fail(CodeMissingField, fmt.Errorf("%w: KeyCreationRequest", ErrMalformed))
	}
	if inv.Vehicle, err = dkey.NewVehicleID(w.Vehicle); err != nil {
		return nil, invalid(err)
	}
	if inv.VehicleKey, err = dkey.ParsePublicKey(w.VehicleKey); err != nil {
		return nil, invalid(err)
	}
	if len(w.VehicleChain) > MaxVehicleChain || (len(w.VehicleChain) == 0) != (len(w.VehicleRoot) == 0) {
		return nil, invalid(fmt.Errorf("vehicle chain of %d certificates, root of %d bytes", len(w.VehicleChain), len(w.VehicleRoot)))
	}
	for i := 0; i <= len(w.VehicleChain); i++ {
		c := w.VehicleRoot
		if i < len(w.VehicleChain) {
			c = w.VehicleChain[i]
		}
		if len(c) > cert.MaxCertificateSize || (i < len(w.VehicleChain) && len(c) == 0) {
			return nil, fail(CodeInvalidCertificateStructure, fmt.Errorf("%w: certificate of %d bytes", ErrMalformed, len(c)))
		}
	}
	inv.VehicleChain, inv.VehicleRoot = w.VehicleChain, w.VehicleRoot
	if inv.Owner, err = dkey.ParsePublicKey(w.Owner); err != nil {
		return nil, invalid(err)
	}
	if inv.OwnerSlot, err = dkey.NewKeySlot(w.OwnerSlot); err != nil {
		return nil, invalid(err)
	}
	if inv.Profile, err = parseProfile(w.Entitlements, w.MaxSpeed); err != nil {
		return nil, err
	}
	if inv.NotBefore, err = fromSeconds(w.NotBefore); err != nil {
		return nil, err
	}
	if inv.NotAfter, err = fromSeconds(w.NotAfter); err != nil {
		return nil, err
	}
	if w.NotBefore > w.NotAfter {
		return nil, invalid(errors.New("NotBefore after NotAfter"))
	}
	if inv.Expires, err = fromSeconds(w.Expires); err != nil {
		return nil, err
	}
	if len(w.FriendSlot) > 0 {
		if inv.FriendSlot, err = dkey.NewKeySlot(w.FriendSlot); err != nil {
			return nil, invalid(err)
		}
	}
	if inv.Mailboxes, err = parseMailboxes(w.Mailboxes); err != nil {
		return nil, err
	}
	if inv.response, err = ParseRecipientKey(w.ResponseKey); err != nil {
		return nil, invalid(err)
	}
	return inv, nil
}

func invalid(err error) error {
	return fail(CodeInvalidContent, fmt.Errorf("%w: %w", ErrMalformed, err))
}

func parseInvitationID(b []byte) (InvitationID, error) {
	var id InvitationID
	if len(b) == 0 {
		return id, fail(CodeMissingField, fmt.Errorf("%w: no invitation identifier", ErrMalformed))
	}
	if len(b) != InvitationIDSize {
		return id, invalid(fmt.Errorf("invitation identifier of %d bytes", len(b)))
	}
	copy(id[:], b)
	return id, nil
}

func parseProfile(ent, speed uint64) (dkey.AccessProfile, error) {
	if ent > math.MaxUint32 || speed > math.MaxUint16 {
		return dkey.AccessProfile{}, invalid(errors.New("access profile out of range"))
	}
	p := dkey.AccessProfile{Entitlements: dkey.Entitlements(ent), MaxSpeed: uint16(speed)}
	if err := checkProfile(p); err != nil {
		return dkey.AccessProfile{}, invalid(err)
	}
	return p, nil
}

// checkProfile checks what package attest requires of a granted profile:
// known entitlements, not none.
func checkProfile(p dkey.AccessProfile) error {
	if p.Entitlements == 0 || !p.Entitlements.Known() {
		return fmt.Errorf("entitlements %v: known bits only, not none", p.Entitlements)
	}
	return nil
}

func parseMailboxes(v []uint64) (dkey.MailboxConfig, error) {
	if len(v) != 6 {
		return dkey.MailboxConfig{}, invalid(fmt.Errorf("mailbox configuration of %d values, want 6", len(v)))
	}
	for _, x := range v {
		if x > math.MaxUint16 {
			return dkey.MailboxConfig{}, invalid(errors.New("mailbox configuration out of range"))
		}
	}
	m := dkey.MailboxConfig{
		PrivateSize: uint16(v[0]), ConfidentialSize: uint16(v[1]),
		PrivateAuth1:      dkey.MailboxRange{Offset: uint16(v[2]), Length: uint16(v[3])},
		ConfidentialAuth1: dkey.MailboxRange{Offset: uint16(v[4]), Length: uint16(v[5])},
	}
	if err := checkFriendMailboxes(m); err != nil {
		return dkey.MailboxConfig{}, invalid(err)
	}
	return m, nil
}

// checkFriendMailboxes checks a friend key's mailbox configuration: valid,
// and a private mailbox that holds the statement area with one key
// attestation.
func checkFriendMailboxes(m dkey.MailboxConfig) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.PrivateSize < MinFriendPrivateMailbox {
		return fmt.Errorf("private mailbox of %d bytes, less than %d", m.PrivateSize, MinFriendPrivateMailbox)
	}
	return nil
}

// SigningRequest is the content of a KeySigningRequest (docs/protocol.md §6.1
// step 3) as the owner verified it: the friend's new endpoint key, its slot
// and its verified key-creation chain.
type SigningRequest struct {
	// Key is the friend's endpoint public key, certified by Endpoint.
	Key *dkey.PublicKey
	// Slot is the friend key's slot, the endpoint certificate's
	// initial_key_slot.
	Slot dkey.KeySlot
	// Endpoint is the verified chain, up to a Device OEM root the owner
	// trusts: the UI may show the device maker.
	Endpoint *cert.VerifiedEndpoint

	id       InvitationID
	chain    [][]byte
	response *RecipientKey
}

// keySigningRequest is the body of TypeKeySigningRequest (CDDL in doc.go).
type keySigningRequest struct {
	ID          []byte   `cbor:"1,keyasint"`
	Key         []byte   `cbor:"2,keyasint"`
	Slot        []byte   `cbor:"3,keyasint"`
	Chain       [][]byte `cbor:"4,keyasint"`
	ResponseKey []byte   `cbor:"5,keyasint"`
}

func (r *SigningRequest) marshal() ([]byte, error) {
	w := keySigningRequest{ID: r.id[:], Key: r.Key.Bytes(), Slot: r.Slot.Bytes(), Chain: r.chain, ResponseKey: r.response.raw[:]}
	if _, err := w.parse(); err != nil {
		return nil, fmt.Errorf("sharing: signing request: %w", err)
	}
	return marshalMessage(TypeKeySigningRequest, w)
}

func parseSigningRequest(body []byte) (*SigningRequest, error) {
	var w keySigningRequest
	if err := decodeBody(body, &w); err != nil {
		return nil, err
	}
	r, err := w.parse()
	if err != nil {
		return nil, err
	}
	if err := canonicalBody(body, w); err != nil {
		return nil, err
	}
	return r, nil
}

func (w *keySigningRequest) parse() (*SigningRequest, error) {
	r := new(SigningRequest)
	var err error
	if r.id, err = parseInvitationID(w.ID); err != nil {
		return nil, err
	}
	if len(w.Key) == 0 || len(w.Slot) == 0 || len(w.Chain) == 0 || len(w.ResponseKey) == 0 {
		return nil, fail(CodeMissingField, fmt.Errorf("%w: KeySigningRequest", ErrMalformed))
	}
	if r.Key, err = dkey.ParsePublicKey(w.Key); err != nil {
		return nil, invalid(err)
	}
	if r.Slot, err = dkey.NewKeySlot(w.Slot); err != nil {
		return nil, invalid(err)
	}
	if len(w.Chain) < 2 || len(w.Chain) > MaxDeviceChain {
		return nil, fail(CodeInvalidChain, fmt.Errorf("%w: key-creation chain of %d certificates", ErrMalformed, len(w.Chain)))
	}
	for _, c := range w.Chain {
		if len(c) == 0 || len(c) > cert.MaxCertificateSize {
			return nil, fail(CodeInvalidCertificateStructure, fmt.Errorf("%w: certificate of %d bytes", ErrMalformed, len(c)))
		}
	}
	r.chain = w.Chain
	if r.response, err = ParseRecipientKey(w.ResponseKey); err != nil {
		return nil, invalid(err)
	}
	return r, nil
}

// importRequest is the body of TypeImportRequest (CDDL in doc.go).
type importRequest struct {
	ID          []byte `cbor:"1,keyasint"`
	Attestation []byte `cbor:"2,keyasint"`
}

func parseImport(body []byte) (InvitationID, []byte, error) {
	var w importRequest
	if err := decodeBody(body, &w); err != nil {
		return InvitationID{}, nil, err
	}
	id, err := parseInvitationID(w.ID)
	if err != nil {
		return id, nil, err
	}
	if len(w.Attestation) == 0 {
		return id, nil, fail(CodeMissingField, fmt.Errorf("%w: ImportRequest without attestation", ErrMalformed))
	}
	if len(w.Attestation) > MaxFriendStatement {
		return id, nil, invalid(fmt.Errorf("attestation of %d bytes, more than %d", len(w.Attestation), MaxFriendStatement))
	}
	if err := canonicalBody(body, w); err != nil {
		return id, nil, err
	}
	return id, w.Attestation, nil
}

// cancel is the body of TypeSenderCancel and TypeReceiverCancel (CDDL in
// doc.go).
type cancel struct {
	ID   []byte `cbor:"1,keyasint"`
	Code uint64 `cbor:"2,keyasint"`
}

func marshalCancel(t DataType, id InvitationID, code ErrorCode) ([]byte, error) {
	if !code.Known() {
		return nil, fmt.Errorf("sharing: unknown error code %02x", uint8(code))
	}
	return marshalMessage(t, cancel{ID: id[:], Code: uint64(code)})
}

// parseCancel returns the *Error a cancellation stands for: one wrapping
// ErrCancelled with the peer's code when it names want (or any invitation,
// when want is nil).
func parseCancel(body []byte, want *InvitationID) error {
	var w cancel
	if err := decodeBody(body, &w); err != nil {
		return err
	}
	id, err := parseInvitationID(w.ID)
	if err != nil {
		return err
	}
	if w.Code > math.MaxUint8 || !ErrorCode(w.Code).Known() {
		return invalid(fmt.Errorf("error code %d", w.Code))
	}
	if err := canonicalBody(body, w); err != nil {
		return err
	}
	if want != nil && id != *want {
		return fail(CodeInvalidContent, ErrWrongInvitation)
	}
	return fail(ErrorCode(w.Code), ErrCancelled)
}

// chainCode maps a chain verification failure of package cert to its
// Table 11-27 code.
func chainCode(err error) ErrorCode {
	switch {
	case errors.Is(err, cert.ErrExpired), errors.Is(err, cert.ErrNotYetValid):
		return CodeCertificateExpired
	case errors.Is(err, cert.ErrMalformedCertificate):
		return CodeInvalidCertificateStructure
	case errors.Is(err, cert.ErrUnknownRoot), errors.Is(err, cert.ErrInvalidChain), errors.Is(err, cert.ErrPathTooLong):
		return CodeInvalidChain
	}
	return CodeInvalidCertificateContent
}

// certPool returns a pool of one DER certificate.
func certPool(der []byte) (*x509.CertPool, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fail(CodeInvalidCertificateStructure, fmt.Errorf("%w: %w", cert.ErrMalformedCertificate, err))
	}
	p := x509.NewCertPool()
	p.AddCert(c)
	return p, nil
}
