package ble

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// TimeSyncSize is the size of a Time_Sync message's data.
const TimeSyncSize = 23

// TimeSync is the device's Time_Sync (device to vehicle, §8.6, I
// [NXPDK][CNDK]): its UWB clock, for the vehicle to place the ranging
// rounds. The layout is 23 bytes, big-endian:
//
//	DeviceEventCount (8) ‖ UWB_Device_Time (8, µs) ‖ UWB_Device_Time_Uncertainty (1)
//	‖ UWB_Clock_Skew_Measurement_Available (1) ‖ Device_max_PPM (2) ‖ Success (1) ‖ RetryDelay (2)
type TimeSync struct {
	DeviceEventCount   uint64
	UWBDeviceTime      uint64 // microseconds of the device's UWB clock
	Uncertainty        uint8  // UWB_Device_Time_Uncertainty
	ClockSkewAvailable bool   // UWB_Clock_Skew_Measurement_Available
	DeviceMaxPPM       uint16
	Success            bool
	// RetryDelay is the delay before the vehicle asks again after a failed
	// sync; the sources do not give its unit.
	RetryDelay uint16
}

// Append appends the 23-byte encoding of t to dst.
func (t *TimeSync) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, t.DeviceEventCount)
	dst = binary.BigEndian.AppendUint64(dst, t.UWBDeviceTime)
	dst = append(dst, t.Uncertainty, boolByte(t.ClockSkewAvailable))
	dst = binary.BigEndian.AppendUint16(dst, t.DeviceMaxPPM)
	dst = append(dst, boolByte(t.Success))
	return binary.BigEndian.AppendUint16(dst, t.RetryDelay)
}

