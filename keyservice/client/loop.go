package client

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/opencarkey/sdk/attest"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// Applier carries out key commands: *vehicle.Reader (ApplyCommand) on a
// vehicle; on a device, the host app's adapter that suspends, resumes or
// deletes the key in its applet. ApplyCommand returns after the change is
// durable, and applying a command again has the effect of once.
type Applier interface {
	ApplyCommand(cmd *sharing.KeyCommand) error
}

// Defaults of LoopConfig.
const (
	DefaultWait       = 25 * time.Second
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	// recentSize is how many applied command IDs the loop remembers, so
	// that a command delivered again (its acknowledgement was lost) is
	// acknowledged without being applied again.
	recentSize = 1024
)

// LoopConfig configures Run.
type LoopConfig struct {
	// Applier applies the commands; required.
	Applier Applier
	// Report, for a vehicle, returns every key it has enrolled: Run
	// reports them when it starts, and then, before each wait, when they
	// changed since the last report the service took, so that the
	// service's inventory follows the vehicle within one wait. Nil reports
	// nothing.
	Report func() []keyservice.ReportedKey
	// Wait is the long poll's wait; 0 means DefaultWait. It must not
	// exceed the service's maximum.
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the pause after a failure, which
	// doubles from one to the other; 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Permanent reports whether an error of ApplyCommand is a refusal
	// (the command is acknowledged as refused, and would be refused
	// again) rather than a failure to retry (the command stays queued);
	// nil means PermanentError.
	Permanent func(error) bool
	// OnError, when set, sees each failure the loop retries: the network,
	// the service, or ApplyCommand.
	OnError func(error)
	// OnApplied, when set, sees each command after ApplyCommand returned,
	// with its error (nil when applied).
	OnApplied func(keyservice.Delivery, error)
}

// PermanentError reports whether err, from ApplyCommand of a vehicle.Reader
// (sharing.VehicleIntake.Apply), is a refusal: a malformed command, one for
// another vehicle or key, an unknown or terminated key, or a termination
// attestation that does not verify. A full revocation store is not: the
// command waits until the vehicle can record it.
func PermanentError(err error) bool {
	var ve *sharing.VehicleError
	if errors.As(err, &ve) {
		return ve.Check != sharing.CheckCapacity
	}
	var ae *attest.VerifyError
	return errors.As(err, &ae) ||
		errors.Is(err, sharing.ErrMalformed) || errors.Is(err, sharing.ErrMismatch) ||
		errors.Is(err, dkey.ErrUnknownKey) || errors.Is(err, dkey.ErrKeyTerminated)
}

// recent remembers the last applied command IDs.
type recent struct {
	ring [recentSize][sharing.CommandIDSize]byte
	next int
	set  map[[sharing.CommandIDSize]byte]bool
}

func (r *recent) has(id [sharing.CommandIDSize]byte) bool { return r.set[id] }

func (r *recent) add(id [sharing.CommandIDSize]byte) {
	if r.set == nil {
		r.set = make(map[[sharing.CommandIDSize]byte]bool, recentSize)
	}
	if r.set[id] {
		return
	}
	if old := r.ring[r.next]; r.set[old] {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % recentSize
	r.set[id] = true
}

// Run is the command loop of the client's vehicle or device, until ctx is
// done: it waits for commands by long poll, applies each in order with
// cfg.Applier, and acknowledges through the last one it applied or
// refused, after ApplyCommand returned. A command whose apply failed (not
// a refusal) stops the batch: it and the rest are delivered again after a
// pause. A command delivered again after its acknowledgement was lost is
// acknowledged without a second apply, as long as the loop remembers it;
// after a restart, ApplyCommand's idempotence covers it. Run returns ctx's
// error.
func (c *Client) Run(ctx context.Context, cfg *LoopConfig) error {
	if cfg == nil || cfg.Applier == nil {
		return errors.New("client: Run needs an Applier")
	}
	if _, err := c.queuePath(); err != nil {
		return err
	}
	wait, lo, hi, permanent := cfg.Wait, cfg.MinBackoff, cfg.MaxBackoff, cfg.Permanent
	if wait <= 0 {
		wait = DefaultWait
	}
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi < lo {
		hi = max(DefaultMaxBackoff, lo)
	}
	if permanent == nil {
		permanent = PermanentError
	}
	fail := func(err error) {
		if cfg.OnError != nil && ctx.Err() == nil {
			cfg.OnError(err)
		}
	}
	backoff := lo
	pause := func() error {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, hi)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	applied := new(recent)
	var reported []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cfg.Report != nil {
			if body, err := keyservice.MarshalReport(cfg.Report()); err != nil {
				fail(err)
			} else if !bytes.Equal(body, reported) {
				if err := c.putReport(ctx, body); err != nil {
					fail(err)
				} else {
					reported = body
				}
			}
		}
		ds, err := c.Wait(ctx, wait)
		if err != nil {
			fail(err)
			if err := pause(); err != nil {
				return err
			}
			continue
		}
		ack := keyservice.Ack{}
		stalled := false
		for _, d := range ds {
			if applied.has(d.Command.ID) {
				ack.Through = d.Seq
				continue
			}
			err := cfg.Applier.ApplyCommand(d.Command)
			if cfg.OnApplied != nil {
				cfg.OnApplied(d, err)
			}
			if err != nil && !permanent(err) {
				fail(err)
				stalled = true
				break
			}
			if err != nil {
				ack.Refused = append(ack.Refused, keyservice.Refusal{Seq: d.Seq, Reason: err.Error()})
			}
			applied.add(d.Command.ID)
			ack.Through = d.Seq
		}
		if ack.Through > 0 {
			if err := c.Ack(ctx, &ack); err != nil {
				// Delivered again later, and acknowledged then without a
				// second apply.
				fail(err)
				stalled = true
			}
		}
		if stalled {
			if err := pause(); err != nil {
				return err
			}
			continue
		}
		backoff = lo
	}
}
