package uwb_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/uwb"
	"github.com/opencarkey/sdk/transport/uwb/uwbtest"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newHost attaches a simulated chip to air and returns a host driving it.
func newHost(t *testing.T, air *uwbtest.Air, cfg uwbtest.ChipConfig) (*uwb.Host, *uwbtest.Chip) {
	t.Helper()
	rw, chip, err := air.Pipe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := uwb.NewHost(rw, &uwb.Config{CommandTimeout: 2 * time.Second})
	t.Cleanup(func() { h.Close() })
	return h, chip
}

// cccConfig is a CCC session configuration as the ranging setup produces.
func cccConfig(initiator bool) uwb.CCCConfig {
	c := uwb.CCCConfig{
		Initiator: initiator, ProtocolVersion: 0x0100, ConfigID: 1, PulseShapeCombo: 0x12, Channel: 9,
		STSIndex0: 1000, UWBTime0: 5_000_000, HopModeKey: 0xCAFE, RANMultiplier: 2, ChapsPerSlot: 6,
		Responders: 1, SlotsPerRound: 6, SyncCode: 9, HoppingMode: 3, URSKTTL: 720,
	}
	for i := range c.URSK {
		c.URSK[i] = byte(i)
	}
	return c
}

// configure creates, configures and starts CCC session id on h.
func configure(ctx context.Context, t *testing.T, h *uwb.Host, id uint32, c uwb.CCCConfig) uint32 {
	t.Helper()
	token, err := h.InitSession(ctx, id, uwb.SessionCCC)
	if err != nil {
		t.Fatalf("InitSession: %v", err)
	}
	var params uwb.AppConfigs
	if err := c.AppConfigs(&params); err != nil {
		t.Fatal(err)
	}
	defer params.Clear()
	if err := h.SetAppConfig(ctx, token, &params); err != nil {
		t.Fatalf("SetAppConfig: %v", err)
	}
	if err := h.StartRanging(ctx, token); err != nil {
		t.Fatalf("StartRanging: %v", err)
	}
	return token
}

// nextRanging returns the next SESSION_INFO_NTF, skipping status
// notifications.
func nextRanging(ctx context.Context, t *testing.T, h *uwb.Host) *uwb.RangingData {
	t.Helper()
	var n uwb.Notification
	for {
		if err := h.Notification(ctx, &n); err != nil {
			t.Fatalf("Notification: %v", err)
		}
		if n.Op != uwb.OpSessionStart {
			continue
		}
		var d uwb.RangingData
		if err := n.Decode(&d); err != nil {
			t.Fatal(err)
		}
		return &d
	}
}

