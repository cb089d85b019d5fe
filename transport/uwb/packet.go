package uwb

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the size of a UCI packet header.
const HeaderSize = 4

// MaxControlPayload is the largest payload of one control packet: its
// length is one byte.
const MaxControlPayload = 255

// MaxDataPayload is the largest payload of one data packet this package
// reads (the length field has 16 bits; the host does not use data packets
// and only skips them).
const MaxDataPayload = 4096

// MessageType is the MT field of a UCI packet header (bits 7-5 of octet 0).
type MessageType uint8

// Message types.
const (
	MTData         MessageType = 0
	MTCommand      MessageType = 1
	MTResponse     MessageType = 2
	MTNotification MessageType = 3
)

// String names the message type.
func (mt MessageType) String() string {
	switch mt {
	case MTData:
		return "DATA"
	case MTCommand:
		return "CMD"
	case MTResponse:
		return "RSP"
	case MTNotification:
		return "NTF"
	}
	return fmt.Sprintf("MT(%d)", uint8(mt))
}

// GroupID is the GID field of a control packet header (bits 3-0 of octet
// 0).
type GroupID uint8

// Group identifiers (FiRa UCI; google/pica and Android uci_packets.pdl).
const (
	GroupCore           GroupID = 0x0
	GroupSessionConfig  GroupID = 0x1
	GroupSessionControl GroupID = 0x2
	GroupDataControl    GroupID = 0x3
	GroupTest           GroupID = 0xD
)

// Opcode is a group and an opcode identifier (OID, bits 5-0 of octet 1):
// GID<<8 | OID.
type Opcode uint16

// NewOpcode returns the opcode of gid and oid.
func NewOpcode(gid GroupID, oid uint8) Opcode { return Opcode(gid&0x0F)<<8 | Opcode(oid&0x3F) }

// GID returns the group identifier.
func (o Opcode) GID() GroupID { return GroupID(o >> 8) }

// OID returns the opcode identifier.
func (o Opcode) OID() uint8 { return uint8(o) }

// The opcodes this package speaks (google/pica src/uci_packets.pdl, Android
// libuwb-uci uci_packets.pdl).
const (
	OpCoreDeviceReset     Opcode = 0x0000 // CORE_DEVICE_RESET
	OpCoreDeviceStatus    Opcode = 0x0001 // CORE_DEVICE_STATUS_NTF
	OpCoreDeviceInfo      Opcode = 0x0002 // CORE_GET_DEVICE_INFO
	OpCoreGetCaps         Opcode = 0x0003 // CORE_GET_CAPS_INFO
	OpCoreGenericError    Opcode = 0x0007 // CORE_GENERIC_ERROR_NTF
	OpCoreQueryTimestamp  Opcode = 0x0008 // CORE_QUERY_UWBS_TIMESTAMP
	OpSessionInit         Opcode = 0x0100 // SESSION_INIT
	OpSessionDeinit       Opcode = 0x0101 // SESSION_DEINIT
	OpSessionStatus       Opcode = 0x0102 // SESSION_STATUS_NTF
	OpSessionSetAppConfig Opcode = 0x0103 // SESSION_SET_APP_CONFIG
	OpSessionGetAppConfig Opcode = 0x0104 // SESSION_GET_APP_CONFIG
	OpSessionStart        Opcode = 0x0200 // SESSION_START; SESSION_INFO_NTF
	OpSessionStop         Opcode = 0x0201 // SESSION_STOP
	OpSessionRangingCount Opcode = 0x0203 // SESSION_GET_RANGING_COUNT
)

// String names the opcode, for example "SESSION_START".
func (o Opcode) String() string {
	switch o {
	case OpCoreDeviceReset:
		return "CORE_DEVICE_RESET"
	case OpCoreDeviceStatus:
		return "CORE_DEVICE_STATUS"
	case OpCoreDeviceInfo:
		return "CORE_GET_DEVICE_INFO"
	case OpCoreGetCaps:
		return "CORE_GET_CAPS_INFO"
	case OpCoreGenericError:
		return "CORE_GENERIC_ERROR"
	case OpCoreQueryTimestamp:
		return "CORE_QUERY_UWBS_TIMESTAMP"
	case OpSessionInit:
		return "SESSION_INIT"
	case OpSessionDeinit:
		return "SESSION_DEINIT"
	case OpSessionStatus:
		return "SESSION_STATUS"
	case OpSessionSetAppConfig:
		return "SESSION_SET_APP_CONFIG"
	case OpSessionGetAppConfig:
		return "SESSION_GET_APP_CONFIG"
	case OpSessionStart:
		return "SESSION_START"
	case OpSessionStop:
		return "SESSION_STOP"
	case OpSessionRangingCount:
		return "SESSION_GET_RANGING_COUNT"
	}
	return fmt.Sprintf("Opcode(%x.%02x)", uint8(o.GID()), o.OID())
}

// Header is a decoded UCI packet header.
//
// Control packets (MT 1-3): octet 0 = MT (3 bits) ‖ PBF (1) ‖ GID (4);
// octet 1 = RFU (2) ‖ OID (6); octet 2 RFU; octet 3 payload length. Data
// packets (MT 0): octet 0 = MT ‖ PBF ‖ DPF (4); octet 1 RFU; octets 2-3
// payload length, little-endian. (google/pica src/uci_packets.pdl
// ControlPacketHeader and DataPacketHeader; Android UciControlPacketHal and
// UciDataPacketHal.)
type Header struct {
	MT  MessageType
	PBF bool  // packet boundary flag: more segments of this message follow
	GID uint8 // group identifier; the data packet format for data packets
	OID uint8 // opcode identifier; 0 for data packets
	Len int   // payload length
}

