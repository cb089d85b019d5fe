package pollingtest

import (
	"errors"
	"slices"
	"sync"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/polling"
)

// ErrGone reports an exchange with a phone that is not (or no longer) in
// the field, or whose ISO-DEP session ended. Simulated controllers turn it
// into their own status (a timeout, a link loss).
var ErrGone = errors.New("pollingtest: no phone answers in the field")

// DefaultInfo is what a Phone answers in anticollision and RATS unless it
// says otherwise. The values are the project's choice, not a recording of a
// real phone: SENS_RES 00 04; SEL_RES 20, ISO/IEC 14443-4 compliant; a 4-byte
// random NFCID1 (first byte 08, ISO/IEC 14443-3 §6.4.4), fixed here so that
// runs are reproducible; an ATS (ISO/IEC 14443-4 §5.2) of TL 05, T0 78 (TA1,
// TB1 and TC1 present, FSCI 8: frames of 256 bytes), TA1 80, TB1 70 (FWI 7),
// TC1 02 (CID supported).
var DefaultInfo = polling.TargetInfo{
	SENSRes: [2]byte{0x00, 0x04},
	SELRes:  0x20,
	NFCID1:  []byte{0x08, 0x1A, 0x2B, 0x3C},
	ATS:     []byte{0x05, 0x78, 0x80, 0x70, 0x02},
}

// Phone is a phone or watch in a simulated field, its applets played by a
// [transport.Card] (a device.Applet).
type Phone struct {
	// Card answers the APDUs of the ISO-DEP session.
	Card transport.Card
	// Express models a pass in express mode: the phone answers polling
	// only after it has seen, since the field was switched on, a
	// well-formed ECP frame that Accept accepts (docs/protocol.md §2.6). Without
	// it the phone answers any polling, as a phone does while its user holds
	// it authenticated.
	Express bool
	// Accept reports whether an ECP frame is for one of the phone's passes;
	// nil accepts none.
	Accept func(polling.ECP) bool
	// Info is what the phone answers in anticollision and RATS; the zero
	// value means DefaultInfo.
	Info polling.TargetInfo
}

// AcceptFrame returns an Accept function that takes exactly the frame want.
func AcceptFrame(want polling.ECP) func(polling.ECP) bool {
	return func(e polling.ECP) bool { return e == want }
}

// Stats counts what a Field saw.
type Stats struct {
	// Accepted counts well-formed ECP frames the phone accepted.
	Accepted int
	// Rejected counts frames that were not well-formed ECP frames or were
	// not for the phone (or arrived with no phone in the field).
	Rejected int
	// Garbled counts frames that went on air with broken framing (wrong
	// CRC or parity settings, a partial last byte).
	Garbled int
	// Activations counts ISO-DEP activations of the phone.
	Activations int
	// Exchanges counts APDUs the phone answered.
	Exchanges int
}

// Field is the RF field of a simulated controller with at most one phone in
// it. A Field is safe for concurrent use: a test moves the phone while the
// controller polls.
type Field struct {
	mu     sync.Mutex
	phone  *Phone
	on     bool
	ecp    bool // an accepted ECP frame since the field came on
	active bool // an ISO-DEP session with the phone is open
	stats  Stats
	leave  *leaveRule
}

type leaveRule struct {
	match  func(cmd []byte) bool
	before bool
	fired  bool
}

// NewField returns an empty field, switched off.
func NewField() *Field { return &Field{} }

// Enter puts p in the field (replacing any phone there).
func (f *Field) Enter(p *Phone) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropLocked()
	f.phone = p
}

// Leave takes the phone out of the field: its session ends and its card is
// reset, as when a phone is pulled away.
func (f *Field) Leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropLocked()
}

// dropLocked removes the phone.
func (f *Field) dropLocked() {
	if f.phone != nil {
		f.resetLocked()
	}
	f.phone = nil
	f.ecp, f.active = false, false
}

func (f *Field) resetLocked() {
	if r, ok := f.phone.Card.(transport.Resetter); ok {
		r.Reset()
	}
}

