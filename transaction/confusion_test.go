package transaction

import (
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// allProfiles are the three profiles of the confusion matrix.
var allProfiles = []dkey.Profile{dkey.CCC, dkey.HomeKey, dkey.Aliro}

// confusionID is the identity every reader of the matrix takes its
// identifier from: the CCC vehicle identifier is its first 8 bytes, the
// Home Key one its first 16, which are also the Aliro reader group. The
// readers of all three profiles then share one key pair and one identity as
// far as the profiles' lengths allow.
var confusionID = []byte("aliro test groupfront door      ")

// matrixReader runs one reader's side of the matrix.
type matrixReader interface {
	// standard runs SELECT to VerifyEndpoint and returns Kpersistent.
	standard(card transport.Card, endpoint *dkey.PublicKey) (PersistentKey, error)
	// fast runs SELECT, AUTH0 with the fast request, and FindFast.
	fast(card transport.Card, keys []FastKey) (int, error)
	authenticated() bool
}

// matrixEndpoint is one device's side.
type matrixEndpoint interface {
	transport.Card
	persistent() []byte
	authenticated() bool
}

type cccMatrixReader struct{ tv *testVehicle }

func (r *cccMatrixReader) standard(card transport.Card, endpoint *dkey.PublicKey) (PersistentKey, error) {
	r.tv.card = card
	pk, _, err := r.tv.standard(dkey.ActionUnlock, 0, endpoint)
	return pk, err
}

func (r *cccMatrixReader) fast(card transport.Card, keys []FastKey) (int, error) {
	r.tv.card = card
	if err := r.tv.auth0(dkey.ActionUnlock, FlagFast); err != nil {
		return -1, err
	}
	return r.tv.s.FindFast(keys), nil
}

func (r *cccMatrixReader) authenticated() bool { return r.tv.s.Authenticated() }

type aliroMatrixReader struct{ tr *aliroTestReader }

func (r *aliroMatrixReader) standard(card transport.Card, endpoint *dkey.PublicKey) (PersistentKey, error) {
	r.tr.card = card
	pk, _, err := r.tr.standard(AliroPolicyUserDevice, endpoint)
	return pk, err
}

func (r *aliroMatrixReader) fast(card transport.Card, keys []FastKey) (int, error) {
	r.tr.card = card
	return r.tr.fast(AliroPolicyUserDevice, keys)
}

func (r *aliroMatrixReader) authenticated() bool { return r.tr.s.Authenticated() }

type cccMatrixEndpoint struct{ *testEndpoint }

func (e cccMatrixEndpoint) persistent() []byte  { return e.cred.Persistent.Bytes() }
func (e cccMatrixEndpoint) authenticated() bool { return e.s.Authenticated() }

type aliroMatrixEndpoint struct {
	*aliroTestEndpoint
	id dkey.ReaderID
}

func (e aliroMatrixEndpoint) persistent() []byte {
	pk := e.persist[e.id]
	return pk.Bytes()
}
func (e aliroMatrixEndpoint) authenticated() bool { return e.s.Authenticated() }

func confusionReaderID(t testing.TB) dkey.ReaderID {
	t.Helper()
	id, err := dkey.NewReaderID(confusionID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newMatrixReader returns a reader of p with the shared key, speaking every
// version its profile knows (the opt-ins included: the widest attack
// surface).
func newMatrixReader(t testing.TB, p dkey.Profile, key *dkey.SoftwareKey) matrixReader {
	t.Helper()
	if p == dkey.Aliro {
		both, _ := dkey.NewVersionList(dkey.Version1, dkey.VersionAliro09)
		return &aliroMatrixReader{newAliroTestReader(t, &AliroReaderConfig{ReaderID: confusionReaderID(t), Key: key, Versions: both})}
	}
	id, err := dkey.NewVehicleID(confusionID[:p.VehicleIDLen()])
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVehicleParams(&VehicleConfig{Profile: p, VehicleID: id, Key: key, Versions: p.Versions()})
	if err != nil {
		t.Fatal(err)
	}
	return &cccMatrixReader{&testVehicle{v: v, s: v.NewSession(), apdu: make([]byte, 0, 4096), resp: make([]byte, 0, 4096)}}
}

// newMatrixEndpoint returns a device of p holding a credential with the
// shared endpoint key, bound to the shared reader identity and key.
func newMatrixEndpoint(t testing.TB, p dkey.Profile, readerKey *dkey.PublicKey, endpointKey *dkey.SoftwareKey) matrixEndpoint {
	t.Helper()
	if p == dkey.Aliro {
		id := confusionReaderID(t)
		te := newAliroTestEndpoint(t, nil)
		te.creds[id.Group] = &AliroCredential{
			Key: endpointKey, PublicKey: endpointKey.PublicKey(), ReaderKey: readerKey,
			Status: AliroStatus{Signaling: AliroMailboxRead | AliroMailboxWrite},
		}
		return aliroMatrixEndpoint{te, id}
	}
	id, err := dkey.NewVehicleID(confusionID[:p.VehicleIDLen()])
	if err != nil {
		t.Fatal(err)
	}
	te := newTestEndpoint(t, p, id, readerKey)
	te.cred.Key, te.cred.PublicKey = endpointKey, endpointKey.PublicKey()
	return cccMatrixEndpoint{te}
}

// aidRelay rewrites the AID of every SELECT to the device's applet, so that
// the applet selection is not what stops a reader of another profile: the
// matrix tests the protocol behind it.
type aidRelay struct {
	inner transport.Card
	aid   dkey.AID
	buf   []byte
}

func (r *aidRelay) ProcessAPDU(dst, apdu []byte) []byte {
	cmd, err := transport.ParseCommand(apdu)
	if err == nil && cmd.INS == insSelect {
		cmd.Data = []byte(r.aid)
		if b, err := cmd.Append(r.buf[:0]); err == nil {
			r.buf = b
			apdu = b
		}
	}
	return r.inner.ProcessAPDU(dst, apdu)
}

// TestProfileConfusion is the profile-confusion matrix at the transaction
// layer: for every pair of profiles (reader, device), with one reader key
// pair, one endpoint key pair and one reader identity shared by all, and a
// relay that makes every SELECT reach the device's applet, a credential
// provisioned in the device's profile, and a Kpersistent derived in it,
// completes a transaction only with a reader of that same profile. Across
// profiles the standard transaction fails, the fast one finds no
// cryptogram, neither side ends authenticated, and the device's Kpersistent
// is unchanged. Today every cross pair stops before any key is used: the
// identifiers differ in length (8, 16, 32 bytes) and the Aliro SELECT
// response is an FCI where the others carry a bare version list (run with
// -v to see where each stops); behind that, the Aliro keys use their own
// labels and bind the FCI, and the AUTH1 signatures cover the identifier.
func TestProfileConfusion(t *testing.T) {
	for _, rp := range allProfiles {
		for _, ep := range allProfiles {
			t.Run(rp.String()+" reader, "+ep.String()+" device", func(t *testing.T) {
				rk, _ := dkey.GenerateSoftwareKey()
				ek, _ := dkey.GenerateSoftwareKey()
				dev := newMatrixEndpoint(t, ep, rk.PublicKey(), ek)
				// The device's own profile derives a Kpersistent first.
				own := newMatrixReader(t, ep, rk)
				pk, err := own.standard(dev, ek.PublicKey())
				if err != nil {
					t.Fatalf("same-profile standard transaction: %v", err)
				}
				before := dev.persistent()

				r := newMatrixReader(t, rp, rk)
				relay := &aidRelay{inner: dev, aid: ep.AppletAID()}
				_, err = r.standard(relay, ek.PublicKey())
				if rp == ep {
					if err != nil || !r.authenticated() || !dev.authenticated() {
						t.Fatalf("same profile through the relay: %v", err)
					}
					before = dev.persistent()
				} else {
					if err == nil || r.authenticated() || dev.authenticated() {
						t.Fatalf("cross-profile standard transaction completed (err %v)", err)
					}
					if string(dev.persistent()) != string(before) {
						t.Errorf("cross-profile standard transaction changed the device's Kpersistent")
					}
					t.Logf("standard: %v", err)
				}

				keys := []FastKey{NewFastKey(ek.PublicKey(), &pk)}
				if rp == ep {
					p, _ := NewPersistentKey(before)
					keys[0] = NewFastKey(ek.PublicKey(), &p)
				}
				i, err := r.fast(relay, keys)
				if rp == ep {
					if err != nil || i != 0 {
						t.Fatalf("same-profile fast = %d, %v", i, err)
					}
					return
				}
				if i != -1 {
					t.Fatalf("cross-profile fast matched key %d", i)
				}
				if r.authenticated() || dev.authenticated() {
					t.Errorf("cross-profile fast left a side authenticated")
				}
				if string(dev.persistent()) != string(before) {
					t.Errorf("cross-profile fast changed the device's Kpersistent")
				}
				t.Logf("fast: %v", err)
			})
		}
	}
}
