package uwbtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/transport/uwb"
	"github.com/opencarkey/sdk/transport/uwb/uwbtest"
)

// cccConfig maps the parameters the ranging setup agreed on onto a UWB
// chip's CCC session (docs/protocol.md §8.4 onto UCI, as Android's CccEncoder
// does).
func cccConfig(p ranging.SessionParams, ursk *ranging.URSK, initiator bool) uwb.CCCConfig {
	return uwb.CCCConfig{
		Initiator: initiator, ProtocolVersion: uint16(p.Version), ConfigID: uint16(p.ConfigID),
		PulseShapeCombo: uint8(p.PulseShape), Channel: uint8(p.Channel), STSIndex0: p.STSIndex0,
		UWBTime0: p.UWBTime0, HopModeKey: p.HopModeKey, RANMultiplier: p.RANMultiplier,
		ChapsPerSlot: uint8(p.ChapsPerSlot), Responders: p.Responders, SlotsPerRound: p.SlotsPerRound,
		SyncCode: uint8(p.SyncCode), HoppingMode: p.Hopping.UCIValue(), URSK: *ursk, URSKTTL: 720,
	}
}

// TestRangingSetupDrivesChips runs the §8.4 ranging setup between a vehicle
// and a device, gives each side's chip the agreed parameters and its own
// copy of the URSK, and ranges: matching copies measure the track, a copy
// that differs fails the STS.
func TestRangingSetupDrivesChips(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tamper   bool
		wantStat uwb.Status
	}{
		{"same URSK", false, uwb.StatusOK},
		{"different URSK", true, uwb.StatusRangingRxPhySTSFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			id := ranging.SessionID{0x0B, 0xAD, 0xCA, 0xFE}
			var ursk ranging.URSK
			for i := range ursk {
				ursk[i] = byte(i + 1)
			}
			vkeys, _ := ranging.NewMemoryKeyStore(2, time.Hour, nil)
			dkeys, _ := ranging.NewMemoryKeyStore(2, time.Hour, nil)
			_ = vkeys.Put(id, &ursk)
			_ = dkeys.Put(id, &ursk)
			v, err := ranging.NewVehicle(&ranging.VehicleConfig{Responders: 1, Keys: vkeys})
			if err != nil {
				t.Fatal(err)
			}
			d, err := ranging.NewDevice(&ranging.DeviceConfig{Keys: dkeys})
			if err != nil {
				t.Fatal(err)
			}
			mid, msg, err := v.Start(nil, id)
			for err == nil && mid != 0 {
				if mid, msg, err = d.Handle(nil, mid, msg); err == nil {
					mid, msg, err = v.Handle(nil, mid, msg)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			p := v.Session().Params()

			air := uwbtest.NewAir(180)
			var hosts [2]*uwb.Host
			for i, initiator := range []bool{true, false} {
				link, _, err := air.Pipe(uwbtest.ChipConfig{})
				if err != nil {
					t.Fatal(err)
				}
				h := uwb.NewHost(link, nil)
				defer h.Close()
				hosts[i] = h
				k := ursk
				if tc.tamper && !initiator {
					k[0] ^= 1
				}
				cfg := cccConfig(p, &k, initiator)
				var params uwb.AppConfigs
				if err := cfg.AppConfigs(&params); err != nil {
					t.Fatal(err)
				}
				token, err := h.InitSession(ctx, p.SessionID.Uint32(), uwb.SessionCCC)
				if err != nil {
					t.Fatal(err)
				}
				if err := h.SetAppConfig(ctx, token, &params); err != nil {
					t.Fatal(err)
				}
				if err := h.StartRanging(ctx, token); err != nil {
					t.Fatal(err)
				}
			}
			if err := air.Step(ctx, 1); err != nil {
				t.Fatal(err)
			}
			var n uwb.Notification
			for {
				if err := hosts[0].Notification(ctx, &n); err != nil {
					t.Fatal(err)
				}
				if n.Op == uwb.OpSessionStart {
					break
				}
			}
			var rd uwb.RangingData
			if err := n.Decode(&rd); err != nil {
				t.Fatal(err)
			}
			ms := rd.Measurements()
			if len(ms) != 1 || ms[0].Status != tc.wantStat || rd.Interval != uint32(p.BlockDuration()/time.Millisecond) {
				t.Errorf("ranging: %v (interval %d), want status %v", &rd, rd.Interval, tc.wantStat)
			}
			if tc.wantStat == uwb.StatusOK && ms[0].Distance != 180 {
				t.Errorf("distance %d cm, want 180", ms[0].Distance)
			}
		})
	}
}
