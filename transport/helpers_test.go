package transport_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// h decodes hexadecimal with spaces; it panics on a typo in a test table.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic("bad hex in test: " + s)
	}
	return b
}

// seq returns n bytes counting up from 1 (mod 256), a data field whose
// every byte is easy to place in a dump.
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}

// hx is the uppercase hexadecimal of b, for building expected transcripts.
func hx(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// playback returns a card that expects the commands of a transcript in
// order and answers each with its recorded response. It reports a command
// that differs, one too many, and (at cleanup) any exchange left unplayed.
func playback(t *testing.T, text string) transport.Card {
	t.Helper()
	want, err := transporttest.ParseTranscript([]byte(text))
	if err != nil {
		t.Fatalf("ParseTranscript: %v", err)
	}
	i := 0
	t.Cleanup(func() {
		if i != len(want) {
			t.Errorf("card received %d commands, want %d", i, len(want))
		}
	})
	return transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		if i >= len(want) {
			t.Errorf("card received unexpected command %X", cmd)
			return append(dst, 0x6F, 0x00)
		}
		e := want[i]
		i++
		if !bytes.Equal(cmd, e.Command) {
			t.Errorf("command %d = %X, want %X", i, cmd, e.Command)
		}
		return append(dst, e.Response...)
	})
}

// diffCommand returns "" when a and b are the same command (nil and empty
// Data alike), and a cmp diff otherwise. It compares Data with bytes.Equal
// first: cmp walks a 64 KiB slice byte by byte.
func diffCommand(a, b transport.Command) string {
	if a.CLA == b.CLA && a.INS == b.INS && a.P1 == b.P1 && a.P2 == b.P2 && a.Ne == b.Ne && bytes.Equal(a.Data, b.Data) {
		return ""
	}
	return cmp.Diff(a, b)
}
