// Package transaction implements Digital Key transactions, both roles, sans
// I/O: the exchange by which a phone or watch held to a door handle unlocks,
// locks or starts a vehicle, offline (docs/protocol.md §4).
//
// The vehicle side is a [VehicleSession] created from a [VehicleParams]; the
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
// The CCC specification is not public (docs/protocol.md §11). The choices, each
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
// [AliroReaderConfig].KeyLog and [AliroEndpointConfig].KeyLog log the
// Aliro keys the same way: ALIRO_SKREADER, ALIRO_SKDEVICE and
// ALIRO_STEPUP_SK (32 bytes each) with TRANSACTION_URSK over BLE at
// ReadAuth1 and Auth1, TRANSACTION_KPERSISTENT at VerifyEndpoint and
// Auth1, ALIRO_FAST_SKREADER and ALIRO_FAST_SKDEVICE when the reader's
// FindFast matches and when the device answers AUTH0 with a real
// cryptogram.
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
// (package vehicle's TestGoldenTranscripts, through vehicle.Config.Rand and
// device.Config.Rand, which pass it here). The ECDSA signatures of AUTH1 still draw their nonces
// from the process-wide source, which only cryptotest.SetGlobalRandom can
// fix. With Rand nil nothing changes on the wire. [AliroReaderConfig].Rand
// and [AliroEndpointConfig].Rand do the same for Aliro: the reader reads
// its ephemeral scalar then the transaction identifier, the device its
// ephemeral scalar then, for a fast request without Kpersistent, its 64
// random cryptogram bytes.
//
// # Aliro
//
// CSA Aliro 1.0 (dkey.Aliro) runs the same two-phase idea through its own
// types, [AliroReader] / [AliroReaderSession] for the reader and
// [AliroEndpointSession] for the device: enough differs (message layout,
// key schedule, channel, EXCHANGE) that sharing the CCC sessions would put
// a profile switch in every step. NewVehicleParams and NewEndpointSession refuse
// dkey.Aliro. Tags as in docs/protocol.md: S means the published Aliro 1.0
// specification text (cited "Aliro 1.0 §x", read in full), I [ALPR]
// kormax/python-aliro-reader, I [NXPAL] NXP's aliro-access-control and
// aliro-actuator, I [NORAL] Nordic's Aliro reader tests, I [ALIRO]
// kormax/aliro; none is verified against a production phone (no I+).
//
//	Reader                                         Device
//	SELECT A000000909ACCE5501      ─────────────▶
//	                               ◀─────────────  6F{84 AID, A5{80 0000, 5C versions, [7F66], [B3], [B7]}}
//	AUTH0 80 80 00 00: 41 command_parameters, 42 authentication_policy,
//	  5C version, 87 reader_ePubK, 4C txid, 4D reader_identifier (32), [B1] ─▶
//	                               ◀─────────────  86 credential_ePubK [9D cryptogram] [B2]
//	fast:     the reader finds the credential whose Kpersistent opens the
//	          cryptogram; the first EXCHANGE under the fast keys then
//	          authenticates the reader to the device.
//	standard: [LOAD CERT 80 D1 00 00: reader_Cert]  ─▶  9000
//	          AUTH1 80 81 00 00: 41 command_parameters, 9E reader signature, [90 reader_Cert] ─▶
//	                               ◀─────────────  GCM{4E key_slot | 5A credential_PubK, 9E signature,
//	                                                   [4B mailbox subset], 5E signaling, [91], [92]}
//	EXCHANGE 80 C9 00 00: GCM{[BA{8C, 87 read, 8A write, 95 set}*], [AE], [97 status], [98], [81]}*
//	CONTROL FLOW 80 3C 00 00: 41 S1, 42 S2, [63] (in clear; only without a channel)
//	step-up:  [SELECT A000000909ACCE5502], ENVELOPE (package mdoc), then
//	          EXCHANGE 80 C9 00 00: step-up GCM{... 97 status}: the transaction's end
//
// The differences, where they are implemented:
//
//   - SELECT answers an FCI, and its A5 template, version list included,
//     enters every key derivation (S Aliro 1.0 §10.2.1.2, §8.3.1.13;
//     aliro_messages.go aliroFCI). CCC binds the version list at Home Key
//     2.0 only.
//   - AUTH0 adds 41 command_parameters (bit 0: fast; in AUTH1, bit 0 asks
//     for the public key) and 42 authentication_policy (01 user device
//     setting, 02 secure action, 03 force user authentication; 02 not over
//     BLE), both in the data field where CCC uses P1 P2; the reader
//     identifier is 32 bytes, group ‖ sub-group (S Aliro 1.0 Tables 8-1 to
//     8-4; I [ALPR], [NXPAL]). docs/protocol.md §13 calls 42 "the requested
//     action": the specification text defines it as the policy.
//   - The key schedule (aliro_keys.go): Kdh as CCC, then the transcript is
//     the HKDF salt (reader_group_identifier_key.x, a 12-byte label,
//     identifier, interface 5E NFC or C3 BLE, version, reader_ePubK.x,
//     txid, 41 and 42 values, A5) and credential_ePubK.x with the vendor
//     extensions the info; 160 bytes of key material: ExpeditedSKReader,
//     ExpeditedSKDevice, StepUpSK (bytes 0x40 to 0x60, the input of
//     mdoc.AliroStepUpKeys), BleSK, URSK (S Aliro 1.0 §8.3.1.13, byte-exact
//     against §14.3 and §14.4; I [ALPR], [NORAL] agree on the 0x40 offset).
//   - The AUTH1 response and every EXCHANGE travel under AES-256-GCM, one
//     key and one counter per direction, IV = 8-byte direction (0 reader,
//     1 device) ‖ 4-byte counter from 1, no AAD; the AUTH1 response is the
//     device's message 1; a counter may not reach FFFF; one failure ends
//     the channel (S Aliro 1.0 §8.3.1.6 to §8.3.1.9, §8.3.3.5.4; package
//     internal/gcmchannel). The reader's AUTH1 signature travels in clear.
//   - The fast cryptogram is AES-256-GCM under CryptogramSK with a zero IV
//     over 5E signaling ‖ 91 ‖ 92 (64 bytes with the tag), so the reader
//     learns the device's status before any EXCHANGE (S Aliro 1.0 §8.3.1.10,
//     §8.3.1.11, §14.4; I [NXPAL] vector).
//   - Signatures cover 4D identifier ‖ 86 ‖ 87 ‖ 4C ‖ 93 usage with CCC's
//     usage constants (S Aliro 1.0 Tables 8-12, 8-13).
//   - The AUTH1 response names the credential by 4E key_slot (8 bytes; the
//     first 8 bytes of SHA-1 of the public key, dkey.Profile.DerivedKeySlot)
//     or by 5A, the 65-byte public key, as AUTH1 asks; 91 and 92 are the
//     signed timestamps of the access and revocation documents (tdate, 20
//     characters), not an issuance date as docs/protocol.md §13 says (S Aliro
//     1.0 Table 8-11).
//   - A reader key may be certified by a Reader System Issuer CA, whose key
//     is then the reader_group_identifier_key the device trusts; the
//     certificate is a profile0000 compression of an X.509 ES256
//     certificate, sent by LOAD CERT or in AUTH1 tag 90 (S Aliro 1.0 §13.3,
//     §8.3.3.3, §14.1; aliro_cert.go). It certifies the reader's own key,
//     not a sub-group key: docs/protocol.md §13's wording differs.
//   - EXCHANGE carries BA (8C atomic-session option first, then 87 read, 8A
//     write, 95 set), AE notifications, 97 the reader status that ends the
//     transaction, 98 URSK request (BLE), 81 an access document update; the
//     response is 2-byte-length read blocks then 00 02 status (S Aliro 1.0
//     §8.3.3.5; aliro_exchange.go). 8C is an option, not a commit.
//   - CONTROL FLOW reports a failure only when no channel exists (S Aliro
//     1.0 §10.2.2).
//   - Data objects with unknown tags are skipped, not refused (S Aliro 1.0
//     §1.4.3), at most 8 per message.
//
// # Where the project chose (Aliro)
//
//   - The salt's first field is the reader_group_identifier_key: the CA key
//     when the reader has a certificate (S Aliro 1.0 §8.3.1.13, I
//     [NORAL]). The §14.2 example binds the certificate's subject key
//     instead; internal/testvec keeps it and the test checks that example
//     with that variant, marked. Which one phones use is not public.
//   - Tag 90 in AUTH1 may carry a non-shortest length (the §14.2 example
//     writes 90 82 00 99); everywhere else lengths are canonical.
//   - RFU bits of command_parameters are ignored but stay bound into the
//     keys; reserved policy values are refused (6A86).
//   - The device verifies a reader certificate at AUTH1, not at LOAD CERT,
//     so that every trust failure answers the one status word 6982, as an
//     unknown group, a wrong signature and an expired certificate do.
//   - A device without a credential for the group answers AUTH0 in the same
//     shape (random cryptogram when fast is asked) and fails AUTH1 with
//     6982. Its timing is not equalised.
//   - Versions: devices offer 1.0, readers speak 1.0 (dkey.Aliro); 0.9 is
//     an explicit opt-in on either side. A stripped version list changes
//     the A5 bytes and so the keys, which TestAttackAliroDowngradeStripsVersion
//     shows. The reader takes the highest version both sides list.
//   - URSK is returned over BLE only; BleSK (BLE message encryption) is
//     not implemented at this layer.
//   - The step-up phase ends with the reader's status in an EXCHANGE
//     under the step-up channel, after the ENVELOPE (StepUpExchange,
//     OpenStepUpExchange; aliro_stepup.go): the CSA's aliro-actuator and
//     certification tool send it so (I [NXPAL]), and a reader that sent
//     its status on the expedited channel first would leave the step-up
//     phase after the end of the transaction. The counters continue
//     those of the ENVELOPE messages, which package mdoc keeps.
//   - The fast channel keys are expanded at the first EXCHANGE, not at
//     FindFast, so that a fast lookup costs one cipher per candidate.
//   - An EXCHANGE plaintext is at most 2000 bytes, a mailbox command at
//     most 16 requests.
//   - The EXCHANGE encoding follows the specification text (BA{8C, ...}),
//     not the earlier drafts some public readers implement.
//
// # Allocation
//
// Sessions own fixed buffers and are reused across transactions. A fast
// CCC or Home Key transaction, both sides, allocates nothing; see the
// benchmarks. An Aliro fast transaction allocates the AES-GCM state of each
// key it uses (the cryptogram key per candidate, the two channel keys),
// since crypto/aes cannot expand a key into existing memory;
// TestAliroFastAllocations pins the count. The standard transaction costs
// what its public-key operations cost (ephemeral key generation, ECDH, one
// ECDSA signature and one verification per side) plus a few percent.
package transaction
