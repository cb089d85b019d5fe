package nci_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/polling"
)

// scriptLink is a Link that plays a conversation written as hex: each step
// is a packet the driver must write and the packets the NFCC sends back.
type scriptLink struct {
	t     *testing.T
	steps []step
	out   [][]byte
}

type step struct {
	want  string   // hex of the packet the driver writes
	reply []string // hex of the packets the NFCC answers with
}

func (s *scriptLink) WritePacket(ctx context.Context, p []byte) error {
	if len(s.steps) == 0 {
		return fmt.Errorf("script: unexpected write %X", p)
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if want := mustHex(s.t, st.want); !bytes.Equal(p, want) {
		s.t.Errorf("driver wrote %X, want %X", p, want)
	}
	for _, r := range st.reply {
		s.out = append(s.out, mustHex(s.t, r))
	}
	return nil
}

func (s *scriptLink) ReadPacket(ctx context.Context, dst []byte, deadline time.Time) ([]byte, error) {
	if len(s.out) == 0 {
		return dst, fmt.Errorf("script: %w", os.ErrDeadlineExceeded)
	}
	p := s.out[0]
	s.out = s.out[1:]
	return append(dst, p...), nil
}

// initSteps bring up an NCI 2.0 controller of another maker (no NXP
// activation).
var initSteps = []step{
	{"20 00 01 01", []string{"40 00 01 00", "60 00 05 02 01 20 2b 00"}},
	{"20 01 02 00 00", []string{"40 01 12 00 00000000 01 0000 ff 00 00 0000 02 01 00 02 00"}},
	{"21 00 04 01 04 01 02", []string{"41 00 01 00"}},
}

// discoverSteps start discovery with a 2 ms period.
var discoverSteps = []step{
	{"20 02 05 01 00 02 02 00", []string{"40 02 02 00 00"}},
	{"21 03 03 01 00 01", []string{"41 03 01 00"}},
}

func scripted(t *testing.T, steps ...[]step) (*nci.Device, *scriptLink) {
	t.Helper()
	l := &scriptLink{t: t}
	for _, s := range steps {
		l.steps = append(l.steps, s...)
	}
	d, err := nci.New(ctxT(t), l, &nci.Config{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return d, l
}

var scriptRound = &polling.Round{Interval: 2 * time.Millisecond}

// TestDiscoverSelect: the NFCC reports two endpoints (a type 2 tag and an
// ISO-DEP phone); the driver selects the ISO-DEP one.
func TestDiscoverSelect(t *testing.T) {
	steps := []step{
		discoverSteps[0],
		{"21 03 03 01 00 01", []string{
			"41 03 01 00",
			// RF_DISCOVER_NTF: ID 1, T2T, NFC-A poll, params, more to come.
			"61 03 11 01 02 00 0c 0044 07 04a1b2c3d4e5f6 01 00 02",
			// ID 2, ISO-DEP, NFC-A poll, params, last.
			"61 03 0e 02 04 00 09 0004 04 081a2b3c 01 20 00",
		}},
		// RF_DISCOVER_SELECT_CMD: ID 2, ISO-DEP, ISO-DEP interface.
		{"21 04 03 02 04 02", []string{
			"41 04 01 00",
			"61 05 1b 02 02 04 00 ff 01 0a 0004 04 081a2b3c 01 20 00 00 00 00 06 05 0578807002",
		}},
	}
	d, _ := scripted(t, initSteps, initSteps[:0], steps)
	target, err := d.Detect(ctxT(t), scriptRound)
	if err != nil {
		t.Fatalf("Detect = %v", err)
	}
	if got := target.Info(); !bytes.Equal(got.NFCID1, []byte{8, 0x1A, 0x2B, 0x3C}) || got.SELRes != 0x20 {
		t.Errorf("Info() = %+v", got)
	}
}

// TestNonISODEPActivation: an activation on the frame interface is sent
// back to discovery, and the round ends without a target.
func TestNonISODEPActivation(t *testing.T) {
	steps := []step{
		discoverSteps[0],
		{"21 03 03 01 00 01", []string{
			"41 03 01 00",
			"61 05 15 01 01 02 00 ff 01 0a 0044 04 01020304 01 00 00 00 00 00 00",
		}},
		{"21 06 01 03", []string{"41 06 01 00", "61 06 02 03 00"}},
	}
	d, _ := scripted(t, initSteps, steps)
	if _, err := d.Detect(ctxT(t), scriptRound); !errors.Is(err, polling.ErrNoTarget) {
		t.Errorf("Detect(T2T on the frame interface) = %v, want %v", err, polling.ErrNoTarget)
	}
}

// TestProtocolErrors: a response to another command, a response with no
// command, a failed status.
func TestProtocolErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps []step
		want  error
	}{
		{"response to another command", []step{{"20 02 05 01 00 02 02 00", []string{"41 03 01 00"}}}, nci.ErrUnexpected},
		{"discovery refused", []step{discoverSteps[0], {"21 03 03 01 00 01", []string{"41 03 01 a0"}}}, nci.ErrDiscovery},
		{"parameter refused", []step{{"20 02 05 01 00 02 02 00", []string{"40 02 03 09 01 00"}}}, nci.ErrSyntax},
		{"response without a command", []step{discoverSteps[0], {"21 03 03 01 00 01", []string{"41 03 01 00", "40 00 01 00"}}}, nci.ErrUnexpected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := scripted(t, initSteps, tt.steps)
			if _, err := d.Detect(ctxT(t), scriptRound); !errors.Is(err, tt.want) {
				t.Errorf("Detect = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestInitErrors: a controller that fails its reset or answers with an
// unknown version.
func TestInitErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps []step
		want  error
	}{
		{"reset failed", []step{{"20 00 01 01", []string{"40 00 01 03"}}}, nci.ErrRejected},
		{"no reset notification", []step{{"20 00 01 01", []string{"40 00 01 00"}}}, nci.ErrTimeout},
		{"unknown version", []step{{"20 00 01 01", []string{"40 00 03 00 30 01"}}}, nci.ErrUnexpected},
		{"reset after an error", []step{{"20 00 01 01", []string{"40 00 01 00", "60 00 05 00 01 20 2b 00"}}}, nci.ErrUnexpected},
		{"init failed", []step{initSteps[0], {"20 01 02 00 00", []string{"40 01 01 04"}}}, nci.ErrNotInitialized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &scriptLink{t: t, steps: tt.steps}
			if _, err := nci.New(ctxT(t), l, &nci.Config{Timeout: 50 * time.Millisecond}); !errors.Is(err, tt.want) {
				t.Errorf("New = %v, want %v", err, tt.want)
			}
		})
	}
}
