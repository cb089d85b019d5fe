package sharing

// Hooks for the external tests: they build messages the API never builds
// (a signing request with an extra field, a message of the wrong type) and
// reach the parsers behind the envelope.

// Purposes, for SealForTest.
const (
	PurposeInvitation = byte(purposeInvitation)
	PurposeToOwner    = byte(purposeToOwner)
	PurposeToFriend   = byte(purposeToFriend)
)

// SealForTest seals plaintext as the package does.
func SealForTest(to *RecipientKey, p byte, code string, plaintext []byte) ([]byte, error) {
	return seal(to, purpose(p), code, plaintext)
}

// OpenForTest opens a sealed message as the package does.
func OpenForTest(k *RecipientPrivateKey, p byte, code string, sealed []byte) ([]byte, error) {
	return open(k, purpose(p), code, sealed)
}

// ResponseKeyForTest returns the key the friend answers to.
func (inv *Invitation) ResponseKeyForTest() *RecipientKey { return inv.response }

// ParsePlaintextForTest parses a padded plaintext as the receiving side of
// each message type does and returns the message type; the error is the
// one the session would return.
func ParsePlaintextForTest(padded []byte) (DataType, error) {
	t, body, err := parseMessage(padded)
	if err != nil {
		return 0, err
	}
	switch t {
	case TypeKeyCreationRequest:
		_, err = parseInvitation(body)
	case TypeKeySigningRequest:
		_, err = parseSigningRequest(body)
	case TypeImportRequest:
		_, _, err = parseImport(body)
	case TypeSenderCancel, TypeReceiverCancel:
		if err = parseCancel(body, nil); err != nil && isCancel(err) {
			err = nil
		}
	}
	return t, err
}

func isCancel(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Err == ErrCancelled
}

// MarshalForTest encodes a message of type t with body, a CBOR map with
// integer keys, as the package does.
func MarshalForTest(t DataType, body map[uint64]any) ([]byte, error) { return marshalMessage(t, body) }

// ResponseKeyForTest returns the key the owner answers to.
func (s *FriendSession) ResponseKeyForTest() *RecipientKey { return s.response.PublicKey() }

// CloneForTest copies the session, so that a fuzz target runs each input
// against the same state.
func (s *FriendSession) CloneForTest() *FriendSession { c := *s; return &c }

// CloneForTest copies the session.
func (s *OwnerSession) CloneForTest() *OwnerSession { c := *s; return &c }
