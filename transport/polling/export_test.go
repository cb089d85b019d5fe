package polling

import (
	"context"
	"time"
)

// SetSleep replaces the pause between presence checks, for tests.
func (l *Loop) SetSleep(f func(ctx context.Context, d time.Duration) error) { l.testingOnlySleep = f }
