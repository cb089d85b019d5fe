package pn532_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/internal/serialio"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestOpenInitializes(t *testing.T) {
	field := pollingtest.NewField()
	c, path := sim(t, field)
	d := open(t, path, nil)
	if got := d.Firmware(); got != pn532test.DefaultFirmware {
		t.Errorf("Firmware() = %v, want %v", got, pn532test.DefaultFirmware)
	}
	want := []byte{pn532.CmdSAMConfiguration, pn532.CmdGetFirmwareVersion, pn532.CmdRFConfiguration, pn532.CmdRFConfiguration, pn532.CmdRFConfiguration}
	if got := c.Commands(); !bytes.Equal(got, want) {
		t.Errorf("commands at Open = %X, want %X", got, want)
	}
	for _, tt := range []struct {
		item byte
		want []byte
	}{
		// One passive activation attempt, as ECP needs ([AHKR]).
		{pn532.CfgMaxRetries, []byte{0xFF, 0x01, 0x00}},
		{pn532.CfgTimings, []byte{0x00, 0x0B, pn532.DefaultCommTimeout}},
		{pn532.CfgField, []byte{pn532.FieldOff}},
	} {
		if got := c.RFConfiguration(tt.item); !bytes.Equal(got, tt.want) {
			t.Errorf("RFConfiguration item %02X = %X, want %X", tt.item, got, tt.want)
		}
	}
	if field.On() {
		t.Error("the field is on after Open")
	}
}

func TestOpenWithoutController(t *testing.T) {
	field := pollingtest.NewField()
	c, path := sim(t, field)
	c.SetFaults(pn532test.Faults{Mute: true})
	ctx := ctxT(t)
	start := time.Now()
	_, err := pn532.Open(ctx, path, muteConfig)
	if !errors.Is(err, pn532.ErrTimeout) || !errors.Is(err, transport.ErrNoReader) {
		t.Fatalf("Open(mute controller) = %v, want %v", err, pn532.ErrTimeout)
	}
	if ctx.Err() != nil {
		t.Fatalf("Open(mute controller) took %v: it waited for the test's deadline", time.Since(start))
	}
	if _, err := pn532.Open(ctx, "/nonexistent/ttyUSB9", nil); err == nil {
		t.Error("Open(/nonexistent/ttyUSB9) succeeded")
	}
}

func TestDetectExpressPhone(t *testing.T) {
	v := newHomeVehicle(t)
	field, c, d := simDevice(t)
	ctx := ctxT(t)
	frame := v.ecp.Append(nil)

	// No phone: the round ends with ErrNoTarget and the field off.
	if _, err := d.Detect(ctx, fastRound(frame)); !errors.Is(err, polling.ErrNoTarget) {
		t.Fatalf("Detect(empty field) = %v, want %v", err, polling.ErrNoTarget)
	}
	if field.On() {
		t.Error("the field stays on after an empty round")
	}

	field.Enter(v.expressPhone())
	// Without ECP an express phone stays silent.
	if _, err := d.Detect(ctx, fastRound(nil)); !errors.Is(err, polling.ErrNoTarget) {
		t.Fatalf("Detect(no ECP, express phone) = %v, want %v", err, polling.ErrNoTarget)
	}
	// Another reader's frame does not wake it either.
	other := polling.HomeKey([8]byte{1, 2, 3, 4, 5, 6, 7, 8}).Append(nil)
	if _, err := d.Detect(ctx, fastRound(other)); !errors.Is(err, polling.ErrNoTarget) {
		t.Fatalf("Detect(another group's ECP) = %v, want %v", err, polling.ErrNoTarget)
	}
	// Its own frame does.
	target, err := d.Detect(ctx, fastRound(frame))
	if err != nil {
		t.Fatalf("Detect(ECP, express phone) = %v", err)
	}
	if got := target.Info(); !pollingtest.EqualInfo(got, pollingtest.DefaultInfo) {
		t.Errorf("Info() = %+v, want %+v", got, pollingtest.DefaultInfo)
	}
	if s := field.Stats(); s.Accepted != 1 || s.Rejected != 2 || s.Garbled != 0 || s.Activations != 1 {
		t.Errorf("field stats = %+v, want 1 accepted, 2 rejected (no phone, another group), 0 garbled, 1 activation", s)
	}
	// The ECP frame went out as a raw frame: registers as the driver set
	// them before InCommunicateThru, then as InListPassiveTarget left them.
	if got := c.Register(pn532.RegManualRCV); got != 0x00 {
		t.Errorf("ManualRCV = %02X, want 00 (parity on)", got)
	}
	present, err := target.Present(ctx)
	if err != nil || !present {
		t.Errorf("Present() = %v, %v; want true", present, err)
	}
	if err := target.Release(ctx); err != nil {
		t.Errorf("Release() = %v", err)
	}
	if err := target.Release(ctx); err != nil {
		t.Errorf("second Release() = %v", err)
	}
	if field.On() {
		t.Error("the field stays on after Release")
	}
	if present, err := target.Present(ctx); err != nil || present {
		t.Errorf("Present() after Release = %v, %v; want false", present, err)
	}
	if _, err := target.Transceive(ctx, nil, []byte{0x00, 0xA4, 0x04, 0x00}); !errors.Is(err, pn532.ErrReleased) {
		t.Errorf("Transceive after Release = %v, want %v", err, pn532.ErrReleased)
	}
}

