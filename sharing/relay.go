package sharing

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
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

// ParseMailboxID parses the String form of a mailbox identifier: lowercase
// hexadecimal only, so that one mailbox has one form.
func ParseMailboxID(s string) (MailboxID, error) {
	var id MailboxID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: mailbox identifier of %d characters", ErrMalformed, len(s))
	}
	if s != strings.ToLower(s) {
		return id, fmt.Errorf("%w: mailbox identifier not in lowercase", ErrMalformed)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: mailbox identifier: %w", ErrMalformed, err)
	}
	return id, nil
}

// AccessToken authorises access to a relay mailbox. A mailbox has three:
// the sender's, the receiver's, and the one-time fetch token that travels
// in the sharing link and becomes the receiver's when it fetches the
// invitation (Relay.FetchInvitation).
type AccessToken [16]byte

// Text returns the token in unpadded base64url (RFC 4648 §5), 22
// characters: the form of the link fragment and of the Authorization
// header, which ParseAccessToken reads.
func (t AccessToken) Text() string { return base64.RawURLEncoding.EncodeToString(t[:]) }

// String returns "sharing.AccessToken(redacted)": a token grants access to
// its mailbox, so printing one (a log line, an error) does not show it.
// Text returns the token itself.
func (t AccessToken) String() string { return "sharing.AccessToken(redacted)" }

// GoString returns the same as String.
func (t AccessToken) GoString() string { return t.String() }

// Format prints String for every verb, so that %x or %d do not show the
// token's bytes either.
func (t AccessToken) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// ParseAccessToken parses the Text form of a token, strictly.
func ParseAccessToken(s string) (AccessToken, error) {
	var t AccessToken
	enc := base64.RawURLEncoding.Strict()
	if len(s) != enc.EncodedLen(len(t)) {
		return t, fmt.Errorf("%w: access token of %d characters", ErrMalformed, len(s))
	}
	if n, err := enc.Decode(t[:], []byte(s)); err != nil || n != len(t) {
		return t, fmt.Errorf("%w: access token is not base64url", ErrMalformed)
	}
	return t, nil
}

// CreatedMailbox is a new relay mailbox: its identifier, the sender's
// token, and the fetch token for the link (Fragment).
type CreatedMailbox struct {
	ID     MailboxID
	Sender AccessToken
	Fetch  AccessToken
}

// Fragment returns the fragment of a sharing URL, which HTTP never sends to
// a server: the link secret and the relay's fetch token, in base64url,
// joined by a full stop (43 + 1 + 22 characters). The URL's path names the
// mailbox; the friend's device sends the fetch token to the relay only to
// fetch the invitation, once.
func Fragment(l *Link, fetch AccessToken) string { return l.Text() + "." + fetch.Text() }

// ParseFragment parses the fragment of a sharing URL (Fragment).
func ParseFragment(fragment string) (*Link, AccessToken, error) {
	secret, tok, ok := strings.Cut(fragment, ".")
	if !ok {
		return nil, AccessToken{}, fmt.Errorf("%w: link fragment without a fetch token", ErrMalformed)
	}
	l, err := ParseLink(secret)
	if err != nil {
		return nil, AccessToken{}, err
	}
	t, err := ParseAccessToken(tok)
	if err != nil {
		return nil, AccessToken{}, err
	}
	return l, t, nil
}

// NewMailbox is what the sender puts in a new relay mailbox.
type NewMailbox struct {
	// Content is the sealed KeyCreationRequest, at most MaxSealedSize
	// bytes.
	Content []byte
	// Display is shown to the receiver before it opens the content
	// (ReadDisplayInformationFromMailbox, docs/protocol.md §6.3). The relay sees
	// it: leave it empty or put in it only what may be public. At most
	// MaxDisplaySize bytes.
	Display []byte
	// Expires is when the relay deletes the mailbox, at most
	// MaxInvitationLifetime from now.
	Expires time.Time
}

