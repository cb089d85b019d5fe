package spake2plus

import "testing"

// BenchmarkSPAKE2Plus measures one side of a whole CCC run, excluding
// scrypt: for the prover NewProver, Share and Finish; for the verifier
// NewVerifier, Share, Confirmation and Finish. The derandomized twins are
// used so that Finish succeeds, with randomScalar called as the public
// constructors do, so the work is the same.
func BenchmarkSPAKE2Plus(b *testing.B) {
	secret := fuzzSecret(b)
	record := secret.Record()
	prof := CCC{ConfirmationInfo: []byte{0x5b, 0x02, 0x01, 0x00, 0x5c, 0x02, 0x01, 0x00}}
	x, y := fixedScalar(1), fixedScalar(2)
	p0, _ := newProver(prof, secret, x)
	v0, err := newVerifier(prof, record, p0.Share(), y)
	if err != nil {
		b.Fatal(err)
	}
	share, confirm := v0.Share(), v0.Confirmation()
	m2, _, err := p0.Finish(share, confirm)
	if err != nil {
		b.Fatal(err)
	}
	X := p0.Share()

	b.Run("prover", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r [scalarSize]byte
			randomScalar(&r)
			p, _ := newProver(prof, secret, x)
			_ = p.Share()
			if _, _, err := p.Finish(share, confirm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verifier", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r [scalarSize]byte
			randomScalar(&r)
			v, err := newVerifier(prof, record, X, y)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = v.Share(), v.Confirmation()
			if _, err := v.Finish(m2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScrypt measures DeriveCCCSecret: scrypt with dkLen 80, the
// reduction of both halves and the precomputation of w0·M and w0·N.
func BenchmarkScrypt(b *testing.B) {
	b.Run("default", func(b *testing.B) {
		b.ReportAllocs()
		password, salt := []byte("314159"), []byte("0123456789abcdef")
		for b.Loop() {
			if _, err := DeriveCCCSecret(password, salt, DefaultScryptParams()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
