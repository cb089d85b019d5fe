// Package seal keeps the records of a role (the device applet, its
// persisted secure element, the vehicle reader) in a store, versioned and
// sealed: AES-256-GCM under a data key that a key-encryption key wraps
// (docs/design.md, "State, secrets and durability").
//
// The key-encryption key is an interface, [KEK], so that an HSM, a TPM or
// a KMS can hold it; [SoftwareKEK] holds it in process memory. A store
// section (a key prefix) starts with a header record in clear: the
// format, the role, the role's schema version and the wrapped data key.
// Every other record of the section is sealed with the data key, and its
// identity (role, schema version, record name) is bound as additional
// data, so that a record cannot be moved to another name, another section
// or another store, and a file copied without the key-encryption key opens
// nothing.
//
// Errors are typed: [ErrKEK] for a key-encryption key that does not open
// the data key, [ErrSchema] for a schema version the caller does not know
// (never a silent reset), [ErrCorrupt] for a header or a record that does
// not open or parse.
//
// # Where the project chose
//
//   - Sealing every record, not only the secret fields: the records of the
//     device and the vehicle mix secrets (Kpersistent, tokens, mailbox
//     contents, verifiers) with state whose integrity matters as much (key
//     states, revocations, attempt counts). One AEAD over each record
//     covers both.
//   - A data key per section, random, wrapped once: the key-encryption key
//     is used at open and when a section is created, never per record, so
//     a slow KMS costs nothing per transaction. Record nonces are random
//     (96 bits): far below 2^32 seals per data key in a vehicle's life.
//   - A record is sealed whole; its freshness is not: someone who can
//     write the file can put back an older sealed copy of the same record,
//     or an older copy of the whole file. A role that must detect rollback
//     compares a generation it stores with a monotonic counter of its
//     secure element.
package seal