// TestECPFramingMatters shows that the CIU registers decide what goes on
// air: with CRC generation on, the PN532 appends a second CRC_A, and with a
// partial last byte the frame is garbled; the phone ignores both.
func TestECPFramingMatters(t *testing.T) {
	v := newHomeVehicle(t)
	field, _, d := simDevice(t)
	ctx := ctxT(t)
	field.Enter(v.expressPhone())
	if err := d.SetField(ctx, true); err != nil {
		t.Fatal(err)
	}
	thru := append([]byte{pn532.CmdInCommunicateThru}, v.ecp.Append(nil)...)
	for _, tt := range []struct {
		name string
		regs []pn532.Register
		want pollingtest.Stats
	}{
		{"CRC generation on", []pn532.Register{{pn532.RegTxMode, pn532.BitCRCEnable}}, pollingtest.Stats{Rejected: 1}},
		{"7 bits in the last byte", []pn532.Register{{pn532.RegTxMode, 0}, {pn532.RegBitFraming, 0x07}}, pollingtest.Stats{Rejected: 1, Garbled: 1}},
		{"parity off", []pn532.Register{{pn532.RegBitFraming, 0}, {pn532.RegManualRCV, pn532.BitParityDisable}}, pollingtest.Stats{Rejected: 1, Garbled: 2}},
	} {
		if err := d.WriteRegister(ctx, tt.regs...); err != nil {
			t.Fatal(err)
		}
		resp, err := d.Command(ctx, thru)
		if err != nil || len(resp) != 1 || pn532.Status(resp[0]) != pn532.StatusTimeout {
			t.Errorf("%s: InCommunicateThru = %X, %v; want status %v", tt.name, resp, err, pn532.StatusTimeout)
		}
		if got := field.Stats(); got != tt.want {
			t.Errorf("%s: field stats %+v, want %+v", tt.name, got, tt.want)
		}
	}
	// SendECP sets the registers itself.
	if err := d.SendECP(ctx, v.ecp.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if got := field.Stats(); got.Accepted != 1 {
		t.Errorf("after SendECP: field stats %+v, want 1 accepted", got)
	}
}

func TestNonISODEPTargetIgnored(t *testing.T) {
	field, _, d := simDevice(t)
	// A MIFARE Classic-like tag: SEL_RES 08, no ATS.
	tag := polling.TargetInfo{SENSRes: [2]byte{0x00, 0x04}, SELRes: 0x08, NFCID1: []byte{1, 2, 3, 4}}
	field.Enter(&pollingtest.Phone{Card: echoCard{}, Info: tag})
	if _, err := d.Detect(ctxT(t), fastRound(nil)); !errors.Is(err, polling.ErrNoTarget) {
		t.Fatalf("Detect(MIFARE tag) = %v, want %v", err, polling.ErrNoTarget)
	}
}

// echoCard answers every APDU with its data and 9000.
type echoCard struct{}

func (echoCard) ProcessAPDU(dst, cmd []byte) []byte {
	c, err := transport.ParseCommand(cmd)
	if err != nil {
		return append(dst, 0x67, 0x00)
	}
	return append(append(dst, c.Data...), 0x90, 0x00)
}

// bigCard answers every APDU with n bytes and 9000, and records the
// commands it received.
type bigCard struct {
	n    int
	mu   sync.Mutex
	cmds [][]byte
}

// received returns the commands received.
func (b *bigCard) received() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmds
}

func (b *bigCard) ProcessAPDU(dst, cmd []byte) []byte {
	b.mu.Lock()
	b.cmds = append(b.cmds, append([]byte(nil), cmd...))
	b.mu.Unlock()
	for i := range b.n {
		dst = append(dst, byte(i))
	}
	return append(dst, 0x90, 0x00)
}

