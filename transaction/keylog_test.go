package transaction

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	mathrand "math/rand/v2"
	"testing"
	"testing/cryptotest"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/ecdhe"
	"github.com/opencarkey/sdk/internal/keylog"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/transport"
)

// loggedKeys returns the entries of a key log by label, failing the test on
// a syntax error or on entries of another transaction.
func loggedKeys(t *testing.T, log []byte, txID []byte) map[keylog.Label][]byte {
	t.Helper()
	entries, err := keylog.Parse(log)
	if err != nil {
		t.Fatalf("key log does not parse: %v\n%s", err, log)
	}
	m := map[keylog.Label][]byte{}
	for _, e := range entries {
		if !bytes.Equal(e.ID, txID) {
			t.Fatalf("key log entry %v for transaction %x, want %x", e.Label, e.ID, txID)
		}
		m[e.Label] = e.Secret
	}
	return m
}

func smKeys(t *testing.T, m map[keylog.Label][]byte, enc, mac, rmac keylog.Label) *securemsg.Keys {
	t.Helper()
	var k securemsg.Keys
	for _, f := range []struct {
		dst *[16]byte
		l   keylog.Label
	}{{&k.Enc, enc}, {&k.MAC, mac}, {&k.RMAC, rmac}} {
		if len(m[f.l]) != 16 {
			t.Fatalf("key log has no %v", f.l)
		}
		copy(f.dst[:], m[f.l])
	}
	return &k
}

// dataOf returns the data field of a recorded command APDU.
func dataOf(t *testing.T, apdu []byte) []byte {
	t.Helper()
	cmd, err := transport.ParseCommand(apdu)
	if err != nil {
		t.Fatal(err)
	}
	return cmd.Data
}

