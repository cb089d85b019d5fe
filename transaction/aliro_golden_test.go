package transaction

import (
	"context"
	"flag"
	"testing"
	"testing/cryptotest"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// updateGolden reports whether the test runs with -update.
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// recordedCard lets the test reader's synchronous harness talk through a
// transporttest.Recorder.
type recordedCard struct{ rec *transporttest.Recorder }

func (c recordedCard) ProcessAPDU(dst, apdu []byte) []byte {
	out, err := c.rec.Transceive(context.Background(), dst, apdu)
	if err != nil {
		return append(dst, 0x6F, 0x00)
	}
	return out
}

// TestAliroGoldenTranscripts records a standard Aliro transaction (a
// certified reader key: LOAD CERT, AUTH1, two mailbox EXCHANGEs, the final
// status) and a fast one after it, with fixed keys (a deterministic
// crypto/rand), and compares them with the checked-in transcripts, so that
// any change to the bytes on the wire shows. Regenerate with
// go test ./transaction -run TestAliroGoldenTranscripts -update.
func TestAliroGoldenTranscripts(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1)
	tr, te, cred := aliroCertPair(t, false)
	rec := transporttest.NewRecorder(transporttest.NewCard(te))
	tr.card = recordedCard{rec}

	rec.Note("standard transaction, user-device policy; the reader key is certified by the group's CA (LOAD CERT)")
	pk, res, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !res.PublicKey.Equal(cred.PublicKey) {
		t.Fatalf("AUTH1 named another key")
	}
	rec.Note("EXCHANGE: atomic mailbox write")
	if _, err := tr.exchange(&AliroExchange{Mailbox: true, Atomic: true, Ops: []AliroMailboxOp{{Kind: OpWrite, Offset: 0, Data: []byte("aliro")}}}); err != nil {
		t.Fatal(err)
	}
	rec.Note("EXCHANGE: mailbox read, commit, notification")
	if _, err := tr.exchange(&AliroExchange{Mailbox: true, Ops: []AliroMailboxOp{{Kind: OpRead, Offset: 0, Length: 5}}, Notify: []byte{0x82, 0x02, 0x00, 0x26}}); err != nil {
		t.Fatal(err)
	}
	rec.Note("EXCHANGE: final reader status 0002 (access granted, unsecure)")
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	transporttest.CheckGolden(t, "testdata/Aliro-standard.transcript", rec.Transcript(), updateGolden())

	rec = transporttest.NewRecorder(transporttest.NewCard(te))
	tr.card = recordedCard{rec}
	rec.Note("fast transaction with the Kpersistent of the standard one")
	if i, err := tr.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &pk)}); err != nil || i != 0 {
		t.Fatalf("fast = %d, %v", i, err)
	}
	rec.Note("EXCHANGE under the fast keys: final reader status 0002")
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	transporttest.CheckGolden(t, "testdata/Aliro-fast.transcript", rec.Transcript(), updateGolden())
	if te.status != AliroStatusUnsecure || tr.s.Version() != dkey.Version1 {
		t.Errorf("device status %04X at %v", te.status, tr.s.Version())
	}
}
