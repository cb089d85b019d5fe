package mdoc

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"github.com/opencarkey/sdk/internal/gcmchannel"
)

// Labels of the session key derivation (ISO/IEC 18013-5 §9.1.1.5).
const (
	infoSKReader = "SKReader"
	infoSKDevice = "SKDevice"
)

// SessionKeys are the two AES-GCM keys of a session: SKReader encrypts what
// the reader sends, SKDevice what the device sends. They are secret: the
// value redacts itself when printed, and Zeroize clears it.
type SessionKeys struct {
	size   int
	reader [32]byte
	device [32]byte
}

// DeriveSessionKeys derives SKReader and SKDevice of size bytes (16 or 32)
// with HKDF-SHA256 (RFC 5869) from ikm and salt, with the info "SKReader"
// and "SKDevice" (ISO/IEC 18013-5 §9.1.1.5). Home Key derives them from the
// 32-byte EXCHANGE secret with SHA-256(SessionTranscriptBytes) as salt;
// Aliro from the step-up material with a salt of 32 zero bytes (see
// [AliroStepUpKeys]).
func DeriveSessionKeys(ikm, salt []byte, size int) (*SessionKeys, error) {
	if size != 16 && size != 32 {
		return nil, fmt.Errorf("mdoc: session key size %d, want 16 or 32", size)
	}
	if len(ikm) == 0 {
		return nil, fmt.Errorf("mdoc: empty input keying material")
	}
	k := &SessionKeys{size: size}
	if err := hkdfInto(k.reader[:size], ikm, salt, infoSKReader); err != nil {
		return nil, err
	}
	if err := hkdfInto(k.device[:size], ikm, salt, infoSKDevice); err != nil {
		return nil, err
	}
	return k, nil
}

func hkdfInto(out, ikm, salt []byte, info string) error {
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return fmt.Errorf("mdoc: HKDF: %w", err)
	}
	okm, err := hkdf.Expand(sha256.New, prk, info, len(out))
	clear(prk)
	if err != nil {
		return fmt.Errorf("mdoc: HKDF: %w", err)
	}
	copy(out, okm)
	clear(okm)
	return nil
}

// AliroStepUpKeys derives the step-up session keys of an Aliro transaction
// from its 32-byte step-up material, bytes 0x40 to 0x60 of the AUTH1 key
// derivation output: HKDF-SHA256 with a salt of 32 zero bytes and the info
// "SKReader" and "SKDevice", 32 bytes each (I [ALIRO] README "Secure
// channel key derivation", kormax/python-aliro-reader protocol.py). The
// key derivation that produces the material belongs to the transaction.
func AliroStepUpKeys(material []byte) (*SessionKeys, error) {
	if len(material) != 32 {
		return nil, fmt.Errorf("mdoc: step-up material of %d bytes, want 32", len(material))
	}
	var zero [32]byte
	return DeriveSessionKeys(material, zero[:], Aliro.KeySize())
}

// Size returns the key size in bytes.
func (k *SessionKeys) Size() int { return k.size }

// Zeroize clears the keys.
func (k *SessionKeys) Zeroize() {
	clear(k.reader[:])
	clear(k.device[:])
}

// String redacts the keys. String, GoString and Format have value
// receivers, so a copy of the keys (fmt.Print(*k)) redacts itself too.
func (k SessionKeys) String() string { return "mdoc.SessionKeys(redacted)" }

// GoString redacts the keys.
func (k SessionKeys) GoString() string { return k.String() }

// Format redacts the keys whatever the verb.
func (k SessionKeys) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// maxCounter is the largest message counter a session uses in either
// direction: the counter is 4 bytes in the IV (ISO/IEC 18013-5 §9.1.1.5)
// and the channel refuses to reach 0xFFFFFFFF.
const maxCounter = math.MaxUint32 - 1

// channel is one end of the AES-GCM channel of a session (ISO/IEC 18013-5
// §9.1.1.5), the construction package internal/gcmchannel implements: a
// key and a message counter per direction, counters from 1, the 12-byte
// IV the 8-byte direction identifier (0 for the reader, 1 for the device)
// then the 4-byte big-endian counter. The reader holds
// gcmchannel.ReaderEnd, the device gcmchannel.DeviceEnd. The wrapper only
// turns gcmchannel's errors into this package's.
//
// A message that does not authenticate breaks the channel for good: every
// later seal or open fails, as gcmchannel does and as 18013-5 §9.1.1.5
// (session termination on a decryption failure) and Aliro require. The
// roles already end their session on such a failure; the channel no longer
// leaves the counter in place for a retry.
type channel struct {
	gcm gcmchannel.Channel
}

// newChannel keys the end of the channel with k.
func newChannel(end gcmchannel.Role, k *SessionKeys) (*channel, error) {
	return newChannelLimit(end, k, maxCounter)
}

