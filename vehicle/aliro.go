package vehicle

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// The Aliro lock (doc.go, "Aliro"): a reader of CSA Aliro 1.0 configured
// in the shape of the Matter Door Lock cluster (aliro_matter.go), its
// transactions (aliro_transact.go) and its stored state
// (aliro_state.go).

// Defaults of AliroLockConfig.
const (
	// DefaultAliroEndpointKeys is the default NumberOfAliroEndpointKeysSupported.
	DefaultAliroEndpointKeys = 64
	// DefaultAliroIssuerKeys is the default NumberOfAliroCredentialIssuerKeysSupported.
	DefaultAliroIssuerKeys = 8
	// maxAliroKeys bounds both: credential indices are 16-bit and 0xFFFE
	// means "all".
	maxAliroKeys = 4096
)

// Errors of the Aliro lock. The Matter status of each is in
// aliro_matter.go.
var (
	// ErrAliroNotConfigured reports a lock without a reader configuration
	// (SetAliroReaderConfig).
	ErrAliroNotConfigured = errors.New("vehicle: the Aliro reader is not configured")
	// ErrAliroConfigured reports a SetAliroReaderConfig on a configured
	// lock: ClearAliroReaderConfig first (Matter INVALID_IN_STATE).
	ErrAliroConfigured = errors.New("vehicle: the Aliro reader is configured already")
	// ErrInvalidCredential reports a malformed command: a credential type
	// or index out of range, credential data that is not a 65-byte
	// uncompressed P-256 key, a user index of 0 (Matter INVALID_COMMAND).
	ErrInvalidCredential = errors.New("vehicle: invalid credential")
	// ErrCredentialOccupied reports an Add at an index in use (Matter
	// OCCUPIED).
	ErrCredentialOccupied = errors.New("vehicle: credential index occupied")
	// ErrCredentialDuplicate reports credential data another credential
	// holds (Matter DUPLICATE).
	ErrCredentialDuplicate = errors.New("vehicle: credential data held by another credential")
	// ErrCredentialNotFound reports a Modify of an empty index (Matter
	// INVALID_COMMAND).
	ErrCredentialNotFound = errors.New("vehicle: no credential at this index")
	// ErrAliroDenied reports a transaction that ended without access; the
	// AliroResult says why.
	ErrAliroDenied = errors.New("vehicle: Aliro access denied")
)

// AliroLockConfig configures an AliroLock. The zero value works: state in
// memory, system clock, UTC wall clock, the Matter defaults.
type AliroLockConfig struct {
	// Store keeps the lock's state across restarts (doc.go, "Aliro"); nil
	// means in memory only. The lock closes it in Close. It must not be the
	// Store of a Reader.
	Store Store
	// KEK seals the records of Store; it is required with a Store.
	KEK KeyEncryptionKey
	// Time returns the current time, for schedules, document validity and
	// revocation expiry; nil means time.Now.
	Time func() time.Time
	// Location is the lock's wall clock, for schedules in local time
	// (mdoc.Schedule without ScheduleFlagUTC); nil means UTC.
	Location *time.Location
	// Link describes what the NFC reader can carry; nil means short APDUs
	// with command chaining.
	Link *transport.ClientConfig
	// Versions are the expedited-phase versions the lock speaks, highest
	// first; the zero value means 1.0 alone (dkey.Aliro).
	Versions dkey.VersionList
	// MaxEndpointKeys and MaxIssuerKeys are the cluster's
	// NumberOfAliroEndpointKeysSupported and
	// NumberOfAliroCredentialIssuerKeysSupported; 0 means the defaults.
	MaxEndpointKeys, MaxIssuerKeys int
	// ReaderRules are the reader rule identifiers the lock has: access
	// data naming reader rules admits this lock only if it has one of them.
	ReaderRules []uint16
	// Element is the data element the step-up phase requests; "" means
	// mdoc.AliroDefaultElement ("matter1"), which the Matter Door Lock
	// cluster prescribes.
	Element string
	// Rand and KeyLog go to the transaction sessions
	// (transaction.AliroReaderConfig): test benches only.
	Rand   io.Reader
	KeyLog io.Writer
}

// AliroLock is the reader side of Aliro: a door lock or an access-control
// reader. It holds the reader configuration a Matter controller sets, the
// Aliro credentials (endpoint keys, evictable or not, and Credential
// Issuer keys) and each endpoint's Kpersistent, access data and
// revocations, and runs transactions over any transport.Transceiver with
// Transact: fast first, standard when the cryptogram matches no key or a
// newer document waits, and the step-up phase that learns endpoint keys
// from an issuer's access documents and applies its revocation documents.
//
// It is a type of its own, beside Reader, because its configuration
// (Matter's), its credentials and their documents, and its session type
// share nothing with a vehicle's enrolled keys. It is safe for concurrent
// use.
type AliroLock struct {
	now         func() time.Time
	loc         *time.Location
	link        *transport.ClientConfig
	versions    dkey.VersionList
	maxKeys     int
	maxIssuers  int
	readerRules []uint16
	element     string
	rand        io.Reader
	keyLog      io.Writer

	mu sync.Mutex
	// sub is the lock's reader_group_sub_identifier, drawn once and
	// stored (the cluster's AliroReaderGroupSubIdentifier is fixed).
	sub dkey.ReaderSubGroupID
	// conf is the reader configuration, nil before SetAliroReaderConfig;
	// reader the transaction configuration made from it.
	conf   *aliroReaderConf
	reader *transaction.AliroReader
	// endpoints are the endpoint keys, most recently used first; issuers
	// the Credential Issuer keys by index.
	endpoints []*aliroEndpoint
	issuers   []*aliroIssuer
	// revSeen is the newest revocation document signed time the lock
	// applied, from any issuer: a device whose revocation document is not
	// newer is not asked for it.
	revSeen time.Time

	st     Store
	sec    *seal.Section
	closed bool
}

