package vehicle

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/leakcheck"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// fillName is the function of the goroutine that fills a pool of
// ephemeral keys.
const fillName = "github.com/opencarkey/sdk/internal/ecdhe.(*Pool).fill"

// withPools gives both sides a pool of n precomputed ephemeral keys.
func withPools(n int) worldOption {
	return func(o *worldOptions) {
		v, d := o.vehicle, o.device
		o.vehicle = func(c *Config) {
			if v != nil {
				v(c)
			}
			c.EphemeralKeys = n
		}
		o.device = func(c *device.Config) {
			if d != nil {
				d(c)
			}
			c.EphemeralKeys = n
		}
	}
}

// ephemeralKeys returns the vehicle's and the endpoint's ephemeral public
// keys of each AUTH0 exchange of a transcript: AUTH0 command tag 87, AUTH0
// response tag 86 (docs/protocol.md §4.2).
func ephemeralKeys(t *testing.T, tr transporttest.Transcript) (vehicle, endpoint [][]byte) {
	t.Helper()
	find := func(b []byte, want tlv.Tag) []byte {
		for len(b) > 0 {
			tag, v, rest, err := tlv.Next(b)
			if err != nil {
				t.Fatalf("AUTH0 TLVs %X: %v", b, err)
			}
			if tag == want {
				return v
			}
			b = rest
		}
		t.Fatalf("no tag %v in the AUTH0 exchange", want)
		return nil
	}
	for _, ex := range tr {
		cmd, err := transport.ParseCommand(ex.Command)
		if err != nil || cmd.CLA != 0x80 || cmd.INS != 0x80 {
			continue
		}
		resp, err := transport.ParseResponse(ex.Response)
		if err != nil || !resp.SW.OK() {
			t.Fatalf("AUTH0 answered %X (%v)", ex.Response, err)
		}
		vehicle = append(vehicle, find(cmd.Data, 0x87))
		endpoint = append(endpoint, find(resp.Data, 0x86))
	}
	return vehicle, endpoint
}

