package vehicle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// The profile-confusion matrix at the device and vehicle level: a key
// provisioned in one profile (CCC, Home Key, Aliro) never completes a
// transaction under another, every pair, although the readers of all
// three share one key pair and one identity as far as the profiles'
// lengths allow, the devices one endpoint key, and a relay rewrites every
// SELECT to the device's applet, so that what stops a reader is the
// protocol behind the applet selection, not the AID. The diagonal runs
// too: the same setup transacts within each profile.

// matrixIdentity is the identity of every reader: the CCC vehicle
// identifier is its first 8 bytes, the Home Key reader identifier its
// first 16, which are also the Aliro reader group.
var matrixIdentity = []byte("matrix vehicle 1aliro sub group ")

var matrixProfiles = []dkey.Profile{dkey.CCC, dkey.HomeKey, dkey.Aliro}

// matrixDevice is a device of one profile holding the shared endpoint key.
type matrixDevice struct {
	card      transport.Card
	aid       dkey.AID
	slot      dkey.KeySlot // the key slot the device names its key by
	persisted func() bool
}

func newMatrixDevice(t *testing.T, p dkey.Profile, reader *dkey.PublicKey, scalar []byte) *matrixDevice {
	t.Helper()
	if p == dkey.Aliro {
		a, err := device.NewAliroApplet(nil)
		if err != nil {
			t.Fatal(err)
		}
		g := dkey.ReaderGroupID(matrixIdentity[:16])
		info, err := a.CreateCredential(device.AliroCredentialConfig{Group: g, ReaderKey: reader, PrivateKey: scalar})
		if err != nil {
			t.Fatal(err)
		}
		return &matrixDevice{card: transport.NewChainingCard(a), aid: dkey.AIDAliro, slot: info.KeySlot, persisted: func() bool {
			c, _ := a.Credential(g)
			return len(c.Readers) > 0
		}}
	}
	a, err := device.NewApplet(&device.Config{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID(matrixIdentity[:p.VehicleIDLen()])
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: reader, PrivateKey: scalar})
	if err != nil {
		t.Fatal(err)
	}
	return &matrixDevice{card: transport.NewChainingCard(a), aid: p.AppletAID(), slot: info.Slot, persisted: func() bool {
		k, _ := a.Key(vid)
		return k.HasPersistent
	}}
}

// matrixReader transacts as a reader of one profile, with the shared
// reader key, enrolling the shared endpoint key.
type matrixReader struct {
	transact  func(card transport.Transceiver) error
	persisted func() bool
}

func newMatrixReader(t *testing.T, p dkey.Profile, reader *dkey.SoftwareKey, endpoint *dkey.PublicKey, slot dkey.KeySlot) *matrixReader {
	t.Helper()
	if p == dkey.Aliro {
		l, err := NewAliroLock(nil)
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := reader.Bytes()
		if err := l.SetAliroReaderConfig(AliroReaderConfig{SigningKey: sk, VerificationKey: reader.PublicKey().Bytes(), GroupIdentifier: matrixIdentity[:16]}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, endpoint.Bytes(), 1); err != nil {
			t.Fatal(err)
		}
		return &matrixReader{
			transact: func(card transport.Transceiver) error {
				res, err := l.Transact(context.Background(), card, AliroActionUnlock)
				if err == nil && !res.Granted {
					return fmt.Errorf("not granted: %+v", res)
				}
				return err
			},
			persisted: func() bool { return l.Endpoints()[0].HasPersistent },
		}
	}
	vid, _ := dkey.NewVehicleID(matrixIdentity[:p.VehicleIDLen()])
	r, err := NewReader(&Config{Profile: p, VehicleID: vid, Key: reader})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enroll(Enrollment{PublicKey: endpoint, Slot: slot, Profile: dkey.OwnerProfile()}); err != nil {
		t.Fatal(err)
	}
	return &matrixReader{
		transact: func(card transport.Transceiver) error {
			res, err := r.Transact(context.Background(), card, dkey.ActionUnlock)
			if err == nil && !res.OK() {
				return res.Err
			}
			return err
		},
		persisted: func() bool { return r.Keys()[0].HasPersistent },
	}
}

// selectRelay rewrites the AID of every SELECT by name to aid.
type selectRelay struct {
	inner transport.Card
	aid   dkey.AID
}

func (r *selectRelay) ProcessAPDU(dst, apdu []byte) []byte {
	cmd, err := transport.ParseCommand(apdu)
	if err == nil && cmd.CLA == 0x00 && cmd.INS == 0xA4 && cmd.P1 == 0x04 {
		cmd.Data = []byte(r.aid)
		if b, err := cmd.Append(nil); err == nil {
			apdu = b
		}
	}
	return r.inner.ProcessAPDU(dst, apdu)
}

