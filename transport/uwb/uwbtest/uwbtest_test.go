package uwbtest

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/uwb"
)

// rawChip starts a chip on a pipe and returns the host end for raw
// packets.
func rawChip(t *testing.T, air *Air, cfg ChipConfig) (net.Conn, *Chip) {
	t.Helper()
	host, chipEnd := net.Pipe()
	c, err := air.Attach(chipEnd, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	return host, c
}

// exchange writes a command and reads one packet back.
func exchange(t *testing.T, conn net.Conn, cmd []byte) []byte {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(cmd); err != nil {
		t.Fatal(err)
	}
	return readPacket(t, conn)
}

// readPacket reads one packet.
func readPacket(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, uwb.HeaderSize)
	if _, err := io.ReadFull(conn, hdr); err != nil {
		t.Fatal(err)
	}
	h, err := uwb.ParseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, h.Len)
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

func TestChipAnswersBadCommands(t *testing.T) {
	air := NewAir()
	conn, _ := rawChip(t, air, ChipConfig{})
	for _, tc := range []struct {
		name string
		cmd  []byte
		want []byte
	}{
		{"reset with config 01", []byte{0x20, 0x00, 0x00, 0x01, 0x01}, []byte{0x40, 0x00, 0x00, 0x01, byte(uwb.StatusSyntaxError)}},
		{"device info with payload", []byte{0x20, 0x02, 0x00, 0x01, 0x00}, []byte{0x40, 0x02, 0x00, 0x01, byte(uwb.StatusSyntaxError)}},
		{"caps with payload", []byte{0x20, 0x03, 0x00, 0x01, 0x00}, []byte{0x40, 0x03, 0x00, 0x02, byte(uwb.StatusSyntaxError), 0x00}},
		{"unknown core opcode", []byte{0x20, 0x3F, 0x00, 0x00}, []byte{0x40, 0x3F, 0x00, 0x01, byte(uwb.StatusUnknownOID)}},
		{"unknown group", []byte{0x29, 0x00, 0x00, 0x00}, []byte{0x49, 0x00, 0x00, 0x01, byte(uwb.StatusUnknownGID)}},
		{"deinit unknown session", []byte{0x21, 0x01, 0x00, 0x04, 1, 2, 3, 4}, []byte{0x41, 0x01, 0x00, 0x01, byte(uwb.StatusSessionNotExist)}},
		{"stop unknown session", []byte{0x22, 0x01, 0x00, 0x04, 1, 2, 3, 4}, []byte{0x42, 0x01, 0x00, 0x01, byte(uwb.StatusSessionNotExist)}},
	} {
		if got := exchange(t, conn, tc.cmd); string(got) != string(tc.want) {
			t.Errorf("%s: %x, want %x", tc.name, got, tc.want)
		}
	}
}

func TestChipMaxSessions(t *testing.T) {
	air := NewAir()
	caps := DefaultCaps()
	caps.MaxSessions = 1
	conn, _ := rawChip(t, air, ChipConfig{Caps: &caps, UCI1: true})
	if got := exchange(t, conn, []byte{0x21, 0x00, 0x00, 0x05, 1, 0, 0, 0, 0xA0}); got[4] != 0 || len(got) != 5 {
		t.Fatalf("first SESSION_INIT: %x", got)
	}
	if got := readPacket(t, conn); got[0] != 0x61 || got[1] != 0x02 {
		t.Fatalf("after SESSION_INIT: %x, want SESSION_STATUS_NTF", got)
	}
	if got := exchange(t, conn, []byte{0x21, 0x00, 0x00, 0x05, 2, 0, 0, 0, 0xA0}); got[4] != byte(uwb.StatusMaxSessionsExceeded) {
		t.Errorf("second SESSION_INIT: %x, want MAX_SESSIONS_EXCEEDED", got)
	}
}

// TestChipStopsOnGarbage checks that bytes that are not UCI stop the chip
// with a framing error.
func TestChipStopsOnGarbage(t *testing.T) {
	air := NewAir()
	conn, chip := rawChip(t, air, ChipConfig{})
	if _, err := conn.Write([]byte{0xE0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	<-chip.Done()
	if err := chip.Err(); !errors.Is(err, uwb.ErrFraming) {
		t.Errorf("chip stopped with %v, want ErrFraming", err)
	}
}

func TestStepWithoutPeers(t *testing.T) {
	ctx := context.Background()
	air := NewAir()
	if err := air.Step(ctx, 3); err != nil {
		t.Errorf("Step on an empty air = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := air.Step(cctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Step with a cancelled context = %v", err)
	}
	// A started initiator without a responder times out every round.
	host, _, err := air.Pipe(ChipConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := uwb.NewHost(host, nil)
	defer h.Close()
	token, err := h.InitSession(ctx, 1, uwb.SessionCCC)
	if err != nil {
		t.Fatal(err)
	}
	cfg := uwb.CCCConfig{Initiator: true, ProtocolVersion: 0x0100, Channel: 9, RANMultiplier: 1, ChapsPerSlot: 3, Responders: 1, SlotsPerRound: 6, SyncCode: 9}
	var params uwb.AppConfigs
	_ = cfg.AppConfigs(&params)
	if err := h.SetAppConfig(ctx, token, &params); err != nil {
		t.Fatal(err)
	}
	if err := h.StartRanging(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := h.StartRanging(ctx, token); !errors.Is(err, uwb.StatusSessionActive) {
		t.Errorf("second StartRanging = %v, want SESSION_ACTIVE", err)
	}
	if err := h.SetAppConfig(ctx, token, &params); !errors.Is(err, uwb.StatusSessionActive) {
		t.Errorf("SetAppConfig while active = %v, want SESSION_ACTIVE", err)
	}
	air.SetTrack(5)
	if err := air.Step(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var n uwb.Notification
	for {
		if err := h.Notification(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n.Op == uwb.OpSessionStart {
			break
		}
	}
	var d uwb.RangingData
	if err := n.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if ms := d.Measurements(); len(ms) != 1 || ms[0].Status != uwb.StatusRangingRxTimeout {
		t.Errorf("lonely initiator: %v", &d)
	}
}
