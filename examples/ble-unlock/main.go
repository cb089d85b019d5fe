// Command ble-unlock runs Release 3 over Bluetooth LE between a vehicle and
// a phone in one process (docs/protocol.md §8): the phone connects to the
// vehicle's L2CAP channel, sends a time sync, the vehicle unlocks with a
// standard transaction tunnelled over BLE, and the phone opens the trunk by
// remote keyless entry with a signed challenge. It prints each step.
//
//	go run ./examples/ble-unlock
//
// The link is the in-process pair of transport/ble; on Linux with a
// Bluetooth controller, ble.ListenL2CAP (vehicle) and ble.DialL2CAP (phone)
// give the same Conn.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport/ble"
	"github.com/opencarkey/sdk/vehicle"
)

// about is what -h prints under the usage line.
const about = `Release 3 over Bluetooth LE, in process: connect, time sync, a standard unlock tunnelled in DK
messages, then a remote keyless entry "unlock trunk" with its signed challenge. It takes no flags.
`

func main() {
	flag.Usage = func() { fmt.Fprintf(flag.CommandLine.Output(), "usage: ble-unlock\n\n%s", about) }
	if flag.Parse(); flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ble-unlock:", err)
		os.Exit(1)
	}
}

// printer serialises the lines of the two sides.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// errDone ends the phone's session once the vehicle reported the trunk.
var errDone = errors.New("trunk reported")

func run(w io.Writer) error {
	out := &printer{w: w}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The vehicle: its key, its reader, its GATT service with the SPSM of
	// the DK channel.
	vehicleKey, err := dkey.GenerateSoftwareKey()
	if err != nil {
		return err
	}
	vid, err := dkey.NewVehicleID([]byte("VIN00001"))
	if err != nil {
		return err
	}
	reader, err := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: vehicleKey})
	if err != nil {
		return err
	}
	versions, _ := dkey.NewVersionList(0x0100)
	service, err := ble.VehicleService(ble.DefaultSPSM, versions)
	if err != nil {
		return err
	}
	// The reader is the RKE core's store of keys (vehicle.Reader.RKEKey).
	rke, err := ble.NewRKEVehicle(&ble.RKEConfig{Keys: reader,
		Functions: map[ble.FunctionID]ble.ActionType{ble.FunctionTrunkManual: ble.ActionTypeExecution}})
	if err != nil {
		return err
	}

	// The phone with an owner key, provisioned directly (examples/pair
	// shows owner pairing).
	phone, err := device.NewApplet(nil)
	if err != nil {
		return err
	}
	mailboxes := dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64}
	key, err := phone.CreateKey(device.KeyConfig{VehicleID: vid, VehicleKey: reader.PublicKey(), Mailboxes: mailboxes})
	if err != nil {
		return err
	}
	err = reader.Enroll(vehicle.Enrollment{PublicKey: key.PublicKey, Slot: key.Slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte("immobilizer-token"), Mailboxes: mailboxes})
	if err != nil {
		return err
	}
	spsm, _ := ble.ParseSPSM(service.Characteristics[0].Value)
	out.say("vehicle: GATT service %v, SPSM %v", service.UUID, spsm)

	// The link: the phone connects to the SPSM.
	vehicleEnd, phoneEnd := ble.Pipe(0)
	defer vehicleEnd.Close()
	phoneDone := make(chan error, 1)
	go func() { phoneDone <- runPhone(ctx, out, phone, vid, phoneEnd) }()

	// The vehicle's side of the link.
	ch := ble.NewChannel(vehicleEnd, nil)
	m, err := ch.Expect(ctx, ble.KindTimeSync)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	ts, err := ble.ParseTimeSync(m.Data)
	if err != nil {
		return err
	}
	out.say("vehicle: Time_Sync: device event %d, UWB clock %d µs, max %d ppm", ts.DeviceEventCount, ts.UWBDeviceTime, ts.DeviceMaxPPM)

	res, err := reader.Transact(ctx, ble.NewTunnel(ch, nil), dkey.ActionUnlock)
	if err != nil {
		return fmt.Errorf("vehicle: unlock over BLE: %w", err)
	}
	kind := "standard"
	if res.Fast {
		kind = "fast"
	}
	out.say("vehicle: unlock over BLE, %s transaction, %v key, control flow %v", kind, res.Role, res.ControlFlow)
	done, _ := (&ble.Event{Subevent: ble.SubeventCommandComplete, Status: ble.StatusDeselectSE}).Append(nil)
	if err := ch.Send(ctx, ble.KindEventNotification, done); err != nil {
		return err
	}

	// Remote keyless entry: the request of the key that just transacted.
	m, err = ch.Expect(ctx, ble.KindEventNotification)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	ev, err := ble.ParseEvent(m.Data)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	if ev.Subevent != ble.SubeventRKERequest {
		return fmt.Errorf("vehicle: %v event, want an RKE request", ev.Subevent)
	}
	req := ev.RKE
	challenge, err := rke.Challenge(res.Slot, req)
	if err != nil {
		return fmt.Errorf("vehicle: RKE %v: %w", req, err)
	}
	out.say("vehicle: RKE request %v from the owner key, challenge sent", req)
	if err := ch.Send(ctx, ble.KindRKEAuthRQ, challenge[:]); err != nil {
		return err
	}
	m, err = ch.Expect(ctx, ble.KindRKEAuthRS)
	if err != nil {
		return fmt.Errorf("vehicle: %w", err)
	}
	sig, err := ble.ParseRKEResponse(m.Data)
	if err != nil {
		return err
	}
	status := ble.ExecSucceeded
	grant, err := rke.Verify(challenge, sig)
	if err != nil {
		status = ble.RefusalStatus(err)
		out.say("vehicle: RKE refused: %v", err)
	} else {
		out.say("vehicle: signature verified, trunk released for the key with %v", grant.Profile.Entitlements)
	}
	_, err = rke.Verify(challenge, sig)
	out.say("vehicle: the same answer again: %v", err)
	report, err := (&ble.Event{Subevent: ble.SubeventVehicleStatus,
		Vehicle: ble.ActionStatus{Function: req.Function, Action: req.Action, Status: status}}).Append(nil)
	if err != nil {
		return err
	}
	if err := ch.Send(ctx, ble.KindEventNotification, report); err != nil {
		return err
	}
	// The phone ends its session once it has the report.
	if _, err := ch.Receive(ctx); !errors.Is(err, ble.ErrLinkClosed) {
		return fmt.Errorf("vehicle: after the report: %w", err)
	}
	out.say("vehicle: link closed by the phone")
	if err := <-phoneDone; !errors.Is(err, errDone) {
		return fmt.Errorf("phone: %w", err)
	}
	return nil
}

