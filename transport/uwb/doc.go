// Package uwb is a FiRa UCI host driver: it drives a UWB subsystem (UWBS,
// the UWB chip of a phone or of a vehicle's anchors) over a byte stream, for
// the secure ranging of Release 3 passive entry (docs/protocol.md §8.1, §8.4).
//
// # UCI framing
//
// Every UCI packet starts with a 4-byte header: message type (MT: data,
// command, response, notification), packet boundary flag (PBF), group and
// opcode identifiers (GID, OID) and the payload length (one octet for
// control packets, two little-endian octets for data packets). A message
// longer than 255 bytes travels as segments with PBF set on all but the
// last. [ParseHeader], [AppendHeader], [AppendMessage] (segmentation) and
// [Reassembler] (reassembly, with a size limit and no interleaving) are the
// sans-I/O framing; every multi-byte field is little-endian.
//
// # Messages
//
// Each message the host uses is a type with AppendPayload and
// UnmarshalPayload ([Message]): core (CORE_DEVICE_RESET, CORE_DEVICE_STATUS,
// CORE_GET_DEVICE_INFO, CORE_GET_CAPS_INFO, CORE_GENERIC_ERROR,
// CORE_QUERY_UWBS_TIMESTAMP), session configuration (SESSION_INIT with the
// CCC session type A0, SESSION_DEINIT, SESSION_STATUS, SESSION_SET_APP_CONFIG,
// SESSION_GET_APP_CONFIG) and session control (SESSION_START, SESSION_STOP,
// and SESSION_INFO_NTF, the ranging notification: [RangingData], distances
// in centimetres with a status per measurement). [CCCConfig] maps the
// parameters of a CCC ranging session onto application-configuration
// parameters (config ID, pulse shape, channel, STS index, UWB time0, hop mode
// key, RAN multiplier, chaps per slot, responders, slots per round, SYNC
// code, hopping mode, and the URSK as SESSION_KEY), and [Caps.CCC] reads a
// UWBS's CCC capabilities. The decoders are strict and fuzzed; encoding into
// a caller's buffer and decoding allocate nothing.
//
// The layouts and values follow the public UCI definitions: the packet
// description file of Google's UWB simulator (google/pica,
// src/uci_packets.pdl) and of Android's UWB stack (packages/modules/Uwb,
// libuwb-uci uci_packets.pdl), and, for the CCC parameters, Android's
// CccEncoder and CccDecoder (testdata/README.md lists the versions).
//
// # Host
//
// A [Host] runs the framing over an io.ReadWriter: [OpenSerial] opens a UART
// to a development board with go.bug.st/serial; package uwbtest simulates
// chips over pipes or pseudo-terminals. The Host matches each response to
// its command with a timeout and the caller's context, resends on
// COMMAND_RETRY, and queues notifications in arrival order.
//
// # Where the project chose
//
//   - A segment of another message before the last segment of a message is a
//     framing error, and so is any framing error: the stream is out of step
//     and the Host stops.
//   - After a command times out, a response that arrives later is dropped if
//     no command of its opcode waits; the Host cannot tell a late answer from
//     a fresh one of the same opcode, so a Reset is in order.
//   - A full notification queue drops its oldest entry and reports
//     [ErrOverflow] once.
//   - Unknown status and reason codes pass through as numbers; unknown
//     capability types are kept; unknown application-configuration
//     parameters and reserved bits that are not zero are errors.
//   - CCC_HOP_MODE_KEY is 4 bytes and the CCC protocol version and
//     configuration identifier are little-endian, as Android's encoder writes
//     them; CCC_URSK_TTL is in minutes.
//   - The URSK goes to the chip as SESSION_KEY (UCI 2.0 provisioned key);
//     phones whose UWBS reads the URSK from the secure element directly do
//     not need it.
package uwb
