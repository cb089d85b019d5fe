package pollingtest_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// countingCard answers 9000 and counts commands and resets.
type countingCard struct{ cmds, resets int }

func (c *countingCard) ProcessAPDU(dst, cmd []byte) []byte { c.cmds++; return append(dst, 0x90, 0x00) }
func (c *countingCard) Reset()                             { c.resets++ }

func TestExpressPhone(t *testing.T) {
	var group [8]byte
	ecp := polling.HomeKey(group)
	card := &countingCard{}
	f := pollingtest.NewField()
	f.Enter(&pollingtest.Phone{Card: card, Express: true, Accept: pollingtest.AcceptFrame(ecp)})
	if !f.HasPhone() {
		t.Fatal("HasPhone() = false after Enter")
	}
	if _, ok := f.Activate(); ok {
		t.Fatal("Activate with the field off succeeded")
	}
	f.SetOn(true)
	if _, ok := f.Activate(); ok {
		t.Fatal("an express phone answered without ECP")
	}
	f.Frame([]byte{0x26})                            // not ECP
	f.Frame(polling.HomeKey([8]byte{1}).Append(nil)) // another reader
	f.Garbled()                                      // broken framing
	f.Frame(ecp.Append(nil))                         // its reader
	info, ok := f.Activate()
	if !ok || !pollingtest.EqualInfo(info, pollingtest.DefaultInfo) {
		t.Fatalf("Activate after ECP = %+v, %v", info, ok)
	}
	if _, ok := f.Activate(); ok {
		t.Error("a second activation in an open session succeeded")
	}
	resp, err := f.Exchange([]byte{1}, []byte{0x00, 0xA4, 0x04, 0x00})
	if err != nil || !bytes.Equal(resp, []byte{1, 0x90, 0x00}) || !f.Present() {
		t.Errorf("Exchange = %X, %v; present %v", resp, err, f.Present())
	}
	f.Deactivate()
	if f.Present() || card.resets != 1 {
		t.Errorf("after Deactivate: present %v, %d resets", f.Present(), card.resets)
	}
	if _, err := f.Exchange(nil, []byte{0, 0, 0, 0}); !errors.Is(err, pollingtest.ErrGone) {
		t.Errorf("Exchange without a session = %v, want %v", err, pollingtest.ErrGone)
	}
	// Still in the same field period: the phone answers again.
	if _, ok := f.Activate(); !ok {
		t.Error("no activation after Deactivate")
	}
	// Field off: session over, ECP forgotten.
	f.SetOn(false)
	f.SetOn(true)
	if _, ok := f.Activate(); ok {
		t.Error("the phone remembered the ECP frame across a field reset")
	}
	want := pollingtest.Stats{Accepted: 1, Rejected: 2, Garbled: 1, Activations: 2, Exchanges: 1}
	if got := f.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	f.Leave()
	if f.HasPhone() {
		t.Error("HasPhone() after Leave")
	}
	f.Frame(ecp.Append(nil))
	if got := f.Stats().Rejected; got != 3 {
		t.Errorf("a frame into an empty field: %d rejected, want 3", got)
	}
}

func TestLeaveAt(t *testing.T) {
	for _, before := range []bool{true, false} {
		card := &countingCard{}
		f := pollingtest.NewField()
		f.Enter(&pollingtest.Phone{Card: card, Info: polling.TargetInfo{NFCID1: []byte{1, 2, 3, 4}, SELRes: 0x20}})
		f.SetOn(true)
		info, ok := f.Activate()
		if !ok || !bytes.Equal(info.NFCID1, []byte{1, 2, 3, 4}) {
			t.Fatalf("Activate = %+v, %v", info, ok)
		}
		f.LeaveAt(pollingtest.INS(0x81), before)
		if _, err := f.Exchange(nil, []byte{0x80, 0x80, 0, 0}); err != nil {
			t.Fatalf("AUTH0 = %v", err)
		}
		if _, err := f.Exchange(nil, []byte{0x80, 0x81, 0, 0}); !errors.Is(err, pollingtest.ErrGone) {
			t.Fatalf("AUTH1 with the phone leaving = %v", err)
		}
		wantCmds := 2
		if before {
			wantCmds = 1
		}
		if card.cmds != wantCmds || card.resets != 1 || f.HasPhone() || !f.Left() || f.Left() {
			t.Errorf("before %v: %d commands, %d resets, phone %v", before, card.cmds, card.resets, f.HasPhone())
		}
	}
	if pollingtest.INS(0xA4)([]byte{0x00}) {
		t.Error("INS matched a one-byte command")
	}
}

func TestEqualInfo(t *testing.T) {
	a := pollingtest.DefaultInfo.Clone()
	if !pollingtest.EqualInfo(a, pollingtest.DefaultInfo) {
		t.Error("EqualInfo(clone) = false")
	}
	a.ATS = nil
	if pollingtest.EqualInfo(a, pollingtest.DefaultInfo) {
		t.Error("EqualInfo ignores the ATS")
	}
}

func TestOpenPTY(t *testing.T) {
	p, err := pollingtest.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Slave == "" {
		t.Fatal("no slave path")
	}
	// Reads on the master honour deadlines.
	p.Master.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := p.Master.Read(make([]byte, 1)); err == nil {
		t.Error("a read on an idle master returned no error")
	}
}