// runPhone is the phone's side of the link: a time sync, then the APDU
// tunnel to its applet, the trunk request once the vehicle's APDU session
// is over, the signed challenge, and the vehicle's report.
func runPhone(ctx context.Context, out *printer, phone *device.Applet, vid dkey.VehicleID, conn ble.Conn) error {
	ch := ble.NewChannel(conn, nil)
	out.say("phone: connected to the DK channel")
	ts := ble.TimeSync{DeviceEventCount: 1, UWBDeviceTime: 5_000_000, Uncertainty: 1, DeviceMaxPPM: 20, Success: true}
	if err := ch.Send(ctx, ble.KindTimeSync, ts.Append(nil)); err != nil {
		return err
	}

	// The applet signs the challenge with the key, under the policy of a
	// transaction (device.Applet.SignRKE): an express key signs without
	// user authentication, as it would unlock at the door.
	rke := ble.NewRKEDevice(vid, phone)

	handle := func(ctx context.Context, m ble.Message) error {
		switch m.Kind {
		case ble.KindEventNotification:
			ev, err := ble.ParseEvent(m.Data)
			if err != nil {
				return err
			}
			switch ev.Subevent {
			case ble.SubeventCommandComplete:
				out.say("phone: vehicle says %v; the user taps \"unlock trunk\"", ev.Status)
				req, err := rke.Request(ble.RKERequest{Function: ble.FunctionTrunkManual, Action: ble.ActionActivate})
				if err != nil {
					return err
				}
				data, err := req.Append(nil)
				if err != nil {
					return err
				}
				return ch.Send(ctx, ble.KindEventNotification, data)
			case ble.SubeventVehicleStatus:
				out.say("phone: vehicle status %v", ev.Vehicle)
				return errDone
			}
			return fmt.Errorf("unexpected event %v", ev.Subevent)
		case ble.KindRKEAuthRQ:
			c, err := ble.ParseChallenge(m.Data)
			if err != nil {
				return err
			}
			sig, req, err := rke.Answer(c)
			if err != nil {
				return err
			}
			out.say("phone: challenge for %v signed with the endpoint key", req)
			return ch.Send(ctx, ble.KindRKEAuthRS, sig[:])
		}
		return &ble.UnexpectedMessageError{Want: ble.KindRKEAuthRQ, Got: m.Kind}
	}
	return ble.Serve(ctx, ch, phone, &ble.ServerConfig{Handle: handle})
}
