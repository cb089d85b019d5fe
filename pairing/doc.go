// Package pairing implements owner pairing of the Digital Key (docs/protocol.md
// §3), both roles, sans I/O: the vehicle that sends the commands ([VehicleSession])
// and the device's Digital Key framework that answers them ([DeviceSession]). After
// a pairing, a vehicle and a device that had never met share an owner key:
// a P-256 key pair created in the device's secure element, certified by the
// applet's instance CA and enrolled by the vehicle.
//
// Package vehicle drives a VehicleSession over a transport.Transceiver with the
// vehicle's attempt counter and enrols the key (vehicle.Reader.Pair);
// package device plugs a DeviceSession into its applet behind the framework AID
// and commits the key when pairing completes. This package never imports
// package transaction or sharing.
//
// # The protocol
//
//	Vehicle                                          Device (framework)
//	SELECT A000000809 434343444B467631  ──────────▶
//	                                    ◀──────────  5A versions, 5C versions, D4 02
//	SPAKE2+ REQUEST 80 30: 5B 5C 7F50{C0 salt, C1 N, C2 r, C3 p} D6 brand ─▶
//	                                    ◀──────────  50 X          (scrypt, x·G + w0·M)
//	SPAKE2+ VERIFY 80 32: 52 Y, 57 M1   ──────────▶
//	                                    ◀──────────  58 M2
//	  both: SK → SystemKeys = HKDF(nil, SK, "SystemKeys", 64)
//	        = Kenc ‖ Kmac ‖ Krmac ‖ LONG_TERM_SHARED_SECRET
//	WRITE DATA 84 D4 (channel): 7F4A root; 7F4B vehicle cert; 7F4C*; 7F4D; 7F4E; 5F5F
//	                                      device: verify the vehicle chain, create
//	                                      the key, issue the endpoint certificate
//	OP CONTROL FLOW 10 01
//	GET DATA 84 CA (channel): 7F20; 7F22; 7F24; D3
//	  vehicle: verify the endpoint chain up to a Device OEM root, bound to
//	           its identifier and key, certifying what it wrote
//	WRITE DATA (channel): 5F5A SHA-256(endpoint certificate); 5F5F
//	OP CONTROL FLOW 10 02, then 11 11    device: commit the key
//
// Then the vehicle runs the first standard transaction, AUTH0 P1 04 P2 07,
// which writes the owner's immobilizer token into the confidential mailbox
// and ends with CONTROL FLOW 01 81 (§3.1 phase 4; package vehicle).
//
// SPAKE2+ is the CCC profile of package internal/spake2plus: the device is
// the prover, the vehicle the verifier, holding only the [Verifier] record
// that the vehicle OEM server derived (w0 and L, never the password). The
// pairing secure channel is package internal/securemsg with the SystemKeys,
// flow CommandFirst (§3.4). A failure sends an OP CONTROL FLOW abort with the
// code of §3.6 ([OpControlFlow]).
//
// # Atomicity
//
// Nothing becomes usable before the end. The device creates the key at the
// end of the first WRITE DATA group and deletes it on any failure, abort,
// link reset or reselection; it commits the key ([SecureElement].Commit) at OP
// CONTROL FLOW 11 11, and only after the vehicle has confirmed under the
// channel (5F5A) that it verified the endpoint chain. The vehicle returns a
// result only when the device answered 11 11 with 9000, and package vehicle
// enrols only then. OP CONTROL FLOW travels in clear, so an active attacker
// in the field can still make the two ends disagree about the last step; the
// vehicle's first transaction (P2 07) then finds out, and package vehicle
// rolls the enrolment back when the device has no key.
//
// # Key log and deterministic randomness
//
// For test benches, [VehicleConfig].KeyLog and [DeviceConfig].KeyLog name a
// writer that receives the pairing channel's keys once per run, right after
// SPAKE2+ VERIFY, in the key log format that package transaction documents
// (package internal/keylog): lines "PAIRING_KENC <X> <Kenc>", PAIRING_KMAC,
// PAIRING_KRMAC, where X is the device's SPAKE2+ share, the 65 bytes of tag
// 50 in the SPAKE2+ REQUEST response, which names the run in a trace.
// Anyone who reads it can decrypt the pairing; nil, the default, logs
// nothing.
//
// For tests and conformance vectors only, [VehicleConfig].Rand and
// [DeviceConfig].Rand replace crypto/rand: the vehicle reads its SPAKE2+
// scalar y, the device its scalar x and then the new key's 8-byte slot
// identifier. A scalar is 40 bytes reduced modulo n−1, plus 1, exactly as
// the crypto/rand path draws it, so a reader giving crypto/rand's bytes
// reproduces the golden transcripts (recorded under
// testing/cryptotest.SetGlobalRandom) byte for byte; TestGolden checks it.
// The endpoint key comes from the [SecureElement], certificate serial
// numbers and ECDSA signatures from the process-wide source, which only
// cryptotest.SetGlobalRandom fixes. With Rand nil nothing changes on the
// wire.
//
// # Where the project chose
//
// The CCC specification is licensed to members; these choices are the
// project's, each documented at the point of use:
//
//   - SPAKE2+ evidence keys: the info suffix after "ConfirmationKeys" is the
//     exact bytes of the 5B and 5C data objects of the SPAKE2+ REQUEST
//     (§3.3, §11 item 2), so that a downgraded request fails the evidence
//     check. The vehicle sends every version it speaks in 5B and 5C (a list
//     of one is also the R3 1.0 reading, "the agreed version") and the
//     device selects. What each evidence MACs is an option ([Evidence]): the
//     default is [MERS]'s own-share reading; an independent CCC implementation
//     (Crypt-SPAKE2Plus, internal/spake2plus/testdata/README.md) asserts the
//     peer-share reading, which [EvidencePeerShare] selects.
//   - The framework SELECT response: the device tags its framework versions
//     5A (TS R3 1.0); the vehicle accepts 5A or 5B (§11 item 15). D4 other
//     than 00 or 02 is malformed.
//   - The optional selected-version object after X ("5F 02 <version>" in
//     [YB]/[MERS]) is not valid BER-TLV as written: neither sent nor
//     accepted.
//   - A device without password (D4 00) makes the vehicle abort with 12 0C,
//     as [YB] and [CNDK] have it.
//   - WRITE DATA and GET DATA carry one data object, or one tag, per
//     command, in the order of [CNDK]'s trace; 5F5F (empty) ends each WRITE
//     DATA group. 7F4A is the Vehicle OEM root, self-signed, which the device
//     keeps as this vehicle's trust anchor; 7F4B the vehicle certificate; 7F4C
//     an intermediate, at most two. 7F4D is [MailboxMapping], 7F4E carries the
//     mailbox configurations (4A, 4B), the vehicle identifier (4D) and the
//     option groups (D7, D8): see [OwnerKeyConfig]. GET DATA 7F24 of a device
//     without Device OEM intermediate returns an empty protected response.
//     D3 is the key slot identifier.
//   - 5F5A is SHA-256 of the endpoint certificate the vehicle verified; it
//     is the device's authenticated signal that the vehicle accepted the
//     key. The reselection of the framework between WRITE DATA and GET DATA
//     that [CNDK] shows is not done: here a SELECT aborts the run.
//   - The endpoint certificate: extension version 1, the negotiated applet
//     version, a random 8-byte key slot, the vehicle's option groups and
//     mailbox sizes, and the instance CA's validity period.
//   - Status words of the device: 6A89 ("file already exists") when it
//     already holds a key for the vehicle; see [StatusWordFor] for the rest.
//   - Pairing is CCC only: the endpoint certificate's vehicle_identifier is
//     8 bytes (§10.2), so Home Key's 16-byte reader identifiers do not pair.
//   - The BLE extension (Kble_intro, Kble_oob_master, 7F49 in 7F4E, 5E) is
//     not implemented; a 5E in the request is parsed and ignored.
//   - Secrets never print: [Verifier] (w0 and L), [DeviceSession] (the password),
//     [VehicleSession], [DeviceResult] and [VehicleResult] (LONG_TERM_SHARED_SECRET)
//     redact themselves in String, GoString and Format, for every verb; the
//     results show their vehicle identifier and key slot only.
package pairing
