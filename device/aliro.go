package device

import (
	"crypto"
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

// The Aliro applet (doc.go, "Aliro"): Access Credentials by reader group,
// Kpersistent by reader, one mailbox per credential, the access and
// revocation documents of the step-up phase.

// MaxAliroReaders is the most readers of one group whose Kpersistent a
// credential keeps (one per reader_group_sub_identifier). Past it, the one
// committed least recently is forgotten: that reader's next transaction is
// a standard one.
const MaxAliroReaders = 64

// MaxAliroMailbox bounds the mailbox of an Access Credential (the
// project's limit; an EXCHANGE offset is 16 bits).
const MaxAliroMailbox = 4096

// ErrNotAliro reports an Aliro document of the wrong type.
var ErrNotAliro = errors.New("device: not an Aliro document of the expected type")

// AliroConfig configures an AliroApplet. The zero value works: software
// secure element, system clock, state in memory, Aliro 1.0.
type AliroConfig struct {
	// SecureElement holds the credentials' private keys and Kpersistent.
	// Nil means a StoredElement in Store (under its own prefix, beside
	// the applet's records) when there is one, a new SoftwareElement
	// otherwise.
	SecureElement SecureElement
	// Store keeps the credentials across restarts (doc.go, "Aliro"); nil
	// means in memory only. The applet closes it in Close. It must not be
	// the Store of another Applet.
	Store Store
	// KEK seals the records of Store; it is required with a Store.
	KEK KeyEncryptionKey
	// Time returns the current time, for user-authentication expiry and
	// reader certificates; nil means time.Now.
	Time func() time.Time
	// Versions are the expedited-phase versions the applet offers; the
	// zero value means 1.0 alone (transaction.AliroEndpointConfig).
	Versions dkey.VersionList
	// Rand and KeyLog go to the transaction sessions
	// (transaction.AliroEndpointConfig): test benches only.
	Rand   io.Reader
	KeyLog io.Writer
}

// AliroCredentialConfig describes an Access Credential to create: the key
// an Aliro wallet provisions for a reader group (Aliro 1.0 §6.2).
type AliroCredentialConfig struct {
	// Group is the reader_group_identifier the credential answers.
	Group dkey.ReaderGroupID
	// ReaderKey is the reader_group_identifier_key: the readers' public
	// key (a Matter lock's AliroReaderVerificationKey) or, with
	// IssuerTrust, the Reader System Issuer CA key that certifies them.
	ReaderKey   *dkey.PublicKey
	IssuerTrust bool
	// MailboxSize is the size of the credential's mailbox, which readers
	// read and write by EXCHANGE; 0 for none.
	MailboxSize uint16
	// PrivateKey, when set, is the 32-byte P-256 scalar the secure element
	// imports instead of generating a key: test benches and provisioning
	// lines only.
	PrivateKey []byte
}

// String describes the configuration without its private key.
func (c AliroCredentialConfig) String() string {
	pk := "none"
	if c.PrivateKey != nil {
		pk = "[redacted]"
	}
	return fmt.Sprintf("{Group:%v ReaderKey:%v IssuerTrust:%v MailboxSize:%d PrivateKey:%s}", c.Group, c.ReaderKey, c.IssuerTrust, c.MailboxSize, pk)
}

// GoString is String.
func (c AliroCredentialConfig) GoString() string { return "device.AliroCredentialConfig" + c.String() }

// Format prints String for every verb.
func (c AliroCredentialConfig) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// AliroCredentialInfo describes an Access Credential as the host app sees
// it.
type AliroCredentialInfo struct {
	Group       dkey.ReaderGroupID
	ReaderKey   *dkey.PublicKey
	IssuerTrust bool
	PublicKey   *dkey.PublicKey
	// KeySlot is the 8-byte key_slot readers look the credential up by.
	KeySlot     dkey.KeySlot
	MailboxSize uint16
	Express     bool
	// Readers are the readers of the group holding a Kpersistent, the one
	// committed least recently first.
	Readers []dkey.ReaderSubGroupID
	// Status is what the credential tells readers: its signaling bitmap
	// and the signed timestamps of its documents.
	Status transaction.AliroStatus
}

// aliroCred is one Access Credential. It is replaced, never changed in
// place, once stored (saveCredLocked).
type aliroCred struct {
	id          KeyID
	group       dkey.ReaderGroupID
	readerKey   *dkey.PublicKey
	issuer      bool
	key         crypto.Signer
	pub         *dkey.PublicKey
	express     bool
	deleted     bool
	mailbox     []byte
	readers     []aliroReaderKey
	access, rev *mdoc.Provisioned
}

// aliroReaderKey is the Kpersistent of one reader of the group: its
// sub-group identifier, the number its secret has in the secure element
// (SecretID{Kind: SecretPersistent, Session: n}, 1 to MaxAliroReaders),
// and the key.
type aliroReaderKey struct {
	sub        dkey.ReaderSubGroupID
	n          uint32
	persistent transaction.PersistentKey
}

// aliroSelection is which applet answers: none, the expedited one, the
// step-up one.
type aliroSelection uint8

const (
	aliroSelNone aliroSelection = iota
	aliroSelExpedited
	aliroSelStepUp
)

// AliroApplet is the device side of Aliro (docs/protocol.md §13): the expedited
// applet A000000909ACCE5501 and the step-up applet A000000909ACCE5502 of a
// wallet, hosting an Access Credential per reader group. It answers
// command APDUs (it is a transport.Card) with a
// transaction.AliroEndpointSession, applies the device's policy (express
// mode, user authentication, the reader's authentication policy), keeps a
// Kpersistent per reader, answers mailbox EXCHANGEs, and serves the
// credential's access and revocation documents in the step-up phase
// through package mdoc. It takes whole commands and returns whole
// responses: put it behind a transport.ChainingCard, which reassembles
// chained commands (a long LOAD CERT) and serves long responses (the
// step-up documents) with GET RESPONSE.
//
// It is a type of its own, beside Applet, because nothing of a CCC key
// (vehicle identifier, two mailboxes, pairing, sharing, ranging slots)
// fits an Access Credential, and a phone hosts the two applets apart.
// An AliroApplet is safe for concurrent use. Make one with NewAliroApplet:
// the zero value answers every APDU with 6F00 and holds no credential.
type AliroApplet struct {
	cfg  AliroConfig
	se   SecureElement
	now  func() time.Time
	mu   sync.Mutex
	sess *transaction.AliroEndpointSession

	creds   []*aliroCred
	nextID  KeyID
	authTil time.Time

	// The transaction in progress: the selected applet, the credential
	// and its working copy for the session, the reader, the Kpersistent
	// of AUTH1 (committed at the first authenticated EXCHANGE), the
	// step-up key and session, the mailbox of an atomic session.
	sel       aliroSelection
	cur       *aliroCred
	work      transaction.AliroCredential
	reader    dkey.ReaderID
	pending   transaction.PersistentKey
	stepUpKey transaction.AliroStepUpKey
	dev       *mdoc.Device
	staged    []byte
	results   []byte
	lastCF    transaction.AliroControlFlow

	st     Store
	sec    *seal.Section
	closed bool
}

var (
	_ transport.Card     = (*AliroApplet)(nil)
	_ transport.Resetter = (*AliroApplet)(nil)
)

// NewAliroApplet returns an Aliro applet with the state cfg.Store holds.
// A store with the wrong key-encryption key is refused with ErrStateKEK,
// an unknown schema with ErrStateVersion, a damaged record or one whose
// key the secure element lacks with ErrStateCorrupt.
func NewAliroApplet(cfg *AliroConfig) (*AliroApplet, error) {
	if cfg == nil {
		cfg = &AliroConfig{}
	}
	a := &AliroApplet{cfg: *cfg, now: cfg.Time, results: make([]byte, 0, transaction.MaxAliroExchangeData)}
	if a.now == nil {
		a.now = time.Now
	}
	sess, err := transaction.NewAliroEndpointSession(&transaction.AliroEndpointConfig{
		Versions: cfg.Versions, Time: a.now, Rand: cfg.Rand, KeyLog: cfg.KeyLog,
	})
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	a.sess = sess
	if err := a.openAliro(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// Close stores nothing more (every change is stored when made), ends the
// transaction, erases the Kpersistent copies in memory and closes the
// store. Closing twice is not an error.
func (a *AliroApplet) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.abortLocked()
	a.closed = true
	for _, c := range a.creds {
		c.zeroize()
	}
	if a.st != nil {
		return a.st.Close()
	}
	return nil
}

// zeroize erases the Kpersistent copies and the mailbox of c.
func (c *aliroCred) zeroize() {
	for i := range c.readers {
		c.readers[i].persistent.Zeroize()
	}
	clear(c.mailbox)
}

// String describes the applet without its secrets.
func (a *AliroApplet) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("device.AliroApplet{%d credentials}", len(a.liveLocked()))
}

// GoString is String.
func (a *AliroApplet) GoString() string { return a.String() }

// Format prints String for every verb.
func (a *AliroApplet) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.String()) }

