// Package device is the device side of the Digital Key: one applet
// instance, as in the secure element of a phone or watch, that hosts every
// key of the device for any number of vehicles (PROTOCOL.md §1, §4, §5).
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
//   - Key slot identifiers: SHA-1(public key)[0:6] in the Home Key profile
//     (verified against a real Apple Watch), 8 random bytes in the CCC
//     profile, unless the configuration names one.
//   - The status word of a refusal: 6A82 for a vehicle the applet has no live
//     key for (terminated keys included), 6985 for lost mode, a suspended key
//     or a missing user authentication.
//   - State is held in memory. A persistent implementation must write each
//     change (key creation, Kpersistent replacement, termination, mailbox
//     writes) atomically.
package device
