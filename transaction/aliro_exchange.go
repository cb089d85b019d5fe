package transaction

import (
	"encoding/binary"
	"fmt"

	"github.com/opencarkey/sdk/internal/tlv"
)

// The Aliro EXCHANGE command (Aliro 1.0 8.3.3.5, S) carries, under the
// secure channel, at most one of each of these data objects, in this order:
//
//	BA  mailbox commands: 8C atomic-session option (first, mandatory), then
//	    any number of 87 read (offset 2, length 2), 8A write (offset 2, data)
//	    and 95 set (offset 2, length 2, value 1)
//	AE  notify: 82 reader error code, B5 reader descriptor, 9Fxx data for
//	    the Credential Issuer backend or a bound application (up to 250 bytes)
//	97  reader status (2 bytes, Table 8-18): the end of an NFC transaction
//	98  make URSK available (empty; Bluetooth LE only)
//	81  update_doc: a new Access Document, opaque to this layer
//
// The response plaintext (Table 8-20, 8.3.3.5.5) is the data of each read,
// in order, each behind a 2-byte big-endian length, then 00 02 and a 2-byte
// status: 0000 when every request succeeded. On an error the device sends
// 00 02 B1 B2 alone and destroys the session keys.
//
// kormax/aliro's README places 8C inside BA as the spec does; NXP's
// aliro-actuator (an earlier draft) sends a bare atomic byte before the
// TLVs, and kormax/python-aliro-reader sends a bare 97 for the final status.
// The SDK follows the published specification.

// Tags of the EXCHANGE plaintext.
const (
	aliroTagMailbox      tlv.Tag = 0xBA
	aliroTagAtomic       tlv.Tag = 0x8C
	aliroTagNotify       tlv.Tag = 0xAE
	aliroTagReaderStatus tlv.Tag = 0x97
	aliroTagURSK         tlv.Tag = 0x98
	aliroTagUpdateDoc    tlv.Tag = 0x81
)

// Limits of the EXCHANGE messages.
const (
	// MaxAliroExchangeData bounds the plaintext of one EXCHANGE command or
	// response. Aliro 1.0 8.3.2.2 requires both sides to take payloads of at
	// least 2000 bytes before chaining; the SDK takes exactly that.
	MaxAliroExchangeData = 2000
	// MaxAliroMailboxOps bounds the read, write and set requests of one
	// command (the project's limit).
	MaxAliroMailboxOps = 16
	// MaxAliroNotify bounds the notify data object (AE, Table 8-15).
	MaxAliroNotify = 250
	// aliroExchangeTrailer is the size of the 00 02 B1 B2 status block.
	aliroExchangeTrailer = 4
)

// AliroMailboxOp is one read (OpRead, tag 87), write (OpWrite, 8A) or set
// (OpFill, 95) request on the credential's single mailbox.
type AliroMailboxOp struct {
	Kind   OpKind
	Offset uint16
	// Length is the number of bytes read or set; for a write it is len(Data).
	Length uint16
	// Data is what a write stores; in a parsed request it aliases the
	// session's buffer.
	Data []byte
	// Value is the byte a set stores.
	Value byte
}

// End returns the offset one past the bytes the request touches.
func (op *AliroMailboxOp) End() int {
	if op.Kind == OpWrite {
		return int(op.Offset) + len(op.Data)
	}
	return int(op.Offset) + int(op.Length)
}

// AliroReaderStatus is the reader status of EXCHANGE tag 97 (Aliro 1.0
// Table 8-18): the first byte 00 for a failure and its reason, 01 for the
// state the reader is in or entering.
type AliroReaderStatus uint16

