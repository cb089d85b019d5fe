package ncitest_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// fuzzECP is the ECP command of FuzzController, of the project's choosing
// (the one of pollingtest's driver tests).
var fuzzECP = &nci.ECPCommand{GID: nci.GroupProprietary, OID: 0x3F, Prefix: []byte{0xA5}}

// knownCommands are the commands the controller implements; any other gets
// an error status.
var knownCommands = map[[2]byte]bool{
	{byte(nci.GroupCore), nci.OIDCoreReset}: true, {byte(nci.GroupCore), nci.OIDCoreInit}: true,
	{byte(nci.GroupCore), nci.OIDCoreSetConfig}: true, {byte(nci.GroupRF), nci.OIDRFDiscoverMap}: true,
	{byte(nci.GroupRF), nci.OIDRFDiscover}: true, {byte(nci.GroupRF), nci.OIDRFDeactivate}: true,
	{byte(nci.GroupRF), nci.OIDRFISODEPNAKPresence}: true, {byte(nci.GroupProprietary), nci.OIDNXPActivate}: true,
	{byte(fuzzECP.GID), fuzzECP.OID}: true,
}

func cmdPacket(tb testing.TB, gid nci.GroupID, oid byte, payload []byte) []byte {
	b, err := nci.AppendMessage(nil, nci.Command, byte(gid), oid, payload, nci.MaxPayload)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// drain reads every packet the controller has for the host.
func drain(tb testing.TB, bus *ncitest.I2C) []nci.Packet {
	tb.Helper()
	var out []nci.Packet
	for {
		h := make([]byte, nci.HeaderLen)
		if _, err := bus.Read(h); errors.Is(err, ncitest.ErrNoData) {
			return out
		} else if err != nil {
			tb.Fatal(err)
		}
		b := append(h, make([]byte, h[2])...)
		if _, err := bus.Read(b[nci.HeaderLen:]); err != nil && h[2] > 0 {
			tb.Fatal(err)
		}
		p, err := nci.ParsePacket(b)
		if err != nil {
			tb.Fatalf("the controller sent % X: %v", b, err)
		}
		if p.MT != nci.Response && p.MT != nci.Notification {
			tb.Fatalf("the controller sent a %v packet % X with no phone in the field", p.MT, b)
		}
		out = append(out, p)
	}
}

// FuzzController feeds a stream of host bytes, cut into packets as the UART
// mapping cuts them, to a controller on its I2C bus. Bytes that are not a
// packet are refused by the bus with nci.ErrMalformedPacket and get no
// answer; every complete command gets exactly one response first, with its
// GID and OID, and an error status when the controller does not implement
// it; the configuration parameters and ECP frame the controller keeps are
// exactly those its OK answers took (later commands do not alter them);
// and afterwards CORE_RESET and CORE_INIT get their normal answers.
func FuzzController(f *testing.F) {
	reset := cmdPacket(f, nci.GroupCore, nci.OIDCoreReset, []byte{0x01})
	initCmd := cmdPacket(f, nci.GroupCore, nci.OIDCoreInit, nci.AppendInitCommand(nil, nci.Version20))
	sc, err := nci.AppendSetConfig(nil, nci.ConfigParam{ID: nci.ParamTotalDuration, Value: []byte{0x05, 0x00}}, nci.ConfigParam{ID: 0xA00E, Value: []byte{1, 2, 3}})
	if err != nil {
		f.Fatal(err)
	}
	setConfig := cmdPacket(f, nci.GroupCore, nci.OIDCoreSetConfig, sc)
	// The same, in segments of 4 bytes.
	segmented, err := nci.AppendMessage(nil, nci.Command, byte(nci.GroupCore), nci.OIDCoreSetConfig, sc, 4)
	if err != nil {
		f.Fatal(err)
	}
	dmap := cmdPacket(f, nci.GroupRF, nci.OIDRFDiscoverMap, nci.AppendDiscoverMap(nil, nci.Mapping{Protocol: nci.ProtocolISODEP, Mode: 1, Interface: nci.InterfaceISODEP}))
	disc := cmdPacket(f, nci.GroupRF, nci.OIDRFDiscover, nci.AppendDiscover(nil, nci.DiscoverConfig{TechMode: nci.TechNFCAPoll, Frequency: 1}))
	deact := cmdPacket(f, nci.GroupRF, nci.OIDRFDeactivate, []byte{byte(nci.DeactivateIdle)})
	ecpPayload, err := fuzzECP.AppendPayload(nil, polling.HomeKey([8]byte{1, 2, 3, 4, 5, 6, 7, 8}).Append(nil))
	if err != nil {
		f.Fatal(err)
	}
	ecp := cmdPacket(f, fuzzECP.GID, fuzzECP.OID, ecpPayload)
	nxp := cmdPacket(f, nci.GroupProprietary, nci.OIDNXPActivate, nil)
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	for _, s := range [][]byte{
		reset,
		cat(reset, initCmd, nxp, setConfig, ecp, dmap, disc, deact),
		cat(reset, initCmd, segmented, setConfig[:5]),
		cat(ecp, reset, initCmd, dmap, disc, disc, ecp, deact, deact),
		cat(reset, initCmd, setConfig, cmdPacket(f, nci.GroupCore, nci.OIDCoreSetConfig, []byte{1, 0x00, 3, 9})),
		cat(segmented[:7], reset),
		cat(reset, []byte{0x00, 0x00, 0x01, 0x00}, []byte{0xE0, 0x00, 0x00}),
		{0x20, 0x40, 0x00},
		cat(reset, initCmd, cmdPacket(f, nci.GroupRF, nci.OIDRFISODEPNAKPresence, nil), cmdPacket(f, 0x0E, 0x3F, []byte{1})),
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, stream []byte) {
		c := ncitest.New(pollingtest.NewField(), ncitest.Config{ECP: fuzzECP})
		bus := c.I2C()
		defer bus.Close()

		params := map[uint16][]byte{}
		var ecpFrame []byte
		var msg []byte // the command under reassembly
		var open bool
		var openID, openOID byte
		for len(stream) > 0 {
			p, n, err := nci.ScanPacket(stream)
			if err != nil || n == 0 {
				// Framing lost, or a partial packet: the bus refuses it.
				if _, werr := bus.Write(stream); !errors.Is(werr, nci.ErrMalformedPacket) {
					t.Fatalf("Write(% X) = %v, want ErrMalformedPacket", stream, werr)
				}
				if out := drain(t, bus); len(out) != 0 {
					t.Fatalf("a refused write was answered: %v", out)
				}
				break
			}
			raw := stream[:n]
			stream = stream[n:]
			if _, err := bus.Write(raw); err != nil {
				t.Fatalf("Write(% X) = %v", raw, err)
			}
			out := drain(t, bus)
			if p.MT != nci.Command {
				// No phone is in the field, so no RF interface is up:
				// data packets, and responses and notifications from the
				// host, get nothing.
				if len(out) != 0 {
					t.Fatalf("% X was answered: %v", raw, out)
				}
				continue
			}
			// The model of the controller's reassembly.
			complete := false
			switch {
			case open && (p.ID != openID || p.OID != openOID):
				open = false
			case len(msg)*btoi(open)+len(p.Payload) > nci.MaxControlMessage:
				open = false
			default:
				if !open {
					msg, openID, openOID = msg[:0], p.ID, p.OID
				}
				msg = append(msg, p.Payload...)
				open = p.PBF
				complete = !p.PBF
			}
			if !complete {
				if len(out) != 0 {
					t.Fatalf("an incomplete or dropped command % X was answered: %v", raw, out)
				}
				continue
			}
			if len(out) == 0 || out[0].MT != nci.Response || out[0].ID != p.ID || out[0].OID != p.OID || len(out[0].Payload) == 0 {
				t.Fatalf("command %X/%02X: answered %v, want its response first", p.ID, p.OID, out)
			}
			st := nci.Status(out[0].Payload[0])
			if !knownCommands[[2]byte{p.ID, p.OID}] && st == nci.StatusOK {
				t.Fatalf("unknown command %X/%02X answered OK", p.ID, p.OID)
			}
			if st == nci.StatusOK {
				switch {
				case p.ID == byte(fuzzECP.GID) && p.OID == fuzzECP.OID:
					ecpFrame, _ = fuzzECP.Frame(msg)
				case p.ID == byte(nci.GroupCore) && p.OID == nci.OIDCoreReset:
					params, ecpFrame = map[uint16][]byte{}, nil
				case p.ID == byte(nci.GroupCore) && p.OID == nci.OIDCoreSetConfig:
					ps, err := nci.ParseSetConfig(msg)
					if err != nil {
						t.Fatalf("CORE_SET_CONFIG % X answered OK: %v", msg, err)
					}
					for _, q := range ps {
						params[q.ID] = append([]byte(nil), q.Value...)
					}
				}
			}
			for id, v := range params {
				if got := c.Param(id); !bytes.Equal(got, v) {
					t.Fatalf("after % X: parameter %04X is % X, want % X", raw, id, got, v)
				}
			}
			if got := c.ECPFrame(); !bytes.Equal(got, ecpFrame) {
				t.Fatalf("after % X: ECP frame % X, want % X", raw, got, ecpFrame)
			}
		}

		// The controller still answers a reset and an initialization. A
		// command under reassembly takes the first reset: as its last
		// segment when it is a segmented CORE_RESET (answered as the
		// whole), else as an interruption that drops both.
		if _, err := bus.Write(reset); err != nil {
			t.Fatal(err)
		}
		out := drain(t, bus)
		if open {
			continues := openID == byte(nci.GroupCore) && openOID == nci.OIDCoreReset
			if (!continues && len(out) != 0) || (continues && (len(out) == 0 || out[0].MT != nci.Response || out[0].OID != nci.OIDCoreReset)) {
				t.Fatalf("a reset after a segmented %X/%02X was answered: %v", openID, openOID, out)
			}
			if _, err := bus.Write(reset); err != nil {
				t.Fatal(err)
			}
			out = drain(t, bus)
		}
		if len(out) != 2 || !bytes.Equal(out[0].Payload, []byte{byte(nci.StatusOK)}) || out[1].MT != nci.Notification ||
			!bytes.Equal(out[1].Payload, []byte{0x02, 0x01, 0x20, 0x04, 0x04, 0x71, 0x12, 0x02, 0x00}) {
			t.Fatalf("CORE_RESET after the stream: %v", out)
		}
		if _, err := bus.Write(initCmd); err != nil {
			t.Fatal(err)
		}
		if out := drain(t, bus); len(out) != 1 || out[0].OID != nci.OIDCoreInit || len(out[0].Payload) == 0 || out[0].Payload[0] != byte(nci.StatusOK) {
			t.Fatalf("CORE_INIT after the stream: %v", out)
		}
		if len(c.Param(nci.ParamTotalDuration)) != 0 || c.ECPFrame() != nil {
			t.Fatal("CORE_RESET kept the configuration")
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
