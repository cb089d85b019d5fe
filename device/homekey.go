package device

import (
	"errors"
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// The Home Key profile (doc.go, "Home Key"): one key for every lock of a
// home, Kpersistent per lock, and the attestation flow on the
// configuration applet.

// HomeKeyGroupLen is the length of the Home Key reader group identifier:
// the first 8 bytes of the 16-byte reader identifier of AUTH0 tag 4D,
// SHA-256("key-identifier" ‖ reader private key)[:8], shared by the locks
// of one home (docs/protocol.md §4.2, §10.4).
const HomeKeyGroupLen = 8

// MaxHomeKeyReaders is the most locks of one home whose Kpersistent a key
// keeps (one per 8-byte reader identifier, the last half of AUTH0 tag 4D).
// Past it, the Kpersistent committed least recently is forgotten: that
// lock's next transaction is a standard one, which gives it a new one.
const MaxHomeKeyReaders = 64

// Errors of the Home Key management API.
var (
	// ErrNotHomeKey reports a Home Key call on an applet of another
	// profile.
	ErrNotHomeKey = errors.New("device: the applet is not in the Home Key profile")
	// ErrDocumentMismatch reports an attestation document that is not for
	// the key it is provisioned to: another device key, another dialect or
	// document type.
	ErrDocumentMismatch = errors.New("device: the attestation document does not bind this key")
)

// homeKey is what a key of the Home Key profile holds besides its
// credential: the Kpersistent of each lock it transacted with, and the
// attestation document the owner's device provisioned. It is replaced,
// never changed in place, so that a key's copy in saveKeyLocked changes
// nothing until it is stored.
type homeKey struct {
	// readers are the locks with a Kpersistent, the one committed least
	// recently first.
	readers []readerKey
	// doc is the provisioned attestation document, nil for none.
	doc *mdoc.Provisioned
}

// readerKey is the Kpersistent of one lock: its 8-byte reader identifier,
// the number its secret is stored under in the secure element
// (SecretID{Kind: SecretPersistent, Session: n}, 1 to MaxHomeKeyReaders),
// and the key.
type readerKey struct {
	id         [8]byte
	n          uint32
	persistent transaction.PersistentKey
}

// clone returns a copy of h that shares nothing it could change; nil for
// nil.
func (h *homeKey) clone() *homeKey {
	if h == nil {
		return &homeKey{}
	}
	return &homeKey{readers: slices.Clone(h.readers), doc: h.doc}
}

// zeroize erases the Kpersistent of every lock.
func (h *homeKey) zeroize() {
	if h == nil {
		return
	}
	for i := range h.readers {
		h.readers[i].persistent.Zeroize()
	}
}

// empty reports whether h holds nothing to store.
func (h *homeKey) empty() bool { return h == nil || (len(h.readers) == 0 && h.doc == nil) }

// reader returns the index of the lock id, or -1.
func (h *homeKey) reader(id []byte) int {
	if h == nil {
		return -1
	}
	return slices.IndexFunc(h.readers, func(r readerKey) bool { return string(r.id[:]) == string(id) })
}

// hasPersistent reports whether the key can run a fast transaction: with
// its Kpersistent (CCC), or with that of one lock at least (Home Key).
func (k *key) hasPersistent() bool {
	if k.home != nil {
		for i := range k.home.readers {
			if k.home.readers[i].persistent.Valid() {
				return true
			}
		}
	}
	return k.cred.Persistent.Valid()
}

// keyVehicle returns what names the key of vehicle v in the applet's
// profile: the whole 8-byte vehicle identifier in the CCC profile; the
// reader group identifier in the Home Key profile, from an 8-byte group
// or a 16-byte reader identifier (its first half). Anything else is
// returned unchanged, and matches no key.
func (a *Applet) keyVehicle(v dkey.VehicleID) dkey.VehicleID {
	if a.cfg.Profile != dkey.HomeKey || v.Len() != dkey.VehicleIDLenHomeKey {
		return v
	}
	var b [dkey.VehicleIDLenHomeKey]byte
	g, _ := dkey.NewVehicleID(v.Append(b[:0])[:HomeKeyGroupLen]) // cannot fail: 8 bytes
	return g
}

// validKeyVehicle reports whether v can name a key in profile p: 8 bytes
// in the CCC profile; 8 (the group) or 16 (a reader identifier) in Home
// Key.
func validKeyVehicle(p dkey.Profile, v dkey.VehicleID) bool {
	if p == dkey.HomeKey {
		return v.Len() == HomeKeyGroupLen || v.Len() == dkey.VehicleIDLenHomeKey
	}
	return v.Len() == p.VehicleIDLen()
}

// homeKeyTx is the Home Key state of the applet between commands, none of
// it stored: the lock of the transaction in progress and the credential
// it transacts with (the key's, with that lock's Kpersistent), the secret
// an attestation EXCHANGE handed over, the attestation CONTROL FLOW 40A0
// armed for the configuration applet, and the configuration applet's
// session.
type homeKeyTx struct {
	reader    [dkey.VehicleIDLenHomeKey]byte
	cred      transaction.Credential
	secret    mdoc.Secret
	hasSecret bool
	armed     *attestation
	dev       *mdoc.Device
	card      *transport.ChainingCard
}

// attestation is what the configuration applet's SELECT needs: the key
// and reader group of the transaction that ended with CONTROL FLOW 40A0,
// and the secret of its attestation EXCHANGE.
type attestation struct {
	key    *key
	group  [HomeKeyGroupLen]byte
	secret mdoc.Secret
}

// reset ends everything: the transaction's credential and secret, the
// armed attestation, the configuration applet's session.
func (h *homeKeyTx) reset() {
	h.cred.Persistent.Zeroize()
	h.cred = transaction.Credential{}
	h.secret.Zeroize()
	h.hasSecret = false
	if h.armed != nil {
		h.armed.secret.Zeroize()
		h.armed = nil
	}
	if h.dev != nil {
		h.dev.Close()
		h.dev, h.card = nil, nil
	}
}

// resetHomeKeyLocked ends the Home Key state of the applet (homeKeyTx.reset)
// and deselects the configuration applet, whose session is gone: the
// applet ends a transaction this way (abortLocked). a.mu is held.
func (a *Applet) resetHomeKeyLocked() {
	a.hk.reset()
	if a.sel == selConfiguration {
		a.sel = selNone
	}
}

// credentialLocked returns the credential key k transacts with at the
// reader vid: its own in the CCC profile; in Home Key a copy with the
// Kpersistent of the lock vid names (its last 8 bytes), or none, since
// the fast cryptogram binds the whole reader identifier (docs/protocol.md
// §4.5). It starts the transaction's Home Key state afresh. a.mu is held.
func (a *Applet) credentialLocked(k *key, vid dkey.VehicleID) *transaction.Credential {
	if a.cfg.Profile != dkey.HomeKey {
		return &k.cred
	}
	a.hk.reset()
	vid.Append(a.hk.reader[:0])
	a.hk.cred = k.cred
	a.hk.cred.Persistent = transaction.PersistentKey{}
	if i := k.home.reader(a.hk.reader[HomeKeyGroupLen:]); i >= 0 {
		a.hk.cred.Persistent = k.home.readers[i].persistent
	}
	return &a.hk.cred
}

// commitPersistentLocked commits the Kpersistent of a standard transaction
// of k to the secure element, then to k: the key's one Kpersistent in the
// CCC profile; in Home Key the one of the lock of the transaction, under
// that lock's number (a new lock takes the lowest free number, or that of
// the lock committed least recently when MaxHomeKeyReaders are taken; the
// secure element first, then the key's record, so that a crash in between
// leaves at worst a lock whose Kpersistent no longer matches, whose next
// transaction is a standard one). a.mu is held.
func (a *Applet) commitPersistentLocked(k *key, pending *transaction.PersistentKey) error {
	var b [transaction.PersistentKeySize]byte
	defer clear(b[:])
	copy(b[:], pending.Bytes())
	if a.cfg.Profile != dkey.HomeKey {
		if err := a.se.PutSecret(SecretID{Key: k.id, Kind: SecretPersistent}, b[:]); err != nil {
			return err
		}
		k.cred.Persistent = *pending
		return nil
	}
	id := [8]byte(a.hk.reader[HomeKeyGroupLen:])
	if i := k.home.reader(id[:]); i >= 0 {
		// A lock seen before: its secret changes in place; the order of
		// commits is display data, stored with the next batch.
		if err := a.se.PutSecret(SecretID{Key: k.id, Kind: SecretPersistent, Session: k.home.readers[i].n}, b[:]); err != nil {
			return err
		}
		r := k.home.readers[i]
		r.persistent = *pending
		k.home.readers = append(slices.Delete(k.home.readers, i, i+1), r)
		k.dirty = true
		return nil
	}
	h := k.home.clone()
	var n uint32
	if len(h.readers) >= MaxHomeKeyReaders {
		n = h.readers[0].n
		h.readers[0].persistent.Zeroize()
		h.readers = slices.Delete(h.readers, 0, 1)
	} else {
		for n = 1; slices.ContainsFunc(h.readers, func(r readerKey) bool { return r.n == n }); n++ {
		}
	}
	if err := a.se.PutSecret(SecretID{Key: k.id, Kind: SecretPersistent, Session: n}, b[:]); err != nil {
		return err
	}
	h.readers = append(h.readers, readerKey{id: id, n: n, persistent: *pending})
	return a.replaceHomeLocked(k, h)
}

// attestationExchangeLocked answers the Home Key attestation EXCHANGE,
// whose verified plaintext is 00 8E 22 C0 20 <secret> (docs/protocol.md §4.8):
// the applet keeps the secret for the configuration applet and answers
// with the R-MAC alone, as the recorded iPhone does. It is accepted only
// in a standard transaction, after the vehicle's AUTH1 signature
// verified; another plaintext starting with 00 is 6A80, and the channel
// stays up. a.mu is held.
func (a *Applet) attestationExchangeLocked(dst, plaintext []byte) ([]byte, error) {
	if !a.sess.Standard() {
		return dst, fmt.Errorf("device: attestation EXCHANGE outside a standard transaction: %w", transaction.ErrOutOfSequence)
	}
	s, err := mdoc.ParseHomeKeyExchange(plaintext)
	if err != nil {
		return dst, fmt.Errorf("device: %w: %w", transaction.ErrInvalidOp, err)
	}
	a.hk.secret, a.hk.hasSecret = *s, true
	s.Zeroize()
	return a.sess.SealExchange(dst, nil)
}

// isAttestationExchange reports whether an EXCHANGE plaintext is Home
// Key's (it starts with 00, [AHKR] mailbox_exchange), which the project's
// mailbox operations never do (their tags are 87, 8A and 95).
func isAttestationExchange(plaintext []byte) bool { return len(plaintext) > 0 && plaintext[0] == 0x00 }

// takeSecretLocked returns the secret of the transaction's attestation
// EXCHANGE, if any, and clears the applet's copy. a.mu is held.
func (a *Applet) takeSecretLocked() (mdoc.Secret, bool) {
	s, ok := a.hk.secret, a.hk.hasSecret
	a.hk.secret.Zeroize()
	a.hk.hasSecret = false
	return s, ok
}

// armLocked arms the configuration applet after CONTROL FLOW cf ended a
// transaction of k: cf is 40A0 ("switch to the configuration applet for
// attestation exchange", docs/protocol.md §4.9), the transaction was standard
// and handed over a secret. Anything else disarms it. a.mu is held.
func (a *Applet) armLocked(k *key, cf transaction.ControlFlow, standard bool, secret *mdoc.Secret, ok bool) {
	if a.hk.armed != nil {
		a.hk.armed.secret.Zeroize()
		a.hk.armed = nil
	}
	if !ok || !standard || cf != transaction.CFLongProcessing || a.cfg.Profile != dkey.HomeKey {
		return
	}
	a.hk.armed = &attestation{key: k, group: [HomeKeyGroupLen]byte(a.hk.reader[:HomeKeyGroupLen]), secret: *secret}
}

// takeArmedLocked returns the armed attestation, if any, and disarms.
// a.mu is held.
func (a *Applet) takeArmedLocked() *attestation {
	att := a.hk.armed
	a.hk.armed = nil
	return att
}

// selectConfigurationLocked answers SELECT of the Home Key configuration
// applet A0000008580102: only right after a transaction that armed it
// (attestation EXCHANGE, then CONTROL FLOW 40A0), for a key still active
// with lost mode off, and with an attestation document provisioned for
// the reader group of that transaction; otherwise 6A82. The reply is 9000
// alone, as recorded. The ENVELOPEs that follow go to an mdoc.Device
// behind a ChainingCard, which serves the long response with 61xx and GET
// RESPONSE. a.mu is held.
func (a *Applet) selectConfigurationLocked(dst []byte, att *attestation) ([]byte, error) {
	if att == nil {
		return dst, fmt.Errorf("device: configuration applet not armed: %w", dkey.SWFileNotFound)
	}
	defer att.secret.Zeroize()
	k := att.key
	if k.state != dkey.KeyActive || a.lost {
		return dst, fmt.Errorf("device: configuration applet for a key that cannot transact: %w", dkey.SWFileNotFound)
	}
	var docs []*mdoc.Provisioned
	if k.home != nil && k.home.doc != nil {
		docs = append(docs, k.home.doc)
	}
	dev, err := mdoc.NewHomeKeyDevice(&att.secret, &mdoc.DeviceConfig{Documents: docs, ReaderGroup: att.group[:]})
	if err != nil {
		return dst, fmt.Errorf("device: %w: %w", dkey.SWFileNotFound, err)
	}
	a.sel, a.current = selConfiguration, k
	a.hk.dev, a.hk.card = dev, transport.NewChainingCard(dev)
	return dst, nil
}

// configurationAPDU answers a command of the selected configuration
// applet: the ENVELOPEs and GET RESPONSEs of the attestation exchange,
// whole (the ChainingCard adds no status word of the applet). a.mu is
// held.
func (a *Applet) configurationAPDU(dst, apdu []byte) []byte {
	if a.hk.card == nil {
		return transport.AppendResponse(dst, nil, dkey.SWConditionsNotSatisfied)
	}
	return a.hk.card.ProcessAPDU(dst, apdu)
}

// ProvisionHomeKeyDocument stores doc, the Home Key attestation document
// (mdoc.HomeKeyDocType, signed by the home's issuer) that the owner's
// device obtained for the key of the reader group group (its 8 bytes, or
// a 16-byte reader identifier of the home), replacing the one the key
// held. The applet serves it on the configuration applet to the locks of
// that group that ask for it. doc must bind the key's public key
// (ErrDocumentMismatch); the applet does not check the issuer, which only
// the locks know. Encoded documents parse with mdoc.ParseDocument.
func (a *Applet) ProvisionHomeKeyDocument(group dkey.VehicleID, doc *mdoc.Document) error {
	if doc == nil || doc.Dialect() != mdoc.HomeKey || doc.DocType() != mdoc.HomeKeyDocType {
		if a.cfg.Profile != dkey.HomeKey {
			return ErrNotHomeKey
		}
		return fmt.Errorf("%w: not a Home Key attestation document", ErrDocumentMismatch)
	}
	return a.changeDocument(group, func(k *key) (*mdoc.Provisioned, error) {
		if !doc.DeviceKey().Equal(k.cred.PublicKey) {
			return nil, fmt.Errorf("%w: it binds another device key", ErrDocumentMismatch)
		}
		p, err := mdoc.NewProvisioned(k.vehicle.Bytes(), doc)
		if err != nil {
			return nil, fmt.Errorf("device: %w", err)
		}
		return p, nil
	})
}

// RemoveHomeKeyDocument deletes the attestation document of the key of
// group; the locks of the home that do not know the key can no longer
// learn it. Removing none is not an error.
func (a *Applet) RemoveHomeKeyDocument(group dkey.VehicleID) error {
	return a.changeDocument(group, func(*key) (*mdoc.Provisioned, error) { return nil, nil })
}

// changeDocument makes the document that doc returns the attestation
// document of the live key of group, and stores it.
func (a *Applet) changeDocument(group dkey.VehicleID, doc func(k *key) (*mdoc.Provisioned, error)) error {
	if a.cfg.Profile != dkey.HomeKey {
		return ErrNotHomeKey
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usableLocked(); err != nil {
		return err
	}
	k, err := a.live(group)
	if err != nil {
		return err
	}
	p, err := doc(k)
	if err != nil {
		return err
	}
	if p == nil && (k.home == nil || k.home.doc == nil) {
		return nil
	}
	h := k.home.clone()
	h.doc = p
	return a.replaceHomeLocked(k, h)
}

// replaceHomeLocked stores k with h as its Home Key data, then makes it
// k's, and erases the Kpersistent copies of the data it replaced (or of h
// when the store failed). a.mu is held.
func (a *Applet) replaceHomeLocked(k *key, h *homeKey) error {
	old := k.home
	if err := a.saveKeyLocked(k, func(c *key) { c.home = h }); err != nil {
		h.zeroize()
		return err
	}
	old.zeroize()
	return nil
}

// HomeKeyDocument returns the attestation document provisioned for the
// key of group, if any.
func (a *Applet) HomeKeyDocument(group dkey.VehicleID) (*mdoc.Document, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.find(group)
	if k == nil || k.home == nil || k.home.doc == nil {
		return nil, false
	}
	return k.home.doc.Document, true
}

// HomeKeyReaders returns the 8-byte reader identifiers of the locks with
// which the key of group holds a Kpersistent, committed least recently
// first.
func (a *Applet) HomeKeyReaders(group dkey.VehicleID) [][8]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.find(group)
	if k == nil || k.home == nil {
		return nil
	}
	out := make([][8]byte, len(k.home.readers))
	for i, r := range k.home.readers {
		out[i] = r.id
	}
	return out
}