// TestKeyLogDecrypts runs a standard transaction with EXCHANGE and then a
// fast one with EXCHANGE, both sides logging keys, and decrypts the
// recorded secure-messaging payloads with the logged keys alone: the keys
// in the log are the ones the sessions used.
func TestKeyLogDecrypts(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			tv, te := pair(t, p)
			var vlog, elog bytes.Buffer
			tv.s.keyLog, te.s.keyLog = &vlog, &elog
			te.subsets[0] = dkey.MailboxRange{Offset: 0, Length: 8}
			copy(te.conf, "token-01")
			rec := &recorder{inner: te}
			tv.card = rec

			pk, _, err := tv.standard(dkey.ActionUnlock, FlagExchange, te.cred.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			txID := bytes.Clone(tv.s.t.txID[:])
			rk := tv.s.RangingKey()
			write := []byte("written under SM")
			if _, err := tv.exchange(MailboxOp{Kind: OpWrite, Mailbox: dkey.PrivateMailbox, Offset: 5, Data: write},
				MailboxOp{Kind: OpRead, Mailbox: dkey.ConfidentialMailbox, Offset: 0, Length: 8}); err != nil {
				t.Fatal(err)
			}
			if err := tv.controlFlow(CFSuccess); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(vlog.Bytes(), elog.Bytes()) {
				t.Errorf("vehicle and endpoint logged different keys:\n%s\n%s", vlog.Bytes(), elog.Bytes())
			}
			m := loggedKeys(t, vlog.Bytes(), txID)
			if !bytes.Equal(m[keylog.TransactionKpersistent], pk.Bytes()) {
				t.Errorf("logged Kpersistent differs from the one returned")
			}
			if p == dkey.CCC != (m[keylog.TransactionURSK] != nil) || (rk.Valid() && !bytes.Equal(m[keylog.TransactionURSK], rk.Bytes())) {
				t.Errorf("logged URSK %x, ranging key valid %v", m[keylog.TransactionURSK], rk.Valid())
			}
			// cmds: SELECT, AUTH0, AUTH1, EXCHANGE, CONTROL FLOW.
			keys := smKeys(t, m, keylog.TransactionKenc, keylog.TransactionKmac, keylog.TransactionKrmac)
			snd, err := securemsg.NewSender(keys, securemsg.InitialResponse)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := snd.UnprotectResponse(nil, rec.resps[2][:len(rec.resps[2])-2])
			if err != nil {
				t.Fatalf("AUTH1 response does not verify under the logged keys: %v", err)
			}
			if !bytes.HasPrefix(plain, append([]byte{byte(tagKeySlot), byte(te.cred.Slot.Len())}, te.cred.Slot.Bytes()...)) {
				t.Errorf("AUTH1 plaintext %x does not start with the key slot", plain)
			}
			rcv, err := securemsg.NewReceiver(keys, securemsg.InitialResponse)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rcv.ProtectResponse(nil, plain); err != nil {
				t.Fatal(err)
			}
			ops, err := rcv.UnprotectCommand(nil, dataOf(t, rec.cmds[3]))
			if err != nil {
				t.Fatalf("EXCHANGE does not verify under the logged keys: %v", err)
			}
			if !bytes.Contains(ops, write) {
				t.Errorf("EXCHANGE plaintext %x lacks the written data", ops)
			}
			// The sender, replaying the command, answers the response.
			if again, err := snd.ProtectCommand(nil, ops); err != nil || !bytes.Equal(again, dataOf(t, rec.cmds[3])) {
				t.Fatalf("re-protecting the EXCHANGE gave %x, %v", again, err)
			}
			res, err := snd.UnprotectResponse(nil, rec.resps[3][:len(rec.resps[3])-2])
			if err != nil || !bytes.Equal(res, AppendReadResult(nil, []byte("token-01"))) {
				t.Errorf("EXCHANGE response = %x, %v", res, err)
			}

			// Fast, with EXCHANGE under the fast keys.
			vlog.Reset()
			elog.Reset()
			rec.cmds, rec.resps = nil, nil
			if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
				t.Fatal(err)
			}
			if tv.s.FindFast([]FastKey{NewFastKey(te.cred.PublicKey, &pk)}) != 0 {
				t.Fatal("no fast match")
			}
			txID = bytes.Clone(tv.s.t.txID[:])
			if _, err := tv.exchange(MailboxOp{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 5, Length: uint16(len(write))}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(vlog.Bytes(), elog.Bytes()) {
				t.Errorf("fast: vehicle and endpoint logged different keys:\n%s\n%s", vlog.Bytes(), elog.Bytes())
			}
			m = loggedKeys(t, vlog.Bytes(), txID)
			if len(m) != 3 {
				t.Errorf("fast transaction logged %d entries, want the 3 fast keys", len(m))
			}
			keys = smKeys(t, m, keylog.FastKenc, keylog.FastKmac, keylog.FastKrmac)
			rcv, _ = securemsg.NewReceiver(keys, securemsg.CommandFirst)
			if _, err := rcv.UnprotectCommand(nil, dataOf(t, rec.cmds[2])); err != nil {
				t.Fatalf("fast EXCHANGE does not verify under the logged keys: %v", err)
			}
		})
	}
}

// failingWriter fails every write.
type failingWriter struct{ n int }

func (w *failingWriter) Write([]byte) (int, error) { w.n++; return 0, errors.New("disk full") }

// TestKeyLogOff checks that without a key log nothing is written, and that
// a key log that fails does not change the outcome.
func TestKeyLogOff(t *testing.T) {
	tv, te := pair(t, dkey.CCC)
	fw := &failingWriter{}
	tv.s.keyLog = fw
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatalf("a failing key log broke the transaction: %v", err)
	}
	if fw.n != 1 {
		t.Errorf("the key log got %d writes, want 1 per session", fw.n)
	}
	// The configuration carries the writer to the sessions.
	var b bytes.Buffer
	k, _ := dkey.GenerateSoftwareKey()
	v, err := NewVehicleParams(&VehicleConfig{VehicleID: tv.v.ID(), Key: k, KeyLog: &b})
	if err != nil {
		t.Fatal(err)
	}
	if s := v.NewSession(); s.keyLog != &b {
		t.Error("VehicleConfig.KeyLog does not reach the session")
	}
	es, _ := NewEndpointSession(&EndpointConfig{KeyLog: &b, Rand: rand.Reader})
	if es.keyLog != &b || es.rand != rand.Reader {
		t.Error("EndpointConfig.KeyLog or Rand does not reach the session")
	}
}

