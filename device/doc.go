// Package device is the device side of the Digital Key: one applet
// instance, as in the secure element of a phone or watch, that hosts every
// key of the device for any number of vehicles (docs/protocol.md §1, §3 to §7).
//
// An [Applet] answers command APDUs (it is a transport.Card): behind a PC/SC
// virtual card (transport/vpcd), a BLE link or an in-memory pipe. It takes
// whole commands and returns whole responses, whatever Le says; in front of
// a reader limited to short APDUs, put it behind transport.ChainingCard,
// which reassembles chained commands and serves long responses through
// GET RESPONSE. It selects
// the Digital Key applet by AID, runs transactions with a
// transaction.EndpointSession, and applies the device's policy before any key
// is used:
//
//   - key states: active, suspended (until resumed), terminated (for good: the
//     secure element destroys the private key, and the key never transacts
//     again, whether or not the vehicle has heard of it);
//   - lost mode: every key of the applet is suspended until it is turned off;
//   - express mode: on by default, per key; with it off a key transacts only
//     while a user authentication recorded by the host app is valid.
//
// Each key has a private and a confidential mailbox of the sizes its
// configuration gives. The vehicle reads and writes them only with EXCHANGE
// inside the secure channel of an authenticated transaction; the host app
// reaches the private mailbox through the management API and never the
// confidential one. An EXCHANGE is applied whole or not at all.
//
// Every secret lives behind [SecureElement]: the long-term private keys,
// which never leave it, and what each key accumulates — Kpersistent, the
// pairing LONG_TERM_SHARED_SECRET, the ranging keys of its UWB sessions
// (SecretRanging, one per UWB session ID, which the ranging setup stores
// and deletes) — each under the key's [KeyID]. [SoftwareElement], in
// process memory, is the default without a store; [StoredElement], sealed
// in the applet's store, with one. [KeyConfig].PrivateKey imports a given
// key, for test benches and provisioning lines only.
//
// # State and durability
//
// With Config.Store (store.Memory, store/bolt's one-file store, or any
// store with atomic batches) the applet keeps its state across restarts,
// and NewApplet restores it: keys, terminated ones included, with their
// mailboxes, states, express and power-reserve marks and pairing records;
// lost mode; power reserve. Each state change is one atomic batch: key
// creation and import, a shared key's import, Kpersistent's replacement
// (in the secure element; in Home Key with the lock's number in the key's
// Home Key record when the lock is new), a Home Key document's
// provisioning, a termination, a vehicle's mailbox writes
// (one EXCHANGE), a host's mailbox write or queued statement, the
// acknowledgement that clears a statement area, a key state, lost mode.
// The records are versioned and sealed (AES-256-GCM under a data key that
// Config.KEK wraps, package internal/seal), each bound to its name: a
// wrong key-encryption key is ErrStateKEK, an unknown schema
// ErrStateVersion, a damaged, moved or missing record ErrStateCorrupt,
// and nothing is served from them. A restarted applet answers as before:
// its first fast transaction works.
//
// # Power reserve
//
// [Applet.EnterPowerReserve] is what the operating system calls when the
// battery runs out; the secure element still answers the reader from the
// field's power, with no host and no host clock. Keys marked for it
// ([Applet.SetPowerReserve]) with express mode on transact; keys that
// need user authentication refuse with 6985 as always; other keys refuse
// with 6985 (ErrPowerReserve); management calls refuse with
// ErrPowerReserve (SetLostMode is always accepted). The mode is stored.
//
// # How keys arrive
//
//   - Directly: [Applet.CreateKey], for test benches and vehicles enrolled
//     out of band.
//   - Owner pairing (docs/protocol.md §3): with Config.Pairing the applet also
//     answers the Digital Key framework's SELECT; [Applet.StartPairing]
//     takes the pairing password, and a vehicle's pairing run (package
//     pairing) creates the owner key, certified by the applet's instance CA.
//     [Applet.Pairing] returns what the run left (vehicle root and chain, key
//     configuration); the LONG_TERM_SHARED_SECRET stays inside and is erased
//     when the key is terminated.
//   - Sharing (docs/protocol.md §6, package sharing): the Applet is the
//     sharing.KeyCreator of the friend's side. [Applet.CreateSharedKey]
//     creates a friend key bound to the invitation's vehicle and certifies
//     it with the instance CA ([InstanceCA], Config.InstanceCA or the
//     pairing configuration's); [Applet.ImportSharedKey] stores the owner's
//     key attestation at the start of its private mailbox and activates it.
//     The vehicle reads the attestation from the AUTH1 response of the
//     key's first transaction.
//
// # Home Key
//
// Which bytes of AUTH0 tag 4D select the key (docs/protocol.md §4.2): in the CCC
// profile all 8 of the vehicle identifier; in the Home Key profile the
// first 8 of the 16-byte reader identifier, the reader group identifier
// (SHA-256("key-identifier" ‖ reader private key)[:8], §10.4) that every
// lock of a home shares, so that one key opens them all. A Home Key key
// is created and named with the group ([HomeKeyGroupLen] bytes) or with
// any reader identifier of the home, and KeyInfo.VehicleID is the group.
// The last 8 bytes name the lock: the fast cryptogram binds the whole
// reader identifier (§4.5), so a key keeps a Kpersistent per lock, up to
// [MaxHomeKeyReaders], each in the secure element under the key's ID and
// the lock's number (SecretID.Session), and a standard transaction at one
// lock leaves the others' untouched.
//
// The attestation flow (§2.1, §2.3, §4.8, §4.9, package mdoc): a lock that
// does not know the key ends a standard transaction with the attestation
// EXCHANGE (00 8E 22 C0 20 <secret>, answered with the R-MAC alone) and
// CONTROL FLOW 40A0, then selects the configuration applet A0000008580102
// and reads, through two ENVELOPEs and GET RESPONSE, the attestation
// document the owner's device provisioned with
// [Applet.ProvisionHomeKeyDocument]: an issuer-signed mdoc.Document that
// binds the key's public key, stored with the key (sealed like every
// record) for its reader group.
//
// # Sharing and key management
//
// The private mailbox of a key starts with a statement area (package
// sharing): the friend's key attestation, or the statements the owner's
// device queues for the vehicle with [Applet.AppendStatement] — the
// termination of a key it shared ([Applet.TerminateShared]), the key
// attestations a device change re-issues. The vehicle consumes the area in
// the key's next standard transaction and acknowledges it inside the
// secure channel (an EXCHANGE writing the empty area header), on which the
// applet clears it; it then ends with CONTROL FLOW 4082, "delete the
// attestation package", which clears nothing.
//
// [Applet.SharingSigner] lends a key to package sharing as the signer of
// the attestations and terminations it makes; [Applet.TerminateAttested]
// deletes a key after it signed its own termination attestation, for the
// vehicle to remove it for good. [Applet.DeviceID] names the applet
// instance to the automaker's key tracking, by which lost mode reaches the
// vehicles.
//
// # Release 3: BLE and UWB
//
// Over Bluetooth LE (docs/protocol.md §8) package transport/ble's Serve hands
// the applet each command with the interface byte of the link
// ([Applet.ProcessAPDUOn]; ProcessAPDU is NFC's, 5E), and the
// transaction binds it into its key derivation (§4.4). [Applet.SignRKE]
// signs remote keyless entry (§8.6) under the policy of a transaction;
// [Applet.BLEKeys] returns the BLE keys owner pairing derived (§3.3), kept
// in the secure element (SecretBLE) for the first approach. CREATE
// RANGING KEY (80 71, §2.3) keeps the URSK of a standard transaction in
// the secure element (SecretRanging) under the UWB session ID, the last
// four bytes of the transaction identifier (§8.4): a bounded number of
// slots (Config.Ranging; 6484 when they are full, §2.4), a lifetime (URSK
// TTL), deleted with its key at termination and at lost mode, stored in
// the applet's state and restored while its lifetime allows. The applet is
// the device's ranging.KeyStore ([Applet.RangingKey]).
//
// # Hooks
//
// Config.Hooks (in the style of net/http/httptrace) reports what a bench or
// the host app needs to see: each transaction the applet accepts (with
// whether it offered a fast cryptogram) and its end with the vehicle's
// CONTROL FLOW and whether a new Kpersistent was stored, each refusal of
// AUTH0 with its reason (no key, lost mode, suspended, power reserve, user
// authentication required), a statement area the vehicle consumed, and
// owner pairing's derivation, attempt and end. Hooks run inside
// ProcessAPDU, mostly with the applet's lock held, so they must not call
// the applet; nil hooks cost nothing.
//
// # Key log and deterministic randomness
//
// For test benches only, Config.KeyLog receives the keys of every
// transaction (transaction.EndpointConfig.KeyLog) and pairing channel
// (pairing.DeviceConfig.KeyLog) the applet runs; anyone who reads it can
// answer the vehicle's next fast transaction in the phone's place. For
// tests and conformance vectors only, Config.Rand replaces crypto/rand for
// ephemeral keys, SPAKE2+ scalars and derived slot identifiers; key pairs
// come from the secure element whatever it is.
//
// # Aliro
//
// [AliroApplet] is the device side of CSA Aliro 1.0 (docs/protocol.md §13): the
// expedited applet A000000909ACCE5501 and the step-up applet
// A000000909ACCE5502 of a wallet, a type of its own beside Applet. It
// holds one Access Credential per reader group ([AliroApplet.CreateCredential]:
// a key in the secure element, bound to the group's
// reader_group_identifier_key, a reader key or a Reader System Issuer CA
// that certifies the readers), a Kpersistent per reader of the group
// (reader_group_sub_identifier; up to [MaxAliroReaders], each in the
// secure element under the credential's ID and the reader's number), a
// mailbox, and the credential's Access and Revocation Documents
// ([AliroApplet.ProvisionAccessDocument],
// [AliroApplet.ProvisionRevocationDocument]: issuer-signed mdoc documents
// that must bind the credential's key). Each command goes to a
// transaction.AliroEndpointSession; the applet applies the policy
// (express mode, [AliroApplet.AuthenticateUser], the reader's "force user
// authentication"), answers an unknown group with a decoy, answers
// mailbox EXCHANGEs (reads, writes, sets, atomic sessions), and announces
// its documents in the signaling bitmap and the signed timestamps. After a
// standard transaction of a credential with documents, SELECT of the
// step-up applet opens an mdoc.Device with the transaction's step-up keys;
// its ENVELOPE serves the documents for the group, and the EXCHANGE that
// follows, under the same channel, carries the reader's final status.
// With AliroConfig.Store the credentials, their mailboxes, documents and
// readers are stored as the Applet's keys are (sealed, versioned, one
// batch per change), under their own prefix, with a StoredElement of
// their own.
//
// # Where the project chose
//
//   - Aliro: the device commits the Kpersistent of a standard transaction
//     at the reader's first authenticated EXCHANGE (expedited or step-up):
//     a reader that sends one has derived its copy; the lock (package
//     vehicle) stores its copy once that EXCHANGE is answered. A
//     transaction that ends before leaves both with the old one.
//   - Aliro: the step-up applet answers SELECT with 9000 and no data, only
//     right after a standard transaction of a credential with documents
//     (6A82 otherwise: after a fast transaction, for another group, for a
//     credential without documents), and the applet sets signaling bit 2
//     (select the step-up AID) whenever it holds a document. Mailbox
//     requests in the step-up phase are refused (signaling bit 10 is 0 in
//     Aliro 1.0), and so are update_doc and URSK requests; the EXCHANGE
//     error codes are AliroErrorNoRight, AliroErrorOutOfBounds,
//     AliroErrorUnsupported and AliroErrorStorage (the specification
//     leaves them to the implementation). The applet does not verify its
//     documents' issuers (only readers know them); it checks they bind the
//     credential's key. A refusal of its policy at AUTH0 is 6985, as in the
//     CCC profile; the decoy for an unknown group is the session's.
//   - Aliro: an atomic session's writes live in memory until the command
//     that closes it, and are stored with it in one batch; a transaction
//     that ends first applies none of them.
//   - One live key per vehicle in an applet (AUTH0 names the vehicle, not the
//     key); in Home Key one per reader group, that is per home.
//   - Home Key: the applet accepts the attestation EXCHANGE only in a
//     standard transaction, after the lock's AUTH1 signature verified, and
//     arms the configuration applet only when that transaction ends with
//     CONTROL FLOW 40A0; the next SELECT (of any applet), a field reset or
//     any host change that ends transactions disarms it, and so does
//     serving it once. Until then SELECT of the configuration applet is
//     6A82, as it is for a key suspended or in lost mode meanwhile, or
//     without a document for the lock's group. The applet serves the
//     long response with 61xx and GET RESPONSE itself (a
//     transport.ChainingCard in front of the configuration applet), as
//     the recorded iPhone does. The Kpersistent of the transaction is
//     committed at 40A0, a "continue" (docs/protocol.md §4.9), so the lock's
//     next tap is fast once it has enrolled the key.
//   - Home Key: past MaxHomeKeyReaders locks the Kpersistent committed
//     least recently is forgotten and its number reused (the secure
//     element is written first, then the key's record: a crash in
//     between leaves at worst a lock whose Kpersistent no longer matches,
//     and its next transaction is standard). The order of commits is
//     display data, stored with the next batch. The applet does not check
//     a provisioned document's issuer or validity (only the locks know
//     the issuers, and the secure element has no clock); it checks that
//     the document binds the key.
//   - CONTROL FLOW travels in clear (docs/protocol.md §4.9), so a relay can
//     rewrite the code of a genuine transaction. On "key deleted" (00A0),
//     and only after the vehicle authenticated itself with AUTH1 in the same
//     transaction, the applet suspends the key and flags it
//     (KeyInfo.VehicleDeleted) instead of destroying it; the host app
//     terminates it once the deletion is confirmed. A forged code costs a
//     Resume, never a key.
//   - The statement area is cleared by the vehicle's acknowledgement, not by
//     CONTROL FLOW 4082, which travels in clear: a relay that corrupts what
//     the car receives and rewrites the final code to 4082 cannot erase a
//     termination the car never processed, nor a friend's only attestation
//     (issue 12, finding 3). The acknowledgement is an EXCHANGE, inside the
//     secure channel, writing the empty area header (no statement bit, zero
//     length) at offset 0 of the private mailbox; package vehicle sends it
//     once every statement it read is applied and stored. The applet
//     accepts it only when the vehicle read the whole area in this
//     transaction (the AUTH1 private subset and EXCHANGE reads from offset 0
//     covered it) and the host app has not written the private mailbox
//     since AUTH1; otherwise it answers 6985 and keeps the area, and the
//     vehicle applies the statements again at the next transaction, to no
//     effect. The choice of an EXCHANGE write (over a MAC on the CONTROL
//     FLOW) keeps the commands and the secure channel of docs/protocol.md §4.8
//     unchanged; no public source says how the CCC applet clears the area.
//   - A shared key is suspended, KeyInfo.AwaitingImport set, from
//     CreateSharedKey until ImportSharedKey: the vehicle admits a friend key
//     only from its attestation, so the key has nothing to present before,
//     and Resume refuses it (ErrAwaitingImport). Its endpoint certificate
//     takes the instance CA's validity, as at owner pairing: a share valid
//     from tomorrow must verify today; the attestation carries the key's
//     validity.
//   - SharingSigner requires a valid user authentication even for express
//     keys: express mode waives it for transactions at the reader, and a
//     signature that grants or withdraws access is a management action. The
//     key must be active and lost mode off, checked again at every
//     signature, which the secure element makes under the applet's lock.
//     TerminateAttested is always allowed: deleting a key never needs more.
//   - Key slot identifiers: SHA-1(public key)[0:6] in the Home Key profile
//     (verified against a real Apple Watch), 8 random bytes in the CCC
//     profile, unless the configuration names one. Sharing is CCC only: the
//     endpoint certificate binds an 8-byte vehicle identifier.
//   - The status word of a refusal: 6A82 for a vehicle the applet has no live
//     key for (terminated keys included), 6985 for lost mode, a suspended key
//     (a shared key awaiting its attestation included) or a missing user
//     authentication.
//   - Without Config.Store state is held in memory and nothing is encoded.
//     With one, the secure element and the applet write in two steps where
//     both change: the element first at a creation (its key, a pairing's
//     secret), the applet's record first at a termination (the element's
//     deletion follows, and runs again at the next open), so that a crash in
//     between leaves an orphan the next key under that ID replaces, never a
//     record without its key or a terminated key that transacts.
//   - Kpersistent is committed to the secure element before CONTROL FLOW is
//     answered; the vehicle commits its copy only once it has that answer.
//     The transaction count and the last code are display data, stored with
//     the next batch and at Close: a fast transaction writes nothing.
//   - User authentication, the pairing password and its SPAKE2+ requests,
//     and the transaction in progress are not stored: a restart ends them.
//   - A pairing password entry answers at most three SPAKE2+ REQUESTs
//     (maxPairingRequests), each a scrypt derivation with the vehicle's
//     parameters, run outside the applet's lock so that host calls (lost
//     mode) never wait for it (issue 12, finding 6).
//   - Power reserve: only keys the owner marked, with express mode on; the
//     host's clock is never read in the mode.
//   - The interface byte over BLE is C3 (Aliro's) unless the link says
//     otherwise (docs/protocol.md §11 row 7). One transaction runs at a time:
//     a command from another interface than the previous one ends the
//     transaction in progress, as a phone leaving the field does.
//   - RKE: SignRKE applies the policy of a transaction (lost mode, key
//     state, power reserve, express mode and user authentication), not the
//     stricter one of SharingSigner: unlocking the trunk from the phone is
//     what an unlock at the door is.
//   - CREATE RANGING KEY is accepted only after the AUTH1 of a standard
//     transaction of the CCC profile (the one that derives a URSK), in
//     clear as CONTROL FLOW, with up to 127 bytes of arbitrary_data the
//     applet binds nothing to (its use is not public); 6985 otherwise and
//     in power reserve (no clock for the TTL), 6B00 for P1-P2 other than
//     00 00, 6700 for more data. The URSK is staged and stored only when
//     CONTROL FLOW reports the transaction's success, as Kpersistent is,
//     so a transaction that fails keeps no URSK on either side. Slots are
//     per applet, every key together (DefaultRangingSlots), the TTL
//     DefaultURSKTTL (12 hours, Android's default URSK TTL); an expired
//     URSK makes room for a new one, and a session ID that comes again
//     replaces its URSK. A suspended key's URSKs stay but are refused
//     (revoked) until it is resumed; termination and lost mode delete
//     them. The secret is stored in the secure element before the index
//     record, and the record deleted before the secret, so that a crash
//     leaves at most a secret nothing names, which goes with its key.
package device
