package polling_test

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/polling"
)

// The ECP frame of a Home Key reader: the reader group identifier is the
// first half of its 16-byte reader identifier.
func ExampleForProfile() {
	vid, _ := dkey.NewVehicleID([]byte("\x94\x62\x5f\xd2\xc3\x2c\xf3\xc2READER01"))
	ecp, _ := polling.ForProfile(dkey.HomeKey, vid, nil)
	fmt.Printf("%X\n", ecp.Append(nil))
	// Output: 6A02CB020602110094625FD2C32CF3C2663A
}

// oneShot is a reader with one phone that answers the first round.
type oneShot struct{ done bool }

func (o *oneShot) Detect(ctx context.Context, r *polling.Round) (polling.Target, error) {
	if o.done {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	o.done = true
	fmt.Printf("round with a %d-byte ECP frame\n", len(r.ECP))
	return &fakeTarget{name: "phone"}, nil
}

func ExampleLoop_Targets() {
	var group [8]byte
	ecp := polling.HomeKey(group)
	loop, _ := polling.NewLoop(&oneShot{}, &polling.Config{ECP: &ecp})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for target, err := range loop.Targets(ctx) {
		if err != nil {
			fmt.Println("stopped:", err)
			break
		}
		// Here the vehicle runs vehicle.Reader.Transact(ctx, target, ...).
		fmt.Printf("target %s\n", target.Info().NFCID1)
		cancel()
	}
	// Output:
	// round with a 18-byte ECP frame
	// target phone
	// stopped: context canceled
}
