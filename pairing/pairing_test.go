package pairing

import (
	"errors"
	"testing"

	"github.com/opencarkey/sdk/cert"
)

func TestPairing(t *testing.T) {
	for _, tt := range []struct {
		name          string
		intermediates bool
		evidence      Evidence
	}{
		{"direct", false, EvidenceOwnShare},
		{"intermediates", true, EvidenceOwnShare},
		{"peer-share", false, EvidencePeerShare},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "123456", tt.intermediates)
			f.vcfg.Evidence = tt.evidence
			f.card.cfg.Evidence = tt.evidence
			res, err := f.pair(t)
			if err != nil {
				t.Fatalf("pair: %v", err)
			}
			if len(f.card.store.committed) != 1 || len(f.card.store.live) != 1 {
				t.Fatalf("device committed %d keys, %d alive", len(f.card.store.committed), len(f.card.store.live))
			}
			d := f.card.store.committed[0]
			switch {
			case !d.PublicKey.Equal(res.PublicKey):
				t.Errorf("device key %x, vehicle enrolled %x", d.PublicKey.Bytes(), res.PublicKey.Bytes())
			case d.Slot != res.Slot:
				t.Errorf("device slot %v, vehicle %v", d.Slot, res.Slot)
			case d.LongTermSecret != res.LongTermSecret:
				t.Errorf("LONG_TERM_SHARED_SECRET differs: device %x, vehicle %x", d.LongTermSecret, res.LongTermSecret)
			case d.LongTermSecret == [LongTermSecretSize]byte{}:
				t.Errorf("LONG_TERM_SHARED_SECRET is zero")
			case d.VehicleID != f.pki.vid || !d.VehicleKey.Equal(f.pki.vehicleKey.PublicKey()):
				t.Errorf("device bound vehicle %v %x", d.VehicleID, d.VehicleKey.Bytes())
			case d.KeyConfig != DefaultOwnerKeyConfig() || res.KeyConfig != DefaultOwnerKeyConfig():
				t.Errorf("key config: device %+v, vehicle %+v", d.KeyConfig, res.KeyConfig)
			case d.Brand != 0x0042:
				t.Errorf("brand %04x", d.Brand)
			}
			wantChain := 2
			if tt.intermediates {
				wantChain = 3
			}
			if len(d.Certificates) != wantChain || len(res.Endpoint.Chain) != wantChain+1 {
				t.Errorf("endpoint chain: device %d certificates, vehicle verified %d", len(d.Certificates), len(res.Endpoint.Chain))
			}
		})
	}
}

func TestPairingWrongPassword(t *testing.T) {
	f := newFixture(t, "654321", false)
	_, err := f.pair(t)
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("pair with a wrong password = %v, want %v", err, ErrAuthentication)
	}
	f.checkNoKey(t)
	if d := f.card.runs[0]; !d.Attempted() || !errors.Is(d.Err(), ErrAuthentication) {
		t.Errorf("device run: attempted %v, err %v", d.Attempted(), d.Err())
	}
}

func TestPairingForeignEndpointRoot(t *testing.T) {
	f := newFixture(t, "123456", false)
	other := newPKI(t, false)
	f.vcfg.DeviceRoots.AddCert(other.vehicleRoot) // a root, but not the device's
	f.vcfg.DeviceRoots = newPool(other.deviceRoot)
	_, err := f.pair(t)
	if !errors.Is(err, ErrEndpointCertificate) || !errors.Is(err, cert.ErrUnknownRoot) {
		t.Fatalf("pair = %v, want %v and %v", err, ErrEndpointCertificate, cert.ErrUnknownRoot)
	}
	f.checkNoKey(t)
	if d := f.card.runs[0]; !errors.Is(d.Err(), ErrAborted) {
		t.Errorf("device run ended with %v, want %v", d.Err(), ErrAborted)
	}
}
