package uwbtest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/opencarkey/sdk/transport/uwb"
)

// knownOps are the commands the chip implements; any other gets an error
// status.
var knownOps = map[uwb.Opcode]bool{
	uwb.OpCoreDeviceReset: true, uwb.OpCoreDeviceInfo: true, uwb.OpCoreGetCaps: true, uwb.OpCoreQueryTimestamp: true,
	uwb.OpSessionInit: true, uwb.OpSessionDeinit: true, uwb.OpSessionSetAppConfig: true, uwb.OpSessionGetAppConfig: true,
	uwb.OpSessionStart: true, uwb.OpSessionStop: true,
}

// streamRW is a chip's stream: the host's bytes to read, and what the chip
// writes.
type streamRW struct {
	io.Reader
	out bytes.Buffer
}

func (s *streamRW) Write(p []byte) (int, error) { return s.out.Write(p) }

func uciCmd(op uwb.Opcode, payload ...byte) []byte {
	return uwb.AppendMessage(nil, uwb.MTCommand, op, payload, 0)
}

// FuzzChip feeds a stream of host bytes to a chip. Whatever the bytes, the
// chip ends with no error (the stream ended), a truncated packet, or an
// error wrapping uwb.ErrFraming exactly when the bytes stop being UCI; it
// sends only well-formed responses and notifications; every complete command
// gets exactly one response, in order, with its opcode and a status, an
// error status when the chip does not implement the command; and when the
// stream ends cleanly, CORE_DEVICE_RESET still gets its response and
// DEVICE_STATUS_NTF(READY), and a session can be opened again (the reset
// dropped every session).
func FuzzChip(f *testing.F) {
	var params uwb.AppConfigs
	cfg := uwb.CCCConfig{Initiator: true, ProtocolVersion: 0x0100, Channel: 9, RANMultiplier: 1, ChapsPerSlot: 3, Responders: 1, SlotsPerRound: 6, SyncCode: 9}
	if err := cfg.AppConfigs(&params); err != nil {
		f.Fatal(err)
	}
	setCfg := (&uwb.SetAppConfigCmd{Session: 0x10000001, Config: params}).AppendPayload(nil)
	setCfg1 := (&uwb.SetAppConfigCmd{Session: 1, Config: params}).AppendPayload(nil)
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	reset := uciCmd(uwb.OpCoreDeviceReset, 0)
	session := cat(
		uciCmd(uwb.OpSessionInit, 1, 0, 0, 0, byte(uwb.SessionCCC)),
		uciCmd(uwb.OpSessionSetAppConfig, setCfg...), uciCmd(uwb.OpSessionSetAppConfig, setCfg1...),
		uciCmd(uwb.OpSessionGetAppConfig, 0x01, 0, 0, 0x10, 0),
		uciCmd(uwb.OpSessionStart, 0x01, 0, 0, 0x10), uciCmd(uwb.OpSessionStart, 1, 0, 0, 0),
		uciCmd(uwb.OpSessionStop, 0x01, 0, 0, 0x10), uciCmd(uwb.OpSessionDeinit, 0x01, 0, 0, 0x10),
	)
	for _, s := range [][]byte{
		reset,
		cat(reset, uciCmd(uwb.OpCoreDeviceInfo), uciCmd(uwb.OpCoreGetCaps), uciCmd(uwb.OpCoreQueryTimestamp)),
		session,
		// SET_APP_CONFIG in segments of 16 bytes.
		cat(uciCmd(uwb.OpSessionInit, 1, 0, 0, 0, byte(uwb.SessionCCC)), uwb.AppendMessage(nil, uwb.MTCommand, uwb.OpSessionSetAppConfig, setCfg, 16)),
		{0x20, 0x00, 0x00, 0x01, 0x01},
		{0x20, 0x3F, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00},
		{0xE0, 0, 0, 0},
		{0x00, 0x00, 0x02, 0x00, 0xAA, 0xBB},
		cat(uwb.AppendMessage(nil, uwb.MTCommand, uwb.OpSessionSetAppConfig, setCfg, 16)[:20], reset),
		reset[:3],
	} {
		f.Add(false, s)
		f.Add(true, s)
	}

	f.Fuzz(func(t *testing.T, uci1 bool, stream []byte) {
		// What the chip must take from the stream: complete commands,
		// in order.
		var cmds []uwb.Opcode
		r := uwb.NewReassembler(4096)
		framing, truncated := false, false
		for b := stream; len(b) > 0; {
			if len(b) < uwb.HeaderSize {
				truncated = true
				break
			}
			h, err := uwb.ParseHeader(b[:uwb.HeaderSize])
			if err != nil {
				framing = true
				break
			}
			if len(b) < uwb.HeaderSize+h.Len {
				truncated = true
				break
			}
			pkt := b[:uwb.HeaderSize+h.Len]
			b = b[len(pkt):]
			if h.MT == uwb.MTData {
				continue
			}
			p, done, err := r.Add(pkt)
			if err != nil {
				framing = true
				break
			}
			if done && p.MT == uwb.MTCommand {
				cmds = append(cmds, p.Op)
			}
		}
		clean := !framing && !truncated && !r.Pending()
		tail := cat(reset, uciCmd(uwb.OpCoreDeviceInfo), uciCmd(uwb.OpSessionInit, 1, 0, 0, 0, byte(uwb.SessionCCC)))
		in := stream
		if clean {
			in = cat(stream, tail)
			cmds = append(cmds, uwb.OpCoreDeviceReset, uwb.OpCoreDeviceInfo, uwb.OpSessionInit)
		}

		rw := &streamRW{Reader: bytes.NewReader(in)}
		chip, err := NewAir().Attach(rw, ChipConfig{UCI1: uci1})
		if err != nil {
			t.Fatal(err)
		}
		<-chip.Done()
		switch err := chip.Err(); {
		case framing:
			if !errors.Is(err, uwb.ErrFraming) {
				t.Fatalf("the chip stopped with %v, want ErrFraming", err)
			}
		case err != nil && !(truncated && errors.Is(err, io.ErrUnexpectedEOF)):
			t.Fatalf("the chip stopped with %v", err)
		}

		// What the chip sent.
		type answer struct {
			mt      uwb.MessageType
			op      uwb.Opcode
			payload []byte
		}
		var got []answer
		out := rw.out.Bytes()
		rr := uwb.NewReassembler(4096)
		for len(out) > 0 {
			h, err := uwb.ParseHeader(out[:min(len(out), uwb.HeaderSize)])
			if err != nil || len(out) < uwb.HeaderSize+h.Len {
				t.Fatalf("the chip sent % X: %v", out, err)
			}
			p, done, err := rr.Add(out[:uwb.HeaderSize+h.Len])
			if err != nil {
				t.Fatalf("the chip sent % X: %v", out[:uwb.HeaderSize+h.Len], err)
			}
			out = out[uwb.HeaderSize+h.Len:]
			if !done {
				continue
			}
			if p.MT != uwb.MTResponse && p.MT != uwb.MTNotification {
				t.Fatalf("the chip sent a %v %v", p.MT, p.Op)
			}
			got = append(got, answer{p.MT, p.Op, bytes.Clone(p.Payload)})
		}
		if rr.Pending() {
			t.Fatal("the chip's last message is incomplete")
		}
		var rsps []answer
		for _, a := range got {
			if a.mt == uwb.MTResponse {
				rsps = append(rsps, a)
			}
		}
		if len(rsps) != len(cmds) {
			t.Fatalf("%d commands, %d responses", len(cmds), len(rsps))
		}
		for i, a := range rsps {
			if a.op != cmds[i] || len(a.payload) == 0 {
				t.Fatalf("command %d (%v) answered by %v % X", i, cmds[i], a.op, a.payload)
			}
			if !knownOps[a.op] && uwb.Status(a.payload[0]) == uwb.StatusOK {
				t.Fatalf("unknown command %v answered OK", a.op)
			}
		}
		if !clean {
			return
		}
		n := len(got)
		if n < 4 {
			t.Fatalf("the tail got %d messages", n)
		}
		// Reset: response OK and DEVICE_STATUS_NTF(READY), then device
		// info OK, then SESSION_INIT OK and its SESSION_STATUS_NTF.
		want := []answer{
			{uwb.MTResponse, uwb.OpCoreDeviceReset, []byte{byte(uwb.StatusOK)}},
			{uwb.MTNotification, uwb.OpCoreDeviceStatus, []byte{byte(uwb.DeviceReady)}},
		}
		i := n - 5
		if i < 0 || !bytes.Equal(got[i].payload, want[0].payload) || got[i].op != want[0].op || got[i].mt != want[0].mt ||
			got[i+1].op != want[1].op || !bytes.Equal(got[i+1].payload, want[1].payload) {
			t.Fatalf("CORE_DEVICE_RESET after the stream: %+v", got[max(0, i):])
		}
		if got[i+2].op != uwb.OpCoreDeviceInfo || got[i+2].payload[0] != byte(uwb.StatusOK) {
			t.Fatalf("CORE_GET_DEVICE_INFO after the stream: %+v", got[i+2])
		}
		if got[i+3].op != uwb.OpSessionInit || got[i+3].payload[0] != byte(uwb.StatusOK) || got[i+4].op != uwb.OpSessionStatus {
			t.Fatalf("SESSION_INIT after a reset: %+v", got[i+3:])
		}
	})
}
