package spake2plus

import (
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// ScryptParams are the scrypt cost parameters of the CCC password derivation,
// as the vehicle sends them in SPAKE2+ REQUEST (tag 7F50: C1 is N on 4 bytes,
// C2 is r and C3 is p on 2 bytes each; docs/protocol.md §3.2).
type ScryptParams struct {
	N uint32 // CPU and memory cost, a power of two
	R uint16 // block size
	P uint16 // parallelization
}

// Limits on ScryptParams. The parameters come from the vehicle, so a device
// that took them unchecked would let any reader make it allocate gigabytes or
// spin for minutes. No public source gives normative values (docs/protocol.md
// §3.2); these are the project's and leave room above every default seen:
// RFC 9383's 32768/8/1, [MERS]'s 4096/8/1 and 16384/8/1.
const (
	MinScryptN      = 1 << minScryptLogN
	MaxScryptN      = 1 << maxScryptLogN
	MaxScryptR      = 32
	MaxScryptP      = 16
	MaxScryptMemory = 256 << 20 // bound on 128·N·r·p, in bytes

	minScryptLogN = 10
	maxScryptLogN = 20
)

// DefaultScryptParams returns the parameters a vehicle OEM should use absent
// a better reason: N = 32768, r = 8, p = 1, which RFC 9383 §3.2 recommends
// for scrypt "absent an application-specific profile" (the CCC profile's
// values are not public). They need 32 MiB and about 0.1 s.
func DefaultScryptParams() ScryptParams {
	return ScryptParams{N: 32768, R: 8, P: 1}
}

// Validate checks p against the limits: N a power of two in
// [MinScryptN, MaxScryptN], r in [1, MaxScryptR], p in [1, MaxScryptP], and
// 128·N·r·p at most MaxScryptMemory. 128·N·r is the memory scrypt takes and
// the product with p bounds its running time. It returns a
// *ScryptParamsError naming the first parameter out of range.
func (p ScryptParams) Validate() error {
	switch {
	case p.N < MinScryptN || p.N > MaxScryptN || p.N&(p.N-1) != 0:
		return &ScryptParamsError{Params: p, Field: "N"}
	case p.R < 1 || p.R > MaxScryptR:
		return &ScryptParamsError{Params: p, Field: "r"}
	case p.P < 1 || p.P > MaxScryptP:
		return &ScryptParamsError{Params: p, Field: "p"}
	case 128*uint64(p.N)*uint64(p.R)*uint64(p.P) > MaxScryptMemory:
		return &ScryptParamsError{Params: p, Field: "memory"}
	}
	return nil
}

// DeriveCCCSecret derives the prover secret of the CCC profile from the
// pairing password and the salt and parameters the vehicle sent
// (docs/protocol.md §3.3, CCC TS Listing 18-1 via [MERS]):
//
//	z  = scrypt(password, salt, N, r, p, dkLen = 80)
//	w0 = (OS2IP(z[0:40]) mod (n−1)) + 1
//	w1 = (OS2IP(z[40:80]) mod (n−1)) + 1
//
// The reduction runs in constant time. Parameters outside the limits of
// ScryptParams.Validate return a *ScryptParamsError before any work. The
// vehicle OEM server derives the same secret and gives the vehicle only its
// Record.
//
// The password is used as given: its encoding (the pairing code's
// characters, as bytes) is the caller's. scrypt's own working memory is
// left to the garbage collector; x/crypto offers no way to erase it.
func DeriveCCCSecret(password, salt []byte, params ScryptParams) (*ProverSecret, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	out, err := scrypt.Key(password, salt, int(params.N), int(params.R), int(params.P), 2*wideScalarSize)
	if err != nil {
		return nil, fmt.Errorf("spake2plus: %w", err) // unreachable: Validate is stricter than scrypt
	}
	z := [2 * wideScalarSize]byte(out)
	clear(out)
	s := newCCCProverSecret(&z)
	clear(z[:])
	return s, nil
}
