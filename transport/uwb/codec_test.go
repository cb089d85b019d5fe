package uwb

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opencarkey/sdk/internal/race"
)

type golden struct {
	name, source string
	packets      []byte
}

func readGolden(t testing.TB) []golden {
	t.Helper()
	f, err := os.Open("testdata/golden_packets.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gs []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			t.Fatalf("golden line %q: want 3 tab-separated fields", line)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(parts[2], " ", ""))
		if err != nil {
			t.Fatalf("golden %s: %v", parts[0], err)
		}
		gs = append(gs, golden{parts[0], parts[1], b})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return gs
}

// splitPackets cuts a byte string into packets by their headers.
func splitPackets(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var ps [][]byte
	for len(b) > 0 {
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatalf("ParseHeader(%x) = %v", b, err)
		}
		if len(b) < HeaderSize+h.Len {
			t.Fatalf("packet %x shorter than its header says", b)
		}
		ps = append(ps, b[:HeaderSize+h.Len])
		b = b[HeaderSize+h.Len:]
	}
	return ps
}

// prefixMayParse reports the documented exceptions to "no strict prefix
// parses" (see Message): the status octet alone is a UCI 1.x
// SESSION_INIT_RSP, and the status octet of a failed
// CORE_GET_DEVICE_INFO_RSP is a status-only response.
func prefixMayParse(m Message, prefix []byte) bool {
	switch m.(type) {
	case *SessionInitRsp:
		return len(prefix) == 1
	case *GetDeviceInfoRsp:
		return len(prefix) == 1 && prefix[0] != byte(StatusOK)
	}
	return false
}

// TestGoldenPackets decodes every golden packet sequence, re-encodes it and
// compares, and checks that no strict prefix of a payload decodes.
func TestGoldenPackets(t *testing.T) {
	gs := readGolden(t)
	seen := map[string]bool{}
	for _, g := range gs {
		t.Run(g.name, func(t *testing.T) {
			ps := splitPackets(t, g.packets)
			r := NewReassembler(4096)
			var p Packet
			for i, pk := range ps {
				var done bool
				var err error
				p, done, err = r.Add(pk)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if done != (i == len(ps)-1) {
					t.Fatalf("packet %d of %d: done = %v", i, len(ps), done)
				}
			}
			m := NewMessage(p.MT, p.Op)
			if m == nil {
				t.Fatalf("no message for %v %v", p.MT, p.Op)
			}
			if !strings.HasPrefix(g.name, strings.Split(g.name, "/")[0]) {
				t.Fatal("bad name")
			}
			payload := bytes.Clone(p.Payload)
			if err := m.UnmarshalPayload(payload); err != nil {
				t.Fatalf("%T.UnmarshalPayload(%x) = %v", m, payload, err)
			}
			seg := MaxControlPayload
			if len(ps) > 1 {
				seg = len(ps[0]) - HeaderSize
			}
			if got := AppendMessage(nil, m.Type(), m.Opcode(), m.AppendPayload(nil), seg); !bytes.Equal(got, g.packets) {
				t.Errorf("re-encoded as\n%x\nwant\n%x", got, g.packets)
			}
			for n := range len(payload) {
				fresh := NewMessage(p.MT, p.Op)
				if err := fresh.UnmarshalPayload(payload[:n]); err == nil && !prefixMayParse(fresh, payload[:n]) {
					t.Errorf("strict prefix %x of %x decodes", payload[:n], payload)
				} else if err != nil && !errors.Is(err, ErrMalformed) {
					t.Errorf("prefix %x: %v does not wrap ErrMalformed", payload[:n], err)
				}
			}
		})
		seen[strings.Split(g.name, "/")[0]] = true
	}
	for _, want := range []string{
		"CoreDeviceResetCmd", "CoreDeviceResetRsp", "CoreDeviceStatusNtf", "CoreGetDeviceInfoCmd", "CoreGetDeviceInfoRsp",
		"CoreGetCapsInfoCmd", "CoreGetCapsInfoRsp", "CoreGenericErrorNtf", "CoreQueryTimestampCmd", "CoreQueryTimestampRsp",
		"SessionInitCmd", "SessionInitRsp", "SessionDeinitCmd", "SessionDeinitRsp", "SessionStatusNtf",
		"SessionSetAppConfigCmd", "SessionSetAppConfigRsp", "SessionGetAppConfigCmd", "SessionGetAppConfigRsp",
		"SessionStartCmd", "SessionStartRsp", "SessionStopCmd", "SessionStopRsp", "SessionInfoNtf",
	} {
		if !seen[want] {
			t.Errorf("no golden packet for %s", want)
		}
	}
}