// Reader statuses (Aliro 1.0 Table 8-18).
const (
	AliroStatusKeyNotFound      AliroReaderStatus = 0x0001 // Access Credential public key not found
	AliroStatusKeyExpired       AliroReaderStatus = 0x0002 // Access Credential public key expired
	AliroStatusKeyNotTrusted    AliroReaderStatus = 0x0003 // Access Credential public key not trusted
	AliroStatusInvalidSignature AliroReaderStatus = 0x0004 // invalid User Device signature
	AliroStatusInvalidFormat    AliroReaderStatus = 0x0006 // invalid data format
	AliroStatusInvalidContent   AliroReaderStatus = 0x0007 // invalid data content
	AliroStatusStatusWordError  AliroReaderStatus = 0x0020 // status word error
	AliroStatusNoKeySlot        AliroReaderStatus = 0x0021 // no key slot in the response
	AliroStatusNoPublicKey      AliroReaderStatus = 0x0022 // no public key in the response
	AliroStatusNoSignature      AliroReaderStatus = 0x0023 // no User Device signature
	AliroStatusInvalidRights    AliroReaderStatus = 0x0025 // invalid access rights
	AliroStatusHardware         AliroReaderStatus = 0x0026 // hardware issue
	AliroStatusSecure           AliroReaderStatus = 0x0100 // reader secure (locked, armed, closed)
	AliroStatusUnsecure         AliroReaderStatus = 0x0101 // reader unsecure (unlocked, disarmed, open)
	AliroStatusObstructed       AliroReaderStatus = 0x0102 // obstructed, jammed, stuck
	AliroStatusEnteringSecure   AliroReaderStatus = 0x0180 // started to enter the secure state
	AliroStatusEnteringUnsecure AliroReaderStatus = 0x0181 // started to enter the unsecure state
	AliroStatusStateUnknown     AliroReaderStatus = 0x0182 // state not available at the reader
	aliroStatusFailureFirstByte                   = 0x00
	aliroStatusStateFirstByte                     = 0x01
)

// Failure reports whether s reports a failed transaction (first byte 00).
func (s AliroReaderStatus) Failure() bool { return s>>8 == aliroStatusFailureFirstByte }

// AliroExchange is the content of one Aliro EXCHANGE command. Each field is
// one optional data object; at least one must be present.
type AliroExchange struct {
	// Mailbox says the command carries mailbox commands (BA); Atomic and
	// Ops are its content.
	Mailbox bool
	// Atomic is bit 0 of the 8C option: set, the command opens or continues
	// an atomic session whose writes apply only when a command with Atomic
	// clear closes it; clear, the writes of this command apply at once,
	// atomically, and any open atomic session commits (Aliro 1.0 8.3.3.5).
	Atomic bool
	// Ops are the read, write and set requests, applied in order.
	Ops []AliroMailboxOp
	// Notify is the value of AE: one or more data objects (82, B5, 9Fxx);
	// nil for none.
	Notify []byte
	// HasStatus says the command carries the reader status (97); after it no
	// EXCHANGE follows.
	HasStatus bool
	Status    AliroReaderStatus
	// URSK asks the device to make URSK available to its UWB subsystem (98,
	// Bluetooth LE only).
	URSK bool
	// UpdateDocument is the value of 81, a new Access Document in a format
	// of the credential issuer's; nil for none.
	UpdateDocument []byte
}

// append appends the plaintext of x to dst.
func (x *AliroExchange) append(dst []byte) ([]byte, error) {
	start := len(dst)
	if !x.Mailbox && x.Ops != nil || !x.Mailbox && x.Atomic {
		return dst, fmt.Errorf("%w: mailbox requests without a mailbox command", ErrInvalidOp)
	}
	if !x.Mailbox && x.Notify == nil && !x.HasStatus && !x.URSK && x.UpdateDocument == nil {
		return dst, fmt.Errorf("%w: empty EXCHANGE", ErrInvalidOp)
	}
	if x.Mailbox {
		if len(x.Ops) > MaxAliroMailboxOps {
			return dst, fmt.Errorf("%w: %d mailbox requests, more than %d", ErrInvalidOp, len(x.Ops), MaxAliroMailboxOps)
		}
		var opt byte
		if x.Atomic {
			opt = 1
		}
		var err error
		dst = tlv.AppendConstructed(dst, aliroTagMailbox, func(b []byte) []byte {
			b = tlv.AppendTLVUint8(b, aliroTagAtomic, opt)
			for i := range x.Ops {
				if b, err = x.Ops[i].append(b); err != nil {
					return b
				}
			}
			return b
		})
		if err != nil {
			return dst[:start], err
		}
	}
	if x.Notify != nil {
		if len(x.Notify) == 0 || len(x.Notify) > MaxAliroNotify || !tlvList(x.Notify) {
			return dst[:start], fmt.Errorf("%w: notify of %d bytes is not 1 to %d bytes of data objects", ErrInvalidOp, len(x.Notify), MaxAliroNotify)
		}
		dst = tlv.AppendTLV(dst, aliroTagNotify, x.Notify)
	}
	if x.HasStatus {
		dst = tlv.AppendTLVUint16(dst, aliroTagReaderStatus, uint16(x.Status))
	}
	if x.URSK {
		dst = append(dst, byte(aliroTagURSK), 0)
	}
	if x.UpdateDocument != nil {
		if len(x.UpdateDocument) == 0 || len(x.UpdateDocument) > MaxAliroExchangeData {
			return dst[:start], fmt.Errorf("%w: update_doc of %d bytes", ErrInvalidOp, len(x.UpdateDocument))
		}
		dst = tlv.AppendTLV(dst, aliroTagUpdateDoc, x.UpdateDocument)
	}
	if len(dst)-start > MaxAliroExchangeData {
		return dst[:start], fmt.Errorf("%w: EXCHANGE of %d bytes, more than %d", ErrInvalidOp, len(dst)-start, MaxAliroExchangeData)
	}
	return dst, nil
}

