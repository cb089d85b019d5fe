package mdoc

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// actuatorAccessData is the AccessData of aliro-access-control/aliro-actuator
// (Apache-2.0) examples/nfc/reader/stepup.py at commit 86e124c8, the value
// its access_example.py builds: id 1234567890ABCDEF, a rule for secure and
// unsecure in schedules 1 and 3 but not 2, a rule for every capability in
// schedules 1 and 3, three schedules with #6.1 times and 11-byte
// recurrence rules (weekly every 3 weeks Mon/Wed/Fri for 1 h; weekly
// Tue/Thu/weekend for 2 h, local time; monthly by date every 2 months, last
// Friday, 30 min), reader rules 123 and 456, and two access extensions of
// vendor FA1466 (secure PIN, multiple users) whose data are maps.
const actuatorAccessData = "A6000101481234567890ABCDEF0282A3000301050202A200183F01050383A400C11A66AB89CF01" +
	"C11A672230CF024B00000E10000000150203000301A400C11A66AB89D001C11A672230D0024B00" +
	"001C200000006A0201000300A400C11A66AB89D101C11A672230D1024B00000708000000100402" +
	"FF03010482187B1901C806A11A00FA14668284010101A300815013AC8FF518435D4128C29D7B27" +
	"41FBE501584104281F30EA16C1F1B2102B5C3F273F7AFE60A92D827019D3B876AD5CB164D811B3" +
	"C49AAC1EF7B6FA4540E31924B031B491165A2708A4A650D1B76F10FF581B260F0281A20048DB8C" +
	"47BD724B6CD70150C50D5BE962F62E79F293B06D20B586F184010201A400181E010102020302"

func TestAccessDataActuatorVector(t *testing.T) {
	a, err := ParseAccessData(unhex(t, actuatorAccessData))
	if err != nil {
		t.Fatal(err)
	}
	want := &AccessData{
		ID: unhex(t, "1234567890ABCDEF"),
		Rules: []AccessRule{
			{Capabilities: CapabilitySecure | CapabilityUnsecure, Allow: 0b101, Deny: 0b010},
			{Capabilities: capabilitiesKnown, Allow: 0b101},
		},
		Schedules: []Schedule{
			{Start: 0x66AB89CF, End: 0x672230CF, Flags: ScheduleFlagUTC, Recurrence: &Recurrence{Duration: 3600, Mask: 0x15, Pattern: RecurWeekly, Interval: 3}},
			{Start: 0x66AB89D0, End: 0x672230D0, Recurrence: &Recurrence{Duration: 7200, Mask: 0x6A, Pattern: RecurWeekly, Interval: 1}},
			{Start: 0x66AB89D1, End: 0x672230D1, Flags: ScheduleFlagUTC, Recurrence: &Recurrence{Duration: 1800, Mask: 0x10, Pattern: RecurMonthlyByDate, Interval: 2, Ordinal: -1}},
		},
		ReaderRules: []uint16{123, 456},
	}
	ext := a.AccessExtensions[0xFA1466]
	a.AccessExtensions = nil
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("actuator access data (-want +got):\n%s", diff)
	}
	if len(ext) != 2 || ext[0].ID != 1 || ext[1].ID != 2 || ext[1].Version != 1 || !bytes.Equal(ext[1].Data, unhex(t, "A400181E010102020302")) {
		t.Errorf("extensions = %+v", ext)
	}
	a.AccessExtensions = map[uint32][]Extension{0xFA1466: ext}
	// A reader without the reader rules, or without the extensions,
	// refuses the element.
	if err := a.Check([]uint16{123}); !errors.Is(err, ErrCriticalExtension) {
		t.Errorf("Check = %v, want ErrCriticalExtension", err)
	}
	a.AccessExtensions = nil
	if err := a.Check([]uint16{7}); !errors.Is(err, ErrReaderRule) {
		t.Errorf("Check(other rules) = %v, want ErrReaderRule", err)
	}
	if err := a.Check([]uint16{456}); err != nil {
		t.Errorf("Check(456) = %v", err)
	}
	checkFixedPoint(t, unhex(t, actuatorAccessData))
}

