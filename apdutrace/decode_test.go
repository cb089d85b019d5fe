package apdutrace

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencarkey/sdk/internal/redacttest"
)

var update = flag.Bool("update", false, "rewrite the golden decodings in testdata")

// keyLogs maps the repository's golden transcripts to their key logs,
// written by package transaction's and package pairing's golden tests.
var keyLogs = map[string]string{
	"../vehicle/testdata/CCC.transcript":            "../vehicle/testdata/CCC.keylog",
	"../vehicle/testdata/HomeKey.transcript":        "../vehicle/testdata/HomeKey.keylog",
	"../pairing/testdata/pairing-own-share.txt":     "../pairing/testdata/pairing-own-share.keylog",
	"../pairing/testdata/pairing-peer-share.txt":    "../pairing/testdata/pairing-peer-share.keylog",
	"../pairing/testdata/pairing-intermediates.txt": "../pairing/testdata/pairing-intermediates.keylog",
}

// jsonGolden are the traces whose JSON decoding is kept too.
var jsonGolden = map[string]bool{
	"../vehicle/testdata/CCC.transcript":        true,
	"../pairing/testdata/pairing-own-share.txt": true,
}

// GoldenName returns the base name of the golden decodings of a trace.
func goldenName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readFile(t, path)
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); d != "" {
		t.Errorf("%s differs (-want +got); run with -update:\n%s", path, d)
	}
}

