// Package securemsg implements the SCP03-style secure channel of the Digital
// Key applet: the pairing channel of docs/protocol.md §3.4 and the secure
// messaging after AUTH1 of docs/protocol.md §4.7, which are the same
// construction. It protects and unprotects APDU data fields; building the
// APDU around them (CLA 84, INS, P1, P2, Lc, Le, SW) is the caller's job.
//
// # Roles
//
// A [Sender] is the command sender (the vehicle): [Sender.ProtectCommand]
// and [Sender.UnprotectResponse]. A [Receiver] is the command receiver (the
// endpoint applet, or the device during pairing): [Receiver.UnprotectCommand]
// and [Receiver.ProtectResponse]. Both are append-style: the output is
// appended to dst, which may alias the input (the input is copied before it
// is transformed).
//
// # Construction (byte-exact; docs/protocol.md §4.7, GP SCP03 §6.2.6/6.2.7)
//
//   - Keys: Kenc, Kmac, Krmac, AES-128 ([Keys]).
//   - Data: ISO/IEC 9797-1 padding method 2 (80 then 00s to a multiple of 16),
//     always applied, then AES-128-CBC under Kenc. An empty data field is sent
//     empty: no ciphertext, only the MAC.
//   - Command ICV = AES-ECB(Kenc, 00×15 ‖ ctr); response ICV =
//     AES-ECB(Kenc, 80 ‖ 00×14 ‖ ctr), with the ctr of the command answered.
//   - C-MAC = AES-CMAC(Kmac, chain ‖ ciphertext). Its first 8 bytes follow the
//     ciphertext; chain becomes the full 16 bytes. chain starts as 16 zero
//     bytes.
//   - R-MAC = AES-CMAC(Krmac, chain ‖ ciphertext), chain being the C-MAC of
//     the command answered (16 zero bytes for the initial response); its first
//     8 bytes follow the ciphertext. A response does not update chain.
//   - The APDU header, Lc, Le and the status word are not MACed (unlike full
//     SCP03).
//
// # Counter model
//
// ctr is one byte. Each command increments it before use, so the first
// command uses 01. A response uses the ctr and chain of the command it
// answers, and a command gets at most one response; a command may also get
// none (an error status word carries no R-MAC), and the next command follows.
// How a channel starts is its [Flow]:
//
//   - [CommandFirst]: the first protected message is a command with ctr 01.
//     This is the pairing channel (§3.4) and, by project choice (below), the
//     channel after a fast transaction.
//   - [InitialResponse]: before the first command the receiver may send one
//     response at ctr 00 with the zero chain: the AUTH1 response of a standard
//     transaction (§4.7). Once a command has been sent or received, the
//     initial response can no longer be sent or accepted.
//
// The command after ctr FF fails with [ErrCounterExhausted]: the counter never
// wraps (docs/protocol.md §11 item 9: GP caps it at FF; behaviour past it is
// undefined, and aborting is safe). The response to the command at FF still
// works.
//
// # Project choice: the channel after a fast transaction
//
// No public source says which counter and chain an EXCHANGE after a fast
// AUTH0 uses (docs/protocol.md §11, first bullet; the Home Key reader never sends
// one). The SDK uses the keys of the fast derivation (§4.5) with
// [CommandFirst]: no initial response (a fast transaction has no AUTH1), the
// first EXCHANGE command at ctr 01, and the zero initial chain. Both roles of
// this SDK follow that choice; interoperability with other implementations is
// untested.
//
// # Failures
//
// A wrong MAC, a message shorter than a MAC or longer than [MaxMessageSize],
// a ciphertext that is not a whole number of blocks, and bad padding after a
// good MAC all return the same [ErrAuthentication], with nothing more said,
// and kill the channel: the keys and chain are erased and every later call, in
// either direction, returns [ErrBroken]. MACs are compared in constant time.
// Errors that depend only on the caller's own use ([ErrNoCommand],
// [ErrTooLarge], [ErrCounterExhausted]) leave the channel as it was.
//
// # Sizes
//
// An extended Lc carries at most 65535 bytes, so a protected data field is at
// most [MaxMessageSize] = 65528 bytes (4095 blocks of ciphertext and the MAC)
// and a plaintext at most [MaxPlaintextSize] = 65519 bytes; longer plaintexts
// are refused with [ErrTooLarge]. With short APDUs (Lc ≤ 255) the plaintext
// limit is 239 bytes; that is the caller's framing decision.
// [ProtectedSize] gives the protected size of a plaintext.
//
// # Allocation, secrets and concurrency
//
// [Sender.Init] and [Receiver.Init] (and the New functions) allocate: the
// standard library offers no way to hold an AES key schedule in a caller's
// struct, so each Init creates three AES ciphers, two CBC modes and two CMACs.
// Init does not keep the raw keys; the caller should clear its [Keys]. In
// steady state protecting and unprotecting allocate nothing when dst has room.
// Close (and any authentication failure) zeroizes the chain and the scratch
// buffers and drops the ciphers; the round keys inside crypto/aes cannot be
// erased from outside the standard library. [Keys], [Sender] and
// [Receiver] redact themselves in String, GoString and Format, for every
// verb: no key byte is ever formatted. A channel is a sequence of messages
// and is not safe for concurrent use.
package securemsg
