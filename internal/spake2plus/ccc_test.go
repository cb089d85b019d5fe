package spake2plus

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencarkey/sdk/internal/testvec"
)

var update = flag.Bool("update", false, "rewrite testdata/ccc.json from the code")

// cccVector is one run of the CCC profile with every intermediate value.
// Output fields left empty in a file of outside vectors are not checked.
type cccVector struct {
	Name             string           `json:"name"`
	Password         testvec.HexBytes `json:"password"`
	Salt             testvec.HexBytes `json:"salt"`
	N                uint32           `json:"N"`
	R                uint16           `json:"r"`
	P                uint16           `json:"p"`
	ConfirmationInfo testvec.HexBytes `json:"confirmationInfo"`
	Evidence         string           `json:"evidence"`
	X                testvec.HexBytes `json:"x"`
	Y                testvec.HexBytes `json:"y"`

	W0     testvec.HexBytes `json:"w0"`
	W1     testvec.HexBytes `json:"w1"`
	L      testvec.HexBytes `json:"L,omitempty"`
	ShareX testvec.HexBytes `json:"X"`
	ShareY testvec.HexBytes `json:"Y"`
	Z      testvec.HexBytes `json:"Z"`
	V      testvec.HexBytes `json:"V"`
	TT     testvec.HexBytes `json:"TT,omitempty"`
	K      testvec.HexBytes `json:"K"`
	CK     testvec.HexBytes `json:"CK"`
	SK     testvec.HexBytes `json:"SK"`
	K1     testvec.HexBytes `json:"K1"`
	K2     testvec.HexBytes `json:"K2"`
	M1     testvec.HexBytes `json:"M1"`
	M2     testvec.HexBytes `json:"M2"`
}

type cccFile struct {
	Source  string      `json:"source"`
	Vectors []cccVector `json:"vectors"`
}

func (v *cccVector) profile(t testing.TB) CCC {
	t.Helper()
	var e Evidence
	switch v.Evidence {
	case EvidenceOwnShare.String():
		e = EvidenceOwnShare
	case EvidencePeerShare.String():
		e = EvidencePeerShare
	default:
		t.Fatalf("%s: unknown evidence %q", v.Name, v.Evidence)
	}
	return CCC{ConfirmationInfo: v.ConfirmationInfo, Evidence: e}
}

// secretCache avoids deriving the same scrypt output twice in one test run.
type secretKey struct {
	password, salt string
	params         ScryptParams
}

var secretCache = map[secretKey]*ProverSecret{}

func cccSecret(t testing.TB, password, salt []byte, params ScryptParams) *ProverSecret {
	t.Helper()
	k := secretKey{string(password), string(salt), params}
	if s, ok := secretCache[k]; ok {
		return s
	}
	s, err := DeriveCCCSecret(password, salt, params)
	if err != nil {
		t.Fatalf("DeriveCCCSecret(%x, %x, %+v) = %v", password, salt, params, err)
	}
	secretCache[k] = s
	return s
}

// runCCC fills the output fields of in by running the code: the derivation,
// both sides' computations and the key schedule, then both roles through the
// public API. It fails the test if the two sides disagree.
func runCCC(t *testing.T, in cccVector) cccVector {
	t.Helper()
	out := in
	secret := cccSecret(t, in.Password, in.Salt, ScryptParams{in.N, in.R, in.P})
	record := secret.Record()
	enc, _ := record.AppendBinary(nil)
	out.W0 = secret.w0[:]
	out.W1 = secret.w1[:]
	out.L = enc[scalarSize:]

	prof := in.profile(t)
	prover, err := newProver(prof, secret, scalarOf(t, in.X))
	if err != nil {
		t.Fatal(err)
	}
	var psh, vsh shares
	if !computeVerifierShares(&vsh, record, prover.Share(), scalarOf(t, in.Y)) {
		t.Fatalf("%s: verifier rejected X", in.Name)
	}
	if !prover.computeShares(&psh, vsh.y[:]) {
		t.Fatalf("%s: prover rejected Y", in.Name)
	}
	if diff := cmp.Diff(psh, vsh, cmp.AllowUnexported(shares{})); diff != "" {
		t.Fatalf("%s: prover and verifier shares differ (-prover +verifier):\n%s", in.Name, diff)
	}
	out.ShareX = psh.x[:]
	out.ShareY = psh.y[:]
	out.Z = psh.z[:]
	out.V = psh.v[:]
	s, err := prof.compile()
	if err != nil {
		t.Fatal(err)
	}
	out.TT = s.appendTranscript(nil, &psh)
	var k keySchedule
	s.schedule(&k, &psh)
	out.K = k.main[:]
	out.CK = k.main[:16]
	out.SK = k.shared[:cccSharedSize]
	out.K1 = k.verifierKey[:16]
	out.K2 = k.proverKey[:16]
	out.M1 = k.verifierConfirm[:cccConfirmSize]
	out.M2 = k.proverConfirm[:cccConfirmSize]
	for _, tail := range [][]byte{k.verifierKey[16:], k.proverKey[16:], k.verifierConfirm[cccConfirmSize:], k.proverConfirm[cccConfirmSize:], k.shared[cccSharedSize:]} {
		if !bytes.Equal(tail, make([]byte, len(tail))) {
			t.Errorf("%s: unused key-schedule tail %x, want zeros", in.Name, tail)
		}
	}

	// The public API gives the same values.
	verifier, err := newVerifier(prof, record, prover.Share(), scalarOf(t, in.Y))
	if err != nil {
		t.Fatalf("%s: newVerifier = %v", in.Name, err)
	}
	checkBytes(t, in.Name+" Verifier.Share", verifier.Share(), out.ShareY)
	checkBytes(t, in.Name+" Verifier.Confirmation", verifier.Confirmation(), out.M1)
	m2, sk, err := prover.Finish(verifier.Share(), verifier.Confirmation())
	if err != nil {
		t.Fatalf("%s: Prover.Finish = %v", in.Name, err)
	}
	checkBytes(t, in.Name+" Prover.Finish M2", m2, out.M2)
	checkBytes(t, in.Name+" Prover.Finish SK", sk, out.SK)
	sk, err = verifier.Finish(m2)
	if err != nil {
		t.Fatalf("%s: Verifier.Finish = %v", in.Name, err)
	}
	checkBytes(t, in.Name+" Verifier.Finish SK", sk, out.SK)
	return out
}