// Opcode returns the header's group and opcode identifiers.
func (h Header) Opcode() Opcode { return NewOpcode(GroupID(h.GID), h.OID) }

// ParseHeader decodes the header at the start of b. It rejects the message
// types reserved for testing (4-7), a set RFU bit, and a data packet longer
// than [MaxDataPayload], with an error wrapping [ErrFraming].
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d header bytes, want %d", ErrFraming, len(b), HeaderSize)
	}
	h := Header{MT: MessageType(b[0] >> 5), PBF: b[0]&0x10 != 0, GID: b[0] & 0x0F}
	switch h.MT {
	case MTData:
		if b[1] != 0 {
			return Header{}, fmt.Errorf("%w: data packet RFU octet %02x", ErrFraming, b[1])
		}
		h.Len = int(binary.LittleEndian.Uint16(b[2:]))
		if h.Len > MaxDataPayload {
			return Header{}, fmt.Errorf("%w: data packet of %d bytes, limit %d", ErrFraming, h.Len, MaxDataPayload)
		}
	case MTCommand, MTResponse, MTNotification:
		if b[1]&0xC0 != 0 || b[2] != 0 {
			return Header{}, fmt.Errorf("%w: control packet RFU bits set in %x", ErrFraming, b[:HeaderSize])
		}
		h.OID = b[1] & 0x3F
		h.Len = int(b[3])
	default:
		return Header{}, fmt.Errorf("%w: message type %d", ErrFraming, h.MT)
	}
	return h, nil
}

// AppendHeader appends the encoding of h to dst. h.Len must fit its field.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.MT&7)<<5 | h.GID&0x0F
	if h.PBF {
		b0 |= 0x10
	}
	if h.MT == MTData {
		return binary.LittleEndian.AppendUint16(append(dst, b0, 0), uint16(h.Len))
	}
	return append(dst, b0, h.OID&0x3F, 0, byte(h.Len))
}

// AppendMessage appends the control packets that carry one message to dst:
// the payload cut into segments of at most maxSegment bytes (1 to 255; 0
// means 255), each with its header, PBF set on every segment but the last
// (FiRa UCI segmentation). An empty payload is one packet.
func AppendMessage(dst []byte, mt MessageType, op Opcode, payload []byte, maxSegment int) []byte {
	if maxSegment <= 0 || maxSegment > MaxControlPayload {
		maxSegment = MaxControlPayload
	}
	for {
		n := min(len(payload), maxSegment)
		more := len(payload) > n
		dst = AppendHeader(dst, Header{MT: mt, PBF: more, GID: uint8(op.GID()), OID: op.OID(), Len: n})
		dst = append(dst, payload[:n]...)
		payload = payload[n:]
		if !more {
			return dst
		}
	}
}

// Packet is a complete (reassembled) control message: its type, opcode and
// payload.
type Packet struct {
	MT      MessageType
	Op      Opcode
	Payload []byte
}

// Reassembler joins the segments of control messages (FiRa UCI packet
// boundary flag). Segments of one message arrive back to back: a packet of
// another type or opcode before the last segment is an error, as is a
// message longer than Limit.
//
// The zero Reassembler has no limit set and refuses every segmented
// message; use [NewReassembler]. After construction it allocates nothing.
type Reassembler struct {
	limit  int
	buf    []byte
	active bool
	mt     MessageType
	op     Opcode
}

// NewReassembler returns a Reassembler for messages of up to limit payload
// bytes (at least [MaxControlPayload]).
func NewReassembler(limit int) *Reassembler {
	limit = max(limit, MaxControlPayload)
	return &Reassembler{limit: limit, buf: make([]byte, 0, limit)}
}

// Add takes one control packet (header and payload, exactly). When it
// completes a message, Add returns it and true; the payload aliases the
// Reassembler (or, for an unsegmented message, packet) and is valid until the
// next call. A malformed packet, an interleaved one or an oversize message
// returns an error wrapping [ErrFraming] and drops the message under way.
func (r *Reassembler) Add(packet []byte) (Packet, bool, error) {
	h, err := ParseHeader(packet)
	if err != nil {
		r.active = false
		return Packet{}, false, err
	}
	if h.MT == MTData {
		r.active = false
		return Packet{}, false, fmt.Errorf("%w: data packet given to the control reassembler", ErrFraming)
	}
	if len(packet) != HeaderSize+h.Len {
		r.active = false
		return Packet{}, false, fmt.Errorf("%w: packet of %d bytes, header says %d", ErrFraming, len(packet), HeaderSize+h.Len)
	}
	payload := packet[HeaderSize:]
	if r.active && (h.MT != r.mt || h.Opcode() != r.op) {
		r.active = false
		return Packet{}, false, fmt.Errorf("%w: %v %v interleaved with the segments of %v %v", ErrFraming, h.MT, h.Opcode(), r.mt, r.op)
	}
	if !r.active && !h.PBF {
		return Packet{MT: h.MT, Op: h.Opcode(), Payload: payload}, true, nil
	}
	if !r.active {
		r.active, r.mt, r.op, r.buf = true, h.MT, h.Opcode(), r.buf[:0]
	}
	if len(r.buf)+len(payload) > r.limit {
		r.active = false
		return Packet{}, false, fmt.Errorf("%w: %v %v longer than %d bytes", ErrFraming, h.MT, h.Opcode(), r.limit)
	}
	r.buf = append(r.buf, payload...)
	if h.PBF {
		return Packet{}, false, nil
	}
	r.active = false
	return Packet{MT: r.mt, Op: r.op, Payload: r.buf}, true, nil
}

// Pending reports whether a segmented message is under way.
func (r *Reassembler) Pending() bool { return r.active }
