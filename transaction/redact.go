package transaction

import (
	"fmt"
	"io"
)

// The types that hold secrets (Kpersistent, the ranging key, the session
// keys, the fast cryptogram, the confidential mailbox subset) redact
// themselves: String, GoString and Format, for every verb (%v, %+v, %#v,
// %x, %s, %d ...), print the type and at most what is public, never a
// secret byte (issue 12, finding 7). The methods have value receivers so
// that a value and a pointer are both covered.

// String returns "transaction.PersistentKey(redacted)", or
// "transaction.PersistentKey(none)" for the zero value.
func (k PersistentKey) String() string {
	if !k.valid {
		return "transaction.PersistentKey(none)"
	}
	return "transaction.PersistentKey(redacted)"
}

// GoString returns the same as String.
func (k PersistentKey) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k PersistentKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// String returns "transaction.RangingKey(redacted)", or
// "transaction.RangingKey(none)" for the zero value.
func (k RangingKey) String() string {
	if !k.valid {
		return "transaction.RangingKey(none)"
	}
	return "transaction.RangingKey(redacted)"
}

// GoString returns the same as String.
func (k RangingKey) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k RangingKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// String returns "transaction.FastKey(redacted)".
func (k FastKey) String() string { return "transaction.FastKey(redacted)" }

// GoString returns the same as String.
func (k FastKey) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k FastKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// String returns the credential's key slot and nothing of its keys.
func (c Credential) String() string {
	return "transaction.Credential{Slot: " + c.Slot.String() + ", keys redacted}"
}

// GoString returns the same as String.
func (c Credential) GoString() string { return c.String() }

// Format writes the same as String, whatever the verb.
func (c Credential) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// String returns the key slot and the sizes of the mailbox subsets, not
// their contents.
func (r Auth1Result) String() string {
	return fmt.Sprintf("transaction.Auth1Result{Slot: %v, Confidential: %d bytes, Private: %d bytes}", r.Slot, len(r.Confidential), len(r.Private))
}

// GoString returns the same as String.
func (r Auth1Result) GoString() string { return r.String() }

// Format writes the same as String, whatever the verb.
func (r Auth1Result) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// String returns "transaction.EndpointSession(redacted)".
func (s EndpointSession) String() string { return "transaction.EndpointSession(redacted)" }

// GoString returns the same as String.
func (s EndpointSession) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s EndpointSession) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// String returns "transaction.VehicleSession(redacted)".
func (s VehicleSession) String() string { return "transaction.VehicleSession(redacted)" }

// GoString returns the same as String.
func (s VehicleSession) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s VehicleSession) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// The unexported types that hold secrets redact themselves too, in case
// one ever reaches an error message.

func (c core) String() string             { return "transaction.core(redacted)" }
func (c core) GoString() string           { return c.String() }
func (c core) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

func (ks keySchedule) String() string             { return "transaction.keySchedule(redacted)" }
func (ks keySchedule) GoString() string           { return ks.String() }
func (ks keySchedule) Format(f fmt.State, _ rune) { io.WriteString(f, ks.String()) }

func (m hmacSHA256) String() string             { return "transaction.hmacSHA256(redacted)" }
func (m hmacSHA256) GoString() string           { return m.String() }
func (m hmacSHA256) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }

func (m auth0Response) String() string             { return "transaction.auth0Response(redacted)" }
func (m auth0Response) GoString() string           { return m.String() }
func (m auth0Response) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }

func (m auth1Response) String() string             { return "transaction.auth1Response(redacted)" }
func (m auth1Response) GoString() string           { return m.String() }
func (m auth1Response) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }
