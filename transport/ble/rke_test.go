package ble

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// enrolledKey is what the test vehicle knows of a key.
type enrolledKey struct {
	PublicKey *dkey.PublicKey
	State     dkey.KeyState
	Profile   dkey.AccessProfile
	NotAfter  time.Time // zero: unbounded
}

// keyTable is an RKEKeys over a map, as a vehicle's key store, with the
// vehicle's clock for validity windows.
type keyTable struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[dkey.KeySlot]enrolledKey
}

func (k *keyTable) RKEKey(slot dkey.KeySlot) (*dkey.PublicKey, dkey.KeyState, dkey.AccessProfile, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[slot]
	switch {
	case !ok:
		return nil, 0, dkey.AccessProfile{}, dkey.ErrUnknownKey
	case !key.NotAfter.IsZero() && k.now != nil && !k.now().Before(key.NotAfter):
		return nil, 0, dkey.AccessProfile{}, dkey.ErrKeyExpired
	}
	return key.PublicKey, key.State, key.Profile, nil
}

func (k *keyTable) set(slot dkey.KeySlot, f func(*enrolledKey)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := k.keys[slot]
	f(&key)
	k.keys[slot] = key
}

// rkeFixture is a vehicle with one owner key and one access-only friend
// key, and the devices holding them.
type rkeFixture struct {
	now           time.Time
	keys          *keyTable
	vehicle       *RKEVehicle
	vid           dkey.VehicleID
	owner, friend dkey.KeySlot
	ownerDevice   *RKEDevice
	friendDevice  *RKEDevice
	otherDevice   *RKEDevice // a key the vehicle does not know, claiming the owner's slot
}

