package transaction

import "flag"

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata")
