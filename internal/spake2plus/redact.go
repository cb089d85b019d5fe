package spake2plus

import (
	"fmt"
	"io"
)

// The types that hold w0, w1, L, an ephemeral scalar or a derived key
// redact themselves (issue 12, finding 7): String, GoString and Format, for
// every verb, print the type and nothing of the secret. Value receivers
// cover values and pointers.

// String returns "spake2plus.ProverSecret(redacted)".
func (s ProverSecret) String() string { return "spake2plus.ProverSecret(redacted)" }

// GoString returns the same as String.
func (s ProverSecret) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s ProverSecret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// String returns "spake2plus.VerifierRecord(redacted)": the record holds
// w0, which with L allows a dictionary attack on the password.
func (r VerifierRecord) String() string { return "spake2plus.VerifierRecord(redacted)" }

// GoString returns the same as String.
func (r VerifierRecord) GoString() string { return r.String() }

// Format writes the same as String, whatever the verb.
func (r VerifierRecord) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// String returns "spake2plus.Prover(redacted)".
func (p Prover) String() string { return "spake2plus.Prover(redacted)" }

// GoString returns the same as String.
func (p Prover) GoString() string { return p.String() }

// Format writes the same as String, whatever the verb.
func (p Prover) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

// String returns "spake2plus.Verifier(redacted)".
func (v Verifier) String() string { return "spake2plus.Verifier(redacted)" }

// GoString returns the same as String.
func (v Verifier) GoString() string { return v.String() }

// Format writes the same as String, whatever the verb.
func (v Verifier) Format(f fmt.State, _ rune) { io.WriteString(f, v.String()) }

func (s shares) String() string             { return "spake2plus.shares(redacted)" }
func (s shares) GoString() string           { return s.String() }
func (s shares) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

func (k keySchedule) String() string             { return "spake2plus.keySchedule(redacted)" }
func (k keySchedule) GoString() string           { return k.String() }
func (k keySchedule) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }
