// Package statefile opens the state file of a test-bench program: a
// store/bolt file that a device.Applet or a vehicle.Reader keeps its state
// in (device.Config.Store, vehicle.Config.Store), and beside it the file of
// the key-encryption key that seals it (Config.KEK). cmd/vcard,
// cmd/dkey, examples/pcsc-reader and examples/nfc-reader share it, so that
// their state files behave alike.
//
// The key-encryption key file holds 32 random bytes (AES-256), mode 0600;
// Open creates it with a new state file, and refuses a state file that
// exists without its key file rather than seal it under a new key that
// cannot open it. TEST BENCH ONLY: a vehicle keeps its key-encryption key
// in its HSM and a phone in its secure element, never in a file beside
// the state.
//
// Besides the role's own section, a state file has a section of its own
// (package internal/seal: prefix "bench/", role "bench", schema 1), sealed
// under the same key, for what the program needs to find again: its
// records (File.Get, File.Put) and the software P-256 keys it created
// (File.SigningKey), such as the vehicle's long-term key of a bench
// vehicle that is not kept in an HSM. A key record is the 32-byte scalar,
// nothing else; the schema version of the section versions it.
//
// # Where the project chose
//
//   - The key-encryption key file is path + ".kek" unless named, as the
//     programs always did; a KEK file without a state file is used as it
//     is (several state files may share one).
//   - A program's long-term software keys live sealed in the state file
//     rather than in files of their own: the state file and its key file
//     are the whole identity of a bench vehicle or phone, and copying the
//     state file without its key file gives away nothing.
package statefile
