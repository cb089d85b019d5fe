// Package apdutrace reads APDU traces of Digital Key sessions and decodes
// them for people: it names every command and status word, decodes the data
// objects of SELECT, AUTH0, AUTH1, EXCHANGE and CONTROL FLOW (docs/protocol.md
// §2, §4) and of owner pairing (SPAKE2+ REQUEST and VERIFY, WRITE DATA, GET
// DATA, OP CONTROL FLOW; §3, §5.3, §5.4), reassembles chained commands and
// responses read with GET RESPONSE (ISO/IEC 7816-4 §5.3.4, §5.4.1), and,
// given a key log, verifies and decrypts the secure messaging (§3.4, §4.7)
// of the sessions it covers. It is what `dkey trace decode` prints, in text
// ([Report.WriteText]) or JSON (encoding/json of [Report]).
//
// # Traces
//
// [Parse] reads the text form of package transport/transporttest's
// Transcript (which the SDK's golden files and any transporttest.Recorder
// in front of a real reader produce) and plain hexadecimal lines in the
// same shape: "> command", "< response", "! transport error", "# comment".
// It is strict (every command has its response, sizes within APDU limits,
// nothing but hexadecimal on a data line) and bounded ([MaxTraceSize],
// [MaxLineLen]); [Trace.String] writes the same form back.
//
// # Key logs
//
// [ParseKeyLog] reads the key logs that transaction and pairing sessions
// write when their configuration names a KeyLog writer (the format is in
// the documentation of package transaction, "Key log"). The decoder finds a
// transaction's keys by its transaction identifier (AUTH0 tag 4C) and a
// pairing's by the device's SPAKE2+ share X (tag 50 of the SPAKE2+ REQUEST
// response). It follows each channel from outside: it verifies and
// decrypts every command as the receiver does and every response as the
// sender does, and replays each plaintext on the other end so that the
// counters and the MAC chain advance as on the wire. The first MAC that
// does not verify is reported, and the rest of that channel is not checked.
//
// # Where the project chose
//
//   - Which keys an EXCHANGE uses: those of the AUTH1 of the same
//     transaction when there was one, otherwise the fast keys with the
//     channel starting at counter 01 (the SDK's choice for the channel
//     after a fast transaction, package internal/securemsg).
//   - The EXCHANGE operations are decoded in the project's encoding
//     (package transaction, exchange.go; docs/protocol.md §11 item 3).
//   - A command is named by its class and instruction; CONTROL FLOW and OP
//     CONTROL FLOW share 80 3C and are told apart by the applet the last
//     SELECT chose (the framework: OP CONTROL FLOW).
//
// The decoder is a display tool: it never fails, and what does not fit the
// protocol (a malformed APDU, a broken chain, a data object that does not
// parse) is reported in the step's Problems or as a "malformed" field.
package apdutrace
