package dkey

import (
	"fmt"
	"io"
)

// SoftwareKey holds a private key in process memory, so it redacts itself
// (issue 12, finding 7): String, GoString and Format, for every verb, print
// the type and its public key, never the private scalar. Value receivers
// cover values and pointers.

// String returns "dkey.SoftwareKey{public: 04…}", the public key in
// hexadecimal.
func (k SoftwareKey) String() string {
	if k.pub == nil {
		return "dkey.SoftwareKey{}"
	}
	var buf [PublicKeySize]byte
	return "dkey.SoftwareKey{public: " + hexString(k.pub.Append(buf[:0])) + "}"
}

// GoString returns the same as String.
func (k SoftwareKey) GoString() string { return k.String() }

// Format writes the same as String, whatever the verb.
func (k SoftwareKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }
