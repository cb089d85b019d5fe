package kdf_test

import (
	"encoding/hex"
	"fmt"

	"github.com/opencarkey/sdk/internal/cmac"
	"github.com/opencarkey/sdk/internal/kdf"
)

func ExampleX963() {
	// NIST CAVP ANS X9.63-2001, SHA-256, SharedInfo length 0, COUNT = 0.
	z, _ := hex.DecodeString("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08")
	var buf [16]byte
	key := kdf.X963(buf[:0], z, nil, 16)
	fmt.Printf("%x\n", key)
	// Output:
	// 443024c3dae66b95e6f5670601558f71
}

func ExampleCounterMode() {
	// The UWB key schedule of docs/protocol.md §8.5: mURSK from a 32-byte URSK.
	ursk := make([]byte, 32)
	prf, err := cmac.New(ursk)
	if err != nil {
		panic(err)
	}
	defer prf.Close()
	mursk := kdf.CounterMode(nil, prf, []byte("URSK"), []byte{0, 0, 0}, 32)
	fmt.Println(len(mursk))
	// Output:
	// 32
}
