package ble

import (
	"fmt"
	"strconv"
)

// Subevent is the category of a DK event notification: the first byte of
// its data (§8.6, I [NXPDK][CNDK]).
type Subevent uint8

// Subevent categories.
const (
	SubeventCommandComplete      Subevent = 0x01 // vehicle to device: a status (CommandStatus)
	SubeventRangingSessionStatus Subevent = 0x02 // vehicle to device: ranging session status changed
	SubeventRangingIntent        Subevent = 0x03 // device to vehicle: device ranging intent
	SubeventVehicleStatus        Subevent = 0x04 // vehicle to device: vehicle status changed
	SubeventRKERequest           Subevent = 0x05 // device to vehicle: RKE request
	SubeventHeadUnitPairing      Subevent = 0x06 // head-unit pairing (layout not public)
)

// String returns the name of the subevent.
func (s Subevent) String() string {
	switch s {
	case SubeventCommandComplete:
		return "command complete"
	case SubeventRangingSessionStatus:
		return "ranging session status changed"
	case SubeventRangingIntent:
		return "device ranging intent"
	case SubeventVehicleStatus:
		return "vehicle status changed"
	case SubeventRKERequest:
		return "RKE request"
	case SubeventHeadUnitPairing:
		return "head-unit pairing"
	}
	return "Subevent(0x" + strconv.FormatUint(uint64(s), 16) + ")"
}

// CommandStatus is the status of a command-complete event (§8.6).
type CommandStatus uint8

// Command-complete statuses.
const (
	StatusDeselectSE                CommandStatus = 0x00 // the vehicle finished its APDU session
	StatusBLEPairingReady           CommandStatus = 0x01
	StatusCapabilityExchange        CommandStatus = 0x02 // capability exchange required
	StatusStandardTransaction       CommandStatus = 0x03 // standard transaction requested
	StatusOwnerPairing              CommandStatus = 0x04 // owner pairing requested
	StatusGeneralError              CommandStatus = 0x80
	StatusSEBusy                    CommandStatus = 0x81 // device SE busy
	StatusSEStateLost               CommandStatus = 0x82 // device SE transaction state lost
	StatusDeviceBusy                CommandStatus = 0x83
	StatusTemporarilyBlocked        CommandStatus = 0x84 // command temporarily blocked
	StatusUnsupportedChannelBitmask CommandStatus = 0x85
	StatusNotInsideVehicle          CommandStatus = 0x86 // owner-pairing device not inside the vehicle
	StatusOOBMismatch               CommandStatus = 0xFC
	StatusBLEPairingFailed          CommandStatus = 0xFD
	StatusFirstApproachFailed       CommandStatus = 0xFE // first-approach crypto failed
	StatusWrongParameters           CommandStatus = 0xFF
)

// Valid reports whether s is one of the statuses of the table.
func (s CommandStatus) Valid() bool { return s.name() != "" }

func (s CommandStatus) name() string {
	switch s {
	case StatusDeselectSE:
		return "deselect SE"
	case StatusBLEPairingReady:
		return "BLE pairing ready"
	case StatusCapabilityExchange:
		return "capability exchange required"
	case StatusStandardTransaction:
		return "standard transaction requested"
	case StatusOwnerPairing:
		return "owner pairing requested"
	case StatusGeneralError:
		return "general error"
	case StatusSEBusy:
		return "device SE busy"
	case StatusSEStateLost:
		return "device SE transaction state lost"
	case StatusDeviceBusy:
		return "device busy"
	case StatusTemporarilyBlocked:
		return "command temporarily blocked"
	case StatusUnsupportedChannelBitmask:
		return "unsupported channel bitmask"
	case StatusNotInsideVehicle:
		return "owner-pairing device not inside vehicle"
	case StatusOOBMismatch:
		return "OOB mismatch"
	case StatusBLEPairingFailed:
		return "BLE pairing failed"
	case StatusFirstApproachFailed:
		return "first-approach crypto failed"
	case StatusWrongParameters:
		return "wrong parameters"
	}
	return ""
}

// String returns the status in hexadecimal with its meaning.
func (s CommandStatus) String() string { return hexName(uint8(s), s.name()) }

// SessionStatus is the status of a ranging-session-status event (§8.6).
type SessionStatus uint8

// Ranging session statuses. 05 is not in the table and is rejected.
const (
	SessionURSKRefresh         SessionStatus = 0x00 // run a standard transaction with P2 = 10 for a new URSK
	SessionURSKNotFound        SessionStatus = 0x01
	SessionRangingNotRequired  SessionStatus = 0x02
	SessionSecureRangingFailed SessionStatus = 0x03
	SessionTerminated          SessionStatus = 0x04
	SessionRecoveryFailed      SessionStatus = 0x06
	SessionSuspended           SessionStatus = 0x07
)

// Valid reports whether s is one of the statuses of the table.
func (s SessionStatus) Valid() bool { return s.name() != "" }

func (s SessionStatus) name() string {
	switch s {
	case SessionURSKRefresh:
		return "URSK refresh"
	case SessionURSKNotFound:
		return "URSK not found"
	case SessionRangingNotRequired:
		return "ranging not required"
	case SessionSecureRangingFailed:
		return "secure ranging failed"
	case SessionTerminated:
		return "terminated"
	case SessionRecoveryFailed:
		return "recovery failed"
	case SessionSuspended:
		return "suspended"
	}
	return ""
}

// String returns the status in hexadecimal with its meaning.
func (s SessionStatus) String() string { return hexName(uint8(s), s.name()) }

// RangingIntent is the device's approach confidence in a device ranging
// intent event (§8.6).
type RangingIntent uint8

