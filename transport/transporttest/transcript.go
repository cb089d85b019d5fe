package transporttest

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/opencarkey/sdk/transport"
)

// Exchange is one command-response pair of a [Transcript].
type Exchange struct {
	// Note is free text about the exchange, written before it as comment
	// lines; lines are separated by "\n".
	Note string
	// Command is the command APDU sent.
	Command []byte
	// Response is the response APDU received, data and status word. It is
	// meaningful only when Error is empty.
	Response []byte
	// Error is the text of the error Transceive returned instead of a
	// response; empty when a response arrived.
	Error string
}

// Transcript is a sequence of APDU exchanges, as a [Recorder] captures
// them and as golden files hold them.
//
// Its text form has one line per element, in order:
//
//	# a note line (one per line of Note)
//	> 80800101...           the command APDU, in uppercase hexadecimal
//	< 86...  9000           the response: data, a space, the status word
//	! transport: ...        or the error, on one line
//
// Parsing ignores blank lines, leading whitespace, the case of hexadecimal
// digits, spaces and tabs between them, and carriage returns at the end of
// a line. Formatting writes newlines in an error as spaces.
type Transcript []Exchange

// String returns the text form of t.
func (t Transcript) String() string {
	var b strings.Builder
	for _, e := range t {
		if e.Note != "" {
			for line := range strings.SplitSeq(e.Note, "\n") {
				b.WriteString("#")
				if line != "" {
					b.WriteString(" ")
					b.WriteString(line)
				}
				b.WriteString("\n")
			}
		}
		b.WriteString(">")
		if len(e.Command) > 0 {
			b.WriteString(" ")
			writeHex(&b, e.Command)
		}
		b.WriteString("\n")
		if e.Error != "" {
			b.WriteString("! ")
			b.WriteString(strings.NewReplacer("\r\n", " ", "\n", " ").Replace(e.Error))
			b.WriteString("\n")
			continue
		}
		b.WriteString("<")
		r := e.Response
		if len(r) >= 2 {
			if len(r) > 2 {
				b.WriteString(" ")
				writeHex(&b, r[:len(r)-2])
			}
			r = r[len(r)-2:]
		}
		if len(r) > 0 {
			b.WriteString(" ")
			writeHex(&b, r)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeHex(b *strings.Builder, p []byte) {
	const digits = "0123456789ABCDEF"
	for _, c := range p {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0xF])
	}
}

// MarshalText returns the text form of t.
func (t Transcript) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses the text form into t.
func (t *Transcript) UnmarshalText(text []byte) error {
	p, err := ParseTranscript(text)
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// ParseTranscript parses the text form of a [Transcript]. Every command must
// be followed by its response or error, and a note must precede an
// exchange. The parsed Command and Response are never nil.
func ParseTranscript(text []byte) (Transcript, error) {
	var (
		t     Transcript
		note  []string
		open  bool // the last exchange waits for its response
		lines = strings.Split(string(text), "\n")
	)
	for i, line := range lines {
		line = strings.TrimLeft(strings.TrimRight(line, "\r"), " \t")
		if line == "" {
			continue
		}
		kind, rest := line[0], strings.TrimPrefix(line[1:], " ")
		n := i + 1
		switch kind {
		case '#':
			if open {
				return nil, fmt.Errorf("transporttest: transcript line %d: note between a command and its response", n)
			}
			note = append(note, rest)
		case '>':
			if open {
				return nil, fmt.Errorf("transporttest: transcript line %d: command without a response before it", n)
			}
			b, err := decodeHex(rest)
			if err != nil {
				return nil, fmt.Errorf("transporttest: transcript line %d: command: %w", n, err)
			}
			t = append(t, Exchange{Note: strings.Join(note, "\n"), Command: b})
			note, open = nil, true
		case '<', '!':
			if !open {
				return nil, fmt.Errorf("transporttest: transcript line %d: response without a command", n)
			}
			e := &t[len(t)-1]
			if kind == '!' {
				if rest == "" {
					return nil, fmt.Errorf("transporttest: transcript line %d: empty error", n)
				}
				e.Error = rest
			} else {
				b, err := decodeHex(rest)
				if err != nil {
					return nil, fmt.Errorf("transporttest: transcript line %d: response: %w", n, err)
				}
				e.Response = b
			}
			open = false
		default:
			return nil, fmt.Errorf("transporttest: transcript line %d: line starts with %q, want one of '#', '>', '<' or '!'", n, kind)
		}
	}
	if open {
		return nil, fmt.Errorf("transporttest: transcript: last command without a response")
	}
	if note != nil {
		return nil, fmt.Errorf("transporttest: transcript: note after the last exchange")
	}
	return t, nil
}

func decodeHex(s string) ([]byte, error) {
	s = strings.NewReplacer(" ", "", "\t", "").Replace(s)
	b := make([]byte, len(s)/2)
	if _, err := hex.Decode(b, []byte(s)); err != nil {
		return nil, err
	}
	return b, nil
}

// Recorder is a [transport.Transceiver] that passes every exchange to
// another one and records it, with copies of the command and response, in a
// [Transcript].
type Recorder struct {
	t transport.Transceiver

	mu   sync.Mutex
	note []string
	log  Transcript
}

var _ transport.Transceiver = (*Recorder)(nil)

// NewRecorder returns a Recorder in front of t.
func NewRecorder(t transport.Transceiver) *Recorder {
	return &Recorder{t: t}
}

// Transceive calls the recorded Transceiver and records the exchange: the
// response, or the error text when it failed.
func (r *Recorder) Transceive(ctx context.Context, dst, command []byte) ([]byte, error) {
	out, err := r.t.Transceive(ctx, dst, command)
	e := Exchange{Command: append([]byte{}, command...)}
	if err != nil {
		e.Error = err.Error()
		if e.Error == "" {
			e.Error = "(error with an empty message)"
		}
	} else {
		e.Response = append([]byte{}, out[min(len(dst), len(out)):]...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Note = strings.Join(r.note, "\n")
	r.note = nil
	r.log = append(r.log, e)
	return out, err
}

// Note attaches text to the next exchange as a note; notes given before
// one exchange are joined by newlines.
func (r *Recorder) Note(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.note = append(r.note, text)
}

// Transcript returns a copy of the exchanges recorded so far.
func (r *Recorder) Transcript() Transcript {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := make(Transcript, len(r.log))
	for i, e := range r.log {
		e.Command = append([]byte{}, e.Command...)
		if e.Response != nil {
			e.Response = append([]byte{}, e.Response...)
		}
		t[i] = e
	}
	return t
}
