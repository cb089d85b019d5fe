package vehicle

import (
	"context"
	"testing"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

func TestUnlockFastEngineStart(t *testing.T) {
	for _, p := range []dkey.Profile{dkey.CCC, dkey.HomeKey} {
		t.Run(p.String(), func(t *testing.T) {
			w := newWorld(t, p)
			for i, tt := range []struct {
				action dkey.Action
				fast   bool
			}{
				{dkey.ActionUnlock, false}, // first: no Kpersistent yet
				{dkey.ActionUnlock, true},
				{dkey.ActionLock, true},
				{dkey.ActionEngineStart, false},
				{dkey.ActionUnlock, true}, // Kpersistent rotated by the engine start
			} {
				res, err := w.reader.Transact(context.Background(), w.card, tt.action)
				if err != nil {
					t.Fatalf("transaction %d (%v): %v", i, tt.action, err)
				}
				if res.Fast != tt.fast || res.Slot != w.slot || res.Action != tt.action || !res.OK() {
					t.Errorf("transaction %d = %+v, want fast=%v slot %v", i, res, tt.fast, w.slot)
				}
			}
			keys := w.reader.Keys()
			if len(keys) != 1 || !keys[0].TokenProvisioned || !keys[0].HasPersistent {
				t.Errorf("reader keys = %+v", keys)
			}
			info, _ := w.applet.Key(w.reader.ID())
			if info.Transactions != 5 {
				t.Errorf("device counted %d transactions", info.Transactions)
			}
		})
	}
}

// world is one vehicle and one device with an owner key, enrolled directly.
type world struct {
	reader *Reader
	applet *device.Applet
	card   *transporttest.Card
	slot   dkey.KeySlot
	token  []byte
}

type worldOptions struct {
	deviceTime  func() time.Time
	readerTime  func() time.Time
	profile     dkey.AccessProfile
	noSubset    bool
	notBefore   time.Time
	notAfter    time.Time
	haveProfile bool
	// vehicle and device, when set, change the configurations before
	// NewReader and NewApplet.
	vehicle func(*Config)
	device  func(*device.Config)
}

type worldOption func(*worldOptions)

func withDeviceTime(f func() time.Time) worldOption {
	return func(o *worldOptions) { o.deviceTime = f }
}
func withReaderTime(f func() time.Time) worldOption {
	return func(o *worldOptions) { o.readerTime = f }
}
func withoutAuth1Subset() worldOption { return func(o *worldOptions) { o.noSubset = true } }
func withProfile(p dkey.AccessProfile) worldOption {
	return func(o *worldOptions) { o.profile, o.haveProfile = p, true }
}
func withValidity(nb, na time.Time) worldOption {
	return func(o *worldOptions) { o.notBefore, o.notAfter = nb, na }
}

func newCardFor(a *device.Applet) *transporttest.Card { return transporttest.NewCard(a) }

func newWorld(t testing.TB, p dkey.Profile, opts ...worldOption) *world {
	t.Helper()
	var o worldOptions
	for _, f := range opts {
		f(&o)
	}
	if !o.haveProfile {
		o.profile = dkey.OwnerProfile()
	}
	vk, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN-0001-reader-")[:p.VehicleIDLen()])
	vcfg := &Config{Profile: p, VehicleID: vid, Key: vk, Time: o.readerTime}
	if o.vehicle != nil {
		o.vehicle(vcfg)
	}
	r, err := NewReader(vcfg)
	if err != nil {
		t.Fatal(err)
	}
	// Closing twice is not an error: tests that close a side themselves
	// keep doing so.
	t.Cleanup(func() { r.Close() })
	dcfg := &device.Config{Profile: p, Time: o.deviceTime}
	if o.device != nil {
		o.device(dcfg)
	}
	a, err := device.NewApplet(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	mb := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64, ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16}}
	if o.noSubset {
		mb.ConfidentialAuth1 = dkey.MailboxRange{}
	}
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: r.PublicKey(), Mailboxes: mb})
	if err != nil {
		t.Fatal(err)
	}
	token := []byte("immobilizer-0001")
	err = r.Enroll(Enrollment{
		PublicKey: info.PublicKey, Slot: info.Slot, Profile: o.profile, ImmobilizerToken: token, Mailboxes: mb,
		NotBefore: o.notBefore, NotAfter: o.notAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &world{reader: r, applet: a, card: transporttest.NewCard(a), slot: info.Slot, token: token}
}

// TestNewReaderNilConfig: a nil Config is an error, not a panic.
func TestNewReaderNilConfig(t *testing.T) {
	if r, err := NewReader(nil); err == nil || r != nil {
		t.Fatalf("NewReader(nil) = %v, %v; want an error", r, err)
	}
}
