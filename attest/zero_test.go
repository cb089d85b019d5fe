package attest

import (
	"errors"
	"fmt"
	"testing"
)

// TestZeroVerifyErrorMisuse: Error of a VerifyError not filled in (the
// zero value, a nil pointer, an errors.As target printed before use)
// prints instead of panicking; a filled one prints its step and cause.
func TestZeroVerifyErrorMisuse(t *testing.T) {
	var nilErr *VerifyError
	for _, tt := range []struct {
		e    *VerifyError
		want string
	}{
		{&VerifyError{}, "attest: Step(0): no cause"},
		{&VerifyError{Step: StepSignature}, "attest: signature: no cause"},
		{nilErr, "attest: <nil VerifyError>"},
		{&VerifyError{Step: StepSignature, Err: fmt.Errorf("%w: bad", ErrBadSignature)}, "attest: signature: signature verification failed: bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	var target *VerifyError
	if errors.As(errors.New("other"), &target) {
		t.Fatal("errors.As matched another error")
	}
	if got := fmt.Sprint(&VerifyError{}); got != "attest: Step(0): no cause" {
		t.Errorf("Sprint of a zero VerifyError = %q", got)
	}
	if (&VerifyError{}).Unwrap() != nil {
		t.Error("Unwrap of a zero VerifyError is not nil")
	}
}