func (a *AliroApplet) usableLocked() error {
	if a.closed {
		return ErrClosed
	}
	return nil
}

// liveLocked returns the credentials that are not deleted.
func (a *AliroApplet) liveLocked() []*aliroCred {
	var out []*aliroCred
	for _, c := range a.creds {
		if !c.deleted {
			out = append(out, c)
		}
	}
	return out
}

// findLocked returns the live credential of group, or nil.
func (a *AliroApplet) findLocked(group dkey.ReaderGroupID) *aliroCred {
	for _, c := range a.creds {
		if !c.deleted && c.group == group {
			return c
		}
	}
	return nil
}

// CreateCredential creates an Access Credential for a reader group: a new
// key pair in the secure element (or, for test benches, the key of
// c.PrivateKey), an empty mailbox, express mode on. It returns
// ErrKeyExists if the applet holds a credential for the group.
func (a *AliroApplet) CreateCredential(c AliroCredentialConfig) (AliroCredentialInfo, error) {
	if c.ReaderKey == nil || c.ReaderKey.ECDSA() == nil {
		return AliroCredentialInfo{}, errors.New("device: no reader group key")
	}
	if c.MailboxSize > MaxAliroMailbox {
		return AliroCredentialInfo{}, fmt.Errorf("device: mailbox of %d bytes, more than %d", c.MailboxSize, MaxAliroMailbox)
	}
	a.mu.Lock()
	if err := a.usableLocked(); err != nil {
		a.mu.Unlock()
		return AliroCredentialInfo{}, err
	}
	if a.findLocked(c.Group) != nil {
		a.mu.Unlock()
		return AliroCredentialInfo{}, fmt.Errorf("%w: reader group %v", ErrKeyExists, c.Group)
	}
	a.nextID++
	id := a.nextID
	a.mu.Unlock()
	var signer crypto.Signer
	var err error
	if c.PrivateKey != nil {
		signer, err = a.se.ImportKey(id, c.PrivateKey)
	} else {
		signer, err = a.se.GenerateKey(id)
	}
	if err != nil {
		return AliroCredentialInfo{}, fmt.Errorf("device: creating the credential key: %w", err)
	}
	pub, err := dkey.PublicKeyOf(signer)
	if err != nil {
		_ = a.se.DeleteKey(id)
		return AliroCredentialInfo{}, fmt.Errorf("device: secure element key: %w", err)
	}
	cred := &aliroCred{
		id: id, group: c.Group, readerKey: c.ReaderKey, issuer: c.IssuerTrust, key: signer, pub: pub,
		express: true, mailbox: make([]byte, c.MailboxSize),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		_ = a.se.DeleteKey(id)
		return AliroCredentialInfo{}, err
	}
	if a.findLocked(c.Group) != nil {
		_ = a.se.DeleteKey(id)
		return AliroCredentialInfo{}, fmt.Errorf("%w: reader group %v", ErrKeyExists, c.Group)
	}
	if err := a.writeCredsLocked(cred); err != nil {
		_ = a.se.DeleteKey(id)
		return AliroCredentialInfo{}, err
	}
	a.creds = append(a.creds, cred)
	return cred.info(), nil
}

