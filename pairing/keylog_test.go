package pairing

import (
	"bytes"
	mathrand "math/rand/v2"
	"testing"

	"github.com/opencarkey/sdk/internal/keylog"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/internal/tlv"
	"github.com/opencarkey/sdk/transport"
)

// TestKeyLogDecrypts pairs with both sides logging keys and decrypts every
// message of the recorded pairing channel with the logged keys alone: the
// keys in the log are the ones the channel used, under the device's share X.
func TestKeyLogDecrypts(t *testing.T) {
	f := newFixture(t, "123456", false)
	var vlog, dlog bytes.Buffer
	f.vcfg.KeyLog, f.card.cfg.KeyLog = &vlog, &dlog
	tc := f.withTamper()
	var resps [][]byte
	tc.resp = func(_, resp []byte) []byte { resps = append(resps, bytes.Clone(resp)); return resp }
	res, err := f.pair(t)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vlog.Bytes(), dlog.Bytes()) {
		t.Fatalf("vehicle and device logged different keys:\n%s\n%s", vlog.Bytes(), dlog.Bytes())
	}
	entries, err := keylog.Parse(vlog.Bytes())
	if err != nil || len(entries) != 3 {
		t.Fatalf("key log: %d entries, %v; want 3", len(entries), err)
	}
	// X is in the response to SPAKE2+ REQUEST, the second command.
	x, err := tlv.Single(resps[1][:len(resps[1])-2], tagShareX)
	if err != nil {
		t.Fatal(err)
	}
	var keys securemsg.Keys
	for _, e := range entries {
		if !bytes.Equal(e.ID, x) {
			t.Fatalf("%v logged under %x, want X = %x", e.Label, e.ID, x)
		}
		switch e.Label {
		case keylog.PairingKenc:
			copy(keys.Enc[:], e.Secret)
		case keylog.PairingKmac:
			copy(keys.MAC[:], e.Secret)
		case keylog.PairingKrmac:
			copy(keys.RMAC[:], e.Secret)
		default:
			t.Fatalf("unexpected label %v", e.Label)
		}
	}
	rcv, _ := securemsg.NewReceiver(&keys, securemsg.CommandFirst)
	snd, _ := securemsg.NewSender(&keys, securemsg.CommandFirst)
	var plains [][]byte
	for i, apdu := range tc.seen {
		cmd, err := transport.ParseCommand(apdu)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.CLA != claSecure {
			continue
		}
		p, err := rcv.UnprotectCommand(nil, cmd.Data)
		if err != nil {
			t.Fatalf("command %d (%X) does not verify under the logged keys: %v", i, apdu[:4], err)
		}
		if _, err := snd.ProtectCommand(nil, p); err != nil {
			t.Fatal(err)
		}
		r, err := snd.UnprotectResponse(nil, resps[i][:len(resps[i])-2])
		if err != nil {
			t.Fatalf("response %d does not verify under the logged keys: %v", i, err)
		}
		if _, err := rcv.ProtectResponse(nil, r); err != nil {
			t.Fatal(err)
		}
		plains = append(plains, p, r)
	}
	if root := tlv.AppendTLV(nil, tagVehicleRoot, f.pki.vehicleRoot.Raw); !bytes.Equal(plains[0], root) {
		t.Errorf("first WRITE DATA plaintext %x, want 7F4A with the vehicle root", plains[0][:8])
	}
	endpoint := tlv.AppendTLV(nil, tagEndpointCert, res.Endpoint.Chain[0].Raw)
	found := false
	for _, p := range plains {
		found = found || bytes.Equal(p, endpoint)
	}
	if !found {
		t.Error("no GET DATA response decrypts to the endpoint certificate")
	}
}

// TestRandDeterministic: with Rand set on both sides, the same seeds give
// the same shares X and Y and the same key slot; a source that fails ends
// the run.
func TestRandDeterministic(t *testing.T) {
	run := func() (x, y []byte, slot string) {
		f := newFixture(t, "123456", false)
		f.vcfg.Rand, f.card.cfg.Rand = mathrand.NewChaCha8([32]byte{1}), mathrand.NewChaCha8([32]byte{2})
		tc := f.withTamper()
		var resps [][]byte
		tc.resp = func(_, resp []byte) []byte { resps = append(resps, bytes.Clone(resp)); return resp }
		res, err := f.pair(t)
		if err != nil {
			t.Fatal(err)
		}
		return resps[1], tc.seen[2], res.Slot.String()
	}
	x1, y1, s1 := run()
	x2, y2, s2 := run()
	if !bytes.Equal(x1, x2) || !bytes.Equal(y1, y2) || s1 != s2 {
		t.Errorf("the same seeds gave X %x / %x, VERIFY %x / %x, slot %s / %s", x1[:8], x2[:8], y1[:8], y2[:8], s1, s2)
	}
	f := newFixture(t, "123456", false)
	f.card.cfg.Rand = bytes.NewReader(make([]byte, 10))
	if _, err := f.pair(t); err == nil {
		t.Error("pairing with a device source that ends after 10 bytes succeeded")
	}
	f = newFixture(t, "123456", false)
	f.vcfg.Rand = bytes.NewReader(nil)
	if _, err := f.pair(t); err == nil {
		t.Error("pairing with an empty vehicle source succeeded")
	}
}
