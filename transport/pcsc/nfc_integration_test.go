package pcsc_test

// One transaction scenario over every NFC path a vehicle has: in memory,
// through a PC/SC reader (pcscd and vpcd, gated like the other integration
// tests), through a PN532 (transport/pn532 on the pn532test simulator) and
// through an NCI controller (transport/nci on the ncitest simulator, over
// UART and over I2C). The vehicle's results and both sides' stored key
// state must be the same on every path. The keys, key slot and clocks are
// fixed, so that the states of separate runs compare; only the ephemeral
// keys (and so the ranging key) differ.

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// nfcScenario: a first unlock (standard, the immobilizer token written), a
// fast lock, an engine start (standard, the token read with EXCHANGE) and a
// fast unlock.
var nfcScenario = []dkey.Action{dkey.ActionUnlock, dkey.ActionLock, dkey.ActionEngineStart, dkey.ActionUnlock}

// labelScalar returns SHA-256 of label, a P-256 scalar for fixed test keys.
func labelScalar(label string) []byte {
	s := sha256.Sum256([]byte(label))
	return s[:]
}

// labelKey returns the P-256 key whose scalar is labelScalar(label).
func labelKey(tb testing.TB, label string) *dkey.SoftwareKey {
	k, err := dkey.NewSoftwareKey(labelScalar(label))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// nfcWorld is a vehicle and a phone with fixed keys, slot and clocks.
type nfcWorld struct {
	vehicle *vehicle.Reader
	phone   *device.Applet
	ecp     polling.ECP
}

var nfcMailboxes = dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}

func newNFCWorld(tb testing.TB) *nfcWorld {
	tb.Helper()
	clock := func() time.Time { return time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC) }
	vid, _ := dkey.NewVehicleID([]byte("VIN-SAME"))
	v, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: labelKey(tb, "nfc scenario vehicle"), Time: clock})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := device.NewApplet(&device.Config{Time: clock})
	if err != nil {
		tb.Fatal(err)
	}
	slot, _ := dkey.NewKeySlot([]byte("SAMEKEY1"))
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: v.PublicKey(), Slot: slot, Mailboxes: nfcMailboxes,
		PrivateKey: labelScalar("nfc scenario device")})
	if err != nil {
		tb.Fatal(err)
	}
	err = v.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte("immobilizer-same"), Mailboxes: nfcMailboxes})
	if err != nil {
		tb.Fatal(err)
	}
	tci := polling.TCI{0x01, 0x7E, 0x57} // a test value: car-key TCIs are not public
	ecp, err := polling.ForProfile(dkey.CCC, vid, &polling.Terminal{TCI: &tci})
	if err != nil {
		tb.Fatal(err)
	}
	return &nfcWorld{vehicle: v, phone: a, ecp: ecp}
}

// nfcOutcome is what the scenario leaves: the results (compared without
// the ranging key, random per run), the instructions of each transaction and both
// sides' key state.
type nfcOutcome struct {
	Results      []vehicle.Result
	Instructions [][]byte
	Vehicle      []vehicle.KeyInfo
	Device       []device.KeyInfo
}

// run runs the scenario; link returns the transceiver of each transaction
// and what to do after it.
func (w *nfcWorld) run(tb testing.TB, link func() (transport.Transceiver, func())) nfcOutcome {
	tb.Helper()
	var o nfcOutcome
	for _, a := range nfcScenario {
		t, done := link()
		rec := transporttest.NewRecorder(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := w.vehicle.Transact(ctx, rec, a)
		cancel()
		done()
		o.Instructions = append(o.Instructions, instructions(rec.Transcript()))
		if err != nil {
			tb.Fatalf("Transact(%v) = %v", a, err)
		}
		if rk, ok := res.RangingKey(); ok != rk.Valid() {
			tb.Errorf("Transact(%v): HasRangingKey %v but a ranging key of %d bytes", a, ok, len(rk.Bytes()))
		}
		o.Results = append(o.Results, res)
	}
	o.Vehicle, o.Device = w.vehicle.Keys(), w.phone.Keys()
	return o
}

// nfcDetect polls r until the phone answers.
func nfcDetect(tb testing.TB, r polling.Reader, ecp polling.ECP) polling.Target {
	tb.Helper()
	round := &polling.Round{ECP: ecp.Append(nil), FieldOnGuard: time.Microsecond, Interval: 2 * time.Millisecond}
	for range 500 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t, err := r.Detect(ctx, round)
		cancel()
		if err == nil {
			return t
		}
		if err != polling.ErrNoTarget {
			tb.Fatalf("Detect = %v", err)
		}
	}
	tb.Fatal("the phone did not answer in 500 rounds")
	return nil
}