// aliroReaderConf is the reader configuration of SetAliroReaderConfig, and
// the optional reader certificate of SetAliroReaderCertificate.
type aliroReaderConf struct {
	signing      *dkey.SoftwareKey
	verification *dkey.PublicKey
	group        dkey.ReaderGroupID
	grk          []byte // nil for none
	cert         []byte // nil for none
	ca           *dkey.PublicKey
}

// aliroEndpoint is an endpoint key credential.
type aliroEndpoint struct {
	typ        AliroCredentialType
	index      uint16
	user       uint16
	pub        *dkey.PublicKey
	persistent transaction.PersistentKey
	// learned: the issuer credential index whose access document admitted
	// the key (0 for a key a controller set), the document's access data,
	// and its signed time and end of validity.
	issuer     uint16
	access     *mdoc.AccessData
	signed     time.Time
	validUntil time.Time
	lastUse    time.Time
}

// aliroIssuer is a Credential Issuer key and what its revocation
// documents said.
type aliroIssuer struct {
	index     uint16
	user      uint16
	pub       *dkey.PublicKey
	key       *mdoc.IssuerKey
	revSigned time.Time
	revoked   []mdoc.RevocationEntry
}

// NewAliroLock returns a lock with the state cfg.Store holds. A store with
// the wrong key-encryption key is refused with ErrStateKEK, an unknown
// schema with ErrStateVersion, a damaged record with ErrStateCorrupt.
func NewAliroLock(cfg *AliroLockConfig) (*AliroLock, error) {
	if cfg == nil {
		cfg = &AliroLockConfig{}
	}
	l := &AliroLock{
		now: cfg.Time, loc: cfg.Location, link: cfg.Link, versions: cfg.Versions, maxKeys: cfg.MaxEndpointKeys,
		maxIssuers: cfg.MaxIssuerKeys, readerRules: slices.Clone(cfg.ReaderRules), element: cfg.Element,
		rand: cfg.Rand, keyLog: cfg.KeyLog,
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.loc == nil {
		l.loc = time.UTC
	}
	if l.maxKeys == 0 {
		l.maxKeys = DefaultAliroEndpointKeys
	}
	if l.maxIssuers == 0 {
		l.maxIssuers = DefaultAliroIssuerKeys
	}
	if l.maxKeys < 0 || l.maxKeys > maxAliroKeys || l.maxIssuers < 0 || l.maxIssuers > maxAliroKeys {
		return nil, fmt.Errorf("vehicle: Aliro key limits %d and %d out of 1 to %d", l.maxKeys, l.maxIssuers, maxAliroKeys)
	}
	if l.element == "" {
		l.element = mdoc.AliroDefaultElement
	}
	if l.versions.Len() == 0 {
		l.versions = dkey.Aliro.VehicleVersions()
	}
	if err := l.openAliro(cfg); err != nil {
		return nil, err
	}
	return l, nil
}

// newSubGroup draws the lock's reader_group_sub_identifier.
func newSubGroup() (dkey.ReaderSubGroupID, error) {
	var s dkey.ReaderSubGroupID
	if _, err := rand.Read(s[:]); err != nil {
		return s, fmt.Errorf("vehicle: reader sub-group identifier: %w", err)
	}
	return s, nil
}

// buildReaderLocked makes the transaction configuration from the reader
// configuration. l.mu is held.
func (l *AliroLock) buildReaderLocked(c *aliroReaderConf) (*transaction.AliroReader, error) {
	cfg := &transaction.AliroReaderConfig{
		ReaderID: dkey.ReaderID{Group: c.group, SubGroup: l.sub}, Key: c.signing, Versions: l.versions,
		Rand: l.rand, KeyLog: l.keyLog,
	}
	if c.cert != nil {
		cfg.Certificate, cfg.GroupKey = c.cert, c.ca
	}
	r, err := transaction.NewAliroReader(cfg)
	if err != nil {
		return nil, fmt.Errorf("vehicle: %w", err)
	}
	return r, nil
}

// Close stores the order and last use of the endpoint keys and closes the
// store. Closing twice is not an error.
func (l *AliroLock) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	err := l.writeLocked(l.endpoints, nil)
	for _, e := range l.endpoints {
		e.persistent.Zeroize()
	}
	if l.st != nil {
		err = errors.Join(err, l.st.Close())
	}
	return err
}

