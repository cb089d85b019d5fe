package ncitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/opencarkey/sdk/transport/nci"
)

// ErrNoData is what an I2C read returns when the controller has nothing to
// send (a real NFCC does not acknowledge its address then).
var ErrNoData = errors.New("ncitest: I2C read with the interrupt line low")

// I2C is the simulated controller on an I2C bus with its interrupt line: an
// nci.Bus and an nci.IRQ, for nci.NewI2CLink. Every Write is one packet;
// packets for the host are read in as many reads as the host likes (the
// driver reads the header, then the payload), and the interrupt line is
// high while one is pending.
type I2C struct {
	c      *Controller
	mu     sync.Mutex
	queue  [][]byte
	cur    []byte
	signal chan struct{}
}

// I2C attaches the controller to a simulated I2C bus and returns it. Close
// stops the controller's discovery loop.
func (c *Controller) I2C() *I2C {
	b := &I2C{c: c, signal: make(chan struct{})}
	c.mu.Lock()
	c.out = b.push
	c.mu.Unlock()
	return b
}

func (b *I2C) push(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, append([]byte(nil), p...))
	close(b.signal)
	b.signal = make(chan struct{})
}

// Write takes one packet from the host.
func (b *I2C) Write(p []byte) (int, error) {
	pkt, err := nci.ParsePacket(p)
	if err != nil {
		return 0, fmt.Errorf("ncitest: I2C write: %w", err)
	}
	b.c.handle(pkt)
	return len(p), nil
}

// Read reads pending bytes for the host.
func (b *I2C) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		if len(b.queue) == 0 {
			return 0, ErrNoData
		}
		b.cur, b.queue = b.queue[0], b.queue[1:]
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	if len(b.cur) == 0 {
		b.cur = nil
	}
	return n, nil
}

// WaitHigh returns when a packet is pending (nci.IRQ).
func (b *I2C) WaitHigh(ctx context.Context, deadline time.Time) error {
	for {
		b.mu.Lock()
		high, ch := b.cur != nil || len(b.queue) > 0, b.signal
		b.mu.Unlock()
		if high {
			return nil
		}
		var timeout <-chan time.Time
		if !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("ncitest: interrupt line low: %w", os.ErrDeadlineExceeded)
		case <-ch:
		}
	}
}

// Close stops the controller's discovery loop.
func (b *I2C) Close() error {
	b.c.stop()
	return nil
}
