package ranging

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// TransactionIDSize is the size of the transaction_identifier of AUTH0 (tag
// 4C, docs/protocol.md §4.2), the source of the UWB session identifier.
const TransactionIDSize = 16

// SessionID is the 4-byte UWB_Session_Id that names a ranging session and
// the URSK it ranges with: the last 4 bytes of the transaction_identifier of
// the standard transaction that derived the URSK (docs/protocol.md §8.4, I
// [CNDK]). It travels big-endian on the wire and is comparable with ==.
type SessionID [4]byte

// SessionIDFromTransaction returns the session identifier of the standard
// transaction whose transaction_identifier is txid: its last 4 bytes. txid
// must be [TransactionIDSize] bytes; otherwise the error wraps
// [ErrMalformed].
func SessionIDFromTransaction(txid []byte) (SessionID, error) {
	var id SessionID
	if len(txid) != TransactionIDSize {
		return id, fmt.Errorf("%w: transaction identifier of %d bytes, want %d", ErrMalformed, len(txid), TransactionIDSize)
	}
	copy(id[:], txid[TransactionIDSize-len(id):])
	return id, nil
}

// Uint32 returns the identifier as a big-endian 32-bit number, the form a
// UWB chip takes as its UCI session identifier (the project's mapping).
func (id SessionID) Uint32() uint32 { return binary.BigEndian.Uint32(id[:]) }

// String returns the identifier in hexadecimal.
func (id SessionID) String() string { return hex.EncodeToString(id[:]) }

// ConfigID is a UWB configuration identifier (2 bytes, docs/protocol.md §8.4):
// one of the frame configurations of the CCC UWB MAC.
type ConfigID uint16

// The UWB configurations of docs/protocol.md §8.4 (I [AOSP]).
const (
	ConfigID0 ConfigID = 0x0000
	ConfigID1 ConfigID = 0x0001
)

// String returns the identifier in hexadecimal, for example "0001".
func (c ConfigID) String() string { return fmt.Sprintf("%04x", uint16(c)) }

// PulseShape is one UWB pulse shape (docs/protocol.md §8.4, I [QRV][AOSP]).
type PulseShape uint8

// Pulse shapes.
const (
	PulseSRRC                 PulseShape = 0 // symmetrical root-raised cosine
	PulsePrecursorFree        PulseShape = 1
	PulsePrecursorFreeSpecial PulseShape = 2
)

// PulseShapeCombo is the pulse-shape combination byte: the initiator's shape
// in the high nibble, the responder's in the low nibble (docs/protocol.md §8.4).
type PulseShapeCombo uint8

// NewPulseShapeCombo returns the combination of an initiator shape and a
// responder shape.
func NewPulseShapeCombo(initiator, responder PulseShape) PulseShapeCombo {
	return PulseShapeCombo(initiator<<4 | responder&0x0F)
}

// Initiator returns the initiator's (the device's) pulse shape.
func (c PulseShapeCombo) Initiator() PulseShape { return PulseShape(c >> 4) }

// Responder returns the responders' (the vehicle anchors') pulse shape.
func (c PulseShapeCombo) Responder() PulseShape { return PulseShape(c & 0x0F) }

// Valid reports whether c is one of the allowed combinations of docs/protocol.md
// §8.4 (I [QRV][AOSP]): 01, 10, 11, 12 and 21.
func (c PulseShapeCombo) Valid() bool {
	switch c {
	case 0x01, 0x10, 0x11, 0x12, 0x21:
		return true
	}
	return false
}

// String returns the combination in hexadecimal, for example "12".
func (c PulseShapeCombo) String() string { return fmt.Sprintf("%02x", uint8(c)) }

// Channel is a UWB channel. CCC ranging uses channels 5 and 9 only
// (docs/protocol.md §8.4).
type Channel uint8

// The UWB channels of CCC ranging.
const (
	Channel5 Channel = 5
	Channel9 Channel = 9
)

// Valid reports whether c is channel 5 or 9.
func (c Channel) Valid() bool { return c == Channel5 || c == Channel9 }

// String returns "ch5" or "ch9" (or the number of an invalid channel).
func (c Channel) String() string { return "ch" + strconv.Itoa(int(c)) }

