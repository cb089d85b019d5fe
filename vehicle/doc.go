// Package vehicle is the vehicle side of the Digital Key: the reader at the
// door handle and the console, the vehicle's key store, and the policy of
// what each key may do (PROTOCOL.md §1, §4, §9).
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
// Enrolment here is direct ([Reader.Enroll]); owner pairing and sharing add
// keys through their own packages.
//
// # Where the project chose
//
//   - CONTROL FLOW codes for the policy's refusals (PROTOCOL.md §4.9 lists
//     no code for them): 0000 for a suspended key or a missing entitlement,
//     0002 for a key outside its validity window, 0001 for an unknown slot,
//     00A0 for a removed key that proves itself (the device then deletes it).
//   - Kpersistent is replaced on both sides only when a standard transaction
//     succeeds: the vehicle replaces its copy when the device acknowledged
//     the success CONTROL FLOW, and the device (package device) commits its
//     staged copy when it receives it. Any failure in between leaves both
//     with the old key; the rare loss of the final acknowledgement leaves them
//     apart, and the next fast transaction falls back to a standard one,
//     which brings them together again.
package vehicle
