package keyservice_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/client"
	"github.com/opencarkey/sdk/keyservice/pgstore/pgtest"
	"github.com/opencarkey/sdk/sharing"
)

// faultyTransport breaks chosen requests of a vehicle's client.
type faultyTransport struct {
	next http.RoundTripper
	// cutDelivery cuts the body of the next delivery of commands after a
	// few bytes, as a connection that drops mid-response does.
	cutDelivery atomic.Bool
	// dropAck fails the next acknowledgement after the service got it
	// (true) or before it is sent (false is no fault).
	loseAck atomic.Bool
	cut     atomic.Int64
	lost    atomic.Int64
}

func (f *faultyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/ack") && f.loseAck.CompareAndSwap(true, false) {
		// The acknowledgement never reaches the service: the vehicle
		// applied the command and then lost its connection.
		f.lost.Add(1)
		return nil, errors.New("faulty transport: connection lost before the acknowledgement")
	}
	resp, err := f.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/commands") {
		return resp, err
	}
	if resp.StatusCode == http.StatusOK && resp.ContentLength > 8 && f.cutDelivery.CompareAndSwap(true, false) {
		f.cut.Add(1)
		resp.Body = &cutBody{rc: resp.Body, left: 5}
	}
	return resp, err
}

// cutBody ends with a connection error after left bytes.
type cutBody struct {
	rc   io.ReadCloser
	left int
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n, err := b.rc.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

// TestDropMidDelivery: a vehicle whose connection drops while the commands
// come gets them again and applies each once; one that applied a command
// but lost the connection before its acknowledgement gets it again and
// does not apply it a second time; a vehicle restarted between the apply
// and the acknowledgement applies it again with the effect of once.
func TestDropMidDelivery(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, b)
			ft := &faultyTransport{next: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.svc.roots, Certificates: []tls.Certificate{w.car.cert}}}}
			vc := must[*client.Client](t)(client.New(&client.Config{URL: w.svc.url, Certificate: &w.car.cert, Transport: ft}))
			if err := vc.ReportKeys(ctx, report(w.car.reader)()); err != nil {
				t.Fatal(err)
			}
			w.share(t, unlockOnly())
			if _, err := w.car.reader.Transact(ctx, w.friend.card, dkey.ActionUnlock); err != nil {
				t.Fatal(err)
			}
			if err := vc.ReportKeys(ctx, report(w.car.reader)()); err != nil {
				t.Fatal(err)
			}
			finfo, _ := w.friend.applet.Key(w.car.id)
			var calls atomic.Int64
			applier := applierFunc(func(cmd *sharing.KeyCommand) error {
				calls.Add(1)
				return w.car.reader.ApplyCommand(cmd)
			})
			state := func() dkey.KeyState {
				for _, k := range w.car.reader.Keys() {
					if k.Slot == finfo.Slot {
						return k.State
					}
				}
				return dkey.KeyTerminated
			}

			// 1. The delivery is cut mid-response.
			ft.cutDelivery.Store(true)
			suspend := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, finfo.Slot, nil))
			if err := w.oclient.ManageKey(ctx, suspend); err != nil {
				t.Fatal(err)
			}
			loopCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				vc.Run(loopCtx, &client.LoopConfig{Applier: applier, Wait: time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
			}()
			eventually(t, "the suspension after a cut delivery", func() bool { return state() == dkey.KeySuspended })
			eventually(t, "its acknowledgement", func() bool { return len(w.pending(t)) == 0 })
			if ft.cut.Load() != 1 || calls.Load() != 1 {
				t.Errorf("cut %d deliveries, applied %d times; want 1 and 1", ft.cut.Load(), calls.Load())
			}

			// 2. Applied, but the acknowledgement is lost: delivered again,
			// acknowledged without a second apply.
			ft.loseAck.Store(true)
			resume := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionResume, w.car.id, finfo.Slot, nil))
			if err := w.oclient.ManageKey(ctx, resume); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the resumption is acknowledged after a lost acknowledgement", func() bool {
				return ft.lost.Load() == 1 && len(w.pending(t)) == 0
			})
			if state() != dkey.KeyActive || calls.Load() != 2 {
				t.Errorf("state %v, applied %d times; want active and 2", state(), calls.Load())
			}
			stop()
			<-done

			// 3. The vehicle restarts between the apply and the
			// acknowledgement: the new loop remembers nothing and applies
			// the termination again, which changes nothing more.
			w.owner.applet.AuthenticateUser(time.Now().Add(time.Hour))
			stmt := must[[]byte](t)(w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: w.car.id, Slot: finfo.Slot, Key: finfo.PublicKey}))
			if _, err := w.oclient.Terminate(ctx, w.car.id, stmt); err != nil {
				t.Fatal(err)
			}
			ds := w.pending(t)
			if len(ds) != 1 || ds[0].Command.Action != sharing.ActionTerminate {
				t.Fatalf("queued = %+v", ds)
			}
			if err := w.car.reader.ApplyCommand(ds[0].Command); err != nil { // the apply before the crash
				t.Fatal(err)
			}
			gen, keys := w.car.reader.Revocations().Generation(), len(w.car.reader.Keys())
			runLoop(t, vc, &client.LoopConfig{Applier: applier, Wait: time.Second, MinBackoff: 10 * time.Millisecond})
			eventually(t, "the termination is acknowledged after a restart", func() bool { return len(w.pending(t)) == 0 })
			if g, n := w.car.reader.Revocations().Generation(), len(w.car.reader.Keys()); g != gen || n != keys || n != 1 {
				t.Errorf("after the second apply: generation %d → %d, %d → %d keys; want no change", gen, g, keys, n)
			}
		})
	}
}

