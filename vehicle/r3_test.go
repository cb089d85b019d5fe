package vehicle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/ble"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// r3Clock is the settable clock both sides of an r3World read.
type r3Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *r3Clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *r3Clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// r3World is a vehicle and a phone with an owner key enrolled directly,
// both with their state in a store and one settable clock, for the
// Release 3 tests: BLE links, remote keyless entry, ranging keys.
type r3World struct {
	clock          *r3Clock
	vcfg           Config
	dcfg           device.Config
	vstore, dstore *store.Memory
	reader         *Reader
	applet         *device.Applet
	card           *transporttest.Card
	vid            dkey.VehicleID
	slot           dkey.KeySlot
}

// newR3World builds the world; opt changes the two configurations and
// enrol the key's enrolment, when they are not nil.
func newR3World(t testing.TB, opt func(*Config, *device.Config), enrol func(*Enrollment)) *r3World {
	t.Helper()
	w := &r3World{clock: &r3Clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}, vstore: store.NewMemory(), dstore: store.NewMemory()}
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	w.vid, _ = dkey.NewVehicleID([]byte("VIN-R3-1"))
	w.vcfg = Config{VehicleID: w.vid, Key: vk, Time: w.clock.now, KEK: testKEK(t, 3)}
	dkek, err := device.SoftwareKEK(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	w.dcfg = device.Config{Time: w.clock.now, KEK: dkek}
	if opt != nil {
		opt(&w.vcfg, &w.dcfg)
	}
	w.open(t)
	mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64, ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16}}
	info, err := w.applet.CreateKey(device.KeyConfig{VehicleID: w.vid, VehicleKey: w.reader.PublicKey(), Mailboxes: mb})
	if err != nil {
		t.Fatal(err)
	}
	w.slot = info.Slot
	e := Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), ImmobilizerToken: []byte("immobilizer-r3-1"), Mailboxes: mb}
	if enrol != nil {
		enrol(&e)
	}
	if err := w.reader.Enroll(e); err != nil {
		t.Fatal(err)
	}
	return w
}

// open opens both sides from their stores.
func (w *r3World) open(t testing.TB) {
	t.Helper()
	vcfg, dcfg := w.vcfg, w.dcfg
	vcfg.Store, dcfg.Store = w.vstore.Reopen(), w.dstore.Reopen()
	var err error
	if w.reader, err = NewReader(&vcfg); err != nil {
		t.Fatal(err)
	}
	if w.applet, err = device.NewApplet(&dcfg); err != nil {
		t.Fatal(err)
	}
	w.card = transporttest.NewCard(w.applet)
}

// restart closes both sides and opens them again from their stores.
func (w *r3World) restart(t testing.TB) {
	t.Helper()
	if err := errors.Join(w.reader.Close(), w.applet.Close()); err != nil {
		t.Fatal(err)
	}
	w.open(t)
}

// bleLink serves applet over an in-process BLE link whose device side
// hands it the interface byte serve, and returns the vehicle's tunnel
// reporting tunnel (zero: the default, C3). The cleanup closes the link.
func bleLink(t testing.TB, applet *device.Applet, tunnel, serve byte) *ble.Tunnel {
	t.Helper()
	a, b := ble.Pipe(0)
	done := make(chan error, 1)
	go func() {
		done <- ble.Serve(context.Background(), ble.NewChannel(b, nil), applet, &ble.ServerConfig{Interface: serve})
	}()
	t.Cleanup(func() {
		a.Close()
		<-done
	})
	return ble.NewTunnel(ble.NewChannel(a, nil), &ble.TunnelConfig{Interface: tunnel})
}

// Both sides implement the consumer interfaces of transport/ble and of
// ranging with their own types.
var (
	_ ble.RKEKeys           = (*Reader)(nil)
	_ ble.RKESigner         = (*device.Applet)(nil)
	_ ble.InterfaceCard     = (*device.Applet)(nil)
	_ ranging.KeyStore      = (*Reader)(nil)
	_ ranging.KeyStore      = (*device.Applet)(nil)
	_ interfaceReporter     = (*ble.Tunnel)(nil)
	_ linkDescriber         = (*ble.Tunnel)(nil)
	_ transport.Transceiver = (*ble.Tunnel)(nil)
)

