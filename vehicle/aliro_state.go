package vehicle

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// The Aliro lock's section of a store (package seal), under a prefix of
// its own so that nothing mixes with a Reader's.
const (
	aliroRole   = "vehicle/aliro"
	aliroSchema = 1
	aliroPrefix = "aliro-lock/"

	recAliroLock     = "lock"   // the sub-group identifier, the newest revocation applied
	recAliroConfig   = "config" // the reader configuration
	recAliroUsage    = "usage"  // the order of the endpoint keys and their last use
	recAliroEndpoint = "e/"     // + type and index: an endpoint key credential
	recAliroIssuer   = "i/"     // + index: a Credential Issuer key and its revocations
)

type aliroLockRecord struct {
	_        struct{} `cbor:",toarray"`
	SubGroup []byte
	RevSeen  []byte
}

type aliroConfigRecord struct {
	_               struct{} `cbor:",toarray"`
	SigningKey      []byte
	VerificationKey []byte
	Group           []byte
	ResolvingKey    []byte
	Certificate     []byte
	CA              []byte
}

type aliroEndpointRecord struct {
	_          struct{} `cbor:",toarray"`
	Type       uint8
	Index      uint16
	User       uint16
	PublicKey  []byte
	Persistent []byte
	Issuer     uint16
	Access     []byte
	Signed     []byte
	ValidUntil []byte
}

type aliroIssuerRecord struct {
	_         struct{} `cbor:",toarray"`
	Index     uint16
	User      uint16
	PublicKey []byte
	RevSigned []byte
	Revoked   []aliroRevokedRecord
}

type aliroRevokedRecord struct {
	_       struct{} `cbor:",toarray"`
	KeyHash []byte
	ID      []byte
	Expiry  []byte
}

type aliroUsageRecord struct {
	_       struct{}    `cbor:",toarray"`
	Keys    [][2]uint16 // type, index
	LastUse [][]byte
}

func aliroEndpointName(t AliroCredentialType, index uint16) string {
	return fmt.Sprintf("%s%02x%04x", recAliroEndpoint, uint8(t), index)
}

func aliroIssuerName(index uint16) string { return fmt.Sprintf("%s%04x", recAliroIssuer, index) }

// aliroOps builds one batch of the lock's records. Without a store it
// records nothing.
type aliroOps struct {
	sec *seal.Section
	ops []store.Op
}

func (o *aliroOps) put(name string, b []byte, err error) error {
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if o.sec == nil {
		return nil
	}
	defer clear(b)
	if o.ops, err = o.sec.Put(o.ops, name, b); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	return nil
}

func (o *aliroOps) del(name string) {
	if o.sec != nil {
		o.ops = o.sec.Delete(o.ops, name)
	}
}

func (o *aliroOps) config(c *aliroReaderConf) error {
	b, err := encodeAliroConfig(c)
	return o.put(recAliroConfig, b, err)
}

func (o *aliroOps) clearConfig() { o.del(recAliroConfig) }

func (o *aliroOps) endpoint(e *aliroEndpoint) error {
	b, err := encodeAliroEndpoint(e)
	return o.put(aliroEndpointName(e.typ, e.index), b, err)
}

func (o *aliroOps) deleteEndpoint(e *aliroEndpoint) { o.del(aliroEndpointName(e.typ, e.index)) }

