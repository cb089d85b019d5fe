package ble

import (
	"fmt"
	"strconv"
)

// Sizes of a DK message (§8.3).
const (
	// HeaderLen is the size of the message header, the payload header and
	// the length field that start every DK message.
	HeaderLen = 4
	// MaxDataLen is the longest data a DK message carries: its length field
	// has 16 bits.
	MaxDataLen = 0xFFFF
	// MaxMessageLen is the longest DK message.
	MaxMessageLen = HeaderLen + MaxDataLen

	// rfuBits are bits 7 and 6 of the message header, reserved (zero).
	rfuBits = 0xC0
)

// MessageType is the message type of a DK message: bits 5 to 0 of its
// first byte, the message header (§8.3). Types 7 to 63 are reserved; the
// package rejects them (NXP's own type 7 included).
type MessageType uint8

// Message types (§8.3, TS v4.0.0 Table 19-19 via [YKB]).
const (
	TypeFramework     MessageType = 0 // owner-pairing framework messages
	TypeSE            MessageType = 1 // APDU tunnel to the secure element
	TypeRanging       MessageType = 2 // UWB ranging service (§8.4)
	TypeEvent         MessageType = 3 // DK event notification (§8.6)
	TypeOEM           MessageType = 4 // vehicle OEM app pass-through
	TypeSupplementary MessageType = 5 // time sync, first approach, RKE (§8.6)
	TypeHeadUnit      MessageType = 6 // head-unit pairing
)

