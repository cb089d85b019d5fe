package vehicle

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/bolt"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// countingStore counts the batches written (each a bbolt commit: data
// pages, then the meta page, each synced).
type countingStore struct {
	Store
	writes atomic.Int64
}

func (s *countingStore) Write(ops []store.Op) error {
	s.writes.Add(1)
	return s.Store.Write(ops)
}

// benchPair is a reader and an applet with one key, in memory or each over
// its own bbolt file (fsync on).
type benchPair struct {
	reader         *Reader
	card           *transporttest.Card
	vstore, dstore *countingStore
}

func newBenchPair(tb testing.TB, onDisk bool) *benchPair {
	tb.Helper()
	p := &benchPair{}
	vcfg := &Config{}
	dcfg := &device.Config{}
	if onDisk {
		dir := tb.TempDir()
		kek := testKEK(tb, 1)
		vs, err := bolt.Open(filepath.Join(dir, "vehicle.db"), nil)
		if err != nil {
			tb.Fatal(err)
		}
		ds, err := bolt.Open(filepath.Join(dir, "phone.db"), nil)
		if err != nil {
			tb.Fatal(err)
		}
		p.vstore, p.dstore = &countingStore{Store: vs}, &countingStore{Store: ds}
		vcfg.Store, vcfg.KEK = p.vstore, kek
		dcfg.Store, dcfg.KEK = p.dstore, kek
	}
	vk := pairKey(tb)
	vid, _ := dkey.NewVehicleID([]byte("VIN-BNCH"))
	vcfg.VehicleID, vcfg.Key = vid, vk
	r, err := NewReader(vcfg)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := device.NewApplet(dcfg)
	if err != nil {
		tb.Fatal(err)
	}
	mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64, ConfidentialAuth1: dkey.MailboxRange{Length: 16}}
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey(), Mailboxes: mb})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.Enroll(Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(), ImmobilizerToken: []byte("immobilizer-0001"), Mailboxes: mb}); err != nil {
		tb.Fatal(err)
	}
	p.reader, p.card = r, transporttest.NewCard(a)
	tb.Cleanup(func() { r.Close(); a.Close() })
	// The first transaction provisions the token; the next ones are the
	// steady state.
	if _, err := r.Transact(context.Background(), p.card, dkey.ActionEngineStart); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (p *benchPair) writes() (vehicle, phone int64) {
	if p.vstore == nil {
		return 0, 0
	}
	return p.vstore.writes.Load(), p.dstore.writes.Load()
}

func benchTransactions(b *testing.B, action dkey.Action, fast bool) {
	for _, onDisk := range []bool{false, true} {
		name := "memory"
		if onDisk {
			name = "bbolt"
		}
		b.Run(name, func(b *testing.B) {
			p := newBenchPair(b, onDisk)
			v0, d0 := p.writes()
			ctx := context.Background()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				res, err := p.reader.Transact(ctx, p.card, action)
				if err != nil || res.Fast != fast {
					b.Fatalf("%v: fast %v, %v", action, res.Fast, err)
				}
				n++
			}
			v1, d1 := p.writes()
			b.ReportMetric(float64(v1-v0)/float64(n), "vehicle-commits/op")
			b.ReportMetric(float64(d1-d0)/float64(n), "phone-commits/op")
		})
	}
}

// BenchmarkStandard is engine start (a standard transaction, the token
// from AUTH1) through a Reader and an Applet, in memory and over bbolt
// files with fsync. Each costs one commit on each side: the new
// Kpersistent (vehicle: the key's record; phone: the secure element's
// secret), written before the phone acknowledges CONTROL FLOW and after
// the vehicle has that acknowledgement.
func BenchmarkStandard(b *testing.B) { benchTransactions(b, dkey.ActionEngineStart, false) }

// BenchmarkFast is unlock by fast transaction: no commit on either side
// (when the key was used last, and the phone's transaction count, are
// written with the next batch or at Close).
func BenchmarkFast(b *testing.B) { benchTransactions(b, dkey.ActionUnlock, true) }

// TestStoredTransactionWrites pins the cost in batches: a fast unlock
// writes nothing on either side, a standard transaction one batch on
// each (a ranging-key transaction one on the vehicle, three on the
// phone), and over bbolt a fast unlock allocates no more than in memory.
func TestStoredTransactionWrites(t *testing.T) {
	p := newBenchPair(t, true)
	ctx := context.Background()
	for _, tt := range []struct {
		action         dkey.Action
		vehicle, phone int64
	}{
		{dkey.ActionEngineStart, 1, 1},
		{dkey.ActionUnlock, 0, 0},
		{dkey.ActionUnlock, 0, 0},
		{dkey.ActionEngineStart, 1, 1},
		// The ranging-key transaction: the vehicle stores its URSK with
		// the new Kpersistent; the phone's secure element stores
		// Kpersistent and the URSK, and the applet its URSK index.
		{dkey.ActionRangingKey, 1, 3},
	} {
		v0, d0 := p.writes()
		if _, err := p.reader.Transact(ctx, p.card, tt.action); err != nil {
			t.Fatal(err)
		}
		v1, d1 := p.writes()
		if v1-v0 != tt.vehicle || d1-d0 != tt.phone {
			t.Errorf("%v wrote %d batches on the vehicle, %d on the phone; want %d, %d", tt.action, v1-v0, d1-d0, tt.vehicle, tt.phone)
		}
	}
	if race.Enabled {
		return
	}
	mem := newBenchPair(t, false)
	fast := func(p *benchPair) func() {
		return func() {
			if res, err := p.reader.Transact(ctx, p.card, dkey.ActionUnlock); err != nil || !res.Fast {
				t.Fatal(err)
			}
		}
	}
	if inMemory, onDisk := testing.AllocsPerRun(20, fast(mem)), testing.AllocsPerRun(20, fast(p)); onDisk > inMemory {
		t.Errorf("a fast unlock over bbolt allocates %v times, in memory %v", onDisk, inMemory)
	}
}
