// Package keylog is the line format of the SDK's key logs: the session keys
// that transaction and pairing sessions write, when configured to, for
// debugging and conformance work, in the style of the NSS key log that
// crypto/tls writes through Config.KeyLogWriter. A trace decoder reads them
// back to decrypt and verify the secure messaging of a recorded session
// (docs/protocol.md §3.4, §4.4, §4.5, §4.7).
//
// # Format
//
// A key log is UTF-8 text, one entry per line:
//
//	LABEL <session identifier in hex> <secret in hex>
//
// separated by single spaces and ended by "\n" ("\r\n" is accepted). Lines
// that are empty or start with "#" are comments; an entry line is at most a
// few hundred bytes, the whole log at most [MaxSize]. Hexadecimal is written in
// lower case and read in either case. Each label fixes the sizes of its
// identifier and secret ([Label.IDSize], [Label.SecretSize]):
//
//	TRANSACTION_KENC        txid (16)  Kenc (16)         standard transaction (§4.4)
//	TRANSACTION_KMAC        txid (16)  Kmac (16)
//	TRANSACTION_KRMAC       txid (16)  Krmac (16)
//	TRANSACTION_KPERSISTENT txid (16)  Kpersistent (32)
//	TRANSACTION_URSK        txid (16)  URSK (32)         CCC profile, Aliro over BLE
//	FAST_KENC               txid (16)  Kenc (16)         fast transaction (§4.5)
//	FAST_KMAC               txid (16)  Kmac (16)
//	FAST_KRMAC              txid (16)  Krmac (16)
//	PAIRING_KENC            X (65)     Kenc (16)         owner pairing channel (§3.3, §3.4)
//	PAIRING_KMAC            X (65)     Kmac (16)
//	PAIRING_KRMAC           X (65)     Krmac (16)
//	ALIRO_SKREADER          txid (16)  ExpeditedSKReader (32)  Aliro standard transaction (§13)
//	ALIRO_SKDEVICE          txid (16)  ExpeditedSKDevice (32)
//	ALIRO_STEPUP_SK         txid (16)  StepUpSK (32)
//	ALIRO_FAST_SKREADER     txid (16)  ExpeditedSKReader (32)  Aliro fast transaction
//	ALIRO_FAST_SKDEVICE     txid (16)  ExpeditedSKDevice (32)
//
// An Aliro transaction logs its Kpersistent and URSK under the
// TRANSACTION_ labels, and its AES-256-GCM channel keys (§13) under the
// ALIRO_ ones, which no trace decoder follows yet.
//
// A transaction is identified by its transaction identifier (AUTH0 tag 4C),
// a pairing by the device's SPAKE2+ share X (the 65-byte uncompressed point
// of tag 50 in the SPAKE2+ REQUEST response): both are random per session
// and visible in any trace of it. The labels, the identifiers and the line
// syntax are the project's own; no Digital Key key log format is public.
//
// Both ends of one session may log into the same file, so an entry may
// repeat; two entries with the same label and identifier but different
// secrets are an error.
package keylog

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Label names the secret of a key log entry.
type Label uint8

// The labels of the format; see the package documentation.
const (
	TransactionKenc Label = iota + 1
	TransactionKmac
	TransactionKrmac
	TransactionKpersistent
	TransactionURSK
	FastKenc
	FastKmac
	FastKrmac
	PairingKenc
	PairingKmac
	PairingKrmac
	AliroSKReader
	AliroSKDevice
	AliroStepUpSK
	AliroFastSKReader
	AliroFastSKDevice

	maxLabel = AliroFastSKDevice
)

// Sizes of the session identifiers.
const (
	TransactionIDSize = 16 // transaction identifier, AUTH0 tag 4C
	PairingIDSize     = 65 // the device's SPAKE2+ share X, uncompressed
)

// Limits of Parse.
const (
	// MaxSize is the largest key log Parse reads: about half a million
	// transactions.
	MaxSize = 64 << 20
	// maxLineLen bounds one line: the longest label, a pairing identifier
	// and a 32-byte secret, with room for "\r\n".
	maxLineLen = 24 + 2*PairingIDSize + 2*32 + 4
)

var labels = [...]struct {
	name       string
	id, secret int
}{
	TransactionKenc:        {"TRANSACTION_KENC", TransactionIDSize, 16},
	TransactionKmac:        {"TRANSACTION_KMAC", TransactionIDSize, 16},
	TransactionKrmac:       {"TRANSACTION_KRMAC", TransactionIDSize, 16},
	TransactionKpersistent: {"TRANSACTION_KPERSISTENT", TransactionIDSize, 32},
	TransactionURSK:        {"TRANSACTION_URSK", TransactionIDSize, 32},
	FastKenc:               {"FAST_KENC", TransactionIDSize, 16},
	FastKmac:               {"FAST_KMAC", TransactionIDSize, 16},
	FastKrmac:              {"FAST_KRMAC", TransactionIDSize, 16},
	PairingKenc:            {"PAIRING_KENC", PairingIDSize, 16},
	PairingKmac:            {"PAIRING_KMAC", PairingIDSize, 16},
	PairingKrmac:           {"PAIRING_KRMAC", PairingIDSize, 16},
	AliroSKReader:          {"ALIRO_SKREADER", TransactionIDSize, 32},
	AliroSKDevice:          {"ALIRO_SKDEVICE", TransactionIDSize, 32},
	AliroStepUpSK:          {"ALIRO_STEPUP_SK", TransactionIDSize, 32},
	AliroFastSKReader:      {"ALIRO_FAST_SKREADER", TransactionIDSize, 32},
	AliroFastSKDevice:      {"ALIRO_FAST_SKDEVICE", TransactionIDSize, 32},
}

