package ble_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/ble"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// world is a vehicle and a phone with one owner key enrolled directly, as
// examples/ble-unlock provisions it, through the public APIs of vehicle and
// device.
type world struct {
	reader *vehicle.Reader
	phone  *device.Applet
	key    device.KeyInfo
}

func newWorld(t testing.TB) *world {
	t.Helper()
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	reader, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vk})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := device.NewApplet(nil)
	if err != nil {
		t.Fatal(err)
	}
	mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: reader.PublicKey(), Mailboxes: mb})
	if err != nil {
		t.Fatal(err)
	}
	err = reader.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte("immobilizer-token"), Mailboxes: mb})
	if err != nil {
		t.Fatal(err)
	}
	return &world{reader: reader, phone: phone, key: key}
}

// dropConn is a vehicle-side Conn whose link drops when the vehicle is
// about to send its SDU number after+1, as a phone walking out of range.
type dropConn struct {
	ble.Conn
	after int
	sent  atomic.Int64
}

func (d *dropConn) WriteSDU(ctx context.Context, b []byte) error {
	if d.after >= 0 && d.sent.Add(1) > int64(d.after) {
		d.Conn.Close()
	}
	return d.Conn.WriteSDU(ctx, b)
}

// bleLink serves the phone over an in-process BLE channel and returns the
// vehicle's tunnel; the link drops before the vehicle's SDU dropAfter+1
// (never when negative). The cleanup closes the link and waits for Serve.
func (w *world) bleLink(t testing.TB, dropAfter int) transport.Transceiver {
	t.Helper()
	a, b := ble.Pipe(0)
	done := make(chan error, 1)
	go func() { done <- ble.Serve(context.Background(), ble.NewChannel(b, nil), w.phone, nil) }()
	t.Cleanup(func() {
		a.Close()
		<-done
	})
	return ble.NewTunnel(ble.NewChannel(&dropConn{Conn: a, after: dropAfter}, nil), nil)
}

// outcome is what a transaction leaves that does not depend on the random
// keys: the result and both sides' view of the key.
type outcome struct {
	Action               dkey.Action
	OK, Fast             bool
	Version              dkey.Version
	ControlFlow          string
	ControlFlowDelivered bool
	Role                 dkey.KeyRole
	OwnerProfile         bool
	HasRangingKey        bool
	CardRemoved          bool
	// The vehicle's and the phone's state after the transaction.
	VehicleState         dkey.KeyState
	VehiclePersistent    bool
	TokenProvisioned     bool
	PhoneState           dkey.KeyState
	PhonePersistent      bool
	PhoneTransactions    int
	PhoneLastControlFlow string
}

func (w *world) outcome(res vehicle.Result, err error) outcome {
	o := outcome{
		Action: res.Action, OK: err == nil, Fast: res.Fast, Version: res.Version, ControlFlow: res.ControlFlow.String(),
		ControlFlowDelivered: res.ControlFlowDelivered, Role: res.Role, OwnerProfile: res.Profile == dkey.OwnerProfile(),
		HasRangingKey: res.HasRangingKey, CardRemoved: errors.Is(err, transport.ErrCardRemoved),
	}
	if ks := w.reader.Keys(); len(ks) == 1 {
		o.VehicleState, o.VehiclePersistent, o.TokenProvisioned = ks[0].State, ks[0].HasPersistent, ks[0].TokenProvisioned
	}
	if k, ok := w.phone.Key(w.reader.ID()); ok {
		o.PhoneState, o.PhonePersistent, o.PhoneTransactions, o.PhoneLastControlFlow = k.State, k.HasPersistent, k.Transactions, k.LastControlFlow.String()
	}
	return o
}

// scenario runs the same transactions, standard and fast, with link drops
// in the middle of standard and fast ones, over the transport open gives.
// drop(n) returns a transceiver whose link goes after n exchanges.
func scenario(t *testing.T, w *world, link func(drop int) (transport.Transceiver, func())) []outcome {
	t.Helper()
	ctx := context.Background()
	var out []outcome
	for _, step := range []struct {
		action dkey.Action
		drop   int
	}{
		{dkey.ActionUnlock, -1},     // standard: no Kpersistent yet
		{dkey.ActionUnlock, -1},     // fast
		{dkey.ActionLock, 2},        // fast, the phone leaves after AUTH0 (before CONTROL FLOW)
		{dkey.ActionEngineStart, 3}, // standard, the phone leaves after AUTH1
		{dkey.ActionEngineStart, -1},
		{dkey.ActionUnlock, 1}, // the phone leaves after SELECT
		{dkey.ActionLock, -1},
	} {
		tr, done := link(step.drop)
		res, err := w.reader.Transact(ctx, tr, step.action)
		done()
		out = append(out, w.outcome(res, err))
	}
	return out
}

// TestSameOverBLEAndNFC runs one scenario of standard and fast
// transactions, with phones leaving halfway, over the in-memory NFC card and
// over the BLE tunnel, and compares results and state step by step.
func TestSameOverBLEAndNFC(t *testing.T) {
	nfcWorld := newWorld(t)
	nfc := scenario(t, nfcWorld, func(drop int) (transport.Transceiver, func()) {
		card := transporttest.NewCard(nfcWorld.phone, transporttest.RemoveAfter(drop))
		return card, func() {}
	})
	bleWorld := newWorld(t)
	overBLE := scenario(t, bleWorld, func(drop int) (transport.Transceiver, func()) {
		a, b := ble.Pipe(0)
		done := make(chan error, 1)
		go func() { done <- ble.Serve(context.Background(), ble.NewChannel(b, nil), bleWorld.phone, nil) }()
		return ble.NewTunnel(ble.NewChannel(&dropConn{Conn: a, after: drop}, nil), nil), func() {
			a.Close()
			<-done
		}
	})
	if diff := cmp.Diff(nfc, overBLE); diff != "" {
		t.Errorf("BLE differs from NFC (-nfc +ble):\n%s", diff)
	}
	// The scenario did what it meant to: a fast lock that authenticated
	// before the phone left counts without its CONTROL FLOW; an engine start
	// cut short fails as a removed card and changes nothing.
	if !nfc[0].OK || nfc[0].Fast || !nfc[1].Fast || !nfc[2].OK || nfc[2].ControlFlowDelivered ||
		nfc[3].OK || !nfc[3].CardRemoved || nfc[3].PhoneTransactions != 2 || !nfc[4].OK || !nfc[5].CardRemoved || !nfc[6].Fast {
		t.Errorf("scenario over NFC: %+v", nfc)
	}
}

func BenchmarkFastTransaction(b *testing.B) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		link func(b *testing.B, w *world) transport.Transceiver
	}{
		{"NFC-memory", func(b *testing.B, w *world) transport.Transceiver { return transporttest.NewCard(w.phone) }},
		{"BLE-tunnel", func(b *testing.B, w *world) transport.Transceiver { return w.bleLink(b, -1) }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			w := newWorld(b)
			tr := tt.link(b, w)
			if _, err := w.reader.Transact(ctx, tr, dkey.ActionUnlock); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := w.reader.Transact(ctx, tr, dkey.ActionUnlock)
				if err != nil || !res.Fast {
					b.Fatalf("fast transaction: %+v, %v", res, err)
				}
			}
		})
	}
}

// The BLE keys of owner pairing convert to the first approach's keys: the
// two types have the same fields (a compile-time check).
var _ = ble.OwnerKeys(pairing.BLEKeys{})
