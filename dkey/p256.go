package dkey

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Sizes of the P-256 encodings on the wire (docs/protocol.md §0).
const (
	// PublicKeySize is the size of an uncompressed SEC 1 point, 04‖X‖Y.
	PublicKeySize = 65
	// SignatureSize is the size of a raw ECDSA signature, r‖s.
	SignatureSize = 64
	// CoordinateSize is the size of one coordinate or scalar.
	CoordinateSize = 32
)

// PublicKey is a P-256 public key as the protocol carries it: a 65-byte
// uncompressed point, validated on construction (on the curve, not the
// identity). It is immutable and safe for concurrent use. The zero value is
// not a key: construct one with [ParsePublicKey] or [NewPublicKey].
type PublicKey struct {
	raw [PublicKeySize]byte
	key *ecdsa.PublicKey
}

// ParsePublicKey parses a 65-byte uncompressed SEC 1 point. It rejects any
// other length, compressed points, the identity and points off the curve with
// an error wrapping [ErrInvalidPublicKey].
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != PublicKeySize || b[0] != 0x04 {
		return nil, fmt.Errorf("%w: want %d bytes starting with 04, got %d bytes", ErrInvalidPublicKey, PublicKeySize, len(b))
	}
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
	}
	p := &PublicKey{key: k}
	copy(p.raw[:], b)
	return p, nil
}

// NewPublicKey returns the [PublicKey] of an ECDSA P-256 public key.
func NewPublicKey(k *ecdsa.PublicKey) (*PublicKey, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: not a P-256 key", ErrInvalidPublicKey)
	}
	b, err := k.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
	}
	return ParsePublicKey(b)
}

// PublicKeyOf returns the [PublicKey] of a signer that holds a P-256 key.
func PublicKeyOf(s crypto.Signer) (*PublicKey, error) {
	k, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: signer holds a %T", ErrInvalidPublicKey, s.Public())
	}
	return NewPublicKey(k)
}

// Bytes returns a copy of the 65-byte encoding.
func (k *PublicKey) Bytes() []byte { return append([]byte(nil), k.raw[:]...) }

// Append appends the 65-byte encoding to dst.
func (k *PublicKey) Append(dst []byte) []byte { return append(dst, k.raw[:]...) }

// String returns the key as the hexadecimal of its 65-byte uncompressed
// point, 04‖X‖Y, as it travels on the wire; a nil key prints "<nil>".
func (k *PublicKey) String() string {
	if k == nil {
		return "<nil>"
	}
	return hex.EncodeToString(k.raw[:])
}

// X returns the 32-byte big-endian X coordinate, which the key derivation
// and the signed data use.
func (k *PublicKey) X() [CoordinateSize]byte {
	return [CoordinateSize]byte(k.raw[1 : 1+CoordinateSize])
}

// ECDSA returns the key as an [ecdsa.PublicKey]. The caller must not modify it.
func (k *PublicKey) ECDSA() *ecdsa.PublicKey { return k.key }

// ECDH returns the key as an [ecdh.PublicKey]. It fails only for the zero
// PublicKey, which is not a key.
func (k *PublicKey) ECDH() (*ecdh.PublicKey, error) {
	p, err := ecdh.P256().NewPublicKey(k.raw[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
	}
	return p, nil
}

// Equal reports whether k and o are the same key, in constant time.
func (k *PublicKey) Equal(o *PublicKey) bool {
	return k != nil && o != nil && subtle.ConstantTimeCompare(k.raw[:], o.raw[:]) == 1
}

// Verify checks sig, an ECDSA P-256 signature over SHA-256(message). It
// returns [ErrVerification] and nothing more when the signature is invalid.
func (k *PublicKey) Verify(message []byte, sig *Signature) error {
	digest := sha256.Sum256(message)
	return k.VerifyDigest(digest[:], sig)
}

// VerifyDigest checks sig over a SHA-256 digest computed by the caller.
func (k *PublicKey) VerifyDigest(digest []byte, sig *Signature) error {
	var buf [72]byte
	if k == nil || k.key == nil || sig == nil || !ecdsa.VerifyASN1(k.key, digest, sig.AppendASN1(buf[:0])) {
		return ErrVerification
	}
	return nil
}

// p256Order is the order n of the P-256 group, big-endian.
var p256Order = [CoordinateSize]byte{
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
}

// scalarInRange reports whether the big-endian 32-byte s is in [1, n-1].
// Signature values are public, so a variable-time comparison is fine.
func scalarInRange(s []byte) bool {
	zero := true
	for _, c := range s {
		if c != 0 {
			zero = false
			break
		}
	}
	if zero {
		return false
	}
	for i := range s {
		if s[i] != p256Order[i] {
			return s[i] < p256Order[i]
		}
	}
	return false // s == n
}

// Signature is a raw ECDSA P-256 signature: r‖s, each 32 bytes big-endian, as
// carried in AUTH1 (tag 9E) and in the project's signed statements.
type Signature [SignatureSize]byte

// ParseSignature parses a 64-byte raw signature and checks that r and s are in
// [1, n-1]. It returns an error wrapping [ErrInvalidSignature] otherwise.
func ParseSignature(b []byte) (Signature, error) {
	var s Signature
	if len(b) != SignatureSize {
		return s, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSignature, len(b), SignatureSize)
	}
	if !scalarInRange(b[:CoordinateSize]) || !scalarInRange(b[CoordinateSize:]) {
		return s, fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
	}
	copy(s[:], b)
	return s, nil
}

