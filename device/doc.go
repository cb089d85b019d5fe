// Package device is the device side of the Digital Key: one applet
// instance, as in the secure element of a phone or watch, that hosts every
// key of the device for any number of vehicles (PROTOCOL.md §1, §3 to §7).
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
// Long-term keys live behind [SecureElement]: private keys never leave it.
// [SoftwareElement], in process memory, is the default.
//
// # How keys arrive
//
//   - Directly: [Applet.CreateKey], for test benches and vehicles enrolled
//     out of band.
//   - Owner pairing (PROTOCOL.md §3): with Config.Pairing the applet also
//     answers the Digital Key framework's SELECT; [Applet.StartPairing]
//     takes the pairing password, and a vehicle's pairing run (package
//     pairing) creates the owner key, certified by the applet's instance CA.
//     [Applet.Pairing] returns what the run left (vehicle root and chain, key
//     configuration); the LONG_TERM_SHARED_SECRET stays inside and is erased
//     when the key is terminated.
//   - Sharing (PROTOCOL.md §6, package sharing): the Applet is the
//     sharing.KeyCreator of the friend's side. [Applet.CreateSharedKey]
//     creates a friend key bound to the invitation's vehicle and certifies
//     it with the instance CA ([InstanceCA], Config.InstanceCA or the
//     pairing configuration's); [Applet.ImportSharedKey] stores the owner's
//     key attestation at the start of its private mailbox and activates it.
//     The vehicle reads the attestation from the AUTH1 response of the
//     key's first transaction.
//
// # Sharing and key management
//
// The private mailbox of a key starts with a statement area (package
// sharing): the friend's key attestation, or the statements the owner's
// device queues for the vehicle with [Applet.AppendStatement] — the
// termination of a key it shared ([Applet.TerminateShared]), the key
// attestations a device change re-issues. The vehicle consumes the area in
// the key's next standard transaction and ends with CONTROL FLOW 4082,
// "delete the attestation package", on which the applet clears it.
//
// [Applet.SharingSigner] lends a key to package sharing as the signer of
// the attestations and terminations it makes; [Applet.TerminateAttested]
// deletes a key after it signed its own termination attestation, for the
// vehicle to remove it for good. [Applet.DeviceID] names the applet
// instance to the automaker's key tracking, by which lost mode reaches the
// vehicles.
//
// # Where the project chose
//
//   - One live key per vehicle in an applet (AUTH0 names the vehicle, not the
//     key).
//   - CONTROL FLOW travels in clear (PROTOCOL.md §4.9), so a relay can
//     rewrite the code of a genuine transaction. On "key deleted" (00A0),
//     and only after the vehicle authenticated itself with AUTH1 in the same
//     transaction, the applet suspends the key and flags it
//     (KeyInfo.VehicleDeleted) instead of destroying it; the host app
//     terminates it once the deletion is confirmed. A forged code costs a
//     Resume, never a key.
//   - On 4082 the applet clears the statement area only after AUTH1, when
//     the vehicle read the whole area in this transaction (the AUTH1 private
//     subset and EXCHANGE reads from offset 0 covered it) and the host app
//     has not written the private mailbox since AUTH1: a forged 4082 never
//     erases a statement the vehicle did not see. A relay that rewrites the
//     code of a transaction that read the area but failed can still make
//     it clear; the host app queues the statement again.
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
//   - State is held in memory. A persistent implementation must write each
//     change (key creation, import, Kpersistent replacement, termination,
//     mailbox writes) atomically.
package device
