// Command nfc-reader is the vehicle side of a Digital Key on an NFC
// controller chip, as a door handle or a lock has one: a PN532 on a serial
// line, or an NCI controller (NXP's PN7160/PN7161) on I2C or a UART. It
// polls with Apple's Enhanced Contactless Polling frame, so that a phone
// offers its key in express mode, unlocks with each phone that taps, prints
// the result, and waits for the phone to leave before the next tap.
//
//	go run ./examples/nfc-reader                               # simulated PN532 and phone
//	go run ./examples/nfc-reader -sim nci                      # simulated NCI controller
//	go run ./examples/nfc-reader -pn532 /dev/ttyUSB0
//	go run ./examples/nfc-reader -nci-i2c /dev/i2c-1 -nci-gpio /dev/gpiochip0:23:24
//	go run ./examples/nfc-reader -nci-uart /dev/ttyACM0
//
// Without a controller flag it runs on a simulated controller
// (transport/pn532/pn532test or transport/nci/ncitest) on a pseudo-terminal,
// through the same driver code as the hardware, with a simulated phone (the
// device applet, its key enrolled in the vehicle, in express mode: it
// answers only after the vehicle's ECP frame) that taps every three
// seconds; -once stops after the first tap.
//
// The vehicle is a CCC vehicle. Without -state it has a new key each run,
// held in memory: it forgets its enrolled keys and Kpersistent when it
// exits. With -state FILE its state (enrolled keys, Kpersistent,
// immobilizer tokens) and its long-term key are in FILE, sealed under the
// key-encryption key in FILE.kek (created with FILE; TEST BENCH ONLY: a
// vehicle keeps both in its HSM), and in simulation the phone's applet
// state is in FILE.phone (with FILE.phone.kek): a restarted program is the
// same vehicle and the same phone, and the first tap after a restart is
// fast. The simulated phone's key is enrolled when the vehicle does not
// have it yet (a new state file), not at every run. On hardware no phone
// holds the vehicle's key; the result says why the phone refused (a Home
// Key or car key of your own needs owner pairing, package pairing).
//
// # ECP
//
// The car-key ECP frame names the vehicle's brand with a TCI that is not
// public (docs/protocol.md §2.6): -tci sets it (the default, 017E57, is a test
// value of this project). -no-ecp polls without the frame: phones then offer
// keys only while their user authenticates. On an NCI controller the frame
// needs the controller's proprietary command (-nci-ecp GID:OID[:PREFIX]
// [:nocrc], from its documentation; NXP's PN7161 supports ECP, the PN7160
// does not); without it the reader polls without ECP.
//
// Flags:
//
//	-pn532 path      PN532 on this serial device (HSU, 115200 baud)
//	-nci-i2c path    NCI controller on this i2c-dev bus; needs -nci-gpio
//	-nci-gpio spec   GPIO chip and lines of the NCI controller: chip:irq[:ven]
//	-nci-addr n      its I2C address (default 0x28)
//	-nci-uart path   NCI controller on this serial device (-baud)
//	-nci-ecp spec    the NCI controller's ECP command, GID:OID[:PREFIX][:nocrc]
//	-sim kind        simulated controller when no device is named: pn532 or nci
//	-tci hex         the car-key TCI of the ECP frame (3 bytes)
//	-no-ecp          poll without the ECP frame
//	-once            stop after the first tap; the exit status says whether it unlocked
//	-timeout d       give up when no phone taps within d (0: wait for ever)
//	-state FILE      keep the vehicle's state and key in FILE (and the simulated
//	                 phone's in FILE.phone) across runs
//	-kek FILE        the key-encryption key of -state elsewhere (default FILE.kek)
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/statefile"
	"github.com/opencarkey/sdk/transport/nci"
	"github.com/opencarkey/sdk/transport/nci/ncitest"
	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/pn532/pn532test"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
	"github.com/opencarkey/sdk/vehicle"
)

// tapTimeout bounds one transaction.
const tapTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if code := exitCode(err); code != 0 {
		if code == 1 {
			fmt.Fprintln(os.Stderr, "nfc-reader:", err)
		}
		os.Exit(code)
	}
}

// errUsage reports a command line that the flag set refused; it has said
// why on standard error already.
var errUsage = errors.New("usage")

// usageError maps a flag.Parse error onto errUsage, keeping flag.ErrHelp.
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

// exitCode maps the outcome of run to the exit status: 0 for success, -h
// and an interrupt, 2 for a bad command line, 1 otherwise.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

