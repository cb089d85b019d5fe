// Package sharing implements key sharing and key management of the Digital
// Key (docs/protocol.md §6, §7, §9): end-to-end sealed invitations, the friend's
// key creation and signing request, the owner's key attestation, its import
// into the friend key's mailbox, the vehicle's intake of attestations at the
// first friend transaction, termination, suspension (lost mode), device
// change, and the server interfaces that carry them (invitation relay,
// automaker key management and key tracking).
//
// The package imports attest, cert and dkey; it never imports pairing or
// transaction. Package device and package vehicle compose it: the protocol
// runs are sans I/O (sealed bytes in, typed results out), and what is local
// is plain functions and types.
//
// # Flows
//
// Sharing (docs/protocol.md §6.1, §6.3), owner ↔ relay ↔ friend:
//
//	owner: Invite(cfg, offer, to) ──▶ sealed KeyCreationRequest ──▶ Relay.CreateMailbox
//	       the link secret and the fetch token go to the friend in the URL fragment
//	       (Fragment), through any messenger
//	friend: Relay.FetchInvitation (once, with the fetch token; claims the receiver side)
//	        OpenInvitation(cfg, link key, code, sealed) ─▶ FriendSession
//	        SigningRequest(dev) ─▶ dev.CreateSharedKey (device.Applet: CreateKey, role friend,
//	                               endpoint certificate from the instance CA)
//	                            ─▶ sealed KeySigningRequest ──▶ Relay.UpdateMailbox
//	owner: ReadSigningRequest(sealed) ─▶ verified chain, key, slot; the owner confirms
//	       Sign(req) ─▶ attest.KeyAttestation signed by the owner key ─▶ sealed ImportRequest ──▶ relay
//	friend: Import(sealed) ─▶ verified attestation ─▶ Imported.Mailbox written at offset 0 of
//	        the friend key's private mailbox; the friend deletes the relay mailbox
//
// First friend transaction (docs/protocol.md §6.4): a standard transaction
// answers AUTH1 with a slot the vehicle does not know. The statement area of
// that key's private mailbox comes in the AUTH1 response (the private
// subset, tag 4B; FriendMailboxes configures it so), since the vehicle must
// know the key, which the attestation names, to verify the AUTH1 signature
// before EXCHANGE can run. The vehicle parses the area (ParseMailbox), calls
// VehicleIntake.AdmitFriend with the key attestation and the AUTH1 slot, verifies
// the AUTH1 signature with Friend.PublicKey, enrolls the key with its profile
// and validity, and ends with CONTROL FLOW 4082, on which the device clears
// the area (ClearMailboxArea). From then on the vehicle enforces the profile,
// its speed limit included. The owner's statement area (terminations,
// re-issued attestations) is read by EXCHANGE, the owner key being known.
//
// Termination (docs/protocol.md §7): a key deleting itself signs a termination
// attestation with itself just before the secure element destroys it; the
// owner (a key holding dkey.EntitleManage) signs one for a friend key
// (Termination.Sign). It reaches the vehicle in the owner's next transaction
// (a KindTermination entry in the owner key's statement area) or from the
// automaker's server (KeyCommand, VehicleIntake.Apply). VehicleIntake.ProcessTermination
// verifies it and records the slot, the key and the statement in the
// RevocationStore for good; the vehicle then removes the key.
//
// Lost mode: the device suspends every key (device.Applet.SetLostMode); the
// automaker suspends, at every vehicle, every key of the device
// (KeyServer.ManageDevice, keys registered with their DeviceID by TrackKey);
// the keys the device shared are other devices' keys and keep working.
// Resume reverses both.
//
// Device change: the new device pairs and gets a new owner key;
// PlanDeviceChange re-signs, with it, the still valid attestations the old
// owner key issued and signs the old key's termination. The plan reaches the
// vehicle through the new owner key's statement area: the vehicle admits the
// re-issued attestations with a zero slot and enrolls those keys ahead of
// their first transaction, then processes the termination. Friends do
// nothing.
//
// # Sealing
//
// Every message is sealed with HPKE (RFC 9180, crypto/hpke) in base mode,
// one message per HPKE context, with the ciphersuite
// DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM (0x0010, 0x0001,
// 0x0001). P-256 because every key of the system is P-256: a secure element
// that holds endpoint keys does P-256 ECDH, so a device can keep its
// recipient key there (NewRecipientPrivateKey takes an ecdh.KeyExchanger),
// and one curve is one thing to review. AES-128-GCM because phones have AES
// hardware and its 128-bit level matches P-256's; ChaCha20-Poly1305 would
// buy nothing here. The envelope, as the relay stores it:
//
//	sealed = version (02) ‖ flags ‖ [salt (16 bytes), when flags has 01] ‖ enc (65) ‖ ciphertext
//	flags  = 01: an activation code is bound into the key schedule (messages to the owner's
//	             response key only: the friend's answers)
//	         02: the friend's answers must carry an activation code (invitations only)
//	         any other bit, or a bit on another message, is refused
//	info   = "opencarkey sharing v1" ‖ 00 ‖ purpose [‖ hardened activation code (32), with flag 01]
//	purpose = 01 invitation (to the link or device key), 02 to the owner's response key,
//	          03 to the friend's response key
//	aad    = every byte before the ciphertext
//	plaintext = message ‖ 00…, padded to a multiple of 256 bytes
//
// Two key-agreement shapes, one format:
//
//   - Link (cross-platform, any messenger): the owner draws a 32-byte secret
//     (NewLink), the recipient key is DeriveKeyPair(secret), and the secret
//     travels in the URL fragment, which HTTP never sends to a server. The
//     relay stores what it cannot open.
//   - Device key: the friend's device publishes a recipient key
//     (NewRecipientPrivateKey of a key in its secure element); only that
//     device opens the invitation.
//
// The invitation carries a fresh response key of the owner; the signing
// request carries a fresh response key of the friend. Each answer is sealed
// to the key the other side sent inside an authenticated message, so the
// relay can neither read nor forge one, and a message of one exchange never
// opens in another. Every message repeats the 16-byte invitation ID.
// Opening fails with the one opaque ErrDecrypt for a wrong key, a wrong
// activation code or any changed byte.
//
// # Activation code
//
// An invitation may require an activation code, which the owner gives the
// friend by another channel than the link. The invitation itself does not
// depend on the code (flag 02 only says that a code is required): the
// friend's signing request is bound to it, and only the owner's device,
// which holds the response key, can open that. So a guess is tested online,
// by the owner's device, and nowhere else: OwnerSession.ReadSigningRequest
// counts the distinct answers that do not open and after MaxCodeAttempts
// refuses every answer (ErrTooManyAttempts); the owner cancels with
// CodeCancelledByOwner ("no valid PIN", Table 11-27). Envelope version 1
// bound the code into the invitation's key schedule instead, so that a
// holder of the sealed invitation could try every code offline (finding 5
// of the security review; a four-digit code fell in minutes); version 2
// moved it.
//
// A code has at least MinCodeBits (26) bits by its shape: 8 digits, or 6
// letters and digits (CheckActivationCode; repetitions and runs are
// refused; NewActivationCode draws 8 random digits). With MaxCodeAttempts
// guesses, a holder of a forwarded link gets the key with a chance below 3
// in 10^8. The code is normalized (separators removed, letters in upper
// case) and hardened with scrypt (N=2^15, r=8, p=1, 32 bytes, salt
// SHA-256("opencarkey sharing activation code v1" ‖ 16 random bytes carried
// in the envelope)) before it enters the HPKE info of the answer:
// crypto/hpke offers base mode only, so the info carries what a PSK would;
// the binding is the same, a PRF of the shared secret and the code. The
// hardening matters only if the owner's response key leaks. CCC's PIN
// re-entry messages (types 6 and 7) are not implemented: a friend who typed
// a wrong code opens the invitation again with the right one and answers
// anew, and the owner's device counts the attempt.
//
// # Messages
//
// The CCC formats of the sharing messages are not public (docs/protocol.md §11
// item 8). The project's formats are CBOR (RFC 8949) maps with integer keys
// in Core Deterministic Encoding, decoded strictly: duplicate keys,
// indefinite lengths, tags, unknown keys, floats and any encoding but the
// deterministic one are refused; arrays hold at most 16 elements, maps 16
// pairs, nesting 4 levels. The message types mirror sharingDataType
// (docs/protocol.md §6.1). Times are whole seconds since the Unix epoch, up to
// 9999-12-31.
//
//	message = [type: uint, body]
//
//	key-creation-request = {           ; type 1, owner → friend
//	  1 => bstr .size 16,              ; invitation ID
//	  2 => bstr .size (8 / 16),        ; vehicle identifier
//	  3 => bstr .size 65,              ; vehicle public key, 04‖X‖Y
//	  ? 4 => [1*3 bstr],               ; vehicle certificate chain, leaf first, DER (≤ 2048 bytes each)
//	  ? 5 => bstr,                     ; Vehicle OEM root certificate, DER; present exactly when 4 is
//	  6 => bstr .size 65,              ; owner (signing) endpoint key
//	  7 => bstr .size (1..8),          ; owner key slot (the attestation's kid)
//	  8 => uint .size 4,               ; entitlements (dkey.Entitlements: known bits, not 0)
//	  ? 9 => uint .size 2,             ; speed limit in km/h; absent means none
//	  10 => uint,                      ; key NotBefore, inclusive
//	  11 => uint,                      ; key NotAfter, inclusive
//	  12 => uint,                      ; invitation expiry, inclusive
//	  ? 13 => bstr .size (1..8),       ; friend key slot assigned by the owner
//	  14 => [6*6 uint .size 2],        ; friend mailboxes: private size (≥ 518), confidential size,
//	                                   ;   private AUTH1 offset, length, confidential AUTH1 offset, length
//	  15 => bstr .size 65,             ; owner's response key (DHKEM P-256)
//	}
//	key-signing-request = {            ; type 2, friend → owner
//	  1 => bstr .size 16,              ; invitation ID
//	  2 => bstr .size 65,              ; friend's new endpoint key
//	  3 => bstr .size (1..8),          ; its key slot
//	  4 => [2*3 bstr],                 ; key-creation chain, leaf first: endpoint [H], instance CA [E], ? [F]
//	  5 => bstr .size 65,              ; friend's response key
//	}                                  ; no access profile: the owner signs the offer's
//	import-request = {                 ; type 3, owner → friend
//	  1 => bstr .size 16,              ; invitation ID
//	  2 => bstr .size (1..512),        ; the key attestation (package attest, COSE_Sign1)
//	}
//	cancel = {                         ; type 4 SenderCancel, type 5 ReceiverCancel
//	  1 => bstr .size 16,              ; invitation ID
//	  2 => uint .size 1,               ; error code of Table 11-27 (ErrorCode)
//	}
//
// A refused message yields an [*Error] carrying the ErrorCode to report to
// the peer (Table 11-27, docs/protocol.md §6.1): CodeMissingField,
// CodeInvalidStructure and CodeInvalidContent for the message, codes 04 to 07
// for the friend's certificates, CodeRequestRejected for an expired
// invitation.
//
// # Mailbox
//
// The statement area at the start of a key's private mailbox (docs/protocol.md
// §5.3) is documented with its constants (SignalOffset, AreaOffset, ...):
// a signaling bitmap (bit 08 key attestations, the project's 40 termination
// attestations and 80 tracking receipts), a 2-byte length, and entries of
// kind ‖ length ‖ statement. The friend's device writes one key attestation;
// the owner's device queues termination attestations and re-issued
// attestations for the vehicle; the vehicle consumes the area and sends
// CONTROL FLOW 4082; the device clears it.
//
// # Vehicle intake (VehicleIntake)
//
// VehicleIntake.AdmitFriend runs an ordered checklist, each failure a
// [*VehicleError] naming its Check: the attest checklist (parse, signer
// among the enrolled keys, signature, the signer holds EntitleShare, the
// vehicle, the validity window, the profile and the window within the
// signer's own), the slot that authenticated, the revocation store, and
// room in the store.
// VehicleError.ControlFlow gives the CONTROL FLOW to end the transaction
// with: 0002 outside the validity window, 0006 malformed, 00A0 revoked (the
// device suspends the key and its host app deletes it), 0003 otherwise.
//
// # Anti-reactivation
//
// A terminated key must never work again, even when an old attestation is
// replayed. The vehicle enrolls a key only through owner pairing (a new key,
// with the pairing password) or VehicleIntake.AdmitFriend (a key attestation). A
// termination records the key's slot, the SHA-256 of its public key and the
// statement's ID in the RevocationStore before the key is removed, and
// AdmitFriend checks all three. Every attestation of the key signs its
// 65-byte public key, so a replayed attestation, or a new one for another
// slot, another validity or from another signer, is refused by key; a new
// key for the revoked slot is refused by slot. With a store that persists
// and never rolls back, no sequence of attestations re-enrolls a terminated
// key.
//
// The "security tokens" docs/design.md mentions (a value the vehicle writes into
// the friend key's confidential mailbox at the first friend transaction and
// checks afterwards) would add nothing to this: the key that could replay is
// on a device that holds the key's mailboxes too, so a token proves only
// what the AUTH1 signature proves; and to check a token the vehicle must
// remember it, state of the same kind as the store, lost or rolled back
// together with it. So the store is the whole mechanism, and it is built for
// that: kept for the vehicle's life (DefaultMaxRevocations in about 1 MiB),
// persisted (MarshalBinary) before the removal, a vehicle that cannot record
// more revocations admits no more keys (CheckCapacity), and Generation lets
// the vehicle compare the store with a monotonic counter of its secure
// element to refuse a rolled-back copy.
//
// # Threat model
//
//   - The relay and the network see sealed messages, their sizes to 256
//     bytes, their timing, the mailbox identifiers and the display
//     information (which the owner keeps empty or public). They can drop,
//     delay, replay or substitute messages; they can neither read nor forge
//     one, and a replay across exchanges does not open. Denial of service is
//     out of scope.
//   - Whoever holds a link fetches and opens its invitation, once: the
//     relay hands the sealed invitation only to the fetch token of the link,
//     gives the receiver side to that fetch, and deletes the invitation.
//     Without an activation code, a forwarded link lets another device
//     answer first; the friend then finds the link used, the owner sees the
//     answering device's certified chain before signing, and one invitation
//     signs one key. With a code, a holder of the link must guess it online,
//     against the owner's device, MaxCodeAttempts times at most. Sealing to
//     the friend's device key removes even that.
//   - A friend cannot obtain more than the offer: the signing request carries
//     no profile, strict decoding refuses any field it does not define, the
//     attestation signs the profile and validity, the friend's device checks
//     the attestation is the offer (ErrMismatch), and the vehicle checks the
//     signature, the signer's entitlement to share and the grant chain.
//   - A friend entitled to share cannot make a key that outlives its own:
//     the vehicle passes each enrolled key's window with its profile
//     (attest.Signer), and refuses an attestation whose window does not
//     lie within its signer's (attest.ErrOutsideSignerValidity, CONTROL
//     FLOW 0003), so along a chain of re-sharing every key is bounded by
//     all the keys above it. A sharing device refuses such an offer too.
//   - A device that is not a genuine secure element cannot join: the owner
//     verifies the key-creation chain up to a Device OEM root it trusts,
//     bound to the vehicle identifier and key (cert.Config.VerifyEndpoint).
//   - Attestations for another vehicle, another slot, outside their validity
//     or of a revoked key are refused at the vehicle, with no state change.
//   - A compromised owner device can share within the owner's grant; it is
//     the owner. Terminating its key (device change, or the automaker)
//     stops it.
//
// # Server interfaces
//
// Relay (docs/protocol.md §6.3) and KeyServer (§6.5, §7) are Go interfaces;
// MemoryRelay and MemoryKeyServer implement them in memory, bounded and safe
// for concurrent use, for tests and examples; package keyservice is the
// server, and keyservice/client implements both over HTTP. A relay mailbox
// has three tokens (sender, receiver, one-time fetch). A key-management
// command for a vehicle has a wire form, a key service takes it signed by a
// key of the vehicle (SignedCommand, CDDL there), and the persisted
// revocation store has one too:
//
//	key-command = {
//	  1 => bstr .size 16,              ; command ID
//	  2 => uint,                       ; 1 suspend, 2 resume, 3 terminate
//	  3 => bstr .size (8 / 16),        ; vehicle identifier
//	  4 => bstr .size (1..8),          ; key slot
//	  ? 5 => bstr .size (1..1024),     ; termination attestation; with 3 only, and required there
//	}
//	revocation-store = [
//	  1,                               ; format version
//	  uint,                            ; generation: changes since the store was created
//	  [* revocation],                  ; in the order recorded
//	]
//	revocation = [
//	  bstr .size (0..8),               ; slot; empty when the revocation names a key only
//	  bstr .size 32,                   ; SHA-256 of the key's 65-byte encoding
//	  bstr .size (0 / 16),             ; statement ID; empty when none
//	  uint,                            ; when, seconds since the epoch
//	]
//
// # Where the project chose
//
// The CCC specification is not public (docs/protocol.md §11). Beyond the formats
// above:
//
//   - Validity windows are inclusive to the second, as package attest checks
//     them; Friend.NotAfter is the last valid second.
//   - A session method that fails after the message opened leaves the
//     session as it was (contrary to the sticky failures of the protocol sessions):
//     whoever can seal to a session could otherwise kill it. A message that
//     does not open never changes anything. A session signs one key; Sign,
//     Import, a cancellation and a decline end it.
//   - Sharing needs the CCC profile: the endpoint certificate binds an
//     8-byte vehicle identifier (cert), so Home Key's 16-byte identifiers
//     have no key-creation chain to verify.
//   - The friend's device trusts the Vehicle OEM root the invitation
//     carries unless FriendConfig.VehicleRoots says otherwise; that root
//     came to the owner at pairing (docs/protocol.md §6.1).
//   - Tracking receipts travel as a statement kind of the mailbox area and
//     VehicleIntake.CheckReceipt verifies them; the CONTROL FLOW codes
//     4088/4089/0190 of their hand-off are the vehicle's.
//   - DeviceID, which lost mode suspends by, is the SHA-256 of the instance
//     CA's public key: one per applet instance, the same for every vehicle.
//   - A slot revoked once is never enrolled again: vehicles that allocate
//     slot identifiers for friends must not reuse them.
//   - A key attestation's validity window lies within its signer's own, as
//     its profile within the signer's grant (issue 12, finding 2): Invite
//     refuses an offer outside OwnerConfig.NotBefore/NotAfter (the sharing
//     key's own window, zero for an owner key), Sign and PlanDeviceChange
//     never sign one, and VehicleIntake.AdmitFriend refuses one through the
//     attest.Signer windows the vehicle passes.
//   - Secrets never print (issue 12, finding 7): Offer (its activation
//     code), OwnerSession and FriendSession (their response keys) redact
//     themselves in String, GoString and Format, for every verb.
package sharing
