// Command passive-entry runs Release 3 passive entry between a vehicle and
// a phone in one process (docs/protocol.md §8): the phone connects over
// Bluetooth LE, the vehicle runs the standard transaction that derives the
// ranging key URSK (P2 10, CREATE RANGING KEY) through the APDU tunnel,
// both sides keep the URSK under the UWB session ID, the two negotiate the
// UWB session over BLE (DK messages of type 2), the vehicle's two anchors
// and the phone's UWB chip (simulated, speaking FiRa UCI) range with the
// scrambled timestamp sequences keyed from it, and distances stream in
// from a scripted walk. The vehicle unlocks when the phone comes within
// 2 m and locks when it walks past 6 m. It prints a small live table.
//
//	go run ./examples/passive-entry
//
// The BLE link is the in-process pair of transport/ble and the chips are
// transport/uwb/uwbtest's; on Linux with a Bluetooth controller,
// ble.ListenL2CAP and ble.DialL2CAP give the same link, and uwb.OpenSerial
// a UART to a UWB development board.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/ranging"
	"github.com/opencarkey/sdk/transport/ble"
	"github.com/opencarkey/sdk/transport/uwb"
	"github.com/opencarkey/sdk/transport/uwb/uwbtest"
	"github.com/opencarkey/sdk/vehicle"
)

// The passive-entry thresholds: unlock within 2 m, lock past 6 m. The gap
// between them keeps a phone that lingers around 2 to 6 m from toggling
// the locks.
const (
	unlockWithin = 200 // cm
	lockBeyond   = 600 // cm
)

// walk is the scripted track of the phone, one distance per ranging
// round, in centimetres: it approaches from 12 m, stays by the door, and
// walks away.
var walk = []uint16{1200, 950, 700, 520, 380, 240, 190, 120, 90, 110, 260, 450, 580, 640, 900, 1300}

// anchors is the number of UWB anchors of the vehicle (the responders).
const anchors = 2