func (op *AliroMailboxOp) append(dst []byte) ([]byte, error) {
	var hdr [5]byte
	binary.BigEndian.PutUint16(hdr[:], op.Offset)
	switch op.Kind {
	case OpRead:
		if op.Length == 0 {
			return dst, fmt.Errorf("%w: read of 0 bytes", ErrInvalidOp)
		}
		binary.BigEndian.PutUint16(hdr[2:], op.Length)
		return tlv.AppendTLV(dst, tagOpRead, hdr[:4]), nil
	case OpFill:
		if op.Length == 0 {
			return dst, fmt.Errorf("%w: set of 0 bytes", ErrInvalidOp)
		}
		binary.BigEndian.PutUint16(hdr[2:], op.Length)
		hdr[4] = op.Value
		return tlv.AppendTLV(dst, tagOpFill, hdr[:5]), nil
	case OpWrite:
		if len(op.Data) == 0 || len(op.Data) > MaxAliroExchangeData {
			return dst, fmt.Errorf("%w: write of %d bytes", ErrInvalidOp, len(op.Data))
		}
		dst = append(dst, byte(tagOpWrite))
		dst = tlv.AppendLength(dst, 2+len(op.Data))
		dst = append(dst, hdr[:2]...)
		return append(dst, op.Data...), nil
	}
	return dst, fmt.Errorf("%w: kind %v", ErrInvalidOp, op.Kind)
}

// tlvList reports whether b is a sequence of well-formed data objects.
func tlvList(b []byte) bool {
	s := tlv.String(b)
	for !s.Empty() {
		if !s.SkipAnyTLV() {
			return false
		}
	}
	return true
}

// parseAliroExchange parses an EXCHANGE plaintext into x, with ops as the
// backing array of x.Ops. Values alias b. Unknown data objects are skipped
// (Aliro 1.0 1.4.3).
func parseAliroExchange(x *AliroExchange, ops *[MaxAliroMailboxOps]AliroMailboxOp, b []byte) bool {
	var mb, notify, status, ursk, doc tlv.String
	var hasMB, hasNotify, hasURSK, hasDoc bool
	*x = AliroExchange{}
	if len(b) > MaxAliroExchangeData || !readAliroFields(b, []aliroField{
		{tag: aliroTagMailbox, min: 3, max: MaxAliroExchangeData, val: &mb, seen: &hasMB},
		{tag: aliroTagNotify, min: 1, max: MaxAliroNotify, val: &notify, seen: &hasNotify},
		{tag: aliroTagReaderStatus, min: 2, max: 2, val: &status, seen: &x.HasStatus},
		{tag: aliroTagURSK, min: 0, max: 0, val: &ursk, seen: &hasURSK},
		{tag: aliroTagUpdateDoc, min: 1, max: MaxAliroExchangeData, val: &doc, seen: &hasDoc},
	}) {
		return false
	}
	if !hasMB && !hasNotify && !x.HasStatus && !hasURSK && !hasDoc {
		return false
	}
	if hasMB {
		n, ok := parseAliroMailbox(ops, mb, &x.Atomic)
		if !ok {
			return false
		}
		x.Mailbox, x.Ops = true, ops[:n]
	}
	if hasNotify {
		if !tlvList(notify) {
			return false
		}
		x.Notify = notify
	}
	if x.HasStatus {
		x.Status = AliroReaderStatus(binary.BigEndian.Uint16(status))
	}
	x.URSK = hasURSK
	if hasDoc {
		x.UpdateDocument = doc
	}
	return true
}

