// Package wycheproof runs the Wycheproof test vectors against the SDK's
// cryptographic building blocks. It has no code, only tests.
//
// It lives in the nested module github.com/opencarkey/sdk/conformance, which
// tests this tree (its go.mod replaces the SDK with ../), so that the SDK's
// own go.mod never requires github.com/c2sp/wycheproof: that module embeds
// about 100 MB of vectors and asks for a later Go 1.26 patch release than
// the SDK does (docs/design.md, Test vectors). Its import path lies below the
// SDK's, so the go command lets it import the SDK's internal packages. Run
// it from the conformance directory: go test ./...
//
// # Files and what they test
//
//   - aes_cmac_test.json: internal/cmac (New, Sum, Verify). The protocol uses
//     AES-128 and AES-256 keys only (docs/protocol.md §4.7, §8.5), so every vector
//     with another key size, AES-192 included, must be refused by cmac.New
//     with cmac.ErrKeySize, whatever its result; the tests count them.
//   - ecdh_secp256r1_ecpoint_test.json: dkey.ParsePublicKey on the peer's
//     point, then both dkey.SoftwareKey.ECDH and crypto/ecdh on the result
//     (docs/protocol.md §0, §4.4: points travel as 65-byte uncompressed SEC 1),
//     and the allocation-free internal/ecdhe that the transactions use on
//     every ephemeral key, which must accept and refuse the same points.
//   - ecdsa_secp256r1_sha256_p1363_test.json: dkey.ParseSignature on the raw
//     r ‖ s and dkey.PublicKey.Verify (docs/protocol.md §0: signatures on the wire
//     are raw r ‖ s, 64 bytes).
//   - hkdf_sha256_test.json: crypto/hkdf.Key with SHA-256, called as the key
//     schedule calls it (docs/protocol.md §4.4, §4.5), including "salt = none".
//   - aes_gcm_test.json: the AES-GCM of internal/gcmchannel, the ISO/IEC
//     18013-5 §9.1.1.5 channel that package transaction uses for Aliro and
//     package mdoc for the Home Key attestation exchange and the Aliro
//     step-up phase. Only what the channel does is run: 12-byte IVs,
//     16-byte tags, AES-128 and AES-256 keys, no additional data (97 of 316
//     vectors); AES-192 keys must be refused by gcmchannel with
//     ErrKeySize; other IV sizes and vectors with additional data are
//     counted, not run. gcmchannel builds its IVs from a direction and a
//     counter, so a vector's IV cannot reach it: each vector runs through
//     crypto/cipher built as gcmchannel builds it, then gcmchannel's first
//     reader message under the vector's key must equal that AES-GCM with
//     IV 00…00 00000001, and each ModifiedTag vector's tag change, applied
//     to that message, must make gcmchannel return ErrAuthentication.
//     internal/seal (AES-256-GCM of stored state, with additional data)
//     and the HPKE of package sharing (crypto/hpke) also use AES-GCM
//     through the standard library; they are not run here (internal/seal
//     imports the CBOR module, which this module does not require).
//
// # "acceptable" vectors
//
// Each test says, next to the code that handles them, what it does with
// Wycheproof's "acceptable" results and why. In short: a compressed ECDH
// public key (the only acceptable vector of the ECDH file) is rejected,
// because the protocol carries uncompressed points only; the CMAC, AES-GCM,
// ECDSA and HKDF files have no acceptable vectors, and the tests fail if a new version
// adds some, so that someone decides.
package wycheproof
