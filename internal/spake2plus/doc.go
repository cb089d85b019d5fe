// Package spake2plus implements SPAKE2+, the augmented password-authenticated
// key exchange of RFC 9383, on P-256 with SHA-256, HKDF-SHA256 and
// HMAC-SHA256, and the CCC Digital Key profile of it that owner pairing runs
// (docs/protocol.md §3.2 and §3.3).
//
// # Roles
//
// The prover knows the password, or rather the scalars w0 and w1 derived
// from it (ProverSecret). The verifier stores only the registration record
// w0 and L = w1·G (VerifierRecord), which does not let it impersonate the
// prover. In owner pairing the device is the prover and the vehicle the
// verifier; the vehicle OEM server derives the record and installs it, and
// the owner types the password into the device.
//
// Each run has one type per role, and each step of a run is a method that
// exists only on the phase it belongs to (RFC 9383 §3.3 and Appendix A):
//
//	prover:   NewProver(profile, secret) → Share() = X
//	verifier: NewVerifier(profile, record, X) → Share() = Y, Confirmation()
//	prover:   Finish(Y, confirmation) → (its confirmation, shared key)
//	verifier: Finish(prover's confirmation) → shared key
//
// Runs are single use: Finish erases the run's secrets, successful or not.
// Ephemeral scalars come from crypto/rand; the known-answer tests use
// unexported twins that take them as arguments.
//
// # Profiles
//
// RFC9383 is the RFC exactly, checked against every value of its
// Appendix C. CCC is the profile of the CCC Digital Key specification as far
// as public sources show it: scrypt with the vehicle's parameters, a reduction
// modulo n−1 plus one, a shorter transcript, K split into a confirmation key
// and the session key SK, HKDF-derived evidence keys and AES-128-CMAC
// evidence. The CCC specification is licensed to members and its SPAKE2+
// listings are known only through one demonstration application ([MERS] in
// docs/protocol.md); every choice that source leaves open lives in the CCC type
// and its documentation, which names the source of each: the w0 encoding in
// the transcript (fixed 32 bytes, the project's choice), the suffix of the
// evidence-key info (the caller's), and what each evidence MACs (an option).
// DeriveCCCSecret validates the scrypt parameters, which the device must not
// trust, against the limits of ScryptParams.Validate.
//
// # Failure
//
// Every failure caused by the peer — a share that is not 65 bytes, not
// uncompressed, off the curve, the identity, or exactly the password's mask
// w0·M or w0·N, and a confirmation that does not match — returns the one
// opaque error ErrAuthentication. Confirmations are compared with
// crypto/subtle. Package pairing maps it to the abort codes of docs/protocol.md
// §3.6; the validity of a share alone is public and can be checked with
// dkey.PublicKey where a distinct code (12 0C, invalid point) is wanted.
//
// # Constant time and erasure
//
// Point arithmetic is filippo.io/nistec, constant time. Scalars are reduced
// by a small constant-time routine over 64-bit limbs (scalar.go); math/big is
// never used on secrets. No scalar arithmetic beyond reduction is needed:
// Y − w0·N is computed with point negation and addition.
//
// The ephemeral scalars, Z, V, the transcript and every derived key live in
// fixed arrays that are overwritten when a run ends; ProverSecret.Zeroize
// and VerifierRecord.Zeroize erase the long-term values. This is best effort:
// the Go runtime may copy stack frames, crypto/sha256, crypto/hmac and
// crypto/hkdf keep their own state and return fresh slices (which are
// cleared but whose earlier copies are not), and scrypt's working memory is
// left to the garbage collector.
//
// ProverSecret, VerifierRecord, Prover and Verifier redact themselves in
// String, GoString and Format, for every verb: w0, w1, L, the ephemeral
// scalars and the derived keys are never formatted.
package spake2plus
