package device

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
)

// aliroRestored compares what an applet restores: every field of the
// AliroApplet and its credentials but those listed here as not stored, so
// that a field added later fails the round trip until it is stored or
// listed with its reason.
var aliroRestored = cmp.Options{
	cmp.AllowUnexported(AliroApplet{}, aliroCred{}, aliroReaderKey{}, transaction.PersistentKey{}),
	cmpopts.IgnoreFields(AliroApplet{},
		// Configuration and collaborators, given again.
		"cfg", "se", "now", "sess", "st", "sec",
		// Locks, buffers and the transaction in progress: a restart
		// ends them; user authentication is never stored.
		"mu", "closed", "authTil", "sel", "cur", "work", "reader", "pending", "stepUpKey", "dev", "staged", "results", "lastCF"),
	// The key handle is the secure element's: compared by public key.
	cmpopts.IgnoreFields(aliroCred{}, "key"),
	cmp.Comparer(func(x, y *dkey.PublicKey) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(y) }),
	cmp.Comparer(func(x, y *mdoc.Provisioned) bool {
		if x == nil || y == nil {
			return x == y
		}
		a, _ := x.MarshalBinary()
		b, _ := y.MarshalBinary()
		return bytes.Equal(a, b)
	}),
}

// storedAliroApplet is an applet in a store with credentials of every
// kind: one with documents, a mailbox written and a Kpersistent; one
// without express mode; one deleted.
func storedAliroApplet(t testing.TB) (*AliroApplet, *store.Memory, KeyEncryptionKey) {
	t.Helper()
	m, kek := store.NewMemory(), testKEK(t, 3)
	a := newTestAliroApplet(t, &AliroConfig{Store: m, KEK: kek})
	tr := newAliroTestReader(t, "stored group")
	tr.attach(a)
	tr.credentialWithDocuments(t, a, 8)
	if _, _, err := tr.standard(transaction.AliroPolicyUserDevice); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.exchange(&transaction.AliroExchange{Mailbox: true, Ops: []transaction.AliroMailboxOp{{Kind: transaction.OpWrite, Data: []byte{7, 8}}}, HasStatus: true, Status: transaction.AliroStatusUnsecure}); err != nil {
		t.Fatal(err)
	}
	other := newAliroTestReader(t, "second group")
	o, err := a.CreateCredential(AliroCredentialConfig{Group: other.r.ID().Group, ReaderKey: other.r.PublicKey(), IssuerTrust: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetExpress(o.Group, false); err != nil {
		t.Fatal(err)
	}
	gone := newAliroTestReader(t, "deleted group")
	g, err := a.CreateCredential(AliroCredentialConfig{Group: gone.r.ID().Group, ReaderKey: gone.r.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteCredential(g.Group); err != nil {
		t.Fatal(err)
	}
	return a, m, kek
}

func reopenAliro(m *store.Memory, kek KeyEncryptionKey) (*AliroApplet, error) {
	return NewAliroApplet(&AliroConfig{Store: m.Reopen(), KEK: kek})
}

func TestAliroStateRoundTrip(t *testing.T) {
	a, m, kek := storedAliroApplet(t)
	b, err := reopenAliro(m, kek)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, aliroRestored); diff != "" {
		t.Errorf("restored applet differs (-saved +restored):\n%s", diff)
	}
	kinds := map[string]bool{}
	for _, c := range a.creds {
		kinds[strings.Join([]string{boolS(c.deleted), boolS(c.express), boolS(c.access != nil), boolS(len(c.readers) > 0)}, "")] = true
	}
	if len(kinds) != 3 {
		t.Errorf("the saved state covers %d kinds of credential, want 3", len(kinds))
	}
	// The restored applet answers a fast transaction with the stored
	// Kpersistent.
	c := b.creds[0]
	if !c.readers[0].persistent.Equal(&a.creds[0].readers[0].persistent) || c.key == nil {
		t.Error("the restored credential has not its key or Kpersistent")
	}
	if err := b.Close(); err != nil || b.Close() != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := b.CreateCredential(AliroCredentialConfig{ReaderKey: a.creds[0].readerKey}); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateCredential after Close: %v", err)
	}
}

func boolS(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// TestAliroStateDamaged: a wrong key-encryption key, a future schema, a
// flipped byte in any record, a record moved, a Kpersistent missing from
// the secure element: NewAliroApplet fails with the typed error.
func TestAliroStateDamaged(t *testing.T) {
	_, m, kek := storedAliroApplet(t)
	if _, err := reopenAliro(m, kek); err != nil {
		t.Fatalf("the intact state does not open: %v", err)
	}
	if _, err := reopenAliro(m, testKEK(t, 9)); !errors.Is(err, ErrStateKEK) {
		t.Errorf("wrong KEK: %v, want ErrStateKEK", err)
	}
	var names []string
	_ = m.Scan(nil, func(k, v []byte) error { names = append(names, string(k)); return nil })
	if len(names) < 6 {
		t.Fatalf("only %d records: %q", len(names), names)
	}
	for _, name := range names {
		good, _ := m.Get([]byte(name))
		for _, i := range []int{0, len(good) / 2, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[i] ^= 1
			_ = m.Write([]store.Op{store.Put([]byte(name), bad)})
			_, err := reopenAliro(m, kek)
			_ = m.Write([]store.Op{store.Put([]byte(name), good)})
			switch {
			case strings.HasSuffix(name, "#header") && (errors.Is(err, ErrStateKEK) || errors.Is(err, ErrStateVersion)):
			case !errors.Is(err, ErrStateCorrupt):
				t.Errorf("%s, byte %d flipped: %v, want ErrStateCorrupt", name, i, err)
			}
		}
	}
	// A credential record under another name.
	c1 := aliroPrefix + aliroCredName(1)
	v, _ := m.Get([]byte(c1))
	_ = m.Write([]store.Op{store.Put([]byte(aliroPrefix+aliroCredName(9)), v)})
	if _, err := reopenAliro(m, kek); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a record under another name: %v", err)
	}
	_ = m.Write([]store.Op{store.Delete([]byte(aliroPrefix + aliroCredName(9)))})
	// A Kpersistent the secure element lost.
	var secret string
	_ = m.Scan([]byte(aliroSEPrefix+"s/"), func(k, v []byte) error { secret = string(k); return nil })
	sv, _ := m.Get([]byte(secret))
	_ = m.Write([]store.Op{store.Delete([]byte(secret))})
	if _, err := reopenAliro(m, kek); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a Kpersistent missing: %v", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(secret), sv)})
	// A future schema.
	hdr, _ := m.Get([]byte(aliroPrefix + "#header"))
	h, err := seal.ParseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	h.Schema = aliroSchema + 1
	_ = m.Write([]store.Op{store.Put([]byte(aliroPrefix+"#header"), h.Append(nil))})
	if _, err := reopenAliro(m, kek); !errors.Is(err, ErrStateVersion) {
		t.Errorf("future schema: %v, want ErrStateVersion", err)
	}
}

// FuzzAliroCredRecord decodes arbitrary bytes as a credential record (the
// plaintext once unsealed): never a panic, every error seal.ErrCorrupt,
// and what decodes encodes back to the same bytes.
func FuzzAliroCredRecord(f *testing.F) {
	_, m, kek := storedAliroApplet(f)
	sec, _, err := seal.OpenSection(m, aliroPrefix, kek, aliroRole, aliroSchema)
	if err != nil {
		f.Fatal(err)
	}
	_ = sec.Scan(recAliroCred, func(_ string, p []byte) error { f.Add(bytes.Clone(p)); return nil })
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeAliroCred(b)
		if err != nil {
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Fatalf("decodeAliroCred(%X) = %v, not seal.ErrCorrupt", b, err)
			}
			return
		}
		out, err := encodeAliroCred(c)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("%X decodes and re-encodes as %X, %v", b, out, err)
		}
	})
}
