package ranging

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/dkey"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("hex.DecodeString(%q): %v", s, err)
	}
	return b
}

func mustVersions(vs ...dkey.Version) dkey.VersionList {
	l, err := dkey.NewVersionList(vs...)
	if err != nil {
		panic(err)
	}
	return l
}

func mustConfigs(cs ...ConfigID) ConfigIDList {
	l, err := NewConfigIDList(cs...)
	if err != nil {
		panic(err)
	}
	return l
}

func mustShapes(cs ...PulseShapeCombo) PulseShapeList {
	l, err := NewPulseShapeList(cs...)
	if err != nil {
		panic(err)
	}
	return l
}

// goldenMessages are encodings written by hand from the layouts of
// docs/protocol.md §8.4 (big-endian), one per message.
var goldenMessages = []struct {
	name string
	msg  Message
	hex  string
}{
	{"CapabilityRQ", &CapabilityRequest{Versions: mustVersions(dkey.Version1), ConfigIDs: mustConfigs(ConfigID0, ConfigID1), PulseShapes: mustShapes(0x12, 0x21)},
		"02 0100 04 0000 0001 02 12 21"},
	{"CapabilityRQ/unknown-entries", &CapabilityRequest{Versions: mustVersions(0x0200, dkey.Version1), ConfigIDs: mustConfigs(0x0002, ConfigID1), PulseShapes: mustShapes(0x33, 0x01)},
		"04 0200 0100 04 0002 0001 02 33 01"},
	{"CapabilityRS", &CapabilityResponse{Version: dkey.Version1, ConfigID: ConfigID1, PulseShape: 0x12}, "0100 0001 12"},
	{"SessionRQ", &SessionRequest{Version: dkey.Version1, ConfigID: ConfigID1, SessionID: SessionID{0xA1, 0xB2, 0xC3, 0xD4}, PulseShape: 0x12, Channels: 0x03},
		"0100 0001 a1b2c3d4 12 03"},
	{"SessionRS", &SessionResponse{MinRANMultiplier: 2, Slots: 0x3F, SyncCodes: 0x00000F00, Channel: Channel9, Hopping: 0xF8},
		"02 3f 00000f00 09 f8"},
	{"SetupRQ", &SetupRequest{RANMultiplier: 2, ChapsPerSlot: 6, Responders: 4, SlotsPerRound: 8, SyncCodes: 0x00000F00, Hopping: HoppingContinuousDefault},
		"02 06 04 08 00000f00 50"},
	{"SetupRS", &SetupResponse{STSIndex0: 0x12345678, UWBTime0: 0x0000018D3B2C1A00, HopModeKey: 0xDEADBEEF, SyncCode: 9},
		"12345678 0000018d3b2c1a00 deadbeef 09"},
	{"SuspendRQ", &SuspendRequest{SessionID: SessionID{0xA1, 0xB2, 0xC3, 0xD4}}, "a1b2c3d4"},
	{"SuspendRS/accepted", &SuspendResponse{Status: SuspendAccepted}, "00"},
	{"SuspendRS/delayed", &SuspendResponse{Status: SuspendDelayed}, "01"},
	{"RecoveryRQ", &RecoveryRequest{SessionID: SessionID{0xA1, 0xB2, 0xC3, 0xD4}}, "a1b2c3d4"},
	{"RecoveryRS", &RecoveryResponse{STSIndex0: 0x12345679, UWBTime0: 0x0000018D3B2C1A60}, "12345679 0000018d3b2c1a60"},
	{"ConfigurableRecoveryRQ", &ConfigurableRecoveryRequest{SessionID: SessionID{0xA1, 0xB2, 0xC3, 0xD4}, RANMultiplier: 3}, "a1b2c3d4 03"},
	{"ConfigurableRecoveryRS", &ConfigurableRecoveryResponse{STSIndex0: 7, UWBTime0: 8}, "00000007 0000000000000008"},
}