// TestHostCCCSession drives two simulated chips, the device's (initiator)
// and the vehicle's (responder), through reset, device information,
// capabilities, a CCC session and ranging rounds along a distance track.
func TestHostCCCSession(t *testing.T) {
	ctx := testContext(t)
	air := uwbtest.NewAir(350, 250, 150, 90)
	dev, _ := newHost(t, air, uwbtest.ChipConfig{Address: 0xD001})
	veh, _ := newHost(t, air, uwbtest.ChipConfig{Address: 0xA001, UCI1: true})

	if err := dev.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var n uwb.Notification
	var st uwb.DeviceStatusNtf
	if err := dev.Notification(ctx, &n); err != nil || n.Decode(&st) != nil || st.State != uwb.DeviceReady {
		t.Fatalf("after reset: %v %v %v", n.Op, st.State, err)
	}
	var info uwb.GetDeviceInfoRsp
	if err := dev.DeviceInfo(ctx, &info); err != nil || info.UCIVersion != 0x0002 || string(info.Vendor()) != "opencarkey uwbtest" {
		t.Fatalf("DeviceInfo = %+v, %v", info, err)
	}
	var caps uwb.GetCapsRsp
	if err := dev.Capabilities(ctx, &caps); err != nil {
		t.Fatal(err)
	}
	ccc, err := caps.Caps.CCC()
	if err != nil || ccc.Channels != 3 || ccc.SyncCodes != 0x0F00 {
		t.Fatalf("CCC capabilities %+v, %v", ccc, err)
	}
	ts, err := dev.Timestamp(ctx)
	if err != nil || ts == 0 {
		t.Fatalf("Timestamp = %d, %v", ts, err)
	}

	const sessionID = 0x0BADCAFE
	dtok := configure(ctx, t, dev, sessionID, cccConfig(true))
	vtok := configure(ctx, t, veh, sessionID, cccConfig(false))
	if dtok == sessionID || vtok != sessionID {
		t.Errorf("tokens %#x (UCI 2.0 handle) and %#x (UCI 1.x session ID)", dtok, vtok)
	}
	// Read the configuration back, with the read-only last STS index.
	var got uwb.AppConfigs
	if err := dev.GetAppConfig(ctx, dtok, &got, uwb.CfgChannelNumber, uwb.CfgCCCLastSTSIndexUsed); err != nil {
		t.Fatal(err)
	}
	if ch, _ := got.Uint(uwb.CfgChannelNumber); ch != 9 || got.Len() != 2 {
		t.Errorf("GetAppConfig = %v", &got)
	}

	// Session status notifications: INIT, IDLE, ACTIVE.
	for _, want := range []uwb.SessionState{uwb.SessionStateInit, uwb.SessionStateIdle, uwb.SessionStateActive} {
		var s uwb.SessionStatusNtf
		if err := dev.Notification(ctx, &n); err != nil || n.Decode(&s) != nil || s.State != want || s.Session != dtok {
			t.Fatalf("session status %v %+v, want %v", n.Op, s, want)
		}
	}

	if err := air.Step(ctx, 4); err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint16{350, 250, 150, 90} {
		d := nextRanging(ctx, t, dev)
		ms := d.Measurements()
		if d.Session != dtok || d.Sequence != uint32(i) || d.Interval != 192 || len(ms) != 1 ||
			ms[0].Status != uwb.StatusOK || ms[0].Distance != want || ms[0].Address[0] != 0x01 || ms[0].Address[1] != 0xA0 {
			t.Errorf("device round %d: %v %+v, want %d cm from A001", i, d, ms, want)
		}
		v := nextRanging(ctx, t, veh)
		if vm := v.Measurements(); len(vm) != 1 || vm[0].Distance != want || vm[0].Address[1] != 0xD0 {
			t.Errorf("vehicle round %d: %v", i, v)
		}
	}
	if err := dev.GetAppConfig(ctx, dtok, &got, uwb.CfgCCCLastSTSIndexUsed); err != nil {
		t.Fatal(err)
	}
	if last, _ := got.Uint(uwb.CfgCCCLastSTSIndexUsed); last != 1004 {
		t.Errorf("last STS index %d after 4 rounds from 1000, want 1004", last)
	}
	if err := dev.StopRanging(ctx, dtok); err != nil {
		t.Fatal(err)
	}
	if err := dev.DeinitSession(ctx, dtok); err != nil {
		t.Fatal(err)
	}
	if err := dev.StartRanging(ctx, dtok); !errors.Is(err, uwb.StatusSessionNotExist) {
		t.Errorf("StartRanging after deinit = %v, want SESSION_NOT_EXIST", err)
	}
}

// TestHostMismatch checks that the simulator pairs only matching
// configurations: different keys fail the STS, other differences time out.
func TestHostMismatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(c *uwb.CCCConfig)
		want   uwb.Status
	}{
		{"keys differ", func(c *uwb.CCCConfig) { c.URSK[31] ^= 0x80 }, uwb.StatusRangingRxPhySTSFailed},
		{"no common channel", func(c *uwb.CCCConfig) { c.Channel = 5 }, uwb.StatusRangingRxTimeout},
		{"config ID differs", func(c *uwb.CCCConfig) { c.ConfigID = 0 }, uwb.StatusRangingRxTimeout},
		{"SYNC code differs", func(c *uwb.CCCConfig) { c.SyncCode = 10 }, uwb.StatusRangingRxTimeout},
		{"STS index differs", func(c *uwb.CCCConfig) { c.STSIndex0++ }, uwb.StatusRangingRxTimeout},
		{"both initiators", func(c *uwb.CCCConfig) { c.Initiator = true }, uwb.StatusRangingRxTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			air := uwbtest.NewAir(120)
			dev, _ := newHost(t, air, uwbtest.ChipConfig{})
			veh, _ := newHost(t, air, uwbtest.ChipConfig{})
			configure(ctx, t, dev, 7, cccConfig(true))
			vc := cccConfig(false)
			tc.modify(&vc)
			configure(ctx, t, veh, 7, vc)
			if err := air.Step(ctx, 1); err != nil {
				t.Fatal(err)
			}
			d := nextRanging(ctx, t, dev)
			if ms := d.Measurements(); len(ms) != 1 || ms[0].Status != tc.want || ms[0].Distance != 0 {
				t.Errorf("measurements %v, want status %v", d, tc.want)
			}
		})
	}
}

