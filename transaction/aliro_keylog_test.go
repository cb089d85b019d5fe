package transaction

import (
	"bytes"
	"io"
	"testing"
	"testing/cryptotest"

	"github.com/opencarkey/sdk/internal/gcmchannel"
	"github.com/opencarkey/sdk/internal/keylog"
)

// TestAliroKeyLogDecrypts runs a standard transaction with an EXCHANGE and
// then a fast one, both sides logging keys, and opens the recorded AUTH1
// response and EXCHANGEs with the logged keys alone.
func TestAliroKeyLogDecrypts(t *testing.T) {
	tr, te, cred := aliroPair(t)
	var rlog, elog bytes.Buffer
	tr.s.keyLog, te.s.keyLog = &rlog, &elog
	rec := &recorder{inner: te}
	tr.card = rec
	pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	txID := bytes.Clone(tr.s.t.txID[:])
	su := tr.s.StepUpKey()
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rlog.Bytes(), elog.Bytes()) {
		t.Errorf("reader and device logged different keys:\n%s\n%s", rlog.Bytes(), elog.Bytes())
	}
	m := loggedKeys(t, rlog.Bytes(), txID)
	if len(m) != 4 || !bytes.Equal(m[keylog.TransactionKpersistent], pk.Bytes()) || !bytes.Equal(m[keylog.AliroStepUpSK], su.Bytes()) {
		t.Fatalf("standard key log: %d entries, Kpersistent or StepUpSK differ", len(m))
	}
	// cmds: SELECT, AUTH0, AUTH1, EXCHANGE.
	var ch gcmchannel.Channel
	if err := ch.Init(gcmchannel.ReaderEnd, m[keylog.AliroSKReader], m[keylog.AliroSKDevice], aliroLastCounter); err != nil {
		t.Fatal(err)
	}
	resp := rec.resps[2]
	if _, err := ch.Open(nil, resp[:len(resp)-2]); err != nil {
		t.Fatalf("AUTH1 response does not open under the logged keys: %v", err)
	}
	var dch gcmchannel.Channel
	if err := dch.Init(gcmchannel.DeviceEnd, m[keylog.AliroSKReader], m[keylog.AliroSKDevice], aliroLastCounter); err != nil {
		t.Fatal(err)
	}
	if _, err := dch.Seal(nil, []byte("counter 1")); err != nil { // the AUTH1 response
		t.Fatal(err)
	}
	if pt, err := dch.Open(nil, dataOf(t, rec.cmds[3])); err != nil || !bytes.Contains(pt, []byte{byte(aliroTagReaderStatus), 2}) {
		t.Fatalf("EXCHANGE = %x, %v under the logged keys", pt, err)
	}

	// Fast.
	rlog.Reset()
	elog.Reset()
	rec.cmds, rec.resps = nil, nil
	if i, err := tr.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &pk)}); err != nil || i != 0 {
		t.Fatalf("fast = %d, %v", i, err)
	}
	txID = bytes.Clone(tr.s.t.txID[:])
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rlog.Bytes(), elog.Bytes()) {
		t.Errorf("fast: reader and device logged different keys:\n%s\n%s", rlog.Bytes(), elog.Bytes())
	}
	m = loggedKeys(t, rlog.Bytes(), txID)
	if len(m) != 2 {
		t.Fatalf("fast key log: %d entries, want 2", len(m))
	}
	dch = gcmchannel.Channel{}
	if err := dch.Init(gcmchannel.DeviceEnd, m[keylog.AliroFastSKReader], m[keylog.AliroFastSKDevice], aliroLastCounter); err != nil {
		t.Fatal(err)
	}
	if _, err := dch.Open(nil, dataOf(t, rec.cmds[2])); err != nil {
		t.Fatalf("fast EXCHANGE does not open under the logged keys: %v", err)
	}
}

// TestAliroKeyLogOff: no key log, no write; a failing one changes nothing;
// the configurations carry Rand and KeyLog to the sessions.
func TestAliroKeyLogOff(t *testing.T) {
	tr, _, cred := aliroPair(t)
	fw := &failingWriter{}
	tr.s.keyLog = fw
	if _, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil {
		t.Fatalf("a failing key log broke the transaction: %v", err)
	}
	if fw.n != 2 {
		t.Errorf("the key log got %d writes, want 2 (keys at AUTH1, Kpersistent at the verification)", fw.n)
	}
	var b bytes.Buffer
	src := seeded(3)
	r, err := NewAliroReader(&AliroReaderConfig{ReaderID: tr.r.ID(), Key: tr.r.key, KeyLog: &b, Rand: src})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.NewSession(); s.keyLog != &b || s.rand != src {
		t.Error("AliroReaderConfig.KeyLog or Rand does not reach the session")
	}
	es, err := NewAliroEndpointSession(&AliroEndpointConfig{KeyLog: &b, Rand: src})
	if err != nil || es.keyLog != &b || es.rand != src {
		t.Error("AliroEndpointConfig.KeyLog or Rand does not reach the session")
	}
}

// TestAliroRandDeterministic: with Rand on both sides, the same seeds give
// the same SELECT, AUTH0 and responses, and a fast request without
// Kpersistent gets its decoy cryptogram from Rand too; a reader that runs
// dry fails Start.
func TestAliroRandDeterministic(t *testing.T) {
	run := func() [][]byte {
		tr, te, _ := aliroPair(t)
		tr.s.rand, te.s.rand = seeded(1), seeded(2)
		rec := &recorder{inner: te}
		tr.card = rec
		if err := tr.auth0(AliroPolicyUserDevice, true); err != nil {
			t.Fatal(err)
		}
		return [][]byte{rec.cmds[1], rec.resps[1]}
	}
	a, b := run(), run()
	if !bytes.Equal(a[0], b[0]) || !bytes.Equal(a[1], b[1]) {
		t.Errorf("the same seeds gave different AUTH0 exchanges:\n%x\n%x", a, b)
	}
	tr, _, _ := aliroPair(t)
	tr.s.rand = bytes.NewReader(make([]byte, 40))
	if err := tr.s.Start(AliroPolicyUserDevice, false); err == nil {
		t.Error("Start with a reader that ends after 40 bytes succeeded")
	}
}

// TestAliroRandReproducesCryptoRand: Rand reading crypto/rand gives the
// wire bytes crypto/rand gives, signatures included, under
// testing/cryptotest.SetGlobalRandom.
func TestAliroRandReproducesCryptoRand(t *testing.T) {
	run := func(r io.Reader) [][]byte {
		cryptotest.SetGlobalRandom(t, 9)
		tr, te, cred := aliroPair(t)
		tr.s.rand, te.s.rand = r, r
		rec := &recorder{inner: te}
		tr.card = rec
		pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.finish(AliroStatusUnsecure); err != nil {
			t.Fatal(err)
		}
		if i, err := tr.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &pk)}); err != nil || i != 0 {
			t.Fatal("no fast match")
		}
		return append(rec.cmds, rec.resps...)
	}
	want, got := run(nil), run(globalRand{})
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("APDU %d with Rand = %x, with crypto/rand %x", i, got[i], want[i])
		}
	}
}
