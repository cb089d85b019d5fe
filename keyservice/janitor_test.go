package keyservice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencarkey/sdk/keyservice"
)

// TestRunJanitorZeroInterval: RunJanitor with a zero or negative interval
// runs at DefaultJanitorInterval instead of panicking (time.NewTicker's
// non-positive interval), and returns ctx's error when ctx is done.
func TestRunJanitorZeroInterval(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{0, keyservice.DefaultJanitorInterval},
		{-time.Second, keyservice.DefaultJanitorInterval},
		{time.Nanosecond, time.Nanosecond},
		{5 * time.Second, 5 * time.Second},
	} {
		if got := keyservice.JanitorInterval(tt.in); got != tt.want {
			t.Errorf("the janitor's interval for %v = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, interval := range []time.Duration{0, -time.Minute} {
		var s keyservice.Server
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.RunJanitor(ctx, interval, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("RunJanitor(%v) with a cancelled context = %v, want context.Canceled", interval, err)
		}
		ctx, cancel = context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.RunJanitor(ctx, interval, nil) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("RunJanitor(%v) cancelled while running = %v, want context.Canceled", interval, err)
		}
	}
}
