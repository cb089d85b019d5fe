package ble

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestEventGolden checks each event against bytes written by hand from the
// tables of docs/protocol.md §8.6, every command-complete and session status
// included, and parses them back.
func TestEventGolden(t *testing.T) {
	type row struct {
		e    Event
		want string
		name string
	}
	var rows []row
	for _, s := range []struct {
		v    CommandStatus
		hex  string
		name string
	}{
		{StatusDeselectSE, "0100", "deselect SE"},
		{StatusBLEPairingReady, "0101", "BLE pairing ready"},
		{StatusCapabilityExchange, "0102", "capability exchange required"},
		{StatusStandardTransaction, "0103", "standard transaction requested"},
		{StatusOwnerPairing, "0104", "owner pairing requested"},
		{StatusGeneralError, "0180", "general error"},
		{StatusSEBusy, "0181", "device SE busy"},
		{StatusSEStateLost, "0182", "device SE transaction state lost"},
		{StatusDeviceBusy, "0183", "device busy"},
		{StatusTemporarilyBlocked, "0184", "command temporarily blocked"},
		{StatusUnsupportedChannelBitmask, "0185", "unsupported channel bitmask"},
		{StatusNotInsideVehicle, "0186", "owner-pairing device not inside vehicle"},
		{StatusOOBMismatch, "01FC", "OOB mismatch"},
		{StatusBLEPairingFailed, "01FD", "BLE pairing failed"},
		{StatusFirstApproachFailed, "01FE", "first-approach crypto failed"},
		{StatusWrongParameters, "01FF", "wrong parameters"},
	} {
		rows = append(rows, row{Event{Subevent: SubeventCommandComplete, Status: s.v}, s.hex, s.name})
	}
	for _, s := range []struct {
		v    SessionStatus
		hex  string
		name string
	}{
		{SessionURSKRefresh, "0200", "URSK refresh"},
		{SessionURSKNotFound, "0201", "URSK not found"},
		{SessionRangingNotRequired, "0202", "ranging not required"},
		{SessionSecureRangingFailed, "0203", "secure ranging failed"},
		{SessionTerminated, "0204", "terminated"},
		{SessionRecoveryFailed, "0206", "recovery failed"},
		{SessionSuspended, "0207", "suspended"},
	} {
		rows = append(rows, row{Event{Subevent: SubeventRangingSessionStatus, Session: s.v}, s.hex, s.name})
	}
	for _, s := range []struct {
		v    RangingIntent
		hex  string
		name string
	}{{IntentLow, "0300", "low"}, {IntentMedium, "0301", "medium"}, {IntentHigh, "0302", "high"}} {
		rows = append(rows, row{Event{Subevent: SubeventRangingIntent, Intent: s.v}, s.hex, s.name})
	}
	rows = append(rows,
		row{Event{Subevent: SubeventRKERequest, RKE: RKERequest{Function: FunctionTrunkManual, Action: ActionActivate}},
			"05 7F70 07 80 02 0110 81 01 01", "trunk"},
		row{Event{Subevent: SubeventVehicleStatus, Vehicle: ActionStatus{Function: FunctionCentralLocking, Action: ActionDeactivate, Status: ExecInsufficientEntitlements}},
			"04 7F71 0A 80 02 0001 81 01 00 82 01 F6", "insufficient entitlements"},
		row{Event{Subevent: SubeventVehicleStatus, Vehicle: ActionStatus{Function: FunctionRoof, Action: ActionActivate, Status: 0x77}},
			"04 7F71 0A 80 02 0141 81 01 01 82 01 77", "OEM-specific"},
	)
	for _, r := range rows {
		want := unhex(t, r.want)
		got, err := r.e.Append(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Append(%+v) = %X, %v; want %X", r.e, got, err, want)
			continue
		}
		p, err := ParseEvent(want)
		if err != nil || p != r.e {
			t.Errorf("ParseEvent(%X) = %+v, %v; want %+v", want, p, err, r.e)
		}
		var s string
		switch r.e.Subevent {
		case SubeventCommandComplete:
			s = p.Status.String()
		case SubeventRangingSessionStatus:
			s = p.Session.String()
		case SubeventRangingIntent:
			s = p.Intent.String()
		case SubeventVehicleStatus:
			s = p.Vehicle.String()
		default:
			s = p.RKE.String()
		}
		if !strings.Contains(s, r.name) {
			t.Errorf("String of %X = %q, want it to name %q", want, s, r.name)
		}
	}
}

