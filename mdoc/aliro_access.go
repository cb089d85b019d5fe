package mdoc

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// The content of the Aliro documents' data elements (Aliro 1.0 chapter 7):
// the value of an access document's element ("aliro-a", the element a
// Matter lock requests being "matter1") is an AccessData map, and the
// value of a revocation document's element ("aliro-r") a RevocationData
// map (aliro_revocation.go). Both are CBOR maps with small integer keys.
// Sources, read for facts only (I): the CSA's own reference code
// aliro-access-control/aliro-actuator (Apache-2.0),
// src/aliro_actuator/access_document/aliro/access/{access_data, access_rule,
// schedule, recurrence_rule, access_extension}.py and .../revocation/*.py,
// which cite Aliro 1.0 §7.3 to §7.6, and the CSA certification tool's
// NFC_RDR_STEPUP_AD_* tests (aliro-access-control/aliro-certification-tool),
// which exercise the reader's checks:
//
//	AccessData   = {0: version (1), ? 1: id (bstr, ≤ 16), ? 2: [* AccessRule],
//	                ? 3: [* Schedule] (≤ 8), ? 4: [* reader rule id (uint16)],
//	                ? 5: non-access extensions, ? 6: access extensions}
//	AccessRule   = {0: capabilities (uint16, ≠ 0), ? 1: allow schedule ids (bits),
//	                ? 2: deny schedule ids (bits)}
//	Schedule     = {0: start, ? 1: end (excluded), ? 2: recurrence, 3: flags}
//	recurrence   = duration (uint32) ‖ mask (uint32) ‖ pattern ‖ interval ‖ ordinal (int8)
//	extensions   = {+ vendor id (uint) => [+ [criticality, id, version, data]]}
//
// The public material has two encodings of a schedule: the certification
// tool's and the actuator's NFC step-up example write start and end as
// #6.1 epoch times and the recurrence as an 11-byte string (big-endian
// fields); the actuator's access_document classes write plain integers and
// a 5-element array. The decoder takes both; Append writes the first. The
// two disagree too on whether bit 0 of an extension's criticality marks it
// critical or not critical, and on whether its data is a byte string or a
// map: the decoder takes any data item, and a reader (Check) treats every
// access extension it does not implement, which is all of them, as
// critical. None of this is signed differently: the issuer signs the bytes
// it wrote, and the digests cover them as received.
//
// Decoding is strict as in the rest of the package (shortest heads,
// definite lengths, no unknown or duplicate keys, every value within its
// range); map key order is free, and Append writes the deterministic
// encoding.

// AccessCapability is the capabilities bitmap of an access rule: what a
// holder may make the reader do.
type AccessCapability uint16

// Capabilities (aliro-actuator access_rule.py AccessRuleCapabilitiesBits).
const (
	CapabilitySecure                    AccessCapability = 1 << 0 // lock, arm, close
	CapabilityUnsecure                  AccessCapability = 1 << 1 // unlock, disarm, open
	CapabilityToggle                    AccessCapability = 1 << 2 // toggle secured or unsecured
	CapabilityMomentaryUnsecure         AccessCapability = 1 << 3 // unlock briefly, then relock
	CapabilityExtendedMomentaryUnsecure AccessCapability = 1 << 4
	CapabilityPayment                   AccessCapability = 1 << 5
	capabilitiesKnown                   AccessCapability = 0x3F
)

// ScheduleFlagUTC says a schedule's times are seconds since the Unix epoch
// in UTC; without it they are the same count on the reader's local
// wall clock (aliro-actuator schedule.py ScheduleFlagBits).
const ScheduleFlagUTC uint8 = 1 << 0

// RecurrencePattern is the pattern of a recurrence rule.
type RecurrencePattern uint8

// Patterns (aliro-actuator recurrence_rule.py RecurrenceRulePatternType).
const (
	RecurDaily             RecurrencePattern = 1
	RecurWeekly            RecurrencePattern = 2
	RecurMonthlyByDay      RecurrencePattern = 3
	RecurMonthlyByDate     RecurrencePattern = 4
	RecurYearlyByDay       RecurrencePattern = 5
	RecurYearlyByDate      RecurrencePattern = 6
	RecurYearlyByWeek      RecurrencePattern = 7
	RecurYearlyByMonthWeek RecurrencePattern = 8
)

