package pcsc

// Test helpers for the external tests (integration_test.go), which run in
// package pcsc_test as the full-transaction tests that import package device
// and package vehicle will.

type TestCard = testCard

var (
	NewTestCard     = newTestCard
	SelectCommand   = selectCommand
	EchoCommand     = echoCommand
	GenerateCommand = generateCommand
)

// Resets counts the card's resets.
func (c *testCard) Resets() int32 { return c.resets.Load() }

// Blocked receives when the card starts a blocking command (INS 20).
func (c *testCard) Blocked() <-chan struct{} { return c.blocked }

// Unblock lets blocking commands return.
func (c *testCard) Unblock() { close(c.release) }

// SetForeignSystem makes Establish behave as on a system without pcsc-lite
// until the test ends.
func SetForeignSystem(t interface{ Cleanup(func()) }) {
	testingOnlyForeignSystem = true
	t.Cleanup(func() { testingOnlyForeignSystem = false })
}
