package pcsc

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// The pcscd client protocol, version 4.4 (pcsc-lite 1.8.24 to 2.x; servers
// speaking 4.5 and later accept 4.4 clients in a backward-compatible mode).
// Every request is a header {size, command uint32} followed by a fixed-size
// body (pcsc-lite winscard_msg.h); every reply is the body alone, echoed
// back with its output fields and rv filled in. SCARD_TRANSMIT is followed
// by the command bytes, and its reply by the response bytes when rv is
// SCARD_S_SUCCESS. Integers are in the host's byte order: pcscd copies C
// structures to the socket.
const (
	protocolMajor = 4
	protocolMinor = 4

	cmdEstablishContext = 0x01
	cmdReleaseContext   = 0x02
	cmdConnect          = 0x04
	cmdReconnect        = 0x05
	cmdDisconnect       = 0x06
	cmdTransmit         = 0x09
	cmdStatus           = 0x0B
	cmdVersion          = 0x11
	cmdGetReadersState  = 0x12

	headerSize     = 8
	versionSize    = 12                   // major, minor, rv
	establishSize  = 12                   // dwScope, hContext, rv
	releaseSize    = 8                    // hContext, rv
	connectSize    = 4 + 128 + 4*5        // hContext, szReader[128], dwShareMode, dwPreferredProtocols, hCard, dwActiveProtocol, rv
	reconnectSize  = 24                   // hCard, dwShareMode, dwPreferredProtocols, dwInitialization, dwActiveProtocol, rv
	disconnectSize = 12                   // hCard, dwDisposition, rv
	statusSize     = 8                    // hCard, rv
	transmitSize   = 32                   // hCard, ioSendPciProtocol, ioSendPciLength, cbSendLength, ioRecvPciProtocol, ioRecvPciLength, pcbRecvLength, rv
	maxBodySize    = connectSize          // the largest fixed body
	maxReaderName  = 128                  // MAX_READERNAME, with its terminating NUL
	maxATRSize     = 33                   // MAX_ATR_SIZE
	maxReaders     = 16                   // PCSCLITE_MAX_READERS_CONTEXTS
	readerStateLen = 128 + 4*3 + 36 + 4*2 // readerName[128], eventCounter, readerState, readerSharing, cardAtr[33] + 3 bytes of padding, cardAtrLength, cardProtocol
	readersSize    = maxReaders * readerStateLen

	// MaxCommand is the longest command APDU pcscd accepts
	// (MAX_BUFFER_SIZE_EXTENDED: a 4-byte header, a 3-byte Lc, 65536 bytes
	// of data, a 3-byte Le and 2 spare bytes).
	MaxCommand = 4 + 3 + 1<<16 + 3 + 2
	// MaxResponse is the receive buffer offered to pcscd on every transmit,
	// and so the longest response APDU a [Conn] accepts (65536 bytes of data
	// and the status word fit).
	MaxResponse = MaxCommand

	scopeSystem   = 0x0002 // SCARD_SCOPE_SYSTEM
	shareShared   = 0x0002 // SCARD_SHARE_SHARED
	ioRequestSize = 16     // sizeof(SCARD_IO_REQUEST) on LP64; pcscd only passes it through
)

var ne = binary.NativeEndian

// appendHeader appends a request header for a body of size bytes.
func appendHeader(b []byte, cmd uint32, size int) []byte {
	b = ne.AppendUint32(b, uint32(size))
	return ne.AppendUint32(b, cmd)
}

// appendReaderName appends name as a NUL-padded szReader[128] field. The
// caller has checked validReaderName(name).
func appendReaderName(b []byte, name string) []byte {
	b = append(b, name...)
	var zero [maxReaderName]byte
	return append(b, zero[:maxReaderName-len(name)]...)
}

// validReaderName reports whether name fits szReader with its NUL.
func validReaderName(name string) bool {
	return name != "" && len(name) < maxReaderName && !bytes.Contains([]byte(name), []byte{0})
}