type options struct {
	pn532, nciI2C, nciGPIO, nciUART, nciECP, sim string
	nciAddr                                      uint
	baud                                         int
	tci                                          string
	state, kek                                   string
	noECP, once                                  bool
	timeout                                      time.Duration
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("nfc-reader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.pn532, "pn532", "", "PN532 on this serial device")
	fs.StringVar(&o.nciI2C, "nci-i2c", "", "NCI controller on this i2c-dev bus (needs -nci-gpio)")
	fs.StringVar(&o.nciGPIO, "nci-gpio", "", "GPIO chip and lines of the NCI controller: chip:irq[:ven]")
	fs.UintVar(&o.nciAddr, "nci-addr", 0x28, "I2C address of the NCI controller")
	fs.StringVar(&o.nciUART, "nci-uart", "", "NCI controller on this serial device")
	fs.IntVar(&o.baud, "baud", 115200, "serial speed of -nci-uart")
	fs.StringVar(&o.nciECP, "nci-ecp", "", "the NCI controller's ECP command, GID:OID[:PREFIX][:nocrc]")
	fs.StringVar(&o.sim, "sim", "pn532", "simulated controller when no device is named: pn532 or nci")
	fs.StringVar(&o.tci, "tci", "017e57", "car-key TCI of the ECP frame, 3 bytes in hex (default: a test value)")
	fs.BoolVar(&o.noECP, "no-ecp", false, "poll without the ECP frame")
	fs.BoolVar(&o.once, "once", false, "stop after the first tap")
	fs.DurationVar(&o.timeout, "timeout", 0, "give up when no phone taps within this time (0: wait for ever)")
	fs.StringVar(&o.state, "state", "", "file that keeps the vehicle's state and key across runs (and FILE.phone the simulated phone's)")
	fs.StringVar(&o.kek, "kek", "", "file of the key-encryption key of -state (default: the -state file with .kek appended; created with it)")
	if err := fs.Parse(args); err != nil {
		return nil, usageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return nil, errUsage
	}
	n := 0
	for _, s := range []string{o.pn532, o.nciI2C, o.nciUART} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, errors.New("name one controller: -pn532, -nci-i2c or -nci-uart")
	case o.nciI2C != "" && o.nciGPIO == "":
		return nil, errors.New("-nci-i2c needs -nci-gpio chip:irq[:ven]")
	case o.timeout < 0:
		return nil, fmt.Errorf("invalid -timeout %v", o.timeout)
	case n == 0 && o.sim != "pn532" && o.sim != "nci":
		return nil, fmt.Errorf("invalid -sim %q: pn532 or nci", o.sim)
	case o.kek != "" && o.state == "":
		return nil, errors.New("-kek needs -state")
	}
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	simulated := o.pn532 == "" && o.nciI2C == "" && o.nciUART == ""
	v, err := newVehicle(o.state, o.kek)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	var phone *device.Applet
	if simulated {
		phone, err = newPhone(v, o.state)
		if err != nil {
			return err
		}
		// Closed after the simulation stopped (deferred below).
		defer func() { err = errors.Join(err, phone.Close()) }()
	}
	if o.state != "" {
		fmt.Fprintf(stdout, "vehicle state in %s: keys enrolled: %d\n", o.state, len(v.Keys()))
	}
	var ecp *polling.ECP
	if !o.noECP {
		tci, err := hex.DecodeString(o.tci)
		if err != nil || len(tci) != 3 {
			return fmt.Errorf("invalid -tci %q: want 3 bytes in hex", o.tci)
		}
		e, err := polling.ForProfile(dkey.CCC, v.ID(), &polling.Terminal{TCI: (*polling.TCI)(tci)})
		if err != nil {
			return err
		}
		ecp = &e
	}

	// The program's goroutines (the simulation's, the loop's) share
	// stdout.
	stdout = &lockedWriter{w: stdout}
	var reader polling.Reader
	if simulated {
		r, stop, err := simulate(ctx, o, phone, ecp, stdout)
		if err != nil {
			return err
		}
		defer stop()
		reader = r
	} else {
		r, closer, err := openHardware(ctx, o, stdout)
		if err != nil {
			return err
		}
		defer closer()
		reader = r
		if nr, ok := r.(*nci.Device); ok && ecp != nil && o.nciECP == "" {
			hw, _ := nr.Info().NXPHardware()
			fmt.Fprintf(stdout, "no -nci-ecp: polling without ECP (NXP hardware version %02X)\n", hw)
			ecp = nil
		}
	}
	if ecp != nil {
		fmt.Fprintf(stdout, "polling with ECP frame %X\n", ecp.Append(nil))
	} else {
		fmt.Fprintln(stdout, "polling without ECP: express-mode phones stay silent")
	}
	loop, err := polling.NewLoop(reader, &polling.Config{ECP: ecp})
	if err != nil {
		return err
	}
	pctx := ctx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	for target, err := range loop.Targets(pctx) {
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("no phone within %v: %w", o.timeout, err)
			}
			fmt.Fprintf(stdout, "controller: %v\n", err)
			continue
		}
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, tapTimeout)
		res, err := v.Transact(tctx, target, dkey.ActionUnlock)
		cancel()
		report(stdout, target.Info(), &res, time.Since(start))
		if o.once {
			return err
		}
		fmt.Fprintln(stdout, "waiting for the phone to leave, then for the next tap")
	}
	return ctx.Err()
}