// parseAliroMailbox parses the value of BA: 8C first, then the requests.
func parseAliroMailbox(ops *[MaxAliroMailboxOps]AliroMailboxOp, b []byte, atomic *bool) (int, bool) {
	s := tlv.String(b)
	var opt uint8
	if !s.ReadTLVUint8(aliroTagAtomic, &opt) {
		return 0, false
	}
	*atomic = opt&1 != 0 // bits 1 to 7 are RFU (Table 8-16)
	n := 0
	for !s.Empty() {
		var t tlv.Tag
		var v tlv.String
		if !s.ReadAnyTLV(&v, &t) {
			return 0, false
		}
		if n == MaxAliroMailboxOps {
			return 0, false
		}
		op := &ops[n]
		switch {
		case t == tagOpRead && len(v) == 4:
			*op = AliroMailboxOp{Kind: OpRead, Length: binary.BigEndian.Uint16(v[2:])}
		case t == tagOpFill && len(v) == 5:
			*op = AliroMailboxOp{Kind: OpFill, Length: binary.BigEndian.Uint16(v[2:]), Value: v[4]}
		case t == tagOpWrite && len(v) > 2:
			*op = AliroMailboxOp{Kind: OpWrite, Data: v[2:], Length: uint16(len(v) - 2)}
		default:
			return 0, false
		}
		if op.Kind != OpWrite && op.Length == 0 {
			return 0, false
		}
		op.Offset = binary.BigEndian.Uint16(v)
		n++
	}
	return n, true
}

// AppendAliroReadResult appends the data of one read to an EXCHANGE
// response plaintext, as the endpoint builds it: a 2-byte length, then the
// data. AliroEndpointSession.SealExchange appends the status block.
func AppendAliroReadResult(dst, data []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(data)))
	return append(dst, data...)
}

// AliroReadResults iterates over the data of the reads of an EXCHANGE
// response, in the order of the reads.
type AliroReadResults struct {
	b []byte
}

// Next returns the data of the next read, or false when there is none. The
// data aliases the response plaintext.
func (r *AliroReadResults) Next() ([]byte, bool) {
	if len(r.b) < 2 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(r.b))
	d := r.b[2 : 2+n]
	r.b = r.b[2+n:]
	return d, true
}

// Len returns the number of reads left.
func (r AliroReadResults) Len() int {
	n := 0
	for _, ok := r.Next(); ok; _, ok = r.Next() {
		n++
	}
	return n
}

// AliroExchangeError is the error a device answered an EXCHANGE with: the
// status block 00 02 B1 B2 alone, B1 B2 implementation-specific (Aliro 1.0
// 8.3.3.5.5). The device has destroyed its session keys; the reader ends
// the transaction with CONTROL FLOW.
type AliroExchangeError struct {
	Code uint16
}

func (e *AliroExchangeError) Error() string {
	return fmt.Sprintf("transaction: the device refused the EXCHANGE with error %04X", e.Code)
}

// aliroReadBlocks reports whether b is a sequence of whole read results,
// each a 2-byte length then that many bytes.
func aliroReadBlocks(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 2 {
			return false
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b)-2 < n {
			return false
		}
		b = b[2+n:]
	}
	return true
}

// parseAliroExchangeResponse splits a response plaintext into the read
// results and the status. Every block must be whole, the last one being the
// status 00 02 B1 B2; an error status comes alone.
func parseAliroExchangeResponse(b []byte) (AliroReadResults, uint16, bool) {
	if len(b) < aliroExchangeTrailer || len(b) > MaxAliroExchangeData {
		return AliroReadResults{}, 0, false
	}
	reads := b[:len(b)-aliroExchangeTrailer]
	tail := b[len(b)-aliroExchangeTrailer:]
	if tail[0] != 0 || tail[1] != 2 {
		return AliroReadResults{}, 0, false
	}
	status := binary.BigEndian.Uint16(tail[2:])
	if !aliroReadBlocks(reads) || status != 0 && len(reads) != 0 {
		return AliroReadResults{}, 0, false
	}
	return AliroReadResults{b: reads}, status, true
}