// checkFixedPoint checks that what b parses to encodes, and that the
// encoding parses to the same value and encodes to the same bytes.
func checkFixedPoint(t testing.TB, b []byte) {
	t.Helper()
	a, err := ParseAccessData(b)
	if err != nil {
		return
	}
	enc, err := a.Append(nil)
	if err != nil {
		t.Fatalf("ParseAccessData(%X) = %+v, which does not encode: %v", b, a, err)
	}
	again, err := ParseAccessData(enc)
	if err != nil {
		t.Fatalf("the encoding %X of %X does not parse: %v", enc, b, err)
	}
	if diff := cmp.Diff(a, again); diff != "" {
		t.Fatalf("%X parses, encodes and parses differently:\n%s", b, diff)
	}
	if enc2, _ := again.Append(nil); !bytes.Equal(enc, enc2) {
		t.Fatalf("the encoding is not stable: %X, %X", enc, enc2)
	}
}

func TestAccessDataRoundTrip(t *testing.T) {
	for _, a := range []*AccessData{
		{},
		{ID: []byte("emp-0042"), Rules: []AccessRule{{Capabilities: CapabilityUnsecure}}},
		{
			Rules:       []AccessRule{{Capabilities: CapabilityUnsecure | CapabilityMomentaryUnsecure, Allow: 1, Deny: 2}},
			Schedules:   []Schedule{{Start: 1, End: 5, Flags: ScheduleFlagUTC}, {Start: 7, Recurrence: &Recurrence{Duration: 60, Pattern: RecurDaily, Interval: 1}}},
			ReaderRules: []uint16{0, 0xFFFF}, NonAccessExtensions: map[uint32][]Extension{1: {{Criticality: 1, ID: 2, Version: 3, Data: []byte{0x40}}}},
		},
		{Rules: []AccessRule{}, Schedules: []Schedule{}, ReaderRules: []uint16{}},
	} {
		b, err := a.Append(nil)
		if err != nil {
			t.Fatalf("Append(%+v): %v", a, err)
		}
		got, err := ParseAccessData(b)
		if err != nil {
			t.Fatalf("ParseAccessData(%X): %v", b, err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("round trip of %X (-want +got):\n%s", b, diff)
		}
		checkFixedPoint(t, b)
		// No strict prefix parses.
		for i := range b {
			if _, err := ParseAccessData(b[:i]); err == nil {
				t.Errorf("the %d-byte prefix of %X parses", i, b)
			}
		}
	}
}

func TestAccessDataRefused(t *testing.T) {
	for _, tt := range []struct{ name, hex string }{
		{"empty", ""},
		{"not a map", "80"},
		{"no version", "A0"},
		{"version 2", "A10002"},
		{"unknown key", "A200010701"},
		{"duplicate key", "A300010001"},
		{"text key", "A1613001"},
		{"id too long", "A200010151" + "0102030405060708090A0B0C0D0E0F1011"},
		{"rule without capabilities", "A2000102 81A0"},
		{"capabilities 0", "A2000102 81A10000"},
		{"unknown capability", "A2000102 81A1001840"},
		{"schedule set 0", "A2000102 81A200020100"},
		{"schedule without flags", "A2000103 81A10001"},
		{"schedule ends before it starts", "A2000103 81A3000501030301"},
		{"unknown flag", "A2000103 81A200010302"},
		{"nine schedules", "A2000103 89" + "A200000300A200000300A200000300A200000300A200000300A200000300A200000300A200000300A200000300"},
		{"daily rule with a mask", "A2000103 81A30001024B00000E1000000001010100" + "0300"},
		{"zero duration", "A2000103 81A30001024B00000000000000000101000300"},
		{"duration over 31 days", "A2000103 81A30001024B0028DE81000000000101000300"},
		{"interval 0", "A2000103 81A30001024B00000E10000000000100000300"},
		{"unknown pattern", "A2000103 81A30001024B00000E10000000000901000300"},
		{"recurrence of 10 bytes", "A2000103 81A30001024A00000E100000000001010300"},
		{"reader rule over 16 bits", "A200010481 1A00010000"},
		{"epoch tag 0", "A2000103 81A200C0010300"},
		{"float", "A2000103 81A200F93C000300"},
		{"trailing byte", "A1000100"},
		{"non-shortest head", "A1001801"},
	} {
		b := unhex(t, tt.hex)
		if _, err := ParseAccessData(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseAccessData(%X) = %v, want ErrMalformed", tt.name, b, err)
		}
	}
	if _, err := (&AccessData{Rules: []AccessRule{{}}}).Append(nil); err == nil {
		t.Error("Append of a rule without capabilities succeeded")
	}
	if _, err := (&AccessData{Schedules: make([]Schedule, 9)}).Append(nil); err == nil {
		t.Error("Append of nine schedules succeeded")
	}
}

var scheduleBase = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

func at(day int, hh, mm int) time.Time {
	return scheduleBase.AddDate(0, 0, day).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

func epoch(t time.Time) uint32 { return uint32(t.Unix()) }

func TestScheduleInRange(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	nineToFive := &Recurrence{Duration: 8 * 3600, Pattern: RecurDaily, Interval: 1}
	weekdays := &Recurrence{Duration: 8 * 3600, Pattern: RecurWeekly, Interval: 1, Mask: 0x1F}
	night := &Recurrence{Duration: 8 * 3600, Pattern: RecurDaily, Interval: 1}
	for _, tt := range []struct {
		name      string
		s         Schedule
		now       time.Time
		loc       *time.Location
		in, known bool
	}{
		{"before the window", Schedule{Start: epoch(at(0, 8, 0)), End: epoch(at(0, 9, 0)), Flags: ScheduleFlagUTC}, at(0, 7, 59), nil, false, true},
		{"window start", Schedule{Start: epoch(at(0, 8, 0)), End: epoch(at(0, 9, 0)), Flags: ScheduleFlagUTC}, at(0, 8, 0), nil, true, true},
		{"window end excluded", Schedule{Start: epoch(at(0, 8, 0)), End: epoch(at(0, 9, 0)), Flags: ScheduleFlagUTC}, at(0, 9, 0), nil, false, true},
		{"open end", Schedule{Start: epoch(at(0, 8, 0)), Flags: ScheduleFlagUTC}, at(400, 0, 0), nil, true, true},
		{"daily, inside", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: nineToFive, Flags: ScheduleFlagUTC}, at(3, 12, 0), nil, true, true},
		{"daily, evening", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: nineToFive, Flags: ScheduleFlagUTC}, at(3, 17, 0), nil, false, true},
		{"daily every 2 days, off day", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurDaily, Interval: 2}, Flags: ScheduleFlagUTC}, at(3, 9, 30), nil, false, true},
		{"daily every 2 days, on day", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurDaily, Interval: 2}, Flags: ScheduleFlagUTC}, at(4, 9, 30), nil, true, true},
		{"across midnight", Schedule{Start: epoch(at(0, 22, 0)), Recurrence: night, Flags: ScheduleFlagUTC}, at(2, 3, 0), nil, true, true},
		{"across midnight, before the first night", Schedule{Start: epoch(at(0, 22, 0)), Recurrence: night, Flags: ScheduleFlagUTC}, at(0, 3, 0), nil, false, true},
		{"weekly, Friday", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: weekdays, Flags: ScheduleFlagUTC}, at(4, 10, 0), nil, true, true},
		{"weekly, Saturday", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: weekdays, Flags: ScheduleFlagUTC}, at(5, 10, 0), nil, false, true},
		{"weekly, empty mask is the start's weekday", Schedule{Start: epoch(at(2, 9, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurWeekly, Interval: 1}, Flags: ScheduleFlagUTC}, at(9, 9, 10), nil, true, true},
		{"every other week, off week", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurWeekly, Interval: 2, Mask: 1}, Flags: ScheduleFlagUTC}, at(7, 9, 10), nil, false, true},
		{"every other week, on week", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurWeekly, Interval: 2, Mask: 1}, Flags: ScheduleFlagUTC}, at(14, 9, 10), nil, true, true},
		{"occurrence cut by the end", Schedule{Start: epoch(at(0, 9, 0)), End: epoch(at(3, 0, 0)), Recurrence: nineToFive, Flags: ScheduleFlagUTC}, at(3, 10, 0), nil, false, true},
		{"local time, inside", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: nineToFive}, at(3, 8, 30), paris, true, true},
		{"local time, outside", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: nineToFive}, at(3, 16, 30), paris, false, true},
		{"UTC flag ignores the location", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: nineToFive, Flags: ScheduleFlagUTC}, at(3, 16, 30), paris, true, true},
		{"monthly: not evaluated", Schedule{Start: epoch(at(0, 9, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurMonthlyByDate, Interval: 1, Mask: 1}, Flags: ScheduleFlagUTC}, at(0, 9, 30), nil, false, false},
	} {
		in, known := tt.s.InRange(tt.now, tt.loc)
		if in != tt.in || known != tt.known {
			t.Errorf("%s: InRange(%v) = %v, %v; want %v, %v", tt.name, tt.now, in, known, tt.in, tt.known)
		}
	}
}

