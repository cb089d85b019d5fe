package ble

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
)

// selectDK is the spec's example of a DK message: the SELECT of the DK
// applet in a DK_APDU_RQ (docs/protocol.md §8.3, S [YKB] TS v4.0.0).
const selectDK = "01 0B 00 13 00 A4 04 00 0D A0 00 00 08 09 43 43 43 44 4B 41 76 31 00"

// selectAPDU is the APDU inside selectDK.
const selectAPDU = "00 A4 04 00 0D A0 00 00 08 09 43 43 43 44 4B 41 76 31 00"

func TestSpecExample(t *testing.T) {
	b := unhex(t, selectDK)
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatalf("ParseMessage(%X): %v", b, err)
	}
	if m.Kind != KindDKAPDURQ || m.Kind.Type() != TypeSE || m.Numbering != PerType || !bytes.Equal(m.Data, unhex(t, selectAPDU)) {
		t.Errorf("ParseMessage(%X) = %v %v %X", b, m.Kind, m.Numbering, m.Data)
	}
	for _, n := range []Numbering{PerType, Global} {
		out, err := (&Message{Kind: KindDKAPDURQ, Numbering: n, Data: unhex(t, selectAPDU)}).Append(nil)
		if err != nil || !bytes.Equal(out, b) {
			t.Errorf("Append(SELECT, %v) = %X, %v; want %X", n, out, err, b)
		}
	}
}

// TestGolden checks one message of every kind in both numberings against
// bytes written from the table of docs/protocol.md §8.3 (the IDs were typed from
// the table, not computed from the package's), with the data C0 DE.
func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		kind            Kind
		perType, global string
	}{
		{KindFrameworkAPDURQ, "000B0002C0DE", "000B0002C0DE"},
		{KindFrameworkAPDURS, "000C0002C0DE", "000C0002C0DE"},
		{KindDKAPDURQ, "010B0002C0DE", "010B0002C0DE"},
		{KindDKAPDURS, "010C0002C0DE", "010C0002C0DE"},
		{KindRangingCapabilityRQ, "02010002C0DE", "02010002C0DE"},
		{KindRangingCapabilityRS, "02020002C0DE", "02020002C0DE"},
		{KindRangingSessionRQ, "02030002C0DE", "02030002C0DE"},
		{KindRangingSessionRS, "02040002C0DE", "02040002C0DE"},
		{KindRangingSessionSetupRQ, "02050002C0DE", "02050002C0DE"},
		{KindRangingSessionSetupRS, "02060002C0DE", "02060002C0DE"},
		{KindRangingSuspendRQ, "02070002C0DE", "02070002C0DE"},
		{KindRangingSuspendRS, "02080002C0DE", "02080002C0DE"},
		{KindRangingRecoveryRQ, "02090002C0DE", "02090002C0DE"},
		{KindRangingRecoveryRS, "020A0002C0DE", "020A0002C0DE"},
		{KindConfigurableRangingRecoveryRQ, "020B0002C0DE", "02120002C0DE"},
		{KindConfigurableRangingRecoveryRS, "020C0002C0DE", "02130002C0DE"},
		{KindEventNotification, "03010002C0DE", "03110002C0DE"},
		{KindOEMPassThrough, "04010002C0DE", "04100002C0DE"},
		{KindTimeSync, "05010002C0DE", "050D0002C0DE"},
		{KindFirstApproachRQ, "05020002C0DE", "050E0002C0DE"},
		{KindFirstApproachRS, "05030002C0DE", "050F0002C0DE"},
		{KindRKEAuthRQ, "05040002C0DE", "05140002C0DE"},
		{KindRKEAuthRS, "05050002C0DE", "05150002C0DE"},
		{KindUWBFinalData, "05060002C0DE", "05060002C0DE"},
		{KindHeadUnitPairingPrep, "06010002C0DE", "06160002C0DE"},
		{KindHeadUnitPairingRQ, "06020002C0DE", "06170002C0DE"},
		{KindHeadUnitPairingRS, "06030002C0DE", "06180002C0DE"},
	} {
		t.Run(tt.kind.String(), func(t *testing.T) {
			for _, c := range []struct {
				n    Numbering
				want string
			}{{PerType, tt.perType}, {Global, tt.global}} {
				want := unhex(t, c.want)
				m := Message{Kind: tt.kind, Numbering: c.n, Data: []byte{0xC0, 0xDE}}
				got, err := m.Append(nil)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("Append(%v, %v) = %X, %v; want %X", tt.kind, c.n, got, err, want)
				}
				p, err := ParseMessage(want)
				if err != nil || p.Kind != tt.kind || !bytes.Equal(p.Data, m.Data) {
					t.Errorf("ParseMessage(%X) = %v %X, %v; want %v", want, p.Kind, p.Data, err, tt.kind)
				}
				// The parsed numbering is per-type whenever the two IDs agree.
				wantN := c.n
				if tt.perType == tt.global {
					wantN = PerType
				}
				if p.Numbering != wantN {
					t.Errorf("ParseMessage(%X) numbering %v, want %v", want, p.Numbering, wantN)
				}
			}
		})
	}
}

