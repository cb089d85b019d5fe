package polling

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

// TCI is a terminal capabilities identifier: the three bytes of an ECP frame
// that tie a reader to a kind of pass (Home Key, a car brand, a transit
// agency).
type TCI [3]byte

// TerminalType is the terminal type of a version 2 ECP frame.
type TerminalType uint8

// Terminal types seen in public traces (kormax/apple-enhanced-contactless-
// polling, resources/ecp_taxonomy.json and README "Structure").
const (
	TerminalTransit  TerminalType = 0x01
	TerminalAccess   TerminalType = 0x02
	TerminalIdentity TerminalType = 0x03
	TerminalAirDrop  TerminalType = 0x05
)

// Subtypes of TerminalAccess (kormax/apple-enhanced-contactless-polling,
// resources/ecp_taxonomy.json).
const (
	// SubtypeVenue: hotels, offices, parks, universities.
	SubtypeVenue uint8 = 0x00
	// SubtypeHomeKey: Apple Home Key locks (also [AHKR] util/ecp.py).
	SubtypeHomeKey uint8 = 0x06
	// SubtypeAutomotive: cars, for access and key setup.
	SubtypeAutomotive uint8 = 0x09
)

// TCIHomeKey is the TCI of Home Key readers (docs/protocol.md §2.6, I+ [AHK]).
var TCIHomeKey = TCI{0x02, 0x11, 0x00}

// Sizes of an ECP frame.
const (
	// ECPHeader is the first byte of every ECP frame.
	ECPHeader = 0x6A
	// MaxECPData is the most extra data a version 2 frame carries after its
	// TCI: the length nibble of the configuration byte counts TCI and data,
	// so at most 15 - 3 bytes.
	MaxECPData = 12
	// MaxECPLen is the longest ECP frame, CRC_A included.
	MaxECPLen = 2 + 3 + 15 + 2
	// ReaderGroupSize is the size of a Home Key reader group identifier.
	ReaderGroupSize = 8
)

// Bits of the configuration byte of a version 2 frame (kormax/apple-
// enhanced-contactless-polling README "Payload"; [AHKR] util/ecp.py).
const (
	// cfgAlways is set in every frame seen; its meaning is not known.
	cfgAlways = 0x80
	// cfgNoAuth says that no user authentication is needed: express mode.
	cfgNoAuth = 0x40
	// cfgUnknown are two bits seen clear in every frame; their meaning is
	// not known, so a frame with one set is rejected.
	cfgUnknown = 0x30
	// cfgLength is the length of TCI plus extra data.
	cfgLength = 0x0F
)

// ErrMalformedECP reports bytes that are not a well-formed ECP frame.
var ErrMalformedECP = errors.New("polling: malformed ECP frame")

// ErrNoTCI reports a CCC profile polling configuration without a TCI: the
// car-key TCI is brand-specific and not public (docs/protocol.md §2.6).
var ErrNoTCI = errors.New("polling: no TCI configured for the CCC profile")

// ECP is one Enhanced Contactless Polling frame (docs/protocol.md §2.6): Apple's
// extension of ISO/IEC 14443 polling that tells a phone which pass the
// reader wants before anticollision starts, so that it offers a key in
// express mode. The zero value is not a valid frame; build one with
// [HomeKey], [NewECP], [NewECPv1] or [ForProfile], or parse one with
// [ParseECP].
//
// An ECP is a comparable value: two frames are the same frame when == says
// so.
type ECP struct {
	version uint8
	express bool
	typ     TerminalType
	subtype uint8
	tci     TCI
	data    [MaxECPData]byte
	n       uint8
}

