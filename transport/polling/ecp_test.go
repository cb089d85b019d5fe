package polling_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport/polling"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ECP frames from public sources (testdata/README.md): [KUPA]'s Home Key
// frame (docs/protocol.md §12), the Home Key frame of [AHKR] with the same group,
// an iPhone's AirDrop frame recorded with a Proxmark3, and a version 1 frame.
var knownECP = []struct {
	name    string
	hex     string
	version uint8
	express bool
	typ     polling.TerminalType
	subtype uint8
	tci     polling.TCI
	data    string
}{
	{"KUPA Home Key", "6a02cb020402110094625fd2c32cf3c2dd38", 2, true, polling.TerminalAccess, 0x04, polling.TCIHomeKey, "94625fd2c32cf3c2"},
	{"AHKR Home Key", "6a02cb020602110094625fd2c32cf3c2663a", 2, true, polling.TerminalAccess, polling.SubtypeHomeKey, polling.TCIHomeKey, "94625fd2c32cf3c2"},
	{"iPhone AirDrop", "6a028905000100014d7e2adcf868d2dd", 2, false, polling.TerminalAirDrop, 0x00, polling.TCI{0x01, 0x00, 0x01}, "4d7e2adcf868"},
	{"VAS version 1", "6a01000000f6f1", 1, false, 0, 0, polling.TCI{}, ""},
}

func TestParseKnownECP(t *testing.T) {
	for _, tt := range knownECP {
		b := mustHex(t, tt.hex)
		e, err := polling.ParseECP(b)
		if err != nil {
			t.Errorf("%s: ParseECP(%X) = %v", tt.name, b, err)
			continue
		}
		if e.Version() != tt.version || e.Express() != tt.express || e.Type() != tt.typ || e.Subtype() != tt.subtype || e.TCI() != tt.tci ||
			hex.EncodeToString(e.AppendData(nil)) != tt.data {
			t.Errorf("%s: ParseECP(%X) = %v", tt.name, b, e)
		}
		if got := e.Append(nil); !bytes.Equal(got, b) || e.Len() != len(b) {
			t.Errorf("%s: Append = %X (Len %d), want %X", tt.name, got, e.Len(), b)
		}
	}
}

