package device

import (
	"bytes"
	"crypto"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// countingElement is a SoftwareElement that records what it created and
// deleted, and can refuse to create.
type countingElement struct {
	SoftwareElement
	mu      sync.Mutex
	created int
	deleted []KeyID
	fail    bool
}

func (e *countingElement) GenerateKey(id KeyID) (crypto.Signer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail {
		return nil, errors.New("element full")
	}
	e.created++
	return e.SoftwareElement.GenerateKey(id)
}

func (e *countingElement) DeleteKey(id KeyID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleted = append(e.deleted, id)
	return e.SoftwareElement.DeleteKey(id)
}

func testVehicle(t testing.TB, p dkey.Profile) (dkey.VehicleID, *dkey.PublicKey) {
	t.Helper()
	k, err := dkey.GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	vid, _ := dkey.NewVehicleID(bytes.Repeat([]byte{0x42}, p.VehicleIDLen()))
	return vid, k.PublicKey()
}

func TestCreateKey(t *testing.T) {
	se := &countingElement{}
	a, err := NewApplet(&Config{SecureElement: se})
	if err != nil {
		t.Fatal(err)
	}
	vid, vk := testVehicle(t, dkey.CCC)
	info, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk, Mailboxes: dkey.MailboxConfig{PrivateSize: 8, ConfidentialSize: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Slot.Len() != 8 || info.Role != dkey.RoleOwner || info.State != dkey.KeyActive || !info.Express || info.HasPersistent {
		t.Errorf("new key = %+v", info)
	}
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("second key for the vehicle: %v", err)
	}
	if se.created != 1 {
		t.Errorf("secure element created %d keys", se.created)
	}
	for name, c := range map[string]KeyConfig{
		"homekey id":  {VehicleID: func() dkey.VehicleID { v, _ := dkey.NewVehicleID(make([]byte, 16)); return v }(), VehicleKey: vk},
		"no vehicle":  {VehicleKey: vk},
		"no key":      {VehicleID: vid},
		"zero key":    {VehicleID: vid, VehicleKey: &dkey.PublicKey{}},
		"bad subsets": {VehicleID: vid, VehicleKey: vk, Mailboxes: dkey.MailboxConfig{PrivateSize: 4, PrivateAuth1: dkey.MailboxRange{Offset: 2, Length: 4}}},
	} {
		if _, err := a.CreateKey(c); err == nil {
			t.Errorf("%s: CreateKey succeeded", name)
		}
	}
	se.fail = true
	other, _ := dkey.NewVehicleID(bytes.Repeat([]byte{1}, 8))
	if _, err := a.CreateKey(KeyConfig{VehicleID: other, VehicleKey: vk}); err == nil {
		t.Error("CreateKey succeeded with a failing secure element")
	}
	if len(a.Keys()) != 1 {
		t.Errorf("failed creations left keys: %+v", a.Keys())
	}
}

func TestHomeKeySlotIsKeyHash(t *testing.T) {
	a, _ := NewApplet(&Config{Profile: dkey.HomeKey})
	vid, vk := testVehicle(t, dkey.HomeKey)
	info, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk})
	if err != nil {
		t.Fatal(err)
	}
	if info.Slot.Len() != 6 {
		t.Errorf("Home Key slot %v", info.Slot)
	}
}