// String returns the name of the type.
func (t MessageType) String() string {
	switch t {
	case TypeFramework:
		return "framework"
	case TypeSE:
		return "SE"
	case TypeRanging:
		return "UWB ranging service"
	case TypeEvent:
		return "DK event notification"
	case TypeOEM:
		return "vehicle OEM app"
	case TypeSupplementary:
		return "supplementary service"
	case TypeHeadUnit:
		return "head-unit pairing"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Numbering says which of the two message-ID numberings of the public
// sources a message uses (§8.3, docs/protocol.md §11 row 5). The spec's own
// example fixes DK_APDU_RQ and DK_APDU_RS at 0B and 0C, which both share;
// the other IDs differ.
type Numbering uint8

const (
	// PerType numbers the messages of each type from 01 ([NXPDK]). It is
	// the zero value and the default for sending.
	PerType Numbering = iota
	// Global numbers the messages across all types ([CNDK], TS R3).
	Global
)

// String returns the name of the numbering.
func (n Numbering) String() string {
	switch n {
	case PerType:
		return "per-type"
	case Global:
		return "global"
	}
	return "Numbering(" + strconv.Itoa(int(n)) + ")"
}

// Kind is one DK message, whatever its numbering: a message type with a
// message ID. The zero value is no message.
type Kind uint8

// DK messages (§8.3). The IDs of both numberings are in the package's
// table; [Kind.ID] returns them.
const (
	KindFrameworkAPDURQ               Kind = iota + 1 // 0/0B in both numberings (project choice)
	KindFrameworkAPDURS                               // 0/0C in both numberings (project choice)
	KindDKAPDURQ                                      // 1/0B, vehicle to device: a command APDU
	KindDKAPDURS                                      // 1/0C, device to vehicle: the response APDU
	KindRangingCapabilityRQ                           // 2/01
	KindRangingCapabilityRS                           // 2/02
	KindRangingSessionRQ                              // 2/03
	KindRangingSessionRS                              // 2/04
	KindRangingSessionSetupRQ                         // 2/05
	KindRangingSessionSetupRS                         // 2/06
	KindRangingSuspendRQ                              // 2/07
	KindRangingSuspendRS                              // 2/08
	KindRangingRecoveryRQ                             // 2/09
	KindRangingRecoveryRS                             // 2/0A
	KindConfigurableRangingRecoveryRQ                 // 2/0B per type, 2/12 global
	KindConfigurableRangingRecoveryRS                 // 2/0C per type, 2/13 global
	KindEventNotification                             // 3/01 per type, 3/11 global
	KindOEMPassThrough                                // 4/01 per type, 4/10 global
	KindTimeSync                                      // 5/01 per type, 5/0D global
	KindFirstApproachRQ                               // 5/02 per type, 5/0E global
	KindFirstApproachRS                               // 5/03 per type, 5/0F global
	KindRKEAuthRQ                                     // 5/04 per type, 5/14 global
	KindRKEAuthRS                                     // 5/05 per type, 5/15 global
	KindUWBFinalData                                  // 5/06 in both (no global ID is known)
	KindHeadUnitPairingPrep                           // 6/01 per type, 6/16 global
	KindHeadUnitPairingRQ                             // 6/02 per type, 6/17 global
	KindHeadUnitPairingRS                             // 6/03 per type, 6/18 global

	numKinds
)

type kindInfo struct {
	name            string
	typ             MessageType
	perType, global byte
}

// kinds is the message table of §8.3, indexed by Kind.
//
// Where the project chose, because the public sources give no ID:
//   - framework messages (type 0): the sources name the type but none of
//     its messages. The project tunnels APDUs for the Digital Key framework
//     as it tunnels them for the SE, with the same IDs 0B and 0C, in both
//     numberings. TestKindTable checks that no ID means two messages.
//   - UWB final data (5/06) exists only in [NXPDK]'s per-type numbering;
//     the global numbering sends the same ID, which no other type-5 message
//     uses in it.
var kinds = [numKinds]kindInfo{
	KindFrameworkAPDURQ:               {"Framework_APDU_RQ", TypeFramework, 0x0B, 0x0B},
	KindFrameworkAPDURS:               {"Framework_APDU_RS", TypeFramework, 0x0C, 0x0C},
	KindDKAPDURQ:                      {"DK_APDU_RQ", TypeSE, 0x0B, 0x0B},
	KindDKAPDURS:                      {"DK_APDU_RS", TypeSE, 0x0C, 0x0C},
	KindRangingCapabilityRQ:           {"Ranging_Capability_RQ", TypeRanging, 0x01, 0x01},
	KindRangingCapabilityRS:           {"Ranging_Capability_RS", TypeRanging, 0x02, 0x02},
	KindRangingSessionRQ:              {"Ranging_Session_RQ", TypeRanging, 0x03, 0x03},
	KindRangingSessionRS:              {"Ranging_Session_RS", TypeRanging, 0x04, 0x04},
	KindRangingSessionSetupRQ:         {"Ranging_Session_Setup_RQ", TypeRanging, 0x05, 0x05},
	KindRangingSessionSetupRS:         {"Ranging_Session_Setup_RS", TypeRanging, 0x06, 0x06},
	KindRangingSuspendRQ:              {"Ranging_Suspend_RQ", TypeRanging, 0x07, 0x07},
	KindRangingSuspendRS:              {"Ranging_Suspend_RS", TypeRanging, 0x08, 0x08},
	KindRangingRecoveryRQ:             {"Ranging_Recovery_RQ", TypeRanging, 0x09, 0x09},
	KindRangingRecoveryRS:             {"Ranging_Recovery_RS", TypeRanging, 0x0A, 0x0A},
	KindConfigurableRangingRecoveryRQ: {"Configurable_Ranging_Recovery_RQ", TypeRanging, 0x0B, 0x12},
	KindConfigurableRangingRecoveryRS: {"Configurable_Ranging_Recovery_RS", TypeRanging, 0x0C, 0x13},
	KindEventNotification:             {"DK_Event_Notification", TypeEvent, 0x01, 0x11},
	KindOEMPassThrough:                {"Vehicle_OEM_App_Data", TypeOEM, 0x01, 0x10},
	KindTimeSync:                      {"Time_Sync", TypeSupplementary, 0x01, 0x0D},
	KindFirstApproachRQ:               {"First_Approach_RQ", TypeSupplementary, 0x02, 0x0E},
	KindFirstApproachRS:               {"First_Approach_RS", TypeSupplementary, 0x03, 0x0F},
	KindRKEAuthRQ:                     {"RKE_Auth_RQ", TypeSupplementary, 0x04, 0x14},
	KindRKEAuthRS:                     {"RKE_Auth_RS", TypeSupplementary, 0x05, 0x15},
	KindUWBFinalData:                  {"UWB_Final_Data", TypeSupplementary, 0x06, 0x06},
	KindHeadUnitPairingPrep:           {"HU_Pairing_Prep", TypeHeadUnit, 0x01, 0x16},
	KindHeadUnitPairingRQ:             {"HU_Pairing_RQ", TypeHeadUnit, 0x02, 0x17},
	KindHeadUnitPairingRS:             {"HU_Pairing_RS", TypeHeadUnit, 0x03, 0x18},
}

// Valid reports whether k is one of the defined messages.
func (k Kind) Valid() bool { return k > 0 && k < numKinds }

// Type returns the message type of k; 0 for an invalid Kind.
func (k Kind) Type() MessageType {
	if !k.Valid() {
		return 0
	}
	return kinds[k].typ
}

// ID returns the message ID of k in numbering n; 0 for an invalid Kind or
// numbering.
func (k Kind) ID(n Numbering) byte {
	switch {
	case !k.Valid():
		return 0
	case n == PerType:
		return kinds[k].perType
	case n == Global:
		return kinds[k].global
	}
	return 0
}

// String returns the name of the message as the sources spell it, such as
// "DK_APDU_RQ".
func (k Kind) String() string {
	if !k.Valid() {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kinds[k].name
}

// lookup returns the message of type t with ID id in either numbering, and
// the numbering: per-type when the ID is the per-type one (which includes
// the IDs both numberings share), global otherwise.
func lookup(t MessageType, id byte) (Kind, Numbering, bool) {
	for k := Kind(1); k < numKinds; k++ {
		info := &kinds[k]
		if info.typ != t {
			continue
		}
		if info.perType == id {
			return k, PerType, true
		}
		if info.global == id {
			return k, Global, true
		}
	}
	return 0, 0, false
}

// Message is one DK message (§8.3):
//
//	byte 0     message header: bits 7-6 RFU (0), bits 5-0 the message type
//	byte 1     payload header: the message ID
//	bytes 2-3  length of the data, big-endian
//	bytes 4-   data
//
// Kind gives the type and the ID; Numbering says which ID is on the wire.
// A Message returned by [ParseMessage] or [Channel.Receive] aliases the
// bytes it was parsed from.
type Message struct {
	Kind      Kind
	Numbering Numbering
	Data      []byte
}

// Append appends the encoding of m to dst and returns the extended slice.
// It fails, leaving dst as it was, for an invalid Kind or Numbering and for
// data longer than MaxDataLen (an error wrapping [ErrTooLarge]).
func (m *Message) Append(dst []byte) ([]byte, error) {
	switch {
	case !m.Kind.Valid():
		return dst, fmt.Errorf("ble: encoding %v: %w", m.Kind, ErrUnknownID)
	case m.Numbering != PerType && m.Numbering != Global:
		return dst, fmt.Errorf("ble: encoding %v in %v numbering: %w", m.Kind, m.Numbering, ErrUnknownID)
	case len(m.Data) > MaxDataLen:
		return dst, fmt.Errorf("ble: %v with %d bytes of data: %w", m.Kind, len(m.Data), ErrTooLarge)
	}
	n := len(m.Data)
	dst = append(dst, byte(m.Kind.Type()), m.Kind.ID(m.Numbering), byte(n>>8), byte(n))
	return append(dst, m.Data...), nil
}

// ParseMessage parses one whole DK message, as one SDU carries it. It
// accepts the IDs of both numberings and rejects, with an error wrapping
// the sentinel named:
//   - fewer than HeaderLen bytes, reserved header bits set, and a length
//     field that is not exactly the number of bytes that follow
//     ([ErrMalformed]): no prefix of a message and nothing after one parses;
//   - a message type above 6 ([ErrUnknownType]);
//   - an ID neither numbering defines for the type ([ErrUnknownID]).
//
// The returned Message's Data aliases b. ParseMessage does not allocate
// when it succeeds.
func ParseMessage(b []byte) (Message, error) {
	if len(b) < HeaderLen {
		return Message{}, fmt.Errorf("%w: %d bytes, shorter than the header", ErrMalformed, len(b))
	}
	if b[0]&rfuBits != 0 {
		return Message{}, fmt.Errorf("%w: reserved bits set in message header %02X", ErrMalformed, b[0])
	}
	t := MessageType(b[0])
	if t > TypeHeadUnit {
		return Message{}, fmt.Errorf("%w: %d", ErrUnknownType, t)
	}
	if n := int(b[2])<<8 | int(b[3]); n != len(b)-HeaderLen {
		return Message{}, fmt.Errorf("%w: length field %d, %d bytes of data", ErrMalformed, n, len(b)-HeaderLen)
	}
	k, num, ok := lookup(t, b[1])
	if !ok {
		return Message{}, fmt.Errorf("%w: %02X for message type %v", ErrUnknownID, b[1], t)
	}
	return Message{Kind: k, Numbering: num, Data: b[HeaderLen:]}, nil
}