// cccGoldenInputs are the inputs of testdata/ccc.json. The version TLVs are
// those a vehicle offering SPAKE2+ 1.0 and DK applet 1.0 sends (5B 02 0100,
// 5C 02 0100), the suffix package pairing passes.
func cccGoldenInputs(t testing.TB) []cccVector {
	versions := unhex(t, "5b0201005c020100")
	salt := unhex(t, "00112233445566778899aabbccddeeff")
	x := unhex(t, "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100")
	y := unhex(t, "7a7b7c7d7e7f808182838485868788898a8b8c8d8e8f90919293949596979899")
	def := DefaultScryptParams()
	return []cccVector{
		{Name: "default scrypt, version suffix, own share", Password: []byte("314159"), Salt: salt, N: def.N, R: def.R, P: def.P,
			ConfirmationInfo: versions, Evidence: EvidenceOwnShare.String(), X: x, Y: y},
		{Name: "default scrypt, version suffix, peer share", Password: []byte("314159"), Salt: salt, N: def.N, R: def.R, P: def.P,
			ConfirmationInfo: versions, Evidence: EvidencePeerShare.String(), X: x, Y: y},
		{Name: "minimum scrypt, no suffix, own share", Password: []byte("271828"), Salt: salt, N: MinScryptN, R: 1, P: 1,
			ConfirmationInfo: nil, Evidence: EvidenceOwnShare.String(), X: y, Y: x},
		{Name: "MERS scrypt, MERS placeholder suffix, own share", Password: unhex(t, "0102030405060708"), Salt: salt, N: 4096, R: 8, P: 1,
			ConfirmationInfo: unhex(t, "5b01005c0101"), Evidence: EvidenceOwnShare.String(), X: x, Y: y},
	}
}

// TestCCCGolden runs the CCC profile on fixed inputs and compares every
// value with testdata/ccc.json, which the code generated: any change in the
// profile shows here. Regenerate only for an intended change, with
// go test -run TestCCCGolden -update.
func TestCCCGolden(t *testing.T) {
	const name = "ccc.json"
	var got cccFile
	got.Source = "generated by this package (go test -run TestCCCGolden -update); not an outside vector"
	for _, in := range cccGoldenInputs(t) {
		got.Vectors = append(got.Vectors, runCCC(t, in))
	}
	if *update {
		b, err := json.MarshalIndent(got, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", name), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote testdata/%s", name)
		return
	}
	var want cccFile
	readJSON(t, name, &want)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("CCC profile differs from testdata/%s (-want +got):\n%s", name, diff)
	}
}

// TestCCCCryptSPAKE2Plus checks the CCC profile against the one outside
// vector of it: Crypt::SPAKE2Plus's CCC test (testdata/README.md), computed
// by independent code (Perl, CryptX, Digest::CMAC). It covers the scrypt
// derivation and the (mod n−1)+1 reduction, X, Y, Z, V, K = CK‖SK, K1 and K2
// with a version suffix, and the evidence of EvidencePeerShare.
func TestCCCCryptSPAKE2Plus(t *testing.T) {
	var file cccFile
	readJSON(t, "crypt-spake2plus-ccc.json", &file)
	for _, want := range file.Vectors {
		t.Run(want.Name, func(t *testing.T) {
			in := want
			got := runCCC(t, in)
			for _, f := range []struct {
				name      string
				got, want []byte
			}{
				{"w0", got.W0, want.W0}, {"w1", got.W1, want.W1}, {"L", got.L, want.L},
				{"X", got.ShareX, want.ShareX}, {"Y", got.ShareY, want.ShareY},
				{"Z", got.Z, want.Z}, {"V", got.V, want.V}, {"TT", got.TT, want.TT},
				{"K", got.K, want.K}, {"CK", got.CK, want.CK}, {"SK", got.SK, want.SK},
				{"K1", got.K1, want.K1}, {"K2", got.K2, want.K2},
				{"M1", got.M1, want.M1}, {"M2", got.M2, want.M2},
			} {
				if f.want == nil {
					continue // not in the outside vector
				}
				checkBytes(t, f.name, f.got, f.want)
			}
		})
	}
}
