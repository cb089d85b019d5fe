package nci_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

type opener func(testing.TB, *pollingtest.Field, ncitest.Config, *nci.Config) (*ncitest.Controller, *nci.Device)

var links = []struct {
	name string
	open opener
}{{"UART", simUART}, {"I2C", simI2C}}

// bigCard answers every APDU with n bytes and 9000 and records the
// commands.
type bigCard struct {
	n    int
	mu   sync.Mutex
	cmds [][]byte
}

func (b *bigCard) ProcessAPDU(dst, cmd []byte) []byte {
	b.mu.Lock()
	b.cmds = append(b.cmds, bytes.Clone(cmd))
	b.mu.Unlock()
	for i := range b.n {
		dst = append(dst, byte(i))
	}
	return append(dst, 0x90, 0x00)
}

// last returns the last command received.
func (b *bigCard) last() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmds[len(b.cmds)-1]
}

func TestInit(t *testing.T) {
	for _, l := range links {
		for _, tt := range []struct {
			name     string
			sim      ncitest.Config
			received []string
		}{
			{"NCI 2.0 NXP", ncitest.Config{}, []string{"CORE_RESET", "CORE_INIT", "NXP_ACTIVATE", "CORE_SET_CONFIG", "RF_DISCOVER_MAP"}},
			{"NCI 1.0 other maker", ncitest.Config{Version: nci.Version10, ManufacturerID: 0x2B}, []string{"CORE_RESET", "CORE_INIT", "CORE_SET_CONFIG", "RF_DISCOVER_MAP"}},
		} {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				cfg := *testConfig
				cfg.Params = []nci.ConfigParam{{ID: 0xA044, Value: []byte{0}}, {ID: nci.ParamPADevicesLimit, Value: []byte{1}}}
				c, d := l.open(t, pollingtest.NewField(), tt.sim, &cfg)
				if got := c.Received(); !slices.Equal(got, tt.received) {
					t.Errorf("commands = %v, want %v", got, tt.received)
				}
				if got := c.Param(0xA044); !bytes.Equal(got, []byte{0}) {
					t.Errorf("parameter A044 = %X, want 00", got)
				}
				info := d.Info()
				wantVersion := tt.sim.Version
				if wantVersion == 0 {
					wantVersion = nci.Version20
				}
				if info.Version != wantVersion || info.Init.MaxControlPayload != 0xFF {
					t.Errorf("Info() = %+v", info)
				}
				hw, ok := info.NXPHardware()
				if nxp := tt.sim.ManufacturerID == 0; ok != nxp || (nxp && hw != 0x71) {
					t.Errorf("NXPHardware() = %02X, %v", hw, ok)
				}
			})
		}
	}
}

func TestDetectAndExchange(t *testing.T) {
	for _, l := range links {
		for _, sc := range []ncitest.Config{
			{},                              // 255-byte packets, one credit
			{MaxDataPayload: 7, Credits: 1}, // many segments, a credit per segment
			{MaxDataPayload: 16, Credits: nci.CreditsUnlimited}, // no flow control
		} {
			t.Run(fmt.Sprintf("%s/payload %d credits %d", l.name, sc.MaxDataPayload, sc.Credits), func(t *testing.T) {
				var group [8]byte
				ecp := polling.HomeKey(group)
				field := pollingtest.NewField()
				card := &bigCard{n: 700}
				field.Enter(&pollingtest.Phone{Card: card, Express: true, Accept: pollingtest.AcceptFrame(ecp)})
				c, d := l.open(t, field, sc, testConfig)
				ctx := ctxT(t)
				target := detect(t, d, fastRound(ecp.Append(nil)))
				if !bytes.Equal(c.ECPFrame(), ecp.Append(nil)) {
					t.Errorf("the controller was configured with ECP frame %X", c.ECPFrame())
				}
				if got := c.Param(nci.ParamTotalDuration); !bytes.Equal(got, []byte{5, 0}) {
					t.Errorf("TOTAL_DURATION = %X, want 05 00 (5 ms)", got)
				}
				if info := target.Info(); !pollingtest.EqualInfo(info, pollingtest.DefaultInfo) {
					t.Errorf("Info() = %+v", info)
				}
				for _, n := range []int{4, 300, 2000} {
					cmd := bytes.Repeat([]byte{0x5A}, n)
					resp, err := target.Transceive(ctx, []byte{0xEE}, cmd)
					if err != nil || len(resp) != 1+700+2 || resp[0] != 0xEE || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
						t.Fatalf("Transceive(%d bytes) = %d bytes, %v", n, len(resp), err)
					}
					if last := card.last(); !bytes.Equal(last, cmd) {
						t.Errorf("the card got %d bytes, want %d", len(last), n)
					}
				}
				if ok, err := target.Present(ctx); !ok || err != nil {
					t.Errorf("Present() = %v, %v", ok, err)
				}
				if err := target.Release(ctx); err != nil {
					t.Fatal(err)
				}
				if err := target.Release(ctx); err != nil {
					t.Errorf("second Release = %v", err)
				}
				if field.On() {
					t.Error("the field is on after Release")
				}
				if _, err := target.Transceive(ctx, nil, []byte{0, 0xA4, 4, 0}); !errors.Is(err, nci.ErrReleased) {
					t.Errorf("Transceive after Release = %v, want %v", err, nci.ErrReleased)
				}
				if ok, err := target.Present(ctx); ok || err != nil {
					t.Errorf("Present() after Release = %v, %v", ok, err)
				}
				// The next round starts discovery again.
				detect(t, d, fastRound(ecp.Append(nil))).Release(ctx)
			})
		}
	}
}