// seeded returns a deterministic reader: ChaCha8 with the seed.
func seeded(seed byte) *mathrand.ChaCha8 { return mathrand.NewChaCha8([32]byte{seed}) }

// TestRandDeterministic: with Rand set on both sides, the ephemeral keys
// and the transaction identifier are the ones the reader's bytes give, so
// the same seed gives the same AUTH0 command and response.
func TestRandDeterministic(t *testing.T) {
	run := func() (auth0, resp []byte) {
		tv, te := pair(t, dkey.CCC)
		tv.s.rand, te.s.rand = seeded(1), seeded(2)
		rec := &recorder{inner: te}
		tv.card = rec
		if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
			t.Fatal(err)
		}
		return rec.cmds[1], rec.resps[1]
	}
	a1, r1 := run()
	a2, r2 := run()
	if !bytes.Equal(a1, a2) || !bytes.Equal(r1, r2) {
		t.Errorf("the same seeds gave different AUTH0 exchanges:\n%x\n%x", a1, a2)
	}
	// What the vehicle's reader gives: the scalar (rejection sampled), then
	// the transaction identifier.
	var eph ecdhe.PrivateKey
	src := seeded(1)
	if err := eph.GenerateFrom(src); err != nil {
		t.Fatal(err)
	}
	var txID [txIDSize]byte
	src.Read(txID[:])
	var want auth0
	want.version, want.txID = dkey.Version1, txID
	want.vehicleID, _ = dkey.NewVehicleID([]byte("vehicle-identity")[:8])
	copy(want.vehicleEPK[:], eph.Public().Bytes())
	if d := dataOf(t, a1); !bytes.Equal(d, want.append(nil)) {
		t.Errorf("AUTH0 data = %x, want %x", d, want.append(nil))
	}
	if err := eph.GenerateFrom(seeded(2)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(r1, eph.Public().Bytes()) {
		t.Errorf("AUTH0 response %x does not carry the endpoint key from its reader", r1)
	}
	// A reader that fails fails the transaction, with nothing sent.
	tv, _ := pair(t, dkey.CCC)
	tv.s.rand = bytes.NewReader(make([]byte, 40))
	if err := tv.s.Start(dkey.ActionUnlock, 0); err == nil {
		t.Error("Start with a reader that ends after 40 bytes succeeded")
	}
}

// globalRand reads crypto/rand when called, so that it follows
// testing/cryptotest.SetGlobalRandom.
type globalRand struct{}

func (globalRand) Read(b []byte) (int, error) { return rand.Read(b) }

// TestRandReproducesCryptoRand runs the same transactions twice from the
// same seeded crypto/rand (testing/cryptotest.SetGlobalRandom), once with
// Rand nil and once with Rand reading that stream: every byte on the wire,
// the signatures included, is the same. Drawing from Rand consumes the
// stream exactly as the crypto/rand path does.
func TestRandReproducesCryptoRand(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			run := func(r io.Reader) [][]byte {
				cryptotest.SetGlobalRandom(t, 7)
				tv, te := pair(t, p)
				tv.s.rand, te.s.rand = r, r
				rec := &recorder{inner: te}
				tv.card = rec
				pk, _, err := tv.standard(dkey.ActionUnlock, FlagExchange, te.cred.PublicKey)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tv.exchange(MailboxOp{Kind: OpRead, Mailbox: dkey.PrivateMailbox, Offset: 0, Length: 4}); err != nil {
					t.Fatal(err)
				}
				if err := tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
					t.Fatal(err)
				}
				if tv.s.FindFast([]FastKey{NewFastKey(te.cred.PublicKey, &pk)}) != 0 {
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
		})
	}
}
