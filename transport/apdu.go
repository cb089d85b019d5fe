package transport

import (
	"slices"
	"strconv"

	"github.com/opencarkey/sdk/dkey"
)

// Length limits. The first four are those of ISO/IEC 7816-4 §5.1; the others
// are this package's bounds on what it reassembles and how long it loops.
const (
	// MaxShortData is the longest data field of a short command APDU (Lc FF).
	MaxShortData = 255
	// MaxShortNe is the largest Ne of a short command APDU (Le 00).
	MaxShortNe = 256
	// MaxExtendedData is the longest data field of an extended command APDU
	// (Lc 00 FF FF), and so of any command.
	MaxExtendedData = 65535
	// MaxExtendedNe is the largest Ne of an extended command APDU (Le 00 00),
	// and so of any command.
	MaxExtendedNe = 65536
	// MaxCommandLen is the length of the longest command APDU: a header,
	// a 3-byte Lc, MaxExtendedData bytes of data and a 2-byte Le.
	MaxCommandLen = 4 + 3 + MaxExtendedData + 2

	// MaxResponseData bounds the data of every [Response] of this package:
	// one response APDU as [ParseResponse] takes it, and the data a [Client]
	// or a [ChainingCard] reassembles through GET RESPONSE. It equals
	// MaxExtendedNe, the most one command can ask for.
	MaxResponseData = MaxExtendedNe
	// MaxGetResponseRounds bounds the GET RESPONSE commands a [Client] sends
	// after one command: enough for MaxResponseData in chunks of 128 bytes.
	MaxGetResponseRounds = 512
	// MaxChainedCommands bounds the commands of one command chain, sent by a
	// [Client] or received by a [ChainingCard]: enough for MaxExtendedData in
	// segments of 128 bytes.
	MaxChainedCommands = 512
)

// FormatError reports bytes that are not a well-formed APDU. Its values are
// the constants below; compare with errors.Is. Every FormatError also matches
// [ErrProtocol], the broken-framing sentinel.
type FormatError uint8

// Reasons why [ParseCommand] or [ParseResponse] rejects its input.
const (
	// ErrTruncated reports an APDU that ends too early: a command shorter
	// than its 4-byte header, a data field shorter than Lc, a response
	// shorter than its 2-byte status word.
	ErrTruncated FormatError = iota + 1
	// ErrZeroLc reports a length field that announces a data field of zero
	// bytes: ISO/IEC 7816-4 §5.1 forbids an Lc of 00 (short) or 00 00 00
	// (extended), a command without data has no Lc field.
	ErrZeroLc
	// ErrMixedLength reports a one-byte Le field after an extended Lc: ISO/IEC
	// 7816-4 §5.1 sends Lc and Le both short or both extended.
	ErrMixedLength
	// ErrTrailingBytes reports bytes after the last field the length fields
	// allow.
	ErrTrailingBytes
)

// Error returns the message of e.
func (e FormatError) Error() string {
	switch e {
	case ErrTruncated:
		return "transport: apdu truncated"
	case ErrZeroLc:
		return "transport: lc of zero"
	case ErrMixedLength:
		return "transport: one-byte le after an extended lc"
	case ErrTrailingBytes:
		return "transport: trailing bytes after the apdu"
	}
	return "transport: malformed apdu (" + strconv.Itoa(int(e)) + ")"
}

// Is reports whether target is [ErrProtocol]: every malformed APDU is a
// broken framing.
func (e FormatError) Is(target error) bool { return target == ErrProtocol }

// Limit names one of the bounds a [LimitError] reports.
type Limit uint8

// The bounds a [LimitError] reports.
const (
	// LimitCommandData: a command data field longer than MaxExtendedData, or
	// than what the configuration of a [Client] lets it send.
	LimitCommandData Limit = iota + 1
	// LimitNe: an Ne outside 0 to MaxExtendedNe.
	LimitNe
	// LimitResponseData: response data beyond MaxResponseData or
	// [ClientConfig.MaxResponse].
	LimitResponseData
	// LimitGetResponseRounds: a card still answering 61xx after
	// MaxGetResponseRounds GET RESPONSE commands.
	LimitGetResponseRounds
	// LimitChainedCommands: data that needs more than MaxChainedCommands
	// chained commands.
	LimitChainedCommands
	// LimitWrongLeRetries: a card answering 6Cxx again to the command resent
	// with the Le it asked for.
	LimitWrongLeRetries
)

// String returns the name of the bound.
func (l Limit) String() string {
	switch l {
	case LimitCommandData:
		return "command data length"
	case LimitNe:
		return "expected response length"
	case LimitResponseData:
		return "response data length"
	case LimitGetResponseRounds:
		return "GET RESPONSE rounds"
	case LimitChainedCommands:
		return "chained commands"
	case LimitWrongLeRetries:
		return "6Cxx retries"
	}
	return "limit " + strconv.Itoa(int(l))
}

// LimitError reports a length or a count beyond one of the limits of this
// package or of a [Client]'s configuration. A [Client] that hits a limit
// because of what the card sent also wraps [ErrProtocol].
type LimitError struct {
	Limit Limit // which bound
	Max   int   // the bound: the largest value allowed
	Got   int   // the value that broke it; for counts, Max+1
}

func (e *LimitError) Error() string {
	return "transport: " + e.Limit.String() + " " + strconv.Itoa(e.Got) + " over the limit of " + strconv.Itoa(e.Max)
}

// Command is a command APDU of ISO/IEC 7816-4 §5.1: a 4-byte header, an
// optional data field (its length is Lc) and an optional Le field.
//
// Ne is the maximum number of response data bytes expected: 0 means no Le
// field (cases 1 and 3), 1 to 65536 an Le field (cases 2 and 4). Le 00
// encodes Ne 256 in the short form and Le 00 00 encodes 65536 in the
// extended form. An empty Data means no Lc field.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
}

// Bits of the class byte (ISO/IEC 7816-4 §5.4.1, Tables 2 and 3). GlobalPlatform
// and Java Card code the proprietary classes 8X to FX in the same way.
const (
	claChaining     = 0x10 // b5: not the last command of a chain
	claInvalid      = 0xFF // reserved for PPS; no APDU has it
	claFurther      = 0x40 // b7: further interindustry coding
	claSMFirst      = 0x0C // b4 b3: secure messaging, first coding
	claSMFurther    = 0x20 // b6: secure messaging, further coding
	claChannelFirst = 0x03 // b2 b1: channels 0 to 3
	claChannelMore  = 0x0F // b4 to b1: channels 4 to 19
)

// IsChained reports whether c is a command of a chain other than the last
// one: bit b5 (10) of CLA is set (ISO/IEC 7816-4 §5.3.3).
func (c *Command) IsChained() bool {
	return c.CLA != claInvalid && c.CLA&claChaining != 0
}

// SecureMessaging reports whether the class byte announces secure
// messaging: bits b4 b3 not 00 in the first interindustry coding (CLA 0X,
// 1X and the proprietary 8X, 9X, AX, BX), bit b6 in the further coding (CLA
// 4X to 7X and CX to FX). DK secured commands use CLA 84.
func (c *Command) SecureMessaging() bool {
	switch {
	case c.CLA == claInvalid:
		return false
	case c.CLA&claFurther == 0:
		return c.CLA&claSMFirst != 0
	default:
		return c.CLA&claSMFurther != 0
	}
}

// Channel returns the logical channel number the class byte carries: 0 to 3
// in the first interindustry coding, 4 to 19 in the further coding. It
// returns 0 for the invalid class FF.
func (c *Command) Channel() int {
	switch {
	case c.CLA == claInvalid:
		return 0
	case c.CLA&claFurther == 0:
		return int(c.CLA & claChannelFirst)
	default:
		return 4 + int(c.CLA&claChannelMore)
	}
}

// channelCLA returns the interindustry class byte, without chaining or
// secure messaging, of the logical channel c uses: the CLA of a GET RESPONSE
// for c.
func (c *Command) channelCLA() byte {
	n := c.Channel()
	if n < 4 {
		return byte(n)
	}
	return claFurther | byte(n-4)
}

// IsExtended reports whether c is encoded in the extended form: its data
// field is longer than MaxShortData or its Ne is above MaxShortNe.
func (c *Command) IsExtended() bool {
	return len(c.Data) > MaxShortData || c.Ne > MaxShortNe
}

// check reports a Command that cannot be encoded.
func (c *Command) check() error {
	if n := len(c.Data); n > MaxExtendedData {
		return &LimitError{Limit: LimitCommandData, Max: MaxExtendedData, Got: n}
	}
	if c.Ne < 0 || c.Ne > MaxExtendedNe {
		return &LimitError{Limit: LimitNe, Max: MaxExtendedNe, Got: c.Ne}
	}
	return nil
}

// encodedLen returns the length of the encoding of c, which must pass check.
func (c *Command) encodedLen() int {
	n := 4 + len(c.Data)
	switch ext := c.IsExtended(); {
	case len(c.Data) > 0 && c.Ne > 0 && ext:
		n += 3 + 2
	case len(c.Data) > 0 && c.Ne > 0:
		n += 1 + 1
	case ext: // only one of the fields, extended: 00 and two bytes
		n += 3
	case len(c.Data) > 0 || c.Ne > 0:
		n++
	}
	return n
}

