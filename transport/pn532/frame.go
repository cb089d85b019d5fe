package pn532

import (
	"errors"
	"fmt"
)

// Frame identifiers and sizes of the host controller protocol (UM0701-02
// §6.2.1).
const (
	// TFIHost marks a frame from the host controller to the PN532.
	TFIHost = 0xD4
	// TFIController marks a frame from the PN532 to the host controller.
	TFIController = 0xD5
	// tfiError is the single data byte of an error frame (§6.2.1.5).
	tfiError = 0x7F

	// MaxNormalData is the most data (PD0 to PDn) a normal information
	// frame carries: LEN counts TFI and data in one byte (§6.2.1.1).
	MaxNormalData = 254
	// MaxData is the most data (PD0 to PDn) of any frame: the PN532
	// firmware limits the packet data of an extended frame to 264 bytes,
	// 265 with TFI (§6.2.1.2).
	MaxData = 264
	// MaxFrameLen is the longest frame on the line: preamble, start code,
	// extended length, checksums, TFI, data and postamble.
	MaxFrameLen = 1 + 2 + 2 + 2 + 1 + 1 + MaxData + 1 + 1
)

// FrameKind tells the frames of the protocol apart.
type FrameKind uint8

// Kinds of frames (UM0701-02 §6.2.1).
const (
	// Information frames carry commands and responses.
	Information FrameKind = iota + 1
	// ACK acknowledges a command; from the host, it aborts the command
	// in progress (§6.2.1.3).
	ACK
	// NACK asks the PN532 to send its last response again (§6.2.1.4).
	NACK
	// ErrorFrame reports a syntax error at the application level
	// (§6.2.1.5).
	ErrorFrame
)

func (k FrameKind) String() string {
	switch k {
	case Information:
		return "information"
	case ACK:
		return "ACK"
	case NACK:
		return "NACK"
	case ErrorFrame:
		return "error"
	}
	return fmt.Sprintf("FrameKind(%d)", uint8(k))
}

// The fixed frames, preamble to postamble (UM0701-02 §6.2.1.3 to §6.2.1.5,
// as libnfc's pn53x.c spells them).
var (
	ackFrame   = [6]byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00}
	nackFrame  = [6]byte{0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}
	errorFrame = [8]byte{0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}
)

var (
	// ErrChecksum reports a frame whose length or data checksum is wrong.
	ErrChecksum = errors.New("pn532: frame checksum mismatch")
	// ErrFrameTooLong reports data beyond MaxData, or a length field that
	// announces it.
	ErrFrameTooLong = errors.New("pn532: frame too long")
	// ErrMalformedFrame reports bytes that are not a frame of the protocol.
	ErrMalformedFrame = errors.New("pn532: malformed frame")
)

// Frame is one frame of the host controller protocol. For information
// frames, Data holds PD0 to PDn (the command or response code first) and
// aliases the parsed bytes.
type Frame struct {
	Kind FrameKind
	// Extended marks an extended information frame (LEN FF FF, then a
	// 2-byte length), which a host may use for any length and the PN532
	// uses for frames longer than a normal one.
	Extended bool
	// TFI is TFIHost or TFIController for information frames.
	TFI  byte
	Data []byte
}

// AppendFrame appends an information frame from tfi carrying data (PD0 to
// PDn), with a one-byte preamble and a postamble, to dst. It chooses the
// normal frame when data fits in one and the extended frame otherwise, as
// the PN532 does (§6.2.1.2). It does not allocate when dst has room.
func AppendFrame(dst []byte, tfi byte, data []byte) ([]byte, error) {
	return Frame{Kind: Information, Extended: len(data) > MaxNormalData, TFI: tfi, Data: data}.Append(dst)
}

// AppendACK appends an ACK frame to dst.
func AppendACK(dst []byte) []byte { return append(dst, ackFrame[:]...) }

// AppendNACK appends a NACK frame to dst.
func AppendNACK(dst []byte) []byte { return append(dst, nackFrame[:]...) }

// Append appends f, preamble and postamble included, to dst.
func (f Frame) Append(dst []byte) ([]byte, error) {
	switch f.Kind {
	case ACK:
		return AppendACK(dst), nil
	case NACK:
		return AppendNACK(dst), nil
	case ErrorFrame:
		return append(dst, errorFrame[:]...), nil
	case Information:
	default:
		return dst, fmt.Errorf("%w: kind %v", ErrMalformedFrame, f.Kind)
	}
	if len(f.Data) == 0 {
		return dst, fmt.Errorf("%w: no command code", ErrMalformedFrame)
	}
	if len(f.Data) > MaxData || (!f.Extended && len(f.Data) > MaxNormalData) {
		return dst, fmt.Errorf("%w: %d data bytes", ErrFrameTooLong, len(f.Data))
	}
	n := len(f.Data) + 1 // LEN counts TFI
	dst = append(dst, 0x00, 0x00, 0xFF)
	if f.Extended {
		dst = append(dst, 0xFF, 0xFF, byte(n>>8), byte(n), -(byte(n>>8) + byte(n)))
	} else {
		dst = append(dst, byte(n), -byte(n))
	}
	sum := f.TFI
	dst = append(dst, f.TFI)
	for _, b := range f.Data {
		sum += b
	}
	dst = append(dst, f.Data...)
	return append(dst, -sum, 0x00), nil
}

