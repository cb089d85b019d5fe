package polling

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/opencarkey/sdk/transport"
)

// Defaults of [Config], from public measurements and reader code.
const (
	// DefaultInterval is the pause between two polling rounds that found
	// nothing, with the field off: 100 ms in the public Home Key readers
	// verified against iPhones ([DDK] rednblkx/HomeKey-ESP32
	// main/NfcManager.cpp, pollingTask: vTaskDelay(100 ms) per round;
	// [AHKR] kormax/apple-home-key-reader util/bfclf.py: field muted and an
	// interval of 0.1 s between sense iterations).
	DefaultInterval = 100 * time.Millisecond
	// DefaultFieldOnGuard is how long the field stays on, unmodulated,
	// before the first frame of a round: ISO/IEC 14443-3 §5 lets a PICC take
	// 5 ms to accept a request, so a PCD provides at least 5.1 ms of
	// unmodulated field before REQA (quoted from the national adoption
	// GOST R ISO/IEC 14443-3-2014, §5.1, note).
	DefaultFieldOnGuard = 5100 * time.Microsecond
	// DefaultPresenceInterval is the pause between two presence checks of a
	// target the application is done with, until it leaves the field:
	// 60 ms in [DDK] (main/NfcManager.cpp, pollingTask, the loop that waits
	// for the tag to be removed).
	DefaultPresenceInterval = 60 * time.Millisecond
	// releaseTimeout bounds the release of a target when the loop's context
	// has ended.
	releaseTimeout = time.Second
)

// ErrNoTarget reports a polling round in which no ISO-DEP target answered.
var ErrNoTarget = errors.New("polling: no target in the field")

