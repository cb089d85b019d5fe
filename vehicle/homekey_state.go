package vehicle

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
)

// The Home Key records, beside the key records (state.go): the enrolled
// issuers, and for each key enrolled by attestation the issuer that
// vouched for it, written in the batch of its enrolment and deleted in
// that of its removal.
const (
	recIssuer   = "i/" // + issuer identifier in hex: an enrolled issuer
	recAttested = "a/" // + slot in hex: the issuer of a key enrolled by attestation
)

// issuerRecord is an enrolled issuer: its 32-byte Ed25519 key.
type issuerRecord struct {
	_   struct{} `cbor:",toarray"`
	Key []byte
}

// attestedRecord is the issuer of a key enrolled by attestation.
type attestedRecord struct {
	_      struct{} `cbor:",toarray"`
	Issuer []byte
}

func issuerName(id mdoc.IssuerID) string { return recIssuer + hex.EncodeToString(id[:]) }

func attestedName(s dkey.KeySlot) string { return recAttested + s.String() }

func encodeIssuer(key *mdoc.IssuerKey) ([]byte, error) {
	return seal.Encode(&issuerRecord{Key: key.Bytes()})
}

// decodeIssuer parses an issuer record: a Home Key (Ed25519) issuer key.
func decodeIssuer(b []byte) (*mdoc.IssuerKey, error) {
	var rec issuerRecord
	if err := seal.Decode(b, &rec); err != nil {
		return nil, err
	}
	key, err := mdoc.NewEd25519IssuerKey(rec.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer record: %w", seal.ErrCorrupt, err)
	}
	return key, nil
}

func encodeAttested(id mdoc.IssuerID) ([]byte, error) {
	return seal.Encode(&attestedRecord{Issuer: id[:]})
}

// decodeAttested parses the record of a key enrolled by attestation: its
// issuer's identifier.
func decodeAttested(b []byte) (mdoc.IssuerID, error) {
	var rec attestedRecord
	if err := seal.Decode(b, &rec); err != nil {
		return mdoc.IssuerID{}, err
	}
	if len(rec.Issuer) != mdoc.IssuerIDSize {
		return mdoc.IssuerID{}, fmt.Errorf("%w: attestation record: issuer of %d bytes", seal.ErrCorrupt, len(rec.Issuer))
	}
	return mdoc.IssuerID(rec.Issuer), nil
}

// issuerOps appends the record of the issuer key to ops.
func (r *Reader) issuerOps(ops []store.Op, key *mdoc.IssuerKey) ([]store.Op, error) {
	if r.sec == nil {
		return ops, nil
	}
	b, err := encodeIssuer(key)
	if err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	if ops, err = r.sec.Put(ops, issuerName(key.ID()), b); err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	return ops, nil
}

// attestedOps appends the record of the issuer of k to ops.
func (r *Reader) attestedOps(ops []store.Op, k *enrolled) ([]store.Op, error) {
	if r.sec == nil {
		return ops, nil
	}
	b, err := encodeAttested(k.issuer)
	if err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	if ops, err = r.sec.Put(ops, attestedName(k.info.Slot), b); err != nil {
		return ops, fmt.Errorf("vehicle: %w", err)
	}
	return ops, nil
}

// restoreHomeKey loads the enrolled issuers and the issuers of the keys
// enrolled by attestation. A record in another profile, an issuer under
// another name than its identifier, or the issuer of a key that is not
// enrolled, is ErrStateCorrupt.
func (r *Reader) restoreHomeKey() error {
	homeKey := r.v.Profile() == dkey.HomeKey
	err := r.sec.Scan(recIssuer, func(name string, p []byte) error {
		key, err := decodeIssuer(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !homeKey || name != issuerName(key.ID()) {
			return fmt.Errorf("%w: issuer record %s", seal.ErrCorrupt, name)
		}
		r.issuers = append(r.issuers, key)
		return nil
	})
	if err != nil {
		return stateError("reading the issuers", err)
	}
	slices.SortFunc(r.issuers, compareIssuers)
	err = r.sec.Scan(recAttested, func(name string, p []byte) error {
		id, err := decodeAttested(p)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		k := r.findByName(strings.TrimPrefix(name, recAttested))
		if k == nil || !homeKey || name != attestedName(k.info.Slot) {
			return fmt.Errorf("%w: attestation record %s", seal.ErrCorrupt, name)
		}
		k.issuer = id
		return nil
	})
	if err != nil {
		return stateError("reading the attested keys", err)
	}
	return nil
}

// findByName returns the enrolled key whose slot is hex, or nil.
func (r *Reader) findByName(hex string) *enrolled {
	for _, k := range r.keys {
		if k.info.Slot.String() == hex {
			return k
		}
	}
	return nil
}
