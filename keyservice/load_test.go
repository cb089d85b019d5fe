package keyservice_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/keyservice/pgstore"
	"github.com/opencarkey/sdk/keyservice/pgstore/pgtest"
	"github.com/opencarkey/sdk/sharing"
)

// loadVehicles is the number of simulated vehicles of BenchmarkLoad;
// OPENCARKEY_LOAD_VEHICLES changes it.
func loadVehicles(b *testing.B) int {
	if s := os.Getenv("OPENCARKEY_LOAD_VEHICLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("OPENCARKEY_LOAD_VEHICLES=%q", s)
		}
		return n
	}
	return 1000
}

// BenchmarkLoad runs 1,000 simulated vehicles, each in its command loop
// (client.Run: a long poll per vehicle, over its own TLS connection with
// its vehicle certificate), against a key service, and drives a stream of
// owner commands (signed suspensions and resumptions, one per iteration,
// each to a vehicle in turn) and of sharing invitations through the relay
// (create, fetch, answer, read, delete: one per iteration), from 64
// concurrent workers (b.SetParallelism(32) on 2 CPUs). It reports
// commands/s (iterations), the delivery latency from the start of the
// owner's post to the vehicle's apply (p50-ms, p99-ms), and invitations/s.
// On bbolt; on PostgreSQL; and on two instances sharing one PostgreSQL,
// where each vehicle waits on one instance and its owner posts to the
// other, so every command crosses instances by LISTEN/NOTIFY.
//
//	bash scripts/postgres/run.sh go test -run='^$' -bench=Load -benchtime=2000x ./keyservice
func BenchmarkLoad(b *testing.B) {
	b.Run("bbolt", func(b *testing.B) {
		store := boltBackend().new(b)()
		b.Cleanup(func() { store.Close() })
		runLoad(b, []keyservice.Store{store})
	})
	admin, ok := pgtest.URL(b)
	if !ok {
		b.Log(pgtest.Help)
		return
	}
	for _, instances := range []int{1, 2} {
		name := "postgres"
		if instances == 2 {
			name = "postgres-2-instances"
		}
		b.Run(name, func(b *testing.B) {
			url := pgtest.NewDatabase(b, admin)
			var stores []keyservice.Store
			for range instances {
				// 64 connections to the database in all, whatever the
				// number of instances.
				s, err := pgstore.Open(context.Background(), url, &pgstore.Options{MaxConns: int32(64 / instances)})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				stores = append(stores, s)
			}
			runLoad(b, stores)
			// How many transactions PostgreSQL rolled back (conflicts,
			// retried by pgstore) against those it committed.
			commits, rollbacks := pgtest.Transactions(b, url)
			b.Logf("PostgreSQL: %d transactions committed, %d rolled back", commits, rollbacks)
		})
	}
}

func runLoad(b *testing.B, stores []keyservice.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPKI(b, "load")
	var svcs []*service
	for _, st := range stores {
		svcs = append(svcs, startService(b, p, st, serviceOptions{maxWait: 30 * time.Second, poll: 30 * time.Second}))
	}
	// The instances share the tracking key, as a fleet's do.
	for _, s := range svcs[1:] {
		s.tracked = svcs[0].tracked
	}
	n := loadVehicles(b)
	vs := newLoadVehicles(b, svcs[0], p, n)
	// Vehicle i waits on instance i mod k, its owner posts to the next.
	owners := make([]*client.Client, n)
	started := sync.Map{} // command ID → time the owner started posting
	var latMu sync.Mutex
	var lats []time.Duration
	var delivered atomic.Int64
	var loops sync.WaitGroup
	for i, v := range vs {
		vsvc, osvc := svcs[i%len(svcs)], svcs[(i+1)%len(svcs)]
		vc := vsvc.client(b, &v.cert)
		owners[i] = osvc.client(b, &v.ownerCert)
		loops.Go(func() {
			vc.Run(ctx, &client.LoopConfig{Wait: 25 * time.Second, MinBackoff: 50 * time.Millisecond, Applier: applierFunc(func(cmd *sharing.KeyCommand) error {
				if t0, ok := started.Load(cmd.ID); ok {
					d := time.Since(t0.(time.Time))
					latMu.Lock()
					lats = append(lats, d)
					latMu.Unlock()
					delivered.Add(1)
				}
				return nil
			})})
		})
	}
	// Let every vehicle's first long poll reach the service.
	time.Sleep(2 * time.Second)

	var next, invitations atomic.Int64
	var failures atomic.Int64
	content := make([]byte, 600)
	_, _ = rand.Read(content)
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		// Each worker is one friend's device, with a connection of its
		// own.
		anon := svcs[next.Load()%int64(len(svcs))].client(b, nil)
		for pb.Next() {
			i := int(next.Add(1) - 1)
			v := vs[i%n]
			action := sharing.ActionSuspend
			if (i/n)%2 == 1 {
				action = sharing.ActionResume
			}
			cmd, err := sharing.NewKeyCommand(action, v.id, v.frSlot, nil)
			if err != nil {
				b.Error(err)
				return
			}
			signed, err := sharing.SignCommand(cmd, v.owner, v.ownerSlot, time.Now())
			if err != nil {
				b.Error(err)
				return
			}
			started.Store(cmd.ID, time.Now())
			for {
				if _, err := owners[i%n].PostCommand(ctx, signed); err == nil {
					break
				} else if !client.Temporary(err) {
					b.Errorf("command refused: %v", err)
					return
				}
				failures.Add(1)
			}
			// One invitation through the relay.
			if err := invitation(ctx, owners[i%n], anon, content); err != nil {
				failures.Add(1)
				continue
			}
			invitations.Add(1)
		}
	})
	elapsed := time.Since(start)
	// Wait for the last deliveries (bounded: a hang is a failure).
	deadline := time.Now().Add(2 * time.Minute)
	for delivered.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	loops.Wait()
	if got := delivered.Load(); got != int64(b.N) {
		b.Fatalf("%d of %d commands delivered", got, b.N)
	}
	slices.Sort(lats)
	pct := func(q float64) float64 { return float64(lats[int(q*float64(len(lats)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commands/s")
	b.ReportMetric(float64(invitations.Load())/elapsed.Seconds(), "invitations/s")
	b.ReportMetric(float64(n), "vehicles")
	if f := failures.Load(); f > 0 {
		b.Logf("%d temporary failures retried", f)
	}
}

// invitation runs one relay exchange: the owner's device creates the
// mailbox, the friend's fetches and answers, the owner reads the answer
// and deletes the mailbox.
func invitation(ctx context.Context, owner, friend *client.Client, content []byte) error {
	mb, err := owner.CreateMailbox(ctx, &sharing.NewMailbox{Content: content, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	_, rtok, err := friend.FetchInvitation(ctx, mb.ID, mb.Fetch)
	if err != nil {
		return err
	}
	if err := friend.UpdateMailbox(ctx, mb.ID, rtok, content); err != nil {
		return err
	}
	got, err := owner.ReadSecureContent(ctx, mb.ID, mb.Sender)
	if err != nil {
		return err
	}
	if len(got) != len(content) {
		return errors.New("the answer changed on the way")
	}
	return owner.DeleteMailbox(ctx, mb.ID, mb.Sender)
}
