package device

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/store"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// home is a home of the tests: its reader key (shared by its locks, as
// HomeKit provisions it), the reader group that key names, and its
// issuer.
type home struct {
	key    *dkey.SoftwareKey
	group  dkey.VehicleID
	issuer *mdoc.Issuer
}

func newHome(t testing.TB, seed byte) *home {
	t.Helper()
	scalar := bytes.Repeat([]byte{seed}, 32)
	k, err := dkey.NewSoftwareKey(scalar)
	if err != nil {
		t.Fatal(err)
	}
	// docs/protocol.md §10.4: the group is SHA-256("key-identifier" ‖ sk)[:8].
	sum := sha256.Sum256(append([]byte("key-identifier"), scalar...))
	g, _ := dkey.NewVehicleID(sum[:HomeKeyGroupLen])
	iss, err := mdoc.NewEd25519Issuer(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed ^ 0xFF}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return &home{key: k, group: g, issuer: iss}
}

// lock returns the 16-byte reader identifier of the home's lock n.
func (h *home) lock(n byte) dkey.VehicleID {
	v, _ := dkey.NewVehicleID(append(h.group.Bytes(), 'L', 'O', 'C', 'K', 0, 0, 0, n))
	return v
}

// document issues the attestation document of key.
func (h *home) document(t testing.TB, key *dkey.PublicKey) *mdoc.Document {
	t.Helper()
	doc, err := h.issuer.Issue(mdoc.HomeKeyCredential(key, []byte("credential"), hkNow.Add(-time.Hour), hkNow.AddDate(1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var hkNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tap is what one transaction of a test lock did.
type tap struct {
	fast     bool
	slot     dkey.KeySlot
	verified []*mdoc.Verified // the attestation, when asked for
	tr       transporttest.Transcript
}

// tapOptions says what the test lock does.
type tapOptions struct {
	// endpoint is the key the lock knows; nil runs the attestation flow
	// after AUTH1.
	endpoint *dkey.PublicKey
	// fast is the Kpersistent the lock holds for the endpoint.
	fast *transaction.PersistentKey
	// cf is the final CONTROL FLOW of a transaction without attestation;
	// zero means 0100.
	cf transaction.ControlFlow
	// flags are AUTH0's.
	flags transaction.Flags
}

// homeTap runs one transaction of the home's lock rid against card, as a
// Home Key lock does (package vehicle is the real one): fast when the
// lock's Kpersistent matches, standard otherwise, the attestation flow when
// it does not know the endpoint. It returns the new Kpersistent of a
// standard transaction.
func homeTap(t testing.TB, h *home, rid dkey.VehicleID, card transport.Card, o tapOptions) (*tap, transaction.PersistentKey, error) {
	t.Helper()
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{Profile: dkey.HomeKey, VehicleID: rid, Key: h.key})
	if err != nil {
		t.Fatal(err)
	}
	s := v.NewSession()
	defer s.Close()
	rec := transporttest.NewRecorder(transporttest.NewCard(card))
	c := transport.NewClient(rec, nil)
	ctx := context.Background()
	res := &tap{}
	defer func() { res.tr = rec.Transcript() }()
	do := func(cmd transport.Command) (transport.Response, error) {
		r, err := c.Do(ctx, &cmd, nil)
		if err == nil && !r.SW.OK() {
			err = r.SW
		}
		return r, err
	}
	flags := o.flags
	if o.fast != nil {
		flags |= transaction.FlagFast
	}
	if err := s.Start(dkey.ActionUnlock, flags); err != nil {
		t.Fatal(err)
	}
	r, err := do(s.Select())
	if err != nil {
		return res, transaction.PersistentKey{}, err
	}
	if err := s.ReadSelect(r); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	cmd, _ := s.Auth0()
	if r, err = do(cmd); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	if err := s.ReadAuth0(r); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	if o.fast != nil && o.endpoint != nil && s.FindFast([]transaction.FastKey{transaction.NewFastKey(o.endpoint, o.fast)}) == 0 {
		res.fast = true
		_, err := do(s.ControlFlow(transaction.CFSuccess))
		return res, transaction.PersistentKey{}, err
	}
	if cmd, err = s.Auth1(); err != nil {
		t.Fatal(err)
	}
	if r, err = do(cmd); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	a1, err := s.ReadAuth1(r)
	if err != nil {
		return res, transaction.PersistentKey{}, err
	}
	res.slot = a1.Slot
	if o.endpoint != nil {
		pk, err := s.VerifyEndpoint(o.endpoint)
		if err != nil {
			return res, pk, err
		}
		cf := o.cf
		if cf == 0 {
			cf = transaction.CFSuccess
		}
		_, err = do(s.ControlFlow(cf))
		return res, pk, err
	}
	secret, err := mdoc.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if cmd, err = s.AttestationExchange(mdoc.AppendHomeKeyExchange(nil, secret)); err != nil {
		t.Fatal(err)
	}
	if r, err = do(cmd); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	if _, err := s.ReadExchange(r); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	if _, err := do(s.ControlFlow(transaction.CFLongProcessing)); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	dr, err := mdoc.ReadHomeKey(ctx, c, secret, nil)
	if err != nil {
		return res, transaction.PersistentKey{}, err
	}
	if res.verified, err = dr.Verify(&mdoc.VerifyOptions{Issuers: []*mdoc.IssuerKey{h.issuer.Key()}, Time: func() time.Time { return hkNow }}); err != nil {
		return res, transaction.PersistentKey{}, err
	}
	pk, err := s.VerifyEndpoint(res.verified[0].DeviceKey)
	return res, pk, err
}

// newHomeApplet returns a Home Key applet with a key for h's reader group
// and its attestation document.
func newHomeApplet(t testing.TB, h *home, opts ...func(*Config)) (*Applet, KeyInfo) {
	t.Helper()
	cfg := &Config{Profile: dkey.HomeKey}
	for _, o := range opts {
		o(cfg)
	}
	a, err := NewApplet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := a.CreateKey(KeyConfig{VehicleID: h.group, VehicleKey: h.key.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ProvisionHomeKeyDocument(h.group, h.document(t, info.PublicKey)); err != nil {
		t.Fatal(err)
	}
	return a, info
}

// TestHomeKeyOneKeyForTheHome: one key, provisioned for the home's reader
// group, opens every lock of the home; each lock keeps its own
// Kpersistent, so that fast transactions work at all of them; a lock of
// another home finds no key.
func TestHomeKeyOneKeyForTheHome(t *testing.T) {
	h := newHome(t, 1)
	a, info := newHomeApplet(t, h)
	if info.VehicleID != h.group {
		t.Errorf("key named %v, want the reader group %v", info.VehicleID, h.group)
	}
	locks := []dkey.VehicleID{h.lock(1), h.lock(2)}
	pks := make([]transaction.PersistentKey, len(locks))
	for i, l := range locks {
		res, pk, err := homeTap(t, h, l, a, tapOptions{endpoint: info.PublicKey})
		if err != nil {
			t.Fatalf("standard at lock %d: %v", i, err)
		}
		if res.fast || res.slot != info.Slot {
			t.Errorf("standard at lock %d: %+v", i, res)
		}
		pks[i] = pk
	}
	for round := range 2 {
		for i, l := range locks {
			res, _, err := homeTap(t, h, l, a, tapOptions{endpoint: info.PublicKey, fast: &pks[i]})
			if err != nil || !res.fast {
				t.Errorf("round %d, fast at lock %d: fast %v, %v", round, i, res.fast, err)
			}
		}
	}
	// Lock 1's Kpersistent is not lock 2's: lock 2 with it falls back to
	// a standard transaction.
	if res, _, err := homeTap(t, h, locks[1], a, tapOptions{endpoint: info.PublicKey, fast: &pks[0]}); err != nil || res.fast {
		t.Errorf("lock 2 with lock 1's Kpersistent: fast %v, %v", res.fast, err)
	}
	got := a.HomeKeyReaders(h.group)
	if len(got) != 2 || got[0] != [8]byte(locks[0].Bytes()[8:]) || got[1] != [8]byte(locks[1].Bytes()[8:]) {
		t.Errorf("HomeKeyReaders = %x", got)
	}
	// The key is named by the group or by any reader identifier of the
	// home, and one is all the home has.
	for _, v := range []dkey.VehicleID{h.group, locks[0], h.lock(9)} {
		if k, ok := a.Key(v); !ok || k.Slot != info.Slot {
			t.Errorf("Key(%v) = %+v, %v", v, k, ok)
		}
	}
	if _, err := a.CreateKey(KeyConfig{VehicleID: h.lock(3), VehicleKey: h.key.PublicKey()}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("a second key for a lock of the home: %v, want ErrKeyExists", err)
	}
	other := newHome(t, 2)
	if _, _, err := homeTap(t, other, other.lock(1), a, tapOptions{endpoint: info.PublicKey}); !errors.Is(err, dkey.SWFileNotFound) {
		t.Errorf("lock of another home: %v, want 6A82", err)
	}
}

// TestHomeKeyCreateByReaderIdentifier: a key created with a 16-byte reader
// identifier is the key of its group.
func TestHomeKeyCreateByReaderIdentifier(t *testing.T) {
	h := newHome(t, 3)
	a, _ := NewApplet(&Config{Profile: dkey.HomeKey})
	info, err := a.CreateKey(KeyConfig{VehicleID: h.lock(1), VehicleKey: h.key.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if info.VehicleID != h.group {
		t.Errorf("VehicleID = %v, want %v", info.VehicleID, h.group)
	}
	if _, _, err := homeTap(t, h, h.lock(2), a, tapOptions{endpoint: info.PublicKey}); err != nil {
		t.Errorf("another lock of the home: %v", err)
	}
	for _, n := range []int{1, 7, 9, 15, 17} {
		v, err := dkey.NewVehicleID(make([]byte, n))
		if err == nil {
			if _, err := a.CreateKey(KeyConfig{VehicleID: v, VehicleKey: h.key.PublicKey()}); !errors.Is(err, dkey.ErrInvalidVehicleID) {
				t.Errorf("CreateKey with a %d-byte identifier: %v", n, err)
			}
		}
	}
}

// TestCCCKeyByWholeIdentifier: the CCC profile keeps its rule, all 8
// bytes of AUTH0 tag 4D select the key.
func TestCCCKeyByWholeIdentifier(t *testing.T) {
	a, _ := NewApplet(nil)
	vk := mustSoftwareKey(t)
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	if _, err := a.CreateKey(KeyConfig{VehicleID: vid, VehicleKey: vk.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"VIN00002", "VIN0000\x00"} {
		other, _ := dkey.NewVehicleID([]byte(v))
		if _, ok := a.Key(other); ok {
			t.Errorf("Key(%q) found the key of VIN00001", v)
		}
	}
	g, _ := dkey.NewVehicleID(make([]byte, 16))
	if _, ok := a.Key(g); ok {
		t.Error("a 16-byte identifier found a CCC key")
	}
	if err := a.ProvisionHomeKeyDocument(vid, nil); !errors.Is(err, ErrNotHomeKey) {
		t.Errorf("ProvisionHomeKeyDocument in the CCC profile: %v", err)
	}
}

// TestHomeKeyReaderEviction: past MaxHomeKeyReaders locks, the Kpersistent
// committed least recently goes, and its number serves the new lock.
func TestHomeKeyReaderEviction(t *testing.T) {
	h := newHome(t, 4)
	se := NewSoftwareElement()
	a, info := newHomeApplet(t, h, func(c *Config) { c.SecureElement = se })
	pks := make([]transaction.PersistentKey, MaxHomeKeyReaders+1)
	for i := range pks {
		var err error
		if _, pks[i], err = homeTap(t, h, h.lock(byte(i)), a, tapOptions{endpoint: info.PublicKey}); err != nil {
			t.Fatal(err)
		}
	}
	got := a.HomeKeyReaders(h.group)
	if len(got) != MaxHomeKeyReaders || got[0] != [8]byte(h.lock(1).Bytes()[8:]) || got[len(got)-1] != [8]byte(h.lock(MaxHomeKeyReaders).Bytes()[8:]) {
		t.Fatalf("%d readers, first %x, last %x", len(got), got[0], got[len(got)-1])
	}
	if res, _, err := homeTap(t, h, h.lock(0), a, tapOptions{endpoint: info.PublicKey, fast: &pks[0]}); err != nil || res.fast {
		t.Errorf("the forgotten lock: fast %v, %v; want a standard transaction", res.fast, err)
	}
	// Lock 0 is back, in place of lock 1; the others are fast.
	for _, i := range []int{2, MaxHomeKeyReaders} {
		if res, _, err := homeTap(t, h, h.lock(byte(i)), a, tapOptions{endpoint: info.PublicKey, fast: &pks[i]}); err != nil || !res.fast {
			t.Errorf("lock %d: fast %v, %v", i, res.fast, err)
		}
	}
	k := a.keys[0]
	var ns [MaxHomeKeyReaders + 1]bool
	for _, r := range k.home.readers {
		if ns[r.n] {
			t.Errorf("number %d twice", r.n)
		}
		ns[r.n] = true
		b, err := se.Secret(nil, SecretID{Key: k.id, Kind: SecretPersistent, Session: r.n})
		if err != nil || !bytes.Equal(b, r.persistent.Bytes()) {
			t.Errorf("reader %x: the secure element holds %x, %v", r.id, b, err)
		}
	}
}

// TestHomeKeyAttestation runs the attestation flow against the applet: a
// lock that does not know the key sends the EXCHANGE with the secret
// (answered with the R-MAC alone) and CONTROL FLOW 40A0, selects the
// configuration applet (9000, no data) and reads the document through two
// ENVELOPEs, the second answered with GET RESPONSE rounds. The document
// binds the key that signed AUTH1, and the next tap is fast.
func TestHomeKeyAttestation(t *testing.T) {
	h := newHome(t, 5)
	a, info := newHomeApplet(t, h)
	res, pk, err := homeTap(t, h, h.lock(1), a, tapOptions{})
	if err != nil {
		t.Fatalf("attestation: %v\n%s", err, res.tr)
	}
	if v := res.verified; len(v) != 1 || !v[0].DeviceKey.Equal(info.PublicKey) || v[0].DocType != mdoc.HomeKeyDocType {
		t.Fatalf("verified %+v", v)
	}
	want := []struct {
		cmd       []byte // command header
		respData  int    // response data length, -1 for any
		sw        dkey.StatusWord
		exactResp []byte
	}{
		{[]byte{0x00, 0xA4, 0x04, 0x00}, 6, dkey.SWSuccess, nil},  // SELECT: 5C 04 0200 0100
		{[]byte{0x80, 0x80, 0x00, 0x01}, 67, dkey.SWSuccess, nil}, // AUTH0
		{[]byte{0x80, 0x81, 0x00, 0x00}, -1, dkey.SWSuccess, nil}, // AUTH1
		{[]byte{0x84, 0xC9, 0x00, 0x00, 0x38}, 8, dkey.SWSuccess, nil},
		{[]byte{0x80, 0x3C, 0x40, 0xA0}, 0, dkey.SWSuccess, nil},
		{[]byte{0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x08, 0x58, 0x01, 0x02, 0x00}, 0, dkey.SWSuccess, nil},
		{[]byte{0x00, 0xC3, 0x00, 0x01}, -1, dkey.SWSuccess, nil},
		{[]byte{0x00, 0xC3, 0x00, 0x00}, 256, 0x6100, nil},
	}
	tr := res.tr
	if len(tr) < len(want)+1 {
		t.Fatalf("transcript of %d exchanges:\n%s", len(tr), tr)
	}
	for i, w := range want {
		e := tr[i]
		sw := dkey.StatusWord(e.Response[len(e.Response)-2])<<8 | dkey.StatusWord(e.Response[len(e.Response)-1])
		if !bytes.HasPrefix(e.Command, w.cmd) || (w.respData >= 0 && len(e.Response)-2 != w.respData) || (sw != w.sw && sw&0xFF00 != w.sw) {
			t.Errorf("exchange %d: %X -> %X, want %X... with %d data bytes and %v", i, e.Command, e.Response, w.cmd, w.respData, w.sw)
		}
	}
	// The EXCHANGE command has the recorded iPhone exchange's length and
	// Le (84 C9 00 00 38 ... 00): the 37-byte plaintext, padded, and the
	// C-MAC.
	if ex := tr[3].Command; len(ex) != 5+0x38+1 || ex[len(ex)-1] != 0x00 {
		t.Errorf("EXCHANGE %X", ex)
	}
	last := tr[len(tr)-1]
	if !bytes.Equal(last.Command[:4], []byte{0x00, 0xC0, 0x00, 0x00}) || !bytes.HasSuffix(last.Response, []byte{0x90, 0x00}) {
		t.Errorf("the response does not end with a GET RESPONSE answered 9000: %X -> %X", last.Command, last.Response)
	}
	// Kpersistent was committed at 40A0: the next tap is fast.
	if res, _, err := homeTap(t, h, h.lock(1), a, tapOptions{endpoint: info.PublicKey, fast: &pk}); err != nil || !res.fast {
		t.Errorf("tap after the attestation: fast %v, %v", res.fast, err)
	}
}

// TestHomeKeyRecordedHandover replays the recorded iPhone exchange's
// SELECT of the configuration applet and handover ENVELOPE on an armed
// applet: the applet answers byte for byte as the iPhone did
// (testdata/README.md).
func TestHomeKeyRecordedHandover(t *testing.T) {
	b, err := os.ReadFile("testdata/homekey_handover.transcript")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := transporttest.ParseTranscript(b)
	if err != nil {
		t.Fatal(err)
	}
	h := newHome(t, 6)
	a, info := newHomeApplet(t, h)
	armHomeKey(t, h, a, info)
	for _, e := range rec {
		if got := a.ProcessAPDU(nil, e.Command); !bytes.Equal(got, e.Response) {
			t.Errorf("%X:\n got %X\nwant %X", e.Command, got, e.Response)
		}
	}
}

// armHomeKey runs a standard transaction at lock 1 of h that ends with the
// attestation EXCHANGE and CONTROL FLOW 40A0, leaving the configuration
// applet armed.
func armHomeKey(t testing.TB, h *home, a *Applet, info KeyInfo) {
	t.Helper()
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{Profile: dkey.HomeKey, VehicleID: h.lock(1), Key: h.key})
	if err != nil {
		t.Fatal(err)
	}
	s := v.NewSession()
	c := transport.NewClient(transporttest.NewCard(a), nil)
	do := func(cmd transport.Command) transport.Response {
		r, err := c.Do(context.Background(), &cmd, nil)
		if err != nil || !r.SW.OK() {
			t.Fatalf("%02X: %v %v", cmd.INS, r.SW, err)
		}
		return r
	}
	if err := s.Start(dkey.ActionUnlock, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadSelect(do(s.Select())); err != nil {
		t.Fatal(err)
	}
	cmd, _ := s.Auth0()
	if err := s.ReadAuth0(do(cmd)); err != nil {
		t.Fatal(err)
	}
	cmd, _ = s.Auth1()
	if _, err := s.ReadAuth1(do(cmd)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyEndpoint(info.PublicKey); err != nil {
		t.Fatal(err)
	}
	secret, _ := mdoc.NewSecret()
	cmd, _ = s.AttestationExchange(mdoc.AppendHomeKeyExchange(nil, secret))
	if _, err := s.ReadExchange(do(cmd)); err != nil {
		t.Fatal(err)
	}
	do(s.ControlFlow(transaction.CFLongProcessing))
}

// TestHomeKeyAttestationRefused: the configuration applet answers 6A82
// unless the transaction just before armed it for a key that can still
// transact and holds a document for the reader group; the attestation
// EXCHANGE is refused outside a standard transaction and when malformed.
func TestHomeKeyAttestationRefused(t *testing.T) {
	h := newHome(t, 7)
	selectConfig := []byte{0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x08, 0x58, 0x01, 0x02, 0x00}
	swOf := func(r []byte) dkey.StatusWord {
		return dkey.StatusWord(r[len(r)-2])<<8 | dkey.StatusWord(r[len(r)-1])
	}
	for _, tt := range []struct {
		name   string
		before func(t *testing.T, a *Applet, info KeyInfo)
	}{
		{"not armed", func(t *testing.T, a *Applet, info KeyInfo) {}},
		{"CONTROL FLOW 0100 instead of 40A0", func(t *testing.T, a *Applet, info KeyInfo) {
			if _, _, err := homeTap(t, h, h.lock(1), a, tapOptions{endpoint: info.PublicKey}); err != nil {
				t.Fatal(err)
			}
		}},
		{"40A0 without the EXCHANGE", func(t *testing.T, a *Applet, info KeyInfo) {
			if _, _, err := homeTap(t, h, h.lock(1), a, tapOptions{endpoint: info.PublicKey, cf: transaction.CFLongProcessing}); err != nil {
				t.Fatal(err)
			}
		}},
		{"reset between", func(t *testing.T, a *Applet, info KeyInfo) {
			armHomeKey(t, h, a, info)
			a.Reset()
		}},
		{"another SELECT between", func(t *testing.T, a *Applet, info KeyInfo) {
			armHomeKey(t, h, a, info)
			a.ProcessAPDU(nil, []byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x08, 0x09, 0x00})
		}},
		{"lost mode", func(t *testing.T, a *Applet, info KeyInfo) {
			armHomeKey(t, h, a, info)
			if err := a.SetLostMode(true); err != nil {
				t.Fatal(err)
			}
		}},
		{"suspended", func(t *testing.T, a *Applet, info KeyInfo) {
			armHomeKey(t, h, a, info)
			if err := a.Suspend(h.group); err != nil {
				t.Fatal(err)
			}
		}},
		{"no document", func(t *testing.T, a *Applet, info KeyInfo) {
			if err := a.RemoveHomeKeyDocument(h.group); err != nil {
				t.Fatal(err)
			}
			armHomeKey(t, h, a, info)
		}},
		{"used once", func(t *testing.T, a *Applet, info KeyInfo) {
			armHomeKey(t, h, a, info)
			a.ProcessAPDU(nil, selectConfig)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, info := newHomeApplet(t, h)
			tt.before(t, a, info)
			if got := a.ProcessAPDU(nil, selectConfig); swOf(got) != dkey.SWFileNotFound {
				t.Errorf("SELECT of the configuration applet: %X, want 6A82", got)
			}
			// And ENVELOPE goes nowhere.
			if got := a.ProcessAPDU(nil, []byte{0x00, 0xC3, 0x00, 0x01, 0x02, 0x53, 0x00, 0x00}); swOf(got) == dkey.SWSuccess {
				t.Errorf("ENVELOPE without the configuration applet: %X", got)
			}
		})
	}
	t.Run("CCC", func(t *testing.T) {
		a, _ := NewApplet(nil)
		if got := a.ProcessAPDU(nil, selectConfig); swOf(got) != dkey.SWFileNotFound {
			t.Errorf("CCC applet: SELECT of the configuration applet: %X", got)
		}
	})
}

// TestHomeKeyAttestationExchangeRefused: a malformed attestation EXCHANGE
// (its plaintext starts with 00) is refused with 6A80 and the channel
// stays up, so that a valid one is then accepted; outside a standard
// transaction it is refused with 6985.
func TestHomeKeyAttestationExchangeRefused(t *testing.T) {
	h := newHome(t, 8)
	a, info := newHomeApplet(t, h)
	secret, _ := mdoc.NewSecret()
	good := mdoc.AppendHomeKeyExchange(nil, secret)
	for _, tt := range []struct {
		name  string
		plain []byte
	}{
		{"too short", good[:len(good)-1]},
		{"wrong tag", append([]byte{0x00, 0x8F}, good[2:]...)},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"00 alone", []byte{0x00}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := transaction.NewVehicleParams(&transaction.VehicleConfig{Profile: dkey.HomeKey, VehicleID: h.lock(1), Key: h.key})
			s := v.NewSession()
			c := transport.NewClient(transporttest.NewCard(a), nil)
			do := func(cmd transport.Command) transport.Response {
				r, err := c.Do(context.Background(), &cmd, nil)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			_ = s.Start(dkey.ActionUnlock, 0)
			_ = s.ReadSelect(do(s.Select()))
			cmd, _ := s.Auth0()
			_ = s.ReadAuth0(do(cmd))
			cmd, _ = s.Auth1()
			if _, err := s.ReadAuth1(do(cmd)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyEndpoint(info.PublicKey); err != nil {
				t.Fatal(err)
			}
			ex, _ := s.AttestationExchange(tt.plain)
			if r := do(ex); r.SW != dkey.SWWrongData {
				t.Errorf("EXCHANGE %X: %v, want 6A80", tt.plain, r.SW)
			}
			if a.hk.hasSecret {
				t.Error("a malformed EXCHANGE left a secret")
			}
			ex, _ = s.AttestationExchange(good)
			if _, err := s.ReadExchange(do(ex)); err != nil {
				t.Errorf("a valid attestation EXCHANGE then: %v", err)
			}
			do(s.ControlFlow(transaction.CFSuccess))
		})
	}
	// No standard transaction (none at all, or a fast one, whose session
	// is not Standard): 6985, and nothing kept.
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abortLocked()
	if _, err := a.attestationExchangeLocked(nil, good); transaction.StatusWordFor(err) != dkey.SWConditionsNotSatisfied || a.hk.hasSecret {
		t.Errorf("attestation EXCHANGE outside a standard transaction: %v, secret kept %v", err, a.hk.hasSecret)
	}
}

// TestHomeKeyProvisioning: a document that does not bind the key is
// refused, and the stored state does not change.
func TestHomeKeyProvisioning(t *testing.T) {
	h := newHome(t, 9)
	m, kek := store.NewMemory(), testKEK(t, 2)
	a, info := newHomeApplet(t, h, withStore(m, kek))
	other := mustSoftwareKey(t)
	aliro, err := mdoc.NewIssuer(mdoc.Aliro)
	if err != nil {
		t.Fatal(err)
	}
	aliroDoc, err := aliro.Issue(&mdoc.DocumentSpec{DocType: mdoc.AliroAccessDocType, DeviceKey: info.PublicKey,
		Elements:  []mdoc.Element{{NameSpace: mdoc.AliroAccessDocType, Identifier: "matter1", Value: mdoc.EncodeBytes([]byte{1})}},
		ValidFrom: hkNow, ValidUntil: hkNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	before := dumpStore(t, m)
	doc, _ := a.HomeKeyDocument(h.group)
	for name, tt := range map[string]struct {
		group dkey.VehicleID
		doc   *mdoc.Document
		want  error
	}{
		"another device key": {h.group, h.document(t, other.PublicKey()), ErrDocumentMismatch},
		"an Aliro document":  {h.group, aliroDoc, ErrDocumentMismatch},
		"no document":        {h.group, nil, ErrDocumentMismatch},
		"another home":       {newHome(t, 10).group, h.document(t, info.PublicKey), dkey.ErrUnknownVehicle},
	} {
		if err := a.ProvisionHomeKeyDocument(tt.group, tt.doc); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", name, err, tt.want)
		}
	}
	if diff := cmp.Diff(before, dumpStore(t, m)); diff != "" {
		t.Errorf("refused provisioning changed the store:\n%s", diff)
	}
	if got, _ := a.HomeKeyDocument(h.group); got != doc {
		t.Error("refused provisioning changed the document")
	}
}

// dumpStore returns every record of m.
func dumpStore(t testing.TB, m *store.Memory) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := m.Scan(nil, func(k, v []byte) error { out[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHomeKeyStateRoundTrip: a Home Key applet restores its keys by reader
// group, each lock's Kpersistent and the attestation documents, and a
// restarted applet is fast at every lock and serves the document.
func TestHomeKeyStateRoundTrip(t *testing.T) {
	h, h2 := newHome(t, 11), newHome(t, 12)
	m, kek := store.NewMemory(), testKEK(t, 3)
	a, info := newHomeApplet(t, h, withStore(m, kek))
	info2, err := a.CreateKey(KeyConfig{VehicleID: h2.lock(1), VehicleKey: h2.key.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ProvisionHomeKeyDocument(h2.group, h2.document(t, info2.PublicKey)); err != nil {
		t.Fatal(err)
	}
	var pks []transaction.PersistentKey
	for _, l := range []dkey.VehicleID{h.lock(1), h.lock(2)} {
		_, pk, err := homeTap(t, h, l, a, tapOptions{endpoint: info.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		pks = append(pks, pk)
	}
	// A third home's key, with data, then terminated: its Home Key record
	// goes with it.
	h3 := newHome(t, 13)
	info3, err := a.CreateKey(KeyConfig{VehicleID: h3.group, VehicleKey: h3.key.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ProvisionHomeKeyDocument(h3.group, h3.document(t, info3.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := homeTap(t, h3, h3.lock(1), a, tapOptions{endpoint: info3.PublicKey}); err != nil {
		t.Fatal(err)
	}
	if err := a.Terminate(h3.group); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if _, err := m.Get([]byte(statePrefix + homeKeyName(a.keys[2].id))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the terminated key's Home Key record: %v", err)
	}
	b, err := NewApplet(&Config{Profile: dkey.HomeKey, Store: m.Reopen(), KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, appletState); diff != "" {
		t.Errorf("restored applet differs (-saved +restored):\n%s", diff)
	}
	if len(b.keys[0].home.readers) != 2 || b.keys[0].home.doc == nil || b.keys[1].home.doc == nil || len(b.keys[1].home.readers) != 0 || b.keys[2].home != nil {
		t.Errorf("the restored state lacks what it should compare: %+v", b.keys)
	}
	for i, l := range []dkey.VehicleID{h.lock(1), h.lock(2)} {
		if res, _, err := homeTap(t, h, l, b, tapOptions{endpoint: info.PublicKey, fast: &pks[i]}); err != nil || !res.fast {
			t.Errorf("restarted applet at lock %d: fast %v, %v", i+1, res.fast, err)
		}
	}
	if res, _, err := homeTap(t, h2, h2.lock(5), b, tapOptions{}); err != nil || !res.verified[0].DeviceKey.Equal(info2.PublicKey) {
		t.Errorf("restarted applet's attestation: %v", err)
	}
}
