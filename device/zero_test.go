package device

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
)

// TestZeroAppletMisuse: an Applet NewApplet did not make answers every
// APDU with 6F00 (on NFC and on another interface) after what dst held,
// its management calls return ErrNotInitialized, it prints, and Close is
// a no-op.
func TestZeroAppletMisuse(t *testing.T) {
	var a Applet
	sel := []byte{0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x08, 0x09, 0x43, 0x43, 0x43, 0x00}
	for _, apdu := range [][]byte{sel, nil, {0x80, 0x80, 0, 0, 0}} {
		prefix := []byte{0xEE}
		if got := a.ProcessAPDU(prefix, apdu); !bytes.Equal(got, []byte{0xEE, 0x6F, 0x00}) {
			t.Errorf("ProcessAPDU(% X) of a zero Applet = % X, want EE 6F 00", apdu, got)
		}
		if got := a.ProcessAPDUOn(transaction.InterfaceBLE, nil, apdu); !bytes.Equal(got, []byte{0x6F, 0x00}) {
			t.Errorf("ProcessAPDUOn(% X) of a zero Applet = % X, want 6F 00", apdu, got)
		}
	}
	var vid dkey.VehicleID
	errs := map[string]func() error{
		"CreateKey":        func() error { _, err := a.CreateKey(KeyConfig{}); return err },
		"SetExpress":       func() error { return a.SetExpress(vid, true) },
		"SetLostMode":      func() error { return a.SetLostMode(true) },
		"Suspend":          func() error { return a.Suspend(vid) },
		"Resume":           func() error { return a.Resume(vid) },
		"Terminate":        func() error { return a.Terminate(vid) },
		"StartPairing":     func() error { return a.StartPairing([]byte("271828")) },
		"DeleteRangingKey": func() error { return a.DeleteRangingKey(ranging.SessionID{}) },
		"CreateSharedKey":  func() error { _, err := a.CreateSharedKey(&sharing.KeyRequest{}); return err },
		"AppendStatement":  func() error { return a.AppendStatement(vid, sharing.MailboxEntry{}) },
	}
	for name, call := range errs {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrNotInitialized) {
				t.Errorf("%s of a zero Applet = %v, want ErrNotInitialized", name, err)
			}
		})
	}
	a.AuthenticateUser(time.Now())
	a.CancelPairing()
	if _, ok := a.Key(vid); ok || len(a.Keys()) != 0 || a.LostMode() || a.PairingReady() || a.EphemeralKeysReady() != 0 || len(a.RangingKeys()) != 0 {
		t.Error("a zero Applet reports a key, lost mode, pairing or ranging keys")
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, &a); s != "device.Applet{not initialized}" {
			t.Errorf("%s of a zero Applet = %q", verb, s)
		}
	}
	for range 2 {
		if err := a.Close(); err != nil {
			t.Errorf("Close of a zero Applet = %v, want nil", err)
		}
	}
}
