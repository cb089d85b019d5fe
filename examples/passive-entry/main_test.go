package main

import (
	"bytes"
	"regexp"
	"testing"
)

// want is the program's output with the UWB session ID, which the random
// transaction identifier gives, as ########.
const want = `phone: connected over BLE
vehicle: standard transaction P2 10 over BLE, URSK kept on both sides for UWB session ########
vehicle: UWB session ######## on ch9, 2 anchors, 96ms ranging blocks, SYNC code 9
round  distance  doors
    1   12.00 m  locked
    2    9.50 m  locked
    3    7.00 m  locked
    4    5.20 m  locked
    5    3.80 m  locked
    6    2.40 m  locked
    7    1.90 m  unlocked  ← unlock (within 2 m)
    8    1.20 m  unlocked
    9    0.90 m  unlocked
   10    1.10 m  unlocked
   11    2.60 m  unlocked
   12    4.50 m  unlocked
   13    5.80 m  unlocked
   14    6.40 m  locked  ← lock (past 6 m)
   15    9.00 m  locked
   16   13.00 m  locked
vehicle: ranging stopped, link closed
`

var sessionID = regexp.MustCompile(`session ([0-9a-f]{8})`)

// TestRun runs the program and checks its table: the doors unlock when
// the phone comes within 2 m and lock when it walks past 6 m, on the
// distances the simulated chips measured with the URSK of both sides.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	ids := sessionID.FindAllStringSubmatch(out.String(), -1)
	if len(ids) != 2 || ids[0][1] != ids[1][1] {
		t.Fatalf("session IDs %v: the transaction and the ranging setup name different sessions", ids)
	}
	if got := sessionID.ReplaceAllString(out.String(), "session ########"); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
