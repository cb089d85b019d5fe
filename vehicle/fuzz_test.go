package vehicle

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// FuzzReader answers the reader's commands with arbitrary responses (split
// on FE ED), as a malicious card would. The reader never panics, and a card
// without an enrolled key's private key never changes the reader's state:
// no key gains or changes Kpersistent, none is provisioned or used, and no
// key is enrolled by a forged first friend transaction, although the
// reader would admit the friend key whose real first transaction seeds the
// corpus.
func FuzzReader(f *testing.F) {
	w := newWorld(f, dkey.CCC)
	// Seed with the responses of a real transaction.
	var resps [][]byte
	rec := transporttest.NewRecorder(w.card)
	if _, err := w.reader.Transact(context.Background(), rec, dkey.ActionUnlock); err != nil {
		f.Fatal(err)
	}
	for _, e := range rec.Transcript() {
		resps = append(resps, e.Response)
	}
	f.Add(bytes.Join(resps, []byte{0xFE, 0xED}))
	f.Add([]byte{0x5C, 0x02, 0x01, 0x00, 0x90, 0x00, 0xFE, 0xED, 0x61, 0x10})
	// And with a first friend transaction, which the reader then forgets:
	// the friend's attestation stays admissible.
	friend := newFriend(f, w)
	rec = transporttest.NewRecorder(newCardFor(friend))
	res, err := w.reader.Transact(context.Background(), rec, dkey.ActionUnlock)
	if err != nil || !res.FirstFriend {
		f.Fatalf("first friend transaction = %+v, %v", res, err)
	}
	resps = resps[:0]
	for _, e := range rec.Transcript() {
		resps = append(resps, e.Response)
	}
	f.Add(bytes.Join(resps, []byte{0xFE, 0xED}))
	w.reader.forget(res.Slot)
	before := w.snapshot()
	generation := w.reader.Revocations().Generation()
	f.Fuzz(func(t *testing.T, script []byte) {
		answers := bytes.Split(script, []byte{0xFE, 0xED})
		i := 0
		card := transporttest.NewCard(transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
			if i >= len(answers) {
				return append(dst, 0x6F, 0x00)
			}
			i++
			return append(dst, answers[i-1]...)
		}))
		for _, a := range []dkey.Action{dkey.ActionUnlock, dkey.ActionEngineStart} {
			i = 0
			res, err := w.reader.Transact(context.Background(), card, a)
			if err == nil || res.OK() || res.FirstFriend {
				t.Fatalf("a card without the key's private key completed %v", a)
			}
		}
		after := w.snapshot()
		if len(after.reader) != len(before.reader) || len(after.fast) != len(before.fast) || after.fast[0] != before.fast[0] || after.reader[0].LastUse != before.reader[0].LastUse {
			t.Fatal("a forged transaction changed the reader's state")
		}
		if w.reader.Revocations().Generation() != generation {
			t.Fatal("a forged transaction changed the revocation store")
		}
	})
}

// newFriend returns a friend's applet whose key for the world's vehicle
// holds a key attestation signed by the world's owner key.
func newFriend(tb testing.TB, w *world) *device.Applet {
	tb.Helper()
	a, err := device.NewApplet(nil)
	if err != nil {
		tb.Fatal(err)
	}
	vid := w.reader.ID()
	info, err := a.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: w.reader.PublicKey(), Role: dkey.RoleFriend, Mailboxes: sharing.FriendMailboxes()})
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	w.applet.AuthenticateUser(now.Add(time.Hour))
	owner, slot, err := w.applet.SharingSigner(vid)
	if err != nil {
		tb.Fatal(err)
	}
	att := &attest.KeyAttestation{
		ID: attest.NewID(), VehicleID: vid, FriendKey: info.PublicKey, FriendSlot: info.Slot,
		Profile: dkey.AccessProfile{Entitlements: dkey.AccessOnly}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IssuedAt: now, SignerSlot: slot,
	}
	stmt, err := att.Sign(owner)
	if err != nil {
		tb.Fatal(err)
	}
	area, err := sharing.AppendMailboxArea(nil, sharing.MailboxEntry{Kind: sharing.KindKeyAttestation, Statement: stmt})
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.WritePrivateMailbox(vid, 0, area); err != nil {
		tb.Fatal(err)
	}
	return a
}
