package nci

import (
	"errors"
	"fmt"
)

// MessageType is the MT field of an NCI packet header (NCI Core §3.3.1,
// as Linux include/net/nfc/nci.h spells it).
type MessageType uint8

// Message types.
const (
	Data         MessageType = 0
	Command      MessageType = 1
	Response     MessageType = 2
	Notification MessageType = 3
)

func (m MessageType) String() string {
	switch m {
	case Data:
		return "data"
	case Command:
		return "command"
	case Response:
		return "response"
	case Notification:
		return "notification"
	}
	return fmt.Sprintf("MessageType(%d)", uint8(m))
}

// GroupID is the GID of a control message.
type GroupID uint8

// Group identifiers (Linux nci.h; NXP libnfc-nci nci_defs.h).
const (
	GroupCore        GroupID = 0x0
	GroupRF          GroupID = 0x1
	GroupNFCEE       GroupID = 0x2
	GroupProprietary GroupID = 0xF
)

// Sizes of the packet format.
const (
	// HeaderLen is the length of every packet header: control and data
	// headers are three octets, the last the payload length.
	HeaderLen = 3
	// MaxPayload is the most payload one packet carries.
	MaxPayload = 255
	// MaxPacketLen is the longest packet.
	MaxPacketLen = HeaderLen + MaxPayload
	// MaxControlMessage bounds a reassembled control message. NCI sets no
	// limit; no message this driver uses comes near it.
	MaxControlMessage = 4096
	// MaxDataMessage bounds a reassembled data message: an extended
	// response APDU with its status word.
	MaxDataMessage = 65536 + 2
)

// Header bit fields (NCI Core §3.3.1-2).
const (
	mtShift   = 5
	pbfBit    = 0x10
	gidMask   = 0x0F
	oidMask   = 0x3F
	connMask  = 0x0F
	rfuCtrl   = 0xC0 // octet 1 bits 7-6 of a control packet
	maxConnID = 0x0F
)

var (
	// ErrMalformedPacket reports bytes that are not an NCI packet, or a
	// segment that does not continue the message in progress.
	ErrMalformedPacket = errors.New("nci: malformed packet")
	// ErrMessageTooLong reports a message beyond the size this package
	// handles.
	ErrMessageTooLong = errors.New("nci: message too long")
)

// Packet is one NCI packet. For data packets ID is the connection
// identifier and OID is zero; for control packets ID is the GID. Payload
// aliases the parsed bytes.
type Packet struct {
	MT MessageType
	// PBF marks a segment with more to follow (packet boundary flag).
	PBF     bool
	ID      uint8
	OID     uint8
	Payload []byte
}

// Append appends p to dst.
func (p Packet) Append(dst []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return dst, err
	}
	b0 := byte(p.MT)<<mtShift | p.ID
	if p.PBF {
		b0 |= pbfBit
	}
	dst = append(dst, b0, p.OID, byte(len(p.Payload)))
	return append(dst, p.Payload...), nil
}

func (p Packet) check() error {
	switch {
	case p.MT > Notification:
		return fmt.Errorf("%w: message type %d", ErrMalformedPacket, p.MT)
	case p.ID > maxConnID:
		return fmt.Errorf("%w: GID or connection %d", ErrMalformedPacket, p.ID)
	case p.MT == Data && p.OID != 0:
		return fmt.Errorf("%w: RFU octet %02X in a data packet", ErrMalformedPacket, p.OID)
	case p.MT != Data && p.OID > oidMask:
		return fmt.Errorf("%w: OID %02X", ErrMalformedPacket, p.OID)
	case len(p.Payload) > MaxPayload:
		return fmt.Errorf("%w: payload of %d bytes", ErrMessageTooLong, len(p.Payload))
	}
	return nil
}