// Limits of the access data (the project's; a reader keeps the data of
// every key it learns).
const (
	// MaxAccessRules bounds the access rules of one AccessData.
	MaxAccessRules = 16
	// MaxSchedules is the most schedules an AccessData may hold: the
	// schedule identifiers of a rule are the bits of one byte.
	MaxSchedules = 8
	// MaxReaderRules bounds the reader rule identifiers.
	MaxReaderRules = 16
	// MaxExtensionVendors and MaxExtensionsPerVendor bound extensions.
	MaxExtensionVendors    = 8
	MaxExtensionsPerVendor = 8
	// MaxAccessID bounds the identifier of an AccessData or a revocation
	// entry.
	MaxAccessID = 16
	// MaxRecurrenceDuration bounds the duration of one occurrence of a
	// recurring schedule (the project's limit: a reader looks this far
	// back for an occurrence that still covers the present).
	MaxRecurrenceDuration = 31 * 24 * 60 * 60
	// AccessDataVersion is the only version of AccessData and
	// RevocationData.
	AccessDataVersion = 1
)

// Errors of access decisions. An *AccessError wraps one of them.
var (
	// ErrAccessDenied reports that no access rule allows the capability
	// now.
	ErrAccessDenied = errors.New("mdoc: access denied by the access document")
	// ErrReaderRule reports access data that names reader rules none of
	// which the reader has.
	ErrReaderRule = errors.New("mdoc: the access document names reader rules this reader does not have")
	// ErrCriticalExtension reports a critical access extension the reader
	// does not implement: the data element is not valid (Aliro 1.0 §7.3.7).
	ErrCriticalExtension = errors.New("mdoc: unknown critical access extension")
)

// AccessData is the value of an Aliro access document's data element.
type AccessData struct {
	// ID identifies the holder to the issuer (employee number, ...); a
	// revocation entry may name it. Nil for none.
	ID []byte
	// Rules grant capabilities, each within its schedules.
	Rules []AccessRule
	// Schedules are the time windows the rules name by index (bit n of a
	// rule's schedule sets is Schedules[n]).
	Schedules []Schedule
	// ReaderRules, when not empty, name the reader rules the document is
	// for: a reader with none of them refuses it.
	ReaderRules []uint16
	// NonAccessExtensions and AccessExtensions are the vendors'
	// extensions, by vendor identifier.
	NonAccessExtensions map[uint32][]Extension
	AccessExtensions    map[uint32][]Extension
}

// AccessRule grants Capabilities within the allow schedules and outside
// the deny schedules.
type AccessRule struct {
	Capabilities AccessCapability
	// Allow and Deny are sets of schedule indices (bit n: Schedules[n]);
	// zero means none named.
	Allow, Deny uint8
}

// Schedule is a time window, possibly recurring.
type Schedule struct {
	// Start is the first second of the schedule and End, when not zero,
	// the first second after it, both in seconds since the Unix epoch (on
	// the reader's local wall clock without ScheduleFlagUTC).
	Start, End uint32
	// Recurrence, when set, restricts the schedule to its occurrences.
	Recurrence *Recurrence
	Flags      uint8
}

// Recurrence is a recurrence rule: occurrences of Duration seconds,
// starting at the time of day of the schedule's Start.
type Recurrence struct {
	Duration uint32
	// Mask is a weekday set for the weekly patterns (bit 0 Monday to bit 6
	// Sunday; empty means the weekday of Start), a day or month set for
	// others.
	Mask     uint32
	Pattern  RecurrencePattern
	Interval uint8
	Ordinal  int8
}

// Extension is one vendor extension: [criticality, id, version, data],
// Data being the encoded data item as received.
type Extension struct {
	Criticality uint8
	ID          uint64
	Version     uint64
	Data        []byte
}

// Keys of the maps.
const (
	adVersion, adID, adRules, adSchedules, adReaderRules, adNonAccess, adAccessExt = 0, 1, 2, 3, 4, 5, 6
	arCaps, arAllow, arDeny                                                        = 0, 1, 2
	scStart, scEnd, scRecurrence, scFlags                                          = 0, 1, 2, 3
)