var allowUnexported = cmp.AllowUnexported(dkey.VersionList{}, ConfigIDList{}, PulseShapeList{}, list[ConfigID]{}, list[PulseShapeCombo]{})

func TestGoldenMessages(t *testing.T) {
	seen := map[MessageID]bool{}
	for _, g := range goldenMessages {
		t.Run(g.name, func(t *testing.T) {
			want := unhex(t, g.hex)
			if got := g.msg.Append(nil); !bytes.Equal(got, want) {
				t.Errorf("Append = %x, want %x", got, want)
			}
			got, err := ParseMessage(g.msg.ID(), want)
			if err != nil {
				t.Fatalf("ParseMessage(%v, %x) = %v", g.msg.ID(), want, err)
			}
			if diff := cmp.Diff(g.msg, got, allowUnexported); diff != "" {
				t.Errorf("ParseMessage(%v, %x) mismatch (-want +got):\n%s", g.msg.ID(), want, diff)
			}
			// No strict prefix parses (every layout has a fixed or
			// self-delimiting length).
			for n := range len(want) {
				if m, err := ParseMessage(g.msg.ID(), want[:n]); err == nil {
					t.Errorf("prefix %x of %x parses as %+v", want[:n], want, m)
				} else if !errors.Is(err, ErrMalformed) {
					t.Errorf("prefix %x: error %v does not wrap ErrMalformed", want[:n], err)
				}
			}
			if _, err := ParseMessage(g.msg.ID(), append(want, 0)); !errors.Is(err, ErrMalformed) {
				t.Errorf("%x with a trailing byte: err = %v, want ErrMalformed", want, err)
			}
		})
		seen[g.msg.ID()] = true
	}
	for id := MsgCapabilityRQ; id <= MsgConfigurableRecoveryRS; id++ {
		if !seen[id] {
			t.Errorf("no golden encoding of %v", id)
		}
	}
}

