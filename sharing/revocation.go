package sharing

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/cborstrict"
)

// Capacity of a revocation store.
const (
	// DefaultMaxRevocations is the capacity of a store made with
	// NewRevocationStore(0): far more terminations than a vehicle sees in
	// its life, in about 1 MiB.
	DefaultMaxRevocations = 1 << 14
	// MaxRevocations bounds the capacity of any store.
	MaxRevocations = 1 << 20
	// maxRevocationEncoding bounds the encoding of one revocation: array
	// head, slot, key hash, id and time.
	maxRevocationEncoding = 1 + 1 + dkey.MaxKeySlotLen + 2 + sha256.Size + 1 + attest.IDSize + 9
)

// Revocation records a key the vehicle revoked for good. Any of its
// identifiers revokes: the key slot (never enrolled again), the key (by the
// SHA-256 of its encoding, attest.KeyHash) and the statement ID (a
// termination attestation, or a key attestation the vehicle refuses for
// good).
type Revocation struct {
	// Slot is the revoked key slot; zero when the revocation names a key
	// only.
	Slot dkey.KeySlot
	// KeyHash is attest.KeyHash of the revoked key; required.
	KeyHash [sha256.Size]byte
	// ID is the statement that revoked the key, or a key attestation
	// revoked for good; zero when none.
	ID attest.ID
	// At is when the vehicle revoked the key, to the second.
	At time.Time
}

// RevocationStore is the vehicle's record of revoked keys, kept for the
// vehicle's life: every key attestation presented at a first friend
// transaction is checked against it, so that a terminated key is never
// re-activated by an old attestation (doc.go, "Anti-reactivation"). It is
// safe for concurrent use.
//
// A vehicle persists it (MarshalBinary) in its secure storage after every
// change and before the change takes effect elsewhere: record the
// revocation, persist, then remove the key. Generation counts the changes;
// compare it with a monotonic counter of the vehicle's secure element when
// loading, to refuse a rolled-back copy.
type RevocationStore struct {
	mu    sync.Mutex
	max   int
	gen   uint64
	list  []Revocation
	slots map[dkey.KeySlot]struct{}
	keys  map[[sha256.Size]byte]struct{}
	ids   map[attest.ID]struct{}
}

// NewRevocationStore returns an empty store of capacity max: 0 means
// DefaultMaxRevocations; more than MaxRevocations is MaxRevocations.
func NewRevocationStore(max int) *RevocationStore {
	switch {
	case max <= 0:
		max = DefaultMaxRevocations
	case max > MaxRevocations:
		max = MaxRevocations
	}
	return &RevocationStore{
		max:   max,
		slots: make(map[dkey.KeySlot]struct{}),
		keys:  make(map[[sha256.Size]byte]struct{}),
		ids:   make(map[attest.ID]struct{}),
	}
}

// Revoke records r for good. Recording a revocation whose every identifier
// is already recorded changes nothing. It returns ErrStoreFull, and records
// nothing, when the store is at capacity.
func (s *RevocationStore) Revoke(r Revocation) error {
	if r.KeyHash == ([sha256.Size]byte{}) {
		return errors.New("sharing: a revocation needs the key hash")
	}
	if _, err := seconds(r.At); err != nil {
		return err
	}
	r.At = r.At.Truncate(time.Second).UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recordedLocked(r) {
		return nil
	}
	if len(s.list) >= s.max {
		return ErrStoreFull
	}
	s.addLocked(r)
	s.gen++
	return nil
}

func (s *RevocationStore) recordedLocked(r Revocation) bool {
	_, k := s.keys[r.KeyHash]
	_, sl := s.slots[r.Slot]
	_, id := s.ids[r.ID]
	return k && (r.Slot.IsZero() || sl) && (r.ID.IsZero() || id)
}

func (s *RevocationStore) addLocked(r Revocation) {
	s.list = append(s.list, r)
	s.keys[r.KeyHash] = struct{}{}
	if !r.Slot.IsZero() {
		s.slots[r.Slot] = struct{}{}
	}
	if !r.ID.IsZero() {
		s.ids[r.ID] = struct{}{}
	}
}

// Check returns an error wrapping ErrRevoked and dkey.ErrKeyTerminated when
// slot, key or id is revoked; zero values are not looked up.
func (s *RevocationStore) Check(slot dkey.KeySlot, key *dkey.PublicKey, id attest.ID) error {
	var h [sha256.Size]byte
	if key != nil {
		h = attest.KeyHash(key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, bySlot := s.slots[slot]
	_, byKey := s.keys[h]
	_, byID := s.ids[id]
	switch {
	case !slot.IsZero() && bySlot:
		return fmt.Errorf("%w: %w: slot %v", ErrRevoked, dkey.ErrKeyTerminated, slot)
	case key != nil && byKey:
		return fmt.Errorf("%w: %w: key %x", ErrRevoked, dkey.ErrKeyTerminated, h[:8])
	case !id.IsZero() && byID:
		return fmt.Errorf("%w: %w: statement %v", ErrRevoked, dkey.ErrKeyTerminated, id)
	}
	return nil
}

// Len returns the number of revocations recorded.
func (s *RevocationStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list)
}

// Cap returns the capacity.
func (s *RevocationStore) Cap() int { return s.max }

// Full reports whether the store is at capacity.
func (s *RevocationStore) Full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list) >= s.max
}

