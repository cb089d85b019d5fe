package spake2plus

import (
	"testing"

	"github.com/opencarkey/sdk/internal/testvec"
)

// rfcVector is one test vector of RFC 9383 Appendix C (testdata/README.md).
type rfcVector struct {
	Context    testvec.HexBytes `json:"context"`
	IDProver   testvec.HexBytes `json:"idProver"`
	IDVerifier testvec.HexBytes `json:"idVerifier"`
	W0         testvec.HexBytes `json:"w0"`
	W1         testvec.HexBytes `json:"w1"`
	L          testvec.HexBytes `json:"L"`
	X          testvec.HexBytes `json:"x"`
	ShareP     testvec.HexBytes `json:"X"`
	Y          testvec.HexBytes `json:"y"`
	ShareV     testvec.HexBytes `json:"Y"`
	Z          testvec.HexBytes `json:"Z"`
	V          testvec.HexBytes `json:"V"`
	TT         testvec.HexBytes `json:"TT"`
	KMain      testvec.HexBytes `json:"K_main"`
	KConfirmP  testvec.HexBytes `json:"K_confirmP"`
	KConfirmV  testvec.HexBytes `json:"K_confirmV"`
	ConfirmP   testvec.HexBytes `json:"confirmP"`
	ConfirmV   testvec.HexBytes `json:"confirmV"`
	KShared    testvec.HexBytes `json:"K_shared"`
}

func (v *rfcVector) profile() RFC9383 {
	return RFC9383{Context: v.Context, IDProver: v.IDProver, IDVerifier: v.IDVerifier}
}

func rfcVectors(t testing.TB) []rfcVector {
	t.Helper()
	var file struct {
		Source  string      `json:"source"`
		Vectors []rfcVector `json:"vectors"`
	}
	readJSON(t, "rfc9383.json", &file)
	if len(file.Vectors) == 0 {
		t.Fatal("testdata/rfc9383.json: no vectors")
	}
	return file.Vectors
}

// TestRFC9383Vectors checks every value of RFC 9383 Appendix C: the
// registration record, both shares, Z and V as each side computes them, the
// transcript, every key, both confirmations and the shared key, then runs
// both roles through the public API with the vector's x and y.
func TestRFC9383Vectors(t *testing.T) {
	for _, v := range rfcVectors(t) {
		t.Run(string(v.Context), func(t *testing.T) {
			secret, err := NewProverSecret(v.W0, v.W1)
			if err != nil {
				t.Fatalf("NewProverSecret(%x, %x) = %v", v.W0, v.W1, err)
			}
			record := secret.Record()
			enc, _ := record.AppendBinary(nil)
			checkBytes(t, "record w0", enc[:scalarSize], v.W0)
			checkBytes(t, "L", enc[scalarSize:], v.L)

			prover, err := newProver(v.profile(), secret, scalarOf(t, v.X))
			if err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "X", prover.Share(), v.ShareP)

			// Z and V, computed by each side.
			var psh, vsh shares
			if !prover.computeShares(&psh, v.ShareV) {
				t.Fatalf("prover rejected Y %x", v.ShareV)
			}
			if !computeVerifierShares(&vsh, record, v.ShareP, scalarOf(t, v.Y)) {
				t.Fatalf("verifier rejected X %x", v.ShareP)
			}
			for _, sh := range []struct {
				name string
				sh   *shares
			}{{"prover", &psh}, {"verifier", &vsh}} {
				checkBytes(t, sh.name+" X", sh.sh.x[:], v.ShareP)
				checkBytes(t, sh.name+" Y", sh.sh.y[:], v.ShareV)
				checkBytes(t, sh.name+" Z", sh.sh.z[:], v.Z)
				checkBytes(t, sh.name+" V", sh.sh.v[:], v.V)
				checkBytes(t, sh.name+" w0", sh.sh.w0[:], v.W0)
			}

			// Transcript and key schedule.
			s, err := v.profile().compile()
			if err != nil {
				t.Fatal(err)
			}
			checkBytes(t, "TT", s.appendTranscript(nil, &psh), v.TT)
			var k keySchedule
			s.schedule(&k, &psh)
			checkBytes(t, "K_main", k.main[:], v.KMain)
			checkBytes(t, "K_confirmP", k.proverKey[:], v.KConfirmP)
			checkBytes(t, "K_confirmV", k.verifierKey[:], v.KConfirmV)
			checkBytes(t, "confirmP", k.proverConfirm[:], v.ConfirmP)
			checkBytes(t, "confirmV", k.verifierConfirm[:], v.ConfirmV)
			checkBytes(t, "K_shared", k.shared[:], v.KShared)

			// Both roles, through the public API.
			verifier, err := newVerifier(v.profile(), record, v.ShareP, scalarOf(t, v.Y))
			if err != nil {
				t.Fatalf("newVerifier(X=%x) = %v", v.ShareP, err)
			}
			checkBytes(t, "Verifier.Share", verifier.Share(), v.ShareV)
			checkBytes(t, "Verifier.Confirmation", verifier.Confirmation(), v.ConfirmV)
			confirm, key, err := prover.Finish(verifier.Share(), verifier.Confirmation())
			if err != nil {
				t.Fatalf("Prover.Finish(%x, %x) = %v", v.ShareV, v.ConfirmV, err)
			}
			checkBytes(t, "Prover.Finish confirm", confirm, v.ConfirmP)
			checkBytes(t, "Prover.Finish key", key, v.KShared)
			key, err = verifier.Finish(confirm)
			if err != nil {
				t.Fatalf("Verifier.Finish(%x) = %v", confirm, err)
			}
			checkBytes(t, "Verifier.Finish key", key, v.KShared)
		})
	}
}

// TestRFC9383PBKDF checks that ProverSecretFromPBKDF reduces each half modulo
// n: the vector's w0 and w1, padded with zeros in front or with n added, give
// the vector's L.
func TestRFC9383PBKDF(t *testing.T) {
	v := rfcVectors(t)[0]
	pad := func(w []byte, addN bool) []byte {
		out := make([]byte, 8, wideScalarSize)
		out = append(out, w...)
		if addN {
			// w + n, as a 40-byte big-endian integer.
			n := unhex(t, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
			carry := 0
			for i := wideScalarSize - 1; i >= 0; i-- {
				s := int(out[i]) + carry
				if i >= 8 {
					s += int(n[i-8])
				}
				out[i], carry = byte(s), s>>8
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		addN bool
	}{{"padded", false}, {"plus n", true}} {
		t.Run(tc.name, func(t *testing.T) {
			output := append(pad(v.W0, tc.addN), pad(v.W1, tc.addN)...)
			secret, err := ProverSecretFromPBKDF(output)
			if err != nil {
				t.Fatalf("ProverSecretFromPBKDF(%x) = %v", output, err)
			}
			enc, _ := secret.Record().AppendBinary(nil)
			checkBytes(t, "w0", enc[:scalarSize], v.W0)
			checkBytes(t, "L", enc[scalarSize:], v.L)
		})
	}
}