// Valid reports whether l is a label of the format.
func (l Label) Valid() bool { return l >= 1 && l <= maxLabel }

// String returns the label as the format writes it.
func (l Label) String() string {
	if !l.Valid() {
		return fmt.Sprintf("Label(%d)", uint8(l))
	}
	return labels[l].name
}

// IDSize returns the size of the session identifier of l's entries.
func (l Label) IDSize() int {
	if !l.Valid() {
		return 0
	}
	return labels[l].id
}

// SecretSize returns the size of the secret of l's entries.
func (l Label) SecretSize() int {
	if !l.Valid() {
		return 0
	}
	return labels[l].secret
}

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("keylog: invalid key log")

// Entry is one line of a key log. It holds a secret, so it redacts itself
// when formatted.
type Entry struct {
	Label  Label
	ID     []byte
	Secret []byte
}

// String returns the label and the identifier, never the secret.
func (e Entry) String() string {
	return fmt.Sprintf("keylog.Entry{%v %x, secret redacted}", e.Label, e.ID)
}

// GoString returns the same as String.
func (e Entry) GoString() string { return e.String() }

// Format writes the same as String, whatever the verb.
func (e Entry) Format(f fmt.State, _ rune) { io.WriteString(f, e.String()) }

// AppendLine appends the line of one entry, with its newline, to dst. It
// panics if the sizes do not fit l: the callers are the SDK's own sessions,
// which pass fixed-size arrays.
func AppendLine(dst []byte, l Label, id, secret []byte) []byte {
	if !l.Valid() || len(id) != l.IDSize() || len(secret) != l.SecretSize() {
		panic("keylog: AppendLine with sizes that do not fit the label")
	}
	dst = append(dst, labels[l].name...)
	dst = append(dst, ' ')
	dst = hex.AppendEncode(dst, id)
	dst = append(dst, ' ')
	dst = hex.AppendEncode(dst, secret)
	return append(dst, '\n')
}

// Channel returns the first label of the channel-key set l belongs to
// (TransactionKenc, FastKenc or PairingKenc) and which of the three keys l
// is: 0 Kenc, 1 Kmac, 2 Krmac. ok is false for Kpersistent, URSK and the
// Aliro labels, whose channel is not the three-key secure messaging. The
// three labels of a set are consecutive, in that order.
func (l Label) Channel() (first Label, which int, ok bool) {
	for _, f := range [...]Label{TransactionKenc, FastKenc, PairingKenc} {
		if l >= f && l < f+3 {
			return f, int(l - f), true
		}
	}
	return 0, 0, false
}

// AppendChannelKeys appends the three lines of a channel's keys, Kenc,
// Kmac and Krmac, under the set whose first label is first
// (TransactionKenc, FastKenc or PairingKenc).
func AppendChannelKeys(dst []byte, first Label, id []byte, enc, mac, rmac *[16]byte) []byte {
	dst = AppendLine(dst, first, id, enc[:])
	dst = AppendLine(dst, first+1, id, mac[:])
	return AppendLine(dst, first+2, id, rmac[:])
}

// Parse reads a key log. It returns the entries in order, without the
// repeats of an identical entry. A line that is not a comment and not a
// valid entry, a log larger than MaxSize, and two entries with the same
// label and identifier but different secrets return an error wrapping
// ErrSyntax that names the line.
func Parse(text []byte) ([]Entry, error) {
	if len(text) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrSyntax, len(text), MaxSize)
	}
	var out []Entry
	seen := map[string]int{}
	for n := 1; len(text) > 0; n++ {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		text = rest
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if len(line) > maxLineLen {
			return nil, fmt.Errorf("%w: line %d is longer than %d bytes", ErrSyntax, n, maxLineLen)
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrSyntax, n, err)
		}
		key := string([]byte{byte(e.Label)}) + string(e.ID)
		if i, ok := seen[key]; ok {
			if !bytes.Equal(out[i].Secret, e.Secret) {
				return nil, fmt.Errorf("%w: line %d: %v %x logged twice with different secrets", ErrSyntax, n, e.Label, e.ID)
			}
			continue
		}
		seen[key] = len(out)
		out = append(out, e)
	}
	return out, nil
}

func parseLine(line []byte) (Entry, error) {
	fields := bytes.Split(line, []byte(" "))
	if len(fields) != 3 {
		return Entry{}, fmt.Errorf("%d fields separated by single spaces, want 3", len(fields))
	}
	var e Entry
	for l := Label(1); l <= maxLabel; l++ {
		if string(fields[0]) == labels[l].name {
			e.Label = l
		}
	}
	if e.Label == 0 {
		return Entry{}, fmt.Errorf("unknown label %q", fields[0])
	}
	var err error
	if e.ID, err = decodeHex(fields[1], e.Label.IDSize()); err != nil {
		return Entry{}, fmt.Errorf("%v identifier: %w", e.Label, err)
	}
	if e.Secret, err = decodeHex(fields[2], e.Label.SecretSize()); err != nil {
		return Entry{}, fmt.Errorf("%v secret: %w", e.Label, err)
	}
	return e, nil
}

func decodeHex(s []byte, size int) ([]byte, error) {
	if len(s) != 2*size {
		return nil, fmt.Errorf("%d hexadecimal digits, want %d", len(s), 2*size)
	}
	b := make([]byte, size)
	if _, err := hex.Decode(b, s); err != nil {
		return nil, errors.New("not hexadecimal")
	}
	return b, nil
}
