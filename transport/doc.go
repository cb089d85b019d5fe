// Package transport is the boundary between the Digital Key protocol code
// and whatever carries its APDUs: the [Transceiver] and [Card] interfaces,
// the command and response APDU types of ISO/IEC 7816-4, and the framing
// rules of that standard that sit between one logical command and the APDUs
// on the wire (command chaining, GET RESPONSE, wrong-Le retries).
//
// It holds no implementation of a transport: PC/SC readers, BLE links and
// the in-memory card live in transport/pcsc, transport/ble and
// transport/transporttest. It imports only the standard library and dkey.
//
// # Where the protocol uses it
//
// Over NFC every Digital Key exchange is an ISO/IEC 7816-4 command-response
// pair (docs/protocol.md §2): SELECT of the Digital Key applet or framework, then
// AUTH0, AUTH1, EXCHANGE and CONTROL FLOW for transactions, SPAKE2+ REQUEST
// and VERIFY, WRITE DATA and GET DATA for owner pairing. The framework lists
// GET RESPONSE (00 C0 00 00, docs/protocol.md §2.3) because certificates and
// attestations exceed what one short response carries; WRITE DATA carries
// certificates longer than 255 bytes, which a reader without extended-length
// support sends by command chaining. Status words ([dkey.StatusWord]) end
// every response; 61xx and 6Cxx are handled here and never reach protocol
// code.
//
// # APDUs
//
// [Command] and [Response] follow ISO/IEC 7816-4 §5.1. [Command.Append]
// encodes the four cases in the short form when the data field fits in 255
// bytes and Ne in 256, in the extended form otherwise (never mixing the two,
// as §5.1 requires). [ParseCommand] decodes all cases in both forms as
// ISO/IEC 7816-3 §12.1.3 describes, and rejects everything else with a
// [FormatError]: an Lc of zero, a data field shorter than Lc, a one-byte Le
// after an extended Lc, bytes after the Le field. Every FormatError matches
// [ErrProtocol]. The parsers alias their input instead of copying it.
//
// A strict prefix of a valid command APDU can itself be a valid command of
// another case: the header alone is case 1, the header and one byte case 2
// short, the header and three bytes 00 xx xx case 2 extended, and a case 4
// command without its Le is the case 3 command with the same data. No other
// strict prefix parses. Any two or more bytes are a response APDU.
//
// # Client and ChainingCard
//
// A [Client] is what protocol drivers call: [Client.Do] sends one logical
// command and returns the whole response. It chains data longer than the
// reader's maximum (§5.3.3), reads 61xx responses to the end with GET
// RESPONSE (§5.1.3, §11.7.1), and resends a command answered 6Cxx with the
// Le the card asked for. A [ChainingCard] does the reverse on the card side,
// so that an applet written for whole APDUs answers through a reader limited
// to short ones.
//
// # Limits
//
// Every length and count has a bound: MaxExtendedData and MaxExtendedNe
// (the standard's), MaxResponseData for a reassembled response,
// MaxGetResponseRounds and MaxChainedCommands. Going past one is a
// *[LimitError] naming the bound.
//
// # Where the project chose
//
// ISO/IEC 7816-4 leaves some behaviour to the card or the interface device,
// and the Digital Key specification, which is not public, may narrow it.
// The choices made here, each documented where it applies:
//
//   - a Client resends a command answered 6Cxx once; a second 6Cxx is an
//     error rather than a loop. It discards data that comes with 9000 on an
//     intermediate command of a chain (the standard expects none).
//   - a Client that may not send extended APDUs asks for at most 256 bytes
//     (Le 00) and relies on 61xx for the rest.
//   - GET RESPONSE carries class 00 with the logical channel of the command
//     it follows, without secure messaging: the secure channel protects the
//     command and its whole response, and GET RESPONSE only moves the bytes
//     of that response.
//   - a ChainingCard rejects a command that breaks a chain with 6883 and an
//     over-long chain with 6700; see its documentation for the rest.
package transport
