package leakcheck

import (
	"testing"
	"time"
)

// parked blocks until its channel closes; the test counts it by name.
func parked(c chan struct{}, started chan<- struct{}) {
	close(started)
	<-c
}

const parkedName = "github.com/opencarkey/sdk/internal/leakcheck.parked"

func TestCount(t *testing.T) {
	if n := Count(parkedName); n != 0 {
		t.Fatalf("Count(%s) = %d before any goroutine started", parkedName, n)
	}
	stop := make(chan struct{})
	for range 3 {
		started := make(chan struct{})
		go parked(stop, started)
		<-started
	}
	if n := Count(parkedName); n != 3 {
		t.Errorf("Count(%s) = %d with three goroutines parked, want 3", parkedName, n)
	}
	// A prefix of a function's name is not the function.
	if n := Count(parkedName[:len(parkedName)-1]); n != 0 {
		t.Errorf("Count of a prefix = %d, want 0", n)
	}
	close(stop)
	WaitNone(t, parkedName)
	if n := Count(parkedName); n != 0 {
		t.Errorf("Count(%s) = %d after WaitNone", parkedName, n)
	}
}

// recorder is a testing.TB that records a failure instead of stopping the
// test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	panic(r)
}

// TestWaitNoneReportsALeak checks that WaitNone fails the test when the
// goroutine does not end (with a patience shorter than Patience).
func TestWaitNoneReportsALeak(t *testing.T) {
	stop := make(chan struct{})
	// The parked goroutine must be gone before the next test or example
	// counts goroutines in parked.
	defer WaitNone(t, parkedName)
	defer close(stop)
	started := make(chan struct{})
	go parked(stop, started)
	<-started
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil && v != r {
				panic(v)
			}
		}()
		waitNone(r, parkedName, 20*time.Millisecond)
	}()
	if !r.failed {
		t.Error("WaitNone returned with a goroutine parked in the function")
	}
}