// Config configures a [Loop]. The zero value polls without ECP with the
// default timings. A Config must not be modified after it has been passed to
// NewLoop.
type Config struct {
	// ECP is the frame sent in every round before the target is activated;
	// nil sends none, and phones in express mode stay silent.
	ECP *ECP
	// Interval is the pause between two empty rounds, with the field off;
	// zero means DefaultInterval. A controller that runs its own discovery
	// loop (NCI) takes it as its discovery period.
	Interval time.Duration
	// FieldOnGuard is the unmodulated field before the first frame of a
	// round; zero means DefaultFieldOnGuard.
	FieldOnGuard time.Duration
	// PresenceInterval is the pause between two presence checks while the
	// loop waits for a finished target to leave; zero means
	// DefaultPresenceInterval.
	PresenceInterval time.Duration
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Round is what a [Reader] needs for one polling round, resolved from a
// [Config].
type Round struct {
	// ECP is the frame with its CRC_A, sent with the controller's own CRC
	// generation off; nil sends none.
	ECP []byte
	// FieldOnGuard and Interval are as in Config.
	FieldOnGuard time.Duration
	Interval     time.Duration
}

// TargetInfo describes an activated ISO/IEC 14443-4 type A target.
type TargetInfo struct {
	// SENSRes is SENS_RES (ATQA) as the controller reports it.
	SENSRes [2]byte
	// SELRes is SEL_RES (SAK).
	SELRes byte
	// NFCID1 is the UID, 4, 7 or 10 bytes (phones use a random one).
	NFCID1 []byte
	// ATS is the answer to RATS, its length byte TL first.
	ATS []byte
}

// Clone returns a deep copy of i.
func (i TargetInfo) Clone() TargetInfo {
	i.NFCID1 = slices.Clone(i.NFCID1)
	i.ATS = slices.Clone(i.ATS)
	return i
}

// Target is an activated ISO-DEP target (a phone in the field): a
// [transport.Transceiver] for its APDUs, so that vehicle.Reader.Transact runs
// over it unchanged.
//
// Transceive reports a target that stopped answering with an error matching
// transport.ErrCardRemoved; the session with it is over.
type Target interface {
	transport.Transceiver
	// Info describes the target.
	Info() TargetInfo
	// Present reports whether the target still answers. An error means the
	// controller could not tell.
	Present(ctx context.Context) (bool, error)
	// Release ends the session with the target and frees the controller for
	// the next round. Releasing twice is harmless.
	Release(ctx context.Context) error
}

// Reader is an NFC controller driver that polls for ISO-DEP targets: the
// PN532 (transport/pn532) and NCI controllers such as the PN7160
// (transport/nci).
type Reader interface {
	// Detect runs one polling round: field on, FieldOnGuard, the ECP frame
	// if any, activation of one ISO/IEC 14443-4 type A target. When none
	// answers it returns an error wrapping ErrNoTarget, having kept the
	// field off for Interval (a controller with its own discovery loop
	// waits one discovery period instead). Other errors are controller
	// failures.
	Detect(ctx context.Context, r *Round) (Target, error)
}

// Loop is the polling loop of a reader: rounds of ECP and activation until a
// target answers, the target handed to the application, then presence
// checks until it leaves, so that a phone left at the door handle is not
// unlocked again and again.
type Loop struct {
	reader   Reader
	round    Round
	frame    [MaxECPLen]byte
	presence time.Duration
	// testingOnlySleep replaces the pause between presence checks.
	testingOnlySleep func(ctx context.Context, d time.Duration) error
}

// NewLoop returns the polling loop of r with configuration cfg (nil means
// the zero Config).
func NewLoop(r Reader, cfg *Config) (*Loop, error) {
	if r == nil {
		return nil, errors.New("polling: nil Reader")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Interval < 0 || c.FieldOnGuard < 0 || c.PresenceInterval < 0 {
		return nil, fmt.Errorf("polling: negative duration in %+v", c)
	}
	l := &Loop{
		reader:   r,
		presence: orDefault(c.PresenceInterval, DefaultPresenceInterval),
	}
	l.round.FieldOnGuard = orDefault(c.FieldOnGuard, DefaultFieldOnGuard)
	l.round.Interval = orDefault(c.Interval, DefaultInterval)
	if c.ECP != nil {
		if c.ECP.Len() == 0 {
			return nil, fmt.Errorf("%w: the zero ECP", ErrMalformedECP)
		}
		l.round.ECP = c.ECP.Append(l.frame[:0])
	}
	return l, nil
}

// Round returns the round the loop runs (its ECP frame aliases the loop's).
func (l *Loop) Round() Round { return l.round }

// Targets polls until ctx ends and yields every target that answers. After
// the body of the range loop is done with a target, Targets checks its
// presence every PresenceInterval until it leaves (or the check fails),
// releases it, and polls again. Breaking out of the range loop releases the
// current target.
//
// A controller failure is yielded as an error with a nil target; the range
// loop continues polling, after a pause of Interval, unless its body
// breaks. When ctx ends, Targets yields ctx's error once and stops.
func (l *Loop) Targets(ctx context.Context) iter.Seq2[Target, error] {
	return func(yield func(Target, error) bool) {
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			t, err := l.reader.Detect(ctx, &l.round)
			switch {
			case err == nil:
			case errors.Is(err, ErrNoTarget):
				continue
			case ctx.Err() != nil:
				yield(nil, ctx.Err())
				return
			default:
				if !yield(nil, err) {
					return
				}
				// A controller that fails at once would otherwise spin.
				if l.sleep(ctx, l.round.Interval) != nil {
					yield(nil, ctx.Err())
					return
				}
				continue
			}
			if !yield(t, nil) {
				l.release(ctx, t)
				return
			}
			l.waitGone(ctx, t)
			l.release(ctx, t)
		}
	}
}

// waitGone returns when t no longer answers, its presence check fails, or
// ctx ends.
func (l *Loop) waitGone(ctx context.Context, t Target) {
	for {
		present, err := t.Present(ctx)
		if err != nil || !present {
			return
		}
		if l.sleep(ctx, l.presence) != nil {
			return
		}
	}
}

func (l *Loop) release(ctx context.Context, t Target) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	t.Release(rctx) // a failed release leaves nothing to undo; the next round resets the field
}

func (l *Loop) sleep(ctx context.Context, d time.Duration) error {
	if l.testingOnlySleep != nil {
		return l.testingOnlySleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep pauses for d or until ctx ends, and returns ctx's error in that case.
// Drivers use it for guard times and intervals.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