// ParseAccessData parses the value of an access document's data element.
func ParseAccessData(b []byte) (*AccessData, error) {
	if len(b) > MaxElementValue {
		return nil, malformed("access data of %d bytes, more than %d", len(b), MaxElementValue)
	}
	d := decoder{s: b}
	a := parseAccessData(&d)
	if err := d.done(); err != nil {
		return nil, err
	}
	return a, nil
}

func parseAccessData(d *decoder) *AccessData {
	a := &AccessData{}
	var seen fieldSet
	n := d.mapLen("AccessData", 7)
	for range n {
		switch k := intKey(d, "AccessData", 6, &seen); k {
		case adVersion:
			if v := d.uint("AccessData version"); d.ok() && v != AccessDataVersion {
				d.fail("AccessData version %d, want %d", v, AccessDataVersion)
			}
		case adID:
			a.ID = slices.Clone(d.bytes("AccessData id", MaxAccessID))
		case adRules:
			m := d.array("access rules", MaxAccessRules)
			a.Rules = make([]AccessRule, 0, m)
			for range m {
				a.Rules = append(a.Rules, parseAccessRule(d))
			}
		case adSchedules:
			m := d.array("schedules", MaxSchedules)
			a.Schedules = make([]Schedule, 0, m)
			for range m {
				a.Schedules = append(a.Schedules, parseSchedule(d))
			}
		case adReaderRules:
			m := d.array("reader rules", MaxReaderRules)
			a.ReaderRules = make([]uint16, 0, m)
			for range m {
				v := d.uint("reader rule")
				if d.ok() && v > 0xFFFF {
					d.fail("reader rule %d", v)
				}
				a.ReaderRules = append(a.ReaderRules, uint16(v))
			}
		case adNonAccess:
			a.NonAccessExtensions = parseExtensions(d, "non-access extensions")
		case adAccessExt:
			a.AccessExtensions = parseExtensions(d, "access extensions")
		}
	}
	if d.ok() && seen&(1<<adVersion) == 0 {
		d.fail("AccessData without a version")
	}
	if !d.ok() {
		return nil
	}
	return a
}

// intKey reads an integer map key of at most max, failing on a repeat.
func intKey(d *decoder, what string, max uint64, seen *fieldSet) int {
	k := d.uint(what + " key")
	if !d.ok() {
		return -1
	}
	if k > max {
		d.fail("%s: unknown key %d", what, k)
		return -1
	}
	if *seen&(1<<k) != 0 {
		d.fail("%s: duplicate key %d", what, k)
		return -1
	}
	*seen |= 1 << k
	return int(k)
}

func parseAccessRule(d *decoder) AccessRule {
	var r AccessRule
	var seen fieldSet
	n := d.mapLen("access rule", 3)
	for range n {
		switch intKey(d, "access rule", 2, &seen) {
		case arCaps:
			v := d.uint("capabilities")
			if d.ok() && (v == 0 || v > 0xFFFF || AccessCapability(v)&^capabilitiesKnown != 0) {
				d.fail("capabilities %#x", v)
			}
			r.Capabilities = AccessCapability(v)
		case arAllow:
			r.Allow = scheduleSet(d, "allow schedule ids")
		case arDeny:
			r.Deny = scheduleSet(d, "deny schedule ids")
		}
	}
	if d.ok() && seen&(1<<arCaps) == 0 {
		d.fail("access rule without capabilities")
	}
	return r
}

func scheduleSet(d *decoder, what string) uint8 {
	v := d.uint(what)
	if d.ok() && (v == 0 || v > 0xFF) {
		d.fail("%s %#x", what, v)
	}
	return uint8(v)
}