func TestParseEventErrors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", ErrMalformed},
		{"01", ErrMalformed},
		{"01 00 00", ErrMalformed},
		{"01 05", ErrUnknownValue},
		{"01 87", ErrUnknownValue},
		{"01 FB", ErrUnknownValue},
		{"02 05", ErrUnknownValue},
		{"02 08", ErrUnknownValue},
		{"03 03", ErrUnknownValue},
		{"00 00", ErrUnknownValue},
		{"07 00", ErrUnknownValue},
		{"06 00", ErrUnsupported},
		{"04 7F72 00", ErrUnsupported},
		{"04 5F78 01 00", ErrUnsupported},
		{"04 7F71 0A 80 02 0001 81 01 00 82 01", ErrMalformed},
		{"04 7F71 0A 80 02 0001 81 01 00 82 01 00 00", ErrMalformed},
		{"04 7F71 0A 80 02 0001 81 01 00 82 01 20", ErrUnknownValue},
		{"04 7F71 0A 80 02 0003 81 01 00 82 01 00", ErrUnknownValue},
		{"04 7F71 0A 80 02 0001 82 01 00 81 01 00", ErrMalformed},
		{"04 7F71 81 0A 80 02 0001 81 01 00 82 01 00", ErrMalformed},
		{"04 7F", ErrMalformed},
		{"05 7F70 07 80 02 0110 81 01 02", ErrUnknownValue},
		{"05 7F70 07 80 02 9999 81 01 01", ErrUnknownValue},
		{"05 7F70 07 80 01 01 81 01 01 00", ErrMalformed},
		{"05 7F70 08 80 02 0110 81 01 01 00", ErrMalformed},
		{"05 7F70 07 80 02 0110 81 01 01 00", ErrMalformed},
		{"05 7F70 07 81 01 01 80 02 0110", ErrMalformed},
		{"05 7F71 07 80 02 0110 81 01 01", ErrMalformed},
	} {
		in := unhex(t, tt.in)
		if e, err := ParseEvent(in); !errors.Is(err, tt.want) {
			t.Errorf("ParseEvent(%X) = %+v, %v; want %v", in, e, err, tt.want)
		}
	}
}

func TestEventAppendErrors(t *testing.T) {
	dst := []byte{0xAA}
	for _, e := range []Event{
		{Subevent: SubeventCommandComplete, Status: 0x05},
		{Subevent: SubeventRangingSessionStatus, Session: 0x05},
		{Subevent: SubeventRangingIntent, Intent: 3},
		{Subevent: SubeventVehicleStatus, Vehicle: ActionStatus{Function: 0x0003}},
		{Subevent: SubeventVehicleStatus, Vehicle: ActionStatus{Function: FunctionRoof, Status: 0x20}},
		{Subevent: SubeventRKERequest, RKE: RKERequest{Function: FunctionRoof, Action: 9}},
		{Subevent: SubeventHeadUnitPairing},
		{Subevent: 0},
	} {
		if out, err := e.Append(dst); err == nil || !bytes.Equal(out, dst) {
			t.Errorf("Append(%+v) = %X, %v; want an error and dst unchanged", e, out, err)
		}
	}
}

// TestEventPrefixes checks that no strict prefix of a valid event parses.
func TestEventPrefixes(t *testing.T) {
	for _, s := range []string{"0183", "0207", "0302", "05 7F70 07 80 02 0110 81 01 01", "04 7F71 0A 80 02 0001 81 01 00 82 01 00"} {
		b := unhex(t, s)
		for i := range len(b) {
			if _, err := ParseEvent(b[:i]); err == nil {
				t.Errorf("prefix %X of %X parses", b[:i], b)
			}
		}
	}
}

func TestStringsOfUnknownValues(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{Subevent(9).String(), "Subevent(0x9)"},
		{CommandStatus(0x05).String(), "05"},
		{SessionStatus(0x05).String(), "05"},
		{RangingIntent(7).String(), "07"},
		{FunctionID(0x0003).String(), "0003"},
		{FunctionID(0x0110).String(), "0110 (trunk (manual))"},
		{ActionID(5).String(), "ActionID(05)"},
		{ActionType(0x10).String(), "10"},
		{ActionTypeEnduringConfirm.String(), "04 (enduring with confirmation)"},
		{ExecutionStatus(0x20).String(), "20"},
		{ExecOEMLast.String(), "EF (OEM-specific)"},
		{ExecWrongRKESecurityPolicy.String(), "F7 (wrong RKE security policy)"},
	} {
		if tt.got != tt.want {
			t.Errorf("String = %q, want %q", tt.got, tt.want)
		}
	}
}
