package ranging

import (
	"errors"
	"strings"
	"testing"
)

// TestNewKeyScheduleNilURSK: a nil URSK is an error, not a panic.
func TestNewKeyScheduleNilURSK(t *testing.T) {
	ks, err := NewKeySchedule(nil, SaltProjectKDF)
	if err == nil || ks != nil {
		t.Fatalf("NewKeySchedule(nil) = %v, %v; want an error", ks, err)
	}
	if !strings.Contains(err.Error(), "needs a URSK") {
		t.Errorf("error %q does not name the missing URSK", err)
	}
}

// TestZeroMemoryKeyStore: every method of the zero MemoryKeyStore returns
// an error or a harmless result instead of panicking, and it stores nothing.
func TestZeroMemoryKeyStore(t *testing.T) {
	var m MemoryKeyStore
	id := SessionID{0, 0, 0, 7}
	if m.Revoke(id) {
		t.Error("Revoke on the zero store reported a stored URSK")
	}
	m.RevokeAll()
	var k URSK
	k[0] = 1
	if err := m.Put(id, &k); !errors.Is(err, ErrKeySlotsFull) {
		t.Errorf("Put on the zero store = %v, want ErrKeySlotsFull", err)
	}
	var dst URSK
	if err := m.RangingKey(id, &dst); !errors.Is(err, ErrNoRangingKey) {
		t.Errorf("RangingKey on the zero store = %v, want ErrNoRangingKey", err)
	}
	if dst != (URSK{}) {
		t.Error("RangingKey on the zero store wrote dst")
	}
	if n := m.Len(); n != 0 {
		t.Errorf("Len of the zero store = %d, want 0", n)
	}
}