// Relay is the zero-knowledge store-and-forward server of cross-platform
// sharing (docs/protocol.md §6.3): a mailbox per invitation, with the sender's
// latest content and the receiver's. It sees only sealed messages: the
// secret that opens them travels in the URL fragment, or the recipient key
// is the friend's device's.
//
// The message flow: the sender creates the mailbox with the sealed
// KeyCreationRequest and sends the link (Fragment: the link secret and the
// fetch token) through any messenger; the receiver fetches the invitation
// with the fetch token, once, which claims the receiver side and returns
// the receiver's token, and the relay deletes the invitation, delivered;
// the receiver writes its KeySigningRequest (or ReceiverCancel); the sender
// reads it and writes the ImportRequest (or a SenderCancel); the receiver
// reads it and deletes the mailbox. A mailbox lives until it is deleted or
// expires.
//
// Nobody without the link reads the invitation, and a link works once: a
// receiver who finds its link already used knows that someone else fetched
// the invitation, and tells the owner to cancel.
//
// Errors: ErrNotFound for a mailbox that does not exist, expired or was
// deleted; ErrAccessDenied for a token that is not one of the mailbox's for
// the operation, or a fetch token already used; ErrMalformed for content or
// display information over their limits or an expiry out of range;
// ErrCapacity when the relay is full; the context's error when it is done.
// Implementations are safe for concurrent use.
type Relay interface {
	// CreateMailbox stores a new mailbox and returns its identifier, the
	// sender's token and the fetch token.
	CreateMailbox(ctx context.Context, m *NewMailbox) (*CreatedMailbox, error)
	// ReadDisplayInformation returns the mailbox's display information;
	// tok is the sender's or the receiver's token, or the fetch token until
	// it is used.
	ReadDisplayInformation(ctx context.Context, id MailboxID, tok AccessToken) ([]byte, error)
	// FetchInvitation returns the sender's first content, the sealed
	// invitation, and the receiver's token, in exchange for the fetch
	// token; it works once, and the relay then deletes the invitation.
	FetchInvitation(ctx context.Context, id MailboxID, fetch AccessToken) ([]byte, AccessToken, error)
	// ReadSecureContent returns the latest content the other party wrote
	// (the receiver's for the sender's token, the sender's since the fetch
	// for the receiver's), or nil when there is none.
	ReadSecureContent(ctx context.Context, id MailboxID, tok AccessToken) ([]byte, error)
	// UpdateMailbox replaces the content of the party whose token tok is.
	UpdateMailbox(ctx context.Context, id MailboxID, tok AccessToken, content []byte) error
	// DeleteMailbox deletes the mailbox; the sender's or the receiver's
	// token may.
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
// for concurrent use, mailboxes deleted at expiry. The zero value is an
// empty relay with the defaults of NewMemoryRelay(nil).
type MemoryRelay struct {
	max int              // 0: defaultRelayMailboxes
	now func() time.Time // nil: time.Now

	mu        sync.Mutex
	mailboxes map[MailboxID]*relayMailbox
}

type relayMailbox struct {
	expires            time.Time
	display            []byte
	sender, receiver   []byte // the latest content of each party
	senderTok, recvTok AccessToken
	fetchTok           AccessToken
	fetched            bool
}

var _ Relay = (*MemoryRelay)(nil)

// NewMemoryRelay returns an empty relay.
func NewMemoryRelay(cfg *MemoryRelayConfig) *MemoryRelay {
	// The defaults (limit, clock) apply where the fields are zero, as in
	// the zero MemoryRelay.
	r := &MemoryRelay{mailboxes: make(map[MailboxID]*relayMailbox)}
	if cfg != nil {
		r.max, r.now = cfg.MaxMailboxes, cfg.Time
	}
	return r
}

// defaultRelayMailboxes is the default of MemoryRelayConfig.MaxMailboxes.
const defaultRelayMailboxes = 1024

// clock returns the current time (time.Now in a zero MemoryRelay).
func (r *MemoryRelay) clock() time.Time {
	if r.now == nil {
		return time.Now()
	}
	return r.now()
}

// limit returns the bound on mailboxes (the default in a zero MemoryRelay).
func (r *MemoryRelay) limit() int {
	if r.max <= 0 {
		return defaultRelayMailboxes
	}
	return r.max
}

// Len returns the number of live mailboxes.
func (r *MemoryRelay) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked()
	return len(r.mailboxes)
}

func (r *MemoryRelay) expireLocked() {
	now := r.clock()
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
	if r.clock().After(m.expires) {
		delete(r.mailboxes, id)
		return nil, ErrNotFound
	}
	return m, nil
}

// CheckContent checks the size of content for a relay mailbox: 1 to
// MaxSealedSize bytes. The error wraps ErrMalformed.
func CheckContent(b []byte) error {
	if len(b) == 0 || len(b) > MaxSealedSize {
		return fmt.Errorf("%w: content of %d bytes", ErrMalformed, len(b))
	}
	return nil
}

// CheckNewMailbox checks a new mailbox against the limits of a Relay at
// time now: the content (CheckContent), the display information (at most
// MaxDisplaySize bytes) and the expiry (after now, within
// MaxInvitationLifetime). The error wraps ErrMalformed.
func CheckNewMailbox(nm *NewMailbox, now time.Time) error {
	if nm == nil {
		return fmt.Errorf("%w: no mailbox", ErrMalformed)
	}
	if err := CheckContent(nm.Content); err != nil {
		return err
	}
	if len(nm.Display) > MaxDisplaySize {
		return fmt.Errorf("%w: display information of %d bytes", ErrMalformed, len(nm.Display))
	}
	if !nm.Expires.After(now) || nm.Expires.After(now.Add(MaxInvitationLifetime)) {
		return fmt.Errorf("%w: expiry must be within %v from now", ErrMalformed, MaxInvitationLifetime)
	}
	return nil
}

// NewMailboxID returns a random mailbox identifier. Randomness comes from
// crypto/rand.
func NewMailboxID() (MailboxID, error) {
	var id MailboxID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("sharing: mailbox identifier: %w", err)
	}
	return id, nil
}

// NewAccessToken returns a random access token. Randomness comes from
// crypto/rand.
func NewAccessToken() (AccessToken, error) {
	var t AccessToken
	if _, err := rand.Read(t[:]); err != nil {
		return t, fmt.Errorf("sharing: access token: %w", err)
	}
	return t, nil
}

func tokenIs(a, b AccessToken) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// CreateMailbox implements Relay.
func (r *MemoryRelay) CreateMailbox(ctx context.Context, nm *NewMailbox) (*CreatedMailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := CheckNewMailbox(nm, r.clock()); err != nil {
		return nil, err
	}
	c := new(CreatedMailbox)
	var err error
	if c.ID, err = NewMailboxID(); err != nil {
		return nil, err
	}
	if c.Sender, err = NewAccessToken(); err != nil {
		return nil, err
	}
	if c.Fetch, err = NewAccessToken(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.mailboxes) >= r.limit() {
		r.expireLocked()
		if len(r.mailboxes) >= r.limit() {
			return nil, ErrCapacity
		}
	}
	if r.mailboxes == nil {
		r.mailboxes = make(map[MailboxID]*relayMailbox)
	}
	r.mailboxes[c.ID] = &relayMailbox{
		expires: nm.Expires, display: slices.Clone(nm.Display),
		sender: slices.Clone(nm.Content), senderTok: c.Sender, fetchTok: c.Fetch,
	}
	return c, nil
}

// ReadDisplayInformation implements Relay.
func (r *MemoryRelay) ReadDisplayInformation(ctx context.Context, id MailboxID, tok AccessToken) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return nil, err
	}
	if !tokenIs(tok, m.senderTok) && !(!m.fetched && tokenIs(tok, m.fetchTok)) && !(m.fetched && tokenIs(tok, m.recvTok)) {
		return nil, ErrAccessDenied
	}
	return slices.Clone(m.display), nil
}

// FetchInvitation implements Relay.
func (r *MemoryRelay) FetchInvitation(ctx context.Context, id MailboxID, fetch AccessToken) ([]byte, AccessToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, AccessToken{}, err
	}
	recv, err := NewAccessToken()
	if err != nil {
		return nil, AccessToken{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return nil, AccessToken{}, err
	}
	if m.fetched || !tokenIs(fetch, m.fetchTok) {
		return nil, AccessToken{}, ErrAccessDenied
	}
	content := m.sender
	m.fetched, m.recvTok, m.sender = true, recv, nil
	return content, recv, nil
}

// ReadSecureContent implements Relay.
func (r *MemoryRelay) ReadSecureContent(ctx context.Context, id MailboxID, tok AccessToken) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return nil, err
	}
	switch {
	case tokenIs(tok, m.senderTok):
		return slices.Clone(m.receiver), nil
	case m.fetched && tokenIs(tok, m.recvTok):
		return slices.Clone(m.sender), nil
	}
	return nil, ErrAccessDenied
}

// UpdateMailbox implements Relay.
func (r *MemoryRelay) UpdateMailbox(ctx context.Context, id MailboxID, tok AccessToken, content []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckContent(content); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.getLocked(id)
	if err != nil {
		return err
	}
	switch {
	case tokenIs(tok, m.senderTok):
		m.sender = slices.Clone(content)
	case m.fetched && tokenIs(tok, m.recvTok):
		m.receiver = slices.Clone(content)
	default:
		return ErrAccessDenied
	}
	return nil
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
	if !tokenIs(tok, m.senderTok) && !(m.fetched && tokenIs(tok, m.recvTok)) {
		return ErrAccessDenied
	}
	delete(r.mailboxes, id)
	return nil
}