// TestInterfaceByte checks that the interface byte flows into the key
// derivation on both sides (docs/protocol.md §4.4, §11 row 7): over BLE both
// bind C3 by default and agree; a vehicle and a device that bind
// different bytes fail the standard transaction as a wrong key would,
// with a typed error and nothing changed; NFC keeps 5E; and one applet
// serves both interfaces in turn, each transaction in its own.
func TestInterfaceByte(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		tunnel, served byte
		ok             bool
	}{
		{"C3 both (default)", 0, 0, true},
		{"5E both", ble.InterfaceNFC, ble.InterfaceNFC, true},
		{"vehicle C3, device 5E", ble.InterfaceBLE, ble.InterfaceNFC, false},
		{"vehicle 5E, device C3", ble.InterfaceNFC, ble.InterfaceBLE, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newR3World(t, nil, nil)
			vk, dk := w.reader.Keys(), w.applet.Keys()
			res, err := w.reader.Transact(ctx, bleLink(t, w.applet, tc.tunnel, tc.served), dkey.ActionUnlock)
			if tc.ok {
				if err != nil || res.Fast || !res.OK() {
					t.Fatalf("standard unlock over BLE = %+v, %v", res, err)
				}
				return
			}
			// The device's AUTH1 response is sealed with keys the vehicle
			// did not derive: a secure channel failure, 0005.
			if !errors.Is(err, transaction.ErrChannel) || res.ControlFlow != transaction.CFInvalidChannel || !res.Slot.IsZero() {
				t.Fatalf("unlock with disagreeing interface bytes = %+v, %v; want ErrChannel and CONTROL FLOW 0005", res, err)
			}
			if fmt.Sprint(vk) != fmt.Sprint(w.reader.Keys()) || w.applet.Keys()[0].HasPersistent != dk[0].HasPersistent {
				t.Errorf("a failed transaction changed the keys")
			}
		})
	}

	// One applet, both interfaces: the Kpersistent of a standard
	// transaction over BLE serves a fast one over NFC (the fast
	// derivation binds the interface too: both sides use NFC's there),
	// and the other way round.
	w := newR3World(t, nil, nil)
	for i, step := range []struct {
		overBLE bool
		fast    bool
	}{{true, false}, {false, true}, {true, true}, {false, true}} {
		var tr transport.Transceiver = w.card
		if step.overBLE {
			tr = bleLink(t, w.applet, 0, 0)
		}
		res, err := w.reader.Transact(ctx, tr, dkey.ActionUnlock)
		if err != nil || res.Fast != step.fast {
			t.Fatalf("step %d (BLE %v): %+v, %v, want fast %v", i, step.overBLE, res, err, step.fast)
		}
	}
}