// about is what -h prints under the usage line.
const about = `Release 3 passive entry, in process: BLE, the ranging-key transaction, the UWB session over BLE,
simulated UWB chips and a scripted walk; the doors unlock within 2 m and lock past 6 m.
It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: passive-entry\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "passive-entry:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The vehicle and the phone, with an owner key enrolled directly
	// (examples/pair shows owner pairing; over BLE it runs the same).
	vehicleKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return err
	}
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	reader, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey})
	if err != nil {
		return err
	}
	defer reader.Close()
	phone, err := device.NewApplet(nil)
	if err != nil {
		return err
	}
	defer phone.Close()
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: reader.PublicKey()})
	if err != nil {
		return err
	}
	if err := reader.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile()}); err != nil {
		return err
	}

	// The UWB chips: the phone's (the initiator) and the vehicle's
	// anchors, in one simulated air with the scripted walk.
	air := uwbtest.NewAir(walk...)
	phoneChip, err := newChip(air)
	if err != nil {
		return err
	}
	defer phoneChip.Close()
	var anchorChips [anchors]*uwb.Host
	for i := range anchorChips {
		if anchorChips[i], err = newChip(air); err != nil {
			return err
		}
		defer anchorChips[i].Close()
	}

	// The BLE link: the phone connects to the vehicle's DK channel.
	vehicleEnd, phoneEnd := ble.Pipe(0)
	defer vehicleEnd.Close()
	phoneRanging, err := ranging.NewDevice(&ranging.DeviceConfig{Keys: phone, UWBTime0: func() (uint64, error) {
		// UWB_Time0 on the phone's UWB clock, 100 ms ahead.
		ts, err := phoneChip.Timestamp(ctx)
		return ts + 100_000, err
	}})
	if err != nil {
		return err
	}
	phoneDone := make(chan error, 1)
	go func() { phoneDone <- servePhone(ctx, phone, phoneRanging, phoneEnd) }()
	fmt.Fprintln(w, "phone: connected over BLE")

	// The standard transaction that derives the URSK, tunnelled over BLE.
	ch := ble.NewChannel(vehicleEnd, nil)
	res, err := reader.Transact(ctx, ble.NewTunnel(ch, nil), dkey.ActionRangingKey)
	if err != nil {
		return fmt.Errorf("vehicle: ranging-key transaction: %w", err)
	}
	fmt.Fprintf(w, "vehicle: standard transaction P2 %02x over BLE, URSK kept on both sides for UWB session %v\n", byte(res.Action), res.RangingSession)

	// The ranging setup over BLE (§8.4), with the URSK each side keeps.
	rv, err := ranging.NewVehicle(&ranging.VehicleConfig{Responders: anchors, Keys: reader})
	if err != nil {
		return err
	}
	session, err := rv.Run(ctx, ble.NewRangingLink(ch, nil), res.RangingSession)
	if err != nil {
		return fmt.Errorf("vehicle: ranging setup: %w", err)
	}
	defer session.Close()
	p := session.Params()
	fmt.Fprintf(w, "vehicle: UWB session %v on %v, %d anchors, %v ranging blocks, SYNC code %d\n",
		p.SessionID, p.Channel, p.Responders, p.BlockDuration(), p.SyncCode)

	// The UCI sessions: each side configures its chips with the agreed
	// parameters and its own copy of the URSK.
	var phoneURSK, vehicleURSK ranging.URSK
	defer phoneURSK.Clear()
	defer vehicleURSK.Clear()
	if err := phone.RangingKey(p.SessionID, &phoneURSK); err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	if err := reader.RangingKey(p.SessionID, &vehicleURSK); err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	phoneHandle, err := startSession(ctx, phoneChip, phoneRanging.Session().Params(), &phoneURSK, true)
	if err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	var handles [anchors]uint32
	for i, h := range anchorChips {
		if handles[i], err = startSession(ctx, h, p, &vehicleURSK, false); err != nil {
			return fmt.Errorf("vehicle: anchor %d: %w", i+1, err)
		}
	}

	// The walk: one ranging round after another, the vehicle deciding on
	// the nearest anchor's distance.
	fmt.Fprintln(w, "round  distance  doors")
	locked := true
	for round := 1; round <= len(walk); round++ {
		if err := air.Step(ctx, 1); err != nil {
			return err
		}
		nearest, err := measure(ctx, anchorChips[:])
		if err != nil {
			return fmt.Errorf("vehicle: %w", err)
		}
		event := ""
		switch {
		case locked && nearest <= unlockWithin:
			locked, event = false, "  ← unlock (within 2 m)"
		case !locked && nearest > lockBeyond:
			locked, event = true, "  ← lock (past 6 m)"
		}
		doors := "locked"
		if !locked {
			doors = "unlocked"
		}
		fmt.Fprintf(w, "%5d  %6.2f m  %s%s\n", round, float64(nearest)/100, doors, event)
	}

	for i, h := range anchorChips {
		if err := h.StopRanging(ctx, handles[i]); err != nil {
			return fmt.Errorf("vehicle: anchor %d: %w", i+1, err)
		}
	}
	if err := phoneChip.StopRanging(ctx, phoneHandle); err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	vehicleEnd.Close()
	if err := <-phoneDone; !errors.Is(err, ble.ErrLinkClosed) {
		return fmt.Errorf("phone: %w", err)
	}
	fmt.Fprintln(w, "vehicle: ranging stopped, link closed")
	return nil
}

// servePhone is the phone's side of the link: the APDU tunnel to its
// applet, and the ranging messages to its side of the ranging setup.
func servePhone(ctx context.Context, phone *device.Applet, rd *ranging.Device, conn ble.Conn) error {
	ch := ble.NewChannel(conn, nil)
	link := ble.NewRangingLink(ch, &ble.RangingLinkConfig{Fed: true})
	defer link.Close()
	ranged := make(chan error, 1)
	go func() { ranged <- rd.Serve(ctx, link) }()
	err := ble.Serve(ctx, ch, phone, &ble.ServerConfig{Handle: func(ctx context.Context, m ble.Message) error {
		if m.Kind.Type() == ble.TypeRanging {
			return link.Deliver(ctx, m)
		}
		return &ble.UnexpectedMessageError{Want: ble.KindDKAPDURQ, Got: m.Kind}
	}})
	link.Close()
	if rerr := <-ranged; !errors.Is(rerr, ble.ErrLinkClosed) {
		err = errors.Join(err, rerr)
	}
	return err
}

// newChip attaches a simulated UWB chip to air and returns its host.
func newChip(air *uwbtest.Air) (*uwb.Host, error) {
	link, _, err := air.Pipe(uwbtest.ChipConfig{})
	if err != nil {
		return nil, err
	}
	return uwb.NewHost(link, nil), nil
}

// startSession configures a CCC session on the chip of h with the
// parameters of the ranging setup and the URSK, and starts ranging. It
// returns the session handle.
func startSession(ctx context.Context, h *uwb.Host, p ranging.SessionParams, ursk *ranging.URSK, initiator bool) (uint32, error) {
	cfg := uwb.CCCConfig{
		Initiator: initiator, ProtocolVersion: uint16(p.Version), ConfigID: uint16(p.ConfigID),
		PulseShapeCombo: uint8(p.PulseShape), Channel: uint8(p.Channel), STSIndex0: p.STSIndex0,
		UWBTime0: p.UWBTime0, HopModeKey: p.HopModeKey, RANMultiplier: p.RANMultiplier,
		ChapsPerSlot: uint8(p.ChapsPerSlot), Responders: p.Responders, SlotsPerRound: p.SlotsPerRound,
		SyncCode: uint8(p.SyncCode), HoppingMode: p.Hopping.UCIValue(), URSK: *ursk,
	}
	defer cfg.Clear()
	var params uwb.AppConfigs
	if err := cfg.AppConfigs(&params); err != nil {
		return 0, err
	}
	handle, err := h.InitSession(ctx, p.SessionID.Uint32(), uwb.SessionCCC)
	if err != nil {
		return 0, err
	}
	if err := h.SetAppConfig(ctx, handle, &params); err != nil {
		return 0, err
	}
	return handle, h.StartRanging(ctx, handle)
}

// measure reads the ranging notification of this round from each anchor
// and returns the nearest distance measured, in centimetres.
func measure(ctx context.Context, anchors []*uwb.Host) (uint16, error) {
	nearest, ok := uint16(0), false
	for i, h := range anchors {
		var n uwb.Notification
		for {
			if err := h.Notification(ctx, &n); err != nil {
				return 0, err
			}
			if n.Op == uwb.OpSessionStart { // SESSION_INFO_NTF shares its opcode
				break
			}
		}
		var rd uwb.RangingData
		if err := n.Decode(&rd); err != nil {
			return 0, err
		}
		for _, m := range rd.Measurements() {
			if m.Status != uwb.StatusOK {
				return 0, fmt.Errorf("anchor %d: ranging status %v", i+1, m.Status)
			}
			if !ok || m.Distance < nearest {
				nearest, ok = m.Distance, true
			}
		}
	}
	if !ok {
		return 0, errors.New("no measurement")
	}
	return nearest, nil
}
