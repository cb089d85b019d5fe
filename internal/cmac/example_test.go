package cmac_test

import (
	"encoding/hex"
	"fmt"

	"github.com/opencarkey/sdk/internal/cmac"
)

func Example() {
	// RFC 4493 §4, Example 2.
	key, _ := hex.DecodeString("2b7e151628aed2a6abf7158809cf4f3c")
	msg, _ := hex.DecodeString("6bc1bee22e409f96e93d7e117393172a")
	c, err := cmac.New(key)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	tag := c.Sum(nil, msg)
	fmt.Printf("%x\n", tag)
	fmt.Println(c.Verify(tag[:8], msg))
	// Output:
	// 070a16b46b4d4144f79bdd9dd04a287c
	// true
}
