package ble

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/dkey"
)

func TestUUID(t *testing.T) {
	u := UUID16(ServiceUUID16)
	if got := u.String(); got != "0000fff5-0000-1000-8000-00805f9b34fb" {
		t.Errorf("UUID16(FFF5) = %s", got)
	}
	if v, ok := u.Short(); !ok || v != 0xFFF5 {
		t.Errorf("Short = %04X, %v", v, ok)
	}
	// The owner-pairing service data UUID in the little-endian order of
	// the advertisement (docs/protocol.md §8.1, AD2).
	sd, err := ParseUUID("5810BBC0-B499-11E9-A2A3-2A2AE2DBCCE4")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sd.AppendLE(nil), unhex(t, "E4CCDBE22A2AA3A2E91199B4C0BB1058"); !bytes.Equal(got, want) {
		t.Errorf("AppendLE = %X, want %X", got, want)
	}
	if sd.String() != OwnerPairingServiceData {
		t.Errorf("String = %s", sd)
	}
	if _, ok := sd.Short(); ok {
		t.Error("a vendor UUID shortens")
	}
	u32 := UUID{0, 1, 0xFF, 0xF5, 0, 0, 0x10, 0, 0x80, 0, 0, 0x80, 0x5F, 0x9B, 0x34, 0xFB}
	if _, ok := u32.Short(); ok {
		t.Error("a 32-bit UUID shortens to 16 bits")
	}
	for _, bad := range []string{"", "5810bbc0b49911e9a2a32a2ae2dbcce4", "5810bbc0-b499-11e9-a2a3-2a2ae2dbccez", "5810bbc0-b499-11e9-a2a3_2a2ae2dbcce4"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) works", bad)
		}
	}
}

func TestSPSM(t *testing.T) {
	if got := DefaultSPSM.Append(nil); !bytes.Equal(got, []byte{0x00, 0x81}) {
		t.Errorf("Append(0081) = %X", got)
	}
	for _, tt := range []struct {
		in   []byte
		want SPSM
		ok   bool
	}{
		{[]byte{0x00, 0x80}, 0x80, true}, {[]byte{0x00, 0xFF}, 0xFF, true},
		{[]byte{0x00, 0x7F}, 0, false}, {[]byte{0x01, 0x00}, 0, false}, {[]byte{0x81, 0x00}, 0, false},
		{[]byte{0x81}, 0, false}, {[]byte{0x00, 0x81, 0x00}, 0, false},
	} {
		s, err := ParseSPSM(tt.in)
		if tt.ok != (err == nil) || s != tt.want || (!tt.ok && !errors.Is(err, ErrMalformed)) {
			t.Errorf("ParseSPSM(%X) = %v, %v", tt.in, s, err)
		}
	}
	if DefaultSPSM.String() != "0x0081" {
		t.Errorf("String = %s", DefaultSPSM)
	}
}

func TestVehicleService(t *testing.T) {
	versions, _ := dkey.NewVersionList(0x0100)
	s, err := VehicleService(DefaultSPSM, versions)
	if err != nil {
		t.Fatal(err)
	}
	if s.UUID != UUID16(0xFFF5) || len(s.Characteristics) != 3 {
		t.Fatalf("service %v with %d characteristics", s.UUID, len(s.Characteristics))
	}
	want := []struct {
		uuid      string
		props     Properties
		encrypted bool
		value     []byte
	}{
		{SPSMCharacteristic, PropRead, false, []byte{0x00, 0x81}},
		{VehicleVersionCharacteristic, PropRead, true, []byte{0x01, 0x00}},
		{DeviceVersionCharacteristic, PropWrite, true, nil},
	}
	for i, w := range want {
		c := s.Characteristics[i]
		if c.UUID.String() != w.uuid || c.Properties != w.props || c.Encrypted != w.encrypted || !bytes.Equal(c.Value, w.value) {
			t.Errorf("characteristic %d = %v %02X %v %X, want %s", i, c.UUID, c.Properties, c.Encrypted, c.Value, w.uuid)
		}
	}
	if _, err := VehicleService(0x0040, versions); err == nil {
		t.Error("SPSM 0040 accepted")
	}
	if _, err := VehicleService(DefaultSPSM, dkey.VersionList{}); !errors.Is(err, dkey.ErrInvalidVersionList) {
		t.Errorf("empty versions: %v", err)
	}
}

func TestAddress(t *testing.T) {
	a, err := ParseAddress("AA:BB:CC:DD:EE:0F/random")
	if err != nil || a.Addr != [6]byte{0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0x0F} || a.Type != AddressRandom {
		t.Fatalf("ParseAddress = %v, %v", a, err)
	}
	if a.String() != "AA:BB:CC:DD:EE:0F/random" {
		t.Errorf("String = %s", a)
	}
	if p, err := ParseAddress("00:11:22:33:44:55"); err != nil || p.Type != AddressPublic || p.String() != "00:11:22:33:44:55/public" {
		t.Errorf("public = %v, %v", p, err)
	}
	for _, bad := range []string{"", "AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:FF:00", "AA:BB:CC:DD:EE:FG", "AA:BB:CC:DD:EE:F", "AA:BB:CC:DD:EE:FF/static"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) works", bad)
		}
	}
	if AddressType(9).String() != "AddressType(9)" {
		t.Error(AddressType(9).String())
	}
}
