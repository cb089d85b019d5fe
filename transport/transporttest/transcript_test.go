package transporttest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// sample is a transcript with every kind of line; its text form is written
// by hand from the format documented on Transcript.
var sample = transporttest.Transcript{
	{Note: "SELECT the DK applet", Command: []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00},
		Response: []byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00}},
	{Note: "two\n\nlines", Command: []byte{0x80, 0x80, 0x01, 0x01}, Response: []byte{0x6A, 0x82}},
	{Command: []byte{0x00, 0xC0, 0x00, 0x00, 0x10}, Error: "transporttest: transport: card removed"},
	{Command: []byte{}, Response: []byte{0x90}},
	{Command: []byte{0x00, 0xB0, 0x00, 0x00}, Response: []byte{}},
}

const sampleText = `# SELECT the DK applet
> 00A4040002A00000
< 5C020100 9000
# two
#
# lines
> 80800101
< 6A82
> 00C0000010
! transporttest: transport: card removed
>
< 90
> 00B00000
<
`

func TestTranscriptFormat(t *testing.T) {
	if got := sample.String(); got != sampleText {
		t.Errorf("String() mismatch (-want +got):\n%s", cmp.Diff(sampleText, got))
	}
	got, err := transporttest.ParseTranscript([]byte(sampleText))
	if err != nil {
		t.Fatalf("ParseTranscript = %v", err)
	}
	if diff := cmp.Diff(sample, got); diff != "" {
		t.Errorf("ParseTranscript mismatch (-want +got):\n%s", diff)
	}
	text, _ := sample.MarshalText()
	var back transporttest.Transcript
	if err := back.UnmarshalText(text); err != nil || !cmp.Equal(back, sample) {
		t.Errorf("UnmarshalText(MarshalText()) = %v, %v", back, err)
	}
}

// TestParseTranscriptLenient checks what parsing forgives in a file
// written by hand.
func TestParseTranscriptLenient(t *testing.T) {
	text := "\r\n  # note\r\n\t>  00 a4 04\t00 \r\n\n<5c02 0100  9000\r\n"
	got, err := transporttest.ParseTranscript([]byte(text))
	want := transporttest.Transcript{{Note: "note", Command: []byte{0x00, 0xA4, 0x04, 0x00},
		Response: []byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00}}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("ParseTranscript(%q) = %v, %v, want %v", text, got, err, want)
	}
}

func TestParseTranscriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown marker", "> 00\n? 9000\n", "line 2: line starts with '?'"},
		{"bad hex in command", "> 0G\n< 9000\n", "line 1: command: encoding/hex"},
		{"odd hex in response", "> 00\n< 900\n", "line 2: response: encoding/hex"},
		{"response first", "< 9000\n", "line 1: response without a command"},
		{"two responses", "> 00\n< 9000\n< 9000\n", "line 3: response without a command"},
		{"two commands", "> 00\n> 00\n< 9000\n", "line 2: command without a response"},
		{"note inside an exchange", "> 00\n# x\n< 9000\n", "line 2: note between"},
		{"empty error", "> 00\n!\n", "line 2: empty error"},
		{"no response at the end", "> 00\n< 9000\n> 01\n", "last command without a response"},
		{"note at the end", "> 00\n< 9000\n# x\n", "note after the last exchange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transporttest.ParseTranscript([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "transporttest: ") {
				t.Errorf("ParseTranscript(%q) = %v, want an error containing %q", tc.text, err, tc.want)
			}
			if got != nil {
				t.Errorf("ParseTranscript(%q) returned %v with an error", tc.text, got)
			}
		})
	}
}

func TestTranscriptErrorNewlines(t *testing.T) {
	tr := transporttest.Transcript{{Command: []byte{0}, Error: "a\nb\r\nc"}}
	if got, want := tr.String(), "> 00\n! a b c\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestRecorder(t *testing.T) {
	ctx := context.Background()
	card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		return append(dst, cmd[len(cmd)-1], 0x90, 0x00)
	}), transporttest.RemoveAfter(2))
	rec := transporttest.NewRecorder(card)
	rec.Note("first")
	rec.Note("second")
	cmd := []byte{0x00, 0xB0, 0x00, 0x00, 0x01}
	dst := []byte{0xAA}
	got, err := rec.Transceive(ctx, dst, cmd)
	if want := []byte{0xAA, 0x01, 0x90, 0x00}; err != nil || !cmp.Equal(got, want) {
		t.Fatalf("Transceive = %X, %v, want %X", got, err, want)
	}
	// The transcript holds copies: later writes to the buffers do not reach it.
	cmd[4], got[1] = 0x02, 0xFF
	if _, err := rec.Transceive(ctx, nil, cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Transceive(ctx, nil, cmd); !errors.Is(err, transport.ErrCardRemoved) {
		t.Fatalf("third Transceive = %v, want ErrCardRemoved", err)
	}
	want := transporttest.Transcript{
		{Note: "first\nsecond", Command: []byte{0x00, 0xB0, 0x00, 0x00, 0x01}, Response: []byte{0x01, 0x90, 0x00}},
		{Command: []byte{0x00, 0xB0, 0x00, 0x00, 0x02}, Response: []byte{0x02, 0x90, 0x00}},
		{Command: []byte{0x00, 0xB0, 0x00, 0x00, 0x02}, Error: "transporttest: transport: card removed"},
	}
	tr := rec.Transcript()
	if diff := cmp.Diff(want, tr); diff != "" {
		t.Errorf("Transcript() mismatch (-want +got):\n%s", diff)
	}
	tr[0].Command[0] = 0xFF
	if rec.Transcript()[0].Command[0] != 0x00 {
		t.Errorf("Transcript() returned the recorder's own slices")
	}
}

