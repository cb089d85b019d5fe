package keylog_test

import (
	"fmt"
	"os"

	"github.com/opencarkey/sdk/internal/keylog"
)

func Example() {
	txID := []byte("0123456789abcdef")
	kenc := make([]byte, 16)
	line := keylog.AppendLine(nil, keylog.TransactionKenc, txID, kenc)
	os.Stdout.Write(line)
	entries, err := keylog.Parse(line)
	fmt.Println(len(entries), err, entries[0])
	// Output:
	// TRANSACTION_KENC 30313233343536373839616263646566 00000000000000000000000000000000
	// 1 <nil> keylog.Entry{TRANSACTION_KENC 30313233343536373839616263646566, secret redacted}
}
