// Package cmac implements AES-CMAC (NIST SP 800-38B, RFC 4493) for AES-128
// and AES-256 keys.
//
// The protocol uses CMAC in three places: the C-MAC and R-MAC of the
// SCP03-style secure channel (docs/protocol.md §3.4 and §4.7, AES-128, tags
// truncated to 8 bytes, the full 16-byte C-MAC chained into the next
// command), the PRF of the SP 800-108 counter-mode KDF of the UWB key schedule
// (docs/protocol.md §8.5, AES-256, see package kdf), and, by hypothesis, the CCC
// v1.0 fast cryptogram (docs/protocol.md §4.5). AES-192 keys are rejected: no part
// of the protocol uses them.
//
// # Use
//
// [New] expands the key once: it runs the AES key schedule and precomputes
// the subkeys K1 and K2 (SP 800-38B §6.1). That is the only allocation. After
// it, [CMAC.Sum], [CMAC.Sum2] and [CMAC.Verify] allocate nothing. Sum2 MACs
// the concatenation of two byte strings without copying them together, which
// is the shape of the secure-messaging input chain ‖ ciphertext.
// [CMAC.SetKey] rekeys a CMAC in place (a zero CMAC too), for keys that change
// with every message such as the per-round keys of the UWB key schedule; it
// costs the one allocation of the AES key schedule, which crypto/aes cannot
// expand into existing memory.
//
// A CMAC holds scratch state and is not safe for concurrent use, like a
// [hash.Hash]; create one per goroutine. [CMAC.Close] zeroizes the subkeys and
// the scratch state. The AES key schedule lives inside crypto/aes, which
// offers no way to erase it; Close drops the reference so that the garbage
// collector can reclaim it.
//
// # Tags
//
// A tag is [Size] bytes. [CMAC.Verify] compares in constant time and accepts
// tags truncated to between [MinTagSize] and [Size] bytes (SP 800-38B §7:
// truncation keeps the leftmost bytes; tags shorter than 64 bits need a
// separate risk analysis, so they are refused).
package cmac
