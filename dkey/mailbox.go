package dkey

import "fmt"

// MaxMailboxSize is the largest mailbox the endpoint certificate can declare
// (confidential_mailbox_size and private_mailbox_size are INTEGER (1..65535),
// docs/protocol.md §10.2).
const MaxMailboxSize = 65535

// MaxAuth1Subset bounds the mailbox subsets that the AUTH1 response carries
// (tags 4A and 4B), so that the response fits one extended-length APDU with
// room to spare. The bound is the project's choice.
const MaxAuth1Subset = 1024

// Mailbox names one of the two mailboxes of a key (docs/protocol.md §5).
type Mailbox uint8

// Mailboxes.
const (
	// PrivateMailbox is readable and writable by the vehicle and by the device
	// framework: signaling bitmap, slot identifiers, key attestations.
	PrivateMailbox Mailbox = iota + 1
	// ConfidentialMailbox is readable and writable by the vehicle only:
	// immobilizer tokens and other vehicle secrets.
	ConfidentialMailbox
)

// String returns the mailbox name.
func (m Mailbox) String() string {
	switch m {
	case PrivateMailbox:
		return "private"
	case ConfidentialMailbox:
		return "confidential"
	}
	return fmt.Sprintf("Mailbox(%d)", uint8(m))
}

// MailboxRange is a byte range of a mailbox.
type MailboxRange struct {
	Offset, Length uint16
}

// End returns the offset one past the range.
func (r MailboxRange) End() int { return int(r.Offset) + int(r.Length) }

// MailboxConfig is the mailbox configuration of one key: the sizes of its two
// mailboxes and the subsets the endpoint returns in the AUTH1 response
// (confidential subset in tag 4A, private subset in tag 4B). The vehicle
// writes it at pairing (docs/protocol.md §5.4); the endpoint certificate carries
// the sizes.
type MailboxConfig struct {
	PrivateSize      uint16
	ConfidentialSize uint16
	// PrivateAuth1 and ConfidentialAuth1 are the subsets returned in AUTH1; a
	// zero Length means none.
	PrivateAuth1      MailboxRange
	ConfidentialAuth1 MailboxRange
}

// Size returns the size of mailbox m.
func (c MailboxConfig) Size(m Mailbox) int {
	switch m {
	case PrivateMailbox:
		return int(c.PrivateSize)
	case ConfidentialMailbox:
		return int(c.ConfidentialSize)
	}
	return 0
}

// Validate checks that the AUTH1 subsets, empty ones included, lie within
// their mailboxes and are no longer than [MaxAuth1Subset]. It returns an error wrapping
// [ErrInvalidMailboxConfig].
func (c MailboxConfig) Validate() error {
	for _, s := range [...]struct {
		m Mailbox
		r MailboxRange
	}{{PrivateMailbox, c.PrivateAuth1}, {ConfidentialMailbox, c.ConfidentialAuth1}} {
		if s.r.Length > MaxAuth1Subset {
			return fmt.Errorf("%w: %v AUTH1 subset of %d bytes exceeds %d", ErrInvalidMailboxConfig, s.m, s.r.Length, MaxAuth1Subset)
		}
		if s.r.End() > c.Size(s.m) {
			return fmt.Errorf("%w: %v AUTH1 subset [%d,%d) outside a mailbox of %d bytes", ErrInvalidMailboxConfig, s.m, s.r.Offset, s.r.End(), c.Size(s.m))
		}
	}
	return nil
}
