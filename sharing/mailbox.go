package sharing

import (
	"encoding/binary"
	"fmt"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
)

// The statement area of a private mailbox (docs/protocol.md §5.3). The device
// writes signed statements there for the vehicle to consume, and the vehicle
// reads them with EXCHANGE inside the secure channel of a standard
// transaction:
//
//	offset 0          signaling bitmap (1 byte)
//	offset 1          area length L, 2 bytes big-endian
//	offset 3          L bytes of entries:
//	                    kind (1 byte) ‖ length (2 bytes big-endian) ‖ statement
//
// The public sources give the mailbox a signaling bitmap whose bit 08 says
// "key attestation(s) present (device writes; vehicle consumes)" and a
// key-attestation area of a configured offset and length (tags D0, C3 and D4
// of the mapping 7F4D); they give no byte layout. The layout above is the
// project's: the bitmap at offset 0 (D0 = 0), the area right after it, and
// two more signal bits, 40 and 80, that neither the classic nor the SIAC
// table of §5.3 uses. Bits 01, 02, 04, 10 and 20 belong to others (slot
// identifiers, OEM data) and are left alone.
const (
	// SignalOffset is the offset of the signaling bitmap.
	SignalOffset = 0
	// SignalKeyAttestation is bit 08 of the signaling bitmap: key
	// attestation(s) present (docs/protocol.md §5.3).
	SignalKeyAttestation byte = 0x08
	// SignalTermination is bit 40: termination attestation(s) present
	// (the project's).
	SignalTermination byte = 0x40
	// SignalTrackingReceipt is bit 80: tracking receipt(s) present (the
	// project's).
	SignalTrackingReceipt byte = 0x80
	// AreaLengthOffset is the offset of the 2-byte area length.
	AreaLengthOffset = 1
	// AreaOffset is the offset of the first entry, and AreaHeaderSize the
	// number of bytes before it: what the vehicle reads first, by EXCHANGE,
	// to learn the area length.
	AreaOffset     = 3
	AreaHeaderSize = AreaOffset
	// EntryHeaderSize is the size of the kind and length of an entry.
	EntryHeaderSize = 3
	// MaxAreaSize bounds the area length L.
	MaxAreaSize = 8192
	// MaxAreaEntries bounds the number of entries in one area.
	MaxAreaEntries = 16
	// MaxFriendStatement bounds the key attestation of an ImportRequest,
	// so that a friend key's private mailbox sized before the attestation
	// exists holds it. Key attestations of package attest are about 300
	// bytes.
	MaxFriendStatement = 512
	// MinFriendPrivateMailbox is the smallest private mailbox of a friend
	// key: the area header and one entry of MaxFriendStatement bytes.
	MinFriendPrivateMailbox = AreaOffset + EntryHeaderSize + MaxFriendStatement
)

const signalMask = SignalKeyAttestation | SignalTermination | SignalTrackingReceipt

// FriendMailboxes returns the default mailbox configuration of a friend key:
// a private mailbox of 640 bytes whose first MinFriendPrivateMailbox bytes,
// the whole statement area, the AUTH1 response carries (tag 4B), and a
// confidential mailbox of 128 bytes for immobilizer and vehicle tokens.
//
// The first friend transaction needs the attestation in the AUTH1 response:
// the vehicle learns the friend key from the attestation, and it must verify
// the AUTH1 signature with that key before the secure channel carries an
// EXCHANGE (package transaction allows EXCHANGE only after
// VehicleSession.VerifyEndpoint).
func FriendMailboxes() dkey.MailboxConfig {
	return dkey.MailboxConfig{
		PrivateSize:      640,
		ConfidentialSize: 128,
		PrivateAuth1:     dkey.MailboxRange{Offset: SignalOffset, Length: MinFriendPrivateMailbox},
	}
}

// StatementKind is the kind of a statement in a mailbox entry.
type StatementKind uint8

// Statement kinds.
const (
	KindKeyAttestation  StatementKind = 1 // attest key attestation (a shared key)
	KindTermination     StatementKind = 2 // attest termination attestation
	KindTrackingReceipt StatementKind = 3 // attest tracking receipt
)

// signal returns the bit of the signaling bitmap that announces k.
func (k StatementKind) signal() byte {
	switch k {
	case KindKeyAttestation:
		return SignalKeyAttestation
	case KindTermination:
		return SignalTermination
	case KindTrackingReceipt:
		return SignalTrackingReceipt
	}
	return 0
}

// String returns the name of the kind.
func (k StatementKind) String() string {
	switch k {
	case KindKeyAttestation:
		return "key attestation"
	case KindTermination:
		return "termination attestation"
	case KindTrackingReceipt:
		return "tracking receipt"
	}
	return fmt.Sprintf("StatementKind(%d)", uint8(k))
}

// MailboxEntry is one statement of the area.
type MailboxEntry struct {
	Kind      StatementKind
	Statement []byte
}

