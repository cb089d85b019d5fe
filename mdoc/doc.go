// Package mdoc implements the ISO/IEC 18013-5-style exchange that two
// profiles run over a second applet after a transaction: the Home Key
// attestation flow (docs/protocol.md §2.1, §2.3, §4.8, §4.9) and the Aliro
// step-up phase that delivers access and revocation documents (§13). Both
// roles, sans I/O: the reader side builds ENVELOPE commands and reads their
// responses, the device side answers them as a transport.Card.
//
// # The protocol
//
// Home Key. A reader that does not know the endpoint (or wants its
// attestation) ends a standard transaction with EXCHANGE 00 8E 22 C0 20
// <32-byte secret> under secure messaging and CONTROL FLOW 40 A0, then:
//
//	Reader                                               Device
//	SELECT A0000008580102                   ───────────▶
//	                                        ◀───────────  9000
//	ENVELOPE 00 C3 00 01, 53{NDEF handover request: Hr, NFC carrier,
//	    ReaderEngagement}                   ───────────▶
//	                                        ◀───────────  53{NDEF handover select: Hs, NFC carrier
//	                                                        (max 4096/4096), DeviceEngagement} 9000
//	both: SessionTranscript = [#6.24(DeviceEngagement), [Hs, Hr]]
//	      SKReader, SKDevice = HKDF-SHA256(secret, SHA-256(#6.24(SessionTranscript)),
//	                                       "SKReader" / "SKDevice", 16 bytes)
//	ENVELOPE 00 C3 00 00, 53{SessionData{data: AES-GCM(SKReader, DeviceRequest)}} ─▶
//	                                        ◀───────────  53{SessionData{data: AES-GCM(SKDevice,
//	                                                        DeviceResponse)}} 61xx, GET RESPONSE…
//
// The DeviceResponse carries the issuer-signed document
// "com.apple.HomeKit.1.credential": data elements and an issuerAuth, an
// Ed25519 COSE_Sign1 by the issuer (the HomeKit key of the home member who
// invited the device, named by kid) over the mobile security object, which
// binds the device's P-256 key, a validity window and a digest of every
// element. The reader verifies it against the issuer keys it trusts and
// learns the endpoint's key.
//
// Aliro. After a standard transaction (AUTH1) the reader selects the
// step-up applet A000000909ACCE5502 and sends one ENVELOPE P2 00 with the
// SessionData; there is no handover: SKReader and SKDevice (32 bytes) come
// from the step-up material of the AUTH1 key derivation ([AliroStepUpKeys]).
// The documents are "aliro-a" (access) and "aliro-r" (revocation), signed
// with ES256.
//
// Both: the AES-GCM IV is the 8-byte direction identifier (0 for the
// reader, 1 for the device) then a 4-byte big-endian message counter that
// starts at 1 in each direction (ISO/IEC 18013-5 §9.1.1.5), the channel of
// package internal/gcmchannel, which Aliro's expedited phase in package
// transaction uses too. A message that does not authenticate gives
// ErrDecrypt and breaks the channel for good: every later message of the
// session, in either direction, fails with ErrOutOfSequence (18013-5
// §9.1.1.5 ends the session on a decryption failure, as Aliro does).
//
// # Sections
//
//   - Wire formats: [ParseNDEF]/[AppendNDEF]; [HandoverRequest],
//     [HandoverSelect]; [Engagement]; [SessionTranscript]; [SessionData];
//     [DeviceRequest]; [DeviceResponse]; [Document]. Encoders write Core
//     Deterministic Encoding (definite lengths, shortest heads, sorted map
//     keys), which readers re-encode to build the transcript.
//   - Keys: [DeriveSessionKeys], [AliroStepUpKeys], [Secret] (with
//     [AppendHomeKeyExchange] and [ParseHomeKeyExchange] for the EXCHANGE
//     that hands it over).
//   - Documents: [Issuer] signs ([Issuer.Issue], [HomeKeyCredential]);
//     [Document.Verify] and [DeviceResponse.Verify] check them against
//     [IssuerKey]s; [Provisioned] is the versioned record the device applet
//     stores.
//   - Roles: [NewHomeKeyReader] → [HandoverReader] → [RequestReader]
//     ([NewStepUpReader] for Aliro); [NewHomeKeyDevice] and
//     [NewStepUpDevice] → [Device]; thin drivers [ReadHomeKey] and
//     [ReadStepUp] over a transport.Client. After an Aliro request both
//     sides keep the channel for the EXCHANGE that ends the step-up phase
//     ([RequestReader.SealMessage], [Device.OpenMessage] and their
//     twins; package transaction frames that EXCHANGE).
//   - Aliro document content: [AccessData] (rules, schedules, reader
//     rules, extensions) with [AccessData.Allows], the schedule check of a
//     reader, and [RevocationData], in aliro_access.go and
//     aliro_revocation.go with their sources and the variants of the
//     public material.
//
// # Sources
//
//   - [AHK] kormax/apple-home-key (README; resources/*.log, a recorded
//     iPhone exchange, copied into testdata): I+.
//   - [AHKR] kormax/apple-home-key-reader homekey.py, util/iso18013.py,
//     util/ndef.py, entity.py: a reader that works with iPhones, I+.
//   - [ALIRO] kormax/aliro README (secure channel, step-up, ENVELOPE);
//     kormax/python-aliro-reader aliro/document.py and protocol.py;
//     RfidResearchGroup/proxmark3 client/src/cmdhfaliro.c: I. The Aliro 1.0
//     specification is published by the CSA, but its text was not at hand;
//     what is below comes from those readers.
//   - ISO/IEC 18013-5:2021 as public implementations show it, and its
//     Annex D worked example (from openwallet-foundation-labs/
//     identity-credential, testdata/README.md): the structures, the
//     digests over IssuerSignedItemBytes, the key derivation and the IV.
//   - RFC 8949 (CBOR), RFC 9052/9053 (COSE), RFC 5869 (HKDF), NFC Forum
//     NDEF 1.0 and Connection Handover 1.5.
//
// # Where the project chose
//
// Where public material is silent, the choice is the project's, commented
// where it is made and tested:
//
//   - Home Key session keys are 16 bytes (AES-128-GCM) from the EXCHANGE
//     secret, with the two-element transcript above; ISO/IEC 18013-5 uses
//     ECDH and 32-byte keys. Not a choice but [AHKR]'s working code; the
//     package has no ECDH session and no SessionEstablishment because
//     neither dialect uses them.
//   - The Home Key engagements are the recorded bytes
//     ({0: "1.0", 1: [-10]} from the device, {0: "1.0", -1: [-10]} from the
//     reader); what -10 means is not public. The handover messages have the
//     recorded shape exactly; the collision random number is fresh per
//     handover (the public reader always sends 0102, which the tests use).
//   - Aliro map keys are the decimal field numbers as text strings ("1",
//     "2", "5"), as the public readers send them in requests. Those readers
//     also accept integer keys in responses; the SDK writes and accepts
//     text keys only. The readers' request puts the data elements under a
//     name space named like the document type ("aliro-a"); the SDK does
//     the same and asks for "matter1" by default.
//   - An Aliro issuer key is identified (kid) like a Home Key one:
//     SHA-256("key-identifier" ‖ key)[:8], over the 65-byte uncompressed
//     P-256 key; [IssuerKey.WithID] names keys whose kid is derived
//     otherwise.
//   - issuerAuth: protected header exactly {1: alg} (EdDSA for Home Key,
//     ES256 for Aliro), unprotected header exactly {4: 8-byte kid}; the
//     readers take the issuer from that kid. ISO/IEC 18013-5's x5chain is
//     not accepted.
//   - No deviceSigned: the Home Key document is a static file of the pass
//     ([AHK]) and the Aliro readers read issuerSigned only. The device
//     proves its key in the transaction: the reader verifies the endpoint's
//     AUTH1 signature with [Verified.DeviceKey] (or passes the enrolled key
//     as VerifyOptions.DeviceKey). documentErrors and readerAuth are not
//     accepted either.
//   - An Aliro device answers with a SessionData; the reader also accepts
//     the bare ciphertext some devices send ([ALIRO] README note).
//   - The device: a decryption failure ends the session with SessionData
//     status 10, an undecodable request with status 11 (ISO/IEC 18013-5
//     §9.1.1.5), both in clear with 9000; a malformed ENVELOPE is answered
//     6A80, a wrong class 6E00, instruction 6D00, P1-P2 6B00, a command out
//     of order 6985, an unparsable APDU 6700; every failure ends the session
//     and every later command gets 6985. A session serves up to
//     MaxExchanges requests and ends on a SessionData with a status (20:
//     termination). Documents are served per request, each at most once,
//     restricted to the requested elements; the reader refuses anything it
//     did not request (ErrDocTypeMismatch).
//   - The reader sends Le 00 (256), as recorded; long responses come back
//     with 61xx and GET RESPONSE (the iPhone sends 253-byte pieces, a
//     transport.ChainingCard 256-byte ones; the reader takes any).
//   - Each stored document records the reader group it answers (8 bytes in
//     Home Key, 16 in Aliro) in the [Provisioned] record; a session opened
//     for another group finds no document (ErrNoDocument). The group is not
//     signed: the store that holds the record seals it.
//   - The test issuer gives elements sequential digest IDs and 16-byte
//     salts, and Home Key's credential_id is a byte string the issuer
//     chooses.
//   - Aliro access data: only the daily and weekly recurrence patterns are
//     evaluated (the others parse, and count as out of range for allowing
//     and in range for denying); an occurrence lasts at most 31 days;
//     every access extension is taken as critical; a revocation entry's key
//     hash is SHA-256 of the 65-byte key (aliro_access.go,
//     aliro_revocation.go).
//   - Decoding is strict: definite lengths and shortest heads only, no
//     unknown or duplicate keys, no unassigned simple values, tdate only as
//     "YYYY-MM-DDTHH:MM:SSZ", every size within limits.go. Map key order is
//     free in messages from peers (what is hashed or signed is kept as
//     received), but an engagement must be in deterministic encoding, since
//     the reader re-encodes it into the transcript. Validity is inclusive
//     at both ends.
package mdoc
