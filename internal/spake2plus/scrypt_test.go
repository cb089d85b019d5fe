package spake2plus

import (
	"errors"
	"testing"
)

func TestScryptParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		params    ScryptParams
		wantField string // "" means valid
	}{
		{"default", DefaultScryptParams(), ""},
		{"minimum", ScryptParams{N: 1 << 10, R: 1, P: 1}, ""},
		{"largest N", ScryptParams{N: 1 << 20, R: 2, P: 1}, ""},
		{"largest r", ScryptParams{N: 1 << 10, R: 32, P: 1}, ""},
		{"largest p", ScryptParams{N: 1 << 10, R: 1, P: 16}, ""},
		{"memory at the limit", ScryptParams{N: 1 << 16, R: 32, P: 1}, ""},
		{"MERS 16384", ScryptParams{N: 16384, R: 8, P: 1}, ""},
		{"N zero", ScryptParams{N: 0, R: 8, P: 1}, "N"},
		{"N one", ScryptParams{N: 1, R: 8, P: 1}, "N"},
		{"N 2^9", ScryptParams{N: 1 << 9, R: 8, P: 1}, "N"},
		{"N 2^21", ScryptParams{N: 1 << 21, R: 1, P: 1}, "N"},
		{"N 2^31", ScryptParams{N: 1 << 31, R: 1, P: 1}, "N"},
		{"N not a power of two", ScryptParams{N: 32767, R: 8, P: 1}, "N"},
		{"N two bits", ScryptParams{N: 1<<15 | 1<<10, R: 8, P: 1}, "N"},
		{"N max uint32", ScryptParams{N: 1<<32 - 1, R: 8, P: 1}, "N"},
		{"r zero", ScryptParams{N: 1 << 15, R: 0, P: 1}, "r"},
		{"r 33", ScryptParams{N: 1 << 10, R: 33, P: 1}, "r"},
		{"r max uint16", ScryptParams{N: 1 << 10, R: 1<<16 - 1, P: 1}, "r"},
		{"p zero", ScryptParams{N: 1 << 15, R: 8, P: 0}, "p"},
		{"p 17", ScryptParams{N: 1 << 10, R: 1, P: 17}, "p"},
		{"memory N=2^20 r=8", ScryptParams{N: 1 << 20, R: 8, P: 1}, "memory"},
		{"memory r·p", ScryptParams{N: 1 << 15, R: 32, P: 16}, "memory"},
		{"memory just over", ScryptParams{N: 1 << 16, R: 32, P: 2}, "memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.params.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Errorf("%+v.Validate() = %v, want nil", tc.params, err)
				}
				return
			}
			var pe *ScryptParamsError
			if !errors.As(err, &pe) || pe.Field != tc.wantField || pe.Params != tc.params {
				t.Fatalf("%+v.Validate() = %#v, want *ScryptParamsError for %q", tc.params, err, tc.wantField)
			}
			if pe.Error() == "" {
				t.Error("empty error message")
			}
			// DeriveCCCSecret refuses them before any work.
			s, err := DeriveCCCSecret([]byte("pw"), []byte("salt"), tc.params)
			if !errors.As(err, &pe) || s != nil {
				t.Errorf("DeriveCCCSecret(%+v) = %v, %v; want nil, *ScryptParamsError", tc.params, s, err)
			}
		})
	}
}

func TestScryptParamsErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  ScryptParamsError
		want string
	}{
		{ScryptParamsError{ScryptParams{N: 3, R: 8, P: 1}, "N"}, "spake2plus: scrypt N=3 is not a power of two in [2^10, 2^20]"},
		{ScryptParamsError{ScryptParams{N: 1024, R: 0, P: 1}, "r"}, "spake2plus: scrypt r=0 is not in [1, 32]"},
		{ScryptParamsError{ScryptParams{N: 1024, R: 1, P: 99}, "p"}, "spake2plus: scrypt p=99 is not in [1, 16]"},
		{ScryptParamsError{ScryptParams{N: 1 << 20, R: 8, P: 1}, "memory"}, "spake2plus: scrypt N=1048576 r=8 p=1 needs more than 268435456 bytes (128·N·r·p)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestDeriveCCCSecretInputs checks that every input of the derivation
// changes the secret.
func TestDeriveCCCSecretInputs(t *testing.T) {
	base := ScryptParams{N: MinScryptN, R: 1, P: 1}
	ref := cccSecret(t, []byte("password"), []byte("salt"), base)
	for _, tc := range []struct {
		name           string
		password, salt string
		params         ScryptParams
	}{
		{"password", "passwore", "salt", base},
		{"salt", "password", "salu", base},
		{"N", "password", "salt", ScryptParams{N: 2 * MinScryptN, R: 1, P: 1}},
		{"r", "password", "salt", ScryptParams{N: MinScryptN, R: 2, P: 1}},
		{"p", "password", "salt", ScryptParams{N: MinScryptN, R: 1, P: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := cccSecret(t, []byte(tc.password), []byte(tc.salt), tc.params)
			if s.w0 == ref.w0 || s.w1 == ref.w1 {
				t.Errorf("changing %s left w0 or w1 unchanged", tc.name)
			}
		})
	}
	// Deterministic: the same inputs give the same secret.
	again, err := DeriveCCCSecret([]byte("password"), []byte("salt"), base)
	if err != nil {
		t.Fatal(err)
	}
	if again.w0 != ref.w0 || again.w1 != ref.w1 {
		t.Errorf("DeriveCCCSecret is not deterministic")
	}
}
