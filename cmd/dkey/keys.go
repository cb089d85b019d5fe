package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// keysCmd returns dkey keys list, suspend, resume or remove: the keys of
// the vehicle or the phone in a state file.
func keysCmd(verb string) func(e *env, args []string) error {
	return func(e *env, args []string) (err error) {
		path := "keys " + verb
		fs := newFlags(e, path)
		var sf stateFlags
		stateFlagSet(fs, &sf, "state", "kek", "the vehicle or the phone")
		keyFlag(fs, &sf, "key", "the vehicle key (a vehicle's state only)")
		if err := parse(e, fs, path, args); err != nil {
			return err
		}
		switch {
		case sf.path == "":
			return usagef("%s: -state FILE is required (see dkey %s -h)", path, path)
		case verb == "list" && fs.NArg() != 0:
			return usagef("%s: unexpected arguments %q", path, fs.Args())
		case verb != "list" && fs.NArg() != 1:
			return usagef("%s: want one key SLOT, in hex (see dkey keys list)", path)
		}
		var slot dkey.KeySlot
		if verb != "list" {
			b, err := hex.DecodeString(fs.Arg(0))
			if err == nil {
				slot, err = dkey.NewKeySlot(b)
			}
			if err != nil {
				return usagef("%s: key slot %q: want its hexadecimal identifier (see dkey keys list)", path, fs.Arg(0))
			}
		}
		// The role decides: open the file once to read its record.
		s, err := openState(sf.path, sf.kek)
		if err != nil {
			return err
		}
		role := ""
		if s.rec != nil {
			role = s.rec.Role
		}
		s.discard()
		switch role {
		case roleVehicle:
			return e.vehicleKeys(sf, verb, slot)
		case roleDevice:
			return e.deviceKeys(sf, verb, slot)
		}
		return fmt.Errorf("%s holds no vehicle and no phone: create them with dkey pair", sf.path)
	}
}

// yesNo prints a flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// when prints a time, "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func (e *env) vehicleKeys(sf stateFlags, verb string, slot dkey.KeySlot) (err error) {
	v, err := e.openVehicle(sf, nil, vehicleOptions{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	switch verb {
	case "list":
		keys := v.Keys()
		fmt.Fprintf(e.stdout, "vehicle %s in %s: %s\n", printable(v.ID()), v.path, count(len(keys), "key"))
		if len(keys) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "SLOT\tROLE\tSTATE\tPROFILE\tFAST\tTOKEN\tVALID UNTIL\tSHARED BY\tLAST USE")
		for _, k := range keys {
			shared := "-"
			if !k.SharedBy.IsZero() {
				shared = k.SharedBy.String()
			}
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%s\t%s\t%s\t%s\t%s\n", k.Slot, k.Role, k.State, k.Profile, yesNo(k.HasPersistent),
				yesNo(k.TokenProvisioned), when(k.NotAfter), shared, when(k.LastUse))
		}
		return tw.Flush()
	case "suspend":
		err = v.SetState(slot, dkey.KeySuspended)
	case "resume":
		err = v.SetState(slot, dkey.KeyActive)
	case "remove":
		err = v.Remove(slot)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "vehicle %s: key %v %s\n", printable(v.ID()), slot, pastTense[verb])
	return nil
}

var (
	pastTense       = map[string]string{"suspend": "suspended", "resume": "resumed", "remove": "removed for good (revoked)"}
	devicePastTense = map[string]string{"suspend": "suspended", "resume": "resumed", "remove": "terminated (deleted for good)"}
)

func (e *env) deviceKeys(sf stateFlags, verb string, slot dkey.KeySlot) (err error) {
	d, err := e.openDevice(sf, nil, deviceOptions{noCA: true})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Close()) }()
	keys := d.Keys()
	if verb == "list" {
		fmt.Fprintf(e.stdout, "phone %s: %s\n", d.path, count(len(keys), "key"))
		if len(keys) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "SLOT\tVEHICLE\tROLE\tSTATE\tEXPRESS\tFAST\tTRANSACTIONS\tLAST CONTROL FLOW")
		for _, k := range keys {
			fmt.Fprintf(tw, "%v\t%s\t%v\t%v\t%s\t%s\t%d\t%v\n", k.Slot, printable(k.VehicleID), k.Role, k.State, yesNo(k.Express),
				yesNo(k.HasPersistent), k.Transactions, k.LastControlFlow)
		}
		return tw.Flush()
	}
	var vid dkey.VehicleID
	found := false
	for _, k := range keys {
		if k.Slot == slot && k.State != dkey.KeyTerminated {
			vid, found = k.VehicleID, true
		}
	}
	if !found {
		return fmt.Errorf("%s holds no live key %v: %w", d.path, slot, dkey.ErrUnknownKey)
	}
	switch verb {
	case "suspend":
		err = d.Suspend(vid)
	case "resume":
		err = d.Resume(vid)
	case "remove":
		err = d.Terminate(vid)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "phone %s: key %v %s\n", d.path, slot, devicePastTense[verb])
	return nil
}

// count returns "1 key", "2 keys".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// printable returns a vehicle identifier as text when it is printable
// ASCII, in hex otherwise.
func printable(v dkey.VehicleID) string {
	b := v.Bytes()
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return v.String()
		}
	}
	return string(b)
}