func TestProfileConfusionMatrix(t *testing.T) {
	readerKey, endpointKey := pairKey(t), pairKey(t)
	scalar, _ := endpointKey.Bytes()
	for _, provisioned := range matrixProfiles {
		for _, reading := range matrixProfiles {
			t.Run(provisioned.String()+"/"+reading.String(), func(t *testing.T) {
				dev := newMatrixDevice(t, provisioned, readerKey.PublicKey(), scalar)
				// The reader enrolls the key under the slot the device
				// names it by: nothing but the profile differs.
				r := newMatrixReader(t, reading, readerKey, endpointKey.PublicKey(), dev.slot)
				card := transporttest.NewCard(&selectRelay{inner: dev.card, aid: dev.aid})
				for i := range 2 { // standard, then (on the diagonal) fast
					err := r.transact(card)
					if provisioned == reading && err != nil {
						t.Fatalf("transaction %d within %v failed: %v", i, provisioned, err)
					}
					if provisioned != reading && err == nil {
						t.Fatalf("a %v reader completed a transaction with a %v key", reading, provisioned)
					}
				}
				if (provisioned == reading) != (r.persisted() && dev.persisted()) {
					t.Errorf("Kpersistent kept: reader %v, device %v", r.persisted(), dev.persisted())
				}
			})
		}
	}
}

// stripRelay removes version 1.0 from the Aliro SELECT response, as a
// relay that wants the transaction at 0.9 would.
type stripRelay struct {
	inner    transport.Card
	stripped int
}

func (r *stripRelay) ProcessAPDU(dst, apdu []byte) []byte {
	out := r.inner.ProcessAPDU(dst, apdu)
	cmd, err := transport.ParseCommand(apdu)
	if err != nil || cmd.INS != 0xA4 || !dkey.AIDAliro.Equal(cmd.Data) {
		return out
	}
	resp := out[len(dst):]
	both := []byte{0x5C, 0x04, 0x01, 0x00, 0x00, 0x09}
	i := bytes.Index(resp, both)
	if i < 0 || len(resp) < 16 || resp[0] != 0x6F || resp[13] != 0xA5 {
		return out
	}
	r.stripped++
	b := append(bytes.Clone(resp[:i]), 0x5C, 0x02, 0x00, 0x09)
	b = append(b, resp[i+len(both):]...)
	b[1] -= 2  // 6F
	b[14] -= 2 // A5
	return append(dst, b...)
}

// TestAliroDowngradeRefused: a phone offering 1.0 and 0.9 behind a relay
// that strips 1.0 from its SELECT response. A lock of 1.0 alone refuses
// the transaction (CONTROL FLOW 0027); a lock that opted in to 0.9 goes on
// at 0.9, and the keys the phone bound its real version list into differ
// from the lock's: nothing completes, and neither side keeps a
// Kpersistent. Without the relay, both run 1.0.
func TestAliroDowngradeRefused(t *testing.T) {
	w := newAliroWorld(t, nil)
	both, _ := dkey.NewVersionList(dkey.Version1, dkey.VersionAliro09)
	a, err := device.NewAliroApplet(&device.AliroConfig{Versions: both, Time: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	info, err := a.CreateCredential(device.AliroCredentialConfig{Group: w.group, ReaderKey: w.reader.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, info.PublicKey.Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	relay := &stripRelay{inner: transport.NewChainingCard(a)}
	_, err = w.lock.Transact(context.Background(), transporttest.NewCard(relay), AliroActionUnlock)
	if !errors.Is(err, transaction.ErrVersion) || relay.stripped != 1 {
		t.Fatalf("1.0 lock behind the relay: %v (%d stripped), want ErrVersion", err, relay.stripped)
	}
	if cf := a.LastControlFlow(); cf.S2 != transaction.AliroS2VersionUnsupported {
		t.Errorf("the phone heard %+v, want S2 27", cf)
	}
	cfg := *w.cfg
	cfg.Versions = both
	optIn, err := NewAliroLock(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := w.reader.Bytes()
	if err := optIn.SetAliroReaderConfig(AliroReaderConfig{SigningKey: sk, VerificationKey: w.reader.PublicKey().Bytes(), GroupIdentifier: w.group[:]}); err != nil {
		t.Fatal(err)
	}
	if _, err := optIn.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 1}, info.PublicKey.Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	res, err := optIn.Transact(context.Background(), transporttest.NewCard(relay), AliroActionUnlock)
	if err == nil || res.Granted || relay.stripped != 2 {
		t.Fatalf("opted-in lock behind the relay = %+v, %v", res, err)
	}
	if c, _ := a.Credential(w.group); len(c.Readers) != 0 || optIn.Endpoints()[0].HasPersistent {
		t.Error("a Kpersistent was kept after the downgrade")
	}
	res, err = optIn.Transact(context.Background(), transporttest.NewCard(transport.NewChainingCard(a)), AliroActionUnlock)
	if err != nil || !res.Granted {
		t.Fatalf("without the relay = %+v, %v", res, err)
	}
}
