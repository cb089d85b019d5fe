package transaction

import (
	"fmt"

	"github.com/opencarkey/sdk/transport"
)

// The step-up phase (Aliro 1.0 8.4) follows a standard transaction: the
// reader selects the step-up applet A000000909ACCE5502 when the device's
// signaling bitmap asks it to (AliroStepUpSelect), sends the ENVELOPE
// commands that carry the document request (package mdoc), and ends the
// transaction with an EXCHANGE whose plaintext is an expedited one (reader
// status 97, mailbox, notify, update_doc), protected not by the expedited
// channel but by the step-up channel: AES-256-GCM under SKReader and
// SKDevice, the keys HKDF derives from StepUpSK, with the message counters
// continuing those of the ENVELOPE messages (I [NXPAL] aliro-actuator
// reader.py handle_exchange with ReaderState.STEPUP and the CSA
// certification tool's NFC_RDR_STEPUP_* tests: standard phase, [SELECT
// step-up], ENVELOPE, then EXCHANGE with the reader status). The reader
// therefore sends its final status after the step-up, not before it, and
// that EXCHANGE is what authenticates the end of the transaction.
//
// Package mdoc runs the ENVELOPE messages and owns the channel's counters;
// these methods take the channel through AliroStepUpChannel, which
// mdoc.Device (device side) and mdoc.RequestReader (reader side) satisfy.

// AliroStepUpChannel is the secure channel of an Aliro step-up phase: each
// call protects or opens the next message of its side, continuing the
// counters of the ENVELOPE messages. A message that does not open must
// return an error and end the channel.
type AliroStepUpChannel interface {
	// SealMessage appends the next protected message of this side.
	SealMessage(dst, plaintext []byte) ([]byte, error)
	// OpenMessage appends the plaintext of the peer's next message.
	OpenMessage(dst, ciphertext []byte) ([]byte, error)
}

// StepUpExchange returns an EXCHANGE command of the step-up phase (CLA 80,
// INS C9, Le 00) carrying x under ch, after a standard transaction and its
// step-up ENVELOPE. A command with the reader status (x.HasStatus) is the
// last one of the transaction.
func (s *AliroReaderSession) StepUpExchange(ch AliroStepUpChannel, x *AliroExchange) (transport.Command, error) {
	if s.stage != aliroStStandard {
		return transport.Command{}, fmt.Errorf("%w: step-up EXCHANGE outside a standard transaction or after the reader status", ErrOutOfSequence)
	}
	if ch == nil {
		return transport.Command{}, fmt.Errorf("%w: step-up EXCHANGE without the step-up channel", ErrOutOfSequence)
	}
	plain, err := x.append(s.ops[:0])
	if err != nil {
		return transport.Command{}, err
	}
	data, err := ch.SealMessage(s.cmd[:0], plain)
	if err != nil {
		return transport.Command{}, s.fail(fmt.Errorf("%w: step-up channel: %w", ErrChannel, err))
	}
	if x.HasStatus {
		s.stage = aliroStEnded
	}
	s.stepUp = true
	return transport.Command{CLA: claDK, INS: insExchange, Data: data, Ne: responseNe}, nil
}

// ReadStepUpExchange opens the response to StepUpExchange under ch and
// returns the read results, as ReadExchange does for the expedited
// channel: a device error status returns an *AliroExchangeError, a
// response that does not authenticate ErrChannel, and either ends the
// transaction.
func (s *AliroReaderSession) ReadStepUpExchange(ch AliroStepUpChannel, r transport.Response) (AliroReadResults, error) {
	if !s.stepUp || s.stage != aliroStStandard && s.stage != aliroStEnded || ch == nil {
		return AliroReadResults{}, fmt.Errorf("%w: step-up EXCHANGE response without step-up EXCHANGE", ErrOutOfSequence)
	}
	if err := responseError("EXCHANGE", &r); err != nil {
		return AliroReadResults{}, s.fail(err)
	}
	plain, err := ch.OpenMessage(s.plain[:0], r.Data)
	if err != nil {
		return AliroReadResults{}, s.fail(fmt.Errorf("%w: step-up EXCHANGE response: %w", ErrChannel, err))
	}
	reads, status, ok := parseAliroExchangeResponse(plain)
	if !ok {
		return AliroReadResults{}, s.fail(malformed("Aliro step-up EXCHANGE response"))
	}
	if status != 0 {
		return AliroReadResults{}, s.fail(&AliroExchangeError{Code: status})
	}
	if s.stage == aliroStEnded {
		s.ch.Close()
	}
	return reads, nil
}

