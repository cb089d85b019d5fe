// Package vehicle is the vehicle side of the Digital Key: the reader at the
// door handle and the console, the vehicle's key store, and the policy of
// what each key may do (PROTOCOL.md §1, §3, §4, §6, §7, §9).
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
//   - Owner pairing (PROTOCOL.md §3): [Reader.InstallVerifier] (or
//     [Reader.ReplaceOwner] for a new owner device, which removes the
//     previous owner keys) and [Reader.Pair] run SPAKE2+, the certificate
//     exchange and the first transaction through package pairing, and
//     enroll the owner key.
//   - Sharing (PROTOCOL.md §6.4, package sharing): a standard transaction
//     whose AUTH1 names an unknown slot is a first friend transaction when
//     the AUTH1 private subset carries a statement area with a key
//     attestation. The reader admits the key (sharing.Vehicle.AdmitFriend:
//     signer enrolled and entitled to share, this vehicle, validity, the
//     profile within the signer's, the AUTH1 slot, not revoked), verifies
//     AUTH1 with the attested key, enrolls it with its profile and validity,
//     applies the policy and ends with CONTROL FLOW 4082, on which the device
//     clears the attestation. Result.FirstFriend says so; from then on the
//     profile, its speed limit included, is enforced like any other.
//   - Statements: the private mailbox of a key enrolled with a statement
//     area (Enrollment.StatementArea: paired owners, admitted friends)
//     carries what its device queues for the vehicle: the re-issued key
//     attestations of a device change (admitted and enrolled ahead of the
//     friends' first transactions), termination attestations (recorded in
//     the revocation store, then the key removed) and tracking receipts. The
//     reader reads the area in the key's standard transactions, processes
//     every statement (Result.Statements) and ends with 4082.
//   - Removal: [Reader.Remove] (the dashboard) records the key in the
//     revocation store ([Config].Revocations, [Reader.Revocations]) before
//     it goes, so no attestation admits it again and Enroll refuses it; its
//     next transaction tells the device to delete it (00A0).
//     [Reader.ApplyCommand] carries out the automaker's key commands:
//     suspend and resume (lost mode), terminate with a termination
//     attestation.
//
// # Where the project chose
//
//   - CONTROL FLOW codes for the policy's refusals (PROTOCOL.md §4.9 lists
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
//     with the old key; the rare loss of the final acknowledgement leaves them
//     apart, and the next fast transaction falls back to a standard one,
//     which brings them together again.
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
//     all (sharing.CheckCapacity), so the removal holds. The caller persists
//     the store after each change; the reader keeps it in memory.
package vehicle