// demoMailboxes is the mailbox configuration of the simulated phone's
// key: the immobilizer token comes back in the AUTH1 response.
var demoMailboxes = dkey.MailboxConfig{PrivateSize: 256, ConfidentialSize: 64, ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16}}

// newVehicle returns the CCC vehicle "NFC-DEMO". Without a statePath it
// has a new key and keeps its state in memory; with one, its state and its
// long-term key are in that file (package internal/statefile), so that a
// restarted program is the same vehicle.
func newVehicle(statePath, kekPath string) (*vehicle.Reader, error) {
	vid, err := dkey.NewVehicleID([]byte("NFC-DEMO"))
	if err != nil {
		return nil, err
	}
	cfg := &vehicle.Config{VehicleID: vid}
	if statePath == "" {
		if cfg.Key, err = dkey.GenerateSoftwareKey(); err != nil {
			return nil, err
		}
		return vehicle.NewReader(cfg)
	}
	f, err := statefile.Open(statePath, kekPath)
	if err != nil {
		return nil, err
	}
	// The vehicle's long-term key, sealed in the state file: a vehicle
	// with a new key would be a stranger to the phones that hold its
	// old one.
	key, _, err := f.SigningKey("vehicle")
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	cfg.Key, cfg.Store, cfg.KEK = key, f.Store, f.KEK
	v, err := vehicle.NewReader(cfg)
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return v, nil
}

// newPhone returns the simulated phone: a device applet holding an owner
// key for v, which v has enrolled. With a statePath the applet's state is
// in statePath + ".phone": a phone that has the key from an earlier run
// keeps it, and the vehicle enrols the phone's key only when it does not
// have it yet.
func newPhone(v *vehicle.Reader, statePath string) (phone *device.Applet, err error) {
	cfg := &device.Config{}
	if statePath != "" {
		f, err := statefile.Open(statePath+".phone", "")
		if err != nil {
			return nil, err
		}
		cfg.Store, cfg.KEK = f.Store, f.KEK
	}
	if phone, err = device.NewApplet(cfg); err != nil {
		if cfg.Store != nil {
			cfg.Store.Close()
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, phone.Close())
		}
	}()
	info, ok := phone.Key(v.ID())
	if ok && !info.VehicleKey.Equal(v.PublicKey()) {
		// The key of another vehicle of the same name (the vehicle's
		// state file was replaced): the phone deletes it.
		if err := phone.Terminate(v.ID()); err != nil {
			return nil, err
		}
		ok = false
	}
	if !ok {
		if info, err = phone.CreateKey(device.KeyConfig{VehicleID: v.ID(), VehicleKey: v.PublicKey(), Mailboxes: demoMailboxes}); err != nil {
			return nil, err
		}
	}
	for _, k := range v.Keys() {
		if k.Slot == info.Slot {
			return phone, nil
		}
	}
	err = v.Enroll(vehicle.Enrollment{PublicKey: info.PublicKey, Slot: info.Slot, Profile: dkey.OwnerProfile(),
		ImmobilizerToken: []byte("nfc-demo-token16"), Mailboxes: demoMailboxes})
	if err != nil {
		return nil, err
	}
	return phone, nil
}

