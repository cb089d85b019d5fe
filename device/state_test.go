package device

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/seal"
	"github.com/opencarkey/sdk/internal/urskslots"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/store/bolt"
	"github.com/opencarkey/sdk/transaction"
)

func testKEK(t testing.TB, b byte) KeyEncryptionKey {
	t.Helper()
	k, err := SoftwareKEK(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// withStore gives an applet configuration the store st, sealed with kek,
// and the secure element kept in it.
func withStore(st Store, kek KeyEncryptionKey) func(*Config) {
	return func(c *Config) { c.Store, c.KEK, c.SecureElement = st, kek, nil }
}

// storedState builds an applet in a store with a key of every kind and
// state: an owner key from pairing, a key that transacted (Kpersistent)
// with express mode off and marked for power reserve, a key the vehicle
// said it deleted, a suspended key, a terminated one, a shared key
// awaiting its attestation, mailbox contents; lost mode and power reserve
// on. It returns the setup, whose applet is still open, and the store.
func storedState(t testing.TB) (*pairingSetup, *store.Memory, KeyEncryptionKey) {
	t.Helper()
	m, kek := store.NewMemory(), testKEK(t, 1)
	s := newPairingSetup(t, dkey.CCC, withStore(m, kek))
	a := s.applet
	if err := a.StartPairing([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := s.run(t, nil); err != nil {
		t.Fatalf("pairing: %v", err)
	}
	vk := mustSoftwareKey(t)
	var vids []dkey.VehicleID
	for i := range 5 {
		vid, _ := dkey.NewVehicleID(fmt.Appendf(nil, "VEHICLE%d", i))
		vids = append(vids, vid)
		mb := dkey.MailboxConfig{PrivateSize: 40, ConfidentialSize: 20, ConfidentialAuth1: dkey.MailboxRange{Offset: 2, Length: 8}}
		if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey(), Role: dkey.RoleFriend, Mailboxes: mb, PowerReserve: i == 0}); err != nil {
			t.Fatal(err)
		}
		if err := a.WritePrivateMailbox(vid, 3, fmt.Appendf(nil, "mailbox %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	sh := &shareSetup{applet: a, vid: vids[0], vkey: vk}
	if err := sh.transact(t, transaction.CFSuccess, transaction.MailboxOp{Kind: transaction.OpWrite, Mailbox: dkey.ConfidentialMailbox, Offset: 4, Data: []byte("token")}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetExpress(vids[0], false); err != nil {
		t.Fatal(err)
	}
	sh.vid = vids[1]
	if err := sh.transact(t, transaction.CFKeyDeleted); err != nil {
		t.Fatal(err)
	}
	if err := a.Suspend(vids[2]); err != nil {
		t.Fatal(err)
	}
	if err := a.Terminate(vids[3]); err != nil {
		t.Fatal(err)
	}
	req := (&shareSetup{vid: vids[4], vkey: vk}).request()
	if err := a.Terminate(vids[4]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateSharedKey(req); err != nil {
		t.Fatal(err)
	}
	if err := a.SetLostMode(true); err != nil {
		t.Fatal(err)
	}
	if err := a.EnterPowerReserve(); err != nil {
		t.Fatal(err)
	}
	return s, m, kek
}

// appletState compares what an applet restores: every field of the
// Applet and of its keys, but for those listed here as not stored, so
// that a field added later fails the round trip until it is stored or
// listed with its reason.
var appletState = cmp.Options{
	cmp.AllowUnexported(Applet{}, key{}, transaction.PersistentKey{}, homeKey{}, readerKey{}),
	cmpopts.IgnoreFields(Applet{},
		// Configuration and collaborators, given again at NewApplet.
		"cfg", "se", "now", "ca", "st", "sec",
		// The transaction and the pairing run in progress, and the
		// user authentication and password entry of the host app: a
		// restart ends them.
		"mu", "sess", "sel", "current", "pending", "authTil", "results", "areaSeen", "areaGen",
		"pairPassword", "pairRequests", "pairRun", "pairBusy", "pairClosed", "pairKey", "testingOnlyDeriving",
		// The Home Key transaction, attestation and configuration
		// applet session in progress: a restart ends them too.
		"hk",
		// Derived: the highest key ID of the records.
		"nextID",
		"closed",
		// The interface in use (ble.go): a restart starts on NFC.
		"iface"),
	// Ranging keys (ranging.go): the index is stored; the configuration
	// is given again, a URSK staged in a transaction is not stored, and
	// the memory of revoked sessions is not either (after a restart a
	// revoked URSK is reported unknown).
	cmp.AllowUnexported(rangingState{}, urskslots.Table[KeyID]{}),
	cmpopts.IgnoreFields(rangingState{}, "cfg", "staged"),
	cmpopts.IgnoreFields(urskslots.Table[KeyID]{}, "revoked"),
	cmpopts.IgnoreFields(key{},
		// Counts host writes within one transaction.
		"privGen",
		// Whether display data awaits the next batch.
		"dirty"),
	cmp.Comparer(func(a, b *dkey.PublicKey) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(b) }),
	cmp.Comparer(func(a, b dkey.KeySlot) bool { return a == b }),
	cmp.Comparer(func(a, b dkey.VehicleID) bool { return a == b }),
	cmp.Comparer(func(a, b *mdoc.Document) bool {
		return a == nil && b == nil || a != nil && b != nil && bytes.Equal(a.Append(nil), b.Append(nil))
	}),
	cmp.Comparer(func(a, b crypto.Signer) bool {
		if a == nil || b == nil {
			return a == nil && b == nil
		}
		pa, errA := dkey.PublicKeyOf(a)
		pb, errB := dkey.PublicKeyOf(b)
		return errA == nil && errB == nil && pa.Equal(pb)
	}),
}

// flush stores the display data an applet keeps in memory, as Close does,
// without closing it.
func flush(t testing.TB, a *Applet) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.commitLocked(nil); err != nil {
		t.Fatal(err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	s, m, kek := storedState(t)
	a := s.applet
	flush(t, a)
	b, err := NewApplet(&Config{Profile: a.cfg.Profile, Store: m.Reopen(), KEK: kek, Pairing: a.cfg.Pairing})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, appletState); diff != "" {
		t.Errorf("restored applet differs (-saved +restored):\n%s", diff)
	}
	// Every kind of key and state is there to compare.
	states := map[string]bool{}
	for _, k := range a.keys {
		states[fmt.Sprint(k.state, k.awaitingImport, k.vehicleDeleted, k.pairing != nil, k.cred.Persistent.Valid(), k.express, k.powerReserve)] = true
	}
	if len(states) != 6 || !a.lost || !a.power {
		t.Errorf("the saved state covers %d kinds of key (want 6), lost %v, power reserve %v", len(states), a.lost, a.power)
	}
	if s := b.String(); !strings.Contains(s, "7 keys") {
		t.Errorf("restored applet: %s", s)
	}
}

// TestStateRestartTransacts: a restarted applet answers the vehicle as
// before, fast transaction included, and its keys sign with the same
// secure-element keys.
func TestStateRestartTransacts(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 1)
	s := newShareSetup(t)
	a, err := NewApplet(&Config{Store: m, KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	s.applet = a
	if _, err := a.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Mailboxes: dkey.MailboxConfig{PrivateSize: 8}}); err != nil {
		t.Fatal(err)
	}
	if err := s.transact(t, transaction.CFSuccess); err != nil {
		t.Fatal(err)
	}
	before, _ := a.Key(s.vid)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateKey(KeyConfig{}); !errors.Is(err, ErrClosed) && err == nil {
		t.Errorf("CreateKey on a closed applet = %v", err)
	}
	b, err := NewApplet(&Config{Store: m.Reopen(), KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := b.Key(s.vid)
	if diff := cmp.Diff(before, after, appletState); diff != "" || !after.HasPersistent || after.Transactions != 1 {
		t.Errorf("key after restart (-before +after):\n%s", diff)
	}
	s.applet = b
	if err := s.transact(t, transaction.CFSuccess); err != nil {
		t.Errorf("standard transaction after restart: %v", err)
	}
}

// recordNames returns the names of the records under prefix in m.
func recordNames(t testing.TB, m *store.Memory, prefix string) []string {
	t.Helper()
	var names []string
	err := m.Scan([]byte(prefix), func(k, v []byte) error {
		names = append(names, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestStateDamaged: a wrong key-encryption key, a future schema, a flipped
// byte in any record, two records swapped, a secure element without a
// record's key, a truncated file: NewApplet fails with the typed error and
// serves nothing; never a panic.
func TestStateDamaged(t *testing.T) {
	_, m, kek := storedState(t)
	open := func(st Store, kek KeyEncryptionKey) error {
		a, err := NewApplet(&Config{Store: st, KEK: kek})
		if err == nil {
			a.Close()
		}
		return err
	}
	if err := open(m.Reopen(), kek); err != nil {
		t.Fatalf("the intact state does not open: %v", err)
	}
	if err := open(m.Reopen(), testKEK(t, 2)); !errors.Is(err, ErrStateKEK) {
		t.Errorf("wrong KEK: %v, want ErrStateKEK", err)
	}
	// Every record, a byte flipped at its start, middle and end.
	names := recordNames(t, m, "")
	if len(names) < 10 {
		t.Fatalf("only %d records", len(names))
	}
	for _, name := range names {
		good, _ := m.Get([]byte(name))
		for _, i := range []int{0, len(good) / 2, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[i] ^= 0x01
			_ = m.Write([]store.Op{store.Put([]byte(name), bad)})
			err := open(m.Reopen(), kek)
			_ = m.Write([]store.Op{store.Put([]byte(name), good)})
			switch {
			case strings.HasSuffix(name, "#header") && errors.Is(err, ErrStateKEK):
				// A flipped wrapped key does not unwrap.
			case strings.HasSuffix(name, "#header") && errors.Is(err, ErrStateVersion):
				// A flipped format byte is a format this version lacks.
			case !errors.Is(err, ErrStateCorrupt):
				t.Errorf("%s, byte %d flipped: %v, want ErrStateCorrupt", name, i, err)
			}
		}
	}
	// Two key records swapped.
	keys := recordNames(t, m, statePrefix+recKey)
	k0, _ := m.Get([]byte(keys[0]))
	k1, _ := m.Get([]byte(keys[1]))
	_ = m.Write([]store.Op{store.Put([]byte(keys[0]), k1), store.Put([]byte(keys[1]), k0)})
	if err := open(m.Reopen(), kek); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("swapped key records: %v, want ErrStateCorrupt", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(keys[0]), k0), store.Put([]byte(keys[1]), k1)})
	// A future schema.
	hdr, _ := m.Get([]byte(statePrefix + "#header"))
	h, err := seal.ParseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	h.Schema = stateSchema + 1
	_ = m.Write([]store.Op{store.Put([]byte(statePrefix+"#header"), h.Append(nil))})
	if err := open(m.Reopen(), kek); !errors.Is(err, ErrStateVersion) {
		t.Errorf("future schema: %v, want ErrStateVersion", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(statePrefix+"#header"), hdr)})
	// The secure element lost a live key.
	seKeys := recordNames(t, m, sePrefix+"k/")
	v, _ := m.Get([]byte(seKeys[0]))
	_ = m.Write([]store.Op{store.Delete([]byte(seKeys[0]))})
	if err := open(m.Reopen(), kek); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("a key missing from the secure element: %v, want ErrStateCorrupt", err)
	}
	_ = m.Write([]store.Op{store.Put([]byte(seKeys[0]), v)})

	// A bbolt file cut short.
	path := filepath.Join(t.TempDir(), "phone.db")
	bs, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Scan(nil, func(k, v []byte) error { return bs.Write([]store.Op{store.Put(k, v)}) })
	bs.Close()
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	bs, err = bolt.Open(path, nil)
	if err == nil {
		err = open(bs, kek)
	}
	if !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("truncated file: %v, want store.ErrCorrupt", err)
	}
}

// TestSecureElements runs both implementations of SecureElement through
// the contract: keys by ID, import, secrets of every kind (ranging keys
// one per UWB session), DeleteKey erasing everything of the key, and, for
// the stored element, all of it across a reopen.
func TestSecureElements(t *testing.T) {
	m, kek := store.NewMemory(), testKEK(t, 3)
	open := func() SecureElement {
		e, err := OpenStoredElement(m.Reopen(), kek)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tt := range []struct {
		name   string
		e      SecureElement
		reopen func(SecureElement) SecureElement
	}{
		{"software", NewSoftwareElement(), func(e SecureElement) SecureElement { return e }},
		{"stored", open(), func(SecureElement) SecureElement { return open() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			k1, err := e.GenerateKey(1)
			if err != nil {
				t.Fatal(err)
			}
			scalar := bytes.Repeat([]byte{0x11}, 32)
			k2, err := e.ImportKey(2, scalar)
			if err != nil {
				t.Fatal(err)
			}
			want2, _ := dkey.NewSoftwareKey(scalar)
			if p, _ := dkey.PublicKeyOf(k2); !p.Equal(want2.PublicKey()) {
				t.Error("ImportKey stored another key")
			}
			if _, err := e.ImportKey(3, []byte{1}); err == nil {
				t.Error("ImportKey accepted a 1-byte scalar")
			}
			if _, err := e.GenerateKey(0); err == nil {
				t.Error("GenerateKey(0) succeeded")
			}
			secrets := map[SecretID][]byte{
				{Key: 1, Kind: SecretPersistent}:            bytes.Repeat([]byte{1}, 32),
				{Key: 1, Kind: SecretPairing}:               bytes.Repeat([]byte{2}, 16),
				{Key: 1, Kind: SecretRanging, Session: 7}:   bytes.Repeat([]byte{3}, 32),
				{Key: 1, Kind: SecretRanging, Session: 900}: bytes.Repeat([]byte{4}, 32),
				{Key: 2, Kind: SecretPersistent}:            bytes.Repeat([]byte{5}, 32),
			}
			for id, v := range secrets {
				if err := e.PutSecret(id, v); err != nil {
					t.Fatalf("PutSecret(%+v) = %v", id, err)
				}
			}
			for _, bad := range []SecretID{{Key: 9, Kind: SecretPersistent}, {Key: 1, Kind: 0}, {Key: 1, Kind: SecretPairing, Session: 1}, {Kind: SecretPersistent}} {
				if err := e.PutSecret(bad, []byte{1}); err == nil {
					t.Errorf("PutSecret(%+v) succeeded", bad)
				}
			}
			if err := e.PutSecret(SecretID{Key: 1, Kind: SecretRanging, Session: 8}, make([]byte, 65)); err == nil {
				t.Error("PutSecret accepted 65 bytes")
			}
			e = tt.reopen(e)
			for id, v := range secrets {
				if got, err := e.Secret([]byte{0xEE}, id); err != nil || !bytes.Equal(got, append([]byte{0xEE}, v...)) {
					t.Errorf("Secret(%+v) = %x, %v", id, got, err)
				}
			}
			if k, err := e.Key(1); err != nil {
				t.Fatal(err)
			} else if p1, _ := dkey.PublicKeyOf(k1); !p1.Equal(mustPub(t, k)) {
				t.Error("Key(1) is another key")
			}
			// One ranging session ends.
			if err := e.DeleteSecret(SecretID{Key: 1, Kind: SecretRanging, Session: 7}); err != nil {
				t.Fatal(err)
			}
			if err := e.DeleteSecret(SecretID{Key: 1, Kind: SecretRanging, Session: 7}); err != nil {
				t.Errorf("deleting an absent secret: %v", err)
			}
			if _, err := e.Secret(nil, SecretID{Key: 1, Kind: SecretRanging, Session: 7}); !errors.Is(err, ErrNoSecret) {
				t.Errorf("Secret(deleted session) = %v, want ErrNoSecret", err)
			}
			if _, err := e.Secret(nil, SecretID{Key: 1, Kind: SecretRanging, Session: 900}); err != nil {
				t.Errorf("the other session's ranging key: %v", err)
			}
			// The key goes with everything it holds.
			if err := e.DeleteKey(1); err != nil {
				t.Fatal(err)
			}
			if err := e.DeleteKey(1); err != nil {
				t.Errorf("deleting an absent key: %v", err)
			}
			e = tt.reopen(e)
			if _, err := e.Key(1); !errors.Is(err, ErrNoSecret) {
				t.Errorf("Key(deleted) = %v, want ErrNoSecret", err)
			}
			for id := range secrets {
				_, err := e.Secret(nil, id)
				if (id.Key == 1) != errors.Is(err, ErrNoSecret) {
					t.Errorf("Secret(%+v) after DeleteKey(1) = %v", id, err)
				}
			}
			// A new key under an ID replaces whatever it held.
			if _, err := e.GenerateKey(2); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Secret(nil, SecretID{Key: 2, Kind: SecretPersistent}); !errors.Is(err, ErrNoSecret) {
				t.Errorf("a secret survived a new key under its ID: %v", err)
			}
			for _, f := range []string{fmt.Sprint(e), fmt.Sprintf("%#v", e), fmt.Sprintf("%+v", e)} {
				if strings.Contains(f, "0x") || strings.Contains(f, "[") {
					t.Errorf("formatted element = %q", f)
				}
			}
		})
	}
}

func mustPub(t testing.TB, s crypto.Signer) *dkey.PublicKey {
	t.Helper()
	p, err := dkey.PublicKeyOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFormatRedacts: no verb prints an applet's Kpersistent, mailboxes or
// pairing password.
func TestFormatRedacts(t *testing.T) {
	s := newShareSetup(t)
	if _, err := s.applet.CreateKey(KeyConfig{VehicleID: s.vid, VehicleKey: s.vkey.PublicKey(), Mailboxes: dkey.MailboxConfig{PrivateSize: 8}}); err != nil {
		t.Fatal(err)
	}
	if err := s.applet.WritePrivateMailbox(s.vid, 0, []byte("SECRETMB")); err != nil {
		t.Fatal(err)
	}
	if err := s.transact(t, transaction.CFSuccess); err != nil {
		t.Fatal(err)
	}
	pk := s.applet.keys[0].cred.Persistent.Bytes()
	scalar := bytes.Repeat([]byte{0x5A}, 32)
	kc := KeyConfig{VehicleID: s.vid, PrivateKey: scalar}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		out := fmt.Sprintf(verb, s.applet)
		if strings.Contains(out, "SECRETMB") || strings.Contains(out, fmt.Sprintf("%x", pk)) || strings.Contains(out, fmt.Sprint(pk)) || !strings.HasPrefix(out, "device.Applet{") {
			t.Errorf("Sprintf(%q, applet) = %q", verb, out)
		}
		for _, v := range []any{kc, &kc, Config{KEK: testKEK(t, 9)}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), "5a5a") || strings.Contains(out, "90 90") || strings.Contains(out, "ZZZZ") || strings.Contains(out, "0909") {
				t.Errorf("Sprintf(%q, %T) prints a secret: %s", verb, v, out)
			}
		}
	}
}

// FuzzStateRecord decodes arbitrary bytes as each record of the applet
// and its stored element (the plaintext once unsealed): never a panic,
// every error is seal.ErrCorrupt, and what decodes encodes back to the
// same bytes.
func FuzzStateRecord(f *testing.F) {
	_, m, kek := storedState(f)
	for _, prefix := range []string{statePrefix, sePrefix} {
		role, schema := stateRole, uint16(stateSchema)
		if prefix == sePrefix {
			role, schema = seRole, seSchema
		}
		sec, _, err := seal.OpenSection(m, prefix, kek, role, schema)
		if err != nil {
			f.Fatal(err)
		}
		_ = sec.Scan("", func(name string, p []byte) error {
			kind := byte(0)
			switch {
			case prefix == statePrefix && name == recApplet:
				kind = 1
			case prefix == statePrefix:
				kind = 2
			case strings.HasPrefix(name, "k/"):
				kind = 3
			default:
				return nil
			}
			f.Add(kind, bytes.Clone(p))
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		var out []byte
		var err error
		switch kind % 4 {
		case 1:
			var r *appletRecord
			if r, err = decodeApplet(b); err == nil {
				out, err = seal.Encode(r)
			}
		case 2:
			var k *key
			if k, err = decodeKey(b, dkey.CCC); err == nil {
				out, err = encodeKey(k)
			}
		case 3:
			var k *dkey.SoftwareKey
			if k, err = decodeStoredKey(b); err == nil {
				out, err = k.Bytes()
			}
		default:
			return
		}
		if err != nil {
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Fatalf("record kind %d: error %v is not seal.ErrCorrupt", kind%4, err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("record kind %d %X decodes and re-encodes as %X", kind%4, b, out)
		}
	})
}