// TestInterfaceSwitchAborts checks that a command from another interface
// ends the transaction in progress: AUTH1 over NFC after AUTH0 over BLE is
// out of sequence.
func TestInterfaceSwitchAborts(t *testing.T) {
	w := newR3World(t, nil, nil)
	s := w.reader.v.NewSession()
	if err := s.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	do := func(iface byte, cmd transport.Command) transport.Response {
		t.Helper()
		apdu, err := cmd.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := transport.ParseResponse(w.applet.ProcessAPDUOn(iface, nil, apdu))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := s.ReadSelect(do(transaction5E, s.Select())); err != nil {
		t.Fatal(err)
	}
	cmd, _ := s.Auth0()
	if err := s.ReadAuth0(do(transaction5E, cmd)); err != nil {
		t.Fatal(err)
	}
	cmd, _ = s.Auth1()
	if r := do(ble.InterfaceBLE, cmd); r.SW != dkey.SWConditionsNotSatisfied {
		t.Errorf("AUTH1 from another interface = %v, want 6985 (the applet was deselected)", r.SW)
	}
}

const transaction5E = ble.InterfaceNFC

// TestPairOverBLE runs owner pairing over the BLE tunnel: certificates
// longer than 255 bytes travel in extended APDUs, as the tunnel refuses
// chained ones; the first transaction binds C3 on both sides; the BLE keys
// of pairing are the same on both sides and survive a restart of each.
func TestPairOverBLE(t *testing.T) {
	vm, vkek := store.NewMemory(), testKEK(t, 9)
	w := newPairWorldWith(t, 3, func(c *Config) { c.Store, c.KEK = vm.Reopen(), vkek })
	w.install(t, pairCode)
	if err := w.phone.applet.StartPairing([]byte(pairCode)); err != nil {
		t.Fatal(err)
	}
	a, b := ble.Pipe(0)
	rec := &sduRecorder{Conn: a}
	done := make(chan error, 1)
	go func() { done <- ble.Serve(context.Background(), ble.NewChannel(b, nil), w.phone.applet, nil) }()
	res, err := w.reader.Pair(context.Background(), ble.NewTunnel(ble.NewChannel(rec, nil), nil))
	a.Close()
	<-done
	if err != nil || !res.FirstTransaction.OK() {
		t.Fatalf("Pair over BLE = %+v, %v", res, err)
	}
	if rec.longest <= 4+5+255 || !rec.extended {
		t.Errorf("longest DK_APDU_RQ %d bytes, extended %v: the certificates should need extended APDUs", rec.longest, rec.extended)
	}
	vkeys, err := w.reader.BLEKeys(res.Slot)
	if err != nil {
		t.Fatal(err)
	}
	dkeys, err := w.phone.applet.BLEKeys(w.reader.ID())
	if err != nil {
		t.Fatal(err)
	}
	if vkeys != dkeys || vkeys.Intro == ([16]byte{}) || vkeys.Intro == vkeys.OOBMaster {
		t.Fatalf("BLE keys differ between the vehicle and the device")
	}
	if _, err := w.reader.BLEKeys(dkey.KeySlot{}); !errors.Is(err, dkey.ErrUnknownKey) {
		t.Errorf("BLEKeys of an unknown slot = %v", err)
	}
	// The first approach over BLE authenticates with them (transport/ble):
	// the device's request, sealed with its keys, verifies with the
	// vehicle's.
	fa := ble.FirstApproach{OOB: ble.OOBData{Address: [6]byte{1, 2, 3, 4, 5, 6}, Confirm: [16]byte{7}, Random: [16]byte{8}}}
	dk, vk := ble.OwnerKeys(dkeys), ble.OwnerKeys(vkeys)
	if err := fa.Seal(&dk, ble.KindFirstApproachRQ); err != nil {
		t.Fatal(err)
	}
	if err := fa.Verify(&vk, ble.KindFirstApproachRQ); err != nil {
		t.Errorf("first approach sealed by the device, verified by the vehicle: %v", err)
	}

	// The vehicle keeps them across a restart.
	if err := w.reader.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := *w.cfg
	cfg.Store = vm.Reopen()
	r, err := NewReader(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := r.BLEKeys(res.Slot); err != nil || k != vkeys {
		t.Errorf("BLE keys after a restart: %v", err)
	}
	// They go with the key.
	if err := r.Remove(res.Slot); err != nil {
		t.Fatal(err)
	}
	r.Close()
	cfg.Store = vm.Reopen()
	if r, err = NewReader(&cfg); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := countRecords(t, vm, "vehicle/"+recBLE); n != 0 {
		t.Errorf("%d BLE key records after the key's removal", n)
	}

	// The device keeps them with the key, and erases them with it.
	if err := w.phone.applet.Terminate(w.reader.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.phone.applet.BLEKeys(w.reader.ID()); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("device BLEKeys after termination = %v", err)
	}
}

// countRecords counts the records of st under prefix.
func countRecords(t testing.TB, st *store.Memory, prefix string) int {
	t.Helper()
	n := 0
	if err := st.Scan([]byte(prefix), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// sduRecorder is a vehicle-side BLE Conn that notes the longest DK_APDU_RQ
// and whether an extended APDU went out.
type sduRecorder struct {
	ble.Conn
	mu       sync.Mutex
	longest  int
	extended bool
}

func (r *sduRecorder) WriteSDU(ctx context.Context, b []byte) error {
	r.mu.Lock()
	if m, err := ble.ParseMessage(b); err == nil && m.Kind == ble.KindDKAPDURQ {
		r.longest = max(r.longest, len(b))
		if cmd, err := transport.ParseCommand(m.Data); err == nil && cmd.IsExtended() {
			r.extended = true
		}
	}
	r.mu.Unlock()
	return r.Conn.WriteSDU(ctx, b)
}

// TestBLEAllocations pins that a fast transaction through the BLE tunnel
// allocates no more than one with an in-memory card: the interface's
// sessions are pooled and the tunnel's framing reuses its buffers.
func TestBLEAllocations(t *testing.T) {
	if race.Enabled {
		return // allocations are not counted under the race detector
	}
	w := newR3World(t, nil, nil)
	tunnel := bleLink(t, w.applet, 0, 0)
	ctx := context.Background()
	fast := func(tr transport.Transceiver) func() {
		return func() {
			if res, err := w.reader.Transact(ctx, tr, dkey.ActionUnlock); err != nil || !res.Fast {
				t.Fatalf("fast unlock: %+v, %v", res, err)
			}
		}
	}
	// The first unlock is standard: Kpersistent, over BLE (C3).
	if _, err := w.reader.Transact(ctx, tunnel, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	overBLE := testing.AllocsPerRun(20, fast(tunnel))
	inMemory := testing.AllocsPerRun(20, fast(w.card))
	if overBLE > inMemory {
		t.Errorf("a fast unlock over BLE allocates %v times, with an in-memory card %v", overBLE, inMemory)
	}
}
