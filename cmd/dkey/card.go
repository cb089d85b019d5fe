package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/opencarkey/sdk/device"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/vpcd"
)

// cardCmd is dkey card: the applet of a state file as a virtual card of
// vsmartcard's vpcd, until interrupted.
func cardCmd(e *env, args []string) (err error) {
	fs := newFlags(e, "card")
	var sf stateFlags
	stateFlagSet(fs, &sf, "state", "kek", "the phone")
	keyFlag(fs, &sf, "instance-ca-key", "the applet's instance CA key")
	var c create
	fs.StringVar(&c.pki, "pki", "", "test PKI `directory` (dkey pki init) to create the phone from when -state holds none")
	fs.StringVar(&c.name, "instance-ca", kindInstanceCA, "`name` of the applet instance CA in -pki")
	password := fs.String("pair", "", "owner pairing `password` to wait for: the next vehicle that pairs with the card gets the key")
	host := fs.String("host", "localhost", "`host` where vpcd listens")
	port := fs.Int("port", 35963, "vpcd `port`: 35963 for its first reader, 35964 for the second")
	atrHex := fs.String("atr", "", "answer to reset in `hex` (default 3B80800101, a contactless card)")
	keyLogPath := fs.String("keylog", "", "append the session keys to `FILE` (test benches only)")
	fs.BoolVar(&e.verbose, "v", false, "log each transaction's start too")
	if err := parse(e, fs, "card", args); err != nil {
		return err
	}
	cfg := &vpcd.Config{}
	switch {
	case fs.NArg() != 0:
		return usagef("card: unexpected arguments %q (see dkey card -h)", fs.Args())
	case sf.path == "":
		return usagef("card: -state FILE is required (see dkey card -h)")
	case *port <= 0 || *port > 65535:
		return usagef("card: -port %d", *port)
	case *atrHex != "":
		atr, err := hex.DecodeString(*atrHex)
		if err != nil || len(atr) < 2 || len(atr) > 33 {
			return usagef("card: -atr %q: want 2 to 33 bytes in hex", *atrHex)
		}
		cfg.ATR = atr
	}
	keyLog, closeKeyLog, err := e.openKeyLog(*keyLogPath)
	if err != nil {
		return err
	}
	defer closeKeyLog()
	o := deviceOptions{log: e.logger(), keyLog: keyLog, adjust: func(h *device.Hooks) {
		// Say on standard output when a pairing completes.
		logDone := h.PairingDone
		h.PairingDone = func(i device.PairingDoneInfo) {
			logDone(i)
			if i.Err == nil {
				fmt.Fprintf(e.stdout, "paired: key %v for vehicle %s\n", i.Slot, printable(i.Vehicle))
			}
		}
	}}
	d, err := e.openDevice(sf, &c, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	if *password != "" {
		if err := d.StartPairing([]byte(*password)); err != nil {
			return err
		}
		e.progress("waiting for a vehicle to pair with (owner pairing password entered)")
	}
	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	cfg.OnConnect = func() { e.progress("card inserted into the reader at %s", addr) }
	cfg.OnDisconnect = func(err error) {
		if !errors.Is(err, context.Canceled) {
			e.progress("card removed: %v", err)
		}
	}
	fmt.Fprintf(e.stdout, "card: phone %s with %s, for vpcd at %s\n", d.path, count(len(d.Keys()), "key"), addr)
	return interrupted(e, vpcd.Run(e.ctx, addr, transport.NewChainingCard(d.Applet), cfg))
}
