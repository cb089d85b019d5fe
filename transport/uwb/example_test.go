package uwb_test

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/transport/uwb"
	"github.com/opencarkey/sdk/transport/uwb/uwbtest"
)

// Example configures a CCC ranging session on two simulated UWB chips, the
// phone's (initiator) and the car's anchor (responder), and reads the
// distances of three ranging rounds.
func Example() {
	ctx := context.Background()
	air := uwbtest.NewAir(420, 260, 180) // centimetres
	phoneLink, _, _ := air.Pipe(uwbtest.ChipConfig{Address: 0x0001})
	carLink, _, _ := air.Pipe(uwbtest.ChipConfig{Address: 0x00A1})
	phone := uwb.NewHost(phoneLink, nil)
	car := uwb.NewHost(carLink, nil)
	defer phone.Close()
	defer car.Close()

	cfg := uwb.CCCConfig{
		ProtocolVersion: 0x0100, ConfigID: 1, PulseShapeCombo: 0x12, Channel: 9, STSIndex0: 1,
		UWBTime0: 2_000_000, RANMultiplier: 2, ChapsPerSlot: 6, Responders: 1, SlotsPerRound: 6,
		SyncCode: 9, HoppingMode: 0x03, // URSK: the transaction's ranging key
	}
	for _, side := range []struct {
		h         *uwb.Host
		initiator bool
	}{{phone, true}, {car, false}} {
		token, err := side.h.InitSession(ctx, 0x0BADCAFE, uwb.SessionCCC)
		if err != nil {
			fmt.Println(err)
			return
		}
		c := cfg
		c.Initiator = side.initiator
		var params uwb.AppConfigs
		_ = c.AppConfigs(&params)
		if err := side.h.SetAppConfig(ctx, token, &params); err != nil {
			fmt.Println(err)
			return
		}
		if err := side.h.StartRanging(ctx, token); err != nil {
			fmt.Println(err)
			return
		}
	}
	_ = air.Step(ctx, 3)
	var n uwb.Notification
	for rounds := 0; rounds < 3; {
		if err := phone.Notification(ctx, &n); err != nil {
			fmt.Println(err)
			return
		}
		var d uwb.RangingData
		if n.Op != uwb.OpSessionStart || n.Decode(&d) != nil {
			continue // session status notifications
		}
		m := d.Measurements()[0]
		fmt.Printf("round %d: anchor %02x%02x at %.2f m (%v)\n", d.Sequence, m.Address[1], m.Address[0], float64(m.Distance)/100, m.Status.String())
		rounds++
	}
	// Output:
	// round 0: anchor 00a1 at 4.20 m (OK)
	// round 1: anchor 00a1 at 2.60 m (OK)
	// round 2: anchor 00a1 at 1.80 m (OK)
}