// status returns what c tells readers (Aliro 1.0 Table 8-11): the
// documents it can deliver, that the step-up applet must be selected
// first, the mailbox rights, and the documents' signed timestamps.
func (c *aliroCred) status() transaction.AliroStatus {
	var st transaction.AliroStatus
	if c.access != nil {
		st.Signaling |= transaction.AliroAccessDocument | transaction.AliroStepUpSelect
		signed, _, _ := c.access.Document.ValidityInfo()
		st.CredentialSigned = transaction.NewAliroTimestamp(signed)
	}
	if c.rev != nil {
		st.Signaling |= transaction.AliroRevocationDocument | transaction.AliroStepUpSelect
		signed, _, _ := c.rev.Document.ValidityInfo()
		st.RevocationSigned = transaction.NewAliroTimestamp(signed)
	}
	if len(c.mailbox) > 0 {
		st.Signaling |= transaction.AliroMailboxRead | transaction.AliroMailboxWrite
		if slices.ContainsFunc(c.mailbox, func(b byte) bool { return b != 0 }) {
			st.Signaling |= transaction.AliroMailboxNonZero
		}
	}
	return st
}

func (c *aliroCred) info() AliroCredentialInfo {
	slot, _ := dkey.Aliro.DerivedKeySlot(c.pub)
	info := AliroCredentialInfo{
		Group: c.group, ReaderKey: c.readerKey, IssuerTrust: c.issuer, PublicKey: c.pub, KeySlot: slot,
		MailboxSize: uint16(len(c.mailbox)), Express: c.express, Status: c.status(),
	}
	for _, r := range c.readers {
		info.Readers = append(info.Readers, r.sub)
	}
	return info
}