// overController runs the scenario through a simulated controller: each
// transaction is a tap (the phone placed in the field, detected, released).
func (w *nfcWorld) overController(tb testing.TB, open func(field *pollingtest.Field) polling.Reader) nfcOutcome {
	field := pollingtest.NewField()
	r := open(field)
	phone := &pollingtest.Phone{Card: w.phone, Express: true, Accept: pollingtest.AcceptFrame(w.ecp)}
	return w.run(tb, func() (transport.Transceiver, func()) {
		field.Enter(phone)
		t := nfcDetect(tb, r, w.ecp)
		return t, func() {
			t.Release(context.Background())
			field.Leave()
		}
	})
}

// simOnPTY serves a simulator on a pseudo-terminal until the test ends.
func simOnPTY(tb testing.TB, serve func(ctx context.Context, p *pollingtest.PTY)) *pollingtest.PTY {
	pty, err := pollingtest.OpenPTY()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { serve(ctx, pty) })
	tb.Cleanup(func() { cancel(); wg.Wait(); pty.Close() })
	return pty
}

func TestIntegrationSameTransactionsOverNFCControllers(t *testing.T) {
	ecpCmd := &nci.ECPCommand{GID: nci.GroupProprietary, OID: 0x3F} // a test value, not a real PN7161 command
	ctx := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		return c
	}
	want := func() nfcOutcome {
		w := newNFCWorld(t)
		card := transporttest.NewCard(w.phone)
		return w.run(t, func() (transport.Transceiver, func()) { return card, w.phone.Reset })
	}()
	legs := []struct {
		name string
		run  func(t *testing.T) nfcOutcome
	}{
		{"PN532", func(t *testing.T) nfcOutcome {
			w := newNFCWorld(t)
			return w.overController(t, func(field *pollingtest.Field) polling.Reader {
				pty := simOnPTY(t, func(c context.Context, p *pollingtest.PTY) { pn532test.New(field, pn532.Firmware{}).Serve(c, p.Master) })
				d, err := pn532.Open(ctx(), pty.Slave, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			})
		}},
		{"NCI over UART", func(t *testing.T) nfcOutcome {
			w := newNFCWorld(t)
			return w.overController(t, func(field *pollingtest.Field) polling.Reader {
				pty := simOnPTY(t, func(c context.Context, p *pollingtest.PTY) {
					ncitest.New(field, ncitest.Config{ECP: ecpCmd, MaxDataPayload: 32, Credits: 1}).Serve(c, p.Master)
				})
				d, err := nci.OpenUART(ctx(), pty.Slave, 115200, &nci.Config{ECP: ecpCmd})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			})
		}},
		{"NCI over I2C", func(t *testing.T) nfcOutcome {
			w := newNFCWorld(t)
			return w.overController(t, func(field *pollingtest.Field) polling.Reader {
				bus := ncitest.New(field, ncitest.Config{ECP: ecpCmd}).I2C()
				t.Cleanup(func() { bus.Close() })
				d, err := nci.New(ctx(), nci.NewI2CLink(bus, bus), &nci.Config{ECP: ecpCmd})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			})
		}},
		{"PC/SC", func(t *testing.T) nfcOutcome {
			requirePCSC(t)
			w := newNFCWorld(t)
			s := serveCard(t, 0, w.phone)
			defer s.remove(t)
			cn := connectCard(t, establish(t), 0)
			return w.run(t, func() (transport.Transceiver, func()) { return cn, func() {} })
		}},
	}
	for _, leg := range legs {
		t.Run(leg.name, func(t *testing.T) {
			got := leg.run(t)
			if diff := cmp.Diff(want, got, snapshotOpts, cmpopts.IgnoreUnexported(vehicle.Result{}), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("outcome differs from the in-memory run (-memory +%s):\n%s", leg.name, diff)
			}
		})
	}
}
