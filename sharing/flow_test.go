package sharing_test

import (
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
)

// TestShareUnlockOnly is the example: the owner shares an
// unlock-only key, the friend unlocks but cannot start the engine, the
// owner revokes, the friend's next tap fails and the device deletes the key.
func TestShareUnlockOnly(t *testing.T) {
	w := newWorld(t)
	issued := w.share(t, w.unlockOnly())
	f, err := w.car.firstFriendTransaction(w.friend)
	if err != nil {
		t.Fatalf("first friend transaction: %v", err)
	}
	if f.Profile != issued.Attestation.Profile || f.Slot != issued.Attestation.FriendSlot {
		t.Errorf("admitted %+v, want the attested key", f)
	}
	area, err := w.car.readArea(w.friend)
	if err != nil || len(area) != 3 {
		t.Errorf("friend's area after 4082 = %x, %v; want empty", area, err)
	}
	res, err := w.car.transact(t, w.friend, dkey.ActionUnlock)
	if err != nil {
		t.Fatalf("friend unlock: %v", err)
	}
	if res.Profile.MaxSpeed != 80 || res.Role != dkey.RoleFriend {
		t.Errorf("friend unlock result = %+v", res)
	}
	if _, err := w.car.transact(t, w.friend, dkey.ActionEngineStart); !errors.Is(err, dkey.ErrNotEntitled) {
		t.Errorf("friend engine start: %v, want ErrNotEntitled", err)
	}
	if _, err := w.car.transact(t, w.owner, dkey.ActionEngineStart); err != nil {
		t.Errorf("owner engine start: %v", err)
	}
}
