package device_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/leakcheck"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

const fillName = "github.com/opencarkey/sdk/internal/ecdhe.(*Pool).fill"

// auth0Probe hands commands to the applet and records how many keys its
// pool has ready once it has answered AUTH0.
type auth0Probe struct {
	a     *device.Applet
	ready int
}

func (p *auth0Probe) ProcessAPDU(dst, apdu []byte) []byte {
	dst = p.a.ProcessAPDU(dst, apdu)
	if len(apdu) > 1 && apdu[0] == 0x80 && apdu[1] == 0x80 { // AUTH0
		p.ready = p.a.EphemeralKeysReady()
	}
	return dst
}

// waitReady waits until the applet's pool has n keys ready.
func waitReady(a *device.Applet, n int) {
	for a.EphemeralKeysReady() < n {
		time.Sleep(20 * time.Microsecond)
	}
}

// TestEphemeralPool: with Config.EphemeralKeys the applet answers AUTH0
// with a key from its pool (the slot stays taken until the transaction
// ends, then the pool refills it), a field reset in the middle of a
// transaction gives the slot back, and Close stops the pool's goroutine.
func TestEphemeralPool(t *testing.T) {
	leakcheck.WaitNone(t, fillName)
	const n = 2
	a, err := device.NewApplet(&device.Config{EphemeralKeys: n})
	if err != nil {
		t.Fatal(err)
	}
	if c := leakcheck.Count(fillName); c != 1 {
		t.Errorf("%d pool goroutines for one applet, want 1", c)
	}
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN-POOL"))
	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile()}); err != nil {
		t.Fatal(err)
	}
	probe := &auth0Probe{a: a}
	card := transporttest.NewCard(probe)
	for i, fast := range []bool{false, true} {
		waitReady(a, n)
		res, err := r.Transact(context.Background(), card, dkey.ActionUnlock)
		if err != nil || res.Fast != fast {
			t.Fatalf("transaction %d: fast %v, %v; want fast %v", i, res.Fast, err, fast)
		}
		if probe.ready != n-1 {
			t.Errorf("transaction %d: %d keys ready after AUTH0, want %d", i, probe.ready, n-1)
		}
	}

	// A phone that leaves the field after AUTH0: the reset ends the
	// transaction, and the slot is refilled.
	waitReady(a, n)
	leaveAfterAuth0(t, a, vid)
	if got := a.EphemeralKeysReady(); got != n-1 {
		t.Errorf("%d keys ready during a transaction, want %d", got, n-1)
	}
	a.Reset()
	waitReady(a, n) // ends: the reset gave the slot back

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	leakcheck.WaitNone(t, fillName)
	if got := a.EphemeralKeysReady(); got != 0 {
		t.Errorf("%d keys ready after Close, want 0", got)
	}
}

// leaveAfterAuth0 runs a transaction with the applet for vid up to AUTH0,
// then takes the phone away without telling the applet: its transaction
// stays open.
func leaveAfterAuth0(t *testing.T, a *device.Applet, vid dkey.VehicleID) {
	t.Helper()
	vk, _ := dkey.GenerateSoftwareKey()
	// The vehicle need not know the key: AUTH0 is answered before anyone
	// authenticates.
	r, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := &stopAfterAuth0{card: transporttest.NewCard(a)}
	_, _ = r.Transact(context.Background(), stop, dkey.ActionUnlock)
	if !stop.sent {
		t.Fatal("the reader sent no AUTH0")
	}
}

// stopAfterAuth0 passes commands to the card up to AUTH0's, then fails
// as a card that left the field, without telling the applet.
type stopAfterAuth0 struct {
	card *transporttest.Card
	sent bool
}

func (s *stopAfterAuth0) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	if s.sent {
		return dst, transport.ErrCardRemoved
	}
	s.sent = len(cmd) > 1 && cmd[0] == 0x80 && cmd[1] == 0x80 // AUTH0
	return s.card.Transceive(ctx, dst, cmd)
}

// TestEphemeralPoolOff: no goroutine runs without EphemeralKeys or with
// Rand (the deterministic mode draws every ephemeral key from Rand), and
// a size out of range is refused.
func TestEphemeralPoolOff(t *testing.T) {
	leakcheck.WaitNone(t, fillName)
	for _, cfg := range []*device.Config{{}, {EphemeralKeys: 4, Rand: fixedRand(7)}} {
		a, err := device.NewApplet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c := leakcheck.Count(fillName); c != 0 {
			t.Errorf("%d pool goroutines with EphemeralKeys %d and Rand %v", c, cfg.EphemeralKeys, cfg.Rand != nil)
		}
		if got := a.EphemeralKeysReady(); got != 0 {
			t.Errorf("%d keys ready without a pool", got)
		}
		a.Close()
	}
	for _, n := range []int{-1, 65} {
		if _, err := device.NewApplet(&device.Config{EphemeralKeys: n}); err == nil {
			t.Errorf("NewApplet with EphemeralKeys %d succeeded", n)
		}
	}
	leakcheck.WaitNone(t, fillName)
}