// newChannelLimit is newChannel with the counter limit given, for tests of
// counter exhaustion.
func newChannelLimit(end gcmchannel.Role, k *SessionKeys, last uint32) (*channel, error) {
	c := &channel{}
	if err := c.gcm.Init(end, k.reader[:k.size], k.device[:k.size], last); err != nil {
		return nil, fmt.Errorf("mdoc: %w", err)
	}
	return c, nil
}

// channelError maps an error of gcmchannel to the package's contract: a
// message that does not authenticate is ErrDecrypt and nothing more; an
// exhausted counter, or any use of a channel broken by an earlier failure
// or closed, is ErrOutOfSequence.
func channelError(err error) error {
	switch {
	case errors.Is(err, gcmchannel.ErrAuthentication):
		return ErrDecrypt
	case errors.Is(err, gcmchannel.ErrCounterExhausted):
		return fmt.Errorf("%w: message counter exhausted", ErrOutOfSequence)
	case errors.Is(err, gcmchannel.ErrBroken):
		return fmt.Errorf("%w: channel broken by an earlier message that did not authenticate", ErrOutOfSequence)
	case errors.Is(err, gcmchannel.ErrClosed):
		return fmt.Errorf("%w: channel closed", ErrOutOfSequence)
	}
	return fmt.Errorf("mdoc: %w", err)
}

// seal appends the encryption of plaintext, this end's next message, to
// dst.
func (c *channel) seal(dst, plaintext []byte) ([]byte, error) {
	out, err := c.gcm.Seal(dst, plaintext)
	if err != nil {
		return dst, channelError(err)
	}
	return out, nil
}

// open appends the decryption of ciphertext, the other end's next message,
// to dst. A message that does not authenticate returns ErrDecrypt and
// breaks the channel.
func (c *channel) open(dst, ciphertext []byte) ([]byte, error) {
	out, err := c.gcm.Open(dst, ciphertext)
	if err != nil {
		return dst, channelError(err)
	}
	return out, nil
}

// close drops the channel's ciphers.
func (c *channel) close() { c.gcm.Close() }

// SecretSize is the size of the Home Key EXCHANGE secret.
const SecretSize = 32

// Secret is the Home Key "attestation exchange common secret": 32 random
// bytes the reader sends to the device inside the secure channel of a
// standard transaction (EXCHANGE plaintext 00 8E 22 C0 20 <secret>,
// docs/protocol.md §4.8) and the input keying material of the session keys. It
// redacts itself when printed; Zeroize clears it.
type Secret struct {
	b [SecretSize]byte
}

// NewSecret returns a fresh secret from crypto/rand.
func NewSecret() (*Secret, error) {
	s := &Secret{}
	if _, err := rand.Read(s.b[:]); err != nil {
		return nil, fmt.Errorf("mdoc: %w", err)
	}
	return s, nil
}

// SecretFromBytes returns the secret held in b, which must be 32 bytes.
func SecretFromBytes(b []byte) (*Secret, error) {
	if len(b) != SecretSize {
		return nil, malformed("secret of %d bytes, want %d", len(b), SecretSize)
	}
	s := &Secret{}
	copy(s.b[:], b)
	return s, nil
}

// Zeroize clears the secret.
func (s *Secret) Zeroize() { clear(s.b[:]) }

// String redacts the secret. String, GoString and Format have value
// receivers, so a copy of the secret (fmt.Print(*s)) redacts itself too.
func (s Secret) String() string { return "mdoc.Secret(redacted)" }

// GoString redacts the secret.
func (s Secret) GoString() string { return s.String() }

// Format redacts the secret whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// TLV tags of the Home Key EXCHANGE that hands the secret over (I+ [AHK]
// README "EXCHANGE", [AHKR] homekey.py mailbox_exchange).
const (
	tagAttestationExchange = 0x8E
	tagExchangeSecret      = 0xC0
)

// AppendHomeKeyExchange appends the plaintext of the Home Key EXCHANGE that
// sends s to the device: 00 8E 22 C0 20 <secret>. The transaction's secure
// messaging encrypts it.
func AppendHomeKeyExchange(dst []byte, s *Secret) []byte {
	dst = append(dst, 0x00, tagAttestationExchange, 2+SecretSize, tagExchangeSecret, SecretSize)
	return append(dst, s.b[:]...)
}

// ParseHomeKeyExchange parses the plaintext of a Home Key EXCHANGE that
// hands over the secret, exactly 00 8E 22 C0 20 <32 bytes>.
func ParseHomeKeyExchange(b []byte) (*Secret, error) {
	if len(b) != 5+SecretSize || b[0] != 0x00 || b[1] != tagAttestationExchange || b[2] != 2+SecretSize ||
		b[3] != tagExchangeSecret || b[4] != SecretSize {
		return nil, malformed("not a Home Key attestation EXCHANGE (00 8E 22 C0 20 <secret>)")
	}
	return SecretFromBytes(b[5:])
}
