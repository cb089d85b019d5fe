// Package transporttest gives protocol tests a card without hardware and a
// record of what crossed the transport.
//
//   - [NewCard] returns an in-memory [Card]: a transport.Transceiver that
//     hands each command to any transport.Card (an applet, a [HandlerFunc],
//     a transport.ChainingCard in front of either) and copies command and
//     response so that neither side can keep the other's buffers. It honours
//     the context, can be removed from the field ([Card.Remove], or
//     [RemoveAfter] a number of exchanges) and can imitate a reader's length
//     limit ([MaxCommandLen]).
//   - [NewRecorder] wraps any transport.Transceiver, a real reader included,
//     and captures a [Transcript] of the exchanges.
//   - A Transcript has a stable text form (lines "> command", "< response",
//     "! error", "# note"), so that a protocol run can be checked against a
//     golden file with [CheckGolden] and regenerated with the test package's
//     own -update flag, as crypto/tls does with its handshake recordings.
//
// Only tests and test benches import this package.
package transporttest