func TestExpressPhoneNeedsECP(t *testing.T) {
	ecp := polling.HomeKey(homeGroup)
	field := pollingtest.NewField()
	field.Enter(&pollingtest.Phone{Card: &bigCard{n: 1}, Express: true, Accept: pollingtest.AcceptFrame(ecp)})
	_, d := simI2C(t, field, ncitest.Config{}, testConfig)
	for range 20 {
		if _, err := d.Detect(ctxT(t), fastRound(nil)); !errors.Is(err, polling.ErrNoTarget) {
			t.Fatalf("Detect(no ECP) = %v, want %v", err, polling.ErrNoTarget)
		}
	}
	other := polling.HomeKey([8]byte{1})
	for range 20 {
		if _, err := d.Detect(ctxT(t), fastRound(other.Append(nil))); !errors.Is(err, polling.ErrNoTarget) {
			t.Fatalf("Detect(another group's ECP) = %v, want %v", err, polling.ErrNoTarget)
		}
	}
	if s := field.Stats(); s.Activations != 0 || s.Accepted != 0 {
		t.Errorf("field stats %+v", s)
	}
	target := detect(t, d, fastRound(ecp.Append(nil)))
	if resp, err := target.Transceive(ctxT(t), nil, []byte{0x00, 0xA4, 0x04, 0x00}); err != nil || !bytes.Equal(resp, []byte{0, 0x90, 0x00}) {
		t.Errorf("Transceive = %X, %v", resp, err)
	}
	target.Release(ctxT(t))
}

func TestNoECPCommand(t *testing.T) {
	_, d := simI2C(t, pollingtest.NewField(), ncitest.Config{}, &nci.Config{Timeout: 2 * time.Second})
	var group [8]byte
	if _, err := d.Detect(ctxT(t), fastRound(polling.HomeKey(group).Append(nil))); !errors.Is(err, nci.ErrNoECP) {
		t.Errorf("Detect(ECP, no command configured) = %v, want %v", err, nci.ErrNoECP)
	}
	// Polling without ECP works.
	if _, err := d.Detect(ctxT(t), fastRound(nil)); !errors.Is(err, polling.ErrNoTarget) {
		t.Errorf("Detect(no ECP) = %v, want %v", err, polling.ErrNoTarget)
	}
	// A controller that does not take the configured command refuses it.
	_, d = simI2C(t, pollingtest.NewField(), ncitest.Config{ECP: &nci.ECPCommand{GID: 0xF, OID: 0x3E}}, testConfig)
	if _, err := d.Detect(ctxT(t), fastRound(polling.HomeKey(group).Append(nil))); !errors.Is(err, nci.ErrSyntax) {
		t.Errorf("Detect(ECP command the NFCC does not know) = %v, want %v", err, nci.ErrSyntax)
	}
}

func TestPresenceNCI10(t *testing.T) {
	field := pollingtest.NewField()
	field.Enter(&pollingtest.Phone{Card: &bigCard{n: 1}})
	_, d := simI2C(t, field, ncitest.Config{Version: nci.Version10}, testConfig)
	target := detect(t, d, fastRound(nil))
	if _, err := target.Present(ctxT(t)); !errors.Is(err, nci.ErrPresenceUnsupported) {
		t.Errorf("Present() on NCI 1.0 = %v, want %v", err, nci.ErrPresenceUnsupported)
	}
	field.Leave()
	target.Release(ctxT(t))
	// A phone that left is not present.
	field.Enter(&pollingtest.Phone{Card: &bigCard{n: 1}})
	_, d = simI2C(t, field, ncitest.Config{}, testConfig)
	target = detect(t, d, fastRound(nil))
	field.Leave()
	if ok, err := target.Present(ctxT(t)); ok || err != nil {
		t.Errorf("Present() after the phone left = %v, %v", ok, err)
	}
}

