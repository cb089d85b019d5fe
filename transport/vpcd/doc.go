// Package vpcd puts any [transport.Card] behind a PC/SC reader: it connects
// to vsmartcard's vpcd, the virtual reader driver of pcscd, and plays the
// card, so that a PC/SC application (the vehicle side through package
// transport/pcsc, or any other) sees a real reader with the card inside.
// Tests and test benches use it to run the device applet
// (docs/protocol.md §2: ISO/IEC 7816-4 APDUs over ISO/IEC 14443-4) through the
// real middleware.
//
// # The vpcd protocol
//
// vpcd listens on TCP port 35963 for the card of its first reader and 35964
// for the second ([DefaultAddr]). The card connects; every message either way
// is a 2-byte big-endian length and a payload. From vpcd, a 1-byte payload is
// a control code: 00 power off, 01 power on, 02 reset, 04 get the ATR (the
// card answers with the ATR); any other payload is a command APDU, answered
// with the response APDU. The card is present while the connection is open:
// closing it removes the card from the reader. This package follows
// vsmartcard's vpcd.c and its Python reference card (vicc), as Debian
// 12 ships them (vsmartcard 3.3); the protocol has no specification of its own.
//
// # Choices
//
//   - Power off and reset call Reset when the card is a
//     [transport.Resetter], and so does the end of a connection: the card
//     left the field. Power on needs nothing, and control codes this package
//     does not know are ignored, as vicc does.
//   - The length field bounds every frame to [MaxFrame] bytes, so the longest
//     command a card sees through vpcd is 65535 bytes, and the longest
//     response is 65535 bytes; a longer response, or one shorter than a
//     status word (vpcd takes an empty answer for a card that left), is
//     replaced by status word 6F00.
//   - The default ATR, 3B 80 80 01 01, is how a PC/SC reader presents an
//     ISO/IEC 14443-4 card without historical bytes (PC/SC Part 3); pcscd
//     negotiates T=1 on it.
//   - vpcd 3.3 writes a frame's length and payload in two writes, on a socket
//     with Nagle's algorithm on; with Linux's delayed acknowledgements that
//     costs 40 ms per command. [Serve] turns on TCP_QUICKACK before each read,
//     which brings a SELECT round trip through pcscd and vpcd to about
//     0.1 ms.
//
// # Reconnection
//
// [Serve] plays the card on one connection; [Run] dials vpcd and serves,
// again and again: after a refused connection (pcscd not running) or the end
// of one (pcscd stopped, or vpcd dropped the card after a failed exchange) it
// waits Config.RetryInterval (500 ms by default) and dials again, until its
// context ends.
package vpcd
