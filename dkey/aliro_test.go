package dkey

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"testing"
)

func TestReaderID(t *testing.T) {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	r, err := NewReaderID(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Bytes(), b) || r.Group[15] != 15 || r.SubGroup[0] != 16 || r.IsZero() {
		t.Errorf("NewReaderID(%x) = %v", b, r)
	}
	if got := r.String(); got != "000102030405060708090a0b0c0d0e0f-101112131415161718191a1b1c1d1e1f" {
		t.Errorf("String = %s", got)
	}
	if !(ReaderID{}).IsZero() {
		t.Errorf("zero ReaderID not zero")
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewReaderID(make([]byte, n)); !errors.Is(err, ErrInvalidReaderID) {
			t.Errorf("NewReaderID(%d bytes) error = %v", n, err)
		}
	}
}

func TestAliroProfile(t *testing.T) {
	if !Aliro.Valid() || Aliro.String() != "Aliro" || Aliro.AppletAID() != AIDAliro || Aliro.VehicleIDLen() != ReaderIDLen || Aliro.KeySlotLen() != 8 {
		t.Errorf("Aliro profile wrong")
	}
	if AIDAliro.String() != "A000000909ACCE5501" || AIDAliroStepUp.String() != "A000000909ACCE5502" {
		t.Errorf("Aliro AIDs = %v, %v", AIDAliro, AIDAliroStepUp)
	}
	only1, _ := NewVersionList(Version1)
	if Aliro.Versions() != only1 || Aliro.VehicleVersions() != only1 {
		t.Errorf("Aliro versions = %v, %v", Aliro.Versions(), Aliro.VehicleVersions())
	}
	if VersionAliro09.String() != "0.9" {
		t.Errorf("VersionAliro09 = %v", VersionAliro09)
	}
	// A default Aliro reader refuses a device stripped to 0.9.
	only09, _ := NewVersionList(VersionAliro09)
	if _, ok := Aliro.VehicleVersions().Select(only09); ok {
		t.Errorf("a default Aliro reader accepts 0.9")
	}
}

func TestDerivedKeySlot(t *testing.T) {
	k, err := GenerateSoftwareKey()
	if err != nil {
		t.Fatal(err)
	}
	h := sha1.Sum(k.PublicKey().Bytes())
	for _, tt := range []struct {
		p    Profile
		n    int
		want bool
	}{{HomeKey, 6, true}, {Aliro, 8, true}, {CCC, 0, false}} {
		s, ok := tt.p.DerivedKeySlot(k.PublicKey())
		if ok != tt.want || !bytes.Equal(s.Bytes(), h[:tt.n]) {
			t.Errorf("%v.DerivedKeySlot = %v, %v; want %x", tt.p, s, ok, h[:tt.n])
		}
	}
}

func TestECPTCI(t *testing.T) {
	for _, tt := range []struct {
		p    Profile
		want string
		ok   bool
	}{{Aliro, "204220", true}, {HomeKey, "021100", true}, {CCC, "000000", false}} {
		tci, ok := tt.p.ECPTCI()
		if ok != tt.ok || tci.String() != tt.want {
			t.Errorf("%v.ECPTCI() = %v, %v", tt.p, tci, ok)
		}
	}
}