func parseSchedule(d *decoder) Schedule {
	var s Schedule
	var seen fieldSet
	n := d.mapLen("schedule", 4)
	for range n {
		switch intKey(d, "schedule", 3, &seen) {
		case scStart:
			s.Start = epochField(d, "schedule start")
		case scEnd:
			s.End = epochField(d, "schedule end")
			if d.ok() && s.End == 0 {
				d.fail("schedule end 0")
			}
		case scRecurrence:
			s.Recurrence = parseRecurrence(d)
		case scFlags:
			v := d.uint("schedule flags")
			if d.ok() && v&^uint64(ScheduleFlagUTC) != 0 {
				d.fail("schedule flags %#x", v)
			}
			s.Flags = uint8(v)
		}
	}
	switch {
	case !d.ok():
	case seen&(1<<scStart) == 0 || seen&(1<<scFlags) == 0:
		d.fail("schedule without a start or flags")
	case s.End != 0 && s.End <= s.Start:
		d.fail("schedule ends at %d, not after its start %d", s.End, s.Start)
	}
	return s
}

func uint32Field(d *decoder, what string) uint32 {
	v := d.uint(what)
	if d.ok() && v > 0xFFFFFFFF {
		d.fail("%s %d", what, v)
	}
	return uint32(v)
}

// epochField reads a time in seconds since the epoch: #6.1(uint) or a
// bare uint, within 32 bits.
func epochField(d *decoder, what string) uint32 {
	if d.peekMajor() == majorTag {
		d.tag(what, tagEpoch)
	}
	return uint32Field(d, what)
}

// recurrenceSize is the size of a recurrence rule in its byte-string form.
const recurrenceSize = 11

func parseRecurrence(d *decoder) *Recurrence {
	r := &Recurrence{}
	var p, iv uint64
	var ord int64
	if d.peekMajor() == majorBytes {
		b := d.bytes("recurrence rule", recurrenceSize)
		if d.ok() && len(b) != recurrenceSize {
			d.fail("recurrence rule of %d bytes, want %d", len(b), recurrenceSize)
		}
		if !d.ok() {
			return nil
		}
		r.Duration = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		r.Mask = uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
		p, iv, ord = uint64(b[8]), uint64(b[9]), int64(int8(b[10]))
	} else {
		if n := d.array("recurrence rule", 5); d.ok() && n != 5 {
			d.fail("recurrence rule of %d elements, want 5", n)
		}
		r.Duration, r.Mask = uint32Field(d, "duration"), uint32Field(d, "mask")
		p, iv, ord = d.uint("pattern"), d.uint("interval"), d.int("ordinal")
	}
	if !d.ok() {
		return nil
	}
	if p > 0xFF || iv == 0 || iv > 0xFF || ord < -128 || ord > 127 {
		d.fail("recurrence rule pattern %d, interval %d, ordinal %d", p, iv, ord)
		return nil
	}
	r.Pattern, r.Interval, r.Ordinal = RecurrencePattern(p), uint8(iv), int8(ord)
	if err := r.check(); err != nil {
		d.fail("%v", err)
		return nil
	}
	return r
}

// Masks of the recurrence patterns (aliro-actuator recurrence_rule.py).
const (
	maskWeekdays uint32 = 0x7F
	maskMonths   uint32 = 0xFFF << 7
	maskDates    uint32 = 0x7FFFFFFF
)

// check validates r as aliro-actuator's RecurrenceRule.is_valid does,
// with the project's bound on the duration.
func (r *Recurrence) check() error {
	if r.Duration == 0 || r.Duration > MaxRecurrenceDuration || r.Interval == 0 {
		return fmt.Errorf("recurrence duration %d, interval %d", r.Duration, r.Interval)
	}
	o, m := int(r.Ordinal), r.Mask
	ok := false
	switch r.Pattern {
	case RecurDaily:
		ok = o == 0 && m == 0
	case RecurWeekly:
		ok = o == 0 && m&^maskWeekdays == 0
	case RecurMonthlyByDay:
		ok = o >= -5 && o <= 5 && o != 0 && m&^maskWeekdays == 0
	case RecurMonthlyByDate:
		ok = o >= -31 && o <= 31 && (o == 0 && m&^maskDates == 0 || o != 0 && m&^maskWeekdays == 0)
	case RecurYearlyByDay, RecurYearlyByMonthWeek:
		ok = o >= -5 && o <= 5 && o != 0 && m&^(maskWeekdays|maskMonths) == 0
	case RecurYearlyByDate:
		ok = o >= -31 && o <= 31 && o != 0 && m&^(maskWeekdays|maskMonths) == 0
	case RecurYearlyByWeek:
		ok = o >= -53 && o <= 53 && o != 0 && m&^(maskWeekdays|maskMonths) == 0
	}
	if !ok {
		return fmt.Errorf("recurrence pattern %d with mask %#x and ordinal %d", r.Pattern, m, o)
	}
	return nil
}

