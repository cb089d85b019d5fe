package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/transporttest"
	"github.com/opencarkey/sdk/vehicle"
)

// pairCmd is dkey pair: owner pairing of the vehicle in a state file with
// the phone in another (in this process), or with the card in a PC/SC
// reader.
func pairCmd(e *env, args []string) (err error) {
	fs := newFlags(e, "pair")
	var vsf, dsf stateFlags
	stateFlagSet(fs, &vsf, "vehicle", "vehicle-kek", "the vehicle")
	keyFlag(fs, &vsf, "key", "the vehicle key")
	stateFlagSet(fs, &dsf, "device", "device-kek", "the phone, paired in this process")
	keyFlag(fs, &dsf, "instance-ca-key", "the phone's instance CA key")
	readerName := fs.String("reader", "", "pair with the card in this PC/SC reader `name` instead of -device (\"-\" for the first reader)")
	timeout := fs.Duration("timeout", 0, "with -reader, give up when no card comes within this `duration` (0: wait for ever)")
	password := fs.String("password", "", "the owner pairing `password`")
	pki := fs.String("pki", "", "test PKI `directory` (dkey pki init) to create the vehicle and the phone from when their state files hold none")
	var vc, dc create
	fs.StringVar(&vc.name, "vehicle-cert", kindVehicle, "`name` of the vehicle certificate in -pki")
	fs.StringVar(&vc.vehicleID, "vehicle-id", "DKEY-VIN", "identifier of a new vehicle, 8 `characters`")
	fs.StringVar(&dc.name, "instance-ca", kindInstanceCA, "`name` of the phone's applet instance CA in -pki")
	replace := fs.String("replace", "", "the vehicle has an owner: `owner` (a new owner: the old one's keys and shares go) or device (the owner's new phone: shares stay)")
	scryptN := fs.Uint("scrypt-n", uint(pairing.DefaultScryptParams().N), "scrypt cost `N` of the verifier (a power of two; lower is faster, for tests)")
	keyLogPath := fs.String("keylog", "", "append the pairing and transaction keys to `FILE` (test benches only)")
	fs.BoolVar(&e.verbose, "v", false, "log each transaction's start too")
	if err := parse(e, fs, "pair", args); err != nil {
		return err
	}
	vc.pki, dc.pki = *pki, *pki
	params := pairing.DefaultScryptParams()
	params.N = uint32(min(*scryptN, 1<<31))
	switch {
	case fs.NArg() != 0:
		return usagef("pair: unexpected arguments %q (see dkey pair -h)", fs.Args())
	case vsf.path == "":
		return usagef("pair: -vehicle FILE is required (see dkey pair -h)")
	case (dsf.path == "") == (*readerName == ""):
		return usagef("pair: pair with -device FILE or with -reader NAME")
	case *password == "":
		return usagef("pair: -password is required")
	case *replace != "" && *replace != "owner" && *replace != "device":
		return usagef("pair: -replace %q: want owner or device", *replace)
	case bits.OnesCount(*scryptN) != 1 || params.Validate() != nil:
		return usagef("pair: -scrypt-n %d: want a power of two from %d to %d", *scryptN, pairing.MinScryptN, pairing.MaxScryptN)
	case *timeout < 0:
		return usagef("pair: -timeout %v", *timeout)
	}
	keyLog, closeKeyLog, err := e.openKeyLog(*keyLogPath)
	if err != nil {
		return err
	}
	defer closeKeyLog()
	log := e.logger()
	v, err := e.openVehicle(vsf, &vc, vehicleOptions{log: log.With("side", "vehicle"), keyLog: keyLog})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()

	// The vehicle OEM server's part: a verifier from the password, with a
	// new salt, installed in the vehicle.
	salt := make([]byte, pairing.SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	e.progress("deriving the pairing verifier from the password (scrypt N=%d, r=%d, p=%d)", params.N, params.R, params.P)
	start := time.Now()
	verifier, err := pairing.NewVerifier([]byte(*password), salt, params)
	if err != nil {
		return err
	}
	defer verifier.Zeroize()
	e.progress("verifier derived in %v", time.Since(start).Round(time.Millisecond))
	install := v.InstallVerifier
	switch *replace {
	case "owner":
		install = v.ReplaceOwner
	case "device":
		install = v.ReplaceOwnerDevice
	}
	if err := install(verifier); err != nil {
		if errors.Is(err, vehicle.ErrOwnerExists) {
			return fmt.Errorf("%w: pair with -replace owner or -replace device", err)
		}
		return err
	}

	var res vehicle.PairResult
	defer func() {
		if err != nil {
			// Out of pairing mode: the next dkey pair installs a new
			// verifier.
			err = errors.Join(err, v.RemoveVerifier())
		}
	}()
	if dsf.path != "" {
		d, err := e.openDevice(dsf, &dc, deviceOptions{log: log.With("side", "phone"), keyLog: keyLog})
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, d.Close()) }()
		if err := d.StartPairing([]byte(*password)); err != nil {
			return err
		}
		e.progress("pairing %s with %s", v.path, d.path)
		res, err = v.Pair(e.ctx, transporttest.NewCard(transport.NewChainingCard(d.Applet)))
		if err != nil {
			return err
		}
	} else {
		name := *readerName
		if name == "-" {
			name = ""
		}
		r, err := e.openReader(name)
		if err != nil {
			return err
		}
		defer r.close()
		if err := e.waitForCard(r, *timeout); err != nil {
			return err
		}
		e.progress("pairing %s with the card in %q", v.path, r.name)
		err = e.withCard(r, pairTimeout, func(ctx context.Context, t transport.Transceiver) error {
			var err error
			res, err = v.Pair(ctx, t)
			return err
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "paired: owner key %v enrolled in %s, first transaction %v\n", res.Slot, v.path, res.FirstTransaction.ControlFlow)
	for _, s := range res.Replaced {
		fmt.Fprintf(e.stdout, "removed: previous owner key %v\n", s)
	}
	for _, s := range res.RemovedShares {
		fmt.Fprintf(e.stdout, "removed: key %v shared by a previous owner key\n", s)
	}
	return nil
}
