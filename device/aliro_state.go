package device

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
)

// The Aliro applet's sections of a store (package seal): its records, and
// the StoredElement it opens when given no secure element, under prefixes
// of their own so that nothing mixes with an Applet's.
const (
	aliroRole     = "device/aliro"
	aliroSchema   = 1
	aliroPrefix   = "aliro-device/"
	aliroSERole   = "device/aliro/se"
	aliroSEPrefix = "aliro-device/se/"

	recAliroCred = "c/" // + credential ID: a credential, deleted ones included
)

// aliroCredRecord is the stored form of an aliroCred. Its private key and
// each reader's Kpersistent are in the secure element, under ID and the
// reader's number; the documents are mdoc.Provisioned encodings.
type aliroCredRecord struct {
	_           struct{} `cbor:",toarray"`
	ID          uint64
	Group       []byte
	ReaderKey   []byte
	IssuerTrust bool
	PublicKey   []byte
	Express     bool
	Deleted     bool
	Mailbox     []byte
	Readers     []aliroReaderRecord
	Access      []byte
	Revocation  []byte
}

type aliroReaderRecord struct {
	_        struct{} `cbor:",toarray"`
	SubGroup []byte
	Number   uint32
}

func aliroCredName(id KeyID) string { return fmt.Sprintf("%s%016x", recAliroCred, uint64(id)) }

// openAliro opens the stored state and the secure element: cfg's, or a
// StoredElement in the same store under its own prefix. Without a Store
// nothing is stored.
func (a *AliroApplet) openAliro(cfg *AliroConfig) error {
	a.se = cfg.SecureElement
	if cfg.Store == nil {
		if a.se == nil {
			a.se = NewSoftwareElement()
		}
		return nil
	}
	if cfg.KEK == nil {
		return errors.New("device: a Store needs a KEK")
	}
	sec, _, err := seal.OpenSection(cfg.Store, aliroPrefix, cfg.KEK, aliroRole, aliroSchema)
	if err != nil {
		return stateError("opening the stored Aliro state", err)
	}
	if a.se == nil {
		sesec, _, err := seal.OpenSection(cfg.Store, aliroSEPrefix, cfg.KEK, aliroSERole, seSchema)
		if err != nil {
			return stateError("opening the Aliro secure element", err)
		}
		a.se = &StoredElement{sec: sesec, keys: map[KeyID]*dkey.SoftwareKey{}}
	}
	a.st, a.sec = cfg.Store, sec
	return a.restoreAliro()
}

// writeCredsLocked stores the record of c, in one batch. a.mu is held.
func (a *AliroApplet) writeCredsLocked(c *aliroCred) error {
	if a.sec == nil {
		return nil
	}
	b, err := encodeAliroCred(c)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	defer clear(b)
	ops, err := a.sec.Put(nil, aliroCredName(c.id), b)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if err := a.sec.Write(ops); err != nil {
		return fmt.Errorf("device: storing the state: %w", err)
	}
	return nil
}