// TestGoldenCCC decodes the project's CCC golden packets into the values
// they were written from.
func TestGoldenCCC(t *testing.T) {
	byName := map[string][]byte{}
	for _, g := range readGolden(t) {
		byName[g.name] = g.packets
	}
	decode := func(name string, m Message) {
		t.Helper()
		ps := splitPackets(t, byName[name])
		r := NewReassembler(4096)
		var p Packet
		for _, pk := range ps {
			var err error
			if p, _, err = r.Add(pk); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.UnmarshalPayload(p.Payload); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var set SetAppConfigCmd
	decode("SessionSetAppConfigCmd/ccc-segmented", &set)
	var cfg CCCConfig
	if err := cfg.FromAppConfigs(&set.Config); err != nil {
		t.Fatal(err)
	}
	want := CCCConfig{
		Initiator: true, ProtocolVersion: 0x0100, ConfigID: 1, PulseShapeCombo: 0x12, Channel: 9,
		STSIndex0: 0x12345678, UWBTime0: 0x0000018D3B2C1A00, HopModeKey: 0xDEADBEEF, RANMultiplier: 2,
		ChapsPerSlot: 6, Responders: 4, SlotsPerRound: 8, SyncCode: 9, HoppingMode: 3, URSKTTL: 720,
	}
	for i := range want.URSK {
		want.URSK[i] = byte(i)
	}
	if cfg != want {
		t.Errorf("CCC configuration %v, want %v", cfg, want)
	}
	var again AppConfigs
	if err := want.AppConfigs(&again); err != nil {
		t.Fatal(err)
	}
	if got := (&SetAppConfigCmd{Session: 0x10000001, Config: again}).AppendPayload(nil); !bytes.Equal(got, set.AppendPayload(nil)) {
		t.Errorf("CCCConfig.AppConfigs encodes %x, want %x", got, set.AppendPayload(nil))
	}

	var caps GetCapsRsp
	decode("CoreGetCapsInfoRsp/ccc", &caps)
	c, err := caps.Caps.CCC()
	if err != nil {
		t.Fatal(err)
	}
	if c.Slots != 0x3F || c.SyncCodes != 0x00000F00 || c.Hopping != 0xF8 || c.Channels != 3 || c.MinRAN != 1 || c.MaxSessions != 4 ||
		!cmp.Equal(c.Versions(), []uint16{0x0100}) || !cmp.Equal(c.ConfigIDs(), []uint16{0, 1}) || !cmp.Equal(c.PulseShapes(), []uint8{0x01, 0x10, 0x11, 0x12, 0x21}) {
		t.Errorf("CCC capabilities %+v", c)
	}

	var ntf RangingData
	decode("SessionInfoNtf/ccc-segmented", &ntf)
	ms := ntf.Measurements()
	if ntf.Session != 0x10000001 || ntf.Sequence != 5 || ntf.Interval != 192 || len(ms) != 1 ||
		ms[0].Distance != 200 || ms[0].Status != StatusOK || ms[0].Address != [8]byte{0x00, 0x0A} || ms[0].SlotIndex != 1 {
		t.Errorf("ranging data %v %+v", &ntf, ms)
	}
	var get GetAppConfigRsp
	decode("SessionGetAppConfigRsp/ccc", &get)
	if v, ok := get.Config.Uint(CfgCCCLastSTSIndexUsed); !ok || v != 0x1234567A {
		t.Errorf("CCC_LAST_INDEX_USED = %#x, %v", v, ok)
	}
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want Header
		err  bool
	}{
		{"command", "21030005", Header{MT: MTCommand, GID: 1, OID: 3, Len: 5}, false},
		{"segment", "7200ff00", Header{}, true}, // octet 2 RFU
		{"segment ok", "720000ff", Header{MT: MTNotification, PBF: true, GID: 2, Len: 255}, false},
		{"data", "01000010", Header{MT: MTData, GID: 1, Len: 0x1000}, false},
		{"data too long", "01000110", Header{}, true},
		{"data RFU", "01010000", Header{}, true},
		{"OID RFU bits", "20400000", Header{}, true},
		{"MT 4", "80000000", Header{}, true},
		{"MT 7", "e0000000", Header{}, true},
		{"short", "200000", Header{}, true},
	} {
		got, err := ParseHeader(unhexT(t, tc.hex))
		if tc.err {
			if !errors.Is(err, ErrFraming) {
				t.Errorf("%s: ParseHeader(%s) = %+v, %v, want ErrFraming", tc.name, tc.hex, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: ParseHeader(%s) = %+v, %v, want %+v", tc.name, tc.hex, got, err, tc.want)
		}
		if b := AppendHeader(nil, got); hex.EncodeToString(b) != tc.hex {
			t.Errorf("%s: AppendHeader = %x, want %s", tc.name, b, tc.hex)
		}
	}
}

func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSegmentation checks the segmentation edge cases: an empty payload, a
// payload of exactly one full segment, one byte more, a notification split
// into one-byte segments, and the limits of the reassembler.
func TestSegmentation(t *testing.T) {
	op := OpSessionStart
	for _, tc := range []struct {
		n, seg, packets int
	}{
		{0, 255, 1}, {1, 255, 1}, {255, 255, 1}, {256, 255, 2}, {510, 255, 2}, {511, 255, 3}, {300, 1, 300}, {56, 0, 1},
	} {
		payload := make([]byte, tc.n)
		for i := range payload {
			payload[i] = byte(i)
		}
		b := AppendMessage(nil, MTNotification, op, payload, tc.seg)
		ps := splitPackets(t, b)
		if len(ps) != tc.packets {
			t.Errorf("%d bytes in segments of %d: %d packets, want %d", tc.n, tc.seg, len(ps), tc.packets)
		}
		r := NewReassembler(1024)
		for i, p := range ps {
			h, _ := ParseHeader(p)
			if h.PBF != (i < len(ps)-1) {
				t.Errorf("%d bytes: packet %d PBF %v", tc.n, i, h.PBF)
			}
			got, done, err := r.Add(p)
			if err != nil || done != (i == len(ps)-1) {
				t.Fatalf("%d bytes: Add(packet %d) = %v, %v", tc.n, i, done, err)
			}
			if done && (!bytes.Equal(got.Payload, payload) || got.Op != op || got.MT != MTNotification) {
				t.Errorf("%d bytes: reassembled %v %v %x", tc.n, got.MT, got.Op, got.Payload)
			}
		}
	}

	// An oversize total: 5 segments of 255 bytes against a limit of 1024.
	r := NewReassembler(1024)
	ps := splitPackets(t, AppendMessage(nil, MTNotification, op, make([]byte, 1025), 255))
	var err error
	for _, p := range ps {
		if _, _, err = r.Add(p); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFraming) || r.Pending() {
		t.Errorf("an oversize message: %v (pending %v), want ErrFraming", err, r.Pending())
	}
	// Exactly at the limit passes.
	ps = splitPackets(t, AppendMessage(nil, MTNotification, op, make([]byte, 1024), 255))
	for i, p := range ps {
		if _, done, err := r.Add(p); err != nil || done != (i == len(ps)-1) {
			t.Fatalf("a message at the limit: packet %d: %v, %v", i, done, err)
		}
	}
	// A packet of another message interleaved with the segments.
	seg := splitPackets(t, AppendMessage(nil, MTNotification, op, make([]byte, 300), 255))
	other := AppendMessage(nil, MTResponse, OpSessionStop, []byte{0}, 255)
	if _, _, err := r.Add(seg[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Add(other); !errors.Is(err, ErrFraming) {
		t.Errorf("an interleaved packet: %v, want ErrFraming", err)
	}
	// The reassembler starts over afterwards.
	if p, done, err := r.Add(other); err != nil || !done || p.Op != OpSessionStop {
		t.Errorf("after the error: %v %v %v", p, done, err)
	}
	// A packet whose length disagrees with its header; a data packet.
	if _, _, err := r.Add(unhexT(t, "42010002 00")); !errors.Is(err, ErrFraming) {
		t.Errorf("short packet: %v, want ErrFraming", err)
	}
	if _, _, err := r.Add(unhexT(t, "01000100 00")); !errors.Is(err, ErrFraming) {
		t.Errorf("data packet: %v, want ErrFraming", err)
	}
	// A zero Reassembler takes unsegmented messages and refuses segmented
	// ones.
	var zero Reassembler
	if _, done, err := zero.Add(other); err != nil || !done {
		t.Errorf("zero Reassembler, single packet: %v %v", done, err)
	}
	if _, _, err := zero.Add(seg[0]); !errors.Is(err, ErrFraming) {
		t.Errorf("zero Reassembler, segment: %v, want ErrFraming", err)
	}
}

// randomMessages returns one random valid message of every type.
func randomMessages(r *rand.Rand) []Message {
	st := func() Status { return Status(r.UintN(256)) }
	u32 := r.Uint32
	var info GetDeviceInfoRsp
	info.Status, info.UCIVersion, info.MACVersion = st(), uint16(u32()), uint16(u32())
	_ = info.SetVendor(make([]byte, r.IntN(MaxVendorInfo+1)))
	var caps GetCapsRsp
	caps.Status = st()
	for i := range r.IntN(10) {
		_ = caps.Caps.Add(uint8(i*17), make([]byte, r.IntN(MaxCapValue+1)))
	}
	var set SetAppConfigCmd
	set.Session = u32()
	_ = set.Config.SetUint(CfgChannelNumber, 9)
	_ = set.Config.SetUint(CfgSTSIndex, uint64(u32()))
	_ = set.Config.SetBytes(CfgSessionKey, make([]byte, 16+16*r.IntN(2)))
	_ = set.Config.SetBytes(CfgDeviceMACAddress, make([]byte, 2+6*r.IntN(2)))
	var rsp SetAppConfigRsp
	rsp.Status = st()
	for range r.IntN(4) {
		_ = rsp.AddResult(CfgChannelNumber, st())
	}
	var get GetAppConfigCmd
	get.Session = u32()
	_ = get.SetIDs(CfgSTSIndex, CfgCCCUWBTime0)
	var grsp GetAppConfigRsp
	grsp.Status = st()
	_ = grsp.Config.SetUint(CfgCCCUWBTime0, r.Uint64())
	var rd RangingData
	rd.Sequence, rd.Session, rd.Interval, rd.AddressMode = u32(), u32(), u32(), uint8(r.IntN(2))
	for range r.IntN(MaxMeasurements + 1) {
		m := TwoWayMeasurement{Status: st(), NLOS: uint8(r.IntN(2)), Distance: uint16(u32()), AoAAzimuth: uint16(u32()), SlotIndex: uint8(u32()), RSSI: uint8(u32())}
		m.Address[0], m.Address[1] = byte(u32()), byte(u32())
		if rd.AddressMode == AddressExtended {
			m.Address[7] = byte(u32())
		}
		_ = rd.AddMeasurement(m)
	}
	_ = rd.SetVendor(make([]byte, r.IntN(8)))
	return []Message{
		&DeviceResetCmd{}, &DeviceResetRsp{Status: st()}, &DeviceStatusNtf{State: []DeviceState{DeviceReady, DeviceActive, DeviceError}[r.IntN(3)]},
		&GetDeviceInfoCmd{}, &info, &GetDeviceInfoRsp{Status: StatusFailed, StatusOnly: true}, &GetCapsCmd{}, &caps, &GenericErrorNtf{Status: st()},
		&QueryTimestampCmd{}, &QueryTimestampRsp{Status: st(), Timestamp: r.Uint64()},
		&SessionInitCmd{SessionID: u32(), SessionType: SessionCCC}, &SessionInitRsp{Status: st(), Handle: u32(), HasHandle: true}, &SessionInitRsp{Status: st()},
		&SessionDeinitCmd{Session: u32()}, &SessionDeinitRsp{Status: st()},
		&SessionStatusNtf{Session: u32(), State: SessionState(r.IntN(4)), Reason: uint8(u32())},
		&set, &rsp, &get, &grsp,
		&SessionStartCmd{Session: u32()}, &SessionStartRsp{Status: st()}, &SessionStopCmd{Session: u32()}, &SessionStopRsp{Status: st()},
		&rd,
	}
}

var cmpOpts = cmp.Options{
	cmp.AllowUnexported(GetDeviceInfoRsp{}, Caps{}, CapTLV{}, AppConfigs{}, AppConfig{}, SetAppConfigRsp{}, GetAppConfigCmd{}, RangingData{}),
}

func TestMessageRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		for _, m := range randomMessages(r) {
			b := m.AppendPayload(nil)
			got := NewMessage(m.Type(), m.Opcode())
			if err := got.UnmarshalPayload(b); err != nil {
				t.Fatalf("%T.UnmarshalPayload(%x) = %v", m, b, err)
			}
			if !reflect.DeepEqual(m, got) {
				t.Fatalf("%T round trip (-want +got):\n%s", m, cmp.Diff(m, got, cmpOpts))
			}
			if b2 := got.AppendPayload(nil); !bytes.Equal(b, b2) {
				t.Fatalf("%T re-encodes %x as %x", m, b, b2)
			}
		}
	}
}

// TestMalformedPayloads lists invalid payloads with the rule each breaks.
func TestMalformedPayloads(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		hex  string
	}{
		{"reset config 01", new(DeviceResetCmd), "01"},
		{"device state 03", new(DeviceStatusNtf), "03"},
		{"device info vendor length past the end", new(GetDeviceInfoRsp), "00 0100 0200 0300 0400 02 0a"},
		{"device info status OK alone", new(GetDeviceInfoRsp), "00"},
		{"caps count past the end", new(GetCapsRsp), "00 02 a0 01 3f"},
		{"caps duplicate", new(GetCapsRsp), "00 02 a0 01 3f a0 01 3f"},
		{"caps value too long", new(GetCapsRsp), "00 01 a0 21" + strings.Repeat("00", 33)},
		{"caps trailing byte", new(GetCapsRsp), "00 00 00"},
		{"session type 0x50", new(SessionInitCmd), "01020304 50"},
		{"init response of 3 bytes", new(SessionInitRsp), "00 0100"},
		{"session state 04", new(SessionStatusNtf), "01020304 04 00"},
		{"unknown app config 0x07", new(SetAppConfigCmd), "01020304 01 07 01 00"},
		{"app config wrong size", new(SetAppConfigCmd), "01020304 01 04 02 0900"},
		{"session key of 20 bytes", new(SetAppConfigCmd), "01020304 01 45 14" + strings.Repeat("00", 20)},
		{"app config twice", new(SetAppConfigCmd), "01020304 02 04 01 09 04 01 05"},
		{"app config count past the end", new(SetAppConfigCmd), "01020304 02 04 01 09"},
		{"app config trailing byte", new(SetAppConfigCmd), "01020304 01 04 01 09 00"},
		{"set response odd length", new(SetAppConfigRsp), "04 01 a8"},
		{"get unknown parameter", new(GetAppConfigCmd), "01020304 01 07"},
		{"get parameter twice", new(GetAppConfigCmd), "01020304 02 0a 0a"},
		{"ranging: OWR AoA", new(RangingData), "00000000 00000000 00 00000000 03 00 00 00000000 00000000 00"},
		{"ranging: address mode 02", new(RangingData), "00000000 00000000 00 00000000 01 00 02 00000000 00000000 00"},
		{"ranging: reserved byte", new(RangingData), "00000000 00000000 00 00000000 01 01 00 00000000 00000000 00"},
		{"ranging: reserved word", new(RangingData), "00000000 00000000 00 00000000 01 00 00 00000000 00000001 00"},
		{"ranging: measurement truncated", new(RangingData), "00000000 00000000 00 00000000 01 00 00 00000000 00000000 01 000a"},
		{"ranging: 17 measurements", new(RangingData), "00000000 00000000 00 00000000 01 00 00 00000000 00000000 11" + strings.Repeat("00", 17*31)},
		{"ranging: measurement RFU", new(RangingData), "00000000 00000000 00 00000000 01 00 00 00000000 00000000 01 000a 00 00 c800 0000 00 0000 00 0000 00 0000 00 01 00 0000000000000000000001"},
		{"ranging: vendor data too long", new(RangingData), "00000000 00000000 00 00000000 01 00 00 00000000 00000000 00" + strings.Repeat("00", 65)},
		{"timestamp short", new(QueryTimestampRsp), "00 0102030405"},
		{"start with payload", new(GetCapsCmd), "00"},
	} {
		before := tc.m.AppendPayload(nil)
		if err := tc.m.UnmarshalPayload(unhexT(t, tc.hex)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %T.UnmarshalPayload = %v, want ErrMalformed", tc.name, tc.m, err)
		}
		if after := tc.m.AppendPayload(nil); !bytes.Equal(before, after) {
			t.Errorf("%s: a failed decode changed the message", tc.name)
		}
	}
}

func TestAppConfigs(t *testing.T) {
	var l AppConfigs
	if err := l.SetUint(CfgChannelNumber, 9); err != nil {
		t.Fatal(err)
	}
	if err := l.SetUint(CfgChannelNumber, 5); err != nil || l.Len() != 1 {
		t.Errorf("replacing a parameter: %v, %d entries", err, l.Len())
	}
	if v, ok := l.Uint(CfgChannelNumber); !ok || v != 5 {
		t.Errorf("Uint = %d, %v", v, ok)
	}
	if err := l.SetUint(CfgChannelNumber, 256); !errors.Is(err, ErrMalformed) {
		t.Errorf("SetUint(256) into one byte = %v", err)
	}
	if err := l.SetUint(CfgSessionKey, 1); !errors.Is(err, ErrMalformed) {
		t.Errorf("SetUint(SESSION_KEY) = %v", err)
	}
	if err := l.SetBytes(AppConfigID(0x07), []byte{0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("SetBytes(unknown) = %v", err)
	}
	key := bytes.Repeat([]byte{0xA5}, 32)
	if err := l.SetBytes(CfgSessionKey, key); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{l.String(), l.At(1).String()} {
		if strings.Contains(strings.ToLower(s), "a5a5") {
			t.Errorf("%q prints the session key", s)
		}
	}
	cfg := CCCConfig{URSK: [32]byte(key)}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		if strings.Contains(strings.ToLower(s), "a5a5") {
			t.Errorf("%q prints the URSK", s)
		}
	}
	c, _ := l.Get(CfgSessionKey)
	l.Clear()
	if l.Len() != 0 || !bytes.Equal(c.v[:], make([]byte, 32)) {
		t.Errorf("Clear left the key behind")
	}
}

func TestCCCConfigChecks(t *testing.T) {
	good := CCCConfig{Initiator: true, ProtocolVersion: 0x0100, Channel: 9, RANMultiplier: 1, ChapsPerSlot: 3, Responders: 1, SlotsPerRound: 6, SyncCode: 9}
	var l AppConfigs
	if err := good.AppConfigs(&l); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		id    AppConfigID
		value uint64
	}{
		{"ranging duration not a multiple of 96", CfgRangingDuration, 100},
		{"slot duration not a multiple of 400", CfgSlotDuration, 1000},
		{"initiator controlee", CfgDeviceType, TypeControlee},
		{"role 05", CfgDeviceRole, 5},
	} {
		bad := l
		_ = bad.SetUint(tc.id, tc.value)
		var c CCCConfig
		if err := c.FromAppConfigs(&bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
	}
	var missing AppConfigs
	_ = missing.SetUint(CfgChannelNumber, 9)
	var c CCCConfig
	if err := c.FromAppConfigs(&missing); !errors.Is(err, ErrMalformed) {
		t.Errorf("incomplete CCC configuration: %v", err)
	}
	other := good
	other.Initiator = false
	if !good.SameSession(&other) || good.SameSession(&good) {
		t.Errorf("SameSession ignores the roles")
	}
	other.URSK[0] = 1
	if good.SameSession(&other) {
		t.Errorf("SameSession ignores the URSK")
	}
}

// TestAllocs checks that encoding into a caller's buffer and decoding
// allocate nothing.
func TestAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	gs := readGolden(t)
	var ntf, set []byte
	for _, g := range gs {
		switch g.name {
		case "SessionInfoNtf/ccc-segmented":
			ntf = g.packets
		case "SessionSetAppConfigCmd/ccc":
			set = g.packets
		}
	}
	ntfPackets := splitPackets(t, ntf)
	r := NewReassembler(2048)
	var rd RangingData
	var cmd SetAppConfigCmd
	if err := cmd.UnmarshalPayload(set[HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	pbuf := make([]byte, 0, 1024)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"encode SET_APP_CONFIG", func() { buf = AppendMessage(buf[:0], MTCommand, cmd.Opcode(), cmd.AppendPayload(pbuf[:0]), 255) }},
		{"decode SET_APP_CONFIG", func() { _ = cmd.UnmarshalPayload(set[HeaderSize:]) }},
		{"reassemble and decode SESSION_INFO_NTF", func() {
			for _, p := range ntfPackets {
				if pk, done, _ := r.Add(p); done {
					_ = rd.UnmarshalPayload(pk.Payload)
				}
			}
		}},
		{"encode SESSION_INFO_NTF", func() { buf = AppendMessage(buf[:0], MTNotification, rd.Opcode(), rd.AppendPayload(pbuf[:0]), 32) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s allocated %v times, want 0", tc.name, n)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	var cfg CCCConfig
	cfg.Initiator, cfg.Channel, cfg.RANMultiplier, cfg.ChapsPerSlot, cfg.Responders, cfg.SlotsPerRound, cfg.SyncCode = true, 9, 2, 6, 4, 8, 9
	cmd := SetAppConfigCmd{Session: 1}
	if err := cfg.AppConfigs(&cmd.Config); err != nil {
		b.Fatal(err)
	}
	var rd RangingData
	for i := range 8 {
		_ = rd.AddMeasurement(TwoWayMeasurement{Distance: uint16(100 * i)})
	}
	buf := make([]byte, 0, 1024)
	pbuf := make([]byte, 0, 1024)
	b.Run("SET_APP_CONFIG", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendMessage(buf[:0], MTCommand, cmd.Opcode(), cmd.AppendPayload(pbuf[:0]), 255)
		}
	})
	b.Run("SESSION_INFO_NTF/8-measurements-segmented", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendMessage(buf[:0], MTNotification, rd.Opcode(), rd.AppendPayload(pbuf[:0]), 255)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var rd RangingData
	for i := range 8 {
		_ = rd.AddMeasurement(TwoWayMeasurement{Distance: uint16(100 * i)})
	}
	ntf := AppendMessage(nil, MTNotification, rd.Opcode(), rd.AppendPayload(nil), 255)
	packets := splitPackets(b, ntf)
	r := NewReassembler(2048)
	var got RangingData
	b.Run("SESSION_INFO_NTF/8-measurements-segmented", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range packets {
				if pk, done, err := r.Add(p); done && err == nil {
					_ = got.UnmarshalPayload(pk.Payload)
				}
			}
		}
	})
	var set []byte
	for _, g := range readGolden(b) {
		if g.name == "SessionSetAppConfigCmd/ccc" {
			set = g.packets[HeaderSize:]
		}
	}
	var cmd SetAppConfigCmd
	b.Run("SET_APP_CONFIG", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := cmd.UnmarshalPayload(set); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the host's receive path: packets
// split by their headers, reassembled, and decoded by opcode. Nothing
// panics, and every message that decodes re-encodes to its payload.
func FuzzDecode(f *testing.F) {
	for _, g := range readGolden(f) {
		f.Add(g.packets)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReassembler(2048)
		for len(b) >= HeaderSize {
			h, err := ParseHeader(b)
			if err != nil {
				if !errors.Is(err, ErrFraming) {
					t.Fatalf("ParseHeader: %v is not a framing error", err)
				}
				return
			}
			if len(b) < HeaderSize+h.Len {
				return
			}
			pk := b[:HeaderSize+h.Len]
			b = b[HeaderSize+h.Len:]
			if h.MT == MTData {
				continue
			}
			p, done, err := r.Add(pk)
			if err != nil {
				if !errors.Is(err, ErrFraming) {
					t.Fatalf("Add: %v is not a framing error", err)
				}
				continue
			}
			if !done {
				continue
			}
			m := NewMessage(p.MT, p.Op)
			if m == nil {
				continue
			}
			payload := bytes.Clone(p.Payload)
			if err := m.UnmarshalPayload(payload); err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%T: %v does not wrap ErrMalformed", m, err)
				}
				continue
			}
			if got := m.AppendPayload(nil); !bytes.Equal(got, payload) {
				t.Fatalf("%T %x re-encodes as %x", m, payload, got)
			}
			// The CCC readers of decoded messages never panic either, and
			// what they accept maps back to the same parameters.
			switch m := m.(type) {
			case *GetCapsRsp:
				if c, err := m.Caps.CCC(); err == nil {
					var again Caps
					if err := again.AppendCCC(&c); err != nil {
						t.Fatalf("AppendCCC(%+v) = %v", c, err)
					}
				}
			case *SetAppConfigCmd:
				var c CCCConfig
				if c.FromAppConfigs(&m.Config) == nil {
					var l AppConfigs
					if err := c.AppConfigs(&l); err != nil {
						t.Fatalf("AppConfigs(%v) = %v", c, err)
					}
					var c2 CCCConfig
					if err := c2.FromAppConfigs(&l); err != nil || c2 != c {
						t.Fatalf("CCC configuration %v does not survive a round trip: %v, %v", c, c2, err)
					}
				}
			}
		}
	})
}
