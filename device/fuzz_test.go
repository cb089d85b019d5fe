package device

import (
	"bytes"
	"context"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// recordingCard passes commands to an applet and keeps them, to seed the
// fuzzer with real transactions.
type recordingCard struct {
	a    *Applet
	cmds [][]byte
}

func (c *recordingCard) Transceive(_ context.Context, dst, cmd []byte) ([]byte, error) {
	c.cmds = append(c.cmds, bytes.Clone(cmd))
	return c.a.ProcessAPDU(dst, cmd), nil
}

// FuzzApplet drives an applet holding one key with arbitrary APDU sequences
// (split on FE ED). The applet never panics, always answers a well-formed
// response, and never leaves its key in a state the fuzzer could not reach
// legitimately: without the vehicle's private key or Kpersistent it cannot
// authenticate, so the key stays active and its Kpersistent and mailboxes
// are unchanged, the statement area included (only the vehicle's
// acknowledgement inside the secure channel clears it; CONTROL FLOW 4082
// clears nothing), and no ranging key is ever kept (CREATE RANGING KEY
// needs an authenticated standard transaction). (The display-only
// transaction count may change: CONTROL FLOW is not authenticated.)
func FuzzApplet(f *testing.F) {
	a, err := NewApplet(nil)
	if err != nil {
		f.Fatal(err)
	}
	vk, _ := dkey.GenerateSoftwareKey()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	mb := dkey.MailboxConfig{PrivateSize: 32, ConfidentialSize: 16, ConfidentialAuth1: dkey.MailboxRange{Length: 16}}
	info, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey(), Mailboxes: mb})
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: real standard and fast transactions from a vehicle session.
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: vid, Key: vk})
	if err != nil {
		f.Fatal(err)
	}
	card := &recordingCard{a: a}
	client := transport.NewClient(card, &transport.ClientConfig{ExtendedLength: true})
	s := v.NewSession()
	var pk transaction.PersistentKey
	for i, flags := range []transaction.Flags{0, transaction.FlagFast, 0} {
		action := dkey.ActionUnlock
		if i == 2 {
			// A ranging-key transaction with CREATE RANGING KEY.
			action = dkey.ActionRangingKey
		}
		if err := s.Start(action, flags); err != nil {
			f.Fatal(err)
		}
		do := func(c transport.Command) transport.Response {
			r, err := client.Do(context.Background(), &c, nil)
			if err != nil {
				f.Fatal(err)
			}
			return r
		}
		_ = s.ReadSelect(do(s.Select()))
		c, _ := s.Auth0()
		_ = s.ReadAuth0(do(c))
		if flags == 0 {
			c, _ = s.Auth1()
			_, _ = s.ReadAuth1(do(c))
			pk, _ = s.VerifyEndpoint(info.PublicKey)
			c, _ = s.Exchange([]transaction.MailboxOp{{Kind: transaction.OpWrite, Mailbox: dkey.PrivateMailbox, Data: []byte{1, 2}}})
			_, _ = s.ReadExchange(do(c))
			if action == dkey.ActionRangingKey {
				do(transport.Command{CLA: 0x80, INS: 0x71, Data: []byte{1, 2, 3}})
			}
		} else if s.FindFast([]transaction.FastKey{transaction.NewFastKey(info.PublicKey, &pk)}) < 0 {
			f.Fatal("fast seed transaction failed")
		}
		cf := transaction.CFSuccess
		if flags == 0 {
			cf = transaction.CFDeleteAttestation
		}
		do(s.ControlFlow(cf))
		f.Add(bytes.Join(card.cmds, []byte{0xFE, 0xED}))
		card.cmds = nil
	}
	// A statement area for the vehicle, which only an authenticated
	// vehicle that read it may have cleared.
	area, err := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindTermination, Statement: bytes.Repeat([]byte{0xA5}, 20)})
	if err != nil {
		f.Fatal(err)
	}
	if err := a.WritePrivateMailbox(vid, 0, area); err != nil {
		f.Fatal(err)
	}
	// The seeds' URSKs go: none may come back without the vehicle.
	if err := a.SetLostMode(true); err != nil {
		f.Fatal(err)
	}
	if err := a.SetLostMode(false); err != nil {
		f.Fatal(err)
	}
	k := a.keys[0]
	persistent := k.cred.Persistent
	private, conf := bytes.Clone(k.private), bytes.Clone(k.conf)
	f.Fuzz(func(t *testing.T, script []byte) {
		a.Reset()
		for _, cmd := range bytes.Split(script, []byte{0xFE, 0xED}) {
			resp := a.ProcessAPDU(nil, cmd)
			if _, err := transport.ParseResponse(resp); err != nil {
				t.Fatalf("response %X to %X is malformed", resp, cmd)
			}
			if k.state != dkey.KeyActive || !k.cred.Persistent.Equal(&persistent) ||
				!bytes.Equal(k.private, private) || !bytes.Equal(k.conf, conf) || a.lost || a.rng.table.Len() != 0 {
				t.Fatalf("command %X changed the key: state %v", cmd, k.state)
			}
		}
	})
}
