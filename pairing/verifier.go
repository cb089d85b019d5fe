package pairing

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/internal/spake2plus"
)

// ScryptParams are the scrypt cost parameters with which the pairing password
// is stretched (docs/protocol.md §3.3). The vehicle OEM server chooses them when it
// creates the verifier; the vehicle sends them in SPAKE2+ REQUEST (tag 7F50:
// C1 is N on 4 bytes, C2 is r and C3 is p on 2 bytes each, §3.2).
type ScryptParams struct {
	N uint32 // CPU and memory cost, a power of two
	R uint16 // block size
	P uint16 // parallelization
}

// Limits on ScryptParams, which the device checks before it derives anything
// with parameters a vehicle sent: N is a power of two from MinScryptN to
// MaxScryptN, r at most MaxScryptR, p at most MaxScryptP, and the memory
// 128·N·r·p at most MaxScryptMemory bytes. No public source gives normative
// values; these are the project's (package internal/spake2plus).
const (
	MinScryptN      = 1 << 10
	MaxScryptN      = 1 << 20
	MaxScryptR      = 32
	MaxScryptP      = 16
	MaxScryptMemory = 256 << 20
)

// The limits are package internal/spake2plus's, which enforces them.
const (
	_ = uint(MinScryptN-spake2plus.MinScryptN) + uint(spake2plus.MinScryptN-MinScryptN)
	_ = uint(MaxScryptN-spake2plus.MaxScryptN) + uint(spake2plus.MaxScryptN-MaxScryptN)
	_ = uint(MaxScryptR-spake2plus.MaxScryptR) + uint(spake2plus.MaxScryptR-MaxScryptR)
	_ = uint(MaxScryptP-spake2plus.MaxScryptP) + uint(spake2plus.MaxScryptP-MaxScryptP)
	_ = uint(MaxScryptMemory-spake2plus.MaxScryptMemory) + uint(spake2plus.MaxScryptMemory-MaxScryptMemory)
	_ = uint(VerifierSize-1-SaltSize-8-spake2plus.VerifierRecordSize) + uint(1+SaltSize+8+spake2plus.VerifierRecordSize-VerifierSize)
)

// DefaultScryptParams returns N = 32768, r = 8, p = 1, which RFC 9383 §3.2
// recommends absent an application profile (the CCC values are not public).
// Deriving with them takes 32 MiB and about 0.1 s.
func DefaultScryptParams() ScryptParams {
	d := spake2plus.DefaultScryptParams()
	return ScryptParams{N: d.N, R: d.R, P: d.P}
}

func (p ScryptParams) internal() spake2plus.ScryptParams {
	return spake2plus.ScryptParams{N: p.N, R: p.R, P: p.P}
}

// Validate checks p against the limits above. The error wraps ErrParameters
// and names the first parameter out of range.
func (p ScryptParams) Validate() error {
	if err := p.internal().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrParameters, err)
	}
	return nil
}

// SaltSize is the size of the scrypt salt (SPAKE2+ REQUEST tag C0).
const SaltSize = 16

// VerifierSize is the length of an encoded Verifier.
// It is 1 + SaltSize + 8 + 32 + 65: a format byte, the salt, the scrypt
// parameters, w0 and L.
const VerifierSize = 122

// verifierFormat is the first byte of an encoded Verifier.
const verifierFormat = 0x01

// Verifier is what the vehicle holds to pair with its owner: the SPAKE2+
// verifier record (w0 and L = w1·G) with the salt and scrypt parameters that
// produced it, never the password (docs/protocol.md §3.1 phase 0, §3.3). The
// vehicle OEM server creates it with NewVerifier, gives the password to the
// owner and installs the verifier in the vehicle.
//
// A Verifier is immutable until Zeroize and safe for concurrent use. Its
// encoding holds the secret w0: whoever holds it can run a dictionary attack
// on the password, so store and move it as a secret.
type Verifier struct {
	salt   [SaltSize]byte
	params ScryptParams
	record *spake2plus.VerifierRecord
}

// NewVerifier derives the verifier of password with salt, which must be
// SaltSize bytes drawn from crypto/rand for each new password, and params.
// The password is used as given: its encoding (the pairing code's characters,
// as bytes) is the caller's, and the device must use the same.
func NewVerifier(password, salt []byte, params ScryptParams) (*Verifier, error) {
	if len(salt) != SaltSize {
		return nil, fmt.Errorf("%w: salt of %d bytes, want %d", ErrParameters, len(salt), SaltSize)
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	secret, err := spake2plus.DeriveCCCSecret(password, salt, params.internal())
	if err != nil {
		return nil, fmt.Errorf("pairing: deriving the verifier: %w", err)
	}
	v := &Verifier{params: params, record: secret.Record()}
	secret.Zeroize()
	copy(v.salt[:], salt)
	return v, nil
}

// ParseVerifier decodes a verifier encoded by AppendBinary. It does not keep
// b.
//
//	01 ‖ salt (16) ‖ N (4) ‖ r (2) ‖ p (2) ‖ w0 (32) ‖ L (65, uncompressed)
func ParseVerifier(b []byte) (*Verifier, error) {
	if len(b) != VerifierSize || b[0] != verifierFormat {
		return nil, errors.New("pairing: malformed verifier")
	}
	v := &Verifier{}
	b = b[1:]
	copy(v.salt[:], b)
	b = b[SaltSize:]
	v.params = ScryptParams{N: binary.BigEndian.Uint32(b), R: binary.BigEndian.Uint16(b[4:]), P: binary.BigEndian.Uint16(b[6:])}
	if err := v.params.Validate(); err != nil {
		return nil, fmt.Errorf("pairing: malformed verifier: %w", err)
	}
	rec, err := spake2plus.ParseVerifierRecord(b[8:])
	if err != nil {
		return nil, fmt.Errorf("pairing: malformed verifier: %w", err)
	}
	v.record = rec
	return v, nil
}

// AppendBinary appends the encoding of v (VerifierSize bytes) to dst. The
// error is that of a zeroized verifier.
func (v *Verifier) AppendBinary(dst []byte) ([]byte, error) {
	if v.record == nil {
		return dst, errZeroizedVerifier
	}
	dst = append(dst, verifierFormat)
	dst = append(dst, v.salt[:]...)
	dst = binary.BigEndian.AppendUint32(dst, v.params.N)
	dst = binary.BigEndian.AppendUint16(dst, v.params.R)
	dst = binary.BigEndian.AppendUint16(dst, v.params.P)
	return v.record.AppendBinary(dst)
}

// MarshalBinary returns the encoding of v.
func (v *Verifier) MarshalBinary() ([]byte, error) {
	return v.AppendBinary(make([]byte, 0, VerifierSize))
}

// Params returns the scrypt parameters of v.
func (v *Verifier) Params() ScryptParams { return v.params }

// Equal reports whether v and o are the same verifier, in constant time for
// the secret part.
func (v *Verifier) Equal(o *Verifier) bool {
	if v.record == nil || o.record == nil {
		return false
	}
	return v.params == o.params && subtle.ConstantTimeCompare(v.salt[:], o.salt[:]) == 1 && v.record.Equal(o.record)
}

// Zeroize erases w0 and L. The verifier must not be used afterwards.
func (v *Verifier) Zeroize() {
	if v.record != nil {
		v.record.Zeroize()
		v.record = nil
	}
}