// Generation returns the number of changes since the store was created,
// carried across MarshalBinary and ParseRevocationStore.
func (s *RevocationStore) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// Revocations returns the revocations in the order they were recorded.
func (s *RevocationStore) Revocations() []Revocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Revocation(nil), s.list...)
}

// storeEncoding is the persisted form (CDDL in doc.go).
type storeEncoding struct {
	_           struct{} `cbor:",toarray"`
	Version     uint64
	Generation  uint64
	Revocations []revocationEncoding
}

type revocationEncoding struct {
	_       struct{} `cbor:",toarray"`
	Slot    []byte
	KeyHash []byte
	ID      []byte
	At      uint64
}

const storeVersion = 1

// storeDecMode decodes persisted stores: the message limits, but arrays as
// long as MaxRevocations.
var storeDecMode = cborstrict.DecMode(cbor.TagsForbidden, MaxRevocations)

// MarshalBinary returns the persisted form of the store.
func (s *RevocationStore) MarshalBinary() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := storeEncoding{Version: storeVersion, Generation: s.gen, Revocations: make([]revocationEncoding, len(s.list))}
	for i, r := range s.list {
		at, err := seconds(r.At)
		if err != nil {
			return nil, err
		}
		e.Revocations[i] = revocationEncoding{Slot: r.Slot.Bytes(), KeyHash: r.KeyHash[:], At: at}
		if !r.ID.IsZero() {
			e.Revocations[i].ID = r.ID[:]
		}
	}
	return encMode.Marshal(e)
}

// ParseRevocationStore parses the persisted form of a store into a store of
// capacity max (as NewRevocationStore takes it). It returns an error
// wrapping ErrMalformed for anything but the exact encoding MarshalBinary
// writes, and ErrStoreFull when the store holds more than max revocations.
func ParseRevocationStore(b []byte, max int) (*RevocationStore, error) {
	s := NewRevocationStore(max)
	if len(b) > 16+s.max*maxRevocationEncoding {
		return nil, fmt.Errorf("%w: store of %d bytes for %d revocations", ErrMalformed, len(b), s.max)
	}
	var e storeEncoding
	if err := storeDecMode.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: revocation store: %w", ErrMalformed, err)
	}
	if e.Version != storeVersion {
		return nil, fmt.Errorf("%w: revocation store version %d", ErrMalformed, e.Version)
	}
	if len(e.Revocations) > s.max {
		return nil, ErrStoreFull
	}
	for i, re := range e.Revocations {
		var r Revocation
		var err error
		if len(re.Slot) > 0 {
			if r.Slot, err = dkey.NewKeySlot(re.Slot); err != nil {
				return nil, fmt.Errorf("%w: revocation %d: %w", ErrMalformed, i, err)
			}
		}
		if len(re.KeyHash) != sha256.Size || [sha256.Size]byte(re.KeyHash) == ([sha256.Size]byte{}) {
			return nil, fmt.Errorf("%w: revocation %d: key hash", ErrMalformed, i)
		}
		r.KeyHash = [sha256.Size]byte(re.KeyHash)
		switch len(re.ID) {
		case 0:
		case attest.IDSize:
			if r.ID = attest.ID(re.ID); r.ID.IsZero() {
				return nil, fmt.Errorf("%w: revocation %d: zero ID", ErrMalformed, i)
			}
		default:
			return nil, fmt.Errorf("%w: revocation %d: ID of %d bytes", ErrMalformed, i, len(re.ID))
		}
		if r.At, err = fromSeconds(re.At); err != nil {
			return nil, fmt.Errorf("%w: revocation %d: time", ErrMalformed, i)
		}
		if s.recordedLocked(r) {
			return nil, fmt.Errorf("%w: revocation %d recorded twice", ErrMalformed, i)
		}
		s.addLocked(r)
	}
	if uint64(len(s.list)) > e.Generation {
		return nil, fmt.Errorf("%w: generation %d below %d revocations", ErrMalformed, e.Generation, len(s.list))
	}
	s.gen = e.Generation
	if err := checkCanonical(b, e); err != nil {
		return nil, fmt.Errorf("%w: revocation store: %w", ErrMalformed, err)
	}
	return s, nil
}
