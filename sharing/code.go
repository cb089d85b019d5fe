package sharing

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Activation codes (doc.go, "Activation code").
const (
	// MinCodeBits is the entropy floor of an activation code: a code must
	// be one of at least 2^26 equally likely codes of its shape (length and
	// alphabet), so 8 digits (26.6 bits) or 6 letters and digits (31.0
	// bits). The owner's device checks the code online and accepts
	// MaxCodeAttempts wrong ones, so a holder of a forwarded link opens the
	// share with a chance below 3 in 10^8 per invitation.
	MinCodeBits = 26
	// MaxCodeLen bounds an activation code as typed, in bytes, separators
	// included.
	MaxCodeLen = 64
	// MaxCodeAttempts is how many answers carrying a wrong activation code
	// (or not opening for any other reason) an OwnerSession accepts; after
	// that it refuses every answer with ErrTooManyAttempts and the owner
	// cancels (CodeCancelledByOwner).
	MaxCodeAttempts = 3
)

// codeAlphabet is the alphabet of a normalized code, in the order in which
// a run (0123, ABCD) is detected.
const codeAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewActivationCode returns a new random activation code of 8 decimal
// digits, grouped as "1234-5678" for reading aloud: 26.6 bits, at the floor
// MinCodeBits. Randomness comes from crypto/rand. A code that happens to be
// a run or a repetition (about 1 in 10^7) is drawn again.
func NewActivationCode() (string, error) {
	for {
		var b [8]byte
		for i := range b {
			// Rejection sampling: 250 is the largest multiple of 10 below
			// 256, so every digit is equally likely.
			for {
				var r [1]byte
				if _, err := rand.Read(r[:]); err != nil {
					return "", fmt.Errorf("sharing: activation code: %w", err)
				}
				if r[0] < 250 {
					b[i] = '0' + r[0]%10
					break
				}
			}
		}
		code := string(b[:4]) + "-" + string(b[4:])
		if _, err := normalizeCode(code); err == nil {
			return code, nil
		}
	}
}

// CheckActivationCode reports whether code is acceptable as an activation
// code: at most MaxCodeLen bytes of ASCII letters, digits, spaces and
// hyphens, with at least MinCodeBits of entropy by its shape (digits only:
// 10 symbols per character; otherwise 36, letters being case-insensitive),
// and neither one repeated character nor a run such as 12345678 or ABCDEF.
// The error wraps ErrInvalidCode.
func CheckActivationCode(code string) error {
	_, err := normalizeCode(code)
	return err
}

// normalizeCode returns the code as it is hardened: separators (spaces and
// hyphens) removed, letters in upper case. "1234 5678", "1234-5678" and
// "12345678" are one code, and so are "k7q-2mx" and "K7Q2MX".
func normalizeCode(code string) (string, error) {
	if len(code) > MaxCodeLen {
		return "", fmt.Errorf("%w: more than %d bytes", ErrInvalidCode, MaxCodeLen)
	}
	var b strings.Builder
	digitsOnly := true
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == ' ' || c == '-':
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
			digitsOnly = false
		case c >= 'A' && c <= 'Z':
			digitsOnly = false
		default:
			return "", fmt.Errorf("%w: letters, digits, spaces and hyphens only", ErrInvalidCode)
		}
		b.WriteByte(c)
	}
	n := b.Len()
	symbols := 36.0
	if digitsOnly {
		symbols = 10
	}
	if float64(n)*math.Log2(symbols) < MinCodeBits {
		return "", fmt.Errorf("%w: %d characters carry fewer than %d bits", ErrInvalidCode, n, MinCodeBits)
	}
	s := b.String()
	if isRun(s) {
		return "", fmt.Errorf("%w: a repeated character or a run", ErrInvalidCode)
	}
	return s, nil
}

// isRun reports whether s, normalized, is one character repeated or a run
// up or down the alphabet: the first codes anyone tries.
func isRun(s string) bool {
	if len(s) < 2 {
		return true
	}
	step := strings.IndexByte(codeAlphabet, s[1]) - strings.IndexByte(codeAlphabet, s[0])
	if step < -1 || step > 1 {
		return false
	}
	for i := 2; i < len(s); i++ {
		if strings.IndexByte(codeAlphabet, s[i])-strings.IndexByte(codeAlphabet, s[i-1]) != step {
			return false
		}
	}
	return true
}

// appendCodeKey appends the 32-byte hardened activation code:
// scrypt(normalized code, SHA-256(codeLabel ‖ salt), N=2^15, r=8, p=1).
func appendCodeKey(dst []byte, code string, salt []byte) ([]byte, error) {
	norm, err := normalizeCode(code)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(codeLabel))
	h.Write(salt)
	k, err := scrypt.Key([]byte(norm), h.Sum(nil), codeN, codeR, codeP, 32)
	if err != nil {
		return nil, fmt.Errorf("sharing: activation code: %w", err)
	}
	dst = append(dst, k...)
	clear(k)
	return dst, nil
}
