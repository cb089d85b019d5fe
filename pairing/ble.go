package pairing

import "fmt"

// BLEKeySize is the size of each BLE owner-pairing key.
const BLEKeySize = 16

// systemKeysBLESize is the length of the SystemKeys with the BLE extension:
// Kenc ‖ Kmac ‖ Krmac ‖ LONG_TERM_SHARED_SECRET ‖ Kble_intro ‖
// Kble_oob_master (docs/protocol.md §3.3, S Listing 18-9 via [YKB] and [MERS]).
const systemKeysBLESize = 96

// BLEKeys are the two keys the 96-byte SystemKeys add for Release 3 BLE
// (docs/protocol.md §3.3): Kble_intro, bytes 64 to 79, which authenticates the
// first approach, and Kble_oob_master, bytes 80 to 95, the master key of the
// LE Secure Connections OOB pairing of the first approach (§8.1). Both sides
// of an owner pairing derive them (DeviceResult.BLE, VehicleResult.BLE) and
// keep them for the first approach over BLE (package transport/ble, whose
// OwnerKeys has the same fields: ble.OwnerKeys(res.BLE) converts).
//
// The specification derives them "only with the BLE-extension flag". HKDF
// output does not depend on its length, so the first 64 bytes are the same
// with and without the flag; the package always derives 96 bytes, and a
// vehicle without BLE ignores the last 32.
//
// BLEKeys redacts itself when formatted; Zeroize erases it.
type BLEKeys struct {
	Intro     [BLEKeySize]byte // Kble_intro
	OOBMaster [BLEKeySize]byte // Kble_oob_master
}

// bleKeys returns the BLE keys of the SystemKeys. systemKeys keeps them as
// plain arrays rather than a BLEKeys, so that a systemKeys stays printable
// with %x in tests (vet rejects a struct holding a fmt.Formatter there).
func (k *systemKeys) bleKeys() BLEKeys { return BLEKeys{Intro: k.bleIntro, OOBMaster: k.bleOOB} }

// Zeroize overwrites both keys with zeros.
func (k *BLEKeys) Zeroize() {
	clear(k.Intro[:])
	clear(k.OOBMaster[:])
}

// String returns a fixed text: the keys are secret.
func (BLEKeys) String() string { return "pairing.BLEKeys{redacted}" }

// GoString returns a fixed text: the keys are secret.
func (BLEKeys) GoString() string { return "pairing.BLEKeys{redacted}" }

// Format writes the fixed text of String for every verb.
func (k BLEKeys) Format(s fmt.State, _ rune) { fmt.Fprint(s, k.String()) }
