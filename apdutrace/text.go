package apdutrace

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// maxShown is the longest value the text form shows in full; longer ones
// show their first bytes and their length (the JSON form has them all).
const maxShown = 64

// WriteText writes r in the text form of dkey trace decode: per exchange,
// its note, its number, name and parameters, the command and response as
// recorded, and the decoded request and reply, one field per line.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for i := range r.Steps {
		r.Steps[i].writeText(bw)
	}
	return bw.Flush()
}

func (s *Step) writeText(w *bufio.Writer) {
	if s.Note != "" {
		for line := range strings.SplitSeq(s.Note, "\n") {
			fmt.Fprintf(w, "# %s\n", line)
		}
	}
	fmt.Fprintf(w, "%d: %s", s.Index, s.Name)
	if s.Params != "" {
		fmt.Fprintf(w, ", %s", s.Params)
	}
	fmt.Fprintf(w, " (line %d)\n", s.Line)
	fmt.Fprintf(w, "  > %X\n", []byte(s.Command))
	switch {
	case s.Error != "":
		fmt.Fprintf(w, "  ! %s\n", s.Error)
	case s.Response != nil:
		n := len(s.Response)
		if n > 2 {
			fmt.Fprintf(w, "  < %X %s\n", []byte(s.Response[:n-2]), s.Status)
		} else {
			fmt.Fprintf(w, "  < %s\n", s.Status)
		}
	}
	if s.Request != nil {
		s.Request.writeText(w, "request")
	}
	if s.Reply != nil {
		s.Reply.writeText(w, "reply")
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}

func (m *Message) writeText(w *bufio.Writer, what string) {
	fmt.Fprintf(w, "  %s, %s", what, plural(m.Size, "byte"))
	if p := m.SecureMessaging; p != nil {
		fmt.Fprintf(w, ", secure messaging")
		if p.Keys != "" {
			fmt.Fprintf(w, " with %s keys of %s, counter %02X", p.Keys, shortHex(p.Session, 16), p.Counter)
		}
		fmt.Fprintf(w, ": %s", p.Result)
		if p.Verified {
			fmt.Fprintf(w, ", %s of plaintext", plural(len(p.Plaintext), "byte"))
		}
	}
	fmt.Fprintln(w)
	writeFields(w, m.Fields, "    ")
}

func writeFields(w *bufio.Writer, fields []Field, indent string) {
	for _, f := range fields {
		w.WriteString(indent)
		if f.Tag != "" {
			w.WriteString(f.Tag + " ")
		}
		w.WriteString(f.Name)
		if len(f.Value) > 0 {
			w.WriteString(": " + shortHex(f.Value, maxShown))
		}
		if f.Text != "" {
			w.WriteString(" (" + f.Text + ")")
		}
		w.WriteString("\n")
		writeFields(w, f.Fields, indent+"  ")
	}
}

// shortHex returns b in lowercase hexadecimal, or its first n bytes and
// its length when it is longer.
func shortHex(b []byte, n int) string {
	if len(b) <= n {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s… (%d bytes)", hex.EncodeToString(b[:n/2]), len(b))
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