func decodeFile(t *testing.T, path, keyPath string) *Report {
	t.Helper()
	tr, err := Parse(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	var keys *KeyLog
	if keyPath != "" {
		if keys, err = ParseKeyLog(readFile(t, keyPath)); err != nil {
			t.Fatal(err)
		}
	}
	return Decode(tr, keys)
}

// protections returns every Protection of a report.
func protections(r *Report) []*Protection {
	var out []*Protection
	for _, s := range r.Steps {
		for _, m := range []*Message{s.Request, s.Reply} {
			if m != nil && m.SecureMessaging != nil {
				out = append(out, m.SecureMessaging)
			}
		}
	}
	return out
}

// TestGoldenDecodings decodes every golden transcript of the repository,
// without and (where one exists) with its key log, and compares the text
// form, and for two of them the JSON form, with testdata. With the key log
// every protected message must verify; without, none may claim to.
func TestGoldenDecodings(t *testing.T) {
	for _, path := range repoTraces {
		name := goldenName(path)
		t.Run(name, func(t *testing.T) {
			r := decodeFile(t, path, "")
			for _, s := range r.Steps {
				if len(s.Problems) > 0 && !strings.Contains(path, "transport/") {
					t.Errorf("exchange %d: problems %q in a golden transcript", s.Index, s.Problems)
				}
			}
			for _, p := range protections(r) {
				if p.Verified {
					t.Errorf("a protected message verified without keys: %+v", p)
				}
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", name+".txt"), text.Bytes())

			keyPath, ok := keyLogs[path]
			if !ok {
				return
			}
			r = decodeFile(t, path, keyPath)
			ps := protections(r)
			if len(ps) == 0 {
				t.Fatal("no protected message in the trace")
			}
			for _, p := range ps {
				if !p.Verified {
					t.Errorf("with the key log, a message did not verify: %s (counter %d)", p.Result, p.Counter)
				}
			}
			text.Reset()
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", name+".keylog.txt"), text.Bytes())
			if jsonGolden[path] {
				b, err := json.MarshalIndent(r, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join("testdata", name+".keylog.json"), append(b, '\n'))
				var back Report
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(r, &back, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("JSON round trip (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestDecodeWrongKeys: a key log whose Kmac is wrong, or a trace whose
// protected payload was changed, is reported at the first message that does
// not verify, and the rest of the channel is not checked.
func TestDecodeWrongKeys(t *testing.T) {
	logText := string(readFile(t, "../vehicle/testdata/CCC.keylog"))
	bad := strings.Replace(logText, "TRANSACTION_KMAC 7b7c831d1c902015740489ea15542638 2e", "TRANSACTION_KMAC 7b7c831d1c902015740489ea15542638 2f", 1)
	if bad == logText {
		t.Fatal("the key log has no entry to corrupt")
	}
	keys, err := ParseKeyLog([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Parse(readFile(t, "../vehicle/testdata/CCC.transcript"))
	if err != nil {
		t.Fatal(err)
	}
	r := Decode(tr, keys)
	// Kmac checks commands: the AUTH1 response (R-MAC, Krmac) verifies, the
	// EXCHANGE command does not, and its response is not checked.
	auth1, exch := r.Steps[2].Reply.SecureMessaging, r.Steps[3]
	if !auth1.Verified {
		t.Errorf("AUTH1 response: %s, want verified (Krmac is right)", auth1.Result)
	}
	if p := exch.Request.SecureMessaging; p.Verified || !strings.HasPrefix(p.Result, "C-MAC does not verify") {
		t.Errorf("EXCHANGE with a wrong Kmac: %+v", p)
	}
	if p := exch.Reply.SecureMessaging; p.Verified || !strings.HasPrefix(p.Result, "not checked") {
		t.Errorf("EXCHANGE response after a failure: %+v", p)
	}
	// The next transaction has its own keys.
	if p := r.Steps[10].Reply.SecureMessaging; !p.Verified {
		t.Errorf("the engine-start AUTH1 response: %s", p.Result)
	}

	// A changed byte of the AUTH1 response.
	keys, _ = ParseKeyLog([]byte(logText))
	tampered := append(Trace(nil), tr...)
	resp := bytes.Clone(tampered[2].Response)
	resp[10] ^= 1
	tampered[2].Response = resp
	r = Decode(tampered, keys)
	if p := r.Steps[2].Reply.SecureMessaging; p.Verified || !strings.HasPrefix(p.Result, "R-MAC does not verify") {
		t.Errorf("tampered AUTH1 response: %+v", p)
	}
	// Keys of another session are not used.
	other, _ := ParseKeyLog(readFile(t, "../vehicle/testdata/HomeKey.keylog"))
	r = Decode(tr, other)
	if p := r.Steps[2].Reply.SecureMessaging; p.Verified || !strings.Contains(p.Result, "no TRANSACTION keys for this session") {
		t.Errorf("foreign key log: %+v", p)
	}
}

func mustTrace(t *testing.T, text string) Trace {
	t.Helper()
	tr, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestDecodeProblems checks what the decoder reports for traces that do
// not follow the protocol.
func TestDecodeProblems(t *testing.T) {
	for _, tt := range []struct {
		name, trace string
		step        int
		want        string
	}{
		{"malformed APDU", "> 00A4040005A0\n< 6700\n", 0, "command APDU"},
		{"GET RESPONSE alone", "> 00C0000010\n< 9000\n", 0, "no 61xx response"},
		{"61xx never read", "> 80CA0000\n< 6110\n> 803C0100\n< 9000\n", 1, "never read"},
		{"chain interrupted", "> 94D4000001AA\n< 9000\n> 90CA000001BB\n< 9000\n", 1, "was interrupted"},
		{"chain abandoned", "> 94D4000001AA\n< 9000\n> 803C0100\n< 9000\n", 1, "was abandoned"},
		{"chain part refused", "> 94D4000001AA\n< 6A80\n", 0, "refused a part"},
		{"data in an error response", "> 00A404000DA000000809434343444B41763100\n< 5C020100 9000\n> 84C9000008 0102030405060708\n< 0102 6988\n", 1, "carries no R-MAC"},
		{"AUTH0 without 4C", "> 80800101045C020100\n< 6A80\n", 0, "without a transaction identifier"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Decode(mustTrace(t, tt.trace), nil)
			if p := r.Steps[tt.step].Problems; len(p) == 0 || !strings.Contains(strings.Join(p, "; "), tt.want) {
				t.Errorf("step %d problems %q, want one containing %q", tt.step, p, tt.want)
			}
		})
	}
	// A data object that does not parse is shown as malformed.
	r := Decode(mustTrace(t, "> 00A404000DA000000809434343444B41763100\n< 5C030100 9000\n"), nil)
	if f := r.Steps[0].Reply.Fields; len(f) != 1 || f[0].Name != "malformed" {
		t.Errorf("fields of a truncated data object = %+v", f)
	}
	// Unknown commands and applets are named as such.
	r = Decode(mustTrace(t, "> 00A4040005A000000001\n< 9000\n> 80990000\n< 6D00\n"), nil)
	if r.Steps[0].Params != "by name A000000001 (unknown application)" || !strings.HasPrefix(r.Steps[1].Name, "unknown command") {
		t.Errorf("unknown: %q, %q", r.Steps[0].Params, r.Steps[1].Name)
	}
	if r.Steps[1].Status != "6D00: instruction not supported" {
		t.Errorf("status = %q", r.Steps[1].Status)
	}
}

func TestKeyLogParse(t *testing.T) {
	keys, err := ParseKeyLog(readFile(t, "../vehicle/testdata/CCC.keylog"))
	if err != nil {
		t.Fatal(err)
	}
	if keys.Len() != 13 {
		t.Errorf("Len() = %d, want 13", keys.Len())
	}
	id, _ := hex.DecodeString("7b7c831d1c902015740489ea15542638")
	k := keys.lookup(setTransaction, id)
	if k == nil || hex.EncodeToString(k.MAC[:]) != "2e0a88515bc85fb5aedbc0cddbe16a27" {
		t.Fatalf("lookup = %v", k)
	}
	redacttest.Check(t, *keys, k.Enc[:], k.MAC[:], k.RMAC[:])
	redacttest.Check(t, keys, k.Enc[:], k.MAC[:], k.RMAC[:])
	if keys.lookup(setFast, id) != nil {
		t.Error("FAST keys found for a standard transaction")
	}
	// A set that lacks a key is not used.
	partial, err := ParseKeyLog([]byte("TRANSACTION_KENC 7b7c831d1c902015740489ea15542638 8b6c7909edf784101072555d472dafb4\n"))
	if err != nil || partial.lookup(setTransaction, id) != nil {
		t.Errorf("a partial set: %v, %v", partial.lookup(setTransaction, id), err)
	}
	if _, err := ParseKeyLog([]byte("TRANSACTION_KENC 00\n")); err == nil || !strings.HasPrefix(err.Error(), "apdutrace: key log: keylog: invalid key log: line 1") {
		t.Errorf("ParseKeyLog(bad) = %v", err)
	}
	var nilLog *KeyLog
	if nilLog.Len() != 0 || nilLog.lookup(setPairing, id) != nil {
		t.Error("a nil KeyLog is not empty")
	}
}