// randomMessage returns a random valid message of type id.
func randomMessage(r *rand.Rand, id MessageID) Message {
	sid := SessionID{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
	combos := []PulseShapeCombo{0x01, 0x10, 0x11, 0x12, 0x21}
	combo := combos[r.IntN(len(combos))]
	nonzero := func() uint8 { return uint8(r.IntN(255) + 1) }
	sync := SyncCodeMask(r.Uint32() | 1<<r.IntN(32))
	switch id {
	case MsgCapabilityRQ:
		vs := []dkey.Version{0x0300, 0x0200, 0x0100}[r.IntN(3):]
		cs := make([]ConfigID, 1+r.IntN(MaxListLen))
		for i := range cs {
			cs[i] = ConfigID(i*7 + r.IntN(7))
		}
		ps := make([]PulseShapeCombo, 1+r.IntN(MaxListLen))
		for i := range ps {
			ps[i] = PulseShapeCombo(i*31 + r.IntN(31))
		}
		return &CapabilityRequest{Versions: mustVersions(vs...), ConfigIDs: mustConfigs(cs...), PulseShapes: mustShapes(ps...)}
	case MsgCapabilityRS:
		return &CapabilityResponse{Version: dkey.Version(r.Uint32()), ConfigID: ConfigID(r.Uint32()), PulseShape: combo}
	case MsgSessionRQ:
		return &SessionRequest{Version: dkey.Version(r.Uint32()), ConfigID: ConfigID(r.Uint32()), SessionID: sid, PulseShape: combo, Channels: ChannelMask(1 + r.IntN(3))}
	case MsgSessionRS:
		return &SessionResponse{MinRANMultiplier: nonzero(), Slots: SlotMask(1 + r.IntN(0x7F)), SyncCodes: sync,
			Channel: []Channel{Channel5, Channel9}[r.IntN(2)], Hopping: []HoppingMask{0x80, 0x50, 0xF8, 0x28}[r.IntN(4)]}
	case MsgSetupRQ:
		resp := uint8(1 + r.IntN(20))
		slots, _ := minSlotsPerRound(resp)
		return &SetupRequest{RANMultiplier: nonzero(), ChapsPerSlot: slotLengths[r.IntN(len(slotLengths))], Responders: resp,
			SlotsPerRound: slots, SyncCodes: sync, Hopping: hoppingPriority[r.IntN(len(hoppingPriority))]}
	case MsgSetupRS:
		return &SetupResponse{STSIndex0: r.Uint32(), UWBTime0: r.Uint64(), HopModeKey: r.Uint32(), SyncCode: SyncCode(1 + r.IntN(32))}
	case MsgSuspendRQ:
		return &SuspendRequest{SessionID: sid}
	case MsgSuspendRS:
		return &SuspendResponse{Status: SuspendStatus(r.IntN(2))}
	case MsgRecoveryRQ:
		return &RecoveryRequest{SessionID: sid}
	case MsgRecoveryRS:
		return &RecoveryResponse{STSIndex0: r.Uint32(), UWBTime0: r.Uint64()}
	case MsgConfigurableRecoveryRQ:
		return &ConfigurableRecoveryRequest{SessionID: sid, RANMultiplier: nonzero()}
	case MsgConfigurableRecoveryRS:
		return &ConfigurableRecoveryResponse{STSIndex0: r.Uint32(), UWBTime0: r.Uint64()}
	}
	panic("unknown message")
}

// TestMessageRoundTrip encodes random valid messages of every type, parses
// them back and re-encodes them.
func TestMessageRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for id := MsgCapabilityRQ; id <= MsgConfigurableRecoveryRS; id++ {
		for range 200 {
			m := randomMessage(r, id)
			b := m.Append(nil)
			got, err := ParseMessage(id, b)
			if err != nil {
				t.Fatalf("ParseMessage(%v, %x) = %v (message %+v)", id, b, err, m)
			}
			if diff := cmp.Diff(m, got, allowUnexported); diff != "" {
				t.Fatalf("%v round trip mismatch (-want +got):\n%s", id, diff)
			}
			if b2 := got.Append(nil); !bytes.Equal(b, b2) {
				t.Fatalf("%v re-encodes %x as %x", id, b, b2)
			}
		}
	}
}