func parseExtensions(d *decoder, what string) map[uint32][]Extension {
	n := d.mapLen(what, MaxExtensionVendors)
	m := make(map[uint32][]Extension, n)
	for range n {
		v := uint32Field(d, what+" vendor")
		if _, dup := m[v]; d.ok() && dup {
			d.fail("%s: vendor %d twice", what, v)
		}
		k := d.array(what, MaxExtensionsPerVendor)
		if d.ok() && k == 0 {
			d.fail("%s: vendor %d without extensions", what, v)
		}
		exts := make([]Extension, 0, k)
		for range k {
			if c := d.array("extension", 4); d.ok() && c != 4 {
				d.fail("extension of %d elements, want 4", c)
			}
			var e Extension
			c := d.uint("criticality")
			if d.ok() && c > 0xFF {
				d.fail("criticality %d", c)
			}
			e.Criticality = uint8(c)
			e.ID, e.Version = d.uint("extension id"), d.uint("extension version")
			e.Data = slices.Clone(d.raw("extension data", MaxDepth))
			exts = append(exts, e)
		}
		if !d.ok() {
			return nil
		}
		m[v] = exts
	}
	return m
}

// Append appends the deterministic encoding of a to dst. It fails on a
// value outside the ranges ParseAccessData accepts.
func (a *AccessData) Append(dst []byte) ([]byte, error) {
	if err := a.check(); err != nil {
		return dst, err
	}
	var w mapWriter
	w.intKey(adVersion)
	w.buf = appendUint(w.buf, AccessDataVersion)
	if a.ID != nil {
		w.intKey(adID)
		w.buf = appendBstr(w.buf, a.ID)
	}
	if a.Rules != nil {
		w.intKey(adRules)
		w.buf = appendHead(w.buf, majorArray, uint64(len(a.Rules)))
		for _, r := range a.Rules {
			var rw mapWriter
			rw.intKey(arCaps)
			rw.buf = appendUint(rw.buf, uint64(r.Capabilities))
			if r.Allow != 0 {
				rw.intKey(arAllow)
				rw.buf = appendUint(rw.buf, uint64(r.Allow))
			}
			if r.Deny != 0 {
				rw.intKey(arDeny)
				rw.buf = appendUint(rw.buf, uint64(r.Deny))
			}
			w.buf = rw.appendTo(w.buf)
		}
	}
	if a.Schedules != nil {
		w.intKey(adSchedules)
		w.buf = appendHead(w.buf, majorArray, uint64(len(a.Schedules)))
		for _, s := range a.Schedules {
			w.buf = s.append(w.buf)
		}
	}
	if a.ReaderRules != nil {
		w.intKey(adReaderRules)
		w.buf = appendHead(w.buf, majorArray, uint64(len(a.ReaderRules)))
		for _, r := range a.ReaderRules {
			w.buf = appendUint(w.buf, uint64(r))
		}
	}
	if a.NonAccessExtensions != nil {
		w.intKey(adNonAccess)
		w.buf = appendExtensions(w.buf, a.NonAccessExtensions)
	}
	if a.AccessExtensions != nil {
		w.intKey(adAccessExt)
		w.buf = appendExtensions(w.buf, a.AccessExtensions)
	}
	return w.appendTo(dst), nil
}

// Encode returns the encoding of a, for an [Element] value.
func (a *AccessData) Encode() ([]byte, error) { return a.Append(nil) }

