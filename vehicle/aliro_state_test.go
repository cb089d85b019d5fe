package vehicle

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// storedAliroWorld is a lock in a store with every kind of state: a reader
// configuration with a certificate, a controller's key with Kpersistent, a
// learned key with its access data, an issuer with revocations, an
// evictable key never used.
func storedAliroWorld(t testing.TB) (*aliroWorld, *store.Memory) {
	t.Helper()
	m := store.NewMemory()
	w := newAliroWorld(t, m)
	w.enrollIssuer(t)
	owner, learned := w.phone(t), w.phone(t)
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 2}, owner.pub.Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroEvictableEndpointKey, Index: 9}, pairKey(t).PublicKey().Bytes(), 3); err != nil {
		t.Fatal(err)
	}
	if err := learned.applet.ProvisionAccessDocument(w.group, w.accessDocument(t, learned.pub, officeHours(), aliroMonday9.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	h := mdoc.RevocationKeyHash(owner.pub)
	rd := &mdoc.RevocationData{Entries: []mdoc.RevocationEntry{{KeyHash: h[:], ID: []byte("x"), Expiry: aliroMonday9.AddDate(1, 0, 0)}, {ID: []byte("gone-1")}}}
	if err := learned.applet.ProvisionRevocationDocument(w.group, w.revocationDocument(t, learned.pub, rd, aliroMonday9.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	if res, err := w.transact(t, learned, AliroActionUnlock); err != nil || !res.Learned || res.Revocations != 2 {
		t.Fatalf("learning = %+v, %v", res, err)
	}
	// The revocation names the owner's key: a controller's key is revoked
	// too. Lift it by removing the key.
	if _, err := w.transact(t, owner, AliroActionUnlock); !errors.Is(err, ErrAliroDenied) {
		t.Fatalf("revoked owner: %v", err)
	}
	ca := pairKey(t)
	cert, err := transaction.IssueAliroCertificate(ca, &transaction.AliroCertificate{PublicKey: w.reader.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.lock.SetAliroReaderCertificate(ca.PublicKey(), cert.Append(nil)); err != nil {
		t.Fatal(err)
	}
	// A fresh Kpersistent under the certificate's group key: the phone
	// trusts the CA now.
	owner2 := w.phoneTrusting(t, ca.PublicKey())
	if _, err := w.lock.SetCredential(DataOperationAdd, AliroCredential{Type: AliroNonEvictableEndpointKey, Index: 3}, owner2.pub.Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	if res, err := w.transact(t, owner2, AliroActionUnlock); err != nil || res.Fast {
		t.Fatalf("owner with the certificate = %+v, %v", res, err)
	}
	return w, m
}

// phoneTrusting returns a phone whose credential trusts the Reader System
// Issuer CA ca for the lock's group.
func (w *aliroWorld) phoneTrusting(t testing.TB, ca *dkey.PublicKey) *aliroPhone {
	t.Helper()
	a, err := device.NewAliroApplet(&device.AliroConfig{Time: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	info, err := a.CreateCredential(device.AliroCredentialConfig{Group: w.group, ReaderKey: ca, IssuerTrust: true})
	if err != nil {
		t.Fatal(err)
	}
	return &aliroPhone{applet: a, card: transport.NewChainingCard(a), pub: info.PublicKey}
}

func reopenAliroLock(w *aliroWorld, m *store.Memory) (*AliroLock, error) {
	cfg := *w.cfg
	cfg.Store = m.Reopen()
	return NewAliroLock(&cfg)
}

// flushAliro stores what the lock keeps in memory between batches (the
// order of use), as Close does, without closing it.
func flushAliro(t testing.TB, l *AliroLock) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeLocked(l.endpoints, nil); err != nil {
		t.Fatal(err)
	}
}

func TestAliroLockStateRoundTrip(t *testing.T) {
	w, m := storedAliroWorld(t)
	flushAliro(t, w.lock)
	l, err := reopenAliroLock(w, m)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w.lock, l, aliroLockState); diff != "" {
		t.Errorf("restored lock differs (-saved +restored):\n%s", diff)
	}
	kinds := map[string]bool{}
	for _, e := range w.lock.endpoints {
		kinds[strings.Join([]string{e.typ.String(), boolStr(e.persistent.Valid()), boolStr(e.access != nil)}, "/")] = true
	}
	if len(kinds) != 4 || len(w.lock.issuers) != 1 || len(w.lock.issuers[0].revoked) != 2 || w.lock.conf.cert == nil {
		t.Errorf("the saved state covers %d kinds of key: %v", len(kinds), kinds)
	}
	if err := l.Close(); err != nil || l.Close() != nil {
		t.Errorf("Close: %v", err)
	}
	if err := l.SetAliroReaderCertificate(nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// TestAliroLockStateDamaged: a wrong key-encryption key, a future schema,
// a flipped byte in any record, a record moved or missing: NewAliroLock
// fails with the typed error.
func TestAliroLockStateDamaged(t *testing.T) {
	w, m := storedAliroWorld(t)
	flushAliro(t, w.lock)
	open := func() error {
		l, err := reopenAliroLock(w, m)
		if err == nil {
			l.Close()
		}
		return err
	}
	if err := open(); err != nil {
		t.Fatalf("the intact state does not open: %v", err)
	}
	cfg := *w.cfg
	cfg.Store, cfg.KEK = m.Reopen(), testKEK(t, 8)
	if _, err := NewAliroLock(&cfg); !errors.Is(err, ErrStateKEK) {
		t.Errorf("wrong KEK: %v", err)
	}
	var names []string
	_ = m.Scan(nil, func(k, v []byte) error { names = append(names, string(k)); return nil })
	if len(names) < 8 {
		t.Fatalf("only %d records: %q", len(names), names)
	}
	for _, name := range names {
		good, _ := m.Get([]byte(name))
		for _, i := range []int{0, len(good) / 2, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[i] ^= 1
			_ = m.Write([]store.Op{store.Put([]byte(name), bad)})
			err := open()
			_ = m.Write([]store.Op{store.Put([]byte(name), good)})
			switch {
			case strings.HasSuffix(name, "#header") && (errors.Is(err, ErrStateKEK) || errors.Is(err, ErrStateVersion)):
			case !errors.Is(err, ErrStateCorrupt):
				t.Errorf("%s, byte %d flipped: %v, want ErrStateCorrupt", name, i, err)
			}
		}
		if strings.HasSuffix(name, "#header") || strings.HasSuffix(name, recAliroConfig) {
			continue
		}
		// Each record but the configuration (which may be absent) is
		// needed, and has one name only.
		_ = m.Write([]store.Op{store.Delete([]byte(name))})
		err := open()
		if moved := name + "0"; !strings.HasSuffix(name, recAliroLock) && !strings.HasSuffix(name, recAliroUsage) {
			_ = m.Write([]store.Op{store.Put([]byte(moved), good)})
			if err2 := open(); !errors.Is(err2, ErrStateCorrupt) {
				t.Errorf("%s moved: %v", name, err2)
			}
			_ = m.Write([]store.Op{store.Delete([]byte(moved))})
		}
		_ = m.Write([]store.Op{store.Put([]byte(name), good)})
		if !errors.Is(err, ErrStateCorrupt) {
			t.Errorf("%s deleted: %v, want ErrStateCorrupt", name, err)
		}
	}
	hdr, _ := m.Get([]byte(aliroPrefix + "#header"))
	h, err := seal.ParseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	h.Schema = aliroSchema + 1
	_ = m.Write([]store.Op{store.Put([]byte(aliroPrefix+"#header"), h.Append(nil))})
	if err := open(); !errors.Is(err, ErrStateVersion) {
		t.Errorf("future schema: %v", err)
	}
}

// FuzzAliroLockRecord decodes arbitrary bytes as each record of the lock
// (the plaintext once unsealed): never a panic, every error
// seal.ErrCorrupt, and what decodes encodes back to the same bytes.
func FuzzAliroLockRecord(f *testing.F) {
	w, m := storedAliroWorld(f)
	flushAliro(f, w.lock)
	sec, _, err := seal.OpenSection(m.Reopen(), aliroPrefix, w.cfg.KEK, aliroRole, aliroSchema)
	if err != nil {
		f.Fatal(err)
	}
	_ = sec.Scan("", func(name string, p []byte) error {
		kind := byte(0)
		switch {
		case name == recAliroConfig:
			kind = 1
		case strings.HasPrefix(name, recAliroEndpoint):
			kind = 2
		case strings.HasPrefix(name, recAliroIssuer):
			kind = 3
		case name == recAliroUsage:
			kind = 4
		}
		f.Add(kind, bytes.Clone(p))
		return nil
	})
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		var out []byte
		var err error
		switch kind % 5 {
		case 0:
			s, rs, e := decodeAliroLock(b)
			if err = e; err == nil {
				out, err = encodeAliroLock(s, rs)
			}
		case 1:
			var c *aliroReaderConf
			if c, err = decodeAliroConfig(b); err == nil {
				out, err = encodeAliroConfig(c)
			}
		case 2:
			var e *aliroEndpoint
			if e, err = decodeAliroEndpoint(b); err == nil {
				out, err = encodeAliroEndpoint(e)
			}
		case 3:
			var i *aliroIssuer
			if i, err = decodeAliroIssuer(b); err == nil {
				out, err = encodeAliroIssuer(i)
			}
		case 4:
			keys, times, e := decodeAliroUsage(b)
			if err = e; err == nil {
				eps := make([]*aliroEndpoint, len(keys))
				for i := range keys {
					eps[i] = &aliroEndpoint{typ: keys[i].Type, index: keys[i].Index, lastUse: times[i]}
				}
				out, err = encodeAliroUsage(eps)
			}
		}
		if err != nil {
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Fatalf("record kind %d: error %v is not seal.ErrCorrupt", kind%5, err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("record kind %d %X decodes and re-encodes as %X", kind%5, b, out)
		}
	})
}
