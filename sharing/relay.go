package sharing

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MaxDisplaySize bounds the display information of a relay mailbox.
const MaxDisplaySize = 256

// MailboxID identifies a relay mailbox; the sharing URL carries it in its
// path, and the link secret in its fragment.
type MailboxID [16]byte

// String returns id in lowercase hexadecimal.
func (id MailboxID) String() string { return hex.EncodeToString(id[:]) }

// ParseMailboxID parses the hexadecimal form of a mailbox identifier.
func ParseMailboxID(s string) (MailboxID, error) {
	var id MailboxID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: mailbox identifier of %d characters", ErrMalformed, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: mailbox identifier: %w", ErrMalformed, err)
	}
	return id, nil
}

// AccessToken authorises one party's writes to a relay mailbox.
type AccessToken [16]byte

// Party is one side of a relay mailbox.
type Party uint8

// Parties.
const (
	Sender   Party = 1 // the owner: creates the mailbox, writes invitations, imports and cancels
	Receiver Party = 2 // the friend: writes signing requests and declines
)

// NewMailbox is what the sender puts in a new relay mailbox.
type NewMailbox struct {
	// Content is the sealed KeyCreationRequest, at most MaxSealedSize
	// bytes.
	Content []byte
	// Display is shown to the receiver before it opens the content
	// (ReadDisplayInformationFromMailbox, PROTOCOL.md §6.3). The relay sees
	// it: leave it empty or put in it only what may be public. At most
	// MaxDisplaySize bytes.
	Display []byte
	// Expires is when the relay deletes the mailbox, at most
	// MaxInvitationLifetime from now.
	Expires time.Time
}

// Relay is the zero-knowledge store-and-forward server of cross-platform
// sharing (PROTOCOL.md §6.3): a mailbox per invitation, with the sender's
// latest content and the receiver's. It sees only sealed messages: the
// secret that opens them travels in the URL fragment, or the recipient key
// is the friend's device's.
//
// The message flow: the sender creates the mailbox with the sealed
// KeyCreationRequest; the receiver reads it and writes its
// KeySigningRequest (or ReceiverCancel) with a zero token, which claims the
// receiver side; the sender reads that and writes the ImportRequest (or a
// SenderCancel); the receiver reads it and deletes the mailbox.
//
// Errors: ErrNotFound for a mailbox that does not exist, expired or was
// deleted; ErrAccessDenied for a wrong token, or a second receiver; ErrMalformed
// for content or display information over their limits or an expiry out of
// range; ErrCapacity when the relay is full; the context's error when it is
// done. Implementations are safe for concurrent use.
type Relay interface {
	// CreateMailbox stores a new mailbox and returns its identifier and the
	// sender's access token.
	CreateMailbox(ctx context.Context, m *NewMailbox) (MailboxID, AccessToken, error)
	// ReadDisplayInformation returns the mailbox's display information.
	ReadDisplayInformation(ctx context.Context, id MailboxID) ([]byte, error)
	// ReadSecureContent returns the latest content written by the party
	// from, or nil when it has written nothing yet.
	ReadSecureContent(ctx context.Context, id MailboxID, from Party) ([]byte, error)
	// UpdateMailbox replaces the content of the party whose token tok is.
	// A zero token claims the receiver side of a mailbox that has none
	// yet, and the receiver's new token is returned; otherwise tok is.
	UpdateMailbox(ctx context.Context, id MailboxID, tok AccessToken, content []byte) (AccessToken, error)
	// DeleteMailbox deletes the mailbox; either party's token may.
	DeleteMailbox(ctx context.Context, id MailboxID, tok AccessToken) error
}

// MemoryRelayConfig configures a MemoryRelay.
type MemoryRelayConfig struct {
	// MaxMailboxes bounds the mailboxes held at once; 0 means 1024.
	MaxMailboxes int
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
}

// MemoryRelay is a Relay in memory, for tests and examples: bounded, safe
// for concurrent use, mailboxes deleted at expiry.
type MemoryRelay struct {
	max int
	now func() time.Time

	mu        sync.Mutex
	mailboxes map[MailboxID]*relayMailbox
}

type relayMailbox struct {
	expires            time.Time
	display            []byte
	content            [2][]byte // by Party-1
	senderTok, recvTok AccessToken
	claimed            bool
}

var _ Relay = (*MemoryRelay)(nil)

// NewMemoryRelay returns an empty relay.
func NewMemoryRelay(cfg *MemoryRelayConfig) *MemoryRelay {
	r := &MemoryRelay{max: 1024, now: time.Now, mailboxes: make(map[MailboxID]*relayMailbox)}
	if cfg != nil {
		if cfg.MaxMailboxes > 0 {
			r.max = cfg.MaxMailboxes
		}
		if cfg.Time != nil {
			r.now = cfg.Time
		}
	}
	return r
}

