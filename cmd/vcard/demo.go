package main

import (
	"github.com/opencarkey/sdk/dkey"
)

// demoCard is the smallest card that a Digital Key reader recognises: it
// answers SELECT of the Digital Key applet (docs/protocol.md §2.2) with the
// version list of CCC Release 2 and 3, tag 5C with version 1.0, and
// nothing more. Every other command gets 6D00 (instruction not supported),
// and SELECT of any other application 6A82 (not found).
type demoCard struct{}

// selectResponse is the SELECT response: 5C 02 0100, then 9000.
const selectResponse = "\x5C\x02\x01\x00\x90\x00"

func (demoCard) ProcessAPDU(dst, cmd []byte) []byte {
	if len(cmd) < 4 {
		return append(dst, 0x67, 0x00) // wrong length
	}
	if cmd[0] != 0x00 || cmd[1] != 0xA4 {
		return append(dst, 0x6D, 0x00)
	}
	if cmd[2] != 0x04 || cmd[3] != 0x00 {
		return append(dst, 0x6A, 0x86) // incorrect P1-P2
	}
	// 00 A4 04 00 Lc AID [Le]
	if len(cmd) < 5 || int(cmd[4]) == 0 || len(cmd) < 5+int(cmd[4]) || len(cmd) > 6+int(cmd[4]) {
		return append(dst, 0x67, 0x00)
	}
	if !dkey.AIDDigitalKey.Equal(cmd[5 : 5+int(cmd[4])]) {
		return append(dst, 0x6A, 0x82)
	}
	return append(dst, selectResponse...)
}
