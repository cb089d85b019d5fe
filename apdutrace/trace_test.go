package apdutrace

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// repoTraces are the golden transcripts of the repository, which every
// test of this package reads.
var repoTraces = []string{
	"../vehicle/testdata/CCC.transcript",
	"../vehicle/testdata/HomeKey.transcript",
	"../pairing/testdata/pairing-own-share.txt",
	"../pairing/testdata/pairing-peer-share.txt",
	"../pairing/testdata/pairing-intermediates.txt",
	"../transport/transporttest/testdata/select.transcript",
	"../transport/testdata/client_chaining_card.transcript",
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseAgreesWithTransporttest reads every golden transcript of the
// repository with Parse and with transporttest.ParseTranscript: the same
// exchanges, and String writes the transcript's own text back.
func TestParseAgreesWithTransporttest(t *testing.T) {
	for _, path := range repoTraces {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text := readFile(t, path)
			got, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			want, err := transporttest.ParseTranscript(text)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("Parse gave %d exchanges, transporttest %d", len(got), len(want))
			}
			for i := range got {
				w := want[i]
				if got[i].Note != w.Note || !bytes.Equal(got[i].Command, w.Command) || !bytes.Equal(got[i].Response, w.Response) || got[i].Error != w.Error {
					t.Errorf("exchange %d differs: %+v, transporttest %+v", i, got[i], w)
				}
			}
			if s := got.String(); s != want.String() {
				t.Errorf("String differs from transporttest's:\n%s", cmp.Diff(want.String(), s))
			}
		})
	}
}

func TestParsePlainHex(t *testing.T) {
	text := "  >  00 a4 04 00 02 a0 00\r\n\n<\t5c 02 01 00  90 00\r\n# refused\n> 80990000\n< 6d00\n> 80 3C 01 00\n! link lost\n"
	tr, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Trace{
		{Line: 1, Command: []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00}, Response: []byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00}},
		{Line: 5, Note: "refused", Command: []byte{0x80, 0x99, 0x00, 0x00}, Response: []byte{0x6D, 0x00}},
		{Line: 7, Command: []byte{0x80, 0x3C, 0x01, 0x00}, Error: "link lost"},
	}
	if d := cmp.Diff(want, tr); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
	again, err := Parse([]byte(tr.String()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		again[i].Line = tr[i].Line
	}
	if d := cmp.Diff(tr, again); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	long := "> " + strings.Repeat("00", MaxLineLen) + "\n< 9000\n"
	for _, tt := range []struct {
		name, text, want string
	}{
		{"response first", "< 9000\n", "line 1: response without a command"},
		{"two commands", "> 00A40400\n> 00A40400\n< 9000\n", "line 2: command without a response"},
		{"no response", "> 00A40400\n", "line 1: the last command has no response"},
		{"comment inside", "> 00A40400\n# x\n< 9000\n", "line 2: comment between"},
		{"trailing comment", "> 00A40400\n< 9000\n# x\n", "comment after the last exchange"},
		{"short command", "> 00A404\n< 9000\n", "line 1: command: 3 bytes, want at least 4"},
		{"short response", "> 00A40400\n< 90\n", "line 2: response: 1 bytes, want at least 2"},
		{"odd digits", "> 00A4040\n< 9000\n", "odd number"},
		{"not hex", "> 00A4040G\n< 9000\n", `'G' is not a hexadecimal digit`},
		{"0x prefix", "> 0x00A40400\n< 9000\n", `'x' is not`},
		{"empty error", "> 00A40400\n!\n", "empty error"},
		{"unknown kind", "> 00A40400\n= 9000\n", `starts with '='`},
		{"long line", long, "line 1: longer than"},
		{"long command", "> 00A40400" + strings.Repeat("00", 65541) + "\n< 9000\n", "want at most"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.text))
			var se *SyntaxError
			if !errors.Is(err, ErrSyntax) || !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%.40q) = %v, want a SyntaxError containing %q", tt.text, err, tt.want)
			}
		})
	}
	if _, err := Parse(make([]byte, MaxTraceSize+1)); !errors.Is(err, ErrSyntax) {
		t.Errorf("Parse(oversize) = %v, want ErrSyntax", err)
	}
}