func (s *Schedule) append(dst []byte) []byte {
	var w mapWriter
	w.intKey(scStart)
	w.buf = appendUint(appendHead(w.buf, majorTag, tagEpoch), uint64(s.Start))
	if s.End != 0 {
		w.intKey(scEnd)
		w.buf = appendUint(appendHead(w.buf, majorTag, tagEpoch), uint64(s.End))
	}
	if r := s.Recurrence; r != nil {
		w.intKey(scRecurrence)
		b := [recurrenceSize]byte{
			byte(r.Duration >> 24), byte(r.Duration >> 16), byte(r.Duration >> 8), byte(r.Duration),
			byte(r.Mask >> 24), byte(r.Mask >> 16), byte(r.Mask >> 8), byte(r.Mask),
			byte(r.Pattern), r.Interval, byte(r.Ordinal),
		}
		w.buf = appendBstr(w.buf, b[:])
	}
	w.intKey(scFlags)
	w.buf = appendUint(w.buf, uint64(s.Flags))
	return w.appendTo(dst)
}

func appendExtensions(dst []byte, m map[uint32][]Extension) []byte {
	var w mapWriter
	for v, exts := range m {
		w.intKey(int64(v))
		w.buf = appendHead(w.buf, majorArray, uint64(len(exts)))
		for _, e := range exts {
			w.buf = appendHead(w.buf, majorArray, 4)
			w.buf = appendUint(w.buf, uint64(e.Criticality))
			w.buf = appendUint(w.buf, e.ID)
			w.buf = appendUint(w.buf, e.Version)
			w.buf = append(w.buf, e.Data...)
		}
	}
	return w.appendTo(dst)
}

// check reports a value outside the ranges the decoder accepts.
func (a *AccessData) check() error {
	switch {
	case len(a.ID) > MaxAccessID:
		return malformed("AccessData id of %d bytes", len(a.ID))
	case len(a.Rules) > MaxAccessRules || len(a.Schedules) > MaxSchedules || len(a.ReaderRules) > MaxReaderRules:
		return malformed("AccessData of %d rules, %d schedules, %d reader rules", len(a.Rules), len(a.Schedules), len(a.ReaderRules))
	}
	for _, r := range a.Rules {
		if r.Capabilities == 0 || r.Capabilities&^capabilitiesKnown != 0 {
			return malformed("capabilities %#x", r.Capabilities)
		}
	}
	for _, s := range a.Schedules {
		if s.Flags&^ScheduleFlagUTC != 0 || s.End != 0 && s.End <= s.Start {
			return malformed("schedule %+v", s)
		}
		if s.Recurrence != nil {
			if err := s.Recurrence.check(); err != nil {
				return malformed("%v", err)
			}
		}
	}
	for _, m := range []map[uint32][]Extension{a.NonAccessExtensions, a.AccessExtensions} {
		if len(m) > MaxExtensionVendors {
			return malformed("%d extension vendors", len(m))
		}
		for v, exts := range m {
			if len(exts) == 0 || len(exts) > MaxExtensionsPerVendor {
				return malformed("vendor %d with %d extensions", v, len(exts))
			}
			for _, e := range exts {
				v := decoder{s: e.Data}
				v.raw("extension data", MaxDepth)
				if err := v.done(); err != nil || len(e.Data) > MaxElementValue {
					return malformed("extension data %x is not one data item", e.Data)
				}
			}
		}
	}
	return nil
}

// Check validates the access data for a reader that implements no access
// extension and holds the reader rules readerRules: any access extension
// makes the element invalid for it (ErrCriticalExtension: the public
// material disagrees on the criticality flag, see above, so every unknown
// extension is taken as critical, the reading that never grants access an
// extension would have withheld), and access data that names reader rules
// the reader has none of is not for it (ErrReaderRule).
func (a *AccessData) Check(readerRules []uint16) error {
	for v := range a.AccessExtensions {
		return fmt.Errorf("%w: vendor %d", ErrCriticalExtension, v)
	}
	if len(a.ReaderRules) > 0 && !slices.ContainsFunc(a.ReaderRules, func(r uint16) bool { return slices.Contains(readerRules, r) }) {
		return fmt.Errorf("%w: %v", ErrReaderRule, a.ReaderRules)
	}
	return nil
}

