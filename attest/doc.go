// Package attest creates and verifies the signed statements of the Digital
// Key system: key attestations (sharing, docs/protocol.md §6.2), termination
// attestations (docs/protocol.md §7) and key tracking receipts (docs/protocol.md §6.5).
//
// # What is public
//
// The CCC specification says who signs what: the owner's endpoint key signs
// a friend's endpoint public key together with its entitlements, and the
// vehicle accepts the friend key by checking that signature against the
// owner key it enrolled at pairing; the automaker's key tracking service
// returns a signed receipt that the device hands to the vehicle; a key
// deleted on a device stops working, and a signed statement of the deletion
// lets the vehicle and the servers trust it. The byte formats are not public
// (docs/protocol.md §6.2, §6.5, §11 item 8). The formats below are therefore the
// project's, and provisional: they will change if the real ones become
// known, and the version field of every payload allows it.
//
// # Envelope
//
// Every statement is a COSE_Sign1_Tagged (RFC 9052 §4.2, CBOR tag 18):
//
//	statement = #6.18([
//	  protected:   bstr .cbor protected-header,
//	  unprotected: {},                ; always empty
//	  payload:     bstr .cbor payload, ; never detached
//	  signature:   bstr .size 64,      ; ES256: raw r‖s, r and s in [1, n-1]
//	])
//	protected-header = {
//	  1 => -7,           ; alg: ES256 (ECDSA P-256 with SHA-256, RFC 9053)
//	  3 => tstr,         ; content type: the statement kind, see below
//	  ? 4 => bstr .size (1..8), ; kid: the signer's key slot; present in key
//	                            ; and termination attestations, absent in receipts
//	}
//
// The signature covers the Sig_structure of RFC 9052 §4.4, context
// "Signature1", with an empty external_aad: everything the vehicle needs
// is inside the signed bytes. The content types, in the signed protected
// header, separate the kinds, so a statement of one kind never verifies as
// another:
//
//	application/vnd.opencarkey.key-attestation+cbor
//	application/vnd.opencarkey.termination-attestation+cbor
//	application/vnd.opencarkey.tracking-receipt+cbor
//
// # Payloads
//
// Payloads are closed maps with integer keys. Times are whole seconds since
// the Unix epoch (not tag 1), up to 9999-12-31; identifiers are 16 random
// bytes; key hashes are SHA-256 over the 65-byte uncompressed point.
//
//	key-attestation = {
//	  1 => 1,                      ; format version
//	  2 => bstr .size 16,          ; id
//	  3 => bstr .size (8 / 16),    ; vehicle identifier
//	  4 => bstr .size 65,          ; friend endpoint public key, 04‖X‖Y
//	  5 => bstr .size (1..8),      ; friend key slot
//	  6 => uint .size 4,           ; entitlements (dkey.Entitlements bits, known bits only, not 0)
//	  ? 7 => uint .size 2,         ; speed limit in km/h; absent means none (never 0)
//	  8 => uint,                   ; notBefore, inclusive
//	  9 => uint,                   ; notAfter, inclusive
//	  10 => uint,                  ; issued at
//	}                              ; signer: kid = the signer's key slot
//
//	termination-attestation = {
//	  1 => 1,                      ; format version
//	  2 => bstr .size 16,          ; id
//	  3 => bstr .size (8 / 16),    ; vehicle identifier
//	  4 => bstr .size (1..8),      ; terminated key slot
//	  5 => bstr .size 32,          ; SHA-256 of the terminated public key
//	  6 => uint,                   ; terminated at
//	}                              ; signer: kid = the terminated slot, or a key with EntitleManage
//
//	tracking-receipt = {
//	  1 => 1,                      ; format version
//	  2 => bstr .size 16,          ; receipt id
//	  3 => bstr .size (8 / 16),    ; vehicle identifier
//	  4 => bstr .size (1..8),      ; key slot
//	  5 => bstr .size 32,          ; SHA-256 of the endpoint public key
//	  6 => uint,                   ; registered at
//	}                              ; signer: a tracking service key, no kid
//
// # Strict encoding
//
// Statements are encoded with fxamacker/cbor in Core Deterministic Encoding
// (RFC 8949 §4.2.1) and decoded in strict mode: duplicate map keys,
// indefinite lengths, tags other than the outer 18, unknown map keys, invalid
// UTF-8 and floats are rejected, and nesting, array and map sizes are bounded;
// a statement is at most MaxStatementSize bytes. On top of that, the
// envelope, the protected header and the payload must each be byte for byte
// what the encoder writes, so each statement has one encoding: that rejects
// non-minimal heads, keys out of order, missing fields and optional fields
// present with their zero value.
//
// # Verification
//
// [VerifyKeyAttestation], [VerifyTerminationAttestation] and
// [VerifyTrackingReceipt] run an ordered checklist and return a
// [*VerifyError] naming the failed [Step]: parse the envelope; find the
// signer by kid among the keys the verifier enrolled ([Signer]); check the
// signature (one opaque [ErrBadSignature]); only then decode the payload;
// check that the signer may make the statement, that the statement names the
// verifying vehicle, that the current time ([VerifyOptions].Time) is within
// the validity window, and that the granted access profile and the validity
// window are within the signer's own ([Signer.CheckGrant]).
//
// A key attestation is signed by a key holding dkey.EntitleShare (the owner,
// or a friend allowed to re-share). A termination attestation is signed
// either by the deleted key itself, just before the secure element deletes
// it (kid equals the terminated slot, and the key hash must be that of the
// enrolled key in that slot), or by a key holding dkey.EntitleManage; it has
// no time check, so that a clock difference never keeps a deleted key alive.
// A tracking receipt is signed by one of the tracking service keys the
// verifier configured. Each statement carries a random ID; recording IDs to
// refuse replays is the caller's job.
//
// # Where the project chose
//
// Besides the formats: the public sources say that a friend may share only
// within what it holds, not how validity is bounded. A key attestation's
// window must lie within its signer's own ([Signer] NotBefore and NotAfter,
// ErrOutsideSignerValidity), as its profile must lie within the signer's
// grant, so that along a chain of re-sharing (owner → friend entitled to
// share → its friend ...) no key outlives, or precedes, a key above it.
package attest