// encodeAliroCred returns the record of c.
func encodeAliroCred(c *aliroCred) ([]byte, error) {
	r := aliroCredRecord{
		ID: uint64(c.id), Group: c.group[:], ReaderKey: c.readerKey.Bytes(), IssuerTrust: c.issuer, PublicKey: c.pub.Bytes(),
		Express: c.express, Deleted: c.deleted, Mailbox: c.mailbox,
	}
	for _, rk := range c.readers {
		r.Readers = append(r.Readers, aliroReaderRecord{SubGroup: rk.sub[:], Number: rk.n})
	}
	var err error
	if c.access != nil {
		if r.Access, err = c.access.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	if c.rev != nil {
		if r.Revocation, err = c.rev.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	return seal.Encode(&r)
}

// decodeAliroCred parses a credential record. Every field is checked: a
// record that does not describe a credential the applet could hold is
// seal.ErrCorrupt. The key handle and the readers' Kpersistent come from
// the secure element (loadAliroSecrets).
func decodeAliroCred(b []byte) (*aliroCred, error) {
	var r aliroCredRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: Aliro credential record: %s", seal.ErrCorrupt, what) }
	c := &aliroCred{id: KeyID(r.ID), issuer: r.IssuerTrust, express: r.Express, deleted: r.Deleted}
	var err error
	switch {
	case c.id == 0:
		return nil, bad("ID")
	case len(r.Group) != dkey.ReaderGroupIDLen:
		return nil, bad("reader group")
	case len(r.Mailbox) > MaxAliroMailbox:
		return nil, bad("mailbox")
	case len(r.Readers) > MaxAliroReaders:
		return nil, bad("readers")
	}
	copy(c.group[:], r.Group)
	if c.readerKey, err = dkey.ParsePublicKey(r.ReaderKey); err != nil {
		return nil, bad("reader key")
	}
	if c.pub, err = dkey.ParsePublicKey(r.PublicKey); err != nil {
		return nil, bad("public key")
	}
	if c.deleted {
		// A deleted credential keeps its identity only.
		if len(r.Mailbox)+len(r.Readers)+len(r.Access)+len(r.Revocation) > 0 {
			return nil, bad("deleted credential with data")
		}
		return c, nil
	}
	c.mailbox = append([]byte{}, r.Mailbox...)
	for _, rr := range r.Readers {
		if len(rr.SubGroup) != dkey.ReaderSubGroupIDLen || rr.Number == 0 || rr.Number > MaxAliroReaders {
			return nil, bad("reader")
		}
		rk := aliroReaderKey{sub: dkey.ReaderSubGroupID(rr.SubGroup), n: rr.Number}
		for _, o := range c.readers {
			if o.sub == rk.sub || o.n == rk.n {
				return nil, bad("a reader twice")
			}
		}
		c.readers = append(c.readers, rk)
	}
	for _, d := range []struct {
		b       []byte
		dst     **mdoc.Provisioned
		docType string
	}{{r.Access, &c.access, mdoc.AliroAccessDocType}, {r.Revocation, &c.rev, mdoc.AliroRevocationDocType}} {
		if len(d.b) == 0 {
			continue
		}
		p, err := mdoc.ParseProvisioned(d.b)
		if err != nil || p.Document.Dialect() != mdoc.Aliro || p.Document.DocType() != d.docType ||
			string(p.ReaderGroup) != string(c.group[:]) || !p.Document.DeviceKey().Equal(c.pub) {
			return nil, bad(d.docType + " document")
		}
		*d.dst = p
	}
	return c, nil
}

// restoreAliro loads every credential record and, for live ones, the key
// handle and each reader's Kpersistent from the secure element; deleted
// credentials' keys are deleted again. A record that does not parse, two
// live credentials for one group, or a secret the element lacks fail the
// whole open.
func (a *AliroApplet) restoreAliro() error {
	err := a.sec.Scan(recAliroCred, func(name string, p []byte) error {
		c, err := decodeAliroCred(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name != aliroCredName(c.id) || !strings.HasPrefix(name, recAliroCred) {
			return fmt.Errorf("%w: %s holds credential %d", seal.ErrCorrupt, name, c.id)
		}
		a.creds = append(a.creds, c)
		return nil
	})
	if err != nil {
		return stateError("reading the Aliro credentials", err)
	}
	groups := map[dkey.ReaderGroupID]bool{}
	for _, c := range a.creds {
		a.nextID = max(a.nextID, c.id)
		if c.deleted {
			if err := a.se.DeleteKey(c.id); err != nil {
				return fmt.Errorf("device: deleting Aliro credential %d: %w", c.id, err)
			}
			continue
		}
		if groups[c.group] {
			return stateError("reading the Aliro credentials", fmt.Errorf("%w: two credentials for reader group %v", seal.ErrCorrupt, c.group))
		}
		groups[c.group] = true
		if err := a.loadAliroSecrets(c); err != nil {
			return err
		}
	}
	return nil
}

// loadAliroSecrets fetches the key handle of c, checks it is c's key, and
// loads the Kpersistent of each of its readers.
func (a *AliroApplet) loadAliroSecrets(c *aliroCred) error {
	signer, err := a.se.Key(c.id)
	if err != nil {
		return stateError("loading an Aliro credential", fmt.Errorf("%w: credential %d: %w", seal.ErrCorrupt, c.id, err))
	}
	pub, err := dkey.PublicKeyOf(signer)
	if err != nil || !pub.Equal(c.pub) {
		return stateError("loading an Aliro credential", fmt.Errorf("%w: the secure element's key %d is not the record's", seal.ErrCorrupt, c.id))
	}
	c.key = signer
	for i := range c.readers {
		var buf [transaction.PersistentKeySize]byte
		s, err := a.se.Secret(buf[:0], SecretID{Key: c.id, Kind: SecretPersistent, Session: c.readers[i].n})
		if err == nil {
			c.readers[i].persistent, err = transaction.NewPersistentKey(s)
		}
		clear(buf[:])
		if err != nil {
			c.zeroize()
			if errors.Is(err, ErrNoSecret) || errors.Is(err, transaction.ErrInvalidPersistentKey) {
				err = fmt.Errorf("%w: Kpersistent of reader %v: %w", seal.ErrCorrupt, c.readers[i].sub, err)
			}
			return stateError("loading an Aliro Kpersistent", err)
		}
	}
	return nil
}
