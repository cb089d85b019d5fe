package ranging

import (
	"fmt"
	"sync"
	"time"
)

// KeyStore gives the ranging setup the URSK of a UWB session. The device's
// applet and the vehicle keep their copies behind it (CREATE RANGING KEY,
// docs/protocol.md §2.3 and §8.5); [MemoryKeyStore] is an in-memory
// implementation.
//
// RangingKey copies the URSK of session id into dst. It returns an error
// wrapping [ErrNoRangingKey] when no URSK has that session identifier,
// [ErrRangingKeyExpired] when the URSK outlived its lifetime (URSK TTL), and
// [ErrRangingKeyRevoked] when the key it belongs to was terminated or
// suspended (lost mode). It must not keep dst. Implementations must be safe
// for concurrent use: both roles of a test bench may share one.
type KeyStore interface {
	RangingKey(id SessionID, dst *URSK) error
}

// MemoryKeyStore is a [KeyStore] in memory with a bounded number of URSK
// slots and a lifetime per URSK, the rules the applet applies (docs/protocol.md
// §2.4, §8.5): a full store refuses a new URSK ([ErrKeySlotsFull], the
// applet's 6484), a URSK past its lifetime is expired, a revoked one is
// gone. It zeroizes every URSK it drops. It is safe for concurrent use.
//
// Make one with [NewMemoryKeyStore]. The zero value has no slots: Put fails
// with [ErrKeySlotsFull], RangingKey with [ErrNoRangingKey], Revoke reports
// false and records nothing.
type MemoryKeyStore struct {
	mu      sync.Mutex
	slots   int
	ttl     time.Duration
	now     func() time.Time
	keys    map[SessionID]*storedKey
	revoked []SessionID // the most recent revocations, at most slots
}

type storedKey struct {
	k       URSK
	expires time.Time
}

// NewMemoryKeyStore returns a store of slots URSKs (at least 1), each valid
// for ttl after it is put (ttl > 0). now is the clock; nil means time.Now.
func NewMemoryKeyStore(slots int, ttl time.Duration, now func() time.Time) (*MemoryKeyStore, error) {
	if slots < 1 || ttl <= 0 {
		return nil, fmt.Errorf("ranging: key store of %d slots and lifetime %v", slots, ttl)
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryKeyStore{slots: slots, ttl: ttl, now: now, keys: make(map[SessionID]*storedKey, slots)}, nil
}

// Put stores a copy of k for session id, replacing a URSK with the same
// identifier. When every slot holds a live URSK it returns an error wrapping
// [ErrKeySlotsFull]; expired URSKs are dropped to make room.
func (m *MemoryKeyStore) Put(id SessionID, k *URSK) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.slots == 0 {
		return fmt.Errorf("%w: the zero MemoryKeyStore has no slots (use NewMemoryKeyStore)", ErrKeySlotsFull)
	}
	now := m.now()
	if _, ok := m.keys[id]; !ok && len(m.keys) >= m.slots {
		for sid, e := range m.keys {
			if !now.Before(e.expires) {
				e.k.Clear()
				delete(m.keys, sid)
			}
		}
		if len(m.keys) >= m.slots {
			return fmt.Errorf("%w: %d of %d slots in use", ErrKeySlotsFull, len(m.keys), m.slots)
		}
	}
	e := m.keys[id]
	if e == nil {
		e = new(storedKey)
		m.keys[id] = e
	}
	e.k = *k
	e.expires = now.Add(m.ttl)
	m.forgetRevocation(id)
	return nil
}

// RangingKey implements [KeyStore].
func (m *MemoryKeyStore) RangingKey(id SessionID, dst *URSK) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.keys[id]
	switch {
	case !ok && m.wasRevoked(id):
		return fmt.Errorf("%w: session %v", ErrRangingKeyRevoked, id)
	case !ok:
		return fmt.Errorf("%w: session %v", ErrNoRangingKey, id)
	case !m.now().Before(e.expires):
		return fmt.Errorf("%w: session %v", ErrRangingKeyExpired, id)
	}
	*dst = e.k
	return nil
}

// Revoke deletes the URSK of session id, as key termination and lost mode
// do; later lookups report [ErrRangingKeyRevoked]. It reports whether a URSK
// was stored.
func (m *MemoryKeyStore) Revoke(id SessionID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revoke(id)
}

// RevokeAll deletes every URSK (lost mode suspends every key).
func (m *MemoryKeyStore) RevokeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.keys {
		m.revoke(id)
	}
}

func (m *MemoryKeyStore) revoke(id SessionID) bool {
	if m.slots == 0 {
		return false // the zero value: no key, no room to record the revocation
	}
	e, ok := m.keys[id]
	if ok {
		e.k.Clear()
		delete(m.keys, id)
	}
	m.forgetRevocation(id)
	if len(m.revoked) == m.slots {
		m.revoked = append(m.revoked[:0], m.revoked[1:]...)
	}
	m.revoked = append(m.revoked, id)
	return ok
}

func (m *MemoryKeyStore) wasRevoked(id SessionID) bool {
	for _, r := range m.revoked {
		if r == id {
			return true
		}
	}
	return false
}

func (m *MemoryKeyStore) forgetRevocation(id SessionID) {
	for i, r := range m.revoked {
		if r == id {
			m.revoked = append(m.revoked[:i], m.revoked[i+1:]...)
			return
		}
	}
}

// Len returns the number of occupied slots, expired URSKs included.
func (m *MemoryKeyStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

var _ KeyStore = (*MemoryKeyStore)(nil)