// ChannelMask is the channel bitmask of docs/protocol.md §8.4: bit 0 is channel
// 5, bit 1 channel 9; the other bits are reserved.
type ChannelMask uint8

const channelMaskValid ChannelMask = 0x03

// ChannelsOf returns the mask of the valid channels among cs.
func ChannelsOf(cs ...Channel) ChannelMask {
	var m ChannelMask
	for _, c := range cs {
		m |= c.bit()
	}
	return m
}

func (c Channel) bit() ChannelMask {
	switch c {
	case Channel5:
		return 1
	case Channel9:
		return 2
	}
	return 0
}

// Has reports whether m contains channel c.
func (m ChannelMask) Has(c Channel) bool { return c.bit() != 0 && m&c.bit() != 0 }

// Valid reports whether m names at least one channel and no reserved bit.
func (m ChannelMask) Valid() bool { return m != 0 && m&^channelMaskValid == 0 }

// String lists the channels, for example "ch5|ch9".
func (m ChannelMask) String() string {
	var parts []string
	for _, c := range []Channel{Channel5, Channel9} {
		if m.Has(c) {
			parts = append(parts, c.String())
		}
	}
	if rest := m &^ channelMaskValid; rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%02x", uint8(rest)))
	}
	return strings.Join(parts, "|")
}

// ChapsPerSlot is the length of a ranging slot in chaps (one chap is 400
// RSTU, 1/3 ms; docs/protocol.md §8.4): 3, 4, 6, 8, 9, 12 or 24 (24 is for tests
// only).
type ChapsPerSlot uint8

// slotLengths lists the slot lengths in the bit order of [SlotMask].
var slotLengths = [7]ChapsPerSlot{3, 4, 6, 8, 9, 12, 24}

// RSTUPerChap is the length of a chap in ranging-scheduling time units.
const RSTUPerChap = 400

// Valid reports whether c is one of the slot lengths of docs/protocol.md §8.4.
func (c ChapsPerSlot) Valid() bool { return c.bit() != 0 }

func (c ChapsPerSlot) bit() SlotMask {
	for i, l := range slotLengths {
		if l == c {
			return 1 << i
		}
	}
	return 0
}

// RSTU returns the slot duration in ranging-scheduling time units, the
// value of the UCI SLOT_DURATION parameter.
func (c ChapsPerSlot) RSTU() uint16 { return uint16(c) * RSTUPerChap }

// SlotMask is the Slot_BitMask of docs/protocol.md §8.4: bit i is the i-th slot
// length of 3, 4, 6, 8, 9, 12, 24 chaps; bit 7 is reserved.
type SlotMask uint8

const slotMaskValid SlotMask = 0x7F

// SlotsOf returns the mask of the valid slot lengths among cs.
func SlotsOf(cs ...ChapsPerSlot) SlotMask {
	var m SlotMask
	for _, c := range cs {
		m |= c.bit()
	}
	return m
}

// Has reports whether m contains slot length c.
func (m SlotMask) Has(c ChapsPerSlot) bool { return c.bit() != 0 && m&c.bit() != 0 }

// Valid reports whether m names at least one slot length and no reserved bit.
func (m SlotMask) Valid() bool { return m != 0 && m&^slotMaskValid == 0 }

// Smallest returns the shortest slot length in m, and false for a mask
// without one.
func (m SlotMask) Smallest() (ChapsPerSlot, bool) {
	m &= slotMaskValid
	if m == 0 {
		return 0, false
	}
	return slotLengths[bits.TrailingZeros8(uint8(m))], true
}

// SyncCode is a SYNC code (preamble code) index, 1 to 32 (docs/protocol.md §8.4).
type SyncCode uint8

// Valid reports whether c is between 1 and 32.
func (c SyncCode) Valid() bool { return c >= 1 && c <= 32 }

// SyncCodeMask is the 32-bit SYNC code bitmask of docs/protocol.md §8.4: bit n-1
// is code n.
type SyncCodeMask uint32

// SyncCodesOf returns the mask of the valid codes among cs.
func SyncCodesOf(cs ...SyncCode) SyncCodeMask {
	var m SyncCodeMask
	for _, c := range cs {
		if c.Valid() {
			m |= 1 << (c - 1)
		}
	}
	return m
}

