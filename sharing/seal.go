package sharing

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/scrypt"
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
	// MinCodeLen and MaxCodeLen bound an activation code, in bytes of UTF-8.
	MinCodeLen = 4
	MaxCodeLen = 64
)

const (
	envelopeVersion    = 1
	envelopeHeaderSize = 2 // version, flags
	flagCode           = 0x01
	codeSaltSize       = 16
	aeadOverhead       = 16 // AES-128-GCM tag
	padBlock           = 256

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
// "#", which HTTP never sends to a server, PROTOCOL.md §6.3). The recipient
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

// String returns the fragment: the secret in unpadded base64url.
func (l *Link) String() string { return base64.RawURLEncoding.EncodeToString(l.secret[:]) }

// Key returns the recipient key derived from the link secret.
func (l *Link) Key() (*RecipientPrivateKey, error) {
	sk, err := suiteKEM().DeriveKeyPair(l.secret[:])
	if err != nil {
		return nil, fmt.Errorf("sharing: deriving the link key: %w", err)
	}
	return newRecipientPrivateKey(sk)
}

// checkCode validates an activation code.
func checkCode(code string) error {
	if len(code) < MinCodeLen || len(code) > MaxCodeLen || !utf8.ValidString(code) {
		return fmt.Errorf("%w: %d to %d bytes of UTF-8", ErrInvalidCode, MinCodeLen, MaxCodeLen)
	}
	return nil
}

// appendCodeKey appends the 32-byte hardened activation code:
// scrypt(code, SHA-256(codeLabel ‖ salt), N=2^15, r=8, p=1).
func appendCodeKey(dst []byte, code string, salt []byte) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte(codeLabel))
	h.Write(salt)
	k, err := scrypt.Key([]byte(code), h.Sum(nil), codeN, codeR, codeP, 32)
	if err != nil {
		return nil, fmt.Errorf("sharing: activation code: %w", err)
	}
	dst = append(dst, k...)
	clear(k)
	return dst, nil
}

// appendInfo appends the HPKE info of a purpose: infoLabel ‖ 00 ‖ purpose.
// The hardened activation code, when there is one, follows.
func appendInfo(dst []byte, p purpose) []byte {
	dst = append(dst, infoLabel...)
	return append(dst, 0, byte(p))
}

// seal pads plaintext and seals it to `to`:
//
//	sealed = version (01) ‖ flags ‖ [salt (16), when flags has 01] ‖ enc (65) ‖ ciphertext
//
// with the bytes before the ciphertext as additional data. A non-empty code
// binds the activation code into the key schedule.
func seal(to *RecipientKey, p purpose, code string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxMessageSize {
		return nil, fmt.Errorf("%w: message of %d bytes, more than %d", ErrMalformed, len(plaintext), MaxMessageSize)
	}
	var infoBuf [len(infoLabel) + 2 + 32]byte
	info := appendInfo(infoBuf[:0], p)
	out := make([]byte, 0, envelopeHeaderSize+codeSaltSize+RecipientKeySize+paddedLen(len(plaintext))+aeadOverhead)
	out = append(out, envelopeVersion, 0)
	if code != "" {
		if p != purposeInvitation {
			return nil, errors.New("sharing: only invitations carry an activation code")
		}
		if err := checkCode(code); err != nil {
			return nil, err
		}
		out[1] = flagCode
		var salt [codeSaltSize]byte
		if _, err := rand.Read(salt[:]); err != nil {
			return nil, fmt.Errorf("sharing: salt: %w", err)
		}
		out = append(out, salt[:]...)
		var err error
		if info, err = appendCodeKey(info, code, salt[:]); err != nil {
			return nil, err
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

// sealedCodeRequired reports whether a sealed message says it was sealed
// with an activation code. It is a public property of the envelope.
func sealedCodeRequired(sealed []byte) bool {
	return len(sealed) >= envelopeHeaderSize && sealed[1]&flagCode != 0
}

// open checks the envelope and opens it with key. Every failure of the
// decryption itself is ErrDecrypt and nothing more. The returned plaintext
// is padded.
func open(key *RecipientPrivateKey, p purpose, code string, sealed []byte) ([]byte, error) {
	switch {
	case len(sealed) > MaxSealedSize:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: sealed message of %d bytes, more than %d", ErrMalformed, len(sealed), MaxSealedSize))
	case len(sealed) < envelopeHeaderSize:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: sealed message too short", ErrMalformed))
	case sealed[0] != envelopeVersion:
		return nil, fail(CodeVersionNotSupported, fmt.Errorf("%w: envelope version %d", ErrMalformed, sealed[0]))
	case sealed[1]&^flagCode != 0:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: unknown envelope flags %02x", ErrMalformed, sealed[1]))
	case sealed[1]&flagCode != 0 && p != purposeInvitation:
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: activation code on a response", ErrMalformed))
	}
	hl := envelopeHeaderSize
	if sealed[1]&flagCode != 0 {
		hl += codeSaltSize
	}
	ctLen := len(sealed) - hl - RecipientKeySize
	if ctLen < padBlock+aeadOverhead || (ctLen-aeadOverhead)%padBlock != 0 {
		return nil, fail(CodeInvalidStructure, fmt.Errorf("%w: ciphertext of %d bytes", ErrMalformed, ctLen))
	}
	var infoBuf [len(infoLabel) + 2 + 32]byte
	info := appendInfo(infoBuf[:0], p)
	if sealed[1]&flagCode != 0 {
		if code == "" {
			return nil, ErrCodeRequired
		}
		if err := checkCode(code); err != nil {
			return nil, err
		}
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