// HasPhone reports whether a phone is in the field.
func (f *Field) HasPhone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phone != nil
}

// SetOn switches the reader's field. Switching it off resets the phone: its
// session ends, its card is reset and it forgets the ECP frames it saw.
func (f *Field) SetOn(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.on && !on && f.phone != nil {
		if f.active {
			f.resetLocked()
		}
		f.ecp, f.active = false, false
	}
	f.on = on
}

// On reports whether the field is on.
func (f *Field) On() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on
}

// Frame delivers a frame the reader sent on air, CRC_A included, outside an
// ISO-DEP session: the phone takes it as an ECP frame when it parses as one
// and Accept accepts it.
func (f *Field) Frame(raw []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on || f.phone == nil || f.phone.Accept == nil {
		f.stats.Rejected++
		return
	}
	e, err := polling.ParseECP(raw)
	if err != nil || !f.phone.Accept(e) {
		f.stats.Rejected++
		return
	}
	f.ecp = true
	f.stats.Accepted++
}

// Garbled records a frame that went on air with broken framing; no phone
// makes sense of it.
func (f *Field) Garbled() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Garbled++
}

// Activate runs anticollision and RATS with the phone: it answers when it is
// in the field, the field is on, no session is open, and, in express mode,
// it has seen an ECP frame for it. It returns what the phone answered.
func (f *Field) Activate() (polling.TargetInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.phone
	if !f.on || p == nil || f.active || (p.Express && !f.ecp) {
		return polling.TargetInfo{}, false
	}
	f.active = true
	f.stats.Activations++
	info := p.Info
	if info.NFCID1 == nil {
		info = DefaultInfo
	}
	return info.Clone(), true
}

// Exchange sends an APDU to the phone in its ISO-DEP session and appends the
// response to dst. It returns ErrGone when no session is open, or when the
// phone leaves the field at this command (see LeaveAt).
func (f *Field) Exchange(dst, apdu []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on || f.phone == nil || !f.active {
		return dst, ErrGone
	}
	hit := f.leave != nil && !f.leave.fired && f.leave.match(apdu)
	if hit {
		f.leave.fired = true
		if f.leave.before {
			f.dropLocked()
			return dst, ErrGone
		}
	}
	out := f.phone.Card.ProcessAPDU(dst, apdu)
	if hit {
		f.dropLocked()
		return dst, ErrGone
	}
	f.stats.Exchanges++
	return out, nil
}

// Present reports whether the phone still answers in an open session (a
// presence check).
func (f *Field) Present() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on && f.phone != nil && f.active
}

// Deactivate ends the ISO-DEP session (DESELECT or a release by the reader);
// the phone's card is reset, and it answers the next activation.
func (f *Field) Deactivate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active && f.phone != nil {
		f.resetLocked()
	}
	f.active = false
}

// LeaveAt makes the phone leave the field at the next exchange whose command
// satisfies match: before the card sees the command, or after it has
// processed it and before the answer goes out. The reader sees the phone
// vanish in the middle of that exchange.
func (f *Field) LeaveAt(match func(cmd []byte) bool, before bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leave = &leaveRule{match: match, before: before}
}

// Left reports whether the phone left at the command armed by LeaveAt, and
// disarms it.
func (f *Field) Left() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fired := f.leave != nil && f.leave.fired
	f.leave = nil
	return fired
}

// Stats returns what the field saw so far.
func (f *Field) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// INS returns a LeaveAt match function for commands with instruction byte
// ins (the second byte of the APDU).
func INS(ins byte) func(cmd []byte) bool {
	return func(cmd []byte) bool { return len(cmd) >= 2 && cmd[1] == ins }
}

// EqualInfo reports whether two target descriptions are the same; tests of
// the simulated controllers compare what the driver reports with what the
// phone answered.
func EqualInfo(a, b polling.TargetInfo) bool {
	return a.SENSRes == b.SENSRes && a.SELRes == b.SELRes && slices.Equal(a.NFCID1, b.NFCID1) && slices.Equal(a.ATS, b.ATS)
}