// Has reports whether m contains code c.
func (m SyncCodeMask) Has(c SyncCode) bool { return c.Valid() && m&(1<<(c-1)) != 0 }

// Lowest returns the lowest code in m, and false for the empty mask.
func (m SyncCodeMask) Lowest() (SyncCode, bool) {
	if m == 0 {
		return 0, false
	}
	return SyncCode(bits.TrailingZeros32(uint32(m)) + 1), true
}

// HoppingMask is the Hopping_Config_Bitmask of docs/protocol.md §8.4: bit 7 no
// hopping, bit 6 continuous hopping, bit 5 adaptive hopping, bit 4 the
// default hopping sequence, bit 3 the AES-based sequence; bits 2-0 are
// reserved. The same encoding is the UCI capability
// CCC_SUPPORTED_HOPPING_CONFIG_MODES_AND_SEQUENCES (I [AOSP]).
type HoppingMask uint8

// Hopping mask bits.
const (
	HopNone       HoppingMask = 0x80
	HopContinuous HoppingMask = 0x40
	HopAdaptive   HoppingMask = 0x20
	HopSeqDefault HoppingMask = 0x10
	HopSeqAES     HoppingMask = 0x08

	hopModes     = HopNone | HopContinuous | HopAdaptive
	hopSequences = HopSeqDefault | HopSeqAES
)

// Valid reports whether m names at least one hopping mode, a sequence if it
// names a hopping mode other than none, and no reserved bit.
func (m HoppingMask) Valid() bool {
	if m&^(hopModes|hopSequences) != 0 || m&hopModes == 0 {
		return false
	}
	return m&(HopContinuous|HopAdaptive) == 0 || m&hopSequences != 0
}

// Has reports whether m supports configuration h: its mode and, when it
// hops, its sequence.
func (m HoppingMask) Has(h HoppingConfig) bool {
	return h.Valid() && HoppingMask(h)&m == HoppingMask(h)
}

// HoppingConfig is one selected hopping configuration, encoded with the bits
// of [HoppingMask]: exactly one mode bit and, unless the mode is no hopping,
// exactly one sequence bit (the project's encoding of
// Selected_Hopping_Config; docs/protocol.md §8.4 gives only the field).
type HoppingConfig uint8

// The hopping configurations in the negotiation priority of docs/protocol.md §8.4
// ([CNDK]): continuous with the default sequence first, no hopping last.
const (
	HoppingContinuousDefault = HoppingConfig(HopContinuous | HopSeqDefault)
	HoppingContinuousAES     = HoppingConfig(HopContinuous | HopSeqAES)
	HoppingAdaptiveDefault   = HoppingConfig(HopAdaptive | HopSeqDefault)
	HoppingAdaptiveAES       = HoppingConfig(HopAdaptive | HopSeqAES)
	HoppingNone              = HoppingConfig(HopNone)
)

// hoppingPriority is the negotiation order of docs/protocol.md §8.4.
var hoppingPriority = [5]HoppingConfig{
	HoppingContinuousDefault, HoppingContinuousAES, HoppingAdaptiveDefault, HoppingAdaptiveAES, HoppingNone,
}

// Valid reports whether h is one of the five configurations.
func (h HoppingConfig) Valid() bool {
	for _, p := range hoppingPriority {
		if h == p {
			return true
		}
	}
	return false
}

// UCIValue returns the HOPPING_MODE application-configuration value of
// Android's UWB stack for h (docs/protocol.md §8.4, I [AOSP]): 00 none, 03
// continuous+default, 05 continuous+AES, 02 adaptive+default, 04
// adaptive+AES.
func (h HoppingConfig) UCIValue() uint8 {
	switch h {
	case HoppingContinuousDefault:
		return 0x03
	case HoppingContinuousAES:
		return 0x05
	case HoppingAdaptiveDefault:
		return 0x02
	case HoppingAdaptiveAES:
		return 0x04
	}
	return 0x00
}

