package sharing

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Sizes and limits of the sealed envelope (doc.go, "Sealing").
const (
	// RecipientKeySize is the size of a recipient key: an uncompressed
	// P-256 point, the SerializePublicKey form of DHKEM(P-256).
	RecipientKeySize = 65
	// LinkSecretSize is the size of the secret a sharing link carries in
	// its fragment.
	LinkSecretSize = 32
	// MaxMessageSize bounds the padded plaintext of a sealed message.
	MaxMessageSize = 16384
	// MaxSealedSize bounds a sealed message as the relay stores it.
	MaxSealedSize = envelopeHeaderSize + codeSaltSize + RecipientKeySize + MaxMessageSize + aeadOverhead
)

const (
	// Version 2: the activation code moved from the invitation's key
	// schedule (version 1, which a holder of the link could test offline)
	// to the friend's answers, which only the owner's device opens.
	envelopeVersion    = 2
	envelopeHeaderSize = 2 // version, flags
	// flagCodeBound: the activation code is in the key schedule and a salt
	// follows the flags; messages to the owner's response key only.
	flagCodeBound = 0x01
	// flagCodeRequired: the friend's answers must carry the activation
	// code; invitations only.
	flagCodeRequired = 0x02
	codeSaltSize     = 16
	aeadOverhead     = 16 // AES-128-GCM tag
	padBlock         = 256

	// scrypt cost of the activation code: 32 MiB and about 100 ms on a
	// phone per guess (RFC 7914 §2 interactive-login parameters raised to
	// N = 2^15).
	codeN, codeR, codeP = 1 << 15, 8, 1

	infoLabel = "opencarkey sharing v1"
	codeLabel = "opencarkey sharing activation code v1"
)

// purpose separates the three directions a message is sealed in, through the
// HPKE info: a message sealed for one never opens as another.
type purpose byte

const (
	purposeInvitation purpose = 1 // owner → the friend's recipient key (link or device)
	purposeToOwner    purpose = 2 // friend → the owner's response key
	purposeToFriend   purpose = 3 // owner → the friend's response key
)

// The HPKE ciphersuite (RFC 9180 §7): DHKEM(P-256, HKDF-SHA256) 0x0010,
// HKDF-SHA256 0x0001, AES-128-GCM 0x0001, base mode.
func suiteKEM() hpke.KEM   { return hpke.DHKEM(ecdh.P256()) }
func suiteKDF() hpke.KDF   { return hpke.HKDFSHA256() }
func suiteAEAD() hpke.AEAD { return hpke.AES128GCM() }

// RecipientKey is a public key a sealed message is sealed to: a DHKEM(P-256)
// public key, 65 bytes uncompressed. It is immutable.
type RecipientKey struct {
	pk  hpke.PublicKey
	raw [RecipientKeySize]byte
}

// ParseRecipientKey parses a 65-byte uncompressed P-256 point, as a device
// publishes its recipient key or a message carries a response key.
func ParseRecipientKey(b []byte) (*RecipientKey, error) {
	if len(b) != RecipientKeySize || b[0] != 4 {
		return nil, fmt.Errorf("%w: recipient key must be a 65-byte uncompressed P-256 point", ErrMalformed)
	}
	pk, err := suiteKEM().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient key: %w", ErrMalformed, err)
	}
	k := &RecipientKey{pk: pk}
	copy(k.raw[:], b)
	return k, nil
}

// Bytes returns a copy of the 65-byte encoding.
func (k *RecipientKey) Bytes() []byte { return bytes.Clone(k.raw[:]) }

// Equal reports whether k and o are the same key.
func (k *RecipientKey) Equal(o *RecipientKey) bool { return o != nil && k.raw == o.raw }

// RecipientPrivateKey opens messages sealed to its public key. It is either
// derived from a sharing [Link], generated for one session (the response keys),
// or held by a device ([NewRecipientPrivateKey]).
type RecipientPrivateKey struct {
	sk  hpke.PrivateKey
	pub *RecipientKey
}

// GenerateRecipientKey returns a new random recipient key. Randomness comes
// from crypto/rand.
func GenerateRecipientKey() (*RecipientPrivateKey, error) {
	sk, err := suiteKEM().GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("sharing: generating a recipient key: %w", err)
	}
	return newRecipientPrivateKey(sk)
}