// ScanFrame finds the first frame in b, a buffer of bytes received on the
// line. Bytes before the start code 00 FF (the preamble, a postamble of the
// previous frame, line noise) are skipped. It returns the frame and n, the
// number of bytes it consumed (skipped bytes and the frame, up to its data
// checksum: the postamble is skipped with the next preamble).
//
// When b holds no complete frame yet it returns n == 0 and a nil error (the
// caller reads more), or n > 0 to drop skipped bytes. A checksum that does
// not match is an error wrapping ErrChecksum; a length beyond MaxData one
// wrapping ErrFrameTooLong; both consume the bad header (and the frame, for
// a data checksum) so that scanning continues after it.
//
// The frame's Data aliases b.
func ScanFrame(b []byte) (f Frame, n int, err error) {
	start := -1
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0x00 && b[i+1] == 0xFF {
			start = i
			break
		}
	}
	if start < 0 {
		// Keep a trailing 00: it may begin a start code.
		if len(b) > 0 && b[len(b)-1] == 0x00 {
			return Frame{}, len(b) - 1, nil
		}
		return Frame{}, len(b), nil
	}
	h := b[start+2:] // after the start code
	if len(h) < 2 {
		return Frame{}, start, nil
	}
	switch {
	case h[0] == 0x00 && h[1] == 0xFF:
		return Frame{Kind: ACK}, start + 4, nil
	case h[0] == 0xFF && h[1] == 0x00:
		return Frame{Kind: NACK}, start + 4, nil
	}
	var length, hdr int
	extended := h[0] == 0xFF && h[1] == 0xFF
	if extended {
		if len(h) < 5 {
			return Frame{}, start, nil
		}
		if h[2]+h[3]+h[4] != 0 {
			return Frame{}, start + 2 + 5, fmt.Errorf("%w: extended length checksum", ErrChecksum)
		}
		length, hdr = int(h[2])<<8|int(h[3]), 5
	} else {
		if h[0]+h[1] != 0 {
			return Frame{}, start + 2 + 2, fmt.Errorf("%w: length checksum", ErrChecksum)
		}
		length, hdr = int(h[0]), 2
	}
	if length == 0 {
		return Frame{}, start + 2 + hdr, fmt.Errorf("%w: zero length", ErrMalformedFrame)
	}
	if length > MaxData+1 {
		return Frame{}, start + 2 + hdr, fmt.Errorf("%w: length %d", ErrFrameTooLong, length)
	}
	body := h[hdr:]
	if len(body) < length+1 {
		return Frame{}, start, nil
	}
	end := start + 2 + hdr + length + 1
	var sum byte
	for _, c := range body[:length+1] {
		sum += c
	}
	if sum != 0 {
		return Frame{}, end, fmt.Errorf("%w: data checksum", ErrChecksum)
	}
	if !extended && length == 1 && body[0] == tfiError {
		return Frame{Kind: ErrorFrame}, end, nil
	}
	if length < 2 {
		return Frame{}, end, fmt.Errorf("%w: no command code", ErrMalformedFrame)
	}
	return Frame{Kind: Information, Extended: extended, TFI: body[0], Data: body[1:length]}, end, nil
}

// ParseFrame parses exactly one frame as this package writes it: a one-byte
// preamble 00, the frame, and the postamble 00. Information frames must come
// from TFIHost or TFIController. No strict prefix of a frame parses.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) < 1 || b[0] != 0x00 {
		return Frame{}, fmt.Errorf("%w: no preamble", ErrMalformedFrame)
	}
	f, n, err := ScanFrame(b)
	if err != nil {
		return Frame{}, err
	}
	if f.Kind == 0 || n == 0 {
		return Frame{}, fmt.Errorf("%w: incomplete frame of %d bytes", ErrMalformedFrame, len(b))
	}
	// The start code must follow the one preamble byte directly.
	if b[1] != 0x00 || b[2] != 0xFF {
		return Frame{}, fmt.Errorf("%w: bytes before the start code", ErrMalformedFrame)
	}
	if len(b) != n+1 || b[n] != 0x00 {
		return Frame{}, fmt.Errorf("%w: no postamble, or bytes after it", ErrMalformedFrame)
	}
	if f.Kind == Information && f.TFI != TFIHost && f.TFI != TFIController {
		return Frame{}, fmt.Errorf("%w: TFI %02X", ErrMalformedFrame, f.TFI)
	}
	return f, nil
}
