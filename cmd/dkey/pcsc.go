package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
)

// tapTimeout bounds one exchange with a card, connection included; owner
// pairing, with the phone's password derivation and the certificates, is
// given pairTimeout.
const (
	tapTimeout  = 5 * time.Second
	pairTimeout = 30 * time.Second
)

// removalPoll is the pause between two looks for the card leaving.
const removalPoll = 100 * time.Millisecond

// pcscReader is a reader of pcscd, by name.
type pcscReader struct {
	c    *pcsc.Client
	name string
}

// openReader connects to pcscd and picks the reader called name, or the
// first one when name is empty.
func (e *env) openReader(name string) (*pcscReader, error) {
	c, err := pcsc.Establish(e.ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("is pcscd running? %w", err)
	}
	names, err := c.Readers(e.ctx)
	if err != nil {
		c.Release(context.Background())
		return nil, err
	}
	switch {
	case name == "":
		name = names[0]
	case !slices.Contains(names, name):
		c.Release(context.Background())
		return nil, fmt.Errorf("no reader %q (pcscd has %q): %w", name, names, transport.ErrNoReader)
	}
	return &pcscReader{c: c, name: name}, nil
}

func (r *pcscReader) close() { r.c.Release(context.Background()) }

// waitForCard waits for a card in the reader, for at most timeout when it
// is positive, saying so on the progress lines.
func (e *env) waitForCard(r *pcscReader, timeout time.Duration) error {
	e.progress("reader %q: waiting for a card", r.name)
	ctx := e.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, err := r.c.WaitForCard(ctx, r.name)
	if err != nil && e.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no card within %v: %w", timeout, err)
	}
	return err
}

// withCard connects to the card in the reader, runs f with it within
// limit, and disconnects, leaving the card as it is.
func (e *env) withCard(r *pcscReader, limit time.Duration, f func(ctx context.Context, t transport.Transceiver) error) error {
	ctx, cancel := context.WithTimeout(e.ctx, limit)
	defer cancel()
	cn, err := r.c.Connect(ctx, r.name)
	if err != nil {
		return fmt.Errorf("connecting to the card: %w", err)
	}
	defer func() {
		// A context of its own: pcscd must hear of the disconnection even
		// when the exchange's has ended.
		dctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cn.Disconnect(dctx, pcsc.Leave)
	}()
	return f(ctx, cn)
}

// waitForRemoval waits until the reader has no card: a phone that stays in
// the field is served once.
func (e *env) waitForRemoval(r *pcscReader) error {
	t := time.NewTicker(removalPoll)
	defer t.Stop()
	for {
		states, err := r.c.ReaderStates(e.ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(states, func(s pcsc.ReaderState) bool { return s.Name == r.name && s.CardPresent() }) {
			return nil
		}
		select {
		case <-e.ctx.Done():
			return e.ctx.Err()
		case <-t.C:
		}
	}
}