func mustSlot(t testing.TB, b ...byte) dkey.KeySlot {
	t.Helper()
	s, err := dkey.NewKeySlot(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRKEFixture(t testing.TB, functions map[FunctionID]ActionType) *rkeFixture {
	t.Helper()
	f := &rkeFixture{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), keys: &keyTable{keys: map[dkey.KeySlot]enrolledKey{}}}
	f.keys.now = func() time.Time { return f.now }
	var err error
	if f.vid, err = dkey.NewVehicleID([]byte("VIN00001")); err != nil {
		t.Fatal(err)
	}
	f.owner, f.friend = mustSlot(t, 1, 1), mustSlot(t, 2, 2)
	newKey := func() *dkey.SoftwareKey {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ok, fk, other := newKey(), newKey(), newKey()
	f.keys.keys[f.owner] = enrolledKey{PublicKey: ok.PublicKey(), State: dkey.KeyActive, Profile: dkey.OwnerProfile()}
	f.keys.keys[f.friend] = enrolledKey{PublicKey: fk.PublicKey(), State: dkey.KeyActive,
		Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock | dkey.EntitleLock}, NotAfter: f.now.Add(time.Hour)}
	f.vehicle, err = NewRKEVehicle(&RKEConfig{Keys: f.keys, Functions: functions, Time: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.ownerDevice = NewRKEDevice(f.vid, &CryptoRKESigner{Vehicle: f.vid, Signer: ok})
	f.friendDevice = NewRKEDevice(f.vid, &CryptoRKESigner{Vehicle: f.vid, Signer: fk})
	f.otherDevice = NewRKEDevice(f.vid, &CryptoRKESigner{Vehicle: f.vid, Signer: other})
	return f
}

var trunk = RKERequest{Function: FunctionTrunkManual, Action: ActionActivate}

// run makes one RKE exchange: the device asks, the vehicle challenges the
// key of slot, the device answers, the vehicle verifies.
func (f *rkeFixture) run(d *RKEDevice, slot dkey.KeySlot, req RKERequest) (RKEGrant, error) {
	if _, err := d.Request(req); err != nil {
		return RKEGrant{}, err
	}
	c, err := f.vehicle.Challenge(slot, req)
	if err != nil {
		return RKEGrant{}, err
	}
	sig, _, err := d.Answer(c)
	if err != nil {
		return RKEGrant{}, err
	}
	return f.vehicle.Verify(c, sig)
}

// answered makes the device ask for req, the vehicle challenge the key of
// slot, and the device sign, and returns the challenge and the signature
// for the test to verify.
func (f *rkeFixture) answered(t *testing.T, d *RKEDevice, slot dkey.KeySlot, req RKERequest) (Challenge, dkey.Signature) {
	t.Helper()
	if _, err := d.Request(req); err != nil {
		t.Fatal(err)
	}
	c, err := f.vehicle.Challenge(slot, req)
	if err != nil {
		t.Fatalf("Challenge(%v, %v): %v", slot, req, err)
	}
	sig, _, err := d.Answer(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, sig
}

func (f *rkeFixture) pending() int {
	f.vehicle.mu.Lock()
	defer f.vehicle.mu.Unlock()
	return len(f.vehicle.pending)
}

func TestRKE(t *testing.T) {
	f := newRKEFixture(t, nil)
	g, err := f.run(f.ownerDevice, f.owner, trunk)
	if err != nil {
		t.Fatal(err)
	}
	if g.Slot != f.owner || g.Request != trunk || g.Profile != dkey.OwnerProfile() {
		t.Errorf("grant %+v", g)
	}
	if _, err := f.run(f.friendDevice, f.friend, RKERequest{Function: FunctionCentralLocking, Action: ActionDeactivate}); err != nil {
		t.Errorf("friend unlocks: %v", err)
	}
	if n := f.pending(); n != 0 {
		t.Errorf("%d challenges left pending", n)
	}
}

// TestRKERefusals runs the failures the vehicle must catch: each is a typed
// error, issues no challenge or consumes the one it answered, and leaves
// the keys as they were.
func TestRKERefusals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		run    func(t *testing.T, f *rkeFixture) error
		want   error
		status ExecutionStatus
	}{
		{"signature by another key", func(t *testing.T, f *rkeFixture) error {
			_, err := f.run(f.otherDevice, f.owner, trunk)
			return err
		}, dkey.ErrVerification, ExecAuthenticationError},
		{"suspended key", func(t *testing.T, f *rkeFixture) error {
			f.keys.set(f.owner, func(k *enrolledKey) { k.State = dkey.KeySuspended })
			_, err := f.run(f.ownerDevice, f.owner, trunk)
			return err
		}, dkey.ErrKeySuspended, ExecAuthenticationError},
		{"suspended after the challenge", func(t *testing.T, f *rkeFixture) error {
			c, sig := f.answered(t, f.ownerDevice, f.owner, trunk)
			f.keys.set(f.owner, func(k *enrolledKey) { k.State = dkey.KeySuspended })
			_, err := f.vehicle.Verify(c, sig)
			return err
		}, dkey.ErrKeySuspended, ExecAuthenticationError},
		{"terminated key", func(t *testing.T, f *rkeFixture) error {
			f.keys.set(f.owner, func(k *enrolledKey) { k.State = dkey.KeyTerminated })
			_, err := f.run(f.ownerDevice, f.owner, trunk)
			return err
		}, dkey.ErrKeyTerminated, ExecAuthenticationError},
		{"unknown slot", func(t *testing.T, f *rkeFixture) error {
			_, err := f.run(f.ownerDevice, mustSlot(t, 9), trunk)
			return err
		}, dkey.ErrUnknownKey, ExecAuthenticationError},
		{"expired key", func(t *testing.T, f *rkeFixture) error {
			f.now = f.now.Add(2 * time.Hour)
			_, err := f.run(f.friendDevice, f.friend, RKERequest{Function: FunctionCentralLocking, Action: ActionActivate})
			return err
		}, dkey.ErrKeyExpired, ExecAuthenticationError},
		{"function not entitled", func(t *testing.T, f *rkeFixture) error {
			_, err := f.run(f.friendDevice, f.friend, trunk)
			return err
		}, dkey.ErrNotEntitled, ExecInsufficientEntitlements},
		{"entitlement withdrawn after the challenge", func(t *testing.T, f *rkeFixture) error {
			c, sig := f.answered(t, f.ownerDevice, f.owner, trunk)
			f.keys.set(f.owner, func(k *enrolledKey) { k.Profile = dkey.AccessProfile{Entitlements: dkey.EntitleUnlock} })
			_, err := f.vehicle.Verify(c, sig)
			return err
		}, dkey.ErrNotEntitled, ExecInsufficientEntitlements},
		{"replayed challenge", func(t *testing.T, f *rkeFixture) error {
			c, sig := f.answered(t, f.ownerDevice, f.owner, trunk)
			if _, err := f.vehicle.Verify(c, sig); err != nil {
				t.Fatalf("first answer: %v", err)
			}
			_, err := f.vehicle.Verify(c, sig)
			return err
		}, ErrChallengeUsed, ExecAuthenticationError},
		{"replayed signature on a new challenge", func(t *testing.T, f *rkeFixture) error {
			c, sig := f.answered(t, f.ownerDevice, f.owner, trunk)
			if _, err := f.vehicle.Verify(c, sig); err != nil {
				t.Fatalf("first answer: %v", err)
			}
			c2, _ := f.vehicle.Challenge(f.owner, trunk)
			_, err := f.vehicle.Verify(c2, sig)
			return err
		}, dkey.ErrVerification, ExecAuthenticationError},
		{"failed answer uses the challenge up", func(t *testing.T, f *rkeFixture) error {
			c, sig := f.answered(t, f.ownerDevice, f.owner, trunk)
			bad := sig
			bad[63] ^= 1
			if _, err := f.vehicle.Verify(c, bad); !errors.Is(err, dkey.ErrVerification) {
				t.Fatalf("bad signature: %v", err)
			}
			_, err := f.vehicle.Verify(c, sig)
			return err
		}, ErrChallengeUsed, ExecAuthenticationError},
		{"unknown challenge", func(t *testing.T, f *rkeFixture) error {
			_, err := f.vehicle.Verify(Challenge{1, 2, 3}, dkey.Signature{})
			return err
		}, ErrUnknownChallenge, ExecAuthenticationError},
		{"late answer", func(t *testing.T, f *rkeFixture) error {
			c, sig := f.answered(t, f.ownerDevice, f.owner, trunk)
			f.now = f.now.Add(DefaultChallengeLifetime + time.Second)
			_, err := f.vehicle.Verify(c, sig)
			return err
		}, ErrChallengeExpired, ExecAuthenticationError},
		{"device signs only its own request", func(t *testing.T, f *rkeFixture) error {
			// The vehicle challenges for the trunk; the user asked to lock.
			f.ownerDevice.Request(RKERequest{Function: FunctionCentralLocking, Action: ActionActivate})
			c, _ := f.vehicle.Challenge(f.owner, trunk)
			sig, _, _ := f.ownerDevice.Answer(c)
			_, err := f.vehicle.Verify(c, sig)
			return err
		}, dkey.ErrVerification, ExecAuthenticationError},
		{"function not offered", func(t *testing.T, f *rkeFixture) error {
			_, err := f.run(f.ownerDevice, f.owner, RKERequest{Function: FunctionRoof, Action: ActionActivate})
			return err
		}, ErrFunctionNotSupported, ExecFunctionNotSupported},
		{"function listed as not supported", func(t *testing.T, f *rkeFixture) error {
			_, err := f.run(f.ownerDevice, f.owner, RKERequest{Function: FunctionPanicAlarm, Action: ActionActivate})
			return err
		}, ErrFunctionNotSupported, ExecFunctionNotSupported},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newRKEFixture(t, map[FunctionID]ActionType{
				FunctionTrunkManual: ActionTypeExecution, FunctionCentralLocking: ActionTypeExecution,
				FunctionPanicAlarm: ActionTypeFunctionNotSupported,
			})
			err := tt.run(t, f)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if got := RefusalStatus(err); got != tt.status {
				t.Errorf("RefusalStatus(%v) = %v, want %v", err, got, tt.status)
			}
			if n := f.pending(); n != 0 {
				t.Errorf("%d challenges left pending", n)
			}
		})
	}
}

// TestRKEKnownAnswer verifies a signature OpenSSL made over the message of
// testdata/rke-openssl.json with a fixed challenge.
func TestRKEKnownAnswer(t *testing.T) {
	raw, err := os.ReadFile("testdata/rke-openssl.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Challenge, Function, Action, Digest, Signature string
		PublicKey                                      string `json:"public_key"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	c, err := ParseChallenge(unhex(t, v.Challenge))
	if err != nil {
		t.Fatal(err)
	}
	fn, act := unhex(t, v.Function), unhex(t, v.Action)
	req := RKERequest{Function: FunctionID(uint16(fn[0])<<8 | uint16(fn[1])), Action: ActionID(act[0])}
	if d := RKEDigest(&c, req); fmt.Sprintf("%x", d) != v.Digest {
		t.Errorf("RKEDigest = %x, want %s", d, v.Digest)
	}
	pub, err := dkey.ParsePublicKey(unhex(t, v.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ParseRKEResponse(unhex(t, v.Signature))
	if err != nil {
		t.Fatal(err)
	}
	slot := mustSlot(t, 7)
	keys := &keyTable{keys: map[dkey.KeySlot]enrolledKey{slot: {PublicKey: pub, State: dkey.KeyActive, Profile: dkey.OwnerProfile()}}}
	veh, err := NewRKEVehicle(&RKEConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	veh.issue(slot, req, c, time.Now())
	if g, err := veh.Verify(c, sig); err != nil || g.Request != req {
		t.Errorf("Verify(OpenSSL signature) = %+v, %v", g, err)
	}
}

func TestRKEEviction(t *testing.T) {
	f := newRKEFixture(t, nil)
	var first Challenge
	for i := range MaxPendingChallenges + 1 {
		c, err := f.vehicle.Challenge(f.owner, trunk)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c
		}
	}
	if n := f.pending(); n != MaxPendingChallenges {
		t.Errorf("%d pending, want %d", n, MaxPendingChallenges)
	}
	if _, err := f.vehicle.Verify(first, dkey.Signature{}); !errors.Is(err, ErrUnknownChallenge) {
		t.Errorf("evicted challenge: %v", err)
	}
}

func TestRKEChallengesDiffer(t *testing.T) {
	f := newRKEFixture(t, nil)
	seen := map[Challenge]bool{}
	for range 8 {
		c, err := f.vehicle.Challenge(f.owner, trunk)
		if err != nil || seen[c] || c == (Challenge{}) {
			t.Fatalf("challenge %x, %v (seen %v)", c, err, seen[c])
		}
		seen[c] = true
	}
}

func TestRKEDevice(t *testing.T) {
	f := newRKEFixture(t, nil)
	if _, _, err := f.ownerDevice.Answer(Challenge{}); !errors.Is(err, ErrNoRequest) {
		t.Errorf("Answer without a request: %v", err)
	}
	if _, err := f.ownerDevice.Request(RKERequest{Function: 0x9999}); !errors.Is(err, ErrUnknownValue) {
		t.Errorf("Request of an unknown function: %v", err)
	}
	e, err := f.ownerDevice.Request(trunk)
	if err != nil || e.Subevent != SubeventRKERequest || e.RKE != trunk {
		t.Fatalf("Request = %+v, %v", e, err)
	}
	if _, req, err := f.ownerDevice.Answer(Challenge{}); err != nil || req != trunk {
		t.Errorf("Answer = %v, %v", req, err)
	}
	if _, _, err := f.ownerDevice.Answer(Challenge{}); !errors.Is(err, ErrNoRequest) {
		t.Errorf("second Answer: %v", err)
	}
	other, _ := dkey.NewVehicleID([]byte("VIN00002"))
	d := NewRKEDevice(other, f.ownerDevice.signer)
	d.Request(trunk)
	if _, _, err := d.Answer(Challenge{}); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("signer for another vehicle: %v", err)
	}
}

func TestNewRKEVehicle(t *testing.T) {
	if _, err := NewRKEVehicle(nil); err == nil {
		t.Error("NewRKEVehicle(nil) works")
	}
	if _, err := NewRKEVehicle(&RKEConfig{Keys: &keyTable{}, Functions: map[FunctionID]ActionType{FunctionRoof: 0x07}}); !errors.Is(err, ErrUnknownValue) {
		t.Errorf("action type 07: %v", err)
	}
	functions := map[FunctionID]ActionType{FunctionRoof: ActionTypeExecution}
	f := newRKEFixture(t, functions)
	functions[FunctionTrunkManual] = ActionTypeExecution // the vehicle copied the map
	if _, err := f.vehicle.Challenge(f.owner, trunk); !errors.Is(err, ErrFunctionNotSupported) {
		t.Errorf("function added to the caller's map after NewRKEVehicle: %v", err)
	}
}

func TestEntitlements(t *testing.T) {
	for _, tt := range []struct {
		f    FunctionID
		a    ActionID
		want dkey.Entitlements
	}{
		{FunctionCentralLocking, ActionDeactivate, dkey.EntitleUnlock},
		{FunctionCentralLocking, ActionActivate, dkey.EntitleLock},
		{FunctionLockAndSecure, ActionActivate, dkey.EntitleLock},
		{FunctionTrunkManual, ActionActivate, dkey.EntitleTrunk},
		{FunctionFrunkPower, ActionDeactivate, dkey.EntitleTrunk},
		{FunctionDoorRearRight, ActionActivate, dkey.EntitleUnlock},
		{FunctionWindows, ActionDeactivate, dkey.EntitleLock},
		{FunctionFuelLid, ActionActivate, dkey.EntitleUnlock},
		{FunctionDrivingReadiness, ActionActivate, dkey.EntitleEngineStart},
		{FunctionRemoteClimatisation, ActionActivate, dkey.EntitleEngineStart},
		{FunctionLowPowerMode, ActionDeactivate, dkey.EntitleEngineStart},
		{FunctionPanicAlarm, ActionActivate, dkey.EntitleLock},
		{FunctionLowFuelStatus, ActionActivate, 0},
		{0x0003, ActionActivate, ^dkey.Entitlements(0)},
		{FunctionRoof, 0x02, ^dkey.Entitlements(0)},
	} {
		if got := tt.f.Entitlement(tt.a); got != tt.want {
			t.Errorf("%v.Entitlement(%v) = %v, want %v", tt.f, tt.a, got, tt.want)
		}
	}
	for f := FunctionID(0); f < 0x0200; f++ {
		if f.Known() && f.Entitlement(ActionActivate) == ^dkey.Entitlements(0) {
			t.Errorf("known function %v has no entitlement", f)
		}
	}
}

func TestRKEMessages(t *testing.T) {
	if _, err := ParseChallenge(make([]byte, 15)); !errors.Is(err, ErrMalformed) {
		t.Errorf("15-byte challenge: %v", err)
	}
	if _, err := ParseChallenge(make([]byte, 17)); !errors.Is(err, ErrMalformed) {
		t.Errorf("17-byte challenge: %v", err)
	}
	for _, b := range [][]byte{make([]byte, 63), make([]byte, 65), make([]byte, 64)} {
		if _, err := ParseRKEResponse(b); !errors.Is(err, ErrMalformed) || !errors.Is(err, dkey.ErrInvalidSignature) {
			t.Errorf("RKE_Auth_RS of %d bytes: %v", len(b), err)
		}
	}
	if got := RefusalStatus(nil); got != ExecNoStatus {
		t.Errorf("RefusalStatus(nil) = %v", got)
	}
	if got := RefusalStatus(fmt.Errorf("x: %w", ErrLinkClosed)); got != ExecDeviceOutOfRange {
		t.Errorf("RefusalStatus(link closed) = %v", got)
	}
	for _, v := range []ActionType{0x05, 0x80, 0xFE} {
		if v.Valid() || v.Supported() {
			t.Errorf("action type %v valid", v)
		}
	}
	for _, v := range []ExecutionStatus{0x04, 0x0F, 0x15, 0x4F, 0xF8, 0xFD} {
		if v.Valid() {
			t.Errorf("execution status %v valid", v)
		}
	}
}