// ParseTimeSync parses the data of a Time_Sync message: exactly 23 bytes,
// with the two flags 00 or 01 ([ErrMalformed] otherwise).
func ParseTimeSync(b []byte) (TimeSync, error) {
	if len(b) != TimeSyncSize {
		return TimeSync{}, fmt.Errorf("%w: Time_Sync of %d bytes, want %d", ErrMalformed, len(b), TimeSyncSize)
	}
	skew, ok1 := parseBool(b[17])
	success, ok2 := parseBool(b[20])
	if !ok1 || !ok2 {
		return TimeSync{}, fmt.Errorf("%w: Time_Sync flag not 00 or 01", ErrMalformed)
	}
	return TimeSync{
		DeviceEventCount:   binary.BigEndian.Uint64(b[0:8]),
		UWBDeviceTime:      binary.BigEndian.Uint64(b[8:16]),
		Uncertainty:        b[16],
		ClockSkewAvailable: skew,
		DeviceMaxPPM:       binary.BigEndian.Uint16(b[18:20]),
		Success:            success,
		RetryDelay:         binary.BigEndian.Uint16(b[21:23]),
	}, nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func parseBool(b byte) (v, ok bool) { return b == 1, b <= 1 }

// Sizes of the first-approach messages.
const (
	// AddressSize is the size of a Bluetooth device address.
	AddressSize = 6
	// OOBDataSize is the size of the LE Secure Connections OOB data of
	// First_Approach_RQ and RS: address ‖ confirm ‖ random.
	OOBDataSize = AddressSize + 16 + 16
	// FirstApproachMACSize is the size of the project's MAC extension.
	FirstApproachMACSize = sha256.Size
	// OwnerKeySize is the size of Kble_intro and of Kble_oob_master.
	OwnerKeySize = 16
)

// OOBData is the LE Secure Connections out-of-band data one side gives the
// other for the pairing of the first approach (§8.1; Bluetooth Core
// Vol 3 Part H §2.3.5.6.4): its device address, the confirmation value
// f4(PKx, PKx, r, 0) and the random value r. Address holds the six address
// bytes in the order they have on the wire, which the sources do not give
// (the Host Controller Interface orders them least significant first).
type OOBData struct {
	Address [AddressSize]byte
	Confirm [16]byte
	Random  [16]byte
}

// FirstApproach is the data of a First_Approach_RQ (device to vehicle) or
// First_Approach_RS (vehicle to device), §8.1: the sender's LE Secure
// Connections OOB data (38 bytes, I [NXPDK]), optionally followed by a
// 32-byte MAC.
//
// [CNDK] sends 70- and 50-byte bodies whose extra bytes are not public
// (docs/protocol.md §11 row 6). The project accepts the 38-byte body, and
// defines a 70-byte one that binds the OOB data to the owner pairing: the
// body followed by HMAC-SHA256(Kble_intro, "DK first approach" ‖ the
// message's per-type ID ‖ the 38 bytes), made by Seal and checked by
// Verify (N). The ID (02 for RQ, 03 for RS whatever the numbering on the
// wire) keeps a vehicle's RS from being reflected as an RQ. Other lengths,
// 50 included, are rejected.
type FirstApproach struct {
	OOB    OOBData
	HasMAC bool
	MAC    [FirstApproachMACSize]byte
}

// Append appends the 38- or 70-byte encoding of f to dst.
func (f *FirstApproach) Append(dst []byte) []byte {
	dst = append(dst, f.OOB.Address[:]...)
	dst = append(dst, f.OOB.Confirm[:]...)
	dst = append(dst, f.OOB.Random[:]...)
	if f.HasMAC {
		dst = append(dst, f.MAC[:]...)
	}
	return dst
}

// ParseFirstApproach parses the data of a First_Approach_RQ or RS: 38
// bytes, or 70 with the MAC extension ([ErrMalformed] otherwise). It does
// not check the MAC; Verify does.
func ParseFirstApproach(b []byte) (FirstApproach, error) {
	var f FirstApproach
	switch len(b) {
	case OOBDataSize:
	case OOBDataSize + FirstApproachMACSize:
		f.HasMAC = true
		copy(f.MAC[:], b[OOBDataSize:])
	default:
		return FirstApproach{}, fmt.Errorf("%w: first approach of %d bytes, want %d or %d", ErrMalformed, len(b), OOBDataSize, OOBDataSize+FirstApproachMACSize)
	}
	copy(f.OOB.Address[:], b[0:6])
	copy(f.OOB.Confirm[:], b[6:22])
	copy(f.OOB.Random[:], b[22:38])
	return f, nil
}

// firstApproachLabel starts the MAC input of the first-approach extension.
const firstApproachLabel = "DK first approach"

// mac computes the extension's MAC for message kind k under keys.
func (f *FirstApproach) mac(out *[FirstApproachMACSize]byte, keys *OwnerKeys, k Kind) {
	h := hmac.New(sha256.New, keys.Intro[:])
	var in [len(firstApproachLabel) + 1 + OOBDataSize]byte
	b := append(in[:0], firstApproachLabel...)
	b = append(b, k.ID(PerType))
	b = f.OOB.appendTo(b)
	h.Write(b)
	h.Sum(out[:0])
}

func (o *OOBData) appendTo(dst []byte) []byte {
	dst = append(dst, o.Address[:]...)
	dst = append(dst, o.Confirm[:]...)
	return append(dst, o.Random[:]...)
}

// Seal adds the MAC extension to f for a message of kind k
// (KindFirstApproachRQ or KindFirstApproachRS) under the owner-pairing
// keys. It fails for any other kind.
func (f *FirstApproach) Seal(keys *OwnerKeys, k Kind) error {
	if k != KindFirstApproachRQ && k != KindFirstApproachRS {
		return fmt.Errorf("ble: first approach MAC for %v: %w", k, ErrUnknownID)
	}
	f.mac(&f.MAC, keys, k)
	f.HasMAC = true
	return nil
}

// Verify checks the MAC extension of f, received in a message of kind k,
// under the owner-pairing keys. A missing MAC, a MAC that does not match
// and a kind other than the two first-approach messages all fail with the
// one error [ErrMAC].
func (f *FirstApproach) Verify(keys *OwnerKeys, k Kind) error {
	if !f.HasMAC || (k != KindFirstApproachRQ && k != KindFirstApproachRS) {
		return ErrMAC
	}
	var want [FirstApproachMACSize]byte
	f.mac(&want, keys, k)
	if !hmac.Equal(want[:], f.MAC[:]) {
		return ErrMAC
	}
	return nil
}

// OwnerKeys are the two BLE keys of owner pairing: bytes 64 to 95 of the
// 96-byte SystemKeys both sides derive from the SPAKE2+ session key
// (docs/protocol.md §3.3; package pairing derives them as pairing.BLEKeys,
// whose fields match, so one converts to the other). Intro (Kble_intro)
// authenticates the first approach; OOBMaster (Kble_oob_master) is the
// master key of the LE Secure Connections OOB pairing, whose derivation is
// not public, so the package only carries it.
//
// OwnerKeys redacts itself when formatted; Zeroize erases it.
type OwnerKeys struct {
	Intro     [OwnerKeySize]byte
	OOBMaster [OwnerKeySize]byte
}

// Zeroize overwrites both keys with zeros.
func (k *OwnerKeys) Zeroize() {
	clear(k.Intro[:])
	clear(k.OOBMaster[:])
}

// String returns a fixed text: the keys are secret.
func (OwnerKeys) String() string { return "ble.OwnerKeys{redacted}" }

// GoString returns a fixed text: the keys are secret.
func (OwnerKeys) GoString() string { return "ble.OwnerKeys{redacted}" }

// Format writes the fixed text of String for every verb.
func (k OwnerKeys) Format(s fmt.State, _ rune) { fmt.Fprint(s, k.String()) }
