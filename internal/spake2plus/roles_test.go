package spake2plus

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
)

// testProfiles are the profiles every role test runs with.
var testProfiles = []struct {
	name    string
	profile Profile
}{
	{"RFC9383", RFC9383{Context: []byte("opencarkey test"), IDProver: []byte("device"), IDVerifier: []byte("vehicle")}},
	{"RFC9383 empty", RFC9383{}},
	{"CCC", CCC{}},
	{"CCC peer share", CCC{Evidence: EvidencePeerShare}},
	{"CCC version suffix", CCC{ConfirmationInfo: []byte{0x5b, 0x02, 0x01, 0x00, 0x5c, 0x02, 0x01, 0x00}}},
}

func randomSecret(t testing.TB) *ProverSecret {
	t.Helper()
	out := make([]byte, 2*wideScalarSize)
	rand.Read(out)
	s, err := ProverSecretFromPBKDF(out)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixedScalar returns a valid scalar derived from b, for derandomized runs.
func fixedScalar(b byte) *[scalarSize]byte {
	var s [scalarSize]byte
	reduceCCC(&s, bytes.Repeat([]byte{b}, wideScalarSize))
	return &s
}

func TestRoles(t *testing.T) {
	for _, tc := range testProfiles {
		t.Run(tc.name, func(t *testing.T) {
			secret := randomSecret(t)
			record := secret.Record()
			var keys [][]byte
			for range 3 {
				prover, err := NewProver(tc.profile, secret)
				if err != nil {
					t.Fatalf("NewProver = %v", err)
				}
				verifier, err := NewVerifier(tc.profile, record, prover.Share())
				if err != nil {
					t.Fatalf("NewVerifier(%x) = %v", prover.Share(), err)
				}
				s, _ := tc.profile.compile()
				if n := len(verifier.Confirmation()); n != s.confirmSize() {
					t.Errorf("len(Verifier.Confirmation()) = %d, want %d", n, s.confirmSize())
				}
				confirm, proverKey, err := prover.Finish(verifier.Share(), verifier.Confirmation())
				if err != nil {
					t.Fatalf("Prover.Finish(%x, %x) = %v", verifier.Share(), verifier.Confirmation(), err)
				}
				verifierKey, err := verifier.Finish(confirm)
				if err != nil {
					t.Fatalf("Verifier.Finish(%x) = %v", confirm, err)
				}
				if !bytes.Equal(proverKey, verifierKey) {
					t.Errorf("prover key %x, verifier key %x", proverKey, verifierKey)
				}
				if len(proverKey) != s.sharedSize() || len(confirm) != s.confirmSize() {
					t.Errorf("key %d bytes, confirmation %d bytes; want %d and %d", len(proverKey), len(confirm), s.sharedSize(), s.confirmSize())
				}
				for _, k := range keys {
					if bytes.Equal(k, proverKey) {
						t.Errorf("two runs gave the same key %x", k)
					}
				}
				keys = append(keys, proverKey)
			}
		})
	}
}

// TestWrongPassword runs a prover whose secret is not the one of the
// verifier's record: each side must refuse the other.
func TestWrongPassword(t *testing.T) {
	for _, tc := range testProfiles {
		t.Run(tc.name, func(t *testing.T) {
			record := randomSecret(t).Record()
			wrong := randomSecret(t)

			prover, err := newProver(tc.profile, wrong, fixedScalar(1))
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := newVerifier(tc.profile, record, prover.Share(), fixedScalar(2))
			if err != nil {
				t.Fatalf("NewVerifier = %v, want success (a wrong password is found at confirmation)", err)
			}
			if _, _, err := prover.Finish(verifier.Share(), verifier.Confirmation()); !errors.Is(err, ErrAuthentication) {
				t.Errorf("Prover.Finish with the wrong password = %v, want %v", err, ErrAuthentication)
			}
			// A prover that ignores the verifier's confirmation and sends its
			// own is refused by the verifier.
			p2, _ := newProver(tc.profile, wrong, fixedScalar(1))
			var sh shares
			if !p2.computeShares(&sh, verifier.Share()) {
				t.Fatal("computeShares refused a valid share")
			}
			var k keySchedule
			p2.suite.schedule(&k, &sh)
			if _, err := verifier.Finish(k.proverConfirm[:p2.suite.confirmSize()]); !errors.Is(err, ErrAuthentication) {
				t.Errorf("Verifier.Finish(confirmation of the wrong password) = %v, want %v", err, ErrAuthentication)
			}
		})
	}
}

// TestProfileMismatch runs the two sides with profiles that differ in one
// option: the run must fail.
func TestProfileMismatch(t *testing.T) {
	rfc := RFC9383{Context: []byte("c"), IDProver: []byte("p"), IDVerifier: []byte("v")}
	for _, tc := range []struct {
		name             string
		prover, verifier Profile
	}{
		{"context", rfc, RFC9383{Context: []byte("C"), IDProver: rfc.IDProver, IDVerifier: rfc.IDVerifier}},
		{"idProver", rfc, RFC9383{Context: rfc.Context, IDProver: []byte("P"), IDVerifier: rfc.IDVerifier}},
		{"idVerifier", rfc, RFC9383{Context: rfc.Context, IDProver: rfc.IDProver, IDVerifier: []byte("V")}},
		{"identities swapped", rfc, RFC9383{Context: rfc.Context, IDProver: rfc.IDVerifier, IDVerifier: rfc.IDProver}},
		{"RFC and CCC", RFC9383{}, CCC{}},
		{"CCC suffix", CCC{ConfirmationInfo: []byte{1}}, CCC{ConfirmationInfo: []byte{2}}},
		{"CCC suffix absent", CCC{ConfirmationInfo: []byte{1}}, CCC{}},
		{"CCC evidence", CCC{Evidence: EvidenceOwnShare}, CCC{Evidence: EvidencePeerShare}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := randomSecret(t)
			prover, err := NewProver(tc.prover, secret)
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := NewVerifier(tc.verifier, secret.Record(), prover.Share())
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := prover.Finish(verifier.Share(), verifier.Confirmation()); !errors.Is(err, ErrAuthentication) {
				t.Errorf("Prover.Finish across profiles %+v and %+v = %v, want %v", tc.prover, tc.verifier, err, ErrAuthentication)
			}
		})
	}
}

// tamperings returns every one-bit flip of c, and c truncated, extended and
// empty.
func tamperings(c []byte) [][]byte {
	var out [][]byte
	for i := range 8 * len(c) {
		d := bytes.Clone(c)
		d[i/8] ^= 1 << (i % 8)
		out = append(out, d)
	}
	return append(out, c[:len(c)-1], append(bytes.Clone(c), 0), nil, []byte{})
}

func TestTamperedConfirmation(t *testing.T) {
	for _, tc := range testProfiles {
		t.Run(tc.name, func(t *testing.T) {
			secret := randomSecret(t)
			record := secret.Record()
			newP := func() *Prover {
				p, err := newProver(tc.profile, secret, fixedScalar(3))
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			newV := func() *Verifier {
				v, err := newVerifier(tc.profile, record, newP().Share(), fixedScalar(4))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			// The verifier's confirmation, tampered, reaching the prover.
			v := newV()
			for _, c := range tamperings(v.Confirmation()) {
				if _, _, err := newP().Finish(v.Share(), c); !errors.Is(err, ErrAuthentication) {
					t.Errorf("Prover.Finish(Y, %x) = %v, want %v", c, err, ErrAuthentication)
				}
			}
			// The prover's confirmation, tampered, reaching the verifier.
			confirm, _, err := newP().Finish(v.Share(), v.Confirmation())
			if err != nil {
				t.Fatal(err)
			}
			x := newP().Share()
			for _, c := range tamperings(confirm) {
				v, err := newVerifier(tc.profile, record, x, fixedScalar(4))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.Finish(c); !errors.Is(err, ErrAuthentication) {
					t.Errorf("Verifier.Finish(%x) = %v, want %v", c, err, ErrAuthentication)
				}
			}
			// The untampered one still works: the loops above can fail.
			if _, err := newV().Finish(confirm); err != nil {
				t.Errorf("Verifier.Finish(%x) = %v, want success", confirm, err)
			}
		})
	}
}

// invalidShares returns shares that both roles must refuse. mask is the
// password's mask of the receiving side (w0·M for the verifier, w0·N for the
// prover), the degenerate share that cancels to the identity.
func invalidShares(t *testing.T, mask []byte, valid []byte) []struct {
	name  string
	share []byte
} {
	t.Helper()
	offCurve := bytes.Clone(valid)
	offCurve[64] ^= 1
	compressed := append([]byte{2 | valid[64]&1}, valid[1:33]...)
	hybrid := bytes.Clone(valid)
	hybrid[0] = 6 | valid[64]&1
	xTooBig := bytes.Clone(valid)
	copy(xTooBig[1:33], unhex(t, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")) // x = p
	shares := []struct {
		name  string
		share []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"identity encoding", []byte{0}},
		{"all zero", make([]byte, pointSize)},
		{"04 and zeros", append([]byte{4}, make([]byte, pointSize-1)...)},
		{"compressed", compressed},
		{"hybrid prefix", hybrid},
		{"prefix 05", append([]byte{5}, valid[1:]...)},
		{"off curve", offCurve},
		{"x = p", xTooBig},
		{"64 bytes", valid[:64]},
		{"66 bytes", append(bytes.Clone(valid), 0)},
		{"password mask", mask},
	}
	for i := 1; i < pointSize; i += 16 {
		shares = append(shares, struct {
			name  string
			share []byte
		}{"prefix of valid share", valid[:i]})
	}
	return shares
}

func TestInvalidShares(t *testing.T) {
	for _, tc := range testProfiles {
		t.Run(tc.name, func(t *testing.T) {
			secret := randomSecret(t)
			record := secret.Record()
			var maskM, maskN [pointSize]byte
			encodePoint(&maskM, &secret.w0M)
			encodePoint(&maskN, &secret.w0N)
			p0, _ := NewProver(tc.profile, secret)
			v0, _ := NewVerifier(tc.profile, record, p0.Share())

			for _, s := range invalidShares(t, maskM[:], p0.Share()) {
				t.Run("verifier/"+s.name, func(t *testing.T) {
					if v, err := NewVerifier(tc.profile, record, s.share); !errors.Is(err, ErrAuthentication) || v != nil {
						t.Errorf("NewVerifier(%x) = %v, %v; want nil, %v", s.share, v, err, ErrAuthentication)
					}
				})
			}
			for _, s := range invalidShares(t, maskN[:], v0.Share()) {
				t.Run("prover/"+s.name, func(t *testing.T) {
					p, err := NewProver(tc.profile, secret)
					if err != nil {
						t.Fatal(err)
					}
					// The share itself is refused, not only the confirmation
					// that follows from it.
					var sh shares
					if p.computeShares(&sh, s.share) {
						t.Errorf("Prover.computeShares(%x) = true, want false", s.share)
					}
					confirm, key, err := p.Finish(s.share, v0.Confirmation())
					if !errors.Is(err, ErrAuthentication) || confirm != nil || key != nil {
						t.Errorf("Prover.Finish(%x) = %x, %x, %v; want nil, nil, %v", s.share, confirm, key, err, ErrAuthentication)
					}
					if _, _, err := p.Finish(v0.Share(), v0.Confirmation()); !errors.Is(err, ErrFinished) {
						t.Errorf("Prover.Finish after a failure = %v, want %v", err, ErrFinished)
					}
				})
			}
		})
	}
}

func TestFinishTwice(t *testing.T) {
	secret := randomSecret(t)
	p, _ := NewProver(CCC{}, secret)
	v, _ := NewVerifier(CCC{}, secret.Record(), p.Share())
	confirm, _, err := p.Finish(v.Share(), v.Confirmation())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Finish(v.Share(), v.Confirmation()); !errors.Is(err, ErrFinished) {
		t.Errorf("second Prover.Finish = %v, want %v", err, ErrFinished)
	}
	if _, err := v.Finish(confirm); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Finish(confirm); !errors.Is(err, ErrFinished) {
		t.Errorf("second Verifier.Finish = %v, want %v", err, ErrFinished)
	}
	// A verifier that failed is finished too.
	v, _ = NewVerifier(CCC{}, secret.Record(), p.Share())
	if _, err := v.Finish(nil); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Verifier.Finish(nil) = %v, want %v", err, ErrAuthentication)
	}
	if _, err := v.Finish(confirm); !errors.Is(err, ErrFinished) {
		t.Errorf("Verifier.Finish after a failure = %v, want %v", err, ErrFinished)
	}
}

// TestErasure checks that a finished run and a zeroized secret hold no
// secret values.
func TestErasure(t *testing.T) {
	secret := randomSecret(t)
	record := secret.Record()
	p, _ := NewProver(CCC{}, secret)
	v, _ := NewVerifier(CCC{}, record, p.Share())
	confirm, _, err := p.Finish(v.Share(), v.Confirmation())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Finish(confirm); err != nil {
		t.Fatal(err)
	}
	zero := func(what string, b []byte) {
		t.Helper()
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Errorf("%s = %x after erasure, want zeros", what, b)
		}
	}
	zero("Prover x", p.x[:])
	zero("Prover w0", p.w0[:])
	zero("Prover w1", p.w1[:])
	zero("Prover w0·N", p.w0N.Bytes())
	zero("Verifier expected confirmation", v.expected[:])
	zero("Verifier shared key", v.shared[:])

	secret.Zeroize()
	record.Zeroize()
	zero("ProverSecret w0", secret.w0[:])
	zero("ProverSecret w1", secret.w1[:])
	zero("ProverSecret w0·M", secret.w0M.Bytes())
	zero("ProverSecret w0·N", secret.w0N.Bytes())
	zero("VerifierRecord w0", record.w0[:])
	zero("VerifierRecord L", record.l[:])
	zero("VerifierRecord L point", record.lPoint.Bytes())
}

// TestInputsNotKept changes the caller's slices after use: the runs must not
// notice.
func TestInputsNotKept(t *testing.T) {
	secret := randomSecret(t)
	ctx := []byte("context")
	prof := RFC9383{Context: ctx}
	p, _ := NewProver(prof, secret)
	x := p.Share()
	v, _ := NewVerifier(prof, secret.Record(), x)
	ctx[0] ^= 1
	x[1] ^= 1
	p.Share()[1] ^= 1
	confirm, _, err := p.Finish(v.Share(), v.Confirmation())
	if err != nil {
		t.Fatalf("Prover.Finish after the caller changed its slices = %v", err)
	}
	if _, err := v.Finish(confirm); err != nil {
		t.Fatalf("Verifier.Finish after the caller changed its slices = %v", err)
	}
}

// TestConcurrentRuns shares one secret and one record between runs on
// several goroutines (go test -race).
func TestConcurrentRuns(t *testing.T) {
	secret := randomSecret(t)
	record := secret.Record()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			p, _ := NewProver(CCC{}, secret)
			v, err := NewVerifier(CCC{}, record, p.Share())
			if err != nil {
				t.Error(err)
				return
			}
			confirm, _, err := p.Finish(v.Share(), v.Confirmation())
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := v.Finish(confirm); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestInvalidProfile(t *testing.T) {
	long := make([]byte, MaxProfileField+1)
	secret := randomSecret(t)
	p, _ := NewProver(CCC{}, secret)
	for _, tc := range []struct {
		name    string
		profile Profile
	}{
		{"CCC evidence 2", CCC{Evidence: 2}},
		{"CCC evidence 255", CCC{Evidence: 255}},
		{"CCC long suffix", CCC{ConfirmationInfo: long}},
		{"RFC long context", RFC9383{Context: long}},
		{"RFC long idProver", RFC9383{IDProver: long}},
		{"RFC long idVerifier", RFC9383{IDVerifier: long}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewProver(tc.profile, secret); !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("NewProver(%v) = %v, want %v", tc.name, err, ErrInvalidProfile)
			}
			if _, err := NewVerifier(tc.profile, secret.Record(), p.Share()); !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("NewVerifier(%v) = %v, want %v", tc.name, err, ErrInvalidProfile)
			}
		})
	}
	// The longest accepted fields work.
	max := make([]byte, MaxProfileField)
	for _, prof := range []Profile{CCC{ConfirmationInfo: max}, RFC9383{Context: max, IDProver: max, IDVerifier: max}} {
		p, err := NewProver(prof, secret)
		if err != nil {
			t.Fatalf("NewProver(fields of %d bytes) = %v", MaxProfileField, err)
		}
		v, err := NewVerifier(prof, secret.Record(), p.Share())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.Finish(v.Share(), v.Confirmation()); err != nil {
			t.Errorf("Prover.Finish(fields of %d bytes) = %v", MaxProfileField, err)
		}
	}
}

// TestMisuse passes nil and zeroized arguments: errors, not panics.
func TestMisuse(t *testing.T) {
	secret := randomSecret(t)
	p, _ := NewProver(CCC{}, secret)
	x := p.Share()
	zeroized := randomSecret(t)
	zeroizedRecord := zeroized.Record()
	zeroized.Zeroize()
	zeroizedRecord.Zeroize()
	for _, tc := range []struct {
		name    string
		profile Profile
		secret  *ProverSecret
		record  *VerifierRecord
		want    error
	}{
		{"nil profile", nil, secret, secret.Record(), ErrInvalidProfile},
		{"nil secret", CCC{}, nil, nil, ErrInvalidSecret},
		{"zeroized", CCC{}, zeroized, zeroizedRecord, ErrInvalidSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p, err := NewProver(tc.profile, tc.secret); !errors.Is(err, tc.want) || p != nil {
				t.Errorf("NewProver = %v, %v; want nil, %v", p, err, tc.want)
			}
			if v, err := NewVerifier(tc.profile, tc.record, x); !errors.Is(err, tc.want) || v != nil {
				t.Errorf("NewVerifier = %v, %v; want nil, %v", v, err, tc.want)
			}
		})
	}
}

func TestEvidenceString(t *testing.T) {
	for e, want := range map[Evidence]string{EvidenceOwnShare: "EvidenceOwnShare", EvidencePeerShare: "EvidencePeerShare", 7: "Evidence(7)"} {
		if got := e.String(); got != want {
			t.Errorf("Evidence(%d).String() = %q, want %q", uint8(e), got, want)
		}
	}
}