// TestHostTwoAnchors ranges one device with two vehicle anchors.
func TestHostTwoAnchors(t *testing.T) {
	ctx := testContext(t)
	air := uwbtest.NewAir(200)
	dev, _ := newHost(t, air, uwbtest.ChipConfig{})
	a1, _ := newHost(t, air, uwbtest.ChipConfig{})
	a2, _ := newHost(t, air, uwbtest.ChipConfig{})
	dc := cccConfig(true)
	dc.Responders = 2
	configure(ctx, t, dev, 9, dc)
	for _, a := range []*uwb.Host{a1, a2} {
		vc := cccConfig(false)
		vc.Responders = 2
		configure(ctx, t, a, 9, vc)
	}
	if err := air.Step(ctx, 1); err != nil {
		t.Fatal(err)
	}
	d := nextRanging(ctx, t, dev)
	if ms := d.Measurements(); len(ms) != 2 || ms[0].Status != uwb.StatusOK || ms[1].Status != uwb.StatusOK {
		t.Errorf("two anchors: %v", d)
	}
}

// TestHostSilentChip checks that a chip that never answers makes commands
// time out instead of hanging.
func TestHostSilentChip(t *testing.T) {
	air := uwbtest.NewAir()
	rw, _, err := air.Pipe(uwbtest.ChipConfig{Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	h := uwb.NewHost(rw, &uwb.Config{CommandTimeout: 50 * time.Millisecond})
	defer h.Close()
	err = h.Reset(context.Background())
	if !errors.Is(err, uwb.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reset on a silent chip = %v, want ErrTimeout", err)
	}
	// The caller's own deadline also ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	h2 := uwb.NewHost(rw, &uwb.Config{CommandTimeout: time.Hour})
	defer h2.Close()
	if _, err := h2.Timestamp(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Timestamp with a 20 ms context = %v, want DeadlineExceeded", err)
	}
	// A cancelled context reports the cancellation.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := h.Reset(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Reset with a cancelled context = %v, want Canceled", err)
	}
}

// TestHostChipNeverReads checks that a chip that does not even read the
// command (a blocked write) ends in a timeout and stops the host.
func TestHostChipNeverReads(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	h := uwb.NewHost(a, &uwb.Config{CommandTimeout: 30 * time.Millisecond})
	defer h.Close()
	if err := h.Reset(context.Background()); !errors.Is(err, uwb.ErrTimeout) {
		t.Fatalf("Reset = %v, want ErrTimeout", err)
	}
	if err := h.Reset(context.Background()); !errors.Is(err, uwb.ErrTimeout) {
		t.Errorf("after a stuck write, Reset = %v, want the sticky ErrTimeout", err)
	}
}

// fakeChip answers each command with the packets reply returns, so that a
// test can send what a simulated chip never would.
func fakeChip(t *testing.T, reply func(cmd []byte) []byte) io.ReadWriteCloser {
	t.Helper()
	host, chip := net.Pipe()
	go func() {
		defer chip.Close()
		buf := make([]byte, 512)
		for {
			if _, err := io.ReadFull(chip, buf[:uwb.HeaderSize]); err != nil {
				return
			}
			h, err := uwb.ParseHeader(buf)
			if err != nil {
				return
			}
			if _, err := io.ReadFull(chip, buf[uwb.HeaderSize:uwb.HeaderSize+h.Len]); err != nil {
				return
			}
			if out := reply(buf[:uwb.HeaderSize+h.Len]); len(out) > 0 {
				if _, err := chip.Write(out); err != nil {
					return
				}
			}
		}
	}()
	return host
}

func TestHostRetryAndErrors(t *testing.T) {
	ctx := testContext(t)
	t.Run("COMMAND_RETRY", func(t *testing.T) {
		calls := 0
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte {
			calls++
			if calls < 3 {
				return []byte{0x40, 0x00, 0x00, 0x01, byte(uwb.StatusCommandRetry)}
			}
			return []byte{0x40, 0x00, 0x00, 0x01, 0x00}
		}), nil)
		defer h.Close()
		if err := h.Reset(ctx); err != nil || calls != 3 {
			t.Errorf("Reset = %v after %d commands, want success after 3", err, calls)
		}
	})
	t.Run("retries exhausted", func(t *testing.T) {
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte { return []byte{0x40, 0x00, 0x00, 0x01, byte(uwb.StatusCommandRetry)} }), &uwb.Config{Retries: -1})
		defer h.Close()
		if err := h.Reset(ctx); !errors.Is(err, uwb.StatusCommandRetry) {
			t.Errorf("Reset = %v, want COMMAND_RETRY", err)
		}
	})
	t.Run("late and unsolicited responses are dropped", func(t *testing.T) {
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte {
			// An unsolicited SESSION_STOP response, then the answer.
			return []byte{0x42, 0x01, 0x00, 0x01, 0x00, 0x40, 0x08, 0x00, 0x09, 0x00, 1, 2, 3, 4, 5, 6, 7, 8}
		}), nil)
		defer h.Close()
		if ts, err := h.Timestamp(ctx); err != nil || ts != 0x0807060504030201 {
			t.Errorf("Timestamp = %#x, %v", ts, err)
		}
	})
	t.Run("framing error stops the host", func(t *testing.T) {
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte { return []byte{0x80, 0, 0, 0} }), nil)
		defer h.Close()
		if err := h.Reset(ctx); !errors.Is(err, uwb.ErrFraming) {
			t.Errorf("Reset = %v, want ErrFraming", err)
		}
		var n uwb.Notification
		if err := h.Notification(ctx, &n); !errors.Is(err, uwb.ErrFraming) {
			t.Errorf("Notification = %v, want ErrFraming", err)
		}
	})
	t.Run("oversize notification stops the host", func(t *testing.T) {
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte {
			return uwb.AppendMessage(nil, uwb.MTNotification, uwb.OpSessionStart, make([]byte, 600), 255)
		}), &uwb.Config{MaxMessageSize: 512})
		defer h.Close()
		if err := h.Reset(ctx); !errors.Is(err, uwb.ErrFraming) {
			t.Errorf("Reset = %v, want ErrFraming", err)
		}
	})
	t.Run("malformed response", func(t *testing.T) {
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte { return []byte{0x40, 0x00, 0x00, 0x02, 0x00, 0x00} }), nil)
		defer h.Close()
		if err := h.Reset(ctx); !errors.Is(err, uwb.ErrMalformed) {
			t.Errorf("Reset = %v, want ErrMalformed", err)
		}
	})
	t.Run("stream ends", func(t *testing.T) {
		host, chip := net.Pipe()
		chip.Close()
		h := uwb.NewHost(host, nil)
		defer h.Close()
		if err := h.Reset(ctx); !errors.Is(err, uwb.ErrClosed) {
			t.Errorf("Reset = %v, want ErrClosed", err)
		}
	})
	t.Run("Do checks its arguments", func(t *testing.T) {
		h := uwb.NewHost(fakeChip(t, func([]byte) []byte { return nil }), nil)
		defer h.Close()
		if err := h.Do(ctx, &uwb.DeviceResetCmd{}, &uwb.SessionStopRsp{}); err == nil {
			t.Errorf("Do with mismatched opcodes succeeded")
		}
	})
}