func TestAccessDataAllows(t *testing.T) {
	office := Schedule{Start: epoch(at(0, 9, 0)), Recurrence: &Recurrence{Duration: 8 * 3600, Pattern: RecurWeekly, Interval: 1, Mask: 0x1F}, Flags: ScheduleFlagUTC}
	holiday := Schedule{Start: epoch(at(4, 0, 0)), End: epoch(at(5, 0, 0)), Flags: ScheduleFlagUTC}
	monthly := Schedule{Start: epoch(at(0, 0, 0)), Recurrence: &Recurrence{Duration: 3600, Pattern: RecurMonthlyByDate, Interval: 1, Mask: 1}, Flags: ScheduleFlagUTC}
	a := &AccessData{
		Rules:     []AccessRule{{Capabilities: CapabilityUnsecure, Allow: 0b01, Deny: 0b10}, {Capabilities: CapabilitySecure}},
		Schedules: []Schedule{office, holiday},
	}
	for _, tt := range []struct {
		name  string
		a     *AccessData
		want  AccessCapability
		now   time.Time
		allow bool
	}{
		{"unlock in office hours", a, CapabilityUnsecure, at(1, 10, 0), true},
		{"unlock at night", a, CapabilityUnsecure, at(1, 22, 0), false},
		{"unlock on the holiday", a, CapabilityUnsecure, at(4, 10, 0), false},
		{"unlock on Saturday", a, CapabilityUnsecure, at(5, 10, 0), false},
		{"lock any time", a, CapabilitySecure, at(5, 22, 0), true},
		{"a capability no rule grants", a, CapabilityPayment, at(1, 10, 0), false},
		{"any of several capabilities", a, CapabilityMomentaryUnsecure | CapabilityUnsecure, at(1, 10, 0), true},
		{"no rules", &AccessData{}, CapabilityUnsecure, at(1, 10, 0), false},
		{"an allow set naming no schedule", &AccessData{Rules: []AccessRule{{Capabilities: CapabilityUnsecure, Allow: 0x80}}}, CapabilityUnsecure, at(1, 10, 0), false},
		{"an unevaluated allow schedule", &AccessData{Rules: []AccessRule{{Capabilities: CapabilityUnsecure, Allow: 1}}, Schedules: []Schedule{monthly}}, CapabilityUnsecure, at(0, 0, 30), false},
		{"an unevaluated deny schedule", &AccessData{Rules: []AccessRule{{Capabilities: CapabilityUnsecure, Deny: 1}}, Schedules: []Schedule{monthly}}, CapabilityUnsecure, at(2, 12, 0), false},
		{"a deny schedule out of range", &AccessData{Rules: []AccessRule{{Capabilities: CapabilityUnsecure, Deny: 2}}, Schedules: []Schedule{office, holiday}}, CapabilityUnsecure, at(2, 12, 0), true},
	} {
		err := tt.a.Allows(tt.want, tt.now, nil)
		if (err == nil) != tt.allow || err != nil && !errors.Is(err, ErrAccessDenied) {
			t.Errorf("%s: Allows(%#x, %v) = %v, want allowed %v", tt.name, tt.want, tt.now, err, tt.allow)
		}
	}
}

// FuzzAccessData parses arbitrary bytes as access data: never a panic,
// every error is ErrMalformed, and what parses is a fixed point of
// encoding.
func FuzzAccessData(f *testing.F) {
	f.Add(unhex(f, actuatorAccessData))
	f.Add([]byte{0xA1, 0x00, 0x01})
	b, _ := (&AccessData{ID: []byte{1}, Rules: []AccessRule{{Capabilities: 2, Allow: 1}}, Schedules: []Schedule{{Start: 5, End: 9, Flags: 1, Recurrence: &Recurrence{Duration: 1, Pattern: RecurWeekly, Interval: 1, Mask: 3}}}}).Append(nil)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAccessData(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseAccessData(%X) = %v, not ErrMalformed", b, err)
			}
			return
		}
		checkFixedPoint(t, b)
		// Evaluating never panics.
		_ = a.Allows(capabilitiesKnown, time.Unix(int64(len(b))*86399, 0), time.FixedZone("x", -3600))
		_ = a.Check([]uint16{1})
	})
}