// String names the configuration, for example "continuous+default".
func (h HoppingConfig) String() string {
	switch h {
	case HoppingContinuousDefault:
		return "continuous+default"
	case HoppingContinuousAES:
		return "continuous+aes"
	case HoppingAdaptiveDefault:
		return "adaptive+default"
	case HoppingAdaptiveAES:
		return "adaptive+aes"
	case HoppingNone:
		return "none"
	}
	return fmt.Sprintf("HoppingConfig(0x%02x)", uint8(h))
}

// slotsPerRound lists the values of Number_Slots_per_Round (docs/protocol.md
// §8.4, I [QRV]).
var slotsPerRound = [13]uint8{4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 72, 96}

// ValidSlotsPerRound reports whether n is an allowed number of slots per
// ranging round.
func ValidSlotsPerRound(n uint8) bool {
	for _, v := range slotsPerRound {
		if v == n {
			return true
		}
	}
	return false
}

// minSlotsPerRound returns the smallest allowed number of slots per round
// that is at least responders + 4 (docs/protocol.md §8.4), and false when no
// allowed value is large enough.
func minSlotsPerRound(responders uint8) (uint8, bool) {
	need := int(responders) + 4
	for _, v := range slotsPerRound {
		if int(v) >= need {
			return v, true
		}
	}
	return 0, false
}

// BlockUnit is the ranging-block duration per unit of RAN multiplier
// (docs/protocol.md §8.4, I [QRV]).
const BlockUnit = 96 * time.Millisecond

// SessionParams is what the ranging setup agrees on: every parameter a UWB
// chip needs for the session besides the URSK. Both roles hold the same
// values once the setup is done.
type SessionParams struct {
	Version       dkey.Version    // selected protocol version
	ConfigID      ConfigID        // selected UWB configuration
	SessionID     SessionID       // UWB_Session_Id, names the URSK
	PulseShape    PulseShapeCombo // selected pulse-shape combination
	Channel       Channel         // selected UWB channel
	RANMultiplier uint8           // ranging block = RANMultiplier × 96 ms
	ChapsPerSlot  ChapsPerSlot    // slot length
	Responders    uint8           // number of vehicle anchors
	SlotsPerRound uint8           // at least Responders + 4
	Hopping       HoppingConfig   // selected hopping configuration
	SyncCode      SyncCode        // selected SYNC code index
	STSIndex0     uint32          // first STS index, chosen by the device (initiator)
	UWBTime0      uint64          // start of ranging on the device's UWB clock, µs
	HopModeKey    uint32          // key of the AES hopping sequence
}

// BlockDuration returns the duration of one ranging block.
func (p *SessionParams) BlockDuration() time.Duration {
	return time.Duration(p.RANMultiplier) * BlockUnit
}

// Validate reports whether every field holds an allowed value: the
// constraints of docs/protocol.md §8.4. The error wraps [ErrMalformed].
func (p *SessionParams) Validate() error {
	switch {
	case p.Version == 0:
		return fmt.Errorf("%w: protocol version 0", ErrMalformed)
	case !p.PulseShape.Valid():
		return fmt.Errorf("%w: pulse-shape combination %v", ErrMalformed, p.PulseShape)
	case !p.Channel.Valid():
		return fmt.Errorf("%w: channel %d", ErrMalformed, uint8(p.Channel))
	case p.RANMultiplier == 0:
		return fmt.Errorf("%w: RAN multiplier 0", ErrMalformed)
	case !p.ChapsPerSlot.Valid():
		return fmt.Errorf("%w: %d chaps per slot", ErrMalformed, uint8(p.ChapsPerSlot))
	case p.Responders == 0:
		return fmt.Errorf("%w: no responder", ErrMalformed)
	case !ValidSlotsPerRound(p.SlotsPerRound) || int(p.SlotsPerRound) < int(p.Responders)+4:
		return fmt.Errorf("%w: %d slots per round for %d responders", ErrMalformed, p.SlotsPerRound, p.Responders)
	case !p.Hopping.Valid():
		return fmt.Errorf("%w: hopping configuration %v", ErrMalformed, p.Hopping)
	case !p.SyncCode.Valid():
		return fmt.Errorf("%w: SYNC code %d", ErrMalformed, p.SyncCode)
	}
	return nil
}
