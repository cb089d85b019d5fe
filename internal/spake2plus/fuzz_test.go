package spake2plus

import (
	"errors"
	"testing"
)

// fuzzProfiles are the profiles the fuzz targets pick from with their first
// argument.
var fuzzProfiles = []Profile{
	RFC9383{Context: []byte("SPAKE2+-P256-SHA256-HKDF-SHA256-HMAC-SHA256 Test Vectors"), IDProver: []byte("client"), IDVerifier: []byte("server")},
	CCC{},
	CCC{Evidence: EvidencePeerShare},
}

// fuzzSecret is the fuzz targets' secret, fixed and unknown to the seeds: the
// fuzzer would have to find w0 and w1 to succeed.
func fuzzSecret(t testing.TB) *ProverSecret {
	t.Helper()
	out := make([]byte, 2*wideScalarSize)
	for i := range out {
		out[i] = byte(i*7 + 3)
	}
	s, err := ProverSecretFromPBKDF(out)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addSeeds adds, for each profile, a valid share of the other role with its
// own confirmation (valid for that run but not for the fuzzed one), the RFC
// 9383 vector's share and confirmation, and the invalid shares of the tests.
func addSeeds(f *testing.F, prover bool) {
	other := randomSecret(f)
	v := rfcVectors(f)[0]
	for i, prof := range fuzzProfiles {
		p, _ := newProver(prof, other, fixedScalar(5))
		vr, _ := newVerifier(prof, other.Record(), p.Share(), fixedScalar(6))
		confirm, _, _ := p.Finish(vr.Share(), vr.Confirmation())
		if prover {
			f.Add(uint8(i), vr.Share(), vr.Confirmation())
			f.Add(uint8(i), []byte(v.ShareV), []byte(v.ConfirmV))
		} else {
			f.Add(uint8(i), p.Share(), confirm)
			f.Add(uint8(i), []byte(v.ShareP), []byte(v.ConfirmP))
		}
		f.Add(uint8(i), []byte{0}, []byte{})
		f.Add(uint8(i), make([]byte, pointSize), make([]byte, 32))
	}
}

// FuzzProverFinish drives a prover with arbitrary verifier shares and
// confirmations: it must never panic and never succeed.
func FuzzProverFinish(f *testing.F) {
	addSeeds(f, true)
	secret := fuzzSecret(f)
	f.Fuzz(func(t *testing.T, profile uint8, share, confirm []byte) {
		p, err := newProver(fuzzProfiles[int(profile)%len(fuzzProfiles)], secret, fixedScalar(7))
		if err != nil {
			t.Fatal(err)
		}
		c, k, err := p.Finish(share, confirm)
		if !errors.Is(err, ErrAuthentication) || c != nil || k != nil {
			t.Fatalf("Prover.Finish(%x, %x) = %x, %x, %v; want nil, nil, %v", share, confirm, c, k, err, ErrAuthentication)
		}
	})
}

// FuzzVerifierFinish drives a verifier with arbitrary prover shares and
// confirmations: it must never panic and never succeed.
func FuzzVerifierFinish(f *testing.F) {
	addSeeds(f, false)
	record := fuzzSecret(f).Record()
	f.Fuzz(func(t *testing.T, profile uint8, share, confirm []byte) {
		v, err := newVerifier(fuzzProfiles[int(profile)%len(fuzzProfiles)], record, share, fixedScalar(8))
		if err != nil {
			if !errors.Is(err, ErrAuthentication) || v != nil {
				t.Fatalf("NewVerifier(%x) = %v, %v; want nil, %v", share, v, err, ErrAuthentication)
			}
			return
		}
		k, err := v.Finish(confirm)
		if !errors.Is(err, ErrAuthentication) || k != nil {
			t.Fatalf("Verifier.Finish(%x) after share %x = %x, %v; want nil, %v", confirm, share, k, err, ErrAuthentication)
		}
	})
}