// FuzzParse checks that Parse never panics, that its errors wrap
// ErrSyntax, that what it accepts writes back to a trace that parses to the
// same exchanges, and that decoding what it accepts never panics.
func FuzzParse(f *testing.F) {
	for _, path := range repoTraces {
		f.Add(readFile(f, path))
	}
	f.Add([]byte("> 00a4 0400\n! x\n"))
	f.Add([]byte("# n\n> 94D40000 01 AA\n< 9000\n> 84D40000 01 BB\n< 6102\n> 00C0000002\n< 0102 9000\n"))
	keys, err := ParseKeyLog(readFile(f, "../vehicle/testdata/CCC.keylog"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		tr, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse error %v does not wrap ErrSyntax", err)
			}
			return
		}
		again, err := Parse([]byte(tr.String()))
		if err != nil {
			t.Fatalf("the written trace does not parse: %v\n%s", err, tr.String())
		}
		if len(again) != len(tr) {
			t.Fatalf("round trip: %d exchanges, want %d", len(again), len(tr))
		}
		for i := range tr {
			if again[i].Note != tr[i].Note || !bytes.Equal(again[i].Command, tr[i].Command) ||
				!bytes.Equal(again[i].Response, tr[i].Response) || again[i].Error != tr[i].Error {
				t.Fatalf("round trip changed exchange %d: %+v, want %+v", i, again[i], tr[i])
			}
		}
		r := Decode(tr, keys)
		if len(r.Steps) != len(tr) {
			t.Fatalf("Decode gave %d steps for %d exchanges", len(r.Steps), len(tr))
		}
		_ = r.WriteText(&bytes.Buffer{})
	})
}

// packExchanges encodes a trace compactly for FuzzDecode: per exchange, a
// 2-byte length and the command, then a 2-byte length and the response.
func packExchanges(t Trace) []byte {
	var b []byte
	for _, e := range t {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Command)))
		b = append(b, e.Command...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Response)))
		b = append(b, e.Response...)
	}
	return b
}

// unpackExchanges is the inverse of packExchanges, keeping what fits the
// limits of Parse (a command of at least 4 bytes, a response of at least
// 2), and stopping at the first exchange that does not.
func unpackExchanges(b []byte) Trace {
	var t Trace
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		if n < 4 || len(b) < 2+n+2 {
			break
		}
		cmd := b[2 : 2+n]
		b = b[2+n:]
		m := int(binary.BigEndian.Uint16(b))
		if m < 2 || len(b) < 2+m {
			break
		}
		t = append(t, Exchange{Line: len(t) + 1, Command: cmd, Response: b[2 : 2+m]})
		b = b[2+m:]
	}
	return t
}

// FuzzDecode feeds the decoder exchanges of arbitrary bytes, seeded with
// the repository's golden transcripts and their key logs (so that the
// fuzzer starts inside verified secure channels): it must never panic,
// give one step per exchange, and write its text and JSON forms.
func FuzzDecode(f *testing.F) {
	var all []*KeyLog
	for _, path := range repoTraces {
		tr, err := Parse(readFile(f, path))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(packExchanges(tr), uint8(len(all)))
		if kl, ok := keyLogs[path]; ok {
			keys, err := ParseKeyLog(readFile(f, kl))
			if err != nil {
				f.Fatal(err)
			}
			all = append(all, keys)
		}
	}
	f.Fuzz(func(t *testing.T, packed []byte, which uint8) {
		tr := unpackExchanges(packed)
		keys := all[int(which)%len(all)]
		r := Decode(tr, keys)
		if len(r.Steps) != len(tr) {
			t.Fatalf("%d steps for %d exchanges", len(r.Steps), len(tr))
		}
		if err := r.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