// simulate starts a simulated controller on a pseudo-terminal with the
// phone tapping, and opens the driver on it. stop closes the driver, ends
// the simulation and waits for its goroutines.
func simulate(ctx context.Context, o *options, phone *device.Applet, ecp *polling.ECP, stdout io.Writer) (r polling.Reader, stop func(), err error) {
	field := pollingtest.NewField()
	// The phone's key is in express mode: it answers only after the ECP
	// frame of its vehicle.
	p := &pollingtest.Phone{Card: phone, Express: true}
	if ecp != nil {
		p.Accept = pollingtest.AcceptFrame(*ecp)
	}
	pty, err := pollingtest.OpenPTY()
	if err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var closer func()
	stop = func() {
		if closer != nil {
			closer()
		}
		cancel()
		wg.Wait()
		pty.Close()
	}
	wg.Go(func() { tap(sctx, field, p, stdout) })
	switch o.sim {
	case "nci":
		// NCI over UART on the pseudo-terminal; the simulator takes the
		// same test ECP command as the driver is given.
		cmd := &nci.ECPCommand{GID: nci.GroupProprietary, OID: 0x3F}
		wg.Go(func() { ncitest.New(field, ncitest.Config{ECP: cmd}).Serve(sctx, pty.Master) })
		fmt.Fprintf(stdout, "simulated NCI controller on %s (ECP command %X/%02X, a test value)\n", pty.Slave, uint8(cmd.GID), cmd.OID)
		d, err := nci.OpenUART(ctx, pty.Slave, o.baud, &nci.Config{ECP: cmd})
		if err != nil {
			stop()
			return nil, nil, err
		}
		closer = func() { d.Close() }
		return d, stop, nil
	default:
		wg.Go(func() { pn532test.New(field, pn532.Firmware{}).Serve(sctx, pty.Master) })
		d, err := pn532.Open(ctx, pty.Slave, nil)
		if err != nil {
			stop()
			return nil, nil, err
		}
		closer = func() { d.Close() }
		fmt.Fprintf(stdout, "simulated PN532 on %s: %v\n", pty.Slave, d.Firmware())
		return d, stop, nil
	}
}

// tap puts the phone in the field for two seconds every three seconds.
func tap(ctx context.Context, field *pollingtest.Field, p *pollingtest.Phone, stdout io.Writer) {
	for {
		if polling.Sleep(ctx, 500*time.Millisecond) != nil {
			return
		}
		fmt.Fprintln(stdout, "(the simulated phone taps)")
		field.Enter(p)
		if polling.Sleep(ctx, 2*time.Second) != nil {
			return
		}
		field.Leave()
		fmt.Fprintln(stdout, "(the simulated phone leaves)")
		if polling.Sleep(ctx, 500*time.Millisecond) != nil {
			return
		}
	}
}

// openHardware opens the controller the flags name.
func openHardware(ctx context.Context, o *options, stdout io.Writer) (polling.Reader, func(), error) {
	if o.pn532 != "" {
		d, err := pn532.Open(ctx, o.pn532, nil)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, "%s: %v\n", o.pn532, d.Firmware())
		return d, func() { d.Close() }, nil
	}
	cfg := &nci.Config{}
	if o.nciECP != "" {
		c, err := nci.ParseECPCommand(o.nciECP)
		if err != nil {
			return nil, nil, err
		}
		cfg.ECP = c
	}
	var d *nci.Device
	var err error
	if o.nciI2C != "" {
		chip, irq, ven, perr := nci.ParseGPIOLines(o.nciGPIO)
		if perr != nil {
			return nil, nil, fmt.Errorf("invalid -nci-gpio %q: %w", o.nciGPIO, perr)
		}
		d, err = nci.OpenI2C(ctx, nci.I2CConfig{Bus: o.nciI2C, Address: uint16(o.nciAddr), Chip: chip, IRQ: irq, VEN: ven}, cfg)
	} else {
		d, err = nci.OpenUART(ctx, o.nciUART, o.baud, cfg)
	}
	if err != nil {
		return nil, nil, err
	}
	i := d.Info()
	fmt.Fprintf(stdout, "NCI %X controller, manufacturer %02X %X\n", i.Version, i.ManufacturerID, i.ManufacturerInfo)
	return d, func() { d.Close() }, nil
}

// lockedWriter serializes writes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// report prints the outcome of one tap on one line.
func report(w io.Writer, info polling.TargetInfo, res *vehicle.Result, elapsed time.Duration) {
	elapsed = elapsed.Round(time.Millisecond)
	if !res.OK() {
		fmt.Fprintf(w, "phone %X: %v failed after %v: %v\n", info.NFCID1, res.Action, elapsed, res.Err)
		return
	}
	kind := "standard"
	if res.Fast {
		kind = "fast"
	}
	fmt.Fprintf(w, "phone %X: %v OK, %s transaction in %v, %v key %v\n", info.NFCID1, res.Action, kind, elapsed, res.Role, res.Slot)
}