// AppendMailboxArea appends the area header and entries to dst: the bytes
// to write at offset 0 of the private mailbox. The signaling bitmap has the
// bit of each kind present; with no entries it is the empty area (bitmap 00,
// length 0).
func AppendMailboxArea(dst []byte, entries ...MailboxEntry) ([]byte, error) {
	if len(entries) > MaxAreaEntries {
		return nil, fmt.Errorf("%w: %d entries, more than %d", ErrMalformed, len(entries), MaxAreaEntries)
	}
	var signal byte
	n := 0
	for _, e := range entries {
		if e.Kind.signal() == 0 || len(e.Statement) == 0 || len(e.Statement) > attest.MaxStatementSize {
			return nil, fmt.Errorf("%w: entry of kind %v and %d bytes", ErrMalformed, e.Kind, len(e.Statement))
		}
		signal |= e.Kind.signal()
		n += EntryHeaderSize + len(e.Statement)
	}
	if n > MaxAreaSize {
		return nil, fmt.Errorf("%w: area of %d bytes, more than %d", ErrMalformed, n, MaxAreaSize)
	}
	dst = append(dst, signal)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	for _, e := range entries {
		dst = append(dst, byte(e.Kind))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(e.Statement)))
		dst = append(dst, e.Statement...)
	}
	return dst, nil
}

// ParseAreaHeader parses the first AreaHeaderSize bytes of a private mailbox
// and returns the area length L: how many bytes the vehicle reads at
// AreaOffset next. It returns 0 when no statement is signaled, and an error
// wrapping ErrMalformed when the bitmap and the length disagree or L is more
// than MaxAreaSize.
func ParseAreaHeader(header []byte) (int, error) {
	if len(header) != AreaHeaderSize {
		return 0, fmt.Errorf("%w: area header of %d bytes, want %d", ErrMalformed, len(header), AreaHeaderSize)
	}
	n := int(binary.BigEndian.Uint16(header[AreaLengthOffset:]))
	switch signaled := header[SignalOffset]&signalMask != 0; {
	case !signaled && n != 0, signaled && n == 0:
		return 0, fmt.Errorf("%w: signaling bitmap %02x with area length %d", ErrMalformed, header[SignalOffset], n)
	case n > MaxAreaSize:
		return 0, fmt.Errorf("%w: area length %d, more than %d", ErrMalformed, n, MaxAreaSize)
	}
	return n, nil
}

// ParseMailbox parses the area at the start of a private mailbox, header
// included: b is at least the AreaHeaderSize + L bytes the header announces;
// what follows is ignored. The entries alias b. The signal bits must be
// exactly those of the kinds present; every statement is 1 to
// attest.MaxStatementSize bytes. Errors wrap ErrMalformed.
func ParseMailbox(b []byte) ([]MailboxEntry, error) {
	if len(b) < AreaHeaderSize {
		return nil, fmt.Errorf("%w: mailbox of %d bytes", ErrMalformed, len(b))
	}
	n, err := ParseAreaHeader(b[:AreaHeaderSize])
	if err != nil {
		return nil, err
	}
	if len(b) < AreaHeaderSize+n {
		return nil, fmt.Errorf("%w: area of %d bytes in %d", ErrMalformed, n, len(b)-AreaHeaderSize)
	}
	area := b[AreaOffset : AreaOffset+n]
	var entries []MailboxEntry
	var signal byte
	for len(area) > 0 {
		if len(entries) == MaxAreaEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrMalformed, MaxAreaEntries)
		}
		if len(area) < EntryHeaderSize {
			return nil, fmt.Errorf("%w: truncated entry header", ErrMalformed)
		}
		kind := StatementKind(area[0])
		size := int(binary.BigEndian.Uint16(area[1:]))
		area = area[EntryHeaderSize:]
		switch {
		case kind.signal() == 0:
			return nil, fmt.Errorf("%w: entry kind %d", ErrMalformed, uint8(kind))
		case size == 0 || size > attest.MaxStatementSize:
			return nil, fmt.Errorf("%w: statement of %d bytes", ErrMalformed, size)
		case size > len(area):
			return nil, fmt.Errorf("%w: truncated statement", ErrMalformed)
		}
		entries = append(entries, MailboxEntry{Kind: kind, Statement: area[:size:size]})
		signal |= kind.signal()
		area = area[size:]
	}
	if b[SignalOffset]&signalMask != signal {
		return nil, fmt.Errorf("%w: signaling bitmap %02x for entries %02x", ErrMalformed, b[SignalOffset]&signalMask, signal)
	}
	return entries, nil
}

// AppendMailboxEntry returns the area of current (the mailbox's header and
// area, as ParseMailbox takes it; or just an empty header) with e added:
// how the owner's device queues a termination attestation or a re-issued
// key attestation for the vehicle to pick up at its next transaction.
func AppendMailboxEntry(current []byte, e MailboxEntry) ([]byte, error) {
	entries, err := ParseMailbox(current)
	if err != nil {
		return nil, err
	}
	return AppendMailboxArea(nil, append(entries, e)...)
}

// ClearMailboxArea empties the area of a private mailbox in place: it clears
// the three signal bits of this package, zeroes the length and the entries
// the length covered, and leaves the other bits and bytes alone. It is what
// the device does when the vehicle sends CONTROL FLOW 4082 ("delete the
// attestation package", docs/protocol.md §4.9, §6.4) at the end of a transaction
// that consumed the area.
func ClearMailboxArea(mailbox []byte) {
	if len(mailbox) < AreaHeaderSize {
		return
	}
	end := min(AreaOffset+int(binary.BigEndian.Uint16(mailbox[AreaLengthOffset:])), len(mailbox))
	mailbox[SignalOffset] &^= signalMask
	clear(mailbox[AreaLengthOffset:end])
}
