package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of opening sealed state.
var (
	// ErrKEK reports a key-encryption key that does not open the data key
	// of a section: the wrong key, or a damaged header.
	ErrKEK = errors.New("seal: the key-encryption key does not open the stored state")
	// ErrSchema reports a section written with a schema version the
	// caller does not know, or for another role.
	ErrSchema = errors.New("seal: stored state has an unknown schema version")
	// ErrCorrupt reports a header or a record that does not open or
	// parse: a damaged or tampered record.
	ErrCorrupt = errors.New("seal: stored state is damaged")
)

// KEK is a key-encryption key: it wraps the data key that seals the
// records of a section. An HSM (PKCS#11 AES key wrap or AES-GCM), a TPM
// (a sealed object) or a KMS (Encrypt with an encryption context) can
// implement it. Implementations must be safe for concurrent use.
type KEK interface {
	// WrapKey encrypts and authenticates key, a data key of DataKeySize
	// bytes, binding ad, and returns the wrapped key.
	WrapKey(key, ad []byte) ([]byte, error)
	// UnwrapKey returns the key that WrapKey wrapped with the same ad,
	// and an error for anything else.
	UnwrapKey(wrapped, ad []byte) ([]byte, error)
}

// Sizes of keys and sealed records.
const (
	// DataKeySize is the size of a data key (AES-256).
	DataKeySize = 32
	// KEKSize is the size of a SoftwareKEK key (AES-256).
	KEKSize = 32
	// Overhead is what sealing adds to a record: the nonce and the tag.
	Overhead = nonceSize + tagSize
	// MaxWrappedKey bounds the wrapped data key of a header.
	MaxWrappedKey = 1024

	nonceSize = 12
	tagSize   = 16
)

// SoftwareKEK is a KEK in process memory: AES-256-GCM with a random nonce.
// It offers none of the protection of a key held in hardware; it is the
// key-encryption key of test benches, examples and development machines.
type SoftwareKEK struct {
	aead cipher.AEAD
}

var _ KEK = (*SoftwareKEK)(nil)

// NewSoftwareKEK returns the KEK whose key is key, KEKSize bytes. It does
// not keep key.
func NewSoftwareKEK(key []byte) (*SoftwareKEK, error) {
	if len(key) != KEKSize {
		return nil, fmt.Errorf("seal: key-encryption key of %d bytes, want %d", len(key), KEKSize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &SoftwareKEK{aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead, nil
}

// WrapKey seals key with AES-256-GCM under the KEK, binding ad.
func (k *SoftwareKEK) WrapKey(key, ad []byte) ([]byte, error) {
	return sealGCM(k.aead, nil, key, ad)
}

// UnwrapKey opens what WrapKey returned.
func (k *SoftwareKEK) UnwrapKey(wrapped, ad []byte) ([]byte, error) {
	out, err := openGCM(k.aead, nil, wrapped, ad)
	if err != nil {
		return nil, ErrKEK
	}
	return out, nil
}

// String returns a fixed text: the key is never printed.
func (k *SoftwareKEK) String() string { return "seal.SoftwareKEK{redacted}" }

// GoString is String.
func (k *SoftwareKEK) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *SoftwareKEK) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

func sealGCM(aead cipher.AEAD, dst, plaintext, ad []byte) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, ad), nil
}

func openGCM(aead cipher.AEAD, dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrCorrupt
	}
	out, err := aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], ad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}

// Header is the clear record that starts a section:
//
//	"OCKS" ‖ format (1) ‖ role length (1) ‖ role ‖ schema (2) ‖ wrapped key length (2) ‖ wrapped key
//
// The role names who owns the section ("vehicle", "device", ...), the
// schema the version of the role's record encodings.
type Header struct {
	Role       string
	Schema     uint16
	WrappedKey []byte
}

const (
	magic         = "OCKS"
	headerFormat  = 1
	maxRoleLength = 32
)

// Append appends the encoding of h to dst.
func (h *Header) Append(dst []byte) []byte {
	dst = append(dst, magic...)
	dst = append(dst, headerFormat, byte(len(h.Role)))
	dst = append(dst, h.Role...)
	dst = binary.BigEndian.AppendUint16(dst, h.Schema)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.WrappedKey)))
	return append(dst, h.WrappedKey...)
}

