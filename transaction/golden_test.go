package transaction

import "flag"

// The -update flag of the package's golden-file tests. Read it through
// updateGolden, which finds it by name: a test file of the external
// package transaction_test may register it instead of this one.
var _ = flag.Bool("update", false, "rewrite the golden transcripts in testdata")
