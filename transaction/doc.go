// Package transaction implements Digital Key transactions, both roles, sans
// I/O: the exchange by which a phone or watch held to a door handle unlocks,
// locks or starts a vehicle, offline (PROTOCOL.md §4).
//
// The vehicle side is a [VehicleSession] created from a [Vehicle]; the
// endpoint side (the applet in the device's secure element) is an
// [EndpointSession]. Sessions build and read APDU data; they never do I/O.
// Package vehicle drives a VehicleSession over a transport.Transceiver with
// the vehicle's key store and policy, and package device answers APDUs with
// an EndpointSession, the device's keys and its policy.
//
// # The protocol
//
//	Vehicle                                      Endpoint
//	SELECT applet AID             ─────────────▶
//	                              ◀─────────────  5C versions
//	AUTH0 P1 flags, P2 action:
//	  5C version, 87 vehicle_ePK, 4C txid, 4D vehicle_id ─▶
//	                              ◀─────────────  86 endpoint_ePK [9D cryptogram]
//	fast:     the vehicle finds the enrolled key whose Kpersistent
//	          reproduces the cryptogram; done.
//	standard: AUTH1 9E vehicle signature ─────▶
//	                              ◀─────────────  SM{4E slot, 9E endpoint signature, [4A], [4B]}
//	EXCHANGE (mailbox operations under secure messaging)*
//	CONTROL FLOW P1 P2 (outcome, in clear)
//
// AUTH1 signatures are ECDSA P-256 over the BER-TLV encoding of 4D
// vehicle_identifier, 86 endpoint_ePK.x, 87 vehicle_ePK.x, 4C
// transaction_identifier and 93 usage (41 5D 95 69 for the vehicle, 4E 88 7B
// 4C for the endpoint). The standard key schedule is ECDH on the ephemeral
// keys, Kdh = X9.63-KDF-SHA256(Z, transaction_identifier), then HKDF-SHA256
// without salt with the info of §4.4 for the secure-messaging keys Kenc,
// Kmac, Krmac (and, in the CCC profile, the UWB ranging key URSK) and for
// Kpersistent, which replaces the stored one after every standard
// transaction. The fast cryptogram and its session keys come from HKDF over
// Kpersistent (§4.5). Secure messaging is package internal/securemsg.
//
// # Profiles
//
// [dkey.CCC] and [dkey.HomeKey] share the flow and differ in the vehicle
// identifier (8 or 16 bytes), the versions (1.0; 2.0 and 1.0), the
// endpoint's version list bound into the key derivation (Home Key 2.0 only)
// and the fast cryptogram. The Home Key profile is byte-exact: the tests check
// the key schedule, the AUTH1 response, the AUTH0 and AUTH1 commands and both
// signature layouts against public vectors and recorded iPhone and Apple
// Watch transactions (internal/testvec).
//
// # Where the project chose
//
// The CCC specification is not public (PROTOCOL.md §11). The choices, each
// commented where it is made:
//
//   - The CCC 1.0 fast cryptogram (§11 item 1): hypothesis (a) of §4.5, the
//     Home Key derivation with the 8-byte vehicle identifier and without the
//     endpoint's version list; see transcript.appendFastInfo. Engine start
//     and first friend transactions always run a standard transaction.
//   - URSK = Volatile[48:80] of an 80-byte derivation in the CCC profile
//     (§11 item 14).
//   - The EXCHANGE operation encoding (§11 item 3): see exchange.go; the
//     operations of one command apply atomically.
//   - The secure channel after a fast transaction (§11, first bullet): the
//     fast keys, first command at counter 01 (package internal/securemsg).
//   - The interface byte is 5E (NFC, verified); other interfaces pass their
//     own through the configuration (§11 item 7).
//   - A Home Key vehicle speaks 2.0 alone unless VehicleConfig.Versions
//     lists 1.0 too (dkey.Profile.VehicleVersions): the endpoint's version
//     list enters the key derivation at 2.0 only (§4.4), so at 1.0 nothing
//     authenticates the SELECT response, and a relay that strips 2.0 from
//     it would downgrade a reader that accepts 1.0. Endpoints still offer
//     2.0 and 1.0, as iPhones do.
//   - Secrets never print: PersistentKey, RangingKey (URSK, behind the
//     sessions' RangingKey accessors and its Bytes method), FastKey,
//     Credential, Auth1Result (whose confidential subset may hold an
//     immobilizer token) and both sessions redact themselves in String,
//     GoString and Format, for every verb. fmt bypasses every method for
//     %p of a non-pointer and %w of a non-error, which go vet reports.
//
// # Key log
//
// For test benches only, [VehicleConfig].KeyLog and [EndpointConfig].KeyLog
// name a writer that receives the keys of every session as they are derived,
// in the style of crypto/tls's KeyLogWriter, so that a recorded trace can be
// decrypted and its MACs checked (dkey trace decode -keylog). One Write per
// derivation, lines of "LABEL <transaction identifier> <key>" in lowercase
// hexadecimal, the transaction identifier being AUTH0's tag 4C:
//
//	TRANSACTION_KENC, TRANSACTION_KMAC, TRANSACTION_KRMAC   16 bytes  standard transaction (§4.4)
//	TRANSACTION_KPERSISTENT                                 32 bytes  the new Kpersistent
//	TRANSACTION_URSK                                        32 bytes  CCC profile only
//	FAST_KENC, FAST_KMAC, FAST_KRMAC                        16 bytes  fast derivation (§4.5)
//
// The standard lines come at ReadAuth1 (vehicle) and Auth1 (endpoint), the
// fast ones when the vehicle's FindFast matches and when the endpoint
// answers AUTH0 with a cryptogram. A transaction that authenticates fast and
// then runs AUTH1 logs both sets; its EXCHANGE commands use the standard
// keys. The full grammar is that of package internal/keylog, which pairing
// shares. Anyone who reads a key log can decrypt the sessions it covers and
// answer the next fast transaction: nil, the default, logs nothing.
//
// # Deterministic randomness
//
// [VehicleConfig].Rand and [EndpointConfig].Rand replace crypto/rand, for
// known-answer tests and conformance vectors only. The vehicle reads, per
// transaction, its ephemeral scalar and then the 16-byte transaction
// identifier; the endpoint reads its ephemeral scalar. Go 1.26's crypto/ecdh
// ignores a reader passed to GenerateKey, so the session draws the scalar
// itself (internal/ecdhe GenerateFrom): 32 bytes as a big-endian number,
// read again while it is 0 or not below the group order, which is also how
// the crypto/rand path draws it. A reader that yields the bytes crypto/rand
// would have yielded therefore gives the same wire bytes, and the
// repository's golden transcripts, recorded under
// testing/cryptotest.SetGlobalRandom, are reproduced byte for byte with it
// (golden_test.go). The ECDSA signatures of AUTH1 still draw their nonces
// from the process-wide source, which only cryptotest.SetGlobalRandom can
// fix. With Rand nil nothing changes on the wire.
//
// # Allocation
//
// Sessions own fixed buffers and are reused across transactions. A fast
// transaction, both sides, allocates nothing; see the benchmarks. The
// standard transaction costs what its public-key operations cost (ephemeral
// key generation, ECDH, one ECDSA signature and one verification per side)
// plus a few percent.
package transaction
