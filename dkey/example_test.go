package dkey_test

import (
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

func ExampleVersionList_Select() {
	vehicle, _ := dkey.NewVersionList(dkey.Version1)
	endpoint, _ := dkey.ParseVersionList([]byte{0x02, 0x00, 0x01, 0x00})
	v, ok := vehicle.Select(endpoint)
	fmt.Println(endpoint, v, ok)
	// Output: 2.0,1.0 1.0 true
}

func ExampleStatusWord_Is() {
	var err error = dkey.StatusWord(0x6C10)
	fmt.Println(errors.Is(err, dkey.SWWrongLe), errors.Is(err, dkey.SWBytesAvailable))
	fmt.Println(err)
	// Output:
	// true false
	// status word 6C10: wrong Le, exact length 16
}

func ExampleAccessProfile_Within() {
	owner := dkey.OwnerProfile()
	friend := dkey.AccessProfile{Entitlements: dkey.AccessOnly, MaxSpeed: 90}
	fmt.Println(friend.Within(owner), friend.Allows(dkey.ActionEngineStart))
	// Output: true false
}