// TestEphemeralKeysNeverReused runs many transactions at once through one
// reader with a pool, against applets with pools, fast and standard mixed,
// and checks on the wire that no ephemeral key ever comes twice, on either
// side. Run it with -race: the reader's pool serves every transaction at
// once.
func TestEphemeralKeysNeverReused(t *testing.T) {
	const phones, taps = 6, 12
	w := newWorld(t, dkey.CCC, withPools(2))
	type phone struct {
		rec *transporttest.Recorder
		a   *device.Applet
	}
	ps := make([]phone, phones)
	for i := range ps {
		a, err := device.NewApplet(&device.Config{EphemeralKeys: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		mb := dkey.MailboxConfig{PrivateSize: 64, ConfidentialSize: 64}
		info, err := a.CreateKey(device.KeyConfig{VehicleID: w.reader.ID(), VehicleKey: w.reader.PublicKey(), Mailboxes: mb})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.reader.Enroll(Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), Mailboxes: mb}); err != nil {
			t.Fatal(err)
		}
		ps[i] = phone{transporttest.NewRecorder(transporttest.NewCard(a)), a}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() {
			for j := range taps {
				action := dkey.ActionUnlock
				if j%4 == 3 {
					action = dkey.ActionEngineStart
				}
				if res, err := w.reader.Transact(ctx, ps[i].rec, action); err != nil {
					t.Errorf("phone %d, tap %d (%v): %v", i, j, action, err)
				} else if fast := j > 0 && action == dkey.ActionUnlock; res.Fast != fast {
					t.Errorf("phone %d, tap %d (%v): fast %v, want %v", i, j, action, res.Fast, fast)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]string{}
	n := 0
	for i, p := range ps {
		vks, eks := ephemeralKeys(t, p.rec.Transcript())
		if len(vks) != taps {
			t.Fatalf("phone %d: %d AUTH0 exchanges, want %d", i, len(vks), taps)
		}
		for j := range vks {
			for side, k := range map[string][]byte{"vehicle": vks[j], "endpoint": eks[j]} {
				where := fmt.Sprintf("%s key of phone %d, tap %d", side, i, j)
				if prev, ok := seen[string(k)]; ok {
					t.Errorf("%s is the %s: %X", where, prev, k)
				}
				seen[string(k)] = where
				n++
			}
		}
	}
	if n != 2*phones*taps {
		t.Errorf("%d ephemeral keys on the wire, want %d", n, 2*phones*taps)
	}
}

// TestEphemeralPoolLifetime checks that the pools' goroutines run only
// while they should: one per side with Config.EphemeralKeys, none with
// zero (the default) or in the deterministic mode (Rand set, which the
// pool would bypass), none left after Reader.Close and Applet.Close, and
// none left when NewReader or NewApplet fails after starting its pool.
func TestEphemeralPoolLifetime(t *testing.T) {
	leakcheck.WaitNone(t, fillName) // no other test's pool is left
	w := newWorld(t, dkey.CCC, withPools(3))
	if n := leakcheck.Count(fillName); n != 2 {
		t.Fatalf("%d pool goroutines with a reader and an applet with pools, want 2", n)
	}
	if _, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	if err := w.reader.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.applet.Close(); err != nil {
		t.Fatal(err)
	}
	leakcheck.WaitNone(t, fillName)
	if r, a := w.reader.EphemeralKeysReady(), w.applet.EphemeralKeysReady(); r != 0 || a != 0 {
		t.Errorf("after Close: %d and %d keys ready, want 0", r, a)
	}

	for _, tc := range []struct {
		name string
		opt  worldOption
	}{
		{"no pool", func(*worldOptions) {}},
		{"Rand", func(o *worldOptions) {
			withPools(3)(o)
			v, d := o.vehicle, o.device
			o.vehicle = func(c *Config) { v(c); c.Rand = &seededRand{} }
			o.device = func(c *device.Config) { d(c); c.Rand = &seededRand{state: [32]byte{1}} }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, dkey.CCC, tc.opt)
			if n := leakcheck.Count(fillName); n != 0 {
				t.Errorf("%d pool goroutines, want none", n)
			}
			if _, err := w.reader.Transact(context.Background(), w.card, dkey.ActionUnlock); err != nil {
				t.Fatal(err)
			}
			if r, a := w.reader.EphemeralKeysReady(), w.applet.EphemeralKeysReady(); r != 0 || a != 0 {
				t.Errorf("%d and %d keys ready without a pool, want 0", r, a)
			}
		})
	}

	t.Run("constructor fails", func(t *testing.T) {
		vk, err := dkey.GenerateSoftwareKey()
		if err != nil {
			t.Fatal(err)
		}
		vid, _ := dkey.NewVehicleID([]byte("VIN-0001"))
		// A Store without a KEK fails after the pool started.
		if _, err := NewReader(&Config{VehicleID: vid, Key: vk, EphemeralKeys: 2, Store: store.NewMemory()}); err == nil {
			t.Fatal("NewReader with a Store and no KEK succeeded")
		}
		if _, err := device.NewApplet(&device.Config{EphemeralKeys: 2, Store: store.NewMemory()}); err == nil {
			t.Fatal("NewApplet with a Store and no KEK succeeded")
		}
		for _, n := range []int{-1, 65} {
			if _, err := NewReader(&Config{VehicleID: vid, Key: vk, EphemeralKeys: n}); err == nil {
				t.Errorf("NewReader with EphemeralKeys %d succeeded", n)
			}
			if _, err := device.NewApplet(&device.Config{EphemeralKeys: n}); err == nil {
				t.Errorf("NewApplet with EphemeralKeys %d succeeded", n)
			}
		}
		leakcheck.WaitNone(t, fillName)
	})
}

// poolProbe passes exchanges to a transceiver and, when an AUTH0
// exchange is done, records how many keys the pools of both sides have
// ready: a side that took its key from its pool holds the slot until the
// transaction ends.
type poolProbe struct {
	transport.Transceiver
	r      *Reader
	a      *device.Applet
	ready  [2]int
	probed bool
}

// InterfaceByte and ClientConfig pass on what the transceiver says of
// its link (a BLE tunnel's C3 and extended APDUs); a transceiver that says
// nothing is NFC with short APDUs, as the reader of these tests has it.
func (p *poolProbe) InterfaceByte() byte {
	if ir, ok := p.Transceiver.(interfaceReporter); ok {
		return ir.InterfaceByte()
	}
	return 0
}

func (p *poolProbe) ClientConfig() transport.ClientConfig {
	if d, ok := p.Transceiver.(linkDescriber); ok {
		return d.ClientConfig()
	}
	return transport.ClientConfig{}
}

func (p *poolProbe) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	out, err := p.Transceiver.Transceive(ctx, dst, cmd)
	if len(cmd) > 1 && cmd[0] == 0x80 && cmd[1] == 0x80 { // AUTH0
		p.ready, p.probed = [2]int{p.r.EphemeralKeysReady(), p.a.EphemeralKeysReady()}, true
	}
	return out, err
}

// TestEphemeralPoolInterfaces: the sessions of every interface (NFC, and
// BLE's, which each side makes when the interface first comes) take
// their keys from the same pools, and hold them until the transaction
// ends; fast and standard transactions run as without pools (over BLE
// fast from the start: the Kpersistent of the NFC transactions serves
// both interfaces).
func TestEphemeralPoolInterfaces(t *testing.T) {
	const n = 1
	w := newR3World(t, func(v *Config, d *device.Config) { v.EphemeralKeys, d.EphemeralKeys = n, n }, nil)
	t.Cleanup(func() { w.reader.Close(); w.applet.Close() })
	links := []struct {
		name string
		t    transport.Transceiver
	}{{"NFC", w.card}, {"BLE", bleLink(t, w.applet, 0, 0)}}
	ctx := context.Background()
	for _, l := range links {
		t.Run(l.name, func(t *testing.T) {
			for i, fast := range []bool{l.name == "BLE", true, true} {
				waitPools(w.reader, w.applet, n)
				probe := &poolProbe{Transceiver: l.t, r: w.reader, a: w.applet}
				res, err := w.reader.Transact(ctx, probe, dkey.ActionUnlock)
				if err != nil || res.Fast != fast {
					t.Fatalf("transaction %d: fast %v, %v; want fast %v", i, res.Fast, err, fast)
				}
				if !probe.probed || probe.ready != [2]int{n - 1, n - 1} {
					t.Errorf("transaction %d: after AUTH0 the pools had %v keys ready (probed %v), want %d each", i, probe.ready, probe.probed, n-1)
				}
			}
		})
	}
}

// waitPools waits until the pools of a reader and an applet have n keys
// ready each.
func waitPools(r *Reader, a *device.Applet, n int) {
	for r.EphemeralKeysReady() < n || a.EphemeralKeysReady() < n {
		time.Sleep(20 * time.Microsecond)
	}
}