// Append appends the encoding of c to dst and returns the extended slice.
// It uses the short form unless the data field is longer than MaxShortData
// or Ne is above MaxShortNe; then it uses the extended form for both length
// fields (ISO/IEC 7816-4 §5.1: an extended Lc is 00 followed by two bytes,
// an extended Le is two bytes after an Lc and 00 followed by two bytes
// without one). It returns dst unchanged and a *[LimitError] when Data is
// longer than MaxExtendedData or Ne is outside 0 to MaxExtendedNe.
func (c *Command) Append(dst []byte) ([]byte, error) {
	if err := c.check(); err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, c.encodedLen())
	dst = append(dst, c.CLA, c.INS, c.P1, c.P2)
	n := len(c.Data)
	if !c.IsExtended() {
		if n > 0 {
			dst = append(dst, byte(n))
			dst = append(dst, c.Data...)
		}
		if c.Ne > 0 {
			dst = append(dst, byte(c.Ne)) // 256 is 00
		}
		return dst, nil
	}
	if n > 0 {
		dst = append(dst, 0, byte(n>>8), byte(n))
		dst = append(dst, c.Data...)
		if c.Ne > 0 {
			dst = append(dst, byte(c.Ne>>8), byte(c.Ne)) // 65536 is 00 00
		}
		return dst, nil
	}
	return append(dst, 0, byte(c.Ne>>8), byte(c.Ne)), nil
}

// ParseCommand parses a command APDU of any case of ISO/IEC 7816-4 §5.1,
// short or extended, decoding the body as ISO/IEC 7816-3 §12.1.3 does:
// the body length and its first bytes determine the case, and anything that
// fits no case is rejected with a [FormatError]: [ErrTruncated],
// [ErrZeroLc], [ErrMixedLength] or [ErrTrailingBytes].
//
// The returned Data aliases b (its capacity ends with the data field), so
// b must not be modified while the Command is in use.
//
// The extended form is accepted for lengths that fit the short form, so
// [Command.Append] does not always give b back: it does for the encodings it
// produces itself. ParseCommand checks the framing only; the class and
// instruction bytes are the card's to judge (6E00, 6D00).
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, ErrTruncated
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2S
		c.Ne = shortNe(body[0])
		return c, nil
	case body[0] != 0: // cases 3S and 4S: a short Lc
		n, rest := int(body[0]), body[1:]
		switch {
		case len(rest) < n:
			return Command{}, ErrTruncated
		case len(rest) == n: // case 3S
		case len(rest) == n+1: // case 4S
			c.Ne = shortNe(rest[n])
		default:
			return Command{}, ErrTrailingBytes
		}
		c.Data = rest[:n:n]
		return c, nil
	case len(body) == 2: // 00 and one byte: a short Lc of zero
		return Command{}, ErrZeroLc
	}
	// The extended cases: 00 then two bytes.
	v, rest := int(body[1])<<8|int(body[2]), body[3:]
	if len(rest) == 0 { // case 2E
		c.Ne = extendedNe(v)
		return c, nil
	}
	if v == 0 {
		return Command{}, ErrZeroLc
	}
	switch {
	case len(rest) < v:
		return Command{}, ErrTruncated
	case len(rest) == v: // case 3E
	case len(rest) == v+1:
		return Command{}, ErrMixedLength
	case len(rest) == v+2: // case 4E
		c.Ne = extendedNe(int(rest[v])<<8 | int(rest[v+1]))
	default:
		return Command{}, ErrTrailingBytes
	}
	c.Data = rest[:v:v]
	return c, nil
}

// shortNe decodes a one-byte Le: 00 means 256.
func shortNe(le byte) int {
	if le == 0 {
		return MaxShortNe
	}
	return int(le)
}

// extendedNe decodes a two-byte Le: 00 00 means 65536.
func extendedNe(le int) int {
	if le == 0 {
		return MaxExtendedNe
	}
	return le
}

// Response is a response APDU: the data field and the status word that
// ends every response (ISO/IEC 7816-4 §5.1). A status word other than 9000
// is still a response, not a transport failure; SW.Err turns it into an
// error when the caller wants one.
type Response struct {
	Data []byte
	SW   dkey.StatusWord
}

// ParseResponse splits a response APDU into its data and its status word,
// the last two bytes. It returns [ErrTruncated] for fewer than two bytes and
// a *[LimitError] for more than MaxResponseData bytes of data. The returned
// Data aliases b (its capacity ends with the data field).
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, ErrTruncated
	}
	n := len(b) - 2
	if n > MaxResponseData {
		return Response{}, &LimitError{Limit: LimitResponseData, Max: MaxResponseData, Got: n}
	}
	return Response{Data: b[:n:n], SW: dkey.StatusWord(b[n])<<8 | dkey.StatusWord(b[n+1])}, nil
}

// AppendResponse appends the response APDU made of data and sw to dst and
// returns the extended slice.
func AppendResponse(dst, data []byte, sw dkey.StatusWord) []byte {
	dst = slices.Grow(dst, len(data)+2)
	dst = append(dst, data...)
	return append(dst, sw.SW1(), sw.SW2())
}

// appendSW appends the status word sw to dst.
func appendSW(dst []byte, sw dkey.StatusWord) []byte {
	return append(dst, sw.SW1(), sw.SW2())
}
