package ble

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestTimeSyncGolden(t *testing.T) {
	ts := TimeSync{
		DeviceEventCount: 0x0102030405060708, UWBDeviceTime: 0x1112131415161718, Uncertainty: 0x21,
		ClockSkewAvailable: true, DeviceMaxPPM: 0x3132, Success: false, RetryDelay: 0x4142,
	}
	// Written by hand from the layout of docs/protocol.md §8.6.
	want := unhex(t, "0102030405060708 1112131415161718 21 01 3132 00 4142")
	got := ts.Append(nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("Append = %X, want %X", got, want)
	}
	p, err := ParseTimeSync(want)
	if err != nil || p != ts {
		t.Errorf("ParseTimeSync(%X) = %+v, %v", want, p, err)
	}
	for _, bad := range []string{
		"0102030405060708 1112131415161718 21 01 3132 00 41",
		"0102030405060708 1112131415161718 21 01 3132 00 4142 00",
		"0102030405060708 1112131415161718 21 02 3132 00 4142",
		"0102030405060708 1112131415161718 21 01 3132 FF 4142",
	} {
		if _, err := ParseTimeSync(unhex(t, bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseTimeSync(%s): %v", bad, err)
		}
	}
}

func oob() OOBData {
	var o OOBData
	for i := range o.Address {
		o.Address[i] = byte(0xA0 + i)
	}
	for i := range o.Confirm {
		o.Confirm[i] = byte(0x10 + i)
		o.Random[i] = byte(0x30 + i)
	}
	return o
}

func TestFirstApproach(t *testing.T) {
	keys := &OwnerKeys{Intro: [16]byte{1, 2, 3}, OOBMaster: [16]byte{4, 5, 6}}
	f := FirstApproach{OOB: oob()}
	want := unhex(t, "A0A1A2A3A4A5 101112131415161718191A1B1C1D1E1F 303132333435363738393A3B3C3D3E3F")
	if got := f.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("Append = %X, want %X", got, want)
	}
	p, err := ParseFirstApproach(want)
	if err != nil || p != f {
		t.Fatalf("ParseFirstApproach(38 bytes) = %+v, %v", p, err)
	}
	if err := p.Verify(keys, KindFirstApproachRQ); !errors.Is(err, ErrMAC) {
		t.Errorf("Verify without a MAC: %v", err)
	}

	if err := f.Seal(keys, KindFirstApproachRQ); err != nil {
		t.Fatal(err)
	}
	sealed := f.Append(nil)
	if len(sealed) != 70 {
		t.Fatalf("sealed first approach of %d bytes, want 70", len(sealed))
	}
	p, err = ParseFirstApproach(sealed)
	if err != nil || p != f {
		t.Fatalf("ParseFirstApproach(70 bytes) = %+v, %v", p, err)
	}
	if err := p.Verify(keys, KindFirstApproachRQ); err != nil {
		t.Errorf("Verify: %v", err)
	}
	for _, tt := range []struct {
		name string
		keys *OwnerKeys
		kind Kind
		edit func(*FirstApproach)
	}{
		{"wrong key", &OwnerKeys{Intro: [16]byte{9}}, KindFirstApproachRQ, nil},
		{"reflected as RS", keys, KindFirstApproachRS, nil},
		{"other message", keys, KindTimeSync, nil},
		{"address changed", keys, KindFirstApproachRQ, func(f *FirstApproach) { f.OOB.Address[0] ^= 1 }},
		{"random changed", keys, KindFirstApproachRQ, func(f *FirstApproach) { f.OOB.Random[15] ^= 1 }},
		{"MAC changed", keys, KindFirstApproachRQ, func(f *FirstApproach) { f.MAC[0] ^= 1 }},
	} {
		q := p
		if tt.edit != nil {
			tt.edit(&q)
		}
		if err := q.Verify(tt.keys, tt.kind); !errors.Is(err, ErrMAC) {
			t.Errorf("%s: Verify = %v, want ErrMAC", tt.name, err)
		}
	}
	// The MAC is under Kble_intro alone.
	if err := p.Verify(&OwnerKeys{Intro: keys.Intro}, KindFirstApproachRQ); err != nil {
		t.Errorf("Verify with Kble_oob_master zero: %v", err)
	}
	if err := f.Seal(keys, KindDKAPDURQ); !errors.Is(err, ErrUnknownID) {
		t.Errorf("Seal for DK_APDU_RQ: %v", err)
	}
	for _, n := range []int{0, 37, 39, 50, 69, 71} {
		if _, err := ParseFirstApproach(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseFirstApproach(%d bytes): %v", n, err)
		}
	}
}

func TestOwnerKeysRedacted(t *testing.T) {
	k := OwnerKeys{Intro: [16]byte{0xAB, 0xCD}, OOBMaster: [16]byte{0xEF, 0x01}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{k, &k, struct{ K OwnerKeys }{k}} {
			out := strings.ToLower(fmt.Sprintf(verb, v))
			if strings.Contains(out, "abcd") || strings.Contains(out, "171") || strings.Contains(out, "ef01") || strings.Contains(out, "ab cd") {
				t.Errorf("Sprintf(%q, %T) = %s: shows key bytes", verb, v, out)
			}
		}
	}
	k.Zeroize()
	if k != (OwnerKeys{}) {
		t.Error("Zeroize left key bytes")
	}
}
