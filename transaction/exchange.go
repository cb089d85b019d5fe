package transaction

import (
	"encoding/binary"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
)

// The plaintext of EXCHANGE (docs/protocol.md §4.8) is not public for CCC: only
// Home Key's single operation and Aliro's BA{87, 8A, 95, 8C} container are.
// The project defines its own encoding, close to Aliro's operation tags
// (docs/protocol.md §11 item 3). A command carries one to MaxExchangeOps
// operations, in order:
//
//	read:  87 05 mailbox(1) offset(2) length(2)
//	write: 8A len mailbox(1) offset(2) data(len-3)
//	fill:  95 06 mailbox(1) offset(2) length(2) value(1)
//
// mailbox is 01 (private) or 02 (confidential), as dkey.Mailbox numbers
// them. The endpoint applies the operations of one command atomically: it
// checks them all before it changes anything, and either applies them all or
// answers an error status word with nothing changed. The response plaintext
// holds one 53 len data object per read, in the order of the reads (empty
// when there is no read).

// MaxExchangeOps is the most operations one EXCHANGE command carries.
const MaxExchangeOps = 16

// MaxExchangeData bounds the plaintext of one EXCHANGE command or response,
// so that the protected form (padding and an 8-byte MAC) fits one short or
// extended APDU comfortably. Larger mailbox transfers take several commands.
const MaxExchangeData = 1024

// MaxReadLength is the longest single read: its result, with the 4-byte
// header of its 53 data object, fills a whole response. The read results of
// one command together never exceed MaxExchangeData; parsing and encoding
// refuse operations whose results would.
const MaxReadLength = MaxExchangeData - 4

// MaxWriteLength is the most data one write carries: the write fills a whole
// command with its 7-byte header (8A 82 len, mailbox, offset).
const MaxWriteLength = MaxExchangeData - 7

// OpKind is the kind of a mailbox operation.
type OpKind uint8

// Mailbox operation kinds, numbered by their tags.
const (
	OpRead  OpKind = OpKind(tagOpRead)
	OpWrite OpKind = OpKind(tagOpWrite)
	OpFill  OpKind = OpKind(tagOpFill)
)

// String returns the operation name.
func (k OpKind) String() string {
	switch k {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	case OpFill:
		return "fill"
	}
	return fmt.Sprintf("OpKind(%#x)", uint8(k))
}

// MailboxOp is one mailbox operation of an EXCHANGE command.
type MailboxOp struct {
	Kind    OpKind
	Mailbox dkey.Mailbox
	Offset  uint16
	// Length is the number of bytes read or filled; for a write it is
	// len(Data).
	Length uint16
	// Data is what a write stores. In a parsed operation it aliases the
	// session's buffer and is valid until the next command.
	Data []byte
	// Value is the byte a fill stores.
	Value byte
}

// End returns the offset one past the bytes the operation touches.
func (op *MailboxOp) End() int { return int(op.Offset) + int(op.size()) }

func (op *MailboxOp) size() uint16 {
	if op.Kind == OpWrite {
		return uint16(len(op.Data))
	}
	return op.Length
}

// Check reports whether op is well formed and lies within a mailbox of
// size bytes.
func (op *MailboxOp) Check(size int) error {
	switch {
	case op.Kind != OpRead && op.Kind != OpWrite && op.Kind != OpFill:
		return fmt.Errorf("%w: kind %v", ErrInvalidOp, op.Kind)
	case op.Mailbox != dkey.PrivateMailbox && op.Mailbox != dkey.ConfidentialMailbox:
		return fmt.Errorf("%w: mailbox %v", ErrInvalidOp, op.Mailbox)
	case op.Kind == OpWrite && (len(op.Data) == 0 || len(op.Data) > MaxWriteLength):
		return fmt.Errorf("%w: write of %d bytes", ErrInvalidOp, len(op.Data))
	case op.Kind == OpRead && (op.Length == 0 || op.Length > MaxReadLength),
		op.Kind == OpFill && (op.Length == 0 || op.Length > MaxExchangeData):
		return fmt.Errorf("%w: %v of %d bytes", ErrInvalidOp, op.Kind, op.Length)
	case op.End() > size:
		return fmt.Errorf("%w: %v [%d,%d) outside the %v mailbox of %d bytes", ErrInvalidOp, op.Kind, op.Offset, op.End(), op.Mailbox, size)
	}
	return nil
}

// readResultsSize returns the size of the response plaintext that ops
// produce: one 53 data object per read.
func readResultsSize(ops []MailboxOp) int {
	n := 0
	for i := range ops {
		if ops[i].Kind == OpRead {
			l := int(ops[i].Length)
			n += 1 + lengthFieldSize(l) + l
		}
	}
	return n
}

// lengthFieldSize is the size of the BER length field of a value of n bytes.
func lengthFieldSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	}
	return 3
}

// checkResults refuses operations whose read results would not fit one
// response.
func checkResults(ops []MailboxOp) error {
	if n := readResultsSize(ops); n > MaxExchangeData {
		return fmt.Errorf("%w: read results of %d bytes exceed %d", ErrInvalidOp, n, MaxExchangeData)
	}
	return nil
}

// appendOps appends the encoding of ops.
func appendOps(dst []byte, ops []MailboxOp) ([]byte, error) {
	if len(ops) == 0 || len(ops) > MaxExchangeOps {
		return dst, fmt.Errorf("%w: %d operations, want 1 to %d", ErrInvalidOp, len(ops), MaxExchangeOps)
	}
	if err := checkResults(ops); err != nil {
		return dst, err
	}
	start := len(dst)
	for i := range ops {
		op := &ops[i]
		if err := op.Check(dkey.MaxMailboxSize); err != nil {
			return dst[:start], err
		}
		var hdr [5]byte
		hdr[0] = byte(op.Mailbox)
		binary.BigEndian.PutUint16(hdr[1:], op.Offset)
		switch op.Kind {
		case OpRead:
			binary.BigEndian.PutUint16(hdr[3:], op.Length)
			dst = tlv.AppendTLV(dst, tagOpRead, hdr[:5])
		case OpFill:
			binary.BigEndian.PutUint16(hdr[3:], op.Length)
			dst = append(dst, byte(tagOpFill), 6)
			dst = append(dst, hdr[:5]...)
			dst = append(dst, op.Value)
		case OpWrite:
			dst = append(dst, byte(tagOpWrite))
			dst = tlv.AppendLength(dst, 3+len(op.Data))
			dst = append(dst, hdr[:3]...)
			dst = append(dst, op.Data...)
		}
		if len(dst)-start > MaxExchangeData {
			return dst[:start], fmt.Errorf("%w: %d bytes of operations exceed %d", ErrInvalidOp, len(dst)-start, MaxExchangeData)
		}
	}
	return dst, nil
}

// parseOps parses an EXCHANGE plaintext into ops, which must have room for
// MaxExchangeOps entries, and returns the number parsed. Write data aliases b.
func parseOps(ops *[MaxExchangeOps]MailboxOp, b []byte) (int, error) {
	s := tlv.String(b)
	n := 0
	for !s.Empty() {
		if n == MaxExchangeOps {
			return 0, fmt.Errorf("%w: more than %d operations", ErrInvalidOp, MaxExchangeOps)
		}
		var v tlv.String
		var t tlv.Tag
		if !s.ReadAnyTLV(&v, &t) {
			return 0, fmt.Errorf("%w: malformed data object", ErrInvalidOp)
		}
		op := &ops[n]
		*op = MailboxOp{Kind: OpKind(t)}
		switch {
		case t == tagOpRead && len(v) == 5, t == tagOpFill && len(v) == 6:
			op.Length = binary.BigEndian.Uint16(v[3:5])
			if t == tagOpFill {
				op.Value = v[5]
			}
		case t == tagOpWrite && len(v) > 3:
			op.Data = v[3:]
		default:
			return 0, fmt.Errorf("%w: tag %v with %d bytes", ErrInvalidOp, t, len(v))
		}
		op.Mailbox = dkey.Mailbox(v[0])
		op.Offset = binary.BigEndian.Uint16(v[1:3])
		if err := op.Check(dkey.MaxMailboxSize); err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: no operation", ErrInvalidOp)
	}
	if err := checkResults(ops[:n]); err != nil {
		return 0, err
	}
	return n, nil
}

// ReadResults iterates over the data of the reads in an EXCHANGE response
// plaintext, in the order of the reads.
type ReadResults struct {
	s tlv.String
}

// NewReadResults returns an iterator over plaintext, as returned by
// [VehicleSession.ReadExchange].
func NewReadResults(plaintext []byte) ReadResults { return ReadResults{s: tlv.String(plaintext)} }

// Next returns the data of the next read, or false when there is none or
// the plaintext is malformed. The data aliases the plaintext.
func (r *ReadResults) Next() ([]byte, bool) {
	var v tlv.String
	if !r.s.ReadTLV(&v, tagReadResult) {
		return nil, false
	}
	return v, true
}

// Done reports whether every read result was consumed.
func (r *ReadResults) Done() bool { return r.s.Empty() }

// AppendReadResult appends the data of one read to an EXCHANGE response
// plaintext, as the endpoint builds it.
func AppendReadResult(dst, data []byte) []byte { return tlv.AppendTLV(dst, tagReadResult, data) }