// TestChaining sends APDUs and receives answers longer than one
// InDataExchange carries: the MI bit of Tg chains the command, the MI bit
// of the status the answer.
func TestChaining(t *testing.T) {
	for _, tt := range []struct{ cmdLen, respLen int }{
		{4, 0}, {262, 260}, {263, 261}, {600, 1000}, {5 + 65535 + 2, 4000},
	} {
		field := pollingtest.NewField()
		card := &bigCard{n: tt.respLen}
		field.Enter(&pollingtest.Phone{Card: card})
		_, path := sim(t, field)
		d := open(t, path, testConfig)
		ctx := ctxT(t)
		target, err := d.Detect(ctx, fastRound(nil))
		if err != nil {
			t.Fatalf("Detect = %v", err)
		}
		cmd := make([]byte, tt.cmdLen)
		for i := range cmd {
			cmd[i] = byte(i * 7)
		}
		resp, err := target.Transceive(ctx, []byte("prefix"), cmd)
		if err != nil {
			t.Fatalf("Transceive(%d bytes) = %v", tt.cmdLen, err)
		}
		if !bytes.HasPrefix(resp, []byte("prefix")) || len(resp) != 6+tt.respLen+2 || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
			t.Errorf("Transceive(%d bytes) = %d bytes, want prefix + %d + 9000", tt.cmdLen, len(resp), tt.respLen)
		}
		if got := card.received(); len(got) != 1 || !bytes.Equal(got[0], cmd) {
			t.Errorf("the card received %d commands, want the one of %d bytes", len(got), tt.cmdLen)
		}
		target.Release(ctx)
	}
}

func TestTransactionThroughSimulator(t *testing.T) {
	v := newHomeVehicle(t)
	field, _, d := simDevice(t)
	ctx := ctxT(t)
	field.Enter(v.expressPhone())
	for i, wantFast := range []bool{false, true, true} {
		target, err := d.Detect(ctx, fastRound(v.ecp.Append(nil)))
		if err != nil {
			t.Fatalf("round %d: Detect = %v", i, err)
		}
		res, err := v.reader.Transact(ctx, target, dkey.ActionUnlock)
		if err != nil || !res.OK() || res.Fast != wantFast || res.Slot != v.slot {
			t.Errorf("round %d: Transact = fast %v, slot %v, %v; want fast %v, slot %v", i, res.Fast, res.Slot, err, wantFast, v.slot)
		}
		if err := target.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBadChecksum: a corrupted answer is asked for again with NACK and the
// command succeeds; a corrupted command is not acknowledged by the
// controller.
func TestBadChecksum(t *testing.T) {
	field, c, d := simDevice(t)
	ctx := ctxT(t)
	c.SetFaults(pn532test.Faults{CorruptAnswers: 2})
	resp, err := d.Command(ctx, []byte{pn532.CmdDiagnose, 0x00, 'p', 'i', 'n', 'g'})
	if err != nil || string(resp) != "\x00ping" {
		t.Errorf("Diagnose(00, ping) with 2 corrupted answers = %q, %v; want the data back", resp, err)
	}

	// A command frame with a bad data checksum gets no ACK.
	c2, slave := sim(t, field)
	p, err := serialio.Open(slave, pn532.DefaultBaud)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bad, _ := pn532.AppendFrame(append([]byte{0x55, 0x55}, make([]byte, 14)...), pn532.TFIHost, []byte{pn532.CmdGetFirmwareVersion})
	bad[len(bad)-2] ^= 1
	if _, err := p.Write(bad); err != nil {
		t.Fatal(err)
	}
	p.SetReadTimeout(200 * time.Millisecond)
	buf := make([]byte, 64)
	if n, _ := p.Read(buf); n != 0 {
		t.Errorf("a command with a bad checksum was answered %X", buf[:n])
	}
	if got := c2.Commands(); len(got) != 0 {
		t.Errorf("the controller ran %X for a corrupted frame", got)
	}
}

// TestNACKStorm: a controller whose answers are always corrupted, or which
// NACKs every command, costs a bounded number of retries and a typed error.
func TestNACKStorm(t *testing.T) {
	for _, tt := range []struct {
		name   string
		faults pn532test.Faults
	}{
		{"corrupted answers", pn532test.Faults{CorruptAnswers: 1000}},
		{"NACKed commands", pn532test.Faults{NACKCommands: 1000}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c, d := simDevice(t)
			c.SetFaults(tt.faults)
			_, err := d.Command(ctxT(t), []byte{pn532.CmdGetFirmwareVersion})
			var pe *pn532.ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, transport.ErrProtocol) {
				t.Fatalf("GetFirmwareVersion = %v, want a *ProtocolError", err)
			}
			// The retries are bounded: MaxNACK, then the error.
			c.SetFaults(pn532test.Faults{})
			if _, err := d.Command(ctxT(t), []byte{pn532.CmdGetFirmwareVersion}); err != nil {
				t.Errorf("GetFirmwareVersion after the storm = %v", err)
			}
		})
	}
}

