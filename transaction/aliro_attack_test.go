package transaction

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// aliroStripRelay sits between an Aliro reader and a device that offers
// 1.0 and 0.9, and rewrites the SELECT response so that it offers 0.9
// alone, as a relay downgrading the reader would: 5C 04 0100 0009 becomes
// 5C 02 0009, with the lengths of 6F and A5 fixed up. It counts the
// responses it rewrote.
type aliroStripRelay struct {
	inner    transport.Card
	stripped int
}

func (r *aliroStripRelay) ProcessAPDU(dst, apdu []byte) []byte {
	out := r.inner.ProcessAPDU(dst, apdu)
	if len(apdu) < 2 || apdu[1] != insSelect {
		return out
	}
	resp := out[len(dst):]
	both := []byte{0x5C, 0x04, 0x01, 0x00, 0x00, 0x09}
	i := bytes.Index(resp, both)
	if i < 0 || len(resp) < 16 || resp[0] != 0x6F || resp[13] != 0xA5 {
		return out
	}
	r.stripped++
	b := append(bytes.Clone(resp[:i]), 0x5C, 0x02, 0x00, 0x09)
	b = append(b, resp[i+len(both):]...)
	b[1] -= 2  // 6F
	b[14] -= 2 // A5
	return append(dst, b...)
}

// aliroState is what a transaction may change on the device: the
// Kpersistent it holds for the reader and the mailbox.
type aliroState struct {
	persistent []byte
	mailbox    []byte
}

func (e *aliroTestEndpoint) state(id dkey.ReaderID) aliroState {
	pk := e.persist[id]
	return aliroState{persistent: pk.Bytes(), mailbox: bytes.Clone(e.mailbox)}
}

// TestAttackAliroDowngradeStripsVersion: a relay strips 1.0 from the
// device's SELECT response (the device offers 1.0 and 0.9). A default
// Aliro reader speaks 1.0 alone: it refuses at SELECT with ErrVersion,
// before AUTH0, and the device is left as it was. A reader that opted in to
// 0.9 settles for it, but the whole proprietary template A5 the device sent
// (its version list included) enters the HKDF salt of both sides (Aliro 1.0
// 8.3.1.13), so the two sides derive different keys: the reader finds no
// cryptogram in a fast transaction, cannot open the AUTH1 response in a
// standard one (ErrChannel), and nothing authenticated follows. The device
// of the standard attempt does store a Kpersistent (it cannot tell; AUTH1
// confirms keys to the reader only), which the reader never learns: the
// next fast transaction falls back to standard, a denial of service any
// relay can cause by dropping frames.
func TestAttackAliroDowngradeStripsVersion(t *testing.T) {
	both, err := dkey.NewVersionList(dkey.Version1, dkey.VersionAliro09)
	if err != nil {
		t.Fatal(err)
	}
	tr := newAliroTestReader(t, &AliroReaderConfig{})
	te := newAliroTestEndpoint(t, &AliroEndpointConfig{Versions: both})
	cred := te.add(t, tr.r.ID().Group, tr.r.PublicKey(), false)
	tr.card = te
	pk, _, err := tr.standard(AliroPolicyUserDevice, cred.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.s.Version(); got != dkey.Version1 {
		t.Fatalf("unattacked transaction at %v, want 1.0", got)
	}
	if err := tr.finish(AliroStatusUnsecure); err != nil {
		t.Fatal(err)
	}
	before := te.state(tr.r.ID())

	relay := &aliroStripRelay{inner: te}
	tr.card = relay
	err = tr.auth0(AliroPolicyUserDevice, true)
	if relay.stripped != 1 {
		t.Fatalf("the relay rewrote %d SELECT responses, want 1", relay.stripped)
	}
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("default reader after a stripped SELECT: %v, want ErrVersion", err)
	}
	if _, err := tr.s.Auth0(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Auth0 after the refused SELECT = %v, want ErrOutOfSequence", err)
	}
	if after := te.state(tr.r.ID()); !bytes.Equal(after.persistent, before.persistent) || !bytes.Equal(after.mailbox, before.mailbox) {
		t.Errorf("device state changed")
	}

	// The same relay against a reader that opted in to 0.9.
	optIn := newAliroTestReader(t, &AliroReaderConfig{ReaderID: tr.r.ID(), Key: tr.r.key, Versions: both})
	optIn.card = relay
	i, err := optIn.fast(AliroPolicyUserDevice, []FastKey{NewFastKey(cred.PublicKey, &pk)})
	if err != nil || i != -1 {
		t.Fatalf("opted-in reader, fast after a stripped SELECT = %d, %v; want no match", i, err)
	}
	if got := optIn.s.Version(); got != dkey.VersionAliro09 {
		t.Fatalf("opted-in reader selected %v, want 0.9", got)
	}
	if _, _, err := optIn.auth1(cred.PublicKey); !errors.Is(err, ErrChannel) {
		t.Fatalf("opted-in reader, AUTH1 after a stripped SELECT = %v, want ErrChannel", err)
	}
	if optIn.s.Authenticated() || relay.stripped != 2 {
		t.Errorf("reader authenticated %v after %d stripped responses", optIn.s.Authenticated(), relay.stripped)
	}
	if _, err := optIn.s.Exchange(&AliroExchange{HasStatus: true, Status: AliroStatusSecure}); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Exchange after the failed AUTH1 = %v", err)
	}
	if after := te.state(tr.r.ID()); !bytes.Equal(after.mailbox, before.mailbox) {
		t.Errorf("device mailbox changed")
	}

	// Without the relay the opted-in reader runs 1.0.
	optIn.card = te
	if _, _, err := optIn.standard(AliroPolicyUserDevice, cred.PublicKey); err != nil || optIn.s.Version() != dkey.Version1 {
		t.Fatalf("opted-in reader without relay: %v at %v", err, optIn.s.Version())
	}
}

// TestAliroReaderDefaultVersions: the zero AliroReaderConfig.Versions is
// 1.0 alone, an explicit list is kept, and a reader whose list the device
// does not share refuses at SELECT.
func TestAliroReaderDefaultVersions(t *testing.T) {
	tr := newAliroTestReader(t, &AliroReaderConfig{})
	if got, want := tr.r.versions, dkey.Aliro.VehicleVersions(); got != want || got.Len() != 1 || !got.Contains(dkey.Version1) {
		t.Errorf("default reader versions %v", got)
	}
	only09, _ := dkey.NewVersionList(dkey.VersionAliro09)
	old := newAliroTestReader(t, &AliroReaderConfig{Versions: only09})
	if old.r.versions != only09 {
		t.Errorf("configured versions %v", old.r.versions)
	}
	te := newAliroTestEndpoint(t, nil)
	te.add(t, old.r.ID().Group, old.r.PublicKey(), false)
	old.card = te
	if err := old.auth0(AliroPolicyUserDevice, false); !errors.Is(err, ErrVersion) {
		t.Errorf("0.9-only reader against a 1.0 device = %v", err)
	}
}