// Len returns the number of live mailboxes.
func (r *MemoryRelay) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked()
	return len(r.mailboxes)
}

func (r *MemoryRelay) expireLocked() {
	now := r.now()
	for id, m := range r.mailboxes {
		if now.After(m.expires) {
			delete(r.mailboxes, id)
		}
	}
}

func (r *MemoryRelay) getLocked(id MailboxID) (*relayMailbox, error) {
	m, ok := r.mailboxes[id]
	if !ok {
		return nil, ErrNotFound
	}
	if r.now().After(m.expires) {
		delete(r.mailboxes, id)
		return nil, ErrNotFound
	}
	return m, nil
}

func randomToken() (AccessToken, error) {
	var t AccessToken
	if _, err := rand.Read(t[:]); err != nil {
		return t, fmt.Errorf("sharing: token: %w", err)
	}
	return t, nil
}

func tokenIs(a, b AccessToken) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

func checkContent(b []byte) error {
	if len(b) == 0 || len(b) > MaxSealedSize {
		return fmt.Errorf("%w: content of %d bytes", ErrMalformed, len(b))
	}
	return nil
}

// CreateMailbox implements Relay.
func (r *MemoryRelay) CreateMailbox(ctx context.Context, nm *NewMailbox) (MailboxID, AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return MailboxID{}, AccessToken{}, err
	}
	if nm == nil {
		return MailboxID{}, AccessToken{}, errors.New("sharing: no mailbox")
	}
	if err := checkContent(nm.Content); err != nil {
		return MailboxID{}, AccessToken{}, err
	}
	if len(nm.Display) > MaxDisplaySize {
		return MailboxID{}, AccessToken{}, fmt.Errorf("%w: display information of %d bytes", ErrMalformed, len(nm.Display))
	}
	now := r.now()
	if !nm.Expires.After(now) || nm.Expires.After(now.Add(MaxInvitationLifetime)) {
		return MailboxID{}, AccessToken{}, fmt.Errorf("%w: expiry must be within %v from now", ErrMalformed, MaxInvitationLifetime)
	}
	var id MailboxID
	if _, err := rand.Read(id[:]); err != nil {
		return MailboxID{}, AccessToken{}, fmt.Errorf("sharing: mailbox identifier: %w", err)
	}
	tok, err := randomToken()
	if err != nil {
		return MailboxID{}, AccessToken{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.mailboxes) >= r.max {
		r.expireLocked()
		if len(r.mailboxes) >= r.max {
			return MailboxID{}, AccessToken{}, ErrCapacity
		}
	}
	r.mailboxes[id] = &relayMailbox{
		expires: nm.Expires, display: slices.Clone(nm.Display),
		content: [2][]byte{slices.Clone(nm.Content), nil}, senderTok: tok,
	}
	return id, tok, nil
}

// ReadDisplayInformation implements Relay.
func (r *MemoryRelay) ReadDisplayInformation(ctx context.Context, id MailboxID) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.display), nil
}

// ReadSecureContent implements Relay.
func (r *MemoryRelay) ReadSecureContent(ctx context.Context, id MailboxID, from Party) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if from != Sender && from != Receiver {
		return nil, fmt.Errorf("sharing: party %d", from)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.content[from-1]), nil
}

// UpdateMailbox implements Relay.
func (r *MemoryRelay) UpdateMailbox(ctx context.Context, id MailboxID, tok AccessToken, content []byte) (AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return AccessToken{}, err
	}
	if err := checkContent(content); err != nil {
		return AccessToken{}, err
	}
	fresh, err := randomToken()
	if err != nil {
		return AccessToken{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return AccessToken{}, err
	}
	switch {
	case tok == (AccessToken{}):
		if m.claimed {
			return AccessToken{}, ErrAccessDenied
		}
		m.claimed, m.recvTok, tok = true, fresh, fresh
		m.content[Receiver-1] = slices.Clone(content)
	case tokenIs(tok, m.senderTok):
		m.content[Sender-1] = slices.Clone(content)
	case m.claimed && tokenIs(tok, m.recvTok):
		m.content[Receiver-1] = slices.Clone(content)
	default:
		return AccessToken{}, ErrAccessDenied
	}
	return tok, nil
}

// DeleteMailbox implements Relay.
func (r *MemoryRelay) DeleteMailbox(ctx context.Context, id MailboxID, tok AccessToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return err
	}
	if !tokenIs(tok, m.senderTok) && !(m.claimed && tokenIs(tok, m.recvTok)) {
		return ErrAccessDenied
	}
	delete(r.mailboxes, id)
	return nil
}