func TestHostAppConfigRefused(t *testing.T) {
	ctx := testContext(t)
	air := uwbtest.NewAir()
	h, _ := newHost(t, air, uwbtest.ChipConfig{})
	token, err := h.InitSession(ctx, 1, uwb.SessionCCC)
	if err != nil {
		t.Fatal(err)
	}
	var l uwb.AppConfigs
	_ = l.SetUint(uwb.CfgChannelNumber, 9)
	_ = l.SetUint(uwb.CfgCCCLastSTSIndexUsed, 5)
	err = h.SetAppConfig(ctx, token, &l)
	var ae *uwb.AppConfigError
	if !errors.As(err, &ae) || len(ae.Refused) != 1 || ae.Refused[0].ID != uwb.CfgCCCLastSTSIndexUsed || ae.Refused[0].Status != uwb.StatusReadOnly ||
		!errors.Is(err, uwb.StatusInvalidParam) {
		t.Errorf("SetAppConfig(read-only) = %v", err)
	}
	if err := h.StartRanging(ctx, token); !errors.Is(err, uwb.StatusSessionNotConfigured) {
		t.Errorf("StartRanging before configuration = %v, want SESSION_NOT_CONFIGURED", err)
	}
	if _, err := h.InitSession(ctx, 1, uwb.SessionCCC); !errors.Is(err, uwb.StatusSessionDuplicate) {
		t.Errorf("InitSession twice = %v, want SESSION_DUPLICATE", err)
	}
	if _, err := h.InitSession(ctx, 2, uwb.SessionFiRaRanging); !errors.Is(err, uwb.StatusInvalidParam) {
		t.Errorf("InitSession(FiRa) on a CCC chip = %v, want INVALID_PARAM", err)
	}
	if err := h.GetAppConfig(ctx, 99, &l); !errors.Is(err, uwb.StatusSessionNotExist) {
		t.Errorf("GetAppConfig(unknown session) = %v, want SESSION_NOT_EXIST", err)
	}
}