// TestKindTable checks that no (type, ID) pair means two messages in either
// numbering, and that every kind has a name and a type in 0–6.
func TestKindTable(t *testing.T) {
	seen := map[[2]byte]Kind{}
	for k := Kind(1); k < numKinds; k++ {
		if k.String() == "" || k.Type() > TypeHeadUnit || k.ID(PerType) == 0 || k.ID(Global) == 0 {
			t.Errorf("kind %d: name %q type %v IDs %02X %02X", k, k.String(), k.Type(), k.ID(PerType), k.ID(Global))
		}
		for _, id := range []byte{k.ID(PerType), k.ID(Global)} {
			key := [2]byte{byte(k.Type()), id}
			if other, ok := seen[key]; ok && other != k {
				t.Errorf("type %v ID %02X means both %v and %v", k.Type(), id, other, k)
			}
			seen[key] = k
		}
	}
	if Kind(0).Valid() || numKinds.Valid() || Kind(0).ID(PerType) != 0 || KindDKAPDURQ.ID(Numbering(2)) != 0 {
		t.Error("invalid kinds or numberings give IDs")
	}
	for _, s := range []string{Kind(0).String(), Numbering(7).String(), MessageType(9).String()} {
		if s == "" {
			t.Error("empty name for an invalid value")
		}
	}
}

func TestParseMessageErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"header only part", "01 0B 00", ErrMalformed},
		{"reserved bit 7", "81 0B 00 00", ErrMalformed},
		{"reserved bit 6", "41 0B 00 00", ErrMalformed},
		{"type 7 (NXP BTCS)", "07 01 00 00", ErrUnknownType},
		{"type 63", "3F 01 00 00", ErrUnknownType},
		{"length too long", "01 0B 00 03 00 A4", ErrMalformed},
		{"length too short", "01 0B 00 01 00 A4", ErrMalformed},
		{"unknown SE ID", "01 01 00 00", ErrUnknownID},
		{"APDU ID in ranging", "02 0D 00 00", ErrUnknownID},
		{"global ranging ID in SE", "01 12 00 00", ErrUnknownID},
		{"supplementary 07", "05 07 00 00", ErrUnknownID},
		{"event 02", "03 02 00 00", ErrUnknownID},
		{"framework 01", "00 01 00 00", ErrUnknownID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			if m, err := ParseMessage(in); !errors.Is(err, tt.want) {
				t.Errorf("ParseMessage(%X) = %v, %v; want %v", in, m.Kind, err, tt.want)
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	dst := []byte{1, 2}
	for _, tt := range []struct {
		name string
		m    Message
		want error
	}{
		{"no kind", Message{}, ErrUnknownID},
		{"bad numbering", Message{Kind: KindDKAPDURQ, Numbering: 2}, ErrUnknownID},
		{"too large", Message{Kind: KindOEMPassThrough, Data: make([]byte, MaxDataLen+1)}, ErrTooLarge},
	} {
		out, err := tt.m.Append(dst)
		if !errors.Is(err, tt.want) || !bytes.Equal(out, dst) {
			t.Errorf("%s: Append = %X, %v; want %v and dst unchanged", tt.name, out, err, tt.want)
		}
	}
	// The largest message fits.
	m := Message{Kind: KindOEMPassThrough, Data: make([]byte, MaxDataLen)}
	out, err := m.Append(nil)
	if err != nil || len(out) != MaxMessageLen {
		t.Fatalf("Append(MaxDataLen) = %d bytes, %v", len(out), err)
	}
	if _, err := ParseMessage(out); err != nil {
		t.Errorf("ParseMessage(largest): %v", err)
	}
}

// TestRoundTripRandom encodes random messages, parses them back, and checks
// that no strict prefix and no extension parses.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		data := make([]byte, r.IntN(300))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		m := Message{Kind: Kind(1 + r.IntN(int(numKinds)-1)), Numbering: Numbering(r.IntN(2)), Data: data}
		b, err := m.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseMessage(b)
		if err != nil || p.Kind != m.Kind || !bytes.Equal(p.Data, m.Data) {
			t.Fatalf("round trip of %v %v: %v %v", m.Kind, m.Numbering, p.Kind, err)
		}
		again, _ := p.Append(nil)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %X gives %X", b, again)
		}
		for i := range len(b) {
			if _, err := ParseMessage(b[:i]); err == nil {
				t.Fatalf("prefix %X of %X parses", b[:i], b)
			}
		}
		if _, err := ParseMessage(append(b, 0)); err == nil {
			t.Fatalf("%X with a trailing byte parses", b)
		}
	}
}

func TestMessageAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	apdu := unhex(t, selectAPDU)
	buf := make([]byte, 0, 64)
	in := unhex(t, selectDK)
	var sink int
	if n := testing.AllocsPerRun(100, func() {
		m := Message{Kind: KindDKAPDURQ, Data: apdu}
		out, _ := m.Append(buf[:0])
		sink += len(out)
	}); n != 0 {
		t.Errorf("Message.Append allocated %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		m, _ := ParseMessage(in)
		sink += len(m.Data)
	}); n != 0 {
		t.Errorf("ParseMessage allocated %v times, want 0", n)
	}
	_ = sink
}

func BenchmarkMessage(b *testing.B) {
	apdu := unhex(b, selectAPDU)
	in := unhex(b, selectDK)
	buf := make([]byte, 0, 64)
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := Message{Kind: KindDKAPDURQ, Data: apdu}
			buf, _ = m.Append(buf[:0])
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseMessage(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