type applierFunc func(*sharing.KeyCommand) error

func (f applierFunc) ApplyCommand(cmd *sharing.KeyCommand) error { return f(cmd) }

// loadVehicle is a vehicle of the load and restart tests: an owner key and
// a friend key, reported, without a reader.
type loadVehicle struct {
	id                 dkey.VehicleID
	cert               tls.Certificate
	owner, friend      *dkey.SoftwareKey
	ownerSlot, frSlot  dkey.KeySlot
	ownerCert, frCert  tls.Certificate
	vclient, ownClient *client.Client
}

// newLoadVehicles issues n vehicles, each with an owner and a friend key
// on two devices of their own (an instance CA each), and reports their
// keys.
func newLoadVehicles(t testing.TB, s *service, p *pki, n int) []*loadVehicle {
	out := make([]*loadVehicle, n)
	ctx := context.Background()
	for i := range out {
		v := &loadVehicle{owner: mustKey(t), friend: mustKey(t)}
		v.id = must[dkey.VehicleID](t)(dkey.NewVehicleID(fmt.Appendf(nil, "LOAD%04d", i)))
		vk := mustKey(t)
		v.cert = p.vehicleCert(t, v.id, vk)
		v.ownerSlot = must[dkey.KeySlot](t)(dkey.NewKeySlot(fmt.Appendf(nil, "own%05d", i)))
		v.frSlot = must[dkey.KeySlot](t)(dkey.NewKeySlot(fmt.Appendf(nil, "frd%05d", i)))
		endpoint := func(k *dkey.SoftwareKey, slot dkey.KeySlot) tls.Certificate {
			instKey := mustKey(t)
			inst := must[*x509.Certificate](t)(cert.NewInstanceCA(tmpl("load instance CA"), &cert.InstanceCAExtension{Version: 1}, instKey.PublicKey(), p.device, p.deviceKey))
			ext := &cert.EndpointExtension{Version: 1, VehicleID: v.id, ProtocolVersion: dkey.Version1, VehiclePublicKey: vk.PublicKey(), InitialKeySlot: slot}
			leaf := must[*x509.Certificate](t)(cert.NewEndpoint(tmpl("endpoint"), ext, k.PublicKey(), inst, instKey))
			return tls.Certificate{Certificate: [][]byte{leaf.Raw, inst.Raw}, PrivateKey: k}
		}
		v.ownerCert, v.frCert = endpoint(v.owner, v.ownerSlot), endpoint(v.friend, v.frSlot)
		v.vclient = s.client(t, &v.cert)
		v.ownClient = s.client(t, &v.ownerCert)
		out[i] = v
	}
	// The vehicles report their keys, 32 at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, v := range out {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := v.vclient.ReportKeys(ctx, []keyservice.ReportedKey{
				{Slot: v.ownerSlot, PublicKey: v.owner.PublicKey(), Role: dkey.RoleOwner, Profile: dkey.OwnerProfile(), State: dkey.KeyActive},
				{Slot: v.frSlot, PublicKey: v.friend.PublicKey(), Role: dkey.RoleFriend, Profile: dkey.AccessProfile{Entitlements: dkey.EntitleUnlock}, State: dkey.KeyActive},
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	return out
}

// TestPostgresRestartUnderLoad: owners post commands and devices register
// keys while PostgreSQL restarts; every command the service accepted and
// every receipt it returned is in the database afterwards.
func TestPostgresRestartUnderLoad(t *testing.T) {
	// The server this test restarts is its own (pgtest.RestartURL).
	store := openPostgres(t, pgtest.NewDatabase(t, pgtest.RestartURL(t)))
	t.Cleanup(func() { store.Close() })
	p := newPKI(t, "A")
	s := startService(t, p, store, serviceOptions{maxWait: 5 * time.Second, poll: time.Second})
	vs := newLoadVehicles(t, s, p, 8)

	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	accepted := map[keyservice.CommandID]*loadVehicle{}
	// receipts holds every receipt the service returned, by key: a key
	// registered again gets the stored receipt.
	type keyOf struct {
		v    *loadVehicle
		slot dkey.KeySlot
	}
	receipts := map[keyOf][][]byte{}
	var failures atomic.Int64
	retry := func(f func() error) {
		for ctx.Err() == nil {
			err := f()
			if err == nil || ctx.Err() != nil {
				return
			}
			if !client.Temporary(err) {
				t.Errorf("a refusal under load: %v", err)
				return
			}
			failures.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for _, v := range vs {
		wg.Go(func() {
			fc := s.client(t, &v.frCert)
			track := func(c *client.Client, slot dkey.KeySlot, k *dkey.SoftwareKey, role dkey.KeyRole) {
				retry(func() error {
					r, err := c.TrackKey(ctx, &sharing.TrackRequest{Vehicle: v.id, Slot: slot, Key: k.PublicKey(), Role: role})
					if err == nil {
						mu.Lock()
						receipts[keyOf{v, slot}] = append(receipts[keyOf{v, slot}], r)
						mu.Unlock()
					}
					return err
				})
			}
			for i := 0; ctx.Err() == nil; i++ {
				action := sharing.ActionSuspend
				if i%2 == 1 {
					action = sharing.ActionResume
				}
				cmd := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(action, v.id, v.frSlot, nil))
				signed := must[[]byte](t)(sharing.SignCommand(cmd, v.owner, v.ownerSlot, time.Now()))
				retry(func() error {
					id, err := v.ownClient.PostCommand(ctx, signed)
					if err == nil {
						mu.Lock()
						accepted[id] = v
						mu.Unlock()
					}
					return err
				})
				switch i % 10 {
				case 0:
					track(fc, v.frSlot, v.friend, dkey.RoleFriend)
				case 5:
					track(v.ownClient, v.ownerSlot, v.owner, dkey.RoleOwner)
				}
			}
		})
	}
	// Let the load run, restart the database in the middle of it, let it
	// run on.
	eventually(t, "commands before the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) >= 40 })
	pgtest.Restart(t)
	mu.Lock()
	atRestart := len(accepted)
	mu.Unlock()
	eventually(t, "commands after the restart", func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) >= atRestart+40 })
	cancel()
	wg.Wait()
	n := 0
	for _, rs := range receipts {
		n += len(rs)
	}
	t.Logf("%d commands accepted, %d receipts, %d temporary failures retried", len(accepted), n, failures.Load())

	// Everything accepted is there: the command, in its vehicle's queue.
	err := store.View(context.Background(), func(tx keyservice.Tx) error {
		queued := map[keyservice.CommandID]bool{}
		for _, v := range vs {
			q, err := tx.Pending(keyservice.VehicleRecipient(v.id), 1000)
			if err != nil {
				return err
			}
			for _, e := range q {
				queued[e.Command.ID] = true
			}
		}
		for id := range accepted {
			if _, err := tx.Command(id); err != nil {
				t.Errorf("accepted command %v: %v", id, err)
			}
			if !queued[id] {
				t.Errorf("accepted command %v is in no queue", id)
			}
		}
		for ko, rs := range receipts {
			inv, err := tx.Inventory(ko.v.id)
			if err != nil {
				return err
			}
			k := inv.Key(ko.slot)
			for _, r := range rs {
				if k == nil || !k.Tracked || string(k.Receipt) != string(r) {
					t.Errorf("a receipt of %v %v is not the one stored: %+v", ko.v.id, ko.slot, k)
				}
				if _, err := attest.VerifyTrackingReceipt(r, attest.VerifyOptions{Vehicle: ko.v.id, TrackingKeys: []*dkey.PublicKey{s.tracked.PublicKey()}}); err != nil {
					t.Errorf("receipt of %v: %v", ko.v.id, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(receipts) != 2*len(vs) {
		t.Errorf("receipts for %d keys, want %d", len(receipts), 2*len(vs))
	}
}