// NewRecipientPrivateKey returns the recipient key of a P-256 key that
// performs ECDH without revealing itself, such as a key in the device's
// secure element: a device publishes its public key, and an invitation
// sealed to it opens on that device only.
func NewRecipientPrivateKey(k ecdh.KeyExchanger) (*RecipientPrivateKey, error) {
	if k == nil || k.Curve() != ecdh.P256() {
		return nil, errors.New("sharing: recipient key must be a P-256 key")
	}
	sk, err := hpke.NewDHKEMPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("sharing: recipient key: %w", err)
	}
	return newRecipientPrivateKey(sk)
}

func newRecipientPrivateKey(sk hpke.PrivateKey) (*RecipientPrivateKey, error) {
	pub, err := ParseRecipientKey(sk.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return &RecipientPrivateKey{sk: sk, pub: pub}, nil
}

// PublicKey returns the key messages are sealed to.
func (k *RecipientPrivateKey) PublicKey() *RecipientKey { return k.pub }

// Link is the secret of a sharing link: 32 random bytes that travel in the
// fragment of the URL the owner sends through any messenger (the part after
// "#", which HTTP never sends to a server, docs/protocol.md §6.3). The recipient
// key of the invitation is derived from it (DeriveKeyPair of RFC 9180 §7.1.3),
// so whoever holds the link opens the invitation and the relay, which
// never sees the fragment, does not.
type Link struct {
	secret [LinkSecretSize]byte
}

// NewLink returns a new random link secret. Randomness comes from
// crypto/rand.
func NewLink() (*Link, error) {
	l := new(Link)
	if _, err := rand.Read(l.secret[:]); err != nil {
		return nil, fmt.Errorf("sharing: link secret: %w", err)
	}
	return l, nil
}

// ParseLink parses the fragment of a sharing link: the secret in unpadded
// base64url (RFC 4648 §5), 43 characters.
func ParseLink(fragment string) (*Link, error) {
	enc := base64.RawURLEncoding.Strict()
	if enc.EncodedLen(LinkSecretSize) != len(fragment) {
		return nil, fmt.Errorf("%w: link fragment of %d characters, want %d", ErrMalformed, len(fragment), enc.EncodedLen(LinkSecretSize))
	}
	l := new(Link)
	if n, err := enc.Decode(l.secret[:], []byte(fragment)); err != nil || n != LinkSecretSize {
		return nil, fmt.Errorf("%w: link fragment is not base64url", ErrMalformed)
	}
	return l, nil
}

// Text returns the shareable text of the link: the secret in unpadded
// base64url (43 characters), the form ParseLink reads and the first part of
// the URL fragment (Fragment appends the relay's fetch token). Whoever
// holds it opens the invitation: put it in the URL and nowhere else.
func (l *Link) Text() string { return base64.RawURLEncoding.EncodeToString(l.secret[:]) }

// String redacts the secret: printing a link must not share it (Text
// returns the shareable text).
func (l Link) String() string { return "sharing.Link(redacted)" }

// GoString is String.
func (l Link) GoString() string { return l.String() }

// Format prints String for every verb, so that no verb (%x, %#v, %q)
// prints the secret bytes.
func (l Link) Format(f fmt.State, _ rune) { fmt.Fprint(f, l.String()) }

// Key returns the recipient key derived from the link secret.
func (l *Link) Key() (*RecipientPrivateKey, error) {
	sk, err := suiteKEM().DeriveKeyPair(l.secret[:])
	if err != nil {
		return nil, fmt.Errorf("sharing: deriving the link key: %w", err)
	}
	return newRecipientPrivateKey(sk)
}

// appendInfo appends the HPKE info of a purpose: infoLabel ‖ 00 ‖ purpose.
// The hardened activation code, when there is one, follows.
func appendInfo(dst []byte, p purpose) []byte {
	dst = append(dst, infoLabel...)
	return append(dst, 0, byte(p))
}

// seal pads plaintext and seals it to `to`:
//
//	sealed = version (02) ‖ flags ‖ [salt (16), when flags has 01] ‖ enc (65) ‖ ciphertext
//
// with the bytes before the ciphertext as additional data. A non-empty code
// means, on an invitation, that the friend's answers must carry it (flag
// 02; the invitation itself does not depend on it), and on a message to the
// owner, that it is bound into the key schedule (flag 01).
func seal(to *RecipientKey, p purpose, code string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxMessageSize {
		return nil, fmt.Errorf("%w: message of %d bytes, more than %d", ErrMalformed, len(plaintext), MaxMessageSize)
	}
	var infoBuf [len(infoLabel) + 2 + 32]byte
	info := appendInfo(infoBuf[:0], p)
	out := make([]byte, 0, envelopeHeaderSize+codeSaltSize+RecipientKeySize+paddedLen(len(plaintext))+aeadOverhead)
	out = append(out, envelopeVersion, 0)
	if code != "" {
		if _, err := normalizeCode(code); err != nil {
			return nil, err
		}
		switch p {
		case purposeInvitation:
			out[1] = flagCodeRequired
		case purposeToOwner:
			out[1] = flagCodeBound
			var salt [codeSaltSize]byte
			if _, err := rand.Read(salt[:]); err != nil {
				return nil, fmt.Errorf("sharing: salt: %w", err)
			}
			out = append(out, salt[:]...)
			var err error
			if info, err = appendCodeKey(info, code, salt[:]); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("sharing: only invitations and the friend's answers carry an activation code")
		}
	}
	enc, s, err := hpke.NewSender(to.pk, suiteKDF(), suiteAEAD(), info)
	clear(info)
	if err != nil {
		return nil, fmt.Errorf("sharing: HPKE: %w", err)
	}
	out = append(out, enc...)
	padded := make([]byte, paddedLen(len(plaintext)))
	copy(padded, plaintext)
	ct, err := s.Seal(out, padded)
	clear(padded)
	if err != nil {
		return nil, fmt.Errorf("sharing: HPKE: %w", err)
	}
	return append(out, ct...), nil
}

// paddedLen rounds n up to a whole number of pad blocks, at least one, so
// that the relay learns the size of a message only to the block.
func paddedLen(n int) int { return (n/padBlock + 1) * padBlock }

// sealedCodeRequired reports whether a sealed invitation says that the
// friend's answers must carry an activation code. It is a public property
// of the envelope.
func sealedCodeRequired(sealed []byte) bool {
	return len(sealed) >= envelopeHeaderSize && sealed[1]&flagCodeRequired != 0
}

// sealedCodeBound reports whether a sealed message says that an activation
// code is bound into its key schedule.
func sealedCodeBound(sealed []byte) bool {
	return len(sealed) >= envelopeHeaderSize && sealed[1]&flagCodeBound != 0
}

// open checks the envelope and opens it with key. Every failure of the
// decryption itself is ErrDecrypt and nothing more. The returned plaintext
// is padded. An invitation that requires an activation code opens only
// with a code that CheckActivationCode accepts, though it does not depend
// on which: that is for the owner's device to check, online.
func open(key *RecipientPrivateKey, p purpose, code string, sealed []byte) ([]byte, error) {
	var allowed byte
	switch p {
	case purposeInvitation:
		allowed = flagCodeRequired
	case purposeToOwner:
		allowed = flagCodeBound
	}
	switch {
	case len(sealed) > MaxSealedSize:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: sealed message of %d bytes, more than %d", ErrMalformed, len(sealed), MaxSealedSize))
	case len(sealed) < envelopeHeaderSize:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: sealed message too short", ErrMalformed))
	case sealed[0] != envelopeVersion:
		return nil, fail(CodeVersionNotSupported, fmt.Errorf("%w: envelope version %d", ErrMalformed, sealed[0]))
	case sealed[1]&^allowed != 0:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: envelope flags %02x on this message", ErrMalformed, sealed[1]))
	}
	bound := sealed[1]&flagCodeBound != 0
	hl := envelopeHeaderSize
	if bound {
		hl += codeSaltSize
	}
	ctLen := len(sealed) - hl - RecipientKeySize
	if ctLen < padBlock+aeadOverhead || (ctLen-aeadOverhead)%padBlock != 0 {
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: ciphertext of %d bytes", ErrMalformed, ctLen))
	}
	if sealed[1] != 0 {
		if code == "" {
			return nil, ErrCodeRequired
		}
		if _, err := normalizeCode(code); err != nil {
			return nil, err
		}
	}
	var infoBuf [len(infoLabel) + 2 + 32]byte
	info := appendInfo(infoBuf[:0], p)
	if bound {
		var err error
		if info, err = appendCodeKey(info, code, sealed[envelopeHeaderSize:hl]); err != nil {
			return nil, err
		}
	}
	aad := sealed[:hl+RecipientKeySize]
	r, err := hpke.NewRecipient(sealed[hl:hl+RecipientKeySize], key.sk, suiteKDF(), suiteAEAD(), info)
	clear(info)
	if err != nil {
		return nil, ErrDecrypt
	}
	pt, err := r.Open(aad, sealed[hl+RecipientKeySize:])
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