// ParseHeader parses a header record. Anything but the exact encoding
// Append writes is ErrCorrupt; a format this package does not know is
// ErrSchema.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < len(magic)+2 || string(b[:len(magic)]) != magic {
		return h, fmt.Errorf("%w: not a state header", ErrCorrupt)
	}
	b = b[len(magic):]
	if b[0] != headerFormat {
		return h, fmt.Errorf("%w: header format %d", ErrSchema, b[0])
	}
	n := int(b[1])
	b = b[2:]
	if n == 0 || n > maxRoleLength || len(b) < n+4 {
		return h, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	h.Role = string(b[:n])
	b = b[n:]
	h.Schema = binary.BigEndian.Uint16(b)
	m := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	if m == 0 || m > MaxWrappedKey || len(b) != m {
		return h, fmt.Errorf("%w: wrapped key of %d bytes in %d", ErrCorrupt, m, len(b))
	}
	h.WrappedKey = bytes.Clone(b)
	return h, nil
}

// Box seals and opens the records of one section with its data key. It is
// safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	// ad is the additional data every record binds before its name:
	// role ‖ 00 ‖ schema.
	ad []byte
}

// keyAD is the additional data of the wrapped data key.
func keyAD(role string, schema uint16) []byte {
	ad := append([]byte("opencarkey data key\x00"), role...)
	ad = append(ad, 0)
	return binary.BigEndian.AppendUint16(ad, schema)
}

func newBox(dataKey []byte, role string, schema uint16) (*Box, error) {
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	ad := append([]byte(role), 0)
	return &Box{aead: aead, ad: binary.BigEndian.AppendUint16(ad, schema)}, nil
}

// NewBox creates the data key of a new section for role at schema, wraps
// it with kek and returns the box and the header to store.
func NewBox(kek KEK, role string, schema uint16) (*Box, *Header, error) {
	if kek == nil {
		return nil, nil, errors.New("seal: no key-encryption key")
	}
	if len(role) == 0 || len(role) > maxRoleLength {
		return nil, nil, fmt.Errorf("seal: role name of %d bytes", len(role))
	}
	var dk [DataKeySize]byte
	defer clear(dk[:])
	if _, err := rand.Read(dk[:]); err != nil {
		return nil, nil, fmt.Errorf("seal: data key: %w", err)
	}
	wrapped, err := kek.WrapKey(dk[:], keyAD(role, schema))
	if err != nil {
		return nil, nil, fmt.Errorf("seal: wrapping the data key: %w", err)
	}
	if len(wrapped) == 0 || len(wrapped) > MaxWrappedKey {
		return nil, nil, fmt.Errorf("seal: wrapped data key of %d bytes", len(wrapped))
	}
	b, err := newBox(dk[:], role, schema)
	if err != nil {
		return nil, nil, err
	}
	return b, &Header{Role: role, Schema: schema, WrappedKey: wrapped}, nil
}

// OpenBox unwraps the data key of h, a header of role, with kek. A header
// of another role or of a schema other than schema is ErrSchema; a key
// that kek does not unwrap is ErrKEK.
func OpenBox(kek KEK, h *Header, role string, schema uint16) (*Box, error) {
	if kek == nil {
		return nil, errors.New("seal: no key-encryption key")
	}
	if h.Role != role {
		return nil, fmt.Errorf("%w: state of %q, not %q", ErrSchema, h.Role, role)
	}
	if h.Schema != schema {
		return nil, fmt.Errorf("%w: %s state of schema %d, this version reads %d", ErrSchema, role, h.Schema, schema)
	}
	dk, err := kek.UnwrapKey(h.WrappedKey, keyAD(role, schema))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKEK, err)
	}
	defer clear(dk)
	if len(dk) != DataKeySize {
		return nil, fmt.Errorf("%w: data key of %d bytes", ErrKEK, len(dk))
	}
	return newBox(dk, role, schema)
}

// recordAD returns the additional data of the record name.
func (b *Box) recordAD(name []byte) []byte {
	ad := make([]byte, 0, len(b.ad)+1+len(name))
	ad = append(ad, b.ad...)
	ad = append(ad, 0)
	return append(ad, name...)
}

// Seal appends the sealed form of the record name holding plaintext to dst.
func (b *Box) Seal(dst, name, plaintext []byte) ([]byte, error) {
	return sealGCM(b.aead, dst, plaintext, b.recordAD(name))
}

// Open appends the plaintext of the sealed record name to dst. A record
// that does not open (damaged, or sealed under another name, section or
// key) is ErrCorrupt.
func (b *Box) Open(dst, name, sealed []byte) ([]byte, error) {
	out, err := openGCM(b.aead, dst, sealed, b.recordAD(name))
	if err != nil {
		return nil, fmt.Errorf("%w: record %q does not open", ErrCorrupt, name)
	}
	return out, nil
}

// String returns a fixed text: the data key is never printed.
func (b *Box) String() string { return "seal.Box{redacted}" }

// GoString is String.
func (b *Box) GoString() string { return b.String() }

// Format prints String for every verb.
func (b *Box) Format(f fmt.State, _ rune) { fmt.Fprint(f, b.String()) }