// ReaderState is one reader as pcscd reports it.
type ReaderState struct {
	// Name is the reader name, without the NUL padding of the wire.
	Name string
	// State is the card state in the reader.
	State State
	// ATR is the card's answer to reset, empty without a powered card.
	ATR []byte
	// Protocol is the protocol negotiated with the card, zero before the
	// first connection.
	Protocol Protocol
	// Events counts card insertions and removals in this reader.
	Events uint32
}

// CardPresent reports whether a card is in the reader.
func (s *ReaderState) CardPresent() bool {
	return s.State&StatePresent != 0 && s.State&StateAbsent == 0
}

// State is the bit field pcscd keeps for the card in a reader (SCARD_ABSENT,
// SCARD_PRESENT, ... in pcsclite.h).
type State uint32

// Card states.
const (
	StateUnknown    State = 0x0001 // SCARD_UNKNOWN
	StateAbsent     State = 0x0002 // SCARD_ABSENT: no card
	StatePresent    State = 0x0004 // SCARD_PRESENT: a card is in the reader
	StateSwallowed  State = 0x0008 // SCARD_SWALLOWED: present but not powered
	StatePowered    State = 0x0010 // SCARD_POWERED
	StateNegotiable State = 0x0020 // SCARD_NEGOTIABLE: ready for PTS
	StateSpecific   State = 0x0040 // SCARD_SPECIFIC: PTS has been set
)

// Protocol is a card transmission protocol (SCARD_PROTOCOL_*).
type Protocol uint32

// Protocols.
const (
	T0  Protocol = 0x0001 // SCARD_PROTOCOL_T0
	T1  Protocol = 0x0002 // SCARD_PROTOCOL_T1
	Raw Protocol = 0x0004 // SCARD_PROTOCOL_RAW
)

// String returns "T=0", "T=1", "T=0|T=1", "raw" or the value in hexadecimal.
func (p Protocol) String() string {
	switch p {
	case 0:
		return "undefined"
	case T0:
		return "T=0"
	case T1:
		return "T=1"
	case T0 | T1:
		return "T=0|T=1"
	case Raw:
		return "raw"
	}
	return "0x" + strconv.FormatUint(uint64(p), 16)
}

// Disposition says what pcscd does with the card when a connection ends or
// is renewed (SCARD_LEAVE_CARD, ...).
type Disposition uint32

// Dispositions.
const (
	Leave   Disposition = 0x0000 // SCARD_LEAVE_CARD: do nothing
	Reset   Disposition = 0x0001 // SCARD_RESET_CARD: warm reset
	Unpower Disposition = 0x0002 // SCARD_UNPOWER_CARD: power down (and up again on Reconnect)
	Eject   Disposition = 0x0003 // SCARD_EJECT_CARD
)

// parseReaderStates decodes the CMD_GET_READERS_STATE reply: readersSize
// bytes, one READER_STATE per slot, an empty name marking a free slot.
// Slots may be free between used ones (a reader that was unplugged), so
// every slot is read. It appends to dst.
func parseReaderStates(dst []ReaderState, b []byte) ([]ReaderState, bool) {
	if len(b) != readersSize {
		return dst, false
	}
	for i := range maxReaders {
		r := b[i*readerStateLen : (i+1)*readerStateLen]
		name := r[:maxReaderName]
		if n := bytes.IndexByte(name, 0); n >= 0 {
			name = name[:n]
		}
		if len(name) == 0 {
			continue
		}
		atrLen := ne.Uint32(r[176:])
		if atrLen > maxATRSize {
			return dst, false
		}
		s := ReaderState{
			Name:     string(name),
			Events:   ne.Uint32(r[128:]),
			State:    State(ne.Uint32(r[132:])),
			Protocol: Protocol(ne.Uint32(r[180:])),
		}
		if atrLen > 0 {
			s.ATR = bytes.Clone(r[140 : 140+atrLen])
		}
		dst = append(dst, s)
	}
	return dst, true
}
