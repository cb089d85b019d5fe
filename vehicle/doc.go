// Package vehicle is the vehicle side of the Digital Key: the reader at the
// door handle and the console, the vehicle's key store, and the policy of
// what each key may do (docs/protocol.md §1, §3, §4, §6, §7, §9).
//
// A [Reader] holds the enrolled keys (endpoint public key, key slot,
// Kpersistent, access profile, validity, last use, immobilizer token) and
// runs transactions over any transport.Transceiver with
// [Reader.Transact]:
//
//   - unlock and lock ask for a fast transaction; the reader looks for the
//     key whose Kpersistent reproduces the cryptogram, most recently used
//     first, and falls back to a standard transaction on a miss;
//   - engine start, and every other action, takes a standard transaction,
//     and engine start checks the immobilizer token in the key's
//     confidential mailbox (from the AUTH1 response when the key's mailbox
//     configuration returns it there, otherwise by EXCHANGE);
//   - a key's first standard transaction writes its immobilizer token;
//   - every transaction ends with CONTROL FLOW telling the device the
//     outcome, and returns a typed [Result]: which key, which action, fast or
//     standard, the key's access profile (whose speed limit the vehicle
//     enforces), and why it failed.
//
// # How keys arrive and go
//
//   - Directly: [Reader.Enroll], for test benches and keys enrolled out of
//     band.
//   - Owner pairing (docs/protocol.md §3): [Reader.InstallVerifier] (or, for a
//     vehicle that has an owner, [Reader.ReplaceOwner] when it changes
//     owner, which removes the previous owner keys and every key shared
//     from them, and [Reader.ReplaceOwnerDevice] when the same owner moves
//     to a new device, which removes the previous owner keys and keeps the
//     shares) and [Reader.Pair] run SPAKE2+, the certificate exchange and
//     the first transaction through package pairing, and enroll the owner
//     key. The attempts against a verifier are stored with it.
//   - Sharing (docs/protocol.md §6.4, package sharing): a standard transaction
//     whose AUTH1 names an unknown slot is a first friend transaction when
//     the AUTH1 private subset carries a statement area with a key
//     attestation. The reader admits the key (sharing.VehicleIntake.AdmitFriend:
//     signer enrolled and entitled to share, this vehicle, validity, the
//     profile within the signer's, the AUTH1 slot, not revoked), verifies
//     AUTH1 with the attested key, enrolls it with its profile and validity,
//     applies the policy, acknowledges the area inside the secure channel
//     (on which the device clears the attestation) and ends with CONTROL
//     FLOW 4082. Result.FirstFriend says so; from then on the
//     profile, its speed limit included, is enforced like any other.
//   - Statements: the private mailbox of a key enrolled with a statement
//     area (Enrollment.StatementArea: paired owners, admitted friends)
//     carries what its device queues for the vehicle: the re-issued key
//     attestations of a device change (admitted and enrolled ahead of the
//     friends' first transactions), termination attestations (recorded in
//     the revocation store, then the key removed) and tracking receipts. The
//     reader reads the area in the key's standard transactions, processes
//     every statement (Result.Statements), acknowledges the area and ends
//     with 4082.
//   - Removal: [Reader.Remove] (the dashboard) records the key in the
//     revocation store ([Config].Revocations, [Reader.Revocations]) before
//     it goes, so no attestation admits it again and Enroll refuses it; its
//     next transaction tells the device to delete it (00A0).
//     [Reader.ApplyCommand] carries out the automaker's key commands:
//     suspend and resume (lost mode), terminate with a termination
//     attestation.
//
// # Home Key
//
// In the Home Key profile a Reader is a lock of a home (docs/protocol.md §2, §4,
// package mdoc). The locks of a home share the home's reader key and reader
// group identifier ([HomeKeyGroupID], the first 8 bytes of AUTH0 tag 4D);
// each has its own 8-byte reader identifier (the last 8), so Config.VehicleID
// is the group then the lock's identifier. Keys arrive by Enroll (the
// home's controller) or by attestation: with issuers enrolled
// ([Reader.EnrollIssuer], the Ed25519 keys of the home's members), a
// standard transaction whose AUTH1 names a key the lock does not know
// runs the attestation flow ([HomeKeyConfig.Attest] can also ask for it in
// every standard transaction of a known key, or never): the attestation
// EXCHANGE with a fresh secret, CONTROL FLOW 40A0, then the configuration
// applet's ENVELOPEs; the document must verify against an enrolled issuer
// at the reader's time, name the slot AUTH1 named (SHA-1 of its key,
// [HomeKeySlot]) and bind the key whose signature AUTH1 carries; then the
// key is enrolled, with the issuer (KeyInfo.Issuer) and the transaction's
// Kpersistent, and its next tap is fast. Result.Attested says so. Any
// failure before the enrolment leaves the stored state as it was.
//
// # State and durability
//
// With Config.Store (store.Memory, store/bolt's one-file store, or any
// store with atomic batches) the reader keeps its state across restarts,
// and NewReader restores it: the enrolled keys with their Kpersistent (the
// first unlock after a restart is fast), immobilizer tokens, access
// profiles, validity, states, lineage and pairing secrets; the removed
// keys it remembers; the revocation store; the pairing verifier and the
// attempts spent against it. Each state change is one atomic batch:
// enrolment (an admitted friend's included), Kpersistent's replacement
// with the token's provisioning, a key state, a removal with its
// revocation, a termination's revocation, a tracking receipt, a verifier's
// installation or removal, each pairing attempt, a completed pairing with
// the verifier used up, the replacement of owner keys. The records are
// versioned and sealed (AES-256-GCM under a data key that Config.KEK
// wraps, package internal/seal), each bound to its name: a wrong
// key-encryption key is ErrStateKEK, an unknown schema ErrStateVersion, a
// damaged, moved or missing record ErrStateCorrupt, and nothing is served
// from them. Close stores what waits for the next batch.
//
// # Release 3: BLE and UWB
//
// [Reader.Transact] and [Reader.Pair] run unchanged over package
// transport/ble's Tunnel (docs/protocol.md §8.3): the reader binds the
// interface byte the transceiver reports into the transaction's key
// derivation (§4.4; 5E when it reports none) and frames APDUs as it says
// (the tunnel carries extended-length APDUs and refuses chained ones, so
// the certificates of owner pairing travel extended). [Reader.RKEKey] is
// the store of keys of transport/ble's RKE core (§8.6); [Reader.BLEKeys]
// returns the BLE keys owner pairing derived (§3.3), stored with the key
// for the first approach. A transaction for dkey.ActionRangingKey (P2 10)
// asks the device to keep its URSK (CREATE RANGING KEY, §2.3) and keeps
// the vehicle's copy under the UWB session ID (§8.4,
// Result.RangingSession) with the device's rules: bounded slots
// (Config.Ranging), a lifetime, deleted with the key; the reader is the
// vehicle's ranging.KeyStore ([Reader.RangingKey]).
//
// # Hooks
//
// Config.Hooks (in the style of net/http/httptrace) reports what a bench or
// the vehicle's diagnostics need to see: each transaction's start and end
// with its Result and duration, a fast cryptogram that matched no key (the
// two sides disagree about Kpersistent), a refusal because of the key's
// state (suspended, outside its validity, not entitled, removed or revoked,
// unknown, or refused by the device), each statement processed, and owner
// pairing's start, attempts (with the attempts left) and end. Hooks run
// outside the reader's lock; nil hooks cost nothing, and set hooks allocate
// nothing (TestHooksAllocations, BenchmarkFastHooks). The library does not
// log: cmd/dkey wires the hooks to log/slog.
//
// # Key log and deterministic randomness
//
// For test benches only, Config.KeyLog receives the keys of every
// transaction (transaction.VehicleConfig.KeyLog) and of every pairing
// channel (pairing.VehicleConfig.KeyLog) the reader runs, so that a
// recorded trace can be decrypted (dkey trace decode -keylog). Anyone who
// reads it can decrypt the sessions, immobilizer tokens included, and
// answer the next fast transaction in a key's place: never set it in a
// vehicle.
//
// For tests and conformance vectors only, Config.Rand replaces crypto/rand
// for the reader's protocol randomness: each transaction's ephemeral key
// and identifier, the SPAKE2+ scalar, and the immobilizer token of a paired
// owner key. With device.Config.Rand on the applet's side, the golden
// transcripts in testdata are reproduced byte for byte
// (TestGoldenTranscripts); key pairs and ECDSA nonces come from the
// process-wide source, which testing/cryptotest.SetGlobalRandom fixes, and
// the sealing of stored records always from crypto/rand.
//
// # Aliro
//
// [AliroLock] is the reader side of CSA Aliro 1.0 (docs/protocol.md §13): a door
// lock or an access-control reader, a type of its own beside Reader. A
// Matter controller configures it through the shape of the Matter Door
// Lock cluster (aliro_matter.go lists the mapping with its sources):
// [AliroLock.SetAliroReaderConfig] (the reader's signing key, its
// verification key, the group identifier, the group resolving key) and
// [AliroLock.ClearAliroReaderConfig], [AliroLock.SetCredential],
// [AliroLock.GetCredentialStatus] and [AliroLock.ClearCredential] for the
// three Aliro credential types (65-byte uncompressed P-256 keys: endpoint
// keys, evictable or not, and Credential Issuer keys), and
// [AliroLock.AliroAttributes]. [AliroLock.SetAliroReaderCertificate] adds a
// reader certificate for LOAD CERT. [AliroLock.Transact] runs the fast
// phase first; the standard one when no Kpersistent matches or a newer
// document waits; the step-up phase (package mdoc) when the device offers
// an access document the lock needs (for a key it does not know, checked
// with its issuer keys, or newer than the one a learned key came with) or
// a revocation document newer than any it applied. A verified access
// document admits its key as an evictable endpoint key of the issuer's
// user, with its access data, whose rules and schedules
// (mdoc.AccessData.Allows) decide every later transaction of that key,
// fast ones included; a revocation document replaces or amends the
// issuer's revocation list, and the learned keys it names go. Every
// transaction ends with the reader status in an EXCHANGE, under the
// step-up channel after a step-up phase (Aliro 1.0 §8.4). With
// AliroLockConfig.Store the lock keeps its configuration, sub-group
// identifier, credentials with their Kpersistent and access data, and
// revocations (sealed, versioned, one batch per change).
//
// # Where the project chose
//
//   - Aliro: a lock is an AliroLock, not a Reader in a fourth profile: its
//     configuration (Matter's), its credentials and their documents, and
//     its session type (transaction.AliroReaderSession) share nothing with
//     a vehicle's enrolled keys.
//   - Aliro: AUTH1 asks for the credential's public key (5A), so that a key
//     the lock does not know can be learned; the device's signature is
//     checked before anything is decided. The lock stores a new
//     Kpersistent once the device has answered the final EXCHANGE (the
//     device commits its copy on that EXCHANGE, package device), for a
//     trusted key only: one it holds, or one a verified access document
//     admits and no revocation names, whatever its schedule says now
//     (Matter §5.2.6.9.1 adds the key when the document validates). A
//     refused document, an unknown or revoked key change nothing but the
//     revocations a verified revocation document brought.
//   - Aliro reader statuses of refusals: 0001 unknown key, 0002 a document
//     expired (or not yet valid), 0003 a revoked key or an unknown issuer,
//     0004 a document whose signature or digests fail, 0007 malformed or
//     unusable content (a critical extension), 0025 a schedule, a rule or
//     reader rules that do not allow the action (Aliro 1.0 Table 8-18; the
//     mapping is the project's). An unlock is allowed by the unsecure,
//     momentary, extended momentary and toggle capabilities, a lock by
//     secure and toggle.
//   - Aliro replays: a revocation document is applied only when signed
//     after the issuer's last one (the project's stand-in for the
//     specification's ValidityIteration, which package mdoc does not
//     read), and an access document older than the one a learned key holds
//     is refused. The lock asks for a revocation document only when the
//     device's timestamp is newer than the newest it applied from any
//     issuer.
//   - Aliro: ClearAliroReaderConfig and SetAliroReaderCertificate drop
//     every Kpersistent (both are bound to the reader_group_identifier_key);
//     clearing an issuer key removes the keys it admitted.
//   - Home Key locks are this Reader in the Home Key profile, not a type of
//     their own: a lock needs what a vehicle's reader has (enrolled keys
//     with Kpersistent, fast-then-standard, policy, CONTROL FLOW, the
//     stored state), and the attestation flow is one more way for a key
//     to arrive, like a first friend transaction. What a lock does not use
//     (immobilizer tokens, statement areas, pairing) stays off: keys
//     enrolled by attestation have none.
//   - Home Key attestation: the flow ends with CONTROL FLOW 40A0, the
//     transaction's only one (the device is on the configuration applet,
//     and the public reader sends none after it); the device commits its
//     Kpersistent on it, and the reader commits its copy with the
//     enrolment's outcome, as for any standard transaction. A key enrolled
//     by attestation gets HomeKeyConfig.Profile (AccessOnly by default)
//     and no validity window: the document is checked at its attestation
//     (and at every standard transaction with AttestAlways); removing its
//     issuer suspends it. A removed key is not attested again: its slot
//     is told to delete the key (00A0), and the revocation store refuses
//     its enrolment. The public reader ([AHKR]) enrols the document's key
//     without checking the AUTH1 signature; this reader checks it, and the
//     slot, before it enrols anything.
//   - CONTROL FLOW codes for the policy's refusals (docs/protocol.md §4.9 lists
//     no code for them): 0000 for a suspended key or a missing entitlement,
//     0002 for a key outside its validity window, 0001 for an unknown slot,
//     00A0 for a removed or revoked key (the device then deletes it); a
//     refused key attestation ends with the code of its
//     sharing.VehicleError (0002, 0003, 0006 or 00A0), and a transaction that
//     consumed a statement area with 4082 instead of 0100.
//   - Kpersistent is replaced on both sides only when a standard transaction
//     succeeds: the vehicle replaces its copy when the device acknowledged
//     the success CONTROL FLOW, and the device (package device) commits its
//     staged copy when it receives it. Any failure in between leaves both
//     with the old key; the rare loss of the final acknowledgement, or a
//     crash between the two commits, leaves them apart, and the next fast
//     transaction falls back to a standard one, which brings them together
//     again.
//   - Writes: a standard transaction costs one batch (the new Kpersistent,
//     and the token when this transaction wrote it), after the device's
//     acknowledgement; a fast transaction none. When each key was used
//     last, and the order of use the fast lookup follows, are written with
//     the next batch and at Close: a crash may lose them, nothing else.
//   - Pairing attempts are spent, and stored, before SPAKE2+ VERIFY is
//     sent: pulling the power while the two sides verify still costs the
//     attempt. They come back only with a completed pairing or a new
//     verifier: installing the same verifier again (compared by the
//     SHA-256 of its encoding, with the last one the reader held) keeps
//     them, and so does a restart (issue 12, finding 1). An attempt whose
//     password SPAKE2+ proved right stays spent if the pairing fails later.
//   - Each enrolled key remembers the key at the top of its chain of
//     attestations (KeyInfo.SharedFrom: the owner key, or a key enrolled
//     directly), so that a change of owner removes every key shared down
//     from the replaced owner keys, re-shares included, even when the keys
//     in between are gone; a device change of the same owner moves them to
//     the new owner key (issue 12, finding 4). The replacement is stored
//     with the new owner key's enrolment and carried out after its first
//     transaction (or rolled back when the device did not keep the key); a
//     restart in between carries it out at NewReader.
//   - The statement area is acknowledged inside the secure channel, once
//     its statements are applied and stored: an EXCHANGE writing the empty
//     area header (no statement bit, zero length) at offset 0 of the
//     private mailbox, on which the device clears it (package device). A
//     device that refuses (its host wrote the area since AUTH1) keeps the
//     area; the transaction ends with 0100, and the statements come again.
//     The statements of one area are applied one by one, each in its own
//     batch (an admission, a removal, a receipt); a crash before the
//     acknowledgement leaves the area on the device, and the next
//     transaction applies them again, to no effect for those already
//     stored.
//   - Statement areas are read in standard transactions only: a fast unlock
//     stays as short as it is, and engine start is always standard. The area
//     header comes from the AUTH1 private subset when the key's mailbox
//     configuration returns offsets 0 to 3 there (friend keys return the
//     whole area); otherwise it costs one EXCHANGE per standard transaction
//     of a key enrolled with a statement area, and none for the others, whose
//     bytes on the wire are unchanged. The rest of the area is read in
//     EXCHANGEs of at most transaction.MaxReadLength bytes. An area that does
//     not parse is reported and left alone; the transaction stands.
//     Refused statements are consumed: they would be refused again.
//   - An unknown slot whose AUTH1 subset holds a key attestation is judged
//     by the attestation first, so that a replayed attestation of a removed
//     key is refused at the revocation check, with 00A0, whether or not the
//     reader still remembers the removal.
//   - Friend keys: the attested NotAfter is the last valid second, so the
//     enrolment's NotAfter, the first invalid instant, is a second later.
//     The vehicle knows of a friend's mailboxes what AUTH1 returned (the
//     area at offset 0) and assumes sharing.FriendMailboxes for keys
//     enrolled from a re-issued attestation; friend keys get no immobilizer
//     token. A friend key stays enrolled when the key that shared it goes.
//   - Attestations are accepted from active keys within their validity;
//     terminations from those, and from any other enrolled key for itself
//     only (a suspended key may still attest its own deletion).
//   - A full revocation store does not stop a removal: it admits no key at
//     all (sharing.CheckCapacity), so the removal holds. With a Store the
//     reader stores each revocation in the batch of its removal (a
//     termination of a key not enrolled in a batch of its own);
//     Config.Revocations, when given with a Store, receives the stored
//     ones, and those it holds that the store lacks are stored at
//     NewReader.
//   - The interface byte of a transceiver comes from an InterfaceByte
//     method (transport/ble's Tunnel: C3 unless configured, docs/protocol.md
//     §11 row 7), its framing from a ClientConfig method; a transceiver
//     without them is NFC (5E, Config.Link).
//   - RKE: RKEKey refuses a key outside its validity window and the RKE
//     core one that is not active or not entitled, as Transact does; a
//     removed key is unknown.
//   - Only the ranging-key transaction (P2 10) sends CREATE RANGING KEY,
//     after the policy and the mailboxes, before CONTROL FLOW; the reader
//     checks its own slots first, so that the device never keeps a URSK
//     the vehicle would not. A refusal (6484: the device's slots are full)
//     fails the transaction with ranging.ErrKeySlotsFull. The vehicle's
//     copy is stored with the new Kpersistent, in the same batch, once the
//     device acknowledged the success CONTROL FLOW (on which it stores its
//     own). Slots are per reader (DefaultRangingSlots), the TTL the
//     device's (DefaultURSKTTL). A suspended key's URSKs, and those of a
//     key outside its validity window, are refused (revoked) and kept; a
//     removed, terminated or rolled-back key's are deleted with it. The
//     records of a key gone, and expired URSKs, are dropped at NewReader.
package vehicle
