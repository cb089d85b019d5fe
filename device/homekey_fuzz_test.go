package device

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// FuzzHomeKeyApplet drives the Home Key dispatch of an applet (AUTH0 by
// reader group, the attestation EXCHANGE, CONTROL FLOW 40A0, the
// configuration applet with its ENVELOPEs and GET RESPONSE) with arbitrary
// APDU sequences (split on FE ED), each run on an applet whose
// configuration applet is armed, as after a real transaction. The applet
// never panics, always answers a well-formed response, and the key stays
// as it was: active, with its document and the Kpersistent of its locks,
// which only an authenticated lock changes.
func FuzzHomeKeyApplet(f *testing.F) {
	h := newHome(f, 0x21)
	a, info := newHomeApplet(f, h)
	// Seeds: a whole attestation flow and a fast transaction, recorded,
	// and the recorded iPhone exchange's commands.
	res, pk, err := homeTap(f, h, h.lock(1), a, tapOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(joinCommands(res.tr))
	res, _, err = homeTap(f, h, h.lock(1), a, tapOptions{endpoint: info.PublicKey, fast: &pk})
	if err != nil || !res.fast {
		f.Fatalf("fast seed: %v", err)
	}
	f.Add(joinCommands(res.tr))
	if b, err := os.ReadFile("testdata/homekey_handover.transcript"); err == nil {
		tr, err := transporttest.ParseTranscript(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(joinCommands(tr))
	} else {
		f.Fatal(err)
	}
	k := a.keys[0]
	readers := bytes.Clone(k.home.readers[0].persistent.Bytes())
	doc := k.home.doc
	var secret [mdoc.SecretSize]byte
	for i := range secret {
		secret[i] = byte(i)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		a.Reset()
		s, _ := mdoc.SecretFromBytes(secret[:])
		a.mu.Lock()
		a.hk.armed = &attestation{key: k, group: [HomeKeyGroupLen]byte(h.group.Bytes()), secret: *s}
		a.mu.Unlock()
		for _, cmd := range bytes.Split(script, []byte{0xFE, 0xED}) {
			resp := a.ProcessAPDU(nil, cmd)
			if _, err := transport.ParseResponse(resp); err != nil {
				t.Fatalf("response %X to %X is malformed", resp, cmd)
			}
			if k.state != dkey.KeyActive || a.lost || k.home.doc != doc || len(k.home.readers) != 1 ||
				!bytes.Equal(k.home.readers[0].persistent.Bytes(), readers) {
				t.Fatalf("command %X changed the key", cmd)
			}
		}
	})
}

// joinCommands returns the commands of tr joined with FE ED, a fuzz seed.
func joinCommands(tr transporttest.Transcript) []byte {
	var cmds [][]byte
	for _, e := range tr {
		cmds = append(cmds, e.Command)
	}
	return bytes.Join(cmds, []byte{0xFE, 0xED})
}

// FuzzHomeKeyRecord decodes arbitrary bytes as the Home Key record of a
// key (the plaintext once unsealed) whose secure element holds the
// Kpersistent of locks 1 and 2: never a panic, every error is
// seal.ErrCorrupt, and what decodes encodes back to the same bytes.
func FuzzHomeKeyRecord(f *testing.F) {
	h := newHome(f, 0x22)
	m, kek := store.NewMemory(), testKEK(f, 4)
	a, info := newHomeApplet(f, h, withStore(m, kek))
	for _, l := range []dkey.VehicleID{h.lock(1), h.lock(2)} {
		if _, _, err := homeTap(f, h, l, a, tapOptions{endpoint: info.PublicKey}); err != nil {
			f.Fatal(err)
		}
	}
	k := a.keys[0]
	b, err := a.sec.Get(homeKeyName(k.id))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Clone(b))
	docOnly, _ := encodeHomeKey(&homeKey{doc: k.home.doc})
	f.Add(docOnly)
	f.Fuzz(func(t *testing.T, b []byte) {
		a.mu.Lock()
		defer a.mu.Unlock()
		hk, err := a.decodeHomeKey(b, k)
		if err != nil {
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Fatalf("error %v is not seal.ErrCorrupt", err)
			}
			return
		}
		out, err := encodeHomeKey(hk)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("%X decodes and re-encodes as %X, %v", b, out, err)
		}
	})
}