func TestTerminate(t *testing.T) {
	se := &countingElement{}
	a, _ := NewApplet(&Config{SecureElement: se})
	vid, vk := testVehicle(t, dkey.CCC)
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk, Mailboxes: dkey.MailboxConfig{PrivateSize: 8}}); err != nil {
		t.Fatal(err)
	}
	if err := a.WritePrivateMailbox(vid, 0, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := a.Terminate(vid); err != nil {
		t.Fatal(err)
	}
	if len(se.deleted) != 1 {
		t.Errorf("secure element deleted %d keys", len(se.deleted))
	}
	for name, err := range map[string]error{
		"terminate again": a.Terminate(vid),
		"suspend":         a.Suspend(vid),
		"resume":          a.Resume(vid),
		"express":         a.SetExpress(vid, false),
		"write mailbox":   a.WritePrivateMailbox(vid, 0, []byte{1}),
	} {
		if !errors.Is(err, dkey.ErrUnknownVehicle) {
			t.Errorf("%s after termination: %v", name, err)
		}
	}
	if _, err := a.ReadPrivateMailbox(vid, 0, 1); !errors.Is(err, dkey.ErrUnknownVehicle) {
		t.Errorf("read mailbox after termination: %v", err)
	}
	keys := a.Keys()
	if len(keys) != 1 || keys[0].State != dkey.KeyTerminated {
		t.Errorf("keys = %+v", keys)
	}
	if _, ok := a.Key(vid); ok {
		t.Error("Key returns a terminated key")
	}
}

func TestPrivateMailbox(t *testing.T) {
	a, _ := NewApplet(nil)
	vid, vk := testVehicle(t, dkey.CCC)
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk, Mailboxes: dkey.MailboxConfig{PrivateSize: 8, ConfidentialSize: 8}}); err != nil {
		t.Fatal(err)
	}
	if err := a.WritePrivateMailbox(vid, 6, []byte("ab")); err != nil {
		t.Fatal(err)
	}
	got, err := a.ReadPrivateMailbox(vid, 4, 4)
	if err != nil || !bytes.Equal(got, []byte("\x00\x00ab")) {
		t.Errorf("ReadPrivateMailbox = %q, %v", got, err)
	}
	got[0] = 'x' // the copy is the caller's
	if again, _ := a.ReadPrivateMailbox(vid, 4, 1); again[0] != 0 {
		t.Error("ReadPrivateMailbox returned the mailbox itself")
	}
	for _, c := range []struct{ off, n int }{{7, 2}, {-1, 1}, {0, 9}, {8, 1}, {0, -1}, {1, math.MaxInt}, {math.MaxInt, 1}, {9, 0}} {
		if _, err := a.ReadPrivateMailbox(vid, c.off, c.n); !errors.Is(err, ErrMailboxAccess) {
			t.Errorf("ReadPrivateMailbox(%d, %d) = %v", c.off, c.n, err)
		}
	}
	for _, off := range []int{7, math.MaxInt, -1, 9} {
		if err := a.WritePrivateMailbox(vid, off, []byte("ab")); !errors.Is(err, ErrMailboxAccess) {
			t.Errorf("WritePrivateMailbox at %d: %v", off, err)
		}
	}
}

// apdu sends one command to the applet and parses the response.
func apdu(t *testing.T, a *Applet, c transport.Command) transport.Response {
	t.Helper()
	b, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := transport.ParseResponse(a.ProcessAPDU(nil, b))
	if err != nil {
		t.Fatalf("response to %X: %v", b, err)
	}
	return r
}

