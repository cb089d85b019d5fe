package transaction_test

import "flag"

// The -update flag of the golden tests of this package (updateGolden in
// aliro_golden_test.go looks it up).
var _ = flag.Bool("update", false, "rewrite the golden transcripts in testdata")