// dropPersistent writes the records of eps without their Kpersistent.
func (o *aliroOps) dropPersistent(eps []*aliroEndpoint) error {
	for _, e := range eps {
		if e.persistent.Valid() {
			c := *e
			c.persistent = transaction.PersistentKey{}
			if err := o.endpoint(&c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o *aliroOps) issuer(i *aliroIssuer) error {
	b, err := encodeAliroIssuer(i)
	return o.put(aliroIssuerName(i.index), b, err)
}

func (o *aliroOps) deleteIssuer(i *aliroIssuer) { o.del(aliroIssuerName(i.index)) }

// writeLocked builds a batch with f, adds the lock record and the usage
// record of eps, the endpoint keys as the batch leaves them, and writes
// it. On an error nothing is written, and the caller changes nothing in
// memory. l.mu is held.
func (l *AliroLock) writeLocked(eps []*aliroEndpoint, f func(ops *aliroOps) error) error {
	o := &aliroOps{sec: l.sec}
	if f != nil {
		if err := f(o); err != nil {
			return err
		}
	}
	if l.sec == nil {
		return nil
	}
	b, err := encodeAliroLock(l.sub, l.revSeen)
	if err := o.put(recAliroLock, b, err); err != nil {
		return err
	}
	b, err = encodeAliroUsage(eps)
	if err := o.put(recAliroUsage, b, err); err != nil {
		return err
	}
	if err := l.sec.Write(o.ops); err != nil {
		return fmt.Errorf("vehicle: storing the state: %w", err)
	}
	return nil
}

func encodeAliroLock(sub dkey.ReaderSubGroupID, revSeen time.Time) ([]byte, error) {
	return seal.Encode(&aliroLockRecord{SubGroup: sub[:], RevSeen: seal.AppendTime(nil, revSeen)})
}

func decodeAliroLock(b []byte) (dkey.ReaderSubGroupID, time.Time, error) {
	var r aliroLockRecord
	var sub dkey.ReaderSubGroupID
	if err := seal.Decode(b, &r); err != nil {
		return sub, time.Time{}, err
	}
	if len(r.SubGroup) != len(sub) {
		return sub, time.Time{}, fmt.Errorf("%w: Aliro lock record: sub-group", seal.ErrCorrupt)
	}
	t, err := seal.ParseTime(r.RevSeen)
	if err != nil {
		return sub, time.Time{}, err
	}
	copy(sub[:], r.SubGroup)
	return sub, t, nil
}

func encodeAliroConfig(c *aliroReaderConf) ([]byte, error) {
	sk, err := c.signing.Bytes()
	if err != nil {
		return nil, err
	}
	defer clear(sk)
	r := aliroConfigRecord{SigningKey: sk, VerificationKey: c.verification.Bytes(), Group: c.group[:], ResolvingKey: c.grk, Certificate: c.cert}
	if c.ca != nil {
		r.CA = c.ca.Bytes()
	}
	return seal.Encode(&r)
}

// decodeAliroConfig parses the configuration record; what
// SetAliroReaderConfig and SetAliroReaderCertificate would refuse is
// seal.ErrCorrupt.
func decodeAliroConfig(b []byte) (*aliroReaderConf, error) {
	var r aliroConfigRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	defer clear(r.SigningKey)
	bad := func(what string) error {
		return fmt.Errorf("%w: Aliro configuration record: %s", seal.ErrCorrupt, what)
	}
	c := &aliroReaderConf{grk: nonEmpty(r.ResolvingKey), cert: nonEmpty(r.Certificate)}
	var err error
	if c.signing, err = dkey.NewSoftwareKey(r.SigningKey); err != nil {
		return nil, bad("signing key")
	}
	if c.verification, err = dkey.ParsePublicKey(r.VerificationKey); err != nil || !c.verification.Equal(c.signing.PublicKey()) {
		return nil, bad("verification key")
	}
	if len(r.Group) != dkey.ReaderGroupIDLen || c.grk != nil && len(c.grk) != 16 {
		return nil, bad("group")
	}
	copy(c.group[:], r.Group)
	if (c.cert == nil) != (len(r.CA) == 0) {
		return nil, bad("certificate")
	}
	if c.cert != nil {
		if c.ca, err = dkey.ParsePublicKey(r.CA); err != nil {
			return nil, bad("CA key")
		}
	}
	return c, nil
}

func encodeAliroEndpoint(e *aliroEndpoint) ([]byte, error) {
	r := aliroEndpointRecord{
		Type: uint8(e.typ), Index: e.index, User: e.user, PublicKey: e.pub.Bytes(), Persistent: e.persistent.Bytes(),
		Issuer: e.issuer, Signed: seal.AppendTime(nil, e.signed), ValidUntil: seal.AppendTime(nil, e.validUntil),
	}
	if e.access != nil {
		var err error
		if r.Access, err = e.access.Append(nil); err != nil {
			return nil, err
		}
	}
	return seal.Encode(&r)
}

// decodeAliroEndpoint parses an endpoint record.
func decodeAliroEndpoint(b []byte) (*aliroEndpoint, error) {
	var r aliroEndpointRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: Aliro endpoint record: %s", seal.ErrCorrupt, what) }
	e := &aliroEndpoint{typ: AliroCredentialType(r.Type), index: r.Index, user: r.User, issuer: r.Issuer}
	var err error
	switch {
	case e.typ != AliroEvictableEndpointKey && e.typ != AliroNonEvictableEndpointKey:
		return nil, bad("type")
	case e.index == 0 || e.index > maxAliroKeys || e.user == 0 || e.user >= AliroAllIndices || e.issuer > maxAliroKeys:
		return nil, bad("index")
	case (e.issuer != 0) != (len(r.Access) != 0) || e.issuer != 0 && e.typ != AliroEvictableEndpointKey:
		return nil, bad("learned data")
	}
	if e.pub, err = dkey.ParsePublicKey(r.PublicKey); err != nil {
		return nil, bad("public key")
	}
	if len(r.Persistent) != 0 {
		if e.persistent, err = transaction.NewPersistentKey(r.Persistent); err != nil {
			return nil, bad("Kpersistent")
		}
	}
	clear(r.Persistent)
	if e.signed, err = seal.ParseTime(r.Signed); err != nil {
		return nil, err
	}
	if e.validUntil, err = seal.ParseTime(r.ValidUntil); err != nil {
		return nil, err
	}
	if len(r.Access) != 0 {
		if e.access, err = mdoc.ParseAccessData(r.Access); err != nil {
			return nil, bad("access data")
		}
		// Stored as encoded: anything else was not written here.
		if again, err := e.access.Append(nil); err != nil || string(again) != string(r.Access) {
			return nil, bad("access data not in its encoding")
		}
	}
	return e, nil
}

// nonEmpty returns b, or nil when it is empty: the records encode a nil
// byte string as an empty one.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func encodeAliroIssuer(i *aliroIssuer) ([]byte, error) {
	r := aliroIssuerRecord{Index: i.index, User: i.user, PublicKey: i.pub.Bytes(), RevSigned: seal.AppendTime(nil, i.revSigned)}
	for _, e := range i.revoked {
		r.Revoked = append(r.Revoked, aliroRevokedRecord{KeyHash: e.KeyHash, ID: e.ID, Expiry: seal.AppendTime(nil, e.Expiry)})
	}
	return seal.Encode(&r)
}

// decodeAliroIssuer parses an issuer record.
func decodeAliroIssuer(b []byte) (*aliroIssuer, error) {
	var r aliroIssuerRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: Aliro issuer record: %s", seal.ErrCorrupt, what) }
	i := &aliroIssuer{index: r.Index, user: r.User}
	var err error
	if i.index == 0 || i.index > maxAliroKeys || i.user == 0 || i.user >= AliroAllIndices || len(r.Revoked) > 4*mdoc.MaxRevocationEntries {
		return nil, bad("index")
	}
	if i.pub, err = dkey.ParsePublicKey(r.PublicKey); err != nil {
		return nil, bad("public key")
	}
	if i.key, err = mdoc.NewP256IssuerKey(i.pub); err != nil {
		return nil, bad("issuer key")
	}
	if i.revSigned, err = seal.ParseTime(r.RevSigned); err != nil {
		return nil, err
	}
	for _, rr := range r.Revoked {
		e := mdoc.RevocationEntry{KeyHash: nonEmpty(rr.KeyHash), ID: nonEmpty(rr.ID)}
		if e.Expiry, err = seal.ParseTime(rr.Expiry); err != nil {
			return nil, err
		}
		if e.KeyHash == nil && e.ID == nil || e.KeyHash != nil && len(e.KeyHash) != 32 || len(e.ID) > mdoc.MaxAccessID {
			return nil, bad("revocation entry")
		}
		i.revoked = append(i.revoked, e)
	}
	return i, nil
}

func encodeAliroUsage(eps []*aliroEndpoint) ([]byte, error) {
	r := aliroUsageRecord{Keys: make([][2]uint16, len(eps)), LastUse: make([][]byte, len(eps))}
	for i, e := range eps {
		r.Keys[i] = [2]uint16{uint16(e.typ), e.index}
		r.LastUse[i] = seal.AppendTime(nil, e.lastUse)
	}
	return seal.Encode(&r)
}

func decodeAliroUsage(b []byte) ([]AliroCredential, []time.Time, error) {
	var r aliroUsageRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, nil, err
	}
	if len(r.Keys) != len(r.LastUse) {
		return nil, nil, fmt.Errorf("%w: Aliro usage record", seal.ErrCorrupt)
	}
	keys := make([]AliroCredential, len(r.Keys))
	times := make([]time.Time, len(r.Keys))
	for i, k := range r.Keys {
		keys[i] = AliroCredential{Type: AliroCredentialType(k[0]), Index: k[1]}
		t, err := seal.ParseTime(r.LastUse[i])
		if err != nil {
			return nil, nil, err
		}
		times[i] = t
	}
	return keys, times, nil
}

// openAliro opens the stored state and restores it; a new store, or none,
// gets a fresh sub-group identifier (stored at once).
func (l *AliroLock) openAliro(cfg *AliroLockConfig) error {
	var err error
	if cfg.Store == nil {
		l.sub, err = newSubGroup()
		return err
	}
	if cfg.KEK == nil {
		return errors.New("vehicle: a Store needs a KEK")
	}
	sec, fresh, err := seal.OpenSection(cfg.Store, aliroPrefix, cfg.KEK, aliroRole, aliroSchema)
	if err != nil {
		return stateError("opening the stored Aliro state", err)
	}
	l.st, l.sec = cfg.Store, sec
	if fresh {
		if l.sub, err = newSubGroup(); err != nil {
			return err
		}
		return l.writeLocked(nil, nil)
	}
	if err := l.restoreAliro(); err != nil {
		return stateError("reading the Aliro state", err)
	}
	return nil
}

// restoreAliro reads every record and checks them together: the lock
// record must be there, every endpoint in the usage record once, a learned
// key's issuer present, no key twice.
func (l *AliroLock) restoreAliro() error {
	b, err := l.sec.Get(recAliroLock)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: no lock record", seal.ErrCorrupt)
		}
		return err
	}
	if l.sub, l.revSeen, err = decodeAliroLock(b); err != nil {
		return err
	}
	if b, err = l.sec.Get(recAliroConfig); err == nil {
		c, err := decodeAliroConfig(b)
		if err != nil {
			return err
		}
		if l.reader, err = l.buildReaderLocked(c); err != nil {
			return fmt.Errorf("%w: %w", seal.ErrCorrupt, err)
		}
		l.conf = c
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	var eps []*aliroEndpoint
	err = l.sec.Scan(recAliroIssuer, func(name string, p []byte) error {
		is, err := decodeAliroIssuer(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name != aliroIssuerName(is.index) || int(is.index) > l.maxIssuers {
			return fmt.Errorf("%w: %s holds issuer %d", seal.ErrCorrupt, name, is.index)
		}
		l.issuers = append(l.issuers, is)
		return nil
	})
	if err != nil {
		return err
	}
	err = l.sec.Scan(recAliroEndpoint, func(name string, p []byte) error {
		e, err := decodeAliroEndpoint(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name != aliroEndpointName(e.typ, e.index) || int(e.index) > l.maxKeys || e.issuer != 0 && l.issuerLocked(e.issuer) == nil {
			return fmt.Errorf("%w: %s holds endpoint %v %d", seal.ErrCorrupt, name, e.typ, e.index)
		}
		for _, o := range eps {
			if o.pub.Equal(e.pub) {
				return fmt.Errorf("%w: %s: a key twice", seal.ErrCorrupt, name)
			}
		}
		eps = append(eps, e)
		return nil
	})
	if err != nil {
		return err
	}
	if len(eps) > l.maxKeys {
		return fmt.Errorf("%w: %d endpoint keys, more than %d", seal.ErrCorrupt, len(eps), l.maxKeys)
	}
	b, err = l.sec.Get(recAliroUsage)
	if err != nil {
		return fmt.Errorf("%w: no usage record: %w", seal.ErrCorrupt, err)
	}
	keys, times, err := decodeAliroUsage(b)
	if err != nil {
		return err
	}
	if len(keys) != len(eps) {
		return fmt.Errorf("%w: the usage record names %d keys, the store holds %d", seal.ErrCorrupt, len(keys), len(eps))
	}
	for i, k := range keys {
		j := slices.IndexFunc(eps, func(e *aliroEndpoint) bool { return e.typ == k.Type && e.index == k.Index })
		if j < 0 {
			return fmt.Errorf("%w: the usage record names %v %d, which is not stored", seal.ErrCorrupt, k.Type, k.Index)
		}
		eps[j].lastUse = times[i]
		l.endpoints = append(l.endpoints, eps[j])
		eps = slices.Delete(eps, j, j+1)
	}
	return nil
}
