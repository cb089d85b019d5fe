package pairing

import (
	"fmt"

	"github.com/opencarkey/sdk/internal/spake2plus"
)

// OpControlFlow is the P1‖P2 of the framework's OP CONTROL FLOW command
// (80 3C P1 P2, no data; docs/protocol.md §3.6): P1 10 continue, 11 end with
// success, 12 abort; P2 the detail. It travels in clear.
type OpControlFlow uint16

// OP CONTROL FLOW codes ([CNDK] and [YB], docs/protocol.md §3.6). Codes 12 03 to
// 12 07 are timer expiries whose individual meaning is not public; they
// have no names here but are valid.
const (
	OpKeyDataSent     OpControlFlow = 0x1001 // continue: key-creation data sent by the vehicle
	OpChainReceived   OpControlFlow = 0x1002 // continue: endpoint certificate chain received by the vehicle
	OpAwaitingUser    OpControlFlow = 0x1003 // continue: waiting for user confirmation on the head unit
	OpKeepAlive       OpControlFlow = 0x100F // continue: keep-alive, vehicle busy
	OpPairingComplete OpControlFlow = 0x1111 // end: pairing completed

	OpAbort                  OpControlFlow = 0x1200 // abort: unspecified
	OpAbortFrameworkVersion  OpControlFlow = 0x1201 // abort: no common SPAKE2+ (framework) version
	OpAbortAppletVersion     OpControlFlow = 0x1202 // abort: no common Digital Key applet version
	OpAbortPreconditions     OpControlFlow = 0x1208 // abort: preconditions not met
	OpAbortEvidence          OpControlFlow = 0x1209 // abort: evidence verification failed (wrong password)
	OpAbortKeyConfiguration  OpControlFlow = 0x120A // abort: wrong Digital Key configuration
	OpAbortCertificate       OpControlFlow = 0x120B // abort: certificate verification failed
	OpAbortInvalidPoint      OpControlFlow = 0x120C // abort: invalid curve point X, or no password entered
	OpAbortAttemptsExhausted OpControlFlow = 0x120D // abort: password attempt counter exceeded
	OpAbortOther             OpControlFlow = 0x127F // abort: other or proprietary
)

// P1 returns the first parameter byte.
func (c OpControlFlow) P1() byte { return byte(c >> 8) }

// P2 returns the second parameter byte.
func (c OpControlFlow) P2() byte { return byte(c) }

// Continue reports whether c is a progress report (P1 10).
func (c OpControlFlow) Continue() bool { return c.P1() == 0x10 }

// Complete reports whether c ends the pairing with success (11 11).
func (c OpControlFlow) Complete() bool { return c == OpPairingComplete }

// Abort reports whether c aborts the pairing (P1 12).
func (c OpControlFlow) Abort() bool { return c.P1() == 0x12 }

// Valid reports whether c is one of the codes of docs/protocol.md §3.6.
func (c OpControlFlow) Valid() bool {
	switch c.P1() {
	case 0x10:
		return c == OpKeyDataSent || c == OpChainReceived || c == OpAwaitingUser || c == OpKeepAlive
	case 0x11:
		return c == OpPairingComplete
	case 0x12:
		return c.P2() <= 0x0D || c == OpAbortOther
	}
	return false
}

// String returns the code in hexadecimal with its meaning.
func (c OpControlFlow) String() string {
	name := "unknown"
	switch c {
	case OpKeyDataSent:
		name = "key-creation data sent"
	case OpChainReceived:
		name = "certificate chain received"
	case OpAwaitingUser:
		name = "waiting for user confirmation"
	case OpKeepAlive:
		name = "keep-alive"
	case OpPairingComplete:
		name = "pairing complete"
	case OpAbort:
		name = "abort"
	case OpAbortFrameworkVersion:
		name = "abort: no common framework version"
	case OpAbortAppletVersion:
		name = "abort: no common applet version"
	case OpAbortPreconditions:
		name = "abort: preconditions not met"
	case OpAbortEvidence:
		name = "abort: evidence verification failed"
	case OpAbortKeyConfiguration:
		name = "abort: wrong key configuration"
	case OpAbortCertificate:
		name = "abort: certificate verification failed"
	case OpAbortInvalidPoint:
		name = "abort: invalid point"
	case OpAbortAttemptsExhausted:
		name = "abort: attempt counter exceeded"
	case OpAbortOther:
		name = "abort: other"
	default:
		if c.Abort() && c.P2() >= 0x03 && c.P2() <= 0x07 {
			name = "abort: timer expired"
		}
	}
	return fmt.Sprintf("%04X (%s)", uint16(c), name)
}

// Evidence selects what each side's SPAKE2+ evidence MACs (docs/protocol.md §3.3,
// §11 item 2). Both sides of a run must use the same.
type Evidence uint8

const (
	// EvidenceOwnShare: each side MACs its own share, M1 = CMAC(K1, Y) from
	// the vehicle and M2 = CMAC(K2, X) from the device. This is [MERS]'s
	// reading of TS Listings 18-7/18-8 and the default.
	EvidenceOwnShare Evidence = iota
	// EvidencePeerShare: each side MACs the peer's share, M1 = CMAC(K1, X)
	// and M2 = CMAC(K2, Y), as RFC 9383 does. An independent CCC
	// implementation (Crypt-SPAKE2Plus, see
	// internal/spake2plus/testdata/README.md) asserts this reading.
	EvidencePeerShare
)

// String returns the name of e.
func (e Evidence) String() string {
	switch e {
	case EvidenceOwnShare:
		return "own share"
	case EvidencePeerShare:
		return "peer share"
	}
	return fmt.Sprintf("Evidence(%d)", uint8(e))
}

func (e Evidence) valid() bool { return e == EvidenceOwnShare || e == EvidencePeerShare }

func (e Evidence) internal() spake2plus.Evidence {
	if e == EvidencePeerShare {
		return spake2plus.EvidencePeerShare
	}
	return spake2plus.EvidenceOwnShare
}