// TestHostSegmentedNotifications uses a chip that cuts its packets into
// 16-byte segments: every notification arrives in many segments.
func TestHostSegmentedNotifications(t *testing.T) {
	ctx := testContext(t)
	air := uwbtest.NewAir(42)
	dev, _ := newHost(t, air, uwbtest.ChipConfig{MaxSegment: 16})
	veh, _ := newHost(t, air, uwbtest.ChipConfig{MaxSegment: 1})
	configure(ctx, t, dev, 3, cccConfig(true))
	configure(ctx, t, veh, 3, cccConfig(false))
	if err := air.Step(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*uwb.Host{dev, veh, dev, veh} {
		if d := nextRanging(ctx, t, h); len(d.Measurements()) != 1 || d.Measurements()[0].Distance != 42 {
			t.Errorf("segmented notification %v", d)
		}
	}
}

func TestHostNotificationOverflow(t *testing.T) {
	ctx := testContext(t)
	air := uwbtest.NewAir(10, 20, 30, 40, 50, 60)
	rw, _, err := air.Pipe(uwbtest.ChipConfig{})
	if err != nil {
		t.Fatal(err)
	}
	dev := uwb.NewHost(rw, &uwb.Config{NotificationQueue: 2})
	defer dev.Close()
	veh, _ := newHost(t, air, uwbtest.ChipConfig{})
	configure(ctx, t, dev, 3, cccConfig(true))
	configure(ctx, t, veh, 3, cccConfig(false))
	if err := air.Step(ctx, 6); err != nil {
		t.Fatal(err)
	}
	// Wait until the host read everything: a command round trip after the
	// notifications orders them.
	if _, err := dev.Timestamp(ctx); err != nil {
		t.Fatal(err)
	}
	var n uwb.Notification
	if err := dev.Notification(ctx, &n); !errors.Is(err, uwb.ErrOverflow) {
		t.Fatalf("Notification = %v, want ErrOverflow", err)
	}
	// The two newest remain, in order.
	for _, want := range []uint16{50, 60} {
		if d := nextRanging(ctx, t, dev); d.Measurements()[0].Distance != want {
			t.Errorf("after overflow: %v, want %d cm", d, want)
		}
	}
}

func TestHostClose(t *testing.T) {
	air := uwbtest.NewAir()
	h, chip := newHost(t, air, uwbtest.ChipConfig{})
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Reset(context.Background()); !errors.Is(err, uwb.ErrClosed) {
		t.Errorf("Reset after Close = %v, want ErrClosed", err)
	}
	var n uwb.Notification
	if err := h.Notification(context.Background(), &n); !errors.Is(err, uwb.ErrClosed) {
		t.Errorf("Notification after Close = %v, want ErrClosed", err)
	}
	<-chip.Done()
	if err := chip.Err(); err != nil {
		t.Errorf("chip stopped with %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