// OpenStepUpExchange opens an EXCHANGE command of the step-up phase under
// ch, after a standard transaction, and returns its content (aliasing the
// session until the next call). A command that does not authenticate or
// parse ends the transaction (ErrChannel, ErrMalformed). The device answers
// with SealStepUpExchange or SealStepUpExchangeError.
func (s *AliroEndpointSession) OpenStepUpExchange(ch AliroStepUpChannel, cmd *transport.Command) (*AliroExchange, error) {
	if s.stage != aliroStStandard || ch == nil {
		return nil, s.fail(fmt.Errorf("%w: step-up EXCHANGE outside a standard transaction", ErrOutOfSequence))
	}
	if cmd.INS != insExchange {
		return nil, s.fail(fmt.Errorf("%w: INS %02X is not EXCHANGE", ErrWrongParameters, cmd.INS))
	}
	if err := checkAliroHeader(cmd); err != nil {
		return nil, s.fail(err)
	}
	plain, err := ch.OpenMessage(s.plain[:0], cmd.Data)
	if err != nil {
		return nil, s.fail(fmt.Errorf("%w: step-up EXCHANGE: %w", ErrChannel, err))
	}
	if !parseAliroExchange(&s.exch, &s.ops, plain) {
		return nil, s.fail(malformed("Aliro step-up EXCHANGE command"))
	}
	s.endAfter, s.stepUp = s.exch.HasStatus, true
	return &s.exch, nil
}

// SealStepUpExchange answers the last step-up EXCHANGE with success, as
// SealExchange does, under ch. After the EXCHANGE that carried the reader
// status the transaction ends.
func (s *AliroEndpointSession) SealStepUpExchange(ch AliroStepUpChannel, dst, reads []byte) ([]byte, error) {
	if !s.stepUp || s.stage != aliroStStandard || ch == nil {
		return dst, fmt.Errorf("%w: no step-up EXCHANGE to answer", ErrOutOfSequence)
	}
	if len(reads)+aliroExchangeTrailer > MaxAliroExchangeData {
		return dst, fmt.Errorf("%w: %d bytes of read results exceed %d", ErrInvalidOp, len(reads), MaxAliroExchangeData-aliroExchangeTrailer)
	}
	if !aliroReadBlocks(reads) {
		return dst, fmt.Errorf("%w: read results are not length-prefixed blocks", ErrInvalidOp)
	}
	return s.sealStepUp(ch, dst, reads, 0)
}

// SealStepUpExchangeError answers the last step-up EXCHANGE with the error
// code alone, as SealExchangeError does, under ch, and ends the
// transaction.
func (s *AliroEndpointSession) SealStepUpExchangeError(ch AliroStepUpChannel, dst []byte, code uint16) ([]byte, error) {
	if !s.stepUp || s.stage != aliroStStandard || ch == nil {
		return dst, fmt.Errorf("%w: no step-up EXCHANGE to answer", ErrOutOfSequence)
	}
	if code == 0 {
		return dst, fmt.Errorf("%w: error code 0000 means success", ErrInvalidOp)
	}
	s.endAfter = true
	return s.sealStepUp(ch, dst, nil, code)
}

func (s *AliroEndpointSession) sealStepUp(ch AliroStepUpChannel, dst, reads []byte, code uint16) ([]byte, error) {
	p := append(s.plain[:0], reads...)
	p = append(p, 0, 2, byte(code>>8), byte(code))
	out, err := ch.SealMessage(dst, p)
	if err != nil {
		return dst, s.fail(fmt.Errorf("%w: step-up channel: %w", ErrChannel, err))
	}
	if s.endAfter {
		s.wipe()
		s.stage = aliroStEnded
	}
	return out, nil
}
