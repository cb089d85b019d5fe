package transport

import "github.com/opencarkey/sdk/dkey"

// ChainingCard lets a [Card] that works on whole APDUs sit behind a reader
// that only carries short ones. It is the card-side half of what a [Client]
// does:
//
//   - it reassembles a command chain (CLA bit 10 on every command but the
//     last, ISO/IEC 7816-4 §5.3.3), answering 9000 to each segment, and hands
//     the inner card one command with the whole data field (extended-length
//     when it is longer than 255 bytes);
//   - when the inner card's response data is longer than the command's Ne
//     (256 when the command has no Le), it returns the first Ne bytes with
//     61xx and serves the rest to GET RESPONSE commands (00 C0 00 00), in
//     pieces of at most their Ne, ending with the inner card's status word.
//
// The reassembled data is bounded by MaxExtendedData and MaxChainedCommands,
// the pending response by MaxResponseData. The project's choices where ISO/IEC
// 7816-4 leaves the card free:
//
//   - a command that is not the next one of the chain in progress (another
//     class without bit 10, instruction or parameters) ends the chain
//     unexecuted with 6883 (last command of the chain expected);
//   - a chain longer than the bounds is dropped with 6700 (wrong length),
//     and so is a command APDU that [ParseCommand] rejects;
//   - a pending response is dropped by any command other than GET RESPONSE,
//     which then runs normally; a GET RESPONSE with no pending response, or
//     with P1-P2 other than 00 00 (Home Key's ENVELOPE exchange uses its own),
//     goes to the inner card;
//   - an inner card that breaks the [Card] contract (a response shorter than
//     a status word, or more data than MaxResponseData) is answered 6F00.
//
// One chain and one pending response exist at a time, whatever the logical
// channel. A ChainingCard is not safe for concurrent use: its caller
// serializes ProcessAPDU and Reset, as a reader does.
type ChainingCard struct {
	inner Card

	chaining bool
	head     [4]byte // CLA without bit 10, INS, P1, P2 of the chain
	segments int
	data     []byte // data of the chain so far
	cmd      []byte // the reassembled command

	pending   []byte // response data still to be served, within pbuf
	pbuf      []byte
	pendingSW dkey.StatusWord
	serving   bool
}

var (
	_ Card     = (*ChainingCard)(nil)
	_ Resetter = (*ChainingCard)(nil)
)

// NewChainingCard returns a ChainingCard in front of inner.
func NewChainingCard(inner Card) *ChainingCard {
	return &ChainingCard{inner: inner}
}

// Reset drops the chain in progress and the pending response, then resets
// the inner card if it implements [Resetter].
func (c *ChainingCard) Reset() {
	c.dropChain()
	c.dropPending()
	if r, ok := c.inner.(Resetter); ok {
		r.Reset()
	}
}

func (c *ChainingCard) dropChain() {
	c.chaining, c.segments, c.data = false, 0, c.data[:0]
}

func (c *ChainingCard) dropPending() {
	c.serving, c.pending = false, nil
}

// ProcessAPDU handles one command APDU as described on [ChainingCard].
func (c *ChainingCard) ProcessAPDU(dst, command []byte) []byte {
	cmd, err := ParseCommand(command)
	if err != nil {
		c.dropChain()
		c.dropPending()
		return appendSW(dst, dkey.SWWrongLength)
	}
	if c.serving && isGetResponse(&cmd) {
		return c.serve(dst, cmd.Ne)
	}
	c.dropPending()

	if c.chaining && !c.continues(&cmd) {
		c.dropChain()
		return appendSW(dst, dkey.SWLastCommandOfChainExpected)
	}
	if cmd.IsChained() || c.chaining {
		if !c.chaining {
			c.chaining, c.head = true, [4]byte{cmd.CLA &^ claChaining, cmd.INS, cmd.P1, cmd.P2}
		}
		c.segments++
		if c.segments > MaxChainedCommands || len(c.data)+len(cmd.Data) > MaxExtendedData {
			c.dropChain()
			return appendSW(dst, dkey.SWWrongLength)
		}
		c.data = append(c.data, cmd.Data...)
		if cmd.IsChained() {
			return appendSW(dst, dkey.SWSuccess)
		}
		// The last command of the chain: its CLA and Ne, the whole data.
		whole := Command{CLA: cmd.CLA, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2, Data: c.data, Ne: cmd.Ne}
		c.cmd, _ = whole.Append(c.cmd[:0]) // cannot fail: Data and Ne are within bounds
		c.dropChain()
		return c.respond(dst, c.cmd, cmd.Ne)
	}
	return c.respond(dst, command, cmd.Ne)
}

// continues reports whether cmd is the next command of the chain in
// progress: same class (bit 10 aside), instruction and parameters.
func (c *ChainingCard) continues(cmd *Command) bool {
	return cmd.CLA&^claChaining == c.head[0] && cmd.INS == c.head[1] && cmd.P1 == c.head[2] && cmd.P2 == c.head[3]
}

// isGetResponse reports whether cmd is the GET RESPONSE of ISO/IEC 7816-4
// §11.7.1 that reads a pending response: interindustry class, no chaining,
// P1-P2 00 00, no data.
func isGetResponse(cmd *Command) bool {
	return cmd.CLA&0x80 == 0 && !cmd.IsChained() && cmd.INS == insGetResponse &&
		cmd.P1 == 0 && cmd.P2 == 0 && len(cmd.Data) == 0
}

// respond hands command to the inner card and returns the response, keeping
// what goes beyond ne (256 when 0) for GET RESPONSE.
func (c *ChainingCard) respond(dst, command []byte, ne int) []byte {
	out := c.inner.ProcessAPDU(dst, command)
	n := len(out) - len(dst) - 2 // response data length
	if n < 0 || n > MaxResponseData {
		return appendSW(dst, dkey.SWNoPreciseDiagnosis)
	}
	if ne == 0 {
		ne = MaxShortNe
	}
	if n <= ne {
		return out
	}
	end := len(dst) + n
	c.pbuf = append(c.pbuf[:0], out[len(dst)+ne:end]...)
	c.pending, c.serving = c.pbuf, true
	c.pendingSW = dkey.StatusWord(out[end])<<8 | dkey.StatusWord(out[end+1])
	return appendBytesAvailable(out[:len(dst)+ne], len(c.pending))
}

// serve answers a GET RESPONSE with at most ne (256 when 0) bytes of the
// pending response.
func (c *ChainingCard) serve(dst []byte, ne int) []byte {
	if ne == 0 {
		ne = MaxShortNe
	}
	if ne >= len(c.pending) {
		dst = AppendResponse(dst, c.pending, c.pendingSW)
		c.dropPending()
		return dst
	}
	dst = append(dst, c.pending[:ne]...)
	c.pending = c.pending[ne:]
	return appendBytesAvailable(dst, len(c.pending))
}

// appendBytesAvailable appends 61xx for n more bytes: SW2 is n, or 00 for
// 256 and more (ISO/IEC 7816-4 §5.1.3).
func appendBytesAvailable(dst []byte, n int) []byte {
	if n > 0xFF {
		n = 0
	}
	return append(dst, 0x61, byte(n))
}