// Ranging intents.
const (
	IntentLow    RangingIntent = 0x00
	IntentMedium RangingIntent = 0x01
	IntentHigh   RangingIntent = 0x02
)

// Valid reports whether i is low, medium or high.
func (i RangingIntent) Valid() bool { return i <= IntentHigh }

// String returns the confidence name.
func (i RangingIntent) String() string {
	switch i {
	case IntentLow:
		return "low"
	case IntentMedium:
		return "medium"
	case IntentHigh:
		return "high"
	}
	return hexName(uint8(i), "")
}

// hexName formats a one-byte code as "XX (name)", or "XX" without a name.
func hexName(v uint8, name string) string {
	const digits = "0123456789ABCDEF"
	s := string([]byte{digits[v>>4], digits[v&0x0F]})
	if name == "" {
		return s
	}
	return s + " (" + name + ")"
}

// Event is a DK event notification: the data of a DK_Event_Notification
// message (type 3), a subevent byte and its payload (§8.6). Subevent says
// which one field holds the payload:
//
//	01 command complete         Status         01 ‖ status (1)
//	02 ranging session status   Session        02 ‖ status (1)
//	03 device ranging intent    Intent         03 ‖ intent (1)
//	04 vehicle status changed   Vehicle        04 ‖ 7F71 { 80 function, 81 action, 82 execution status }
//	05 RKE request              RKE            05 ‖ 7F70 { 80 function, 81 action }
//
// The payloads of 01 to 03 are one byte as [NXPDK] and [CNDK] send them. Of
// the vehicle status containers of §8.6 the package implements 7F71, the
// status of the last requested action, which answers an RKE request; the
// others (7F72 summary, 7F75 confirmation, 5F78 subscription, A0, C0) and
// the head-unit pairing subevent are not public in their layout and are
// rejected with [ErrUnsupported].
type Event struct {
	Subevent Subevent
	Status   CommandStatus
	Session  SessionStatus
	Intent   RangingIntent
	Vehicle  ActionStatus
	RKE      RKERequest
}

// Append appends the encoding of e to dst. It fails, leaving dst as it
// was, when the field of e's subevent holds a value outside its table
// (an error wrapping [ErrUnknownValue]) or the subevent is not one the
// package encodes.
func (e *Event) Append(dst []byte) ([]byte, error) {
	switch e.Subevent {
	case SubeventCommandComplete:
		if !e.Status.Valid() {
			return dst, fmt.Errorf("ble: command-complete status %v: %w", e.Status, ErrUnknownValue)
		}
		return append(dst, byte(e.Subevent), byte(e.Status)), nil
	case SubeventRangingSessionStatus:
		if !e.Session.Valid() {
			return dst, fmt.Errorf("ble: ranging session status %v: %w", e.Session, ErrUnknownValue)
		}
		return append(dst, byte(e.Subevent), byte(e.Session)), nil
	case SubeventRangingIntent:
		if !e.Intent.Valid() {
			return dst, fmt.Errorf("ble: ranging intent %v: %w", e.Intent, ErrUnknownValue)
		}
		return append(dst, byte(e.Subevent), byte(e.Intent)), nil
	case SubeventVehicleStatus:
		return e.Vehicle.appendEvent(dst)
	case SubeventRKERequest:
		return e.RKE.appendEvent(dst)
	case SubeventHeadUnitPairing:
		return dst, fmt.Errorf("ble: %v event: %w", e.Subevent, ErrUnsupported)
	}
	return dst, fmt.Errorf("ble: %v: %w", e.Subevent, ErrUnknownValue)
}

// ParseEvent parses the data of a DK_Event_Notification message. It
// rejects an empty event, trailing bytes and truncated payloads
// ([ErrMalformed]), unknown subevents and values outside their tables
// ([ErrUnknownValue]), and the subevents and containers whose layout is not
// public ([ErrUnsupported]).
func ParseEvent(b []byte) (Event, error) {
	if len(b) == 0 {
		return Event{}, fmt.Errorf("%w: empty event notification", ErrMalformed)
	}
	e := Event{Subevent: Subevent(b[0])}
	body := b[1:]
	switch e.Subevent {
	case SubeventCommandComplete, SubeventRangingSessionStatus, SubeventRangingIntent:
		if len(body) != 1 {
			return Event{}, fmt.Errorf("%w: %v event with %d bytes, want 1", ErrMalformed, e.Subevent, len(body))
		}
		v, ok := body[0], false
		switch e.Subevent {
		case SubeventCommandComplete:
			e.Status = CommandStatus(v)
			ok = e.Status.Valid()
		case SubeventRangingSessionStatus:
			e.Session = SessionStatus(v)
			ok = e.Session.Valid()
		default:
			e.Intent = RangingIntent(v)
			ok = e.Intent.Valid()
		}
		if !ok {
			return Event{}, fmt.Errorf("%w: %v value %02X", ErrUnknownValue, e.Subevent, v)
		}
		return e, nil
	case SubeventVehicleStatus:
		s, err := parseActionStatus(body)
		if err != nil {
			return Event{}, err
		}
		e.Vehicle = s
		return e, nil
	case SubeventRKERequest:
		r, err := ParseRKERequest(body)
		if err != nil {
			return Event{}, err
		}
		e.RKE = r
		return e, nil
	case SubeventHeadUnitPairing:
		return Event{}, fmt.Errorf("%w: %v event", ErrUnsupported, e.Subevent)
	}
	return Event{}, fmt.Errorf("%w: subevent %02X", ErrUnknownValue, b[0])
}
