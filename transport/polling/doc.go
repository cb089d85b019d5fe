// Package polling is the polling policy shared by the NFC controller
// drivers (transport/pn532, transport/nci): the Enhanced Contactless Polling
// frame that makes a phone offer its key in express mode, the timings of the
// polling loop, and the loop itself, which yields the phones that answer.
//
// # ECP frames (docs/protocol.md §2.6)
//
// Apple phones offer a pass without user interaction only after the reader
// sent, during polling, an ECP frame naming that kind of pass. The frame is
// 6A, a version, a payload and the CRC_A of ISO/IEC 14443-3; version 1
// carries a 3-byte TCI (terminal capabilities identifier), version 2 a
// configuration byte (bit 7 always set, bit 6 "no authentication needed",
// the length of what follows in bits 3-0), a terminal type and subtype, the
// TCI and extra data (kormax/apple-enhanced-contactless-polling, README
// "Structure"; public traces, I+). [ECP] builds and parses them without
// allocating.
//
//   - Home Key ([HomeKey], [ForProfile]): access terminal, subtype 06, TCI
//     02 11 00 and the 8-byte reader group identifier, the first half of
//     the 16-byte reader identifier; express bit set (I+ [AHK][AHKR]). The
//     [KUPA] example 6A 02 CB 02 04 02 11 00 94 62 5F D2 C3 2C F3 C2 DD 38
//     has subtype 04 and is reproduced byte for byte by [NewECP].
//   - CCC car keys ([Terminal]): not public (docs/protocol.md §2.6, N). Public
//     traces show access terminals of subtype automotive (09) with a brand
//     TCI whose first byte is 01; the terminal type, subtype, TCI and data
//     are configuration, and there is no default TCI ([ErrNoTCI]).
//
// # The loop
//
// A [Loop] runs rounds on a [Reader]: field on, FieldOnGuard, the ECP frame,
// activation of one ISO/IEC 14443-4 type A target; after an empty round the
// field stays off for Interval. Each [Target] that answers is yielded to
// the range loop of [Loop.Targets] (a transport.Transceiver, for
// vehicle.Reader.Transact); then the loop checks its presence every
// PresenceInterval until it leaves, releases it, and polls again.
//
// # Where the project chose
//
// The timings are configuration with defaults taken from public sources,
// each cited at its constant: [DefaultInterval] 100 ms (the Home Key readers
// [DDK] and [AHKR]), [DefaultFieldOnGuard] 5.1 ms (ISO/IEC 14443-3 §5),
// [DefaultPresenceInterval] 60 ms ([DDK]). The configuration bits of ECP
// version 2 whose meaning is not known (bit 7 set, bits 5 and 4 clear in
// every public frame) are written as seen, and a parsed frame that differs
// is rejected.
package polling
