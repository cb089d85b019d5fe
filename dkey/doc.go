// Package dkey is the shared vocabulary of the Digital Key protocol: the
// identifiers, protocol versions, profiles, applet identifiers, access
// profiles, key states, mailbox layout, status words, P-256 key and signature
// encodings and sentinel errors that every other package of the SDK speaks.
//
// dkey imports only the standard library, so that a vehicle head unit, a
// phone-side service and a test bench can share these types without pulling
// in protocol code.
//
// # Identifiers
//
// A [VehicleID] selects the vehicle (reader) whose key the endpoint must use
// (AUTH0 tag 4D). The CCC Digital Key applet uses 8 bytes; Apple's Home Key
// derivative uses 16 (an 8-byte reader group identifier followed by an 8-byte
// reader identifier). A [KeySlot] identifies one endpoint key (AUTH1 tag 4E):
// 8 bytes in CCC, 6 in Home Key; the type accepts 1 to 8 bytes because the
// public sources disagree (docs/protocol.md §11 item 11).
//
// Aliro (docs/protocol.md §13) names its reader with a 32-byte [ReaderID]: a
// 16-byte [ReaderGroupID], by which the device finds its credential, and a
// 16-byte [ReaderSubGroupID], by which it finds Kpersistent (CSA Aliro 1.0
// section 6.2). [Profile.DerivedKeySlot] gives the key slot Home Key and
// Aliro compute from the endpoint's public key, and [Profile.ECPTCI] the
// Enhanced Contactless Polling TCI of express mode.
//
// # Versions and profiles
//
// A [Version] is the 2-byte major‖minor protocol version (0100 is 1.0). A
// [VersionList] is a list ordered from highest to lowest, as sent in the
// SELECT response (tag 5C). A [Profile] selects the wire details that differ
// between the CCC applet ([CCC], the default, the zero value), Home Key
// ([HomeKey]), whose bytes are verified against real phones, and CSA Aliro
// ([Aliro]), whose bytes are checked against its published specification's
// examples. Aliro speaks 1.0 by default; [VersionAliro09], which wallets
// offered before Aliro 1.0, is an explicit opt-in.
//
// # Keys
//
// Every public key on the wire is a 65-byte SEC 1 uncompressed P-256 point
// ([PublicKey]); every signature is a raw r‖s pair of 64 bytes
// ([Signature]), not DER. Long-term private keys sit behind [crypto.Signer],
// so that a secure element or an HSM can hold them; [SoftwareKey] is the
// in-memory backend used by default and in tests. It redacts itself in
// String, GoString and Format, for every verb: only its public key prints.
//
// # Where the project chose
//
// The CCC specification is licensed to members. Where a detail here is not
// public, the choice is the project's and is marked in the comment of the
// identifier that carries it: the [Entitlements] bit assignments and the
// [AccessProfile] speed limit (the public sources name the entitlement classes
// but not their encoding), and the exact key-slot length range. The Aliro TCI
// 20 42 20 comes from public research (kormax/aliro), not from Aliro 1.0,
// which leaves ECP out. A Home Key
// vehicle speaks version 2.0 alone by default ([Profile.VehicleVersions]):
// 1.0 binds no version list into the key derivation, so offering it lets a
// relay downgrade the reader; it is an opt-in of the reader's configuration.
package dkey
