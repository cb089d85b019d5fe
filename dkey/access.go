package dkey

import (
	"strconv"
	"strings"
)

// Action is what a transaction is for: the transaction code sent as P2 of
// AUTH0 (docs/protocol.md §2.5). Both sides bind it into the key derivation.
type Action uint8

// Transaction codes (AUTH0 P2).
const (
	ActionUnlock                Action = 0x01 // unlock (door handle)
	ActionLock                  Action = 0x02 // lock
	ActionEngineStart           Action = 0x03 // engine start, first contact
	ActionEngineStartSubsequent Action = 0x04 // engine start, subsequent
	ActionOther                 Action = 0x05 // other authentication
	ActionUserAuthentication    Action = 0x06 // generic standard transaction requested by the vehicle
	ActionOwnerPairingFirst     Action = 0x07 // first standard transaction after owner pairing
	ActionOwnerPairingSecond    Action = 0x08 // second standard transaction (tracking receipt, spare tokens)
	ActionRangingKey            Action = 0x10 // derive a UWB ranging key (Release 3)
	ActionFirstApproach         Action = 0x11 // first approach after BLE pairing (Release 3)
)

// Valid reports whether a is one of the defined transaction codes.
func (a Action) Valid() bool {
	return (a >= ActionUnlock && a <= ActionOwnerPairingSecond) || a == ActionRangingKey || a == ActionFirstApproach
}

// StartsDrive reports whether a authorises driving: an engine start. The
// vehicle always runs a standard transaction for these and reads the
// immobilizer token.
func (a Action) StartsDrive() bool { return a == ActionEngineStart || a == ActionEngineStartSubsequent }

// Entitlement returns the entitlement a key needs for a, or 0 for the
// generic authentications (other, user authentication), which any key with
// at least one entitlement may run. The mapping is the project's
// (docs/protocol.md §2.5 lists the codes, §9 the entitlement classes): the owner
// pairing transactions need EntitleManage, which only the owner key holds;
// UWB ranging and the first approach serve passive entry and need
// EntitleUnlock; an unknown code needs every entitlement, so no key runs it.
func (a Action) Entitlement() Entitlements {
	switch a {
	case ActionUnlock, ActionRangingKey, ActionFirstApproach:
		return EntitleUnlock
	case ActionLock:
		return EntitleLock
	case ActionEngineStart, ActionEngineStartSubsequent:
		return EntitleEngineStart
	case ActionOwnerPairingFirst, ActionOwnerPairingSecond:
		return EntitleManage
	case ActionOther, ActionUserAuthentication:
		return 0
	}
	return ^Entitlements(0)
}

// String returns the name of the action.
func (a Action) String() string {
	switch a {
	case ActionUnlock:
		return "unlock"
	case ActionLock:
		return "lock"
	case ActionEngineStart:
		return "engine start"
	case ActionEngineStartSubsequent:
		return "engine start (subsequent)"
	case ActionOther:
		return "other authentication"
	case ActionUserAuthentication:
		return "user authentication"
	case ActionOwnerPairingFirst:
		return "owner pairing, first transaction"
	case ActionOwnerPairingSecond:
		return "owner pairing, second transaction"
	case ActionRangingKey:
		return "ranging key"
	case ActionFirstApproach:
		return "first approach"
	}
	return "Action(0x" + strconv.FormatUint(uint64(a), 16) + ")"
}

// Entitlements is the set of things a key may do. The public sources name the
// entitlement classes that users see ("Unlock & Drive", "Access only",
// "Restricted driving", docs/protocol.md §9) but not their encoding; the bit
// assignment below is the project's and is what key attestations carry.
type Entitlements uint32

