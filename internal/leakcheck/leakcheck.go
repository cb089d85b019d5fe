package leakcheck

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// Patience is how long WaitNone waits for goroutines to end before it
// reports them. It bounds a failing test, not a passing one.
const Patience = 10 * time.Second

// Stacks returns the stacks of all goroutines, in runtime.Stack's text.
func Stacks() []byte {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Count returns the number of goroutines whose stack, as runtime.Stack
// prints it, has a frame in function (the goroutine calling Count
// excluded).
func Count(function string) int {
	n := 0
	frame := []byte("\n" + function + "(")
	for g := range bytes.SplitSeq(Stacks(), []byte("\n\n")) {
		if bytes.Contains(g, frame) {
			n++
		}
	}
	return n
}

// WaitNone waits until no goroutine runs function and fails tb with the
// stacks of those left when Patience has passed.
func WaitNone(tb testing.TB, function string) {
	tb.Helper()
	waitNone(tb, function, Patience)
}

func waitNone(tb testing.TB, function string, patience time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(patience)
	for Count(function) > 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("%d goroutines still in %s after %v:\n%s", Count(function), function, patience, Stacks())
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
