// Package kdf implements the two key-derivation functions of the protocol
// that the standard library lacks: the ANSI X9.63 KDF with SHA-256 and the
// NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF.
//
// HKDF, the third KDF of the protocol, is crypto/hkdf; this package does not
// reimplement it.
//
// # X9.63 (docs/protocol.md §4.4)
//
// The standard transaction derives Kdh = X9.63-KDF-SHA256(Z, SharedInfo =
// transaction_identifier, 32 bytes), then feeds Kdh to HKDF. [X963]
// computes SEC 1 §3.6.1 / ANSI X9.63-2001 §5.6.3: the concatenation of
// SHA-256(Z ‖ counter ‖ SharedInfo) for counter = 1, 2, … as 32-bit
// big-endian values, truncated to the requested size. For 32 bytes that is
// the single block SHA-256(Z ‖ 00000001 ‖ SharedInfo).
//
// # SP 800-108 counter mode (docs/protocol.md §8.5)
//
// The UWB key schedule derives mUPSK, mURSK, URSK_KT, dURSK and dUDSK with
// KDF(K, label, context, L) = PRF(K, [i]32 ‖ label ‖ 00 ‖ context ‖ [L]32)
// for i = 1, 2, …, the blocks concatenated and truncated to L bits: NIST SP
// 800-108r1 §4.1 with r = 32, the counter before the fixed input data, and
// the fixed input data of SP 800-108r1 §5 (label, a zero byte, context, and L
// in bits as 32 bits). The PRF is AES-CMAC; the source ([QRV], citing TS
// §22.1) uses AES-256 keys (URSK is 32 bytes), and AES-128 keys work the
// same. [CounterMode] builds the fixed input data; [CounterModeFixed] takes
// it ready-made, as the NIST CAVP vectors give it.
//
// # Allocation and secrets
//
// All functions append to dst and allocate nothing when dst has room for the
// output. The PRF is a [cmac.CMAC] the caller created once (cmac.New
// allocates the AES key schedule). Intermediate blocks are cleared from the
// stack frames of this package; the internal state of crypto/sha256 and of
// the AES key schedule cannot be erased from outside the standard library.
package kdf