// TestKUPAFrame rebuilds [KUPA]'s published frame from its fields: the
// CRC_A this package computes is the one on the wire (docs/protocol.md §12).
func TestKUPAFrame(t *testing.T) {
	group := mustHex(t, "94625fd2c32cf3c2")
	e, err := polling.NewECP(polling.TerminalAccess, 0x04, polling.TCIHomeKey, group, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Append(nil), mustHex(t, "6a02cb020402110094625fd2c32cf3c2dd38"); !bytes.Equal(got, want) {
		t.Errorf("KUPA frame = %X, want %X", got, want)
	}
	if got := polling.CRCA(mustHex(t, "6a02cb020402110094625fd2c32cf3c2")); got != 0x38dd {
		t.Errorf("CRCA = %04X, want 38DD (sent DD 38)", got)
	}
	// ISO/IEC 14443-3 Annex B example: CRC_A of 00 00 is 1E A0.
	if got := polling.AppendCRCA(nil, []byte{0x00, 0x00}); !bytes.Equal(got, []byte{0xA0, 0x1E}) {
		t.Errorf("CRC_A(00 00) = %X, want A0 1E", got)
	}
}

func TestHomeKeyForProfile(t *testing.T) {
	var group [8]byte
	copy(group[:], mustHex(t, "94625fd2c32cf3c2"))
	vid, err := dkey.NewVehicleID(append(group[:], "READER01"...))
	if err != nil {
		t.Fatal(err)
	}
	e, err := polling.ForProfile(dkey.HomeKey, vid, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e != polling.HomeKey(group) {
		t.Errorf("ForProfile(HomeKey) = %v, want %v", e, polling.HomeKey(group))
	}
	if got := e.Append(nil); !bytes.Equal(got, mustHex(t, "6a02cb020602110094625fd2c32cf3c2663a")) {
		t.Errorf("Home Key frame = %X", got)
	}
	ccc, _ := dkey.NewVehicleID([]byte("VIN-0001"))
	if _, err := polling.ForProfile(dkey.HomeKey, ccc, nil); err == nil {
		t.Error("ForProfile(HomeKey, 8-byte identifier) succeeded")
	}
	if _, err := polling.ForProfile(dkey.Profile(9), vid, nil); err == nil {
		t.Error("ForProfile(unknown profile) succeeded")
	}
}

func TestCCCForProfile(t *testing.T) {
	vid, _ := dkey.NewVehicleID([]byte("VIN-0001"))
	if _, err := polling.ForProfile(dkey.CCC, vid, nil); !errors.Is(err, polling.ErrNoTCI) {
		t.Errorf("ForProfile(CCC, no terminal) = %v, want %v", err, polling.ErrNoTCI)
	}
	if _, err := polling.ForProfile(dkey.CCC, vid, &polling.Terminal{}); !errors.Is(err, polling.ErrNoTCI) {
		t.Errorf("ForProfile(CCC, no TCI) = %v, want %v", err, polling.ErrNoTCI)
	}
	// A test TCI of the project's choosing, in the car-key range (first
	// byte 01).
	tci := polling.TCI{0x01, 0x7E, 0x57}
	e, err := polling.ForProfile(dkey.CCC, vid, &polling.Terminal{TCI: &tci})
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != polling.TerminalAccess || e.Subtype() != polling.SubtypeAutomotive || e.TCI() != tci || !e.Express() {
		t.Errorf("default CCC frame = %v", e)
	}
	sub := uint8(0x05)
	e, err = polling.ForProfile(dkey.CCC, vid, &polling.Terminal{Type: polling.TerminalTransit, Subtype: &sub, TCI: &tci, Data: []byte{1, 2}, RequireAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	// Configuration byte 85: bit 7, no express bit, 5 bytes of TCI and data.
	if got, want := e.Append(nil), mustHex(t, "6a02850105017e5701021704"); !bytes.Equal(got, want) {
		t.Errorf("configured CCC frame = %X, want %X", got, want)
	}
	if _, err := polling.ForProfile(dkey.CCC, vid, &polling.Terminal{TCI: &tci, Data: make([]byte, polling.MaxECPData+1)}); !errors.Is(err, polling.ErrMalformedECP) {
		t.Errorf("ForProfile(13 bytes of data) = %v, want %v", err, polling.ErrMalformedECP)
	}
}

func TestECPRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		var tci polling.TCI
		for i := range tci {
			tci[i] = byte(r.Uint32())
		}
		var e polling.ECP
		if r.IntN(4) == 0 {
			e = polling.NewECPv1(tci)
		} else {
			data := make([]byte, r.IntN(polling.MaxECPData+1))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			var err error
			e, err = polling.NewECP(polling.TerminalType(r.Uint32()), byte(r.Uint32()), tci, data, r.IntN(2) == 0)
			if err != nil {
				t.Fatal(err)
			}
		}
		b := e.Append(nil)
		g, err := polling.ParseECP(b)
		if err != nil || g != e {
			t.Fatalf("ParseECP(%X) = %v, %v; want %v", b, g, err, e)
		}
		for i := range len(b) {
			if _, err := polling.ParseECP(b[:i]); err == nil {
				t.Fatalf("ParseECP(prefix %X of %X) succeeded", b[:i], b)
			}
		}
	}
}

func TestParseECPErrors(t *testing.T) {
	withCRC := func(h string) string {
		return hex.EncodeToString(polling.AppendCRCA(mustHex(t, h), mustHex(t, h)))
	}
	for _, tt := range []struct{ name, hex string }{
		{"empty", ""},
		{"bad CRC", "6a02cb020602110094625fd2c32cf3c2663b"},
		{"other header", withCRC("6b02cb0206021100")},
		{"version 3", withCRC("6a03cb0206021100")},
		{"version 0", withCRC("6a00000000")},
		{"version 1 with data", withCRC("6a010000000102")},
		{"bit 7 of the configuration clear", withCRC("6a024b0206021100")},
		{"unknown configuration bits", withCRC("6a02db0206021100")},
		{"length nibble too large", withCRC("6a02cc0206021100")},
		{"length nibble too small", withCRC("6a02c20206021100")},
		{"no TCI", withCRC("6a02c00206")},
		{"too long", withCRC("6a02cf020602110000000000000000000000")},
	} {
		if _, err := polling.ParseECP(mustHex(t, tt.hex)); !errors.Is(err, polling.ErrMalformedECP) {
			t.Errorf("%s: ParseECP(%s) = %v, want %v", tt.name, tt.hex, err, polling.ErrMalformedECP)
		}
	}
	if (polling.ECP{}).Len() != 0 || len((polling.ECP{}).Append(nil)) != 0 {
		t.Error("the zero ECP has a length")
	}
}

func TestECPAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	var group [8]byte
	e := polling.HomeKey(group)
	buf := make([]byte, 0, polling.MaxECPLen)
	frame := e.Append(nil)
	if n := testing.AllocsPerRun(100, func() {
		e.Append(buf[:0])
		polling.ParseECP(frame)
	}); n > 0 {
		t.Errorf("Append and ParseECP allocated %v times, want 0", n)
	}
}

func BenchmarkECP(b *testing.B) {
	var group [8]byte
	e := polling.HomeKey(group)
	buf := make([]byte, 0, polling.MaxECPLen)
	frame := e.Append(nil)
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Append(buf[:0])
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			polling.ParseECP(frame)
		}
	})
}

func FuzzParseECP(f *testing.F) {
	for _, k := range knownECP {
		f.Add(mustHex(f, k.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := polling.ParseECP(b)
		if err != nil {
			if !errors.Is(err, polling.ErrMalformedECP) {
				t.Fatalf("ParseECP error %v is not ErrMalformedECP", err)
			}
			return
		}
		if out := e.Append(nil); !bytes.Equal(out, b) {
			t.Fatalf("Append(ParseECP(%X)) = %X", b, out)
		}
	})
}
