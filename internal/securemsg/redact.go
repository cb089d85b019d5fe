package securemsg

import (
	"fmt"
	"io"
)

// The types that hold the session keys, or ciphers and chaining state
// derived from them, redact themselves (issue 12, finding 7): String,
// GoString and Format, for every verb, print the type and nothing of the
// keys. Value receivers cover values and pointers.

// String returns "securemsg.Keys(redacted)".
func (k Keys) String() string { return "securemsg.Keys(redacted)" }

// GoString returns the same as String.
func (k Keys) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k Keys) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// String returns "securemsg.Sender(redacted)".
func (s Sender) String() string { return "securemsg.Sender(redacted)" }

// GoString returns the same as String.
func (s Sender) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s Sender) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// String returns "securemsg.Receiver(redacted)".
func (r Receiver) String() string { return "securemsg.Receiver(redacted)" }

// GoString returns the same as String.
func (r Receiver) GoString() string { return r.String() }

// Format writes the same as String, whatever the verb.
func (r Receiver) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

func (c channel) String() string             { return "securemsg.channel(redacted)" }
func (c channel) GoString() string           { return c.String() }
func (c channel) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