// Allows decides whether the access data lets its holder make the reader
// do any of the capabilities in want at now, as Aliro 1.0 §7.3.3 has a
// reader evaluate the rules (aliro-actuator and the certification tool's
// NFC_RDR_STEPUP_AD_* cases): some rule must grant one of the wanted
// capabilities, have one of its allow schedules (when it names any) in
// range, and none of its deny schedules in range. A schedule index with no
// schedule is never in range. Times without ScheduleFlagUTC are read on
// the wall clock of loc (nil means UTC). Data without rules allows
// nothing. It returns nil or an error wrapping ErrAccessDenied.
//
// Only the daily and weekly recurrence patterns are evaluated (the
// project's limit): a schedule with another pattern is never in range for
// an allow set and always in range for a deny set, so that the unknown
// never grants access.
func (a *AccessData) Allows(want AccessCapability, now time.Time, loc *time.Location) error {
	for i := range a.Rules {
		r := &a.Rules[i]
		if r.Capabilities&want == 0 {
			continue
		}
		if r.Allow != 0 && !a.anyInRange(r.Allow, now, loc, false) {
			continue
		}
		if r.Deny != 0 && a.anyInRange(r.Deny, now, loc, true) {
			continue
		}
		return nil
	}
	return fmt.Errorf("%w: no rule grants %#x at %v", ErrAccessDenied, want, now.UTC().Format(time.RFC3339))
}

// anyInRange reports whether a schedule of set is in range at now; a
// schedule whose recurrence pattern is not evaluated counts as unknown.
func (a *AccessData) anyInRange(set uint8, now time.Time, loc *time.Location, unknown bool) bool {
	for n := range MaxSchedules {
		if set&(1<<n) == 0 || n >= len(a.Schedules) {
			continue
		}
		in, known := a.Schedules[n].InRange(now, loc)
		if !known {
			in = unknown
		}
		if in {
			return true
		}
	}
	return false
}

// secondsPerDay is the length of a day of the schedule clock: the Unix
// epoch count, which has no leap seconds.
const secondsPerDay = 24 * 60 * 60

// InRange reports whether now falls within the schedule: at or after
// Start, before End when set, and within an occurrence of the recurrence
// when set. known is false for a recurrence pattern this package does not
// evaluate (all but daily and weekly). Without ScheduleFlagUTC the
// schedule's seconds are read on the wall clock of loc (nil means UTC).
func (s *Schedule) InRange(now time.Time, loc *time.Location) (in, known bool) {
	t := now.Unix()
	if s.Flags&ScheduleFlagUTC == 0 && loc != nil {
		_, off := now.In(loc).Zone()
		t += int64(off)
	}
	if t < int64(s.Start) || s.End != 0 && t >= int64(s.End) {
		return false, true
	}
	r := s.Recurrence
	if r == nil {
		return true, true
	}
	if r.Pattern != RecurDaily && r.Pattern != RecurWeekly {
		return false, false
	}
	start := int64(s.Start)
	startDay, tod := start/secondsPerDay, start%secondsPerDay
	today := t / secondsPerDay
	// An occurrence that began up to Duration seconds ago may still run.
	back := (int64(r.Duration) + tod) / secondsPerDay
	for day := today; day >= today-back && day >= startDay; day-- {
		if !r.onDay(day, startDay) {
			continue
		}
		occ := day*secondsPerDay + tod
		if occ < start || s.End != 0 && occ >= int64(s.End) {
			continue
		}
		if t >= occ && t < occ+int64(r.Duration) {
			return true, true
		}
	}
	return false, true
}

// weekday returns the weekday of a day count since the epoch, Monday 0:
// 1970-01-01 was a Thursday.
func weekday(day int64) int64 { return (day + 3) % 7 }

// onDay reports whether an occurrence of the daily or weekly rule r starts
// on day, for a schedule whose first day is startDay.
func (r *Recurrence) onDay(day, startDay int64) bool {
	if r.Pattern == RecurDaily {
		return (day-startDay)%int64(r.Interval) == 0
	}
	mask := r.Mask
	if mask == 0 {
		mask = 1 << weekday(startDay)
	}
	if mask&(1<<weekday(day)) == 0 {
		return false
	}
	// Weeks count from the Monday of the start's week.
	monday := startDay - weekday(startDay)
	return ((day-monday)/7)%int64(r.Interval) == 0
}
