package device

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// recordingTransceiver keeps the commands a reader sends, to seed the
// fuzzer with real transactions.
type recordingTransceiver struct {
	inner transport.Transceiver
	cmds  [][]byte
}

func (r *recordingTransceiver) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	r.cmds = append(r.cmds, bytes.Clone(cmd))
	return r.inner.Transceive(ctx, dst, cmd)
}

// FuzzAliroApplet drives an Aliro applet holding a credential with
// documents and a mailbox with arbitrary APDU sequences (split on FE ED),
// seeded with real standard, step-up and fast transactions. The applet
// never panics, always answers a well-formed response, and the fuzzer,
// without the reader's private key or Kpersistent, changes nothing of the
// credential: no Kpersistent, no mailbox byte, no document.
func FuzzAliroApplet(f *testing.F) {
	tr := newAliroTestReader(f, "fuzzed group")
	a := newTestAliroApplet(f, nil)
	info, err := a.CreateCredential(AliroCredentialConfig{Group: tr.r.ID().Group, ReaderKey: tr.r.PublicKey(), MailboxSize: 8})
	if err != nil {
		f.Fatal(err)
	}
	if err := a.ProvisionAccessDocument(info.Group, tr.accessDoc(f, mdoc.AliroAccessDocType, info.PublicKey)); err != nil {
		f.Fatal(err)
	}
	rec := &recordingTransceiver{inner: transporttestCard{transport.NewChainingCard(a)}}
	tr.c = transport.NewClient(rec, nil)
	pk, _, err := tr.standard(transaction.AliroPolicyUserDevice)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Atomic: true, Ops: []transaction.AliroMailboxOp{{Kind: transaction.OpWrite, Data: []byte{1}}}}); err != nil {
		f.Fatal(err)
	}
	_, req, err := tr.stepUp(nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := tr.finishStepUp(req, transaction.AliroStatusUnsecure); err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Join(rec.cmds, []byte{0xFE, 0xED}))
	rec.cmds = nil
	if err := tr.auth0(transaction.AliroPolicyUserDevice, true); err != nil {
		f.Fatal(err)
	}
	if tr.s.FindFast([]transaction.FastKey{transaction.NewFastKey(info.PublicKey, &pk)}) != 0 {
		f.Fatal("no fast match")
	}
	if _, err := tr.exchange(&transaction.AliroExchange{HasStatus: true, Status: transaction.AliroStatusSecure}); err != nil {
		f.Fatal(err)
	}
	f.Add(bytes.Join(rec.cmds, []byte{0xFE, 0xED}))
	// A reader's CONTROL FLOW and a stray step-up SELECT.
	f.Add([]byte{0x80, 0x3C, 0x00, 0x00, 0x06, 0x41, 0x01, 0x00, 0x42, 0x01, 0x27})
	before := credsOf(a)
	f.Fuzz(func(t *testing.T, script []byte) {
		a.Reset()
		for _, cmd := range bytes.Split(script, []byte{0xFE, 0xED}) {
			resp := a.ProcessAPDU(nil, cmd)
			if _, err := transport.ParseResponse(resp); err != nil {
				t.Fatalf("response %X to %X is malformed", resp, cmd)
			}
		}
		if diff := cmp.Diff(before, credsOf(a), aliroAppletState); diff != "" {
			t.Fatalf("the script changed the credential:\n%s", diff)
		}
	})
}
