package polling_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport/polling"
)

// fakeTarget is a target that stays present for a number of checks.
type fakeTarget struct {
	name     string
	checks   int // presence checks that answer true
	released int
	err      error // returned by Present once checks run out, if set
}

func (t *fakeTarget) Transceive(ctx context.Context, dst, cmd []byte) ([]byte, error) {
	return append(dst, 0x90, 0x00), nil
}
func (t *fakeTarget) Info() polling.TargetInfo { return polling.TargetInfo{NFCID1: []byte(t.name)} }
func (t *fakeTarget) Present(ctx context.Context) (bool, error) {
	if t.checks > 0 {
		t.checks--
		return true, nil
	}
	return false, t.err
}
func (t *fakeTarget) Release(ctx context.Context) error { t.released++; return nil }

// script is a Reader that plays a list of outcomes, one per round.
type script struct {
	steps  []any // *fakeTarget, error, or nil for an empty round
	rounds []polling.Round
}

func (s *script) Detect(ctx context.Context, r *polling.Round) (polling.Target, error) {
	s.rounds = append(s.rounds, polling.Round{ECP: bytes.Clone(r.ECP), FieldOnGuard: r.FieldOnGuard, Interval: r.Interval})
	if len(s.steps) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	step := s.steps[0]
	s.steps = s.steps[1:]
	switch v := step.(type) {
	case *fakeTarget:
		return v, nil
	case error:
		return nil, v
	}
	return nil, polling.ErrNoTarget
}

func TestLoopTargets(t *testing.T) {
	a := &fakeTarget{name: "a", checks: 3}
	b := &fakeTarget{name: "b", err: errors.New("presence check failed")}
	boom := errors.New("controller failed")
	s := &script{steps: []any{nil, nil, a, boom, nil, b}}
	var group [8]byte
	ecp := polling.HomeKey(group)
	l, err := polling.NewLoop(s, &polling.Config{ECP: &ecp, PresenceInterval: 7 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var sleeps []time.Duration
	l.SetSleep(func(ctx context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var got []string
	for target, err := range l.Targets(ctx) {
		switch {
		case errors.Is(err, boom):
			got = append(got, "error")
		case errors.Is(err, context.Canceled):
			// The end, after b.
		case err != nil:
			t.Fatalf("Targets yielded %v", err)
		default:
			got = append(got, string(target.Info().NFCID1))
			if string(target.Info().NFCID1) == "b" {
				cancel()
			}
		}
		if len(got) > 10 {
			break
		}
	}
	if want := []string{"a", "error", "b"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Targets yielded %q, want %q", got, want)
	}
	// a stayed for 3 checks: 3 pauses between them, then released.
	if a.released != 1 || b.released != 1 {
		t.Errorf("released a %d times, b %d times; want once each", a.released, b.released)
	}
	// a stayed for 3 checks (3 pauses of 7 ms); the failure cost a pause
	// of the interval.
	if want := []time.Duration{7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, polling.DefaultInterval}; !slices.Equal(sleeps, want) {
		t.Errorf("pauses = %v, want %v", sleeps, want)
	}
	for i, r := range s.rounds {
		if !bytes.Equal(r.ECP, ecp.Append(nil)) || r.FieldOnGuard != polling.DefaultFieldOnGuard || r.Interval != polling.DefaultInterval {
			t.Errorf("round %d = %+v, want the ECP frame and the default timings", i, r)
		}
	}
}

func TestLoopBreakReleases(t *testing.T) {
	a := &fakeTarget{name: "a", checks: 100}
	l, _ := polling.NewLoop(&script{steps: []any{a}}, nil)
	for target, err := range l.Targets(context.Background()) {
		if err != nil || target != a {
			t.Fatalf("Targets yielded %v, %v", target, err)
		}
		break
	}
	if a.released != 1 || a.checks != 100 {
		t.Errorf("break: released %d times after %d checks; want released once, no checks", a.released, 100-a.checks)
	}
}

func TestLoopStopsOnErrorBreak(t *testing.T) {
	l, _ := polling.NewLoop(&script{steps: []any{errors.New("x"), nil}}, nil)
	n := 0
	for _, err := range l.Targets(context.Background()) {
		n++
		if err == nil {
			t.Fatal("no error yielded")
		}
		break
	}
	if n != 1 {
		t.Errorf("yielded %d times", n)
	}
}

func TestLoopContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l, _ := polling.NewLoop(&script{}, nil)
	var errs []error
	for _, err := range l.Targets(ctx) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("Targets(cancelled) yielded %v, want one context.Canceled", errs)
	}
	// A context that ends while the reader waits.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	errs = nil
	for _, err := range l.Targets(ctx) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Errorf("Targets(deadline) yielded %v, want one context.DeadlineExceeded", errs)
	}
}

func TestNewLoopErrors(t *testing.T) {
	if _, err := polling.NewLoop(nil, nil); err == nil {
		t.Error("NewLoop(nil reader) succeeded")
	}
	var zero polling.ECP
	for _, cfg := range []*polling.Config{{Interval: -1}, {FieldOnGuard: -1}, {PresenceInterval: -1}, {ECP: &zero}} {
		if _, err := polling.NewLoop(&script{}, cfg); err == nil {
			t.Errorf("NewLoop(%+v) succeeded", cfg)
		}
	}
	l, err := polling.NewLoop(&script{}, &polling.Config{Interval: time.Second, FieldOnGuard: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r := l.Round(); r.ECP != nil || r.Interval != time.Second || r.FieldOnGuard != time.Millisecond {
		t.Errorf("Round() = %+v", r)
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if err := polling.Sleep(ctx, time.Microsecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
	cancel()
	if err := polling.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(cancelled, 1h) = %v", err)
	}
	if err := polling.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(cancelled, 0) = %v", err)
	}
}

func TestTargetInfoClone(t *testing.T) {
	i := polling.TargetInfo{NFCID1: []byte{1, 2, 3, 4}, ATS: []byte{1}}
	c := i.Clone()
	c.NFCID1[0], c.ATS[0] = 9, 9
	if i.NFCID1[0] != 1 || i.ATS[0] != 1 {
		t.Error("Clone shares its slices")
	}
}
