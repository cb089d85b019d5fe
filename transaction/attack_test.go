package transaction

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// stripRelay sits between the vehicle and the endpoint and rewrites the
// SELECT response so that it offers version 1.0 alone, as a relay
// downgrading a Home Key reader would. It counts the responses it
// rewrote.
type stripRelay struct {
	inner    transport.Card
	stripped int
}

func (r *stripRelay) ProcessAPDU(dst, apdu []byte) []byte {
	out := r.inner.ProcessAPDU(dst, apdu)
	// The endpoint's SELECT response: 5C 04 0200 0100 ‖ 9000.
	if len(apdu) > 1 && apdu[1] == insSelect && bytes.Equal(out[len(dst):], []byte{0x5C, 0x04, 0x02, 0x00, 0x01, 0x00, 0x90, 0x00}) {
		r.stripped++
		return append(dst, 0x5C, 0x02, 0x01, 0x00, 0x90, 0x00)
	}
	return out
}

// endpointState is what a transaction may change on the endpoint: its
// Kpersistent, its mailboxes and the last CONTROL FLOW it saw.
type endpointState struct {
	Persistent   []byte
	Confidential []byte
	Private      []byte
	LastCF       ControlFlow
}

func (e *testEndpoint) state() endpointState {
	return endpointState{Persistent: e.cred.Persistent.Bytes(), Confidential: bytes.Clone(e.conf), Private: bytes.Clone(e.priv), LastCF: e.lastCF}
}

// TestAttackHomeKeyDowngradeStripsVersion2 (issue 12, finding 8): a relay
// strips 2.0 from the endpoint's SELECT response. At 1.0 the endpoint's
// version list enters no key derivation, so nothing would reveal the
// change: a default Home Key vehicle must refuse rather than settle for
// 1.0, and the endpoint must be left as it was. Only a vehicle configured
// with 1.0 (the explicit opt-in) runs a 1.0 transaction.
func TestAttackHomeKeyDowngradeStripsVersion2(t *testing.T) {
	tv, te := pair(t, dkey.HomeKey)
	// A first standard transaction, unattacked, at 2.0: the endpoint
	// then holds a Kpersistent the attack must not change.
	if _, _, err := tv.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatal(err)
	}
	if got := tv.s.Version(); got != dkey.Version2 {
		t.Fatalf("unattacked Home Key transaction at %v, want 2.0", got)
	}
	if err := tv.controlFlow(CFSuccess); err != nil {
		t.Fatal(err)
	}
	before := te.state()

	relay := &stripRelay{inner: te}
	tv.card = relay
	err := tv.auth0(dkey.ActionUnlock, FlagFast)
	if relay.stripped != 1 {
		t.Fatalf("the relay rewrote %d SELECT responses, want 1", relay.stripped)
	}
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("default Home Key vehicle after a stripped SELECT: %v, want ErrVersion", err)
	}
	if v := tv.s.Version(); v == dkey.Version1 {
		t.Errorf("the vehicle selected %v", v)
	}
	// The session is dead: no AUTH0 is built after the refusal.
	if _, err := tv.s.Auth0(); !errors.Is(err, ErrOutOfSequence) {
		t.Errorf("Auth0 after the refused SELECT = %v, want ErrOutOfSequence", err)
	}
	if diff := cmp.Diff(before, te.state()); diff != "" {
		t.Errorf("endpoint state changed (-before +after):\n%s", diff)
	}

	// The same relay against a vehicle that opted in to 1.0: it settles
	// for 1.0, which is why 1.0 is an opt-in.
	both, err := dkey.NewVersionList(dkey.Version2, dkey.Version1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVehicleParams(&VehicleConfig{Profile: dkey.HomeKey, VehicleID: tv.v.ID(), Key: tv.v.key, Versions: both})
	if err != nil {
		t.Fatal(err)
	}
	optIn := &testVehicle{v: v, s: v.NewSession(), card: relay, apdu: tv.apdu, resp: tv.resp}
	if _, _, err := optIn.standard(dkey.ActionUnlock, 0, te.cred.PublicKey); err != nil {
		t.Fatalf("opted-in vehicle, 1.0 transaction: %v", err)
	}
	if got := optIn.s.Version(); got != dkey.Version1 || relay.stripped != 2 {
		t.Errorf("opted-in vehicle selected %v after %d stripped responses, want 1.0 after 2", got, relay.stripped)
	}
}

// TestHomeKeyVehicleDefaultVersions: the zero VehicleConfig.Versions of a
// Home Key vehicle is 2.0 alone, of a CCC vehicle 1.0; an explicit list is
// kept.
func TestHomeKeyVehicleDefaultVersions(t *testing.T) {
	for _, p := range profiles {
		tv := newTestVehicle(t, p)
		if got, want := tv.v.versions, p.VehicleVersions(); got != want {
			t.Errorf("%v vehicle speaks %v by default, want %v", p, got, want)
		}
	}
	only1, _ := dkey.NewVersionList(dkey.Version1)
	tv := newTestVehicle(t, dkey.HomeKey)
	v, err := NewVehicleParams(&VehicleConfig{Profile: dkey.HomeKey, VehicleID: tv.v.ID(), Key: tv.v.key, Versions: only1})
	if err != nil {
		t.Fatal(err)
	}
	if v.versions != only1 {
		t.Errorf("configured versions %v, want 1.0", v.versions)
	}
}