func TestControllerFaults(t *testing.T) {
	for _, l := range links {
		t.Run(l.name, func(t *testing.T) {
			field := pollingtest.NewField()
			field.Enter(&pollingtest.Phone{Card: &bigCard{n: 2}})
			c, d := l.open(t, field, ncitest.Config{}, muteConfig)
			ctx := ctxT(t)

			// A controller that stops answering costs a timeout.
			c.SetFaults(ncitest.Faults{Mute: true})
			if _, err := d.Detect(ctx, fastRound(nil)); !errors.Is(err, nci.ErrTimeout) || !errors.Is(err, transport.ErrNoReader) {
				t.Fatalf("Detect(mute controller) = %v, want %v", err, nci.ErrTimeout)
			}
			c.SetFaults(ncitest.Faults{})
			target := detect(t, d, fastRound(nil))

			// Credits that never come back: the exchange times out.
			c.SetFaults(ncitest.Faults{WithholdCredits: true})
			if _, err := target.Transceive(ctx, nil, bytes.Repeat([]byte{1}, 600)); !errors.Is(err, nci.ErrTimeout) {
				t.Errorf("Transceive without credits = %v, want %v", err, nci.ErrTimeout)
			}
			if ctx.Err() != nil {
				t.Fatal("ran into the test's deadline")
			}
		})
	}
}

func TestBadPackets(t *testing.T) {
	for _, l := range links {
		for _, tt := range []struct {
			name   string
			faults ncitest.Faults
			want   error
		}{
			{"RFU bits in a header", ncitest.Faults{BadHeader: true}, nci.ErrMalformedPacket},
			{"oversize notification", ncitest.Faults{Oversize: true}, nci.ErrMessageTooLong},
		} {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				c, d := l.open(t, pollingtest.NewField(), ncitest.Config{}, testConfig)
				c.SetFaults(tt.faults)
				if _, err := d.Detect(ctxT(t), fastRound(nil)); !errors.Is(err, tt.want) {
					t.Errorf("Detect = %v, want %v", err, tt.want)
				}
			})
		}
	}
}

// flakyBus fails its first write, as an NFCC in standby does.
type flakyBus struct {
	nci.Bus
	failed bool
}

func (f *flakyBus) Write(p []byte) (int, error) {
	if !f.failed {
		f.failed = true
		return 0, errors.New("remote I/O error")
	}
	return f.Bus.Write(p)
}

func TestI2CWriteRetry(t *testing.T) {
	c := ncitest.New(pollingtest.NewField(), ncitest.Config{})
	bus := c.I2C()
	defer bus.Close()
	link := nci.NewI2CLink(&flakyBus{Bus: bus}, bus)
	var pauses []time.Duration
	link.SetSleep(func(ctx context.Context, d time.Duration) error { pauses = append(pauses, d); return nil })
	d, err := nci.New(ctxT(t), link, testConfig)
	if err != nil {
		t.Fatalf("New over a bus that fails its first write = %v", err)
	}
	d.Close()
	if len(pauses) != 1 || pauses[0] != 110*time.Millisecond {
		t.Errorf("pauses before retrying = %v, want one of 110ms (the NFCC leaving standby)", pauses)
	}
	// Two failures in a row are an error.
	if err := nci.NewI2CLink(&flakyBus{Bus: failingBus{}}, bus).WritePacket(ctxT(t), []byte{0x20, 0, 0}); err == nil {
		t.Error("WritePacket on a failing bus succeeded")
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := nci.NewI2CLink(&flakyBus{Bus: bus}, bus).WritePacket(cctx, []byte{0x20, 0, 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("WritePacket(cancelled) = %v", err)
	}
}

type failingBus struct{}

func (failingBus) Read(p []byte) (int, error)  { return 0, errors.New("no device") }
func (failingBus) Write(p []byte) (int, error) { return 0, errors.New("no device") }

func TestI2CLinkReadErrors(t *testing.T) {
	c := ncitest.New(pollingtest.NewField(), ncitest.Config{})
	bus := c.I2C()
	defer bus.Close()
	link := nci.NewI2CLink(failingBus{}, bus)
	// With the line low, the read waits for the deadline.
	if _, err := link.ReadPacket(ctxT(t), nil, time.Now().Add(10*time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ReadPacket(line low) = %v, want a deadline error", err)
	}
	// With a packet pending but a bus that fails, the read fails.
	bus.Write([]byte{0x20, 0x00, 0x01, 0x01})
	if _, err := link.ReadPacket(ctxT(t), nil, time.Time{}); !errors.Is(err, nci.ErrMalformedPacket) {
		t.Errorf("ReadPacket(failing bus) = %v, want %v", err, nci.ErrMalformedPacket)
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []*nci.Config{{Timeout: -1}, {ExchangeTimeout: -1}, {ECP: &nci.ECPCommand{GID: 0x10}}, {ECP: &nci.ECPCommand{OID: 0x40}}} {
		if _, err := nci.New(ctxT(t), nil, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := nci.OpenUART(ctxT(t), "/nonexistent/tty", 115200, nil); err == nil {
		t.Error("OpenUART(/nonexistent/tty) succeeded")
	}
}