// Credential returns the credential of group.
func (a *AliroApplet) Credential(group dkey.ReaderGroupID) (AliroCredentialInfo, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.findLocked(group)
	if c == nil {
		return AliroCredentialInfo{}, false
	}
	return c.info(), true
}

// Credentials returns the live credentials, in creation order.
func (a *AliroApplet) Credentials() []AliroCredentialInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AliroCredentialInfo
	for _, c := range a.liveLocked() {
		out = append(out, c.info())
	}
	return out
}

// changeLocked applies change to a copy of the live credential of group,
// stores it, and makes it the credential; a transaction in progress with
// it ends. a.mu is held.
func (a *AliroApplet) changeLocked(group dkey.ReaderGroupID, change func(c *aliroCred) error) error {
	if err := a.usableLocked(); err != nil {
		return err
	}
	c := a.findLocked(group)
	if c == nil {
		return fmt.Errorf("device: %w: no credential for reader group %v", dkey.ErrUnknownVehicle, group)
	}
	if a.cur == c {
		a.abortLocked()
	}
	return a.saveCredLocked(c, change)
}

// saveCredLocked applies change to a copy of c, stores the copy and then
// makes it c. a.mu is held.
func (a *AliroApplet) saveCredLocked(c *aliroCred, change func(c *aliroCred) error) error {
	n := *c
	n.readers = slices.Clone(c.readers)
	if err := change(&n); err != nil {
		return err
	}
	if err := a.writeCredsLocked(&n); err != nil {
		return err
	}
	*c = n
	return nil
}

// SetExpress turns express mode on or off for the credential of group.
// Off, it transacts only while a user authentication is valid.
func (a *AliroApplet) SetExpress(group dkey.ReaderGroupID, on bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changeLocked(group, func(c *aliroCred) error { c.express = on; return nil })
}

// AuthenticateUser records that the host app authenticated the user until
// the given time: credentials without express mode, and readers asking
// for user authentication (AliroPolicyForceUserAuthentication), are
// served until then. It is not stored.
func (a *AliroApplet) AuthenticateUser(until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.authTil = until
}