// TestControllerStopsAnswering: a mute controller costs the configured
// timeout, not a hang, during polling and in the middle of a transaction.
func TestControllerStopsAnswering(t *testing.T) {
	v := newHomeVehicle(t)
	field := pollingtest.NewField()
	c, path := sim(t, field)
	d := open(t, path, muteConfig)
	field.Enter(v.expressPhone())
	ctx := ctxT(t)

	c.SetFaults(pn532test.Faults{Mute: true})
	if _, err := d.Detect(ctx, fastRound(v.ecp.Append(nil))); !errors.Is(err, pn532.ErrTimeout) {
		t.Fatalf("Detect(mute controller) = %v, want %v", err, pn532.ErrTimeout)
	}
	c.SetFaults(pn532test.Faults{})
	target, err := d.Detect(ctx, fastRound(v.ecp.Append(nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetFaults(pn532test.Faults{Mute: true})
	res, err := v.reader.Transact(ctx, target, dkey.ActionUnlock)
	if !errors.Is(err, pn532.ErrTimeout) || res.OK() {
		t.Fatalf("Transact(mute controller) = %v, want %v", err, pn532.ErrTimeout)
	}
	if ctx.Err() != nil {
		t.Fatal("the mute controller ran into the test's deadline")
	}
	// A cancelled context ends a command at once.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Command(cctx, []byte{pn532.CmdGetFirmwareVersion}); !errors.Is(err, context.Canceled) {
		t.Errorf("Command(cancelled context) = %v, want %v", err, context.Canceled)
	}
}

func TestOversizeFrame(t *testing.T) {
	_, c, d := simDevice(t)
	ctx := ctxT(t)
	c.SetFaults(pn532test.Faults{Oversize: true})
	if _, err := d.Command(ctx, []byte{pn532.CmdGetFirmwareVersion}); !errors.Is(err, pn532.ErrFrameTooLong) {
		t.Errorf("GetFirmwareVersion with an oversize answer = %v, want %v", err, pn532.ErrFrameTooLong)
	}
	if _, err := d.Command(ctx, []byte{pn532.CmdGetFirmwareVersion}); err != nil {
		t.Errorf("GetFirmwareVersion after an oversize answer = %v", err)
	}
	// The driver refuses to send an oversize command.
	if _, err := d.Command(ctx, make([]byte, pn532.MaxData+1)); !errors.Is(err, pn532.ErrFrameTooLong) {
		t.Errorf("Command(%d bytes) = %v, want %v", pn532.MaxData+1, err, pn532.ErrFrameTooLong)
	}
	if err := d.SendECP(ctx, make([]byte, pn532.MaxThruData+1)); err == nil {
		t.Error("SendECP(oversize frame) succeeded")
	}
}

func TestSyntaxError(t *testing.T) {
	_, _, d := simDevice(t)
	// RFConfiguration item 01 takes one byte.
	if _, err := d.Command(ctxT(t), []byte{pn532.CmdRFConfiguration, pn532.CfgField, 1, 2}); !errors.Is(err, pn532.ErrSyntax) {
		t.Errorf("RFConfiguration with a bad length = %v, want %v", err, pn532.ErrSyntax)
	}
}

func TestRegisters(t *testing.T) {
	_, _, d := simDevice(t)
	ctx := ctxT(t)
	if err := d.WriteRegister(ctx, pn532.Register{Addr: pn532.RegTxMode, Value: 0x80}, pn532.Register{Addr: pn532.RegBitFraming, Value: 0x03}); err != nil {
		t.Fatal(err)
	}
	got, err := d.ReadRegister(ctx, []byte{0xAA}, pn532.RegTxMode, pn532.RegBitFraming)
	if err != nil || !bytes.Equal(got, []byte{0xAA, 0x80, 0x03}) {
		t.Errorf("ReadRegister = %X, %v; want AA 80 03", got, err)
	}
	if err := d.WriteRegister(ctx); err == nil {
		t.Error("WriteRegister() without registers succeeded")
	}
	if _, err := d.ReadRegister(ctx, nil); err == nil {
		t.Error("ReadRegister() without registers succeeded")
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []*pn532.Config{{Timeout: -1}, {MaxNACK: -1}, {CommTimeout: 0x11}} {
		if _, err := pn532.New(ctxT(t), nil, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
