// Package race reports whether the race detector is compiled in, so that
// allocation assertions (testing.AllocsPerRun) can skip themselves when the
// detector's instrumentation allocates on its own.
package race
