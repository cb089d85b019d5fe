package sharing

import (
	"fmt"
	"io"
)

// The types that hold a secret (an activation code, the response keys and
// the signing key of a session) redact themselves (issue 12, finding 7):
// String, GoString and Format, for every verb, print the type and at most
// what is public. Value receivers cover values and pointers.

// String returns the offer's profile and window; the activation code, if
// any, is redacted.
func (o Offer) String() string {
	code := "none"
	if o.ActivationCode != "" {
		code = "redacted"
	}
	return fmt.Sprintf("sharing.Offer{Profile: %v, NotBefore: %v, NotAfter: %v, ActivationCode: %s}", o.Profile, o.NotBefore, o.NotAfter, code)
}

// GoString returns the same as String.
func (o Offer) GoString() string { return o.String() }

// Format writes the same as String, whatever the verb.
func (o Offer) Format(f fmt.State, _ rune) { io.WriteString(f, o.String()) }

// String returns the invitation ID and nothing of the session's keys.
func (s OwnerSession) String() string {
	return "sharing.OwnerSession{Invitation: " + s.inv.ID.String() + ", keys redacted}"
}

// GoString returns the same as String.
func (s OwnerSession) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s OwnerSession) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// String returns the invitation ID and nothing of the session's keys.
func (s FriendSession) String() string {
	return "sharing.FriendSession{Invitation: " + s.inv.ID.String() + ", keys redacted}"
}

// GoString returns the same as String.
func (s FriendSession) GoString() string { return s.String() }

// Format writes the same as String, whatever the verb.
func (s FriendSession) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }
