package nci_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/opencarkey/sdk/internal/race"
	"github.com/opencarkey/sdk/transport/nci"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Packets published by third parties (testdata/README.md): NXP's
// libnfc-nxp.conf for the PN7160 carries whole CORE_SET_CONFIG and
// proprietary commands.
var knownPackets = []struct {
	name string
	hex  string
	mt   nci.MessageType
	gid  uint8
	oid  uint8
	n    int
}{
	{"NXP_ACT_PROP_EXTN", "2f 02 00", nci.Command, 0xF, 0x02, 0},
	{"NXP_NFC_PROFILE_EXTN", "20 02 05 01 a0 44 01 00", nci.Command, 0, 0x02, 5},
	{"NXP_CORE_CONF_EXTN", "20 02 09 02 a0 5e 01 01 a0 40 01 00", nci.Command, 0, 0x02, 9},
	{"NXP_EXT_TVDD_CFG_1", "20 02 0f 01 a0 0e 0b 31 01 01 31 00 00 00 01 00 d0 0c", nci.Command, 0, 0x02, 15},
	{"NXP_CORE_CONF", "20 02 31 0f 85 01 01 28 01 00 21 01 00 30 01 08 31 01 03 32 01 60 38 01 01 33 04 01 02 03 04 54 01 06 50 01 02 5b 01 00 80 01 01 81 01 01 82 01 0e 18 01 01", nci.Command, 0, 0x02, 0x31},
	// NXP libnfc-nci nci_snd_iso_dep_nak_presence_check_cmd: 21 10 00.
	{"RF_ISO_DEP_NAK_PRESENCE_CMD", "21 10 00", nci.Command, 1, 0x10, 0},
}

func TestParseKnownPackets(t *testing.T) {
	for _, tt := range knownPackets {
		b := mustHex(t, tt.hex)
		p, err := nci.ParsePacket(b)
		if err != nil {
			t.Errorf("%s: ParsePacket = %v", tt.name, err)
			continue
		}
		if p.MT != tt.mt || p.ID != tt.gid || p.OID != tt.oid || len(p.Payload) != tt.n || p.PBF {
			t.Errorf("%s: ParsePacket = %+v", tt.name, p)
		}
		if out, err := p.Append(nil); err != nil || !bytes.Equal(out, b) {
			t.Errorf("%s: Append = %X, %v", tt.name, out, err)
		}
		if p.MT == nci.Command && p.OID == nci.OIDCoreSetConfig && p.ID == 0 {
			ps, err := nci.ParseSetConfig(p.Payload)
			if err != nil || len(ps) != int(p.Payload[0]) {
				t.Errorf("%s: ParseSetConfig = %d parameters, %v", tt.name, len(ps), err)
			}
			again, _ := nci.AppendSetConfig(nil, ps...)
			if !bytes.Equal(again, p.Payload) {
				t.Errorf("%s: AppendSetConfig(ParseSetConfig) = %X", tt.name, again)
			}
		}
	}
	// NXP_CORE_CONF's first parameter is NFCC_CONFIG_CONTROL (85h).
	p, _ := nci.ParsePacket(mustHex(t, knownPackets[4].hex))
	ps, _ := nci.ParseSetConfig(p.Payload)
	p, _ = nci.ParsePacket(mustHex(t, knownPackets[3].hex))
	tvdd, _ := nci.ParseSetConfig(p.Payload)
	if len(tvdd) != 1 || tvdd[0].ID != 0xA00E || len(tvdd[0].Value) != 11 {
		t.Errorf("NXP_EXT_TVDD_CFG_1 parameters %+v, want A00E with 11 bytes", tvdd)
	}
	if ps[0].ID != 0x85 || !bytes.Equal(ps[0].Value, []byte{0x01}) || ps[7].ID != 0x33 || len(ps[7].Value) != 4 {
		t.Errorf("NXP_CORE_CONF parameters %+v", ps)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		p := nci.Packet{MT: nci.MessageType(r.IntN(4)), PBF: r.IntN(2) == 0, ID: uint8(r.IntN(16))}
		if p.MT != nci.Data {
			p.OID = uint8(r.IntN(64))
		}
		p.Payload = make([]byte, r.IntN(nci.MaxPayload+1))
		for i := range p.Payload {
			p.Payload[i] = byte(r.Uint32())
		}
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := nci.ParsePacket(b)
		if err != nil || g.MT != p.MT || g.PBF != p.PBF || g.ID != p.ID || g.OID != p.OID || !bytes.Equal(g.Payload, p.Payload) {
			t.Fatalf("ParsePacket(Append(%+v)) = %+v, %v", p.MT, g, err)
		}
		for i := range len(b) {
			if _, err := nci.ParsePacket(b[:i]); err == nil {
				t.Fatalf("ParsePacket(prefix %d of %d) succeeded", i, len(b))
			}
		}
	}
}

func TestPacketErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		hex  string
	}{
		{"message type 4", "80 00 00"},
		{"message type 7", "e0 00 00"},
		{"RFU bits in a control header", "20 c0 00"},
		{"RFU octet in a data header", "00 01 00"},
		{"short payload", "20 00 02 01"},
		{"long payload", "20 00 01 01 02"},
	} {
		if _, err := nci.ParsePacket(mustHex(t, tt.hex)); !errors.Is(err, nci.ErrMalformedPacket) {
			t.Errorf("%s: ParsePacket(%s) = %v, want %v", tt.name, tt.hex, err, nci.ErrMalformedPacket)
		}
	}
	for _, p := range []nci.Packet{
		{MT: 4}, {MT: nci.Command, ID: 16}, {MT: nci.Data, OID: 1}, {MT: nci.Command, OID: 64},
		{MT: nci.Command, Payload: make([]byte, 256)},
	} {
		if _, err := p.Append(nil); err == nil {
			t.Errorf("Append(%+v) succeeded", p)
		}
	}
	if _, err := nci.AppendMessage(nil, nci.Command, 0, 0, nil, 0); err == nil {
		t.Error("AppendMessage with segments of 0 bytes succeeded")
	}
	if _, err := nci.AppendMessage(nil, nci.Command, 0, 0, nil, 256); err == nil {
		t.Error("AppendMessage with segments of 256 bytes succeeded")
	}
}

func TestSegmentation(t *testing.T) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i)
	}
	for _, seg := range []int{1, 7, 255} {
		b, err := nci.AppendMessage(nil, nci.Data, nci.ConnStatic, 0, payload, seg)
		if err != nil {
			t.Fatal(err)
		}
		var r nci.Reassembler
		r.Max = nci.MaxDataMessage
		var got nci.Message
		var done, packets int
		for len(b) > 0 {
			p, n, err := nci.ScanPacket(b)
			if err != nil || n == 0 || len(p.Payload) > seg {
				t.Fatalf("ScanPacket = %+v, %d, %v", p, n, err)
			}
			b = b[n:]
			packets++
			m, ok, err := r.Add(p)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				got, done = m, done+1
			}
		}
		if done != 1 || !bytes.Equal(got.Payload, payload) || packets != (len(payload)+seg-1)/seg {
			t.Errorf("segments of %d: %d messages in %d packets, payload equal %v", seg, done, packets, bytes.Equal(got.Payload, payload))
		}
	}
	// An empty message is one empty packet.
	b, _ := nci.AppendMessage(nil, nci.Command, 1, 0x10, nil, 255)
	if !bytes.Equal(b, []byte{0x21, 0x10, 0x00}) {
		t.Errorf("empty message = %X", b)
	}
}

func TestReassemblerErrors(t *testing.T) {
	var r nci.Reassembler
	if _, _, err := r.Add(nci.Packet{MT: nci.Notification, PBF: true, ID: 0, OID: 7, Payload: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Add(nci.Packet{MT: nci.Notification, ID: 1, OID: 5}); !errors.Is(err, nci.ErrMalformedPacket) {
		t.Errorf("interleaved segment = %v, want %v", err, nci.ErrMalformedPacket)
	}
	// After the error the next message starts afresh.
	if m, ok, err := r.Add(nci.Packet{MT: nci.Notification, ID: 1, OID: 5, Payload: []byte{9}}); err != nil || !ok || !bytes.Equal(m.Payload, []byte{9}) {
		t.Errorf("message after an error = %+v, %v, %v", m, ok, err)
	}
	big := nci.Packet{MT: nci.Notification, PBF: true, Payload: make([]byte, 255)}
	var err error
	for range 20 {
		if _, _, err = r.Add(big); err != nil {
			break
		}
	}
	if !errors.Is(err, nci.ErrMessageTooLong) {
		t.Errorf("oversize message = %v, want %v", err, nci.ErrMessageTooLong)
	}
}

func TestMessageTypeString(t *testing.T) {
	for mt, want := range map[nci.MessageType]string{nci.Data: "data", nci.Command: "command", nci.Response: "response", nci.Notification: "notification", 5: "MessageType(5)"} {
		if got := mt.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestPacketAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector allocates")
	}
	payload := make([]byte, 600)
	buf := make([]byte, 0, 3*nci.MaxPacketLen)
	pkt, _ := nci.AppendMessage(nil, nci.Data, 0, 0, payload[:200], 255)
	if n := testing.AllocsPerRun(100, func() {
		nci.AppendMessage(buf[:0], nci.Data, 0, 0, payload, 255)
		nci.ScanPacket(pkt)
	}); n > 0 {
		t.Errorf("AppendMessage and ScanPacket allocated %v times, want 0", n)
	}
}

func BenchmarkPacket(b *testing.B) {
	payload := make([]byte, 200)
	buf := make([]byte, 0, nci.MaxPacketLen)
	pkt, _ := nci.AppendMessage(nil, nci.Data, 0, 0, payload, 255)
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nci.AppendMessage(buf[:0], nci.Data, 0, 0, payload, 255)
		}
	})
	b.Run("Scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nci.ScanPacket(pkt)
		}
	})
}

func FuzzPacket(f *testing.F) {
	for _, k := range knownPackets {
		f.Add(mustHex(f, k.hex))
	}
	f.Add(mustHex(f, "10 00 02 90 00 00 00 02 90 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ctrl, data nci.Reassembler
		data.Max = nci.MaxDataMessage
		for len(b) > 0 {
			p, n, err := nci.ScanPacket(b)
			if err != nil {
				if !errors.Is(err, nci.ErrMalformedPacket) {
					t.Fatalf("ScanPacket error %v", err)
				}
				return
			}
			if n == 0 {
				return
			}
			out, err := p.Append(nil)
			if err != nil || !bytes.Equal(out, b[:n]) {
				t.Fatalf("Append(ScanPacket(%X)) = %X, %v", b[:n], out, err)
			}
			r := &ctrl
			if p.MT == nci.Data {
				r = &data
			}
			if _, _, err := r.Add(p); err != nil && !errors.Is(err, nci.ErrMalformedPacket) && !errors.Is(err, nci.ErrMessageTooLong) {
				t.Fatalf("Add error %v", err)
			}
			b = b[n:]
		}
	})
}