// DeleteCredential deletes the credential of group for good: its record
// is marked deleted first, then the secure element destroys its key and
// every Kpersistent (a crash in between leaves a mark whose deletion
// NewAliroApplet runs again, never a credential that transacts).
func (a *AliroApplet) DeleteCredential(group dkey.ReaderGroupID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var id KeyID
	err := a.changeLocked(group, func(c *aliroCred) error {
		id = c.id
		c.deleted, c.mailbox, c.readers, c.access, c.rev = true, nil, nil, nil, nil
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range a.creds {
		if c.id == id {
			c.key = nil
		}
	}
	if err := a.se.DeleteKey(id); err != nil {
		return fmt.Errorf("device: credential deleted, but the secure element failed to delete its key: %w", err)
	}
	return nil
}

// ProvisionAccessDocument stores doc, the credential's Access Document
// ("aliro-a", signed by its Credential Issuer), for the credential of
// group, replacing the one it held; the applet serves it in the step-up
// phase to the readers of the group and announces it (signaling bit 0,
// credential_signed_timestamp). doc must bind the credential's key
// (ErrDocumentMismatch); the issuer is the readers' to check.
func (a *AliroApplet) ProvisionAccessDocument(group dkey.ReaderGroupID, doc *mdoc.Document) error {
	return a.provision(group, doc, mdoc.AliroAccessDocType)
}

// ProvisionRevocationDocument stores doc, a Revocation Document
// ("aliro-r") of the credential's issuer, as ProvisionAccessDocument does.
func (a *AliroApplet) ProvisionRevocationDocument(group dkey.ReaderGroupID, doc *mdoc.Document) error {
	return a.provision(group, doc, mdoc.AliroRevocationDocType)
}

// RemoveDocuments deletes the credential's documents.
func (a *AliroApplet) RemoveDocuments(group dkey.ReaderGroupID) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changeLocked(group, func(c *aliroCred) error { c.access, c.rev = nil, nil; return nil })
}

func (a *AliroApplet) provision(group dkey.ReaderGroupID, doc *mdoc.Document, docType string) error {
	if doc == nil || doc.Dialect() != mdoc.Aliro || doc.DocType() != docType {
		return fmt.Errorf("%w: want %q", ErrNotAliro, docType)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changeLocked(group, func(c *aliroCred) error {
		if !doc.DeviceKey().Equal(c.pub) {
			return fmt.Errorf("%w: it binds another device key", ErrDocumentMismatch)
		}
		p, err := mdoc.NewProvisioned(group[:], doc)
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		if docType == mdoc.AliroAccessDocType {
			c.access = p
		} else {
			c.rev = p
		}
		return nil
	})
}

// Documents returns the access and revocation documents of the credential
// of group, nil for none.
func (a *AliroApplet) Documents(group dkey.ReaderGroupID) (access, revocation *mdoc.Document) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.findLocked(group)
	if c == nil {
		return nil, nil
	}
	if c.access != nil {
		access = c.access.Document
	}
	if c.rev != nil {
		revocation = c.rev.Document
	}
	return access, revocation
}

// ReadMailbox returns a copy of the mailbox of the credential of group.
func (a *AliroApplet) ReadMailbox(group dkey.ReaderGroupID) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.findLocked(group)
	if c == nil {
		return nil, fmt.Errorf("device: %w: no credential for reader group %v", dkey.ErrUnknownVehicle, group)
	}
	return slices.Clone(c.mailbox), nil
}

// LastControlFlow returns the last CONTROL FLOW a reader sent (readers send
// one only for a failure without a secure channel).
func (a *AliroApplet) LastControlFlow() transaction.AliroControlFlow {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastCF
}

// Reset ends any transaction in progress, as when the RF field drops.
func (a *AliroApplet) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abortLocked()
}

// abortLocked ends the transaction in progress, deselects the applets and
// erases the transaction's secrets.
func (a *AliroApplet) abortLocked() {
	if a.sess != nil { // nil in the zero value, which has no transaction
		a.sess.Deselect()
	}
	a.resetTxLocked()
	a.sel = aliroSelNone
}

// resetTxLocked forgets the applet's state of the transaction in progress
// (the session's is the session's), the selection kept but for the
// step-up applet, whose session ends.
func (a *AliroApplet) resetTxLocked() {
	a.endStepUpLocked()
	if a.sel == aliroSelStepUp {
		a.sel = aliroSelExpedited
	}
	a.cur = nil
	a.work.Persistent.Zeroize()
	a.work = transaction.AliroCredential{}
	a.reader = dkey.ReaderID{}
	a.pending.Zeroize()
	a.stepUpKey.Zeroize()
	clear(a.staged)
	a.staged = nil
}

// endStepUpLocked closes the step-up session.
func (a *AliroApplet) endStepUpLocked() {
	if a.dev != nil {
		a.dev.Close()
		a.dev = nil
	}
}
