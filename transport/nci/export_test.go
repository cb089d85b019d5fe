package nci

import (
	"context"
	"time"
)

// SetSleep replaces the pause before an I2C write is tried again, for
// tests.
func (l *I2CLink) SetSleep(f func(ctx context.Context, d time.Duration) error) {
	l.testingOnlySleep = f
}