// SignatureFromASN1 converts a DER-encoded ECDSA signature, as
// [crypto.Signer] returns it, to the raw form.
func SignatureFromASN1(der []byte) (Signature, error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 {
		return Signature{}, fmt.Errorf("%w: not a DER ECDSA signature", ErrInvalidSignature)
	}
	if v.R.Sign() <= 0 || v.S.Sign() <= 0 || v.R.BitLen() > 256 || v.S.BitLen() > 256 {
		return Signature{}, fmt.Errorf("%w: r or s out of range", ErrInvalidSignature)
	}
	var raw [SignatureSize]byte
	v.R.FillBytes(raw[:CoordinateSize])
	v.S.FillBytes(raw[CoordinateSize:])
	return ParseSignature(raw[:])
}

// AppendASN1 appends the DER encoding of the signature to dst.
func (s *Signature) AppendASN1(dst []byte) []byte {
	r := derInteger(s[:CoordinateSize])
	t := derInteger(s[CoordinateSize:])
	dst = append(dst, 0x30, byte(derIntegerLen(r)+derIntegerLen(t)))
	dst = appendDERInteger(dst, r)
	return appendDERInteger(dst, t)
}

// derIntegerLen returns the encoded size of the INTEGER whose minimal
// magnitude is v: tag, length, an extra zero byte when the top bit is set.
func derIntegerLen(v []byte) int {
	return 2 + len(v) + int(v[0]>>7)
}

// derInteger strips leading zeros from a non-negative big-endian integer.
func derInteger(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func appendDERInteger(dst, v []byte) []byte {
	if v[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(v)+1), 0x00)
	} else {
		dst = append(dst, 0x02, byte(len(v)))
	}
	return append(dst, v...)
}

// Sign signs SHA-256(message) with signer, which must hold a P-256 key, and
// returns the raw r‖s signature. Randomness comes from crypto/rand.
func Sign(signer crypto.Signer, message []byte) (Signature, error) {
	digest := sha256.Sum256(message)
	der, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return Signature{}, fmt.Errorf("dkey: signing: %w", err)
	}
	return SignatureFromASN1(der)
}

// KeyExchanger is a P-256 private key that performs ECDH without revealing
// itself, as a key in a secure element does.
type KeyExchanger interface {
	// ECDH returns the 32-byte X coordinate of the shared point with remote.
	// It returns an error when remote is not a P-256 key.
	ECDH(remote *ecdh.PublicKey) ([]byte, error)
}

// PrivateKey is what the SDK needs of a long-term P-256 key held in a secure
// element or HSM: ECDSA signing through [crypto.Signer] (Sign receives a
// SHA-256 digest and returns a DER signature; Public returns an
// *ecdsa.PublicKey) and ECDH through [KeyExchanger].
type PrivateKey interface {
	crypto.Signer
	KeyExchanger
}

// SoftwareKey is a P-256 private key held in process memory: the default
// backend of [PrivateKey], for tests, examples and devices without a secure
// element.
type SoftwareKey struct {
	priv *ecdsa.PrivateKey
	ecdh *ecdh.PrivateKey
	pub  *PublicKey
}

var _ PrivateKey = (*SoftwareKey)(nil)

// GenerateSoftwareKey returns a new random P-256 key. Randomness comes from
// crypto/rand.
func GenerateSoftwareKey() (*SoftwareKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dkey: generating key: %w", err)
	}
	return newSoftwareKey(priv)
}

// NewSoftwareKey returns the key whose 32-byte big-endian scalar is raw, as
// returned by [SoftwareKey.Bytes]. It rejects 0 and values not below the
// group order.
func NewSoftwareKey(raw []byte) (*SoftwareKey, error) {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("dkey: invalid private key: %w", err)
	}
	return newSoftwareKey(priv)
}

func newSoftwareKey(priv *ecdsa.PrivateKey) (*SoftwareKey, error) {
	e, err := priv.ECDH()
	if err != nil {
		return nil, fmt.Errorf("dkey: invalid private key: %w", err)
	}
	pub, err := NewPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &SoftwareKey{priv: priv, ecdh: e, pub: pub}, nil
}

// Public returns the *ecdsa.PublicKey of the key.
func (k *SoftwareKey) Public() crypto.PublicKey { return &k.priv.PublicKey }

// PublicKey returns the public key in its protocol form.
func (k *SoftwareKey) PublicKey() *PublicKey { return k.pub }

// Sign signs digest, which must be a SHA-256 digest, and returns a DER
// signature. The random source is ignored: crypto/ecdsa draws from crypto/rand.
func (k *SoftwareKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != sha256.Size {
		return nil, errors.New("dkey: SoftwareKey signs SHA-256 digests only")
	}
	return ecdsa.SignASN1(rand.Reader, k.priv, digest)
}

// ECDH returns the X coordinate of the shared point with remote.
func (k *SoftwareKey) ECDH(remote *ecdh.PublicKey) ([]byte, error) {
	if remote == nil || remote.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: not a P-256 key", ErrInvalidPublicKey)
	}
	return k.ecdh.ECDH(remote)
}

// Bytes returns the 32-byte big-endian private scalar, for persisting a
// software key. Keys in a secure element have no such method.
func (k *SoftwareKey) Bytes() ([]byte, error) { return k.priv.Bytes() }
