// Package leakcheck finds, in tests, goroutines left running by code that
// should have stopped them: a background worker that its owner's Close
// must stop (the pools of precomputed ephemeral keys of package vehicle's
// Reader and package device's Applet, issue 18).
//
// It reads the stacks of every goroutine (runtime.Stack with all set) and
// counts those with a frame in a given function, named as the stack shows
// it: the package path, then the function, such as
// "github.com/opencarkey/sdk/internal/ecdhe.(*Pool).fill". A goroutine
// that has returned from the function but not yet exited may still show
// it, so [WaitNone] polls until the count is zero, yielding the processor
// between reads, and fails the test only after [Patience] has passed: a
// leak is a goroutine that never goes, not one that goes late.
package leakcheck