// Entitlement bits.
const (
	EntitleUnlock      Entitlements = 1 << iota // unlock the doors
	EntitleLock                                 // lock the doors
	EntitleTrunk                                // open the trunk
	EntitleEngineStart                          // start the engine and drive
	EntitleShare                                // share keys with friends (sign key attestations)
	EntitleManage                               // terminate and suspend other keys of the vehicle

	// AccessOnly is "Access only": lock, unlock and trunk, no engine start.
	AccessOnly = EntitleUnlock | EntitleLock | EntitleTrunk
	// UnlockAndDrive is "Unlock & Drive": full access for a friend.
	UnlockAndDrive = AccessOnly | EntitleEngineStart
	// OwnerEntitlements is everything, as the owner key holds it.
	OwnerEntitlements = UnlockAndDrive | EntitleShare | EntitleManage

	knownEntitlements = OwnerEntitlements
)

// Has reports whether e holds every bit of want.
func (e Entitlements) Has(want Entitlements) bool { return e&want == want }

// Known reports whether e holds only defined bits.
func (e Entitlements) Known() bool { return e&^knownEntitlements == 0 }

// String returns the entitlement names separated by "|".
func (e Entitlements) String() string {
	if e == 0 {
		return "none"
	}
	names := [...]string{"unlock", "lock", "trunk", "engine-start", "share", "manage"}
	var parts []string
	for i, n := range names {
		if e&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := e &^ knownEntitlements; rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// AccessProfile is what a key may do and within which limits. The vehicle
// enforces it; the device only carries it (in the key attestation of a shared
// key). The encoding of the limits is the project's choice (docs/protocol.md §9
// names "Restricted driving" without an encoding).
type AccessProfile struct {
	// Entitlements the key holds.
	Entitlements Entitlements
	// MaxSpeed is the vehicle speed limit in km/h while this key drives;
	// 0 means no limit.
	MaxSpeed uint16
}

// OwnerProfile is the access profile of the owner key: every entitlement and
// no limit.
func OwnerProfile() AccessProfile { return AccessProfile{Entitlements: OwnerEntitlements} }

// Allows reports whether the profile lets a key run a transaction for a. A
// profile without entitlements allows nothing.
func (p AccessProfile) Allows(a Action) bool {
	return p.Entitlements != 0 && p.Entitlements.Has(a.Entitlement())
}

// Within reports whether p grants nothing beyond grantor: its entitlements are
// a subset of the grantor's, and its speed limit is at least as strict.
func (p AccessProfile) Within(grantor AccessProfile) bool {
	if !grantor.Entitlements.Has(p.Entitlements) {
		return false
	}
	if grantor.MaxSpeed != 0 && (p.MaxSpeed == 0 || p.MaxSpeed > grantor.MaxSpeed) {
		return false
	}
	return true
}

// String returns a short description such as "unlock|lock, max 80 km/h".
func (p AccessProfile) String() string {
	s := p.Entitlements.String()
	if p.MaxSpeed != 0 {
		s += ", max " + strconv.Itoa(int(p.MaxSpeed)) + " km/h"
	}
	return s
}

// KeyState is the life-cycle state of a key, on the device and in the vehicle.
// The zero value is not a state.
type KeyState uint8

// Key states. A terminated key never returns to another state.
const (
	KeyActive     KeyState = iota + 1 // the key transacts
	KeySuspended                      // the key is disabled until resumed (lost mode)
	KeyTerminated                     // the key is deleted for good
)

// String returns the state name.
func (s KeyState) String() string {
	switch s {
	case KeyActive:
		return "active"
	case KeySuspended:
		return "suspended"
	case KeyTerminated:
		return "terminated"
	}
	return "KeyState(" + strconv.Itoa(int(s)) + ")"
}

// KeyRole says whether a key is the vehicle owner's or a shared (friend) key.
type KeyRole uint8

// Key roles. The zero value is not a role.
const (
	RoleOwner  KeyRole = iota + 1 // created by owner pairing
	RoleFriend                    // created by sharing, attested by the owner key
)

// String returns the role name.
func (r KeyRole) String() string {
	switch r {
	case RoleOwner:
		return "owner"
	case RoleFriend:
		return "friend"
	}
	return "KeyRole(" + strconv.Itoa(int(r)) + ")"
}
