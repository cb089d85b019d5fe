package ranging

import (
	"crypto/subtle"
	"fmt"
)

// URSKSize is the size of the UWB ranging secret key URSK.
const URSKSize = 32

// URSK is the UWB ranging secret key: 32 bytes from the keying material of a
// standard transaction (Volatile[48:80], docs/protocol.md §4.4), kept by the
// device's applet and by the vehicle per [SessionID]. Every UWB key of a
// ranging session derives from it ([KeySchedule]).
//
// A URSK redacts itself when printed. Clear it when it is no longer needed.
type URSK [URSKSize]byte

// Equal reports in constant time whether k and o hold the same key.
func (k *URSK) Equal(o *URSK) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// Clear zeroizes k.
func (k *URSK) Clear() { clear(k[:]) }

// String returns a redacted placeholder, never the key.
func (URSK) String() string { return "ranging.URSK(redacted)" }

// GoString returns a redacted placeholder, never the key.
func (k URSK) GoString() string { return k.String() }

// Format writes a redacted placeholder for every verb, never the key.
func (k URSK) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Key128 is a 16-byte secret key of the UWB key schedule (mUPSK1, Salt,
// dURSK, dUDSK). It redacts itself when printed.
type Key128 [16]byte

// Equal reports in constant time whether k and o hold the same key.
func (k *Key128) Equal(o *Key128) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// Clear zeroizes k.
func (k *Key128) Clear() { clear(k[:]) }

// String returns a redacted placeholder, never the key.
func (Key128) String() string { return "ranging.Key128(redacted)" }

// GoString returns a redacted placeholder, never the key.
func (k Key128) GoString() string { return k.String() }

// Format writes a redacted placeholder for every verb, never the key.
func (k Key128) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Key256 is a 32-byte secret key of the UWB key schedule (mUPSK2, mURSK,
// URSK_KT). It redacts itself when printed.
type Key256 [32]byte

// Equal reports in constant time whether k and o hold the same key.
func (k *Key256) Equal(o *Key256) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// Clear zeroizes k.
func (k *Key256) Clear() { clear(k[:]) }

// String returns a redacted placeholder, never the key.
func (Key256) String() string { return "ranging.Key256(redacted)" }

// GoString returns a redacted placeholder, never the key.
func (k Key256) GoString() string { return k.String() }

// Format writes a redacted placeholder for every verb, never the key.
func (k Key256) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }
