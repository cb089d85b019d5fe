package pairing

import (
	"fmt"
	"io"
)

// The types that hold a secret of pairing (the password, w0 and L, the
// SPAKE2+ run, the channel keys, LONG_TERM_SHARED_SECRET) redact
// themselves (issue 12, finding 7): String, GoString and Format, for every
// verb, print the type and at most its public identifiers. Value receivers
// cover values and pointers.

// String returns "pairing.Verifier(redacted)": its encoding holds w0, which
// allows a dictionary attack on the password.
func (v Verifier) String() string { return "pairing.Verifier(redacted)" }

// GoString returns the same as String.
func (v Verifier) GoString() string { return v.String() }

// Format writes the same as String, whatever the verb.
func (v Verifier) Format(f fmt.State, _ rune) { io.WriteString(f, v.String()) }

// String returns "pairing.DeviceSession(redacted)".
func (d DeviceSession) String() string { return "pairing.DeviceSession(redacted)" }

// GoString returns the same as String.
func (d DeviceSession) GoString() string { return d.String() }

// Format writes the same as String, whatever the verb.
func (d DeviceSession) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }

// String returns "pairing.VehicleSession(redacted)".
func (p VehicleSession) String() string { return "pairing.VehicleSession(redacted)" }

// GoString returns the same as String.
func (p VehicleSession) GoString() string { return p.String() }

// Format writes the same as String, whatever the verb.
func (p VehicleSession) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

// String returns the vehicle identifier and the key slot, not the long-term
// secret.
func (r DeviceResult) String() string {
	return "pairing.DeviceResult{VehicleID: " + r.VehicleID.String() + ", Slot: " + r.Slot.String() + ", LongTermSecret: redacted}"
}

// GoString returns the same as String.
func (r DeviceResult) GoString() string { return r.String() }

// Format writes the same as String, whatever the verb.
func (r DeviceResult) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// String returns the key slot, not the long-term secret.
func (r VehicleResult) String() string {
	return "pairing.VehicleResult{Slot: " + r.Slot.String() + ", LongTermSecret: redacted}"
}

// GoString returns the same as String.
func (r VehicleResult) GoString() string { return r.String() }

// Format writes the same as String, whatever the verb.
func (r VehicleResult) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

func (k systemKeys) String() string             { return "pairing.systemKeys(redacted)" }
func (k systemKeys) GoString() string           { return k.String() }
func (k systemKeys) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }
