package pairing

import (
	"context"
	"testing"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// BenchmarkPairing measures a whole owner pairing in memory, both cores,
// through transport.Client and transport.ChainingCard with short APDUs:
// SPAKE2+ with the device's scrypt derivation, the channel, the vehicle
// chain verification, key creation and certificate issuance on the device,
// the endpoint chain verification on the vehicle. The verifier is derived
// beforehand, as the vehicle OEM server does. scrypt dominates with the
// default parameters; min-scrypt shows the rest.
func BenchmarkPairing(b *testing.B) {
	for _, bc := range []struct {
		name   string
		params ScryptParams
	}{
		{"default-scrypt", DefaultScryptParams()},
		{"min-scrypt", fastParams},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pki := newPKI(b, false)
			password := []byte("123456")
			v, err := NewVerifier(password, []byte("0123456789abcdef"), bc.params)
			if err != nil {
				b.Fatal(err)
			}
			vcfg, dcfg := pki.vehicleConfig(), pki.deviceConfig()
			b.ReportAllocs()
			for b.Loop() {
				card := &deviceCard{cfg: dcfg, store: newMemStore(), password: password}
				p, err := NewVehicleSession(vcfg, v)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := drive(context.Background(), transporttest.NewCard(transport.NewChainingCard(card)), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
