package ble

import (
	"encoding/hex"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

// UUID is a 128-bit Bluetooth UUID, held in the big-endian order of its
// text form (the air carries it little-endian).
type UUID [16]byte

// bluetoothBase returns the Bluetooth Base UUID
// 00000000-0000-1000-8000-00805F9B34FB (Core Vol 3 Part B §2.5.1), from
// which 16-bit UUIDs are shortened.
func bluetoothBase() UUID {
	return UUID{0, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0x80, 0x5F, 0x9B, 0x34, 0xFB}
}

// UUID16 returns the 128-bit form of a 16-bit UUID.
func UUID16(v uint16) UUID {
	u := bluetoothBase()
	u[2], u[3] = byte(v>>8), byte(v)
	return u
}

// ParseUUID parses the text form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx,
// in either case.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("ble: UUID %q: not in the 8-4-4-4-12 form", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return UUID{}, fmt.Errorf("ble: UUID %q: %w", s, err)
	}
	return u, nil
}

// Short returns the 16-bit form of u when u is derived from the Bluetooth
// Base UUID.
func (u UUID) Short() (uint16, bool) {
	b := u
	b[2], b[3] = 0, 0
	if b != bluetoothBase() {
		return 0, false
	}
	return uint16(u[2])<<8 | uint16(u[3]), true
}

// AppendLE appends the 16 bytes of u in the little-endian order of the air
// (attribute values, advertising data).
func (u UUID) AppendLE(dst []byte) []byte {
	for i := len(u) - 1; i >= 0; i-- {
		dst = append(dst, u[i])
	}
	return dst
}

// String returns the lowercase text form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// UUIDs of the Digital Key GATT service (§8.1, §8.2, S [YKB] §19.2.1, I
// [NXPDK]).
const (
	// ServiceUUID16 is the 16-bit UUID of the DK primary service, which the
	// vehicle also advertises.
	ServiceUUID16 = 0xFFF5
	// SPSMCharacteristic holds the SPSM of the DK L2CAP channel.
	SPSMCharacteristic = "d3b5a130-9e23-4b3a-8be4-6b1ee5f980a3"
	// VehicleVersionCharacteristic holds the vehicle's DK versions.
	VehicleVersionCharacteristic = "ae285b91-6d23-23f1-ca12-6b1ee5b780a3"
	// DeviceVersionCharacteristic receives the device's DK versions.
	DeviceVersionCharacteristic = "bd4b9502-3f54-11ec-b919-0242ac120005"
	// OwnerPairingServiceData is the 128-bit UUID of the service data the
	// vehicle advertises while it waits for owner pairing.
	OwnerPairingServiceData = "5810bbc0-b499-11e9-a2a3-2a2ae2dbcce4"
)

// SPSM is an LE Simplified Protocol/Service Multiplexer: the port of an LE
// credit-based L2CAP channel. The DK channel's lies in the dynamic range
// 0080–00FF (§8.2).
type SPSM uint16

// SPSM range and default (§8.2; the default is [NXPDK]'s).
const (
	MinSPSM     SPSM = 0x0080
	MaxSPSM     SPSM = 0x00FF
	DefaultSPSM SPSM = 0x0081
)

// Valid reports whether s is in the dynamic range the DK channel uses.
func (s SPSM) Valid() bool { return s >= MinSPSM && s <= MaxSPSM }

// Append appends the value of the SPSM characteristic: the SPSM as a
// big-endian uint16 (§8.2).
func (s SPSM) Append(dst []byte) []byte { return append(dst, byte(s>>8), byte(s)) }

// String returns the SPSM in hexadecimal.
func (s SPSM) String() string { return fmt.Sprintf("0x%04X", uint16(s)) }

// ParseSPSM parses the value of the SPSM characteristic: two bytes,
// big-endian, in the range 0080–00FF ([ErrMalformed] otherwise).
func ParseSPSM(b []byte) (SPSM, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("%w: SPSM value of %d bytes, want 2", ErrMalformed, len(b))
	}
	s := SPSM(uint16(b[0])<<8 | uint16(b[1]))
	if !s.Valid() {
		return 0, fmt.Errorf("%w: SPSM %v outside %v–%v", ErrMalformed, s, MinSPSM, MaxSPSM)
	}
	return s, nil
}

// Properties are the GATT characteristic properties (Core Vol 3 Part G
// §3.3.1.1); the DK service uses Read and Write.
type Properties uint8

// Characteristic properties.
const (
	PropRead  Properties = 0x02
	PropWrite Properties = 0x08
)

// Characteristic describes one characteristic of a GATT service.
type Characteristic struct {
	UUID       UUID
	Properties Properties
	// Encrypted says that the characteristic is read or written only over
	// an encrypted link.
	Encrypted bool
	// Value is the value a read returns; nil for a write-only one.
	Value []byte
}

// Service describes a primary GATT service, as data a GATT server
// implementation publishes.
type Service struct {
	UUID            UUID
	Characteristics []Characteristic
}

// VehicleService returns the vehicle's DK GATT service (§8.2): the primary
// service FFF5 with the SPSM characteristic (read, no security, the SPSM
// big-endian), the vehicle DK version characteristic (read, encrypted) and
// the device DK version characteristic (write, encrypted). The public
// sources do not give the encoding of the version values; the vehicle's is
// its version list, two bytes per version, highest first, as the applet
// lists them (§0; project choice). It fails for an SPSM outside the dynamic
// range or an empty version list.
func VehicleService(spsm SPSM, versions dkey.VersionList) (Service, error) {
	if !spsm.Valid() {
		return Service{}, fmt.Errorf("ble: SPSM %v outside %v–%v", spsm, MinSPSM, MaxSPSM)
	}
	if versions.Len() == 0 {
		return Service{}, fmt.Errorf("ble: vehicle service without versions: %w", dkey.ErrInvalidVersionList)
	}
	// The three UUIDs are constants of the package: they parse.
	spsmUUID, _ := ParseUUID(SPSMCharacteristic)
	vehicleUUID, _ := ParseUUID(VehicleVersionCharacteristic)
	deviceUUID, _ := ParseUUID(DeviceVersionCharacteristic)
	return Service{
		UUID: UUID16(ServiceUUID16),
		Characteristics: []Characteristic{
			{UUID: spsmUUID, Properties: PropRead, Value: spsm.Append(nil)},
			{UUID: vehicleUUID, Properties: PropRead, Encrypted: true, Value: versions.Append(nil)},
			{UUID: deviceUUID, Properties: PropWrite, Encrypted: true},
		},
	}, nil
}