// HomeKey returns the frame of a Home Key reader: version 2, express, access
// terminal of subtype Home Key, TCI 02 11 00 and the 8-byte reader group
// identifier (docs/protocol.md §2.6, I+ [AHK][AHKR]):
// 6A 02 CB 02 06 02 11 00 <group> CRC_A.
func HomeKey(group [ReaderGroupSize]byte) ECP {
	e := ECP{version: 2, express: true, typ: TerminalAccess, subtype: SubtypeHomeKey, tci: TCIHomeKey, n: ReaderGroupSize}
	copy(e.data[:], group[:])
	return e
}

// NewECP returns a version 2 frame. express sets the configuration bit that
// lets the phone answer without user authentication. data is the extra data
// after the TCI (a reader group identifier, for example): at most
// [MaxECPData] bytes, copied.
func NewECP(typ TerminalType, subtype uint8, tci TCI, data []byte, express bool) (ECP, error) {
	if len(data) > MaxECPData {
		return ECP{}, fmt.Errorf("%w: %d bytes of extra data, at most %d", ErrMalformedECP, len(data), MaxECPData)
	}
	e := ECP{version: 2, express: express, typ: typ, subtype: subtype, tci: tci, n: uint8(len(data))}
	copy(e.data[:], data)
	return e, nil
}

// NewECPv1 returns a version 1 frame, which carries a TCI only (value added
// services and the "ignore" frame of iPhones use it).
func NewECPv1(tci TCI) ECP { return ECP{version: 1, tci: tci} }

// Terminal configures the ECP frame of a CCC vehicle reader. The car-key
// frame is not public (docs/protocol.md §2.6, N): public traces show version 2
// frames of an access terminal of subtype automotive with a brand TCI whose
// first byte is 01 (kormax/apple-enhanced-contactless-polling,
// resources/ecp_taxonomy.json: BMW 01 00 01).
type Terminal struct {
	// Type is the terminal type; zero means TerminalAccess.
	Type TerminalType
	// Subtype is the terminal subtype; nil means SubtypeAutomotive.
	Subtype *uint8
	// TCI is the brand's TCI; it is required.
	TCI *TCI
	// Data is extra data after the TCI, at most MaxECPData bytes.
	Data []byte
	// RequireAuth clears the express bit: the phone then asks its user
	// before it offers the key.
	RequireAuth bool
}

// ForProfile returns the ECP frame of a reader of the given profile.
// Home Key frames carry the reader group identifier, the first 8 bytes of
// the 16-byte reader identifier (dkey.VehicleID, docs/protocol.md §2.6; [AHKR]
// service.py sends group ‖ reader as the reader identifier); term is
// ignored. CCC frames are built from term, which must name a TCI.
func ForProfile(p dkey.Profile, reader dkey.VehicleID, term *Terminal) (ECP, error) {
	switch p {
	case dkey.HomeKey:
		if reader.Len() != dkey.VehicleIDLenHomeKey {
			return ECP{}, fmt.Errorf("polling: Home Key reader identifier of %d bytes, want %d", reader.Len(), dkey.VehicleIDLenHomeKey)
		}
		var g [ReaderGroupSize]byte
		copy(g[:], reader.Bytes())
		return HomeKey(g), nil
	case dkey.CCC:
		if term == nil || term.TCI == nil {
			return ECP{}, ErrNoTCI
		}
		typ := term.Type
		if typ == 0 {
			typ = TerminalAccess
		}
		sub := SubtypeAutomotive
		if term.Subtype != nil {
			sub = *term.Subtype
		}
		return NewECP(typ, sub, *term.TCI, term.Data, !term.RequireAuth)
	}
	return ECP{}, fmt.Errorf("polling: unknown profile %v", p)
}

// Version returns the frame version, 1 or 2.
func (e ECP) Version() uint8 { return e.version }

// Express reports whether a version 2 frame tells the phone that no user
// authentication is needed.
func (e ECP) Express() bool { return e.express }

// Type returns the terminal type of a version 2 frame.
func (e ECP) Type() TerminalType { return e.typ }

// Subtype returns the terminal subtype of a version 2 frame.
func (e ECP) Subtype() uint8 { return e.subtype }

// TCI returns the terminal capabilities identifier.
func (e ECP) TCI() TCI { return e.tci }

// AppendData appends the extra data after the TCI (a reader group
// identifier) to dst.
func (e ECP) AppendData(dst []byte) []byte { return append(dst, e.data[:e.n]...) }

// Len returns the length of the frame, CRC_A included; 0 for the zero value.
func (e ECP) Len() int {
	switch e.version {
	case 1:
		return 2 + 3 + 2
	case 2:
		return 2 + 3 + 3 + int(e.n) + 2
	}
	return 0
}

// Append appends the frame with its CRC_A to dst and returns the extended
// slice. It does not allocate when dst has room for [ECP.Len] more bytes.
// The zero value appends nothing.
func (e ECP) Append(dst []byte) []byte {
	start := len(dst)
	switch e.version {
	case 1:
		dst = append(dst, ECPHeader, 1)
	case 2:
		cfg := byte(cfgAlways) | (3+e.n)&cfgLength
		if e.express {
			cfg |= cfgNoAuth
		}
		dst = append(dst, ECPHeader, 2, cfg, byte(e.typ), e.subtype)
	default:
		return dst
	}
	dst = append(dst, e.tci[:]...)
	dst = append(dst, e.data[:e.n]...)
	return AppendCRCA(dst, dst[start:])
}

// ParseECP parses a whole ECP frame, CRC_A included. It rejects anything
// else: another header or version, configuration bits whose meaning is not
// known, a length that does not match, a frame without a TCI, a bad CRC.
// No strict prefix of a frame parses.
func ParseECP(frame []byte) (ECP, error) {
	if len(frame) < 2+3+2 || len(frame) > MaxECPLen {
		return ECP{}, fmt.Errorf("%w: %d bytes", ErrMalformedECP, len(frame))
	}
	if frame[0] != ECPHeader {
		return ECP{}, fmt.Errorf("%w: header %02X, want %02X", ErrMalformedECP, frame[0], ECPHeader)
	}
	if !CheckCRCA(frame) {
		return ECP{}, fmt.Errorf("%w: bad CRC_A", ErrMalformedECP)
	}
	body := frame[2 : len(frame)-2]
	switch frame[1] {
	case 1:
		// Version 1 carries exactly one TCI.
		if len(body) != 3 {
			return ECP{}, fmt.Errorf("%w: version 1 payload of %d bytes, want 3", ErrMalformedECP, len(body))
		}
		return ECP{version: 1, tci: TCI(body)}, nil
	case 2:
		if len(body) < 3 {
			return ECP{}, fmt.Errorf("%w: version 2 frame without terminal info", ErrMalformedECP)
		}
		cfg, typ, sub, payload := body[0], body[1], body[2], body[3:]
		if cfg&cfgAlways == 0 || cfg&cfgUnknown != 0 {
			return ECP{}, fmt.Errorf("%w: configuration byte %02X", ErrMalformedECP, cfg)
		}
		if int(cfg&cfgLength) != len(payload) {
			return ECP{}, fmt.Errorf("%w: length %d in the configuration byte, %d bytes follow", ErrMalformedECP, cfg&cfgLength, len(payload))
		}
		if len(payload) < 3 {
			return ECP{}, fmt.Errorf("%w: no TCI", ErrMalformedECP)
		}
		e := ECP{version: 2, express: cfg&cfgNoAuth != 0, typ: TerminalType(typ), subtype: sub, tci: TCI(payload[:3]), n: uint8(len(payload) - 3)}
		copy(e.data[:], payload[3:])
		return e, nil
	}
	return ECP{}, fmt.Errorf("%w: version %d", ErrMalformedECP, frame[1])
}

// String describes the frame in hexadecimal, CRC_A included.
func (e ECP) String() string {
	var b [MaxECPLen]byte
	return fmt.Sprintf("ECP(%X)", e.Append(b[:0]))
}
