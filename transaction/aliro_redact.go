package transaction

import (
	"fmt"
	"io"
)

// The Aliro types that hold secrets redact themselves like the CCC ones
// (redact.go): String, GoString and Format print the type and at most what
// is public, for every verb.

// String returns "transaction.AliroStepUpKey(redacted)", or "(none)" for the
// zero value.
func (k AliroStepUpKey) String() string {
	if !k.valid {
		return "transaction.AliroStepUpKey(none)"
	}
	return "transaction.AliroStepUpKey(redacted)"
}

// GoString returns the same as String.
func (k AliroStepUpKey) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k AliroStepUpKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// String returns the credential's public key and status and nothing of its
// keys.
func (c AliroCredential) String() string {
	pub := "none"
	if c.PublicKey != nil {
		pub = fmt.Sprintf("%x", c.PublicKey.Bytes())
	}
	return fmt.Sprintf("transaction.AliroCredential{PublicKey: %s, IssuerTrust: %t, Signaling: %04X, keys redacted}", pub, c.IssuerTrust, uint16(c.Status.Signaling))
}

// GoString returns the same as String.
func (c AliroCredential) GoString() string { return c.String() }

// Format writes the same as String, whatever the verb.
func (c AliroCredential) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// String returns the credential identification and status, and the size of
// the mailbox subset, not its content.
func (r AliroAuth1Result) String() string {
	id := r.KeySlot.String()
	if r.PublicKey != nil {
		id = fmt.Sprintf("%x", r.PublicKey.Bytes())
	}
	return fmt.Sprintf("transaction.AliroAuth1Result{Credential: %s, Signaling: %04X, MailboxSubset: %d bytes}", id, uint16(r.Status.Signaling), len(r.MailboxSubset))
}

// GoString returns the same as String.
func (r AliroAuth1Result) GoString() string { return r.String() }

// Format writes the same as String, whatever the verb.
func (r AliroAuth1Result) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// String returns "transaction.AliroReaderSession(redacted)".
func (s AliroReaderSession) String() string { return "transaction.AliroReaderSession(redacted)" }

// GoString returns the same as String.
func (s AliroReaderSession) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s AliroReaderSession) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// String returns "transaction.AliroEndpointSession(redacted)".
func (s AliroEndpointSession) String() string { return "transaction.AliroEndpointSession(redacted)" }

// GoString returns the same as String.
func (s AliroEndpointSession) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s AliroEndpointSession) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

func (c aliroCore) String() string             { return "transaction.aliroCore(redacted)" }
func (c aliroCore) GoString() string           { return c.String() }
func (c aliroCore) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

func (k aliroKeys) String() string             { return "transaction.aliroKeys(redacted)" }
func (k aliroKeys) GoString() string           { return k.String() }
func (k aliroKeys) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// The AUTH0 response holds the cryptogram of a fast transaction.
func (m aliroAuth0Response) String() string             { return "transaction.aliroAuth0Response(redacted)" }
func (m aliroAuth0Response) GoString() string           { return m.String() }
func (m aliroAuth0Response) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }
