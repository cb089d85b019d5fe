package pn532

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/polling"
)

// diagnosePresence is the Diagnose test "attention request or ISO/IEC
// 14443-4 card presence detection" (UM0701-02 §7.2.1 NumTst 06; libnfc
// pn53x.c pn53x_Diagnose06): the answer's status is 00 while the card
// answers and 01 (timeout) once it has gone.
const diagnosePresence = 0x06

// Target is a phone (an ISO/IEC 14443-4 type A target) the PN532 activated.
// It is a transport.Transceiver: every APDU goes through InDataExchange,
// chained with the MI bit when it is longer than one command carries
// (UM0701-02 §7.4.5), and so is every answer. It implements polling.Target.
//
// An exchange with a target that left the field fails with a *StatusError
// that matches transport.ErrCardRemoved.
type Target struct {
	d        *Device
	tg       byte
	info     polling.TargetInfo
	released bool
	gone     bool
}

var _ polling.Target = (*Target)(nil)

// Info describes the target as InListPassiveTarget reported it.
func (t *Target) Info() polling.TargetInfo { return t.info.Clone() }

// Transceive sends one command APDU with InDataExchange and appends the
// response APDU to dst.
func (t *Target) Transceive(ctx context.Context, dst, command []byte) ([]byte, error) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := t.usable(); err != nil {
		return dst, err
	}
	if len(command) == 0 {
		return dst, fmt.Errorf("pn532: empty command APDU: %w", transport.ErrProtocol)
	}
	// Send all but the last chunk with MI set: the PN532 chains them to the
	// target (ISO/IEC 14443-4 chaining) and answers each with a bare status.
	for len(command) > MaxExchangeData {
		if _, err := t.exchange(ctx, tgMI, command[:MaxExchangeData]); err != nil {
			return dst, err
		}
		command = command[MaxExchangeData:]
	}
	start := len(dst)
	more, err := t.exchange(ctx, 0, command)
	if err != nil {
		return dst[:start], err
	}
	dst = append(dst, d.lastIn...)
	// An answer longer than one response frame comes in parts, each with
	// MI set in its status; an InDataExchange without data asks for the
	// next (libnfc pn53x.c, pn53x_transceive).
	for more {
		if more, err = t.exchange(ctx, 0, nil); err != nil {
			return dst[:start], err
		}
		if len(dst)-start+len(d.lastIn) > transport.MaxResponseData+2 {
			return dst[:start], fmt.Errorf("pn532: response longer than %d bytes: %w", transport.MaxResponseData+2, transport.ErrProtocol)
		}
		dst = append(dst, d.lastIn...)
	}
	if len(dst)-start < 2 {
		return dst[:start], fmt.Errorf("pn532: response of %d bytes, shorter than a status word: %w", len(dst)-start, transport.ErrProtocol)
	}
	return dst, nil
}

// exchange runs one InDataExchange with data and the Tg flags; d.lastIn
// then holds the data received. It reports whether the status asks for
// more. The caller holds d.mu.
func (t *Target) exchange(ctx context.Context, flags byte, data []byte) (more bool, err error) {
	d := t.d
	cmd := append(append(d.cmd[:0], CmdInDataExchange, t.tg|flags), data...)
	resp, err := d.exec(ctx, d.cfg.exchange, cmd...)
	if err != nil {
		return false, err
	}
	if len(resp) < 1 {
		return false, &ProtocolError{Command: CmdInDataExchange, Err: errors.New("no status byte")}
	}
	if s := Status(resp[0] & statusCode); s != StatusOK {
		serr := &StatusError{Command: CmdInDataExchange, Status: s, exchange: true}
		if s.lostTarget() {
			t.gone = true
		}
		return false, serr
	}
	if resp[0]&statusNAD != 0 {
		return false, &ProtocolError{Command: CmdInDataExchange, Err: errors.New("NAD in the answer, none was sent")}
	}
	if flags&tgMI != 0 && len(resp) > 1 {
		return false, &ProtocolError{Command: CmdInDataExchange, Err: errors.New("data in the answer to a chained part")}
	}
	d.lastIn = resp[1:]
	return resp[0]&statusMI != 0, nil
}

func (t *Target) usable() error {
	if t.released {
		return ErrReleased
	}
	if t.gone {
		return fmt.Errorf("pn532: target %d stopped answering: %w", t.tg, transport.ErrCardRemoved)
	}
	return nil
}

// Present checks whether the target still answers, with the Diagnose
// presence test. A target that failed an exchange is not present.
func (t *Target) Present(ctx context.Context) (bool, error) {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.released || t.gone {
		return false, nil
	}
	// libnfc tries twice when the answer is an error other than a timeout:
	// a card at the edge of the field may garble one answer.
	for range 2 {
		resp, err := d.exec(ctx, d.cfg.timeout, CmdDiagnose, diagnosePresence)
		if err != nil {
			return false, err
		}
		if len(resp) != 1 {
			return false, &ProtocolError{Command: CmdDiagnose, Err: fmt.Errorf("presence answer of %d bytes", len(resp))}
		}
		switch Status(resp[0] & statusCode) {
		case StatusOK:
			return true, nil
		case StatusTimeout:
			t.gone = true
			return false, nil
		}
	}
	t.gone = true
	return false, nil
}

// Release releases the target (InRelease) and switches the field off, so
// that the phone resets and the next round starts afresh. Releasing twice
// is harmless.
func (t *Target) Release(ctx context.Context) error {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.released {
		return nil
	}
	t.released = true
	if d.target == t {
		d.target = nil
	}
	_, err := d.exec(ctx, d.cfg.timeout, CmdInRelease, t.tg)
	if _, ferr := d.exec(ctx, d.cfg.timeout, CmdRFConfiguration, CfgField, FieldOff); err == nil {
		err = ferr
	}
	return err
}