func TestRecorderEmptyError(t *testing.T) {
	rec := transporttest.NewRecorder(failing{})
	rec.Transceive(context.Background(), nil, []byte{0})
	if got := rec.Transcript()[0].Error; got == "" {
		t.Errorf("recorded error text is empty")
	}
}

type failing struct{}

func (failing) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	return dst, errors.New("")
}

func TestCheckGolden(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "x.transcript")

	fake := &fakeTB{TB: t}
	transporttest.CheckGolden(fake, path, sample, false)
	if len(fake.errors) != 1 || !strings.Contains(fake.errors[0], "-update") {
		t.Errorf("CheckGolden of a missing file reported %q, want one error naming -update", fake.errors)
	}

	fake = &fakeTB{TB: t}
	transporttest.CheckGolden(fake, path, sample, true)
	if len(fake.errors) != 0 {
		t.Fatalf("CheckGolden with update reported %q", fake.errors)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != sampleText {
		t.Fatalf("CheckGolden with update wrote %q, %v, want %q", b, err, sampleText)
	}

	fake = &fakeTB{TB: t}
	transporttest.CheckGolden(fake, path, sample, false)
	if len(fake.errors) != 0 {
		t.Errorf("CheckGolden of an equal transcript reported %q", fake.errors)
	}

	// A hand-edited file (lower case, spacing) still matches.
	os.WriteFile(path, []byte(strings.ToLower(strings.ReplaceAll(sampleText, "> 00A4", ">00 a4"))), 0o644)
	fake = &fakeTB{TB: t}
	lower := append(transporttest.Transcript{}, sample...)
	lower[0].Note, lower[1].Note = "select the dk applet", "two\n\nlines"
	lower[2].Error = "transporttest: transport: card removed"
	transporttest.CheckGolden(fake, path, lower, false)
	if len(fake.errors) != 0 {
		t.Errorf("CheckGolden of a hand-edited file reported %q", fake.errors)
	}

	changed := append(transporttest.Transcript{}, lower...)
	changed[1].Response = []byte{0x90, 0x00}
	fake = &fakeTB{TB: t}
	transporttest.CheckGolden(fake, path, changed, false)
	if len(fake.errors) != 1 || !strings.Contains(fake.errors[0], `"< 6A82"`) || !strings.Contains(fake.errors[0], `"< 9000"`) {
		t.Errorf("CheckGolden of a changed transcript reported %q, want a diff of the response line", fake.errors)
	}

	os.WriteFile(path, []byte("< 9000\n"), 0o644)
	fake = &fakeTB{TB: t}
	transporttest.CheckGolden(fake, path, sample, false)
	if len(fake.errors) != 1 || !strings.Contains(fake.errors[0], "response without a command") {
		t.Errorf("CheckGolden of a malformed file reported %q", fake.errors)
	}
}

// TestGoldenFile checks a transcript against the golden file checked in
// with this package, as protocol tests do.
func TestGoldenFile(t *testing.T) {
	rec := transporttest.NewRecorder(transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		if cmd[1] == 0xA4 {
			return append(dst, 0x5C, 0x02, 0x01, 0x00, 0x90, 0x00)
		}
		return append(dst, 0x6D, 0x00)
	})))
	rec.Note("SELECT the DK applet, then an unknown instruction")
	rec.Transceive(context.Background(), nil, []byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00})
	rec.Transceive(context.Background(), nil, []byte{0x80, 0x99, 0x00, 0x00})
	transporttest.CheckGolden(t, "testdata/select.transcript", rec.Transcript(), *update)
}

// fakeTB records what CheckGolden reports instead of failing the test.
type fakeTB struct {
	testing.TB
	errors []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (f *fakeTB) Logf(format string, args ...any) {}

// FuzzTranscript checks that parsing never panics and that the text form of
// a parsed transcript parses to the same transcript.
func FuzzTranscript(f *testing.F) {
	f.Add(sampleText)
	f.Add("\r\n  # note\r\n\t>  00 a4 04\t00 \r\n\n<5c02 0100  9000\r\n")
	f.Add("> 00\n! a\n")
	f.Fuzz(func(t *testing.T, text string) {
		tr, err := transporttest.ParseTranscript([]byte(text))
		if err != nil {
			return
		}
		again, err := transporttest.ParseTranscript([]byte(tr.String()))
		if err != nil {
			t.Fatalf("ParseTranscript(%q) = %v", tr.String(), err)
		}
		if diff := cmp.Diff(tr, again); diff != "" {
			t.Fatalf("ParseTranscript(String()) mismatch (-first +second):\n%s", diff)
		}
	})
}
