package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// want is the story, line by line, with the random activation code masked
// (mask). Keys, slots, salts and links are random too, and the program
// prints none of them.
var want = []string{
	"owner pairs, code 271828       owner key enrolled (SPAKE2+, certificates both ways), immobilizer token provisioned by a standard first transaction, control flow 0181 (pairing complete)",
	"owner unlocks                  unlocked: fast transaction, control flow 0100 (success)",
	"owner starts the engine        engine started: standard transaction, immobilizer token checked, control flow 0100 (success)",
	"owner shares, code NNNN-NNNN   friend key active: unlock|lock, max 80 km/h, 7 days; sealed end to end via the relay (the link works once), the code checked by the owner's phone",
	"friend unlocks, first tap      unlocked: standard transaction, friend key enrolled from its key attestation (unlock|lock, max 80 km/h), control flow 4082 (delete attestation)",
	"friend locks                   locked: fast transaction, control flow 0100 (success)",
	"friend starts the engine       refused: not in the key's profile (unlock|lock, max 80 km/h), control flow 0000 (failure)",
	"owner revokes friend's key     termination attestation signed on the owner's phone, queued for the vehicle",
	"owner starts the engine        engine started: standard transaction, immobilizer token checked, termination attestation accepted, key removed, control flow 4082 (delete attestation)",
	"friend unlocks                 refused: key terminated, control flow 00A0 (key deleted); friend's phone: key suspended, deleted by the vehicle: true",
	"owner's phone reported lost    lost mode on: every key of the phone suspended",
	"someone taps the lost phone    refused by the phone: status word 6985: conditions of use not satisfied",
	"owner's phone found            lost mode off: its keys resume",
	"owner unlocks                  unlocked: fast transaction, control flow 0100 (success)",
	"vehicle and phone restart      state read back from their stores: 1 key(s) in the vehicle, 1 in the owner's phone",
	"owner unlocks                  unlocked: fast transaction, control flow 0100 (success)",
}

// activationCode matches the code sharing.NewActivationCode draws.
var activationCode = regexp.MustCompile(`^(owner shares, code )[0-9]{4}-[0-9]{4}( )`)

// mask replaces what is random in a line of the story.
func mask(line string) string {
	return activationCode.ReplaceAllString(line, "${1}NNNN-NNNN$2")
}

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("run() = %v\noutput so far:\n%s", err, out.String())
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for i := range got {
		got[i] = mask(got[i])
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, g, w)
		}
	}
}

// The README shows the story as the program tells it (with some code).
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i := range lines {
		lines[i] = mask(lines[i])
	}
	readme := strings.Join(lines, "\n")
	block := "```\n" + strings.Join(want, "\n") + "\n```\n"
	if !strings.Contains(readme, block) {
		t.Errorf("README.md does not show the output of go run ./examples/walkthrough; want the block:\n%s", block)
	}
}