// TestMalformedMessages lists invalid payloads, each with the rule it
// breaks, and checks that they fail with ErrMalformed and leave the message
// unchanged.
func TestMalformedMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   MessageID
		hex  string
	}{
		{"capability/odd version list", MsgCapabilityRQ, "03 010000 02 0000 01 12"},
		{"capability/ascending versions", MsgCapabilityRQ, "04 0100 0200 02 0000 01 12"},
		{"capability/empty configurations", MsgCapabilityRQ, "02 0100 00 01 12"},
		{"capability/duplicate configuration", MsgCapabilityRQ, "02 0100 04 0001 0001 01 12"},
		{"capability/duplicate pulse shape", MsgCapabilityRQ, "02 0100 02 0001 02 12 12"},
		{"capability/empty pulse shapes", MsgCapabilityRQ, "02 0100 02 0001 00"},
		{"capability/too many configurations", MsgCapabilityRQ, "02 0100 12 0001 0002 0003 0004 0005 0006 0007 0008 0009 01 12"},
		{"capability/length past the end", MsgCapabilityRQ, "02 0100 02 0001 05 12"},
		{"capability response/pulse shape 22", MsgCapabilityRS, "0100 0001 22"},
		{"session/channel bit 2", MsgSessionRQ, "0100 0001 a1b2c3d4 12 04"},
		{"session/no channel", MsgSessionRQ, "0100 0001 a1b2c3d4 12 00"},
		{"session/pulse shape 00", MsgSessionRQ, "0100 0001 a1b2c3d4 00 03"},
		{"session response/RAN 0", MsgSessionRS, "00 3f 00000f00 09 f8"},
		{"session response/slot RFU bit", MsgSessionRS, "02 80 00000f00 09 f8"},
		{"session response/no SYNC code", MsgSessionRS, "02 3f 00000000 09 f8"},
		{"session response/channel 6", MsgSessionRS, "02 3f 00000f00 06 f8"},
		{"session response/hopping RFU bit", MsgSessionRS, "02 3f 00000f00 09 81"},
		{"session response/hopping without sequence", MsgSessionRS, "02 3f 00000f00 09 40"},
		{"setup/5 chaps", MsgSetupRQ, "02 05 04 08 00000f00 50"},
		{"setup/slots below responders+4", MsgSetupRQ, "02 06 04 06 00000f00 50"},
		{"setup/slots not allowed", MsgSetupRQ, "02 06 01 05 00000f00 50"},
		{"setup/no responder", MsgSetupRQ, "02 06 00 04 00000f00 50"},
		{"setup/two hopping modes", MsgSetupRQ, "02 06 04 08 00000f00 70"},
		{"setup/no SYNC code", MsgSetupRQ, "02 06 04 08 00000000 50"},
		{"setup response/SYNC 0", MsgSetupRS, "12345678 0000018d3b2c1a00 deadbeef 00"},
		{"setup response/SYNC 33", MsgSetupRS, "12345678 0000018d3b2c1a00 deadbeef 21"},
		{"suspend response/status 02", MsgSuspendRS, "02"},
		{"configurable recovery/RAN 0", MsgConfigurableRecoveryRQ, "a1b2c3d4 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := unhex(t, tc.hex)
			m := randomMessage(rand.New(rand.NewPCG(3, 4)), tc.id)
			before := m.Append(nil)
			if err := m.Unmarshal(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("Unmarshal(%x) = %v, want ErrMalformed", b, err)
			}
			if after := m.Append(nil); !bytes.Equal(before, after) {
				t.Errorf("a failed Unmarshal changed the message from %x to %x", before, after)
			}
		})
	}
}

func TestMessageIDs(t *testing.T) {
	for b := range 256 {
		id, err := ParseMessageID(byte(b))
		switch {
		case b >= 1 && b <= 0x0C:
			if err != nil || byte(id) != byte(b) {
				t.Errorf("ParseMessageID(%02x) = %v, %v", b, id, err)
			}
		default:
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseMessageID(%02x) = %v, %v, want ErrMalformed", b, id, err)
			}
		}
	}
	if _, err := NewMessage(0x0D); err == nil {
		t.Errorf("NewMessage(0x0D) succeeded")
	}
	for id := MsgCapabilityRQ; id <= MsgConfigurableRecoveryRS; id++ {
		if strings.HasPrefix(id.String(), "MessageID(") {
			t.Errorf("%d has no name", id)
		}
	}
}

func TestSessionIDFromTransaction(t *testing.T) {
	txid := unhex(t, "00112233445566778899aabbccddeeff")
	id, err := SessionIDFromTransaction(txid)
	if err != nil || id != (SessionID{0xCC, 0xDD, 0xEE, 0xFF}) || id.Uint32() != 0xCCDDEEFF || id.String() != "ccddeeff" {
		t.Errorf("SessionIDFromTransaction(%x) = %v (%#x), %v, want ccddeeff", txid, id, id.Uint32(), err)
	}
	if _, err := SessionIDFromTransaction(txid[:15]); !errors.Is(err, ErrMalformed) {
		t.Errorf("SessionIDFromTransaction(15 bytes) = %v, want ErrMalformed", err)
	}
}

// TestBitmasks checks the bitmask encodings of docs/protocol.md §8.4.
func TestBitmasks(t *testing.T) {
	if m := ChannelsOf(Channel5); m != 0x01 {
		t.Errorf("ChannelsOf(5) = %02x, want 01", uint8(m))
	}
	if m := ChannelsOf(Channel9, 6); m != 0x02 {
		t.Errorf("ChannelsOf(9, 6) = %02x, want 02", uint8(m))
	}
	for i, c := range []ChapsPerSlot{3, 4, 6, 8, 9, 12, 24} {
		if m := SlotsOf(c); m != 1<<i || !m.Has(c) || c.RSTU() != uint16(c)*400 {
			t.Errorf("SlotsOf(%d) = %02x, want %02x", c, uint8(m), 1<<i)
		}
	}
	if SlotsOf(5) != 0 || ChapsPerSlot(5).Valid() {
		t.Errorf("5 chaps per slot is accepted")
	}
	if c, ok := SlotsOf(12, 6, 24).Smallest(); !ok || c != 6 {
		t.Errorf("Smallest = %d, %v, want 6", c, ok)
	}
	if m := SyncCodesOf(1, 9, 32, 0, 33); m != 0x80000101 {
		t.Errorf("SyncCodesOf(1, 9, 32, 0, 33) = %08x, want 80000101", uint32(m))
	}
	if c, ok := SyncCodeMask(0x00000F00).Lowest(); !ok || c != 9 {
		t.Errorf("Lowest = %d, %v, want 9", c, ok)
	}
	for _, tc := range []struct {
		h    HoppingConfig
		bits uint8
		uci  uint8
	}{
		{HoppingContinuousDefault, 0x50, 0x03}, {HoppingContinuousAES, 0x48, 0x05},
		{HoppingAdaptiveDefault, 0x30, 0x02}, {HoppingAdaptiveAES, 0x28, 0x04}, {HoppingNone, 0x80, 0x00},
	} {
		if uint8(tc.h) != tc.bits || tc.h.UCIValue() != tc.uci || !tc.h.Valid() {
			t.Errorf("%v = %02x (UCI %02x), want %02x (UCI %02x)", tc.h, uint8(tc.h), tc.h.UCIValue(), tc.bits, tc.uci)
		}
	}
	if HoppingMask(0x50).Has(HoppingContinuousAES) || !HoppingMask(0xF8).Has(HoppingAdaptiveAES) {
		t.Errorf("HoppingMask.Has is wrong")
	}
	if c := NewPulseShapeCombo(PulsePrecursorFree, PulsePrecursorFreeSpecial); c != 0x12 || c.Initiator() != 1 || c.Responder() != 2 {
		t.Errorf("NewPulseShapeCombo(1, 2) = %v", c)
	}
	for _, n := range []uint8{4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 72, 96} {
		if !ValidSlotsPerRound(n) {
			t.Errorf("ValidSlotsPerRound(%d) = false", n)
		}
	}
	for _, tc := range []struct{ responders, want uint8 }{{1, 6}, {2, 6}, {4, 8}, {5, 9}, {6, 12}, {20, 24}, {92, 96}} {
		if got, ok := minSlotsPerRound(tc.responders); !ok || got != tc.want {
			t.Errorf("minSlotsPerRound(%d) = %d, %v, want %d", tc.responders, got, ok, tc.want)
		}
	}
	if _, ok := minSlotsPerRound(93); ok {
		t.Errorf("minSlotsPerRound(93) found a value")
	}
}

// FuzzMessage feeds arbitrary payloads to every message parser: nothing
// panics, and what parses re-encodes to the input.
func FuzzMessage(f *testing.F) {
	for _, g := range goldenMessages {
		f.Add(byte(g.msg.ID()), unhex(f, g.hex))
	}
	f.Fuzz(func(t *testing.T, idb byte, payload []byte) {
		id, err := ParseMessageID(idb)
		if err != nil {
			return
		}
		m, err := ParseMessage(id, payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseMessage(%v, %x) = %v, want an ErrMalformed", id, payload, err)
			}
			return
		}
		if got := m.Append(nil); !bytes.Equal(got, payload) {
			t.Fatalf("%v %x re-encodes as %x", id, payload, got)
		}
	})
}