func (l *AliroLock) usableLocked() error {
	if l.closed {
		return ErrClosed
	}
	return nil
}

// String describes the lock without its secrets.
func (l *AliroLock) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("vehicle.AliroLock{configured %v, %d endpoint keys, %d issuer keys}", l.conf != nil, len(l.endpoints), len(l.issuers))
}

// GoString is String: the signing key and Kpersistent are never printed.
func (l *AliroLock) GoString() string { return l.String() }

// Format prints String for every verb.
func (l *AliroLock) Format(f fmt.State, _ rune) { fmt.Fprint(f, l.String()) }

// ReaderID returns the lock's reader identifier (the group is zero before
// SetAliroReaderConfig).
func (l *AliroLock) ReaderID() dkey.ReaderID {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := dkey.ReaderID{SubGroup: l.sub}
	if l.conf != nil {
		id.Group = l.conf.group
	}
	return id
}

// SetAliroReaderCertificate gives the lock a reader certificate (Aliro 1.0
// §13.3, the compressed profile0000 form transaction.IssueAliroCertificate
// makes) of its signing key, issued by the Reader System Issuer CA whose
// key is ca, to send in LOAD CERT: devices then trust the CA for the group
// instead of the lock's own key. It needs a reader configuration; the
// Matter cluster has no such command, so a controller that sets one
// installs the certificate by other means. nil removes it.
func (l *AliroLock) SetAliroReaderCertificate(ca *dkey.PublicKey, cert []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if l.conf == nil {
		return ErrAliroNotConfigured
	}
	c := *l.conf
	c.cert, c.ca = slices.Clone(cert), ca
	if cert == nil {
		c.ca = nil
	} else if ca == nil {
		return errors.New("vehicle: a reader certificate needs its CA key")
	}
	r, err := l.buildReaderLocked(&c)
	if err != nil {
		return err
	}
	// Kpersistent is bound to the reader_group_identifier_key, which the
	// certificate changes: every fast transaction starts anew.
	err = l.writeLocked(l.endpoints, func(ops *aliroOps) error {
		if err := ops.config(&c); err != nil {
			return err
		}
		return ops.dropPersistent(l.endpoints)
	})
	if err != nil {
		return err
	}
	l.conf, l.reader = &c, r
	for _, e := range l.endpoints {
		e.persistent.Zeroize()
	}
	return nil
}

// findEndpointLocked returns the endpoint credential whose key is pub, or
// nil. l.mu is held.
func (l *AliroLock) findEndpointLocked(pub *dkey.PublicKey) *aliroEndpoint {
	for _, e := range l.endpoints {
		if e.pub.Equal(pub) {
			return e
		}
	}
	return nil
}

// issuerLocked returns the issuer credential of index, or nil.
func (l *AliroLock) issuerLocked(index uint16) *aliroIssuer {
	for _, i := range l.issuers {
		if i.index == index {
			return i
		}
	}
	return nil
}

// revokedBy reports whether entries name pub or the access data
// identifier id at now (an expired entry no longer counts).
func revokedBy(entries []mdoc.RevocationEntry, pub *dkey.PublicKey, id []byte, now time.Time) bool {
	for i := range entries {
		e := &entries[i]
		if (e.Expiry.IsZero() || now.Before(e.Expiry)) && e.Revokes(pub, id) {
			return true
		}
	}
	return false
}

// AliroEndpointInfo describes an endpoint key credential.
type AliroEndpointInfo struct {
	Credential AliroCredential
	User       uint16
	PublicKey  *dkey.PublicKey
	// HasPersistent reports whether a fast transaction is possible.
	HasPersistent bool
	// Issuer is, for a key learned from an access document, the index of
	// the Credential Issuer key that signed it; 0 otherwise.
	Issuer uint16
	// Access is the access data of a learned key, nil otherwise; Signed and
	// ValidUntil its document's.
	Access             *mdoc.AccessData
	Signed, ValidUntil time.Time
	LastUse            time.Time
}

// Endpoints returns the endpoint key credentials, most recently used
// first.
func (l *AliroLock) Endpoints() []AliroEndpointInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]AliroEndpointInfo, len(l.endpoints))
	for i, e := range l.endpoints {
		out[i] = AliroEndpointInfo{
			Credential: AliroCredential{Type: e.typ, Index: e.index}, User: e.user, PublicKey: e.pub,
			HasPersistent: e.persistent.Valid(), Issuer: e.issuer, Access: e.access, Signed: e.signed,
			ValidUntil: e.validUntil, LastUse: e.lastUse,
		}
	}
	return out
}

// Revocations returns the revocation entries each issuer's documents left,
// by issuer credential index.
func (l *AliroLock) Revocations() map[uint16][]mdoc.RevocationEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[uint16][]mdoc.RevocationEntry{}
	for _, is := range l.issuers {
		out[is.index] = slices.Clone(is.revoked)
	}
	return out
}
