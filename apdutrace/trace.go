package apdutrace

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencarkey/sdk/transport"
)

// Limits of Parse.
const (
	// MaxTraceSize is the largest trace Parse reads.
	MaxTraceSize = 64 << 20
	// MaxLineLen bounds one line: an extended APDU in hexadecimal with a
	// space between every byte fits.
	MaxLineLen = 3*transport.MaxCommandLen + 64
	// MaxResponseLen is the longest response APDU: the data an extended Le
	// asks for and the status word.
	MaxResponseLen = transport.MaxResponseData + 2
)

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("apdutrace: invalid trace")

// SyntaxError is an error of Parse: the line and what is wrong with it.
type SyntaxError struct {
	Line int // 1-based; 0 for the trace as a whole
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "apdutrace: invalid trace: " + e.Msg
	}
	return fmt.Sprintf("apdutrace: invalid trace: line %d: %s", e.Line, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Exchange is one command APDU of a trace and what answered it.
type Exchange struct {
	// Line is the line of the command in the trace, from 1.
	Line int
	// Note is the text of the comment lines before the command, joined by
	// "\n".
	Note string
	// Command is the command APDU: at least CLA INS P1 P2.
	Command []byte
	// Response is the response APDU, data and status word (at least two
	// bytes); nil when Error is set.
	Response []byte
	// Error is the text of a transport error recorded instead of a
	// response.
	Error string
}

// Trace is the sequence of exchanges of a recorded session.
type Trace []Exchange

// Parse reads a trace in the text form of package transport/transporttest's
// Transcript, of which plain hexadecimal lines are the simplest case:
//
//	# a comment, kept as the note of the next command
//	> 80800101...     a command APDU in hexadecimal
//	< 86... 9000      its response: data and status word
//	! text            or a transport error instead of a response
//
// Blank lines, leading blanks, spaces and tabs between hexadecimal digits,
// either letter case and carriage returns before the newline are allowed.
// Every command must be followed by its response or error, a response must
// follow a command, a command has at least 4 bytes and at most
// transport.MaxCommandLen, a response at least 2 and at most
// MaxResponseLen, and a comment must precede a command. An error wraps
// ErrSyntax and is a *SyntaxError naming the line.
func Parse(text []byte) (Trace, error) {
	if len(text) > MaxTraceSize {
		return nil, &SyntaxError{Msg: fmt.Sprintf("%d bytes, more than %d", len(text), MaxTraceSize)}
	}
	var (
		t    Trace
		note []string
		open bool
		n    int
	)
	for len(text) > 0 {
		n++
		var line string
		if i := strings.IndexByte(string(text), '\n'); i >= 0 {
			line, text = string(text[:i]), text[i+1:]
		} else {
			line, text = string(text), nil
		}
		if len(line) > MaxLineLen {
			return nil, &SyntaxError{Line: n, Msg: fmt.Sprintf("longer than %d bytes", MaxLineLen)}
		}
		line = strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
		if line == "" {
			continue
		}
		kind, rest := line[0], strings.TrimLeft(line[1:], " \t")
		switch kind {
		case '#':
			if open {
				return nil, &SyntaxError{Line: n, Msg: "comment between a command and its response"}
			}
			note = append(note, strings.TrimPrefix(line[1:], " "))
		case '>':
			if open {
				return nil, &SyntaxError{Line: n, Msg: "command without a response before it"}
			}
			b, err := decodeHex(rest, 4, transport.MaxCommandLen)
			if err != nil {
				return nil, &SyntaxError{Line: n, Msg: "command: " + err.Error()}
			}
			t = append(t, Exchange{Line: n, Note: strings.Join(note, "\n"), Command: b})
			note, open = nil, true
		case '<', '!':
			if !open {
				return nil, &SyntaxError{Line: n, Msg: "response without a command"}
			}
			e := &t[len(t)-1]
			if kind == '!' {
				if rest == "" {
					return nil, &SyntaxError{Line: n, Msg: "empty error"}
				}
				e.Error = rest
			} else {
				b, err := decodeHex(rest, 2, MaxResponseLen)
				if err != nil {
					return nil, &SyntaxError{Line: n, Msg: "response: " + err.Error()}
				}
				e.Response = b
			}
			open = false
		default:
			return nil, &SyntaxError{Line: n, Msg: fmt.Sprintf("starts with %q, want one of # > < !", kind)}
		}
	}
	if open {
		return nil, &SyntaxError{Line: n, Msg: "the last command has no response"}
	}
	if note != nil {
		return nil, &SyntaxError{Line: n, Msg: "comment after the last exchange"}
	}
	return t, nil
}

// decodeHex decodes hexadecimal digits with blanks between them into min
// to max bytes.
func decodeHex(s string, min, max int) ([]byte, error) {
	b := make([]byte, 0, len(s)/2)
	var hi byte
	half := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c == ' ' || c == '\t':
			continue
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return nil, fmt.Errorf("%q is not a hexadecimal digit", c)
		}
		if half {
			b = append(b, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	switch {
	case half:
		return nil, errors.New("odd number of hexadecimal digits")
	case len(b) < min:
		return nil, fmt.Errorf("%d bytes, want at least %d", len(b), min)
	case len(b) > max:
		return nil, fmt.Errorf("%d bytes, want at most %d", len(b), max)
	}
	return b, nil
}

// String returns the text form of t, which Parse reads back: the form of
// transporttest.Transcript, uppercase hexadecimal, the status word apart.
func (t Trace) String() string {
	var b strings.Builder
	for _, e := range t {
		if e.Note != "" {
			for line := range strings.SplitSeq(e.Note, "\n") {
				b.WriteString("#")
				if line != "" {
					b.WriteString(" " + line)
				}
				b.WriteString("\n")
			}
		}
		fmt.Fprintf(&b, "> %X\n", e.Command)
		if e.Error != "" {
			b.WriteString("! " + strings.NewReplacer("\r\n", " ", "\n", " ").Replace(e.Error) + "\n")
			continue
		}
		r := e.Response
		b.WriteString("<")
		if len(r) > 2 {
			fmt.Fprintf(&b, " %X", r[:len(r)-2])
		}
		fmt.Fprintf(&b, " %X\n", r[max(0, len(r)-2):])
	}
	return b.String()
}