func TestDispatch(t *testing.T) {
	a, _ := NewApplet(nil)
	selectDK := transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDDigitalKey), Ne: 256}
	for _, tt := range []struct {
		name string
		cmd  transport.Command
		want dkey.StatusWord
	}{
		{"AUTH0 before SELECT", transport.Command{CLA: 0x80, INS: 0x80, P1: 0, P2: 1, Data: []byte{1}}, dkey.SWConditionsNotSatisfied},
		{"unknown AID", transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDHomeKey), Ne: 256}, dkey.SWFileNotFound},
		{"SELECT by file id", transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x00, Data: []byte{0x3F, 0x00}}, dkey.SWIncorrectP1P2},
		{"SELECT", selectDK, dkey.SWSuccess},
		{"unknown INS", transport.Command{CLA: 0x80, INS: 0x42}, dkey.SWInstructionNotSupported},
		{"AUTH0 with wrong CLA", transport.Command{CLA: 0x00, INS: 0x80, P2: 1, Data: []byte{1}}, dkey.SWClassNotSupported},
		{"SELECT again", selectDK, dkey.SWSuccess},
		{"AUTH0 malformed", transport.Command{CLA: 0x80, INS: 0x80, P2: 1, Data: []byte{0x5C, 0x02, 0x01}}, dkey.SWWrongData},
		{"AUTH1 after failed AUTH0", transport.Command{CLA: 0x80, INS: 0x81, Data: make([]byte, 66)}, dkey.SWConditionsNotSatisfied},
		{"EXCHANGE", transport.Command{CLA: 0x84, INS: 0xC9, Data: make([]byte, 8)}, dkey.SWConditionsNotSatisfied},
		{"chained", transport.Command{CLA: 0x90, INS: 0x80, Data: []byte{1}}, dkey.SWChainingNotSupported},
		{"logical channel", transport.Command{CLA: 0x81, INS: 0x80, Data: []byte{1}}, dkey.SWLogicalChannelNotSupported},
	} {
		if r := apdu(t, a, tt.cmd); r.SW != tt.want {
			t.Errorf("%s: SW %v, want %v", tt.name, r.SW, tt.want)
		}
	}
	for _, raw := range [][]byte{nil, {0x00}, {0x00, 0xA4, 0x04}, {0x00, 0xA4, 0x04, 0x00, 0x05, 0x01}} {
		r, err := transport.ParseResponse(a.ProcessAPDU(nil, raw))
		if err != nil || r.SW != dkey.SWWrongLength {
			t.Errorf("ProcessAPDU(%X) = %v, %v", raw, r.SW, err)
		}
	}
	// The SELECT response lists the profile's versions.
	r := apdu(t, a, selectDK)
	if !bytes.Equal(r.Data, []byte{0x5C, 0x02, 0x01, 0x00}) {
		t.Errorf("SELECT response %X", r.Data)
	}
}

func TestControlFlowWithoutTransaction(t *testing.T) {
	// A CONTROL FLOW "key deleted" from a reader that never authenticated
	// must not delete anything.
	a, _ := NewApplet(nil)
	vid, vk := testVehicle(t, dkey.CCC)
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk}); err != nil {
		t.Fatal(err)
	}
	apdu(t, a, transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDDigitalKey), Ne: 256})
	cf := transaction.CFKeyDeleted
	if r := apdu(t, a, transport.Command{CLA: 0x80, INS: 0x3C, P1: cf.P1(), P2: cf.P2()}); r.SW != dkey.SWSuccess {
		t.Errorf("CONTROL FLOW answered %v", r.SW)
	}
	if info, ok := a.Key(vid); !ok || info.State != dkey.KeyActive {
		t.Errorf("unauthenticated CONTROL FLOW 00A0 changed the key: %+v", info)
	}
}

func TestConcurrentManagement(t *testing.T) {
	a, _ := NewApplet(nil)
	vid, vk := testVehicle(t, dkey.CCC)
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk, Mailboxes: dkey.MailboxConfig{PrivateSize: 16}}); err != nil {
		t.Fatal(err)
	}
	sel, _ := (&transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte(dkey.AIDDigitalKey), Ne: 256}).Append(nil)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			for j := 0; j < 100; j++ {
				a.ProcessAPDU(nil, sel)
				a.SetLostMode(j%2 == 0)
				_ = a.WritePrivateMailbox(vid, j%16, []byte{byte(j)})
				_ = a.Keys()
				a.Reset()
			}
		})
	}
	wg.Wait()
}

func TestDuplicateSlot(t *testing.T) {
	a, _ := NewApplet(nil)
	vid, vk := testVehicle(t, dkey.CCC)
	slot, _ := dkey.NewKeySlot([]byte{9, 9, 9, 9})
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk, Slot: slot}); err != nil {
		t.Fatal(err)
	}
	other, _ := dkey.NewVehicleID(bytes.Repeat([]byte{7}, 8))
	if _, err := a.CreateKey(KeyConfig{VehicleID: other, VehicleKey: vk, Slot: slot}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("second key with the same slot: %v", err)
	}
}