// ScanPacket reads the first packet of b, a buffer of bytes received on a
// stream (a UART). It returns n == 0 and no error while b holds no complete
// packet. A header with unknown values is an error: the stream has lost
// its framing. The packet's Payload aliases b.
func ScanPacket(b []byte) (p Packet, n int, err error) {
	if len(b) < HeaderLen {
		return Packet{}, 0, nil
	}
	p = Packet{MT: MessageType(b[0] >> mtShift), PBF: b[0]&pbfBit != 0, ID: b[0] & gidMask, OID: b[1]}
	if p.MT > Notification {
		return Packet{}, 0, fmt.Errorf("%w: message type %d", ErrMalformedPacket, p.MT)
	}
	if p.MT == Data && b[1] != 0 {
		return Packet{}, 0, fmt.Errorf("%w: RFU octet %02X in a data packet", ErrMalformedPacket, b[1])
	}
	if p.MT != Data && b[1]&rfuCtrl != 0 {
		return Packet{}, 0, fmt.Errorf("%w: RFU bits in octet %02X", ErrMalformedPacket, b[1])
	}
	n = HeaderLen + int(b[2])
	if len(b) < n {
		return Packet{}, 0, nil
	}
	p.Payload = b[HeaderLen:n]
	return p, n, nil
}

// ParsePacket parses exactly one packet. No strict prefix of a packet
// parses.
func ParsePacket(b []byte) (Packet, error) {
	p, n, err := ScanPacket(b)
	if err != nil {
		return Packet{}, err
	}
	if n == 0 || n != len(b) {
		return Packet{}, fmt.Errorf("%w: %d bytes, not one packet", ErrMalformedPacket, len(b))
	}
	return p, nil
}

// AppendMessage appends the packets of one message to dst: the payload cut
// into segments of at most maxPayload bytes (1 to 255), PBF set on all but
// the last (NCI Core §3.3.1-2). An empty payload is one empty packet. It
// does not allocate when dst has room.
func AppendMessage(dst []byte, mt MessageType, id, oid uint8, payload []byte, maxPayload int) ([]byte, error) {
	if maxPayload < 1 || maxPayload > MaxPayload {
		return dst, fmt.Errorf("nci: segment size %d", maxPayload)
	}
	for {
		seg := payload
		more := len(seg) > maxPayload
		if more {
			seg = seg[:maxPayload]
		}
		var err error
		if dst, err = (Packet{MT: mt, PBF: more, ID: id, OID: oid, Payload: seg}).Append(dst); err != nil {
			return dst, err
		}
		payload = payload[len(seg):]
		if !more {
			return dst, nil
		}
	}
}

// Message is a reassembled NCI message. Payload aliases the Reassembler's
// buffer until its next Add.
type Message struct {
	MT      MessageType
	ID      uint8
	OID     uint8
	Payload []byte
}

// Reassembler joins the segments of one kind of message (control or data)
// into messages. The zero value works for control messages; set Max for
// data.
type Reassembler struct {
	// Max bounds a message; zero means MaxControlMessage.
	Max  int
	buf  []byte
	open bool
	mt   MessageType
	id   uint8
	oid  uint8
}

// Add takes the next packet and returns the message it completes, if any.
// A segment that does not continue the message in progress (another type,
// GID, OID or connection) or a message beyond Max is an error; the message
// in progress is dropped.
func (r *Reassembler) Add(p Packet) (Message, bool, error) {
	max := r.Max
	if max == 0 {
		max = MaxControlMessage
	}
	if r.open && (p.MT != r.mt || p.ID != r.id || p.OID != r.oid) {
		r.Reset()
		return Message{}, false, fmt.Errorf("%w: %v %X/%02X interrupts the segmented %v %X/%02X", ErrMalformedPacket, p.MT, p.ID, p.OID, r.mt, r.id, r.oid)
	}
	if !r.open {
		r.buf, r.open, r.mt, r.id, r.oid = r.buf[:0], true, p.MT, p.ID, p.OID
	}
	if len(r.buf)+len(p.Payload) > max {
		r.Reset()
		return Message{}, false, fmt.Errorf("%w: more than %d bytes", ErrMessageTooLong, max)
	}
	r.buf = append(r.buf, p.Payload...)
	if p.PBF {
		return Message{}, false, nil
	}
	r.open = false
	return Message{MT: r.mt, ID: r.id, OID: r.oid, Payload: r.buf}, true, nil
}

// Reset drops the message in progress.
func (r *Reassembler) Reset() { r.open = false; r.buf = r.buf[:0] }
