package pgstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"

	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/pgstore"
	"github.com/opencarkey/sdk/keyservice/pgstore/pgtest"
	"github.com/opencarkey/sdk/keyservice/storetest"
)

func open(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	admin := pgtest.Require(t)
	storetest.Run(t, storetest.Backend{Shared: true, New: func(t *testing.T) func() keyservice.Store {
		url := pgtest.NewDatabase(t, admin)
		return func() keyservice.Store { return open(t, url) }
	}})
}

// TestMigration: instances opening one database migrate it once, and a
// schema newer than the program's is refused.
func TestMigration(t *testing.T) {
	url := pgtest.NewDatabase(t, pgtest.Require(t))
	done := make(chan *pgstore.Store, 4)
	for range 4 {
		go func() { done <- open(t, url) }()
	}
	for range 4 {
		(<-done).Close()
	}
	s := open(t, url)
	ctx := context.Background()
	var v int
	if err := s.PoolForTest().QueryRow(ctx, "SELECT version FROM dk_schema").Scan(&v); err != nil || v != pgstore.SchemaVersion {
		t.Fatalf("schema version %d, %v; want %d", v, err, pgstore.SchemaVersion)
	}
	var n int
	if err := s.PoolForTest().QueryRow(ctx, "SELECT count(*) FROM dk_schema").Scan(&n); err != nil || n != 1 {
		t.Errorf("dk_schema has %d rows, %v", n, err)
	}
	if _, err := s.PoolForTest().Exec(ctx, "UPDATE dk_schema SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := pgstore.Open(ctx, url, nil); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("Open of a newer schema = %v", err)
	}
}

// TestOpenBadURL: a URL that does not reach a server fails Open.
func TestOpenBadURL(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pgstore.Open(ctx, "postgres://dk@/nodb?host=/nonexistent", nil); err == nil {
		t.Error("Open of an unreachable server succeeded")
	}
	if _, err := pgstore.Open(context.Background(), "::not a url", nil); err == nil {
		t.Error("Open of a malformed URL succeeded")
	}
}

// TestListenerReconnects: the database restarts; the listener sees its
// connection go, reconnects, and a command enqueued by another instance
// after the restart wakes the subscriber (by its notification, or by the
// wake-up of every subscriber after the reconnection, if the notification
// came before the listener was back).
func TestListenerReconnects(t *testing.T) {
	url := pgtest.NewDatabase(t, pgtest.RestartURL(t))
	var failures atomic.Int64
	a, err := pgstore.Open(context.Background(), url, &pgstore.Options{OnListenError: func(error) { failures.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	r := keyservice.VehicleRecipient(vid)
	ch, cancel := a.Subscribe(r)
	defer cancel()
	pgtest.Restart(t)
	b := open(t, url)
	defer b.Close()
	slot, _ := dkey.NewKeySlot([]byte("s"))
	cmd, _ := sharing.NewKeyCommand(sharing.ActionSuspend, vid, slot, nil)
	wire, _ := cmd.MarshalBinary()
	err = b.Update(context.Background(), func(tx keyservice.Tx) error {
		c := &keyservice.Command{ID: keyservice.CommandID(cmd.ID), Wire: wire, Recipients: []keyservice.Recipient{r}}
		if err := tx.PutCommand(c); err != nil {
			return err
		}
		_, err := tx.Enqueue(r, c.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatal("the subscriber was not woken after the restart")
	}
	if failures.Load() == 0 {
		t.Error("the listener never reported its lost connection")
	}
}
