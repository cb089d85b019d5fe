package pcsc_test

// The programs on their state files across restarts, through the private
// pcscd: cmd/vcard -state and examples/pcsc-reader -state, then the bench
// tool, cmd/dkey card, pair, reader. A restarted program is the same phone
// or the same vehicle: the first tap after a restart is fast.

import (
	"path/filepath"
	"strings"
	"testing"
)

// runProgram runs a program to its end and returns its output, failing the test
// unless it exits with status code.
func runProgram(t *testing.T, code int, path string, args ...string) string {
	t.Helper()
	p := start(t, path, args...)
	if got := exitCode(p.wait(t)); got != code {
		t.Fatalf("%s %q: exit status %d, want %d:\n%s", p.name, args, got, code, p.output())
	}
	return p.output()
}

func TestIntegrationStateAcrossRestarts(t *testing.T) {
	requirePCSC(t)
	bins := buildPrograms(t, "cmd/vcard", "examples/pcsc-reader", "cmd/dkey")
	vcard, reader, dkey := bins["cmd/vcard"], bins["examples/pcsc-reader"], bins["cmd/dkey"]

	t.Run("vcard -state and pcsc-reader -state", func(t *testing.T) {
		dir := t.TempDir()
		phone, car := filepath.Join(dir, "phone.db"), filepath.Join(dir, "car.db")
		// Each round restarts both programs on the same files: the first
		// round meets new state files, the second the files the first
		// left.
		for round, want := range []string{"standard", "fast"} {
			card := start(t, vcard, "-card", "applet", "-state", phone, "-host", "127.0.0.1", "-port", "35963")
			card.waitFor(t, `card "applet" inserted`, 1)
			out := runProgram(t, 0, reader, "-once", "-timeout", "15s", "-state", car)
			if !strings.Contains(out, "unlock: OK, "+want+" transaction") {
				t.Errorf("round %d: pcsc-reader printed\n%s\nwant a %s transaction", round+1, out, want)
			}
			if err := card.interrupt(t); err != nil {
				t.Errorf("vcard after Ctrl-C = %v, want success:\n%s", err, card.output())
			}
			waitEmpty(t, 0)
		}
	})

	t.Run("dkey card, pair and reader", func(t *testing.T) {
		dir := t.TempDir()
		pki, phone, car := filepath.Join(dir, "pki"), filepath.Join(dir, "phone.db"), filepath.Join(dir, "car.db")
		runProgram(t, 0, dkey, "-q", "pki", "init", "-dir", pki)

		// The phone waits for owner pairing in the second reader; the
		// vehicle pairs with it through pcscd.
		card := start(t, dkey, "card", "-state", phone, "-pki", pki, "-pair", "271828", "-host", "127.0.0.1", "-port", "35964")
		card.waitFor(t, "card: phone "+phone+" with 0 keys, for vpcd at 127.0.0.1:35964", 1)
		card.waitFor(t, "card inserted into the reader", 1)
		out := runProgram(t, 0, dkey, "pair", "-vehicle", car, "-pki", pki, "-reader", reader1, "-password", "271828", "-scrypt-n", "1024", "-timeout", "15s")
		if !strings.Contains(out, "paired: owner key ") || !strings.Contains(out, "first transaction 0181 (pairing complete)") ||
			!strings.Contains(out, `dkey: reader "`+reader1+`": waiting for a card`) {
			t.Errorf("dkey pair -reader printed\n%s", out)
		}
		card.waitFor(t, "paired: key ", 1)
		card.waitFor(t, `msg="pairing: deriving the keys from the password (scrypt)"`, 1)

		// The first unlock after pairing is fast: the pairing's first
		// transaction left Kpersistent on both sides.
		out = runProgram(t, 0, dkey, "reader", "-state", car, "-reader", reader1, "-once", "-timeout", "15s")
		if !strings.Contains(out, "unlock: OK, fast transaction") {
			t.Errorf("dkey reader after pairing printed\n%s", out)
		}
		if err := card.interrupt(t); err != nil {
			t.Errorf("dkey card after Ctrl-C = %v, want success:\n%s", err, card.output())
		}
		waitEmpty(t, 1)

		// Both restarted on their files: still fast.
		card = start(t, dkey, "card", "-state", phone, "-host", "127.0.0.1", "-port", "35964")
		card.waitFor(t, "card: phone "+phone+" with 1 key", 1)
		out = runProgram(t, 0, dkey, "reader", "-state", car, "-reader", reader1, "-once", "-timeout", "15s", "-action", "lock")
		if !strings.Contains(out, "lock: OK, fast transaction") {
			t.Errorf("dkey reader after restarts printed\n%s", out)
		}
		out = runProgram(t, 1, dkey, "reader", "-state", car, "-reader", reader1, "-once", "-timeout", "15s", "-action", "engine-start", "-key", "softkms:path="+filepath.Join(pki, "device-root.key"))
		if !strings.Contains(out, "is not the key of the vehicle certificate") {
			t.Errorf("dkey reader with the wrong key printed\n%s", out)
		}
		if err := card.interrupt(t); err != nil {
			t.Errorf("dkey card after Ctrl-C = %v, want success:\n%s", err, card.output())
		}
		waitEmpty(t, 1)

		// The reader running tap after tap: each start of the card is a
		// phone entering the field, each stop one leaving it.
		r := start(t, dkey, "reader", "-state", car, "-reader", reader1)
		r.waitFor(t, `dkey: reader "`+reader1+`": waiting for a card`, 1)
		for tap := 1; tap <= 2; tap++ {
			card = start(t, dkey, "-q", "card", "-state", phone, "-host", "127.0.0.1", "-port", "35964")
			r.waitFor(t, "unlock: OK, fast transaction", tap)
			if err := card.interrupt(t); err != nil {
				t.Errorf("dkey card after Ctrl-C = %v, want success:\n%s", err, card.output())
			}
			r.waitFor(t, `dkey: reader "`+reader1+`": waiting for a card`, tap+1)
		}
		if err := r.interrupt(t); err != nil {
			t.Errorf("dkey reader after Ctrl-C = %v, want success:\n%s", err, r.output())
		}
		if n := r.count("unlock:"); n != 2 {
			t.Errorf("dkey reader reported %d transactions for 2 taps:\n%s", n, r.output())
		}
		waitEmpty(t, 1)

		out = runProgram(t, 1, dkey, "reader", "-state", car, "-reader", reader1, "-once", "-timeout", "500ms")
		if !strings.Contains(out, "dkey: no card within 500ms") {
			t.Errorf("dkey reader without a card printed\n%s", out)
		}
		out = runProgram(t, 1, dkey, "reader", "-state", car, "-reader", "No Such Reader", "-once")
		if !strings.Contains(out, `dkey: no reader "No Such Reader"`) {
			t.Errorf("dkey reader on an unknown reader printed\n%s", out)
		}
	})
}
