package device

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// recHomeKey names the record of a Home Key key's data (homeKey): its
// locks with their secure-element numbers, and its attestation document.
// It sits beside the key record (recKey) and is written in the same
// batch; a key without such data, or terminated, has none.
const recHomeKey = "h/" // + key ID

// homeKeyRecord is the stored form of homeKey. The Kpersistent of each
// lock is in the secure element, under the key's ID and the lock's
// number; the document is the versioned mdoc.Provisioned encoding.
type homeKeyRecord struct {
	_        struct{} `cbor:",toarray"`
	Readers  []readerRecord
	Document []byte
}

type readerRecord struct {
	_      struct{} `cbor:",toarray"`
	ID     []byte
	Number uint32
}

func homeKeyName(id KeyID) string { return fmt.Sprintf("%s%016x", recHomeKey, uint64(id)) }

// homeKeyOps appends to ops the record of k's Home Key data, or its
// deletion when the key has none or is terminated. Nothing in the CCC
// profile.
func (a *Applet) homeKeyOps(ops []store.Op, k *key) ([]store.Op, error) {
	if a.cfg.Profile != dkey.HomeKey {
		return ops, nil
	}
	if k.state == dkey.KeyTerminated || k.home.empty() {
		return a.sec.Delete(ops, homeKeyName(k.id)), nil
	}
	b, err := encodeHomeKey(k.home)
	if err != nil {
		return ops, fmt.Errorf("device: %w", err)
	}
	if ops, err = a.sec.Put(ops, homeKeyName(k.id), b); err != nil {
		return ops, fmt.Errorf("device: %w", err)
	}
	return ops, nil
}

// encodeHomeKey returns the record of h. The Kpersistent of each lock
// stays in the secure element.
func encodeHomeKey(h *homeKey) ([]byte, error) {
	r := homeKeyRecord{Readers: make([]readerRecord, len(h.readers))}
	for i, rk := range h.readers {
		r.Readers[i] = readerRecord{ID: rk.id[:], Number: rk.n}
	}
	if h.doc != nil {
		b, err := h.doc.MarshalBinary()
		if err != nil {
			return nil, err
		}
		r.Document = b
	}
	return seal.Encode(&r)
}

// restoreHomeKey loads the Home Key data of the keys, each lock's
// Kpersistent from the secure element. A record of another profile, of a
// key that is not live, with a document that does not parse or bind the
// key, with a lock twice, or naming a secret the element lacks, is
// ErrStateCorrupt.
func (a *Applet) restoreHomeKey() error {
	err := a.sec.Scan(recHomeKey, func(name string, p []byte) error {
		bad := func(what string) error { return fmt.Errorf("%w: %s: %s", seal.ErrCorrupt, name, what) }
		var id uint64
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, recHomeKey), "%016x", &id); err != nil || name != homeKeyName(KeyID(id)) {
			return bad("record name")
		}
		if a.cfg.Profile != dkey.HomeKey {
			return bad("Home Key data in the " + a.cfg.Profile.String() + " profile")
		}
		var k *key
		for _, c := range a.keys {
			if c.id == KeyID(id) && c.state != dkey.KeyTerminated {
				k = c
			}
		}
		if k == nil {
			return bad("no live key")
		}
		h, err := a.decodeHomeKey(p, k)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		k.home = h
		return nil
	})
	if err != nil {
		return stateError("reading the Home Key data", err)
	}
	return nil
}

// decodeHomeKey parses the Home Key record of k and loads each lock's
// Kpersistent.
func (a *Applet) decodeHomeKey(b []byte, k *key) (*homeKey, error) {
	var r homeKeyRecord
	if err := seal.Decode(b, &r); err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: Home Key record: %s", seal.ErrCorrupt, what) }
	if len(r.Readers) > MaxHomeKeyReaders || (len(r.Readers) == 0 && r.Document == nil) {
		return nil, bad("readers")
	}
	h := &homeKey{}
	for _, rr := range r.Readers {
		if len(rr.ID) != 8 || rr.Number == 0 || rr.Number > MaxHomeKeyReaders {
			h.zeroize()
			return nil, bad("reader")
		}
		rk := readerKey{id: [8]byte(rr.ID), n: rr.Number}
		for _, o := range h.readers {
			if o.id == rk.id || o.n == rk.n {
				h.zeroize()
				return nil, bad("a reader twice")
			}
		}
		var buf [transaction.PersistentKeySize]byte
		s, err := a.se.Secret(buf[:0], SecretID{Key: k.id, Kind: SecretPersistent, Session: rk.n})
		if err == nil {
			rk.persistent, err = transaction.NewPersistentKey(s)
		}
		clear(buf[:])
		if err != nil {
			h.zeroize()
			if errors.Is(err, ErrNoSecret) || errors.Is(err, transaction.ErrInvalidPersistentKey) {
				return nil, fmt.Errorf("%w: Kpersistent of reader %x: %w", seal.ErrCorrupt, rk.id, err)
			}
			return nil, err
		}
		h.readers = append(h.readers, rk)
	}
	if r.Document != nil {
		p, err := mdoc.ParseProvisioned(r.Document)
		if err != nil || p.Document.Dialect() != mdoc.HomeKey || !k.vehicle.EqualBytes(p.ReaderGroup) || !p.Document.DeviceKey().Equal(k.cred.PublicKey) {
			h.zeroize()
			return nil, bad("attestation document")
		}
		h.doc = p
	}
	return h, nil
}
