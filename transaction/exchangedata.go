package transaction

import (
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/transport"
)

// EXCHANGE plaintexts outside the project's mailbox encoding (exchange.go).
// Home Key's attestation EXCHANGE carries 00 8E 22 C0 20 <secret> (docs/protocol.md
// §4.8; package mdoc builds and parses it): the endpoint reads the plaintext
// with OpenExchangeData, the vehicle sends it with AttestationExchange. The
// secure channel is the same.

// OpenExchangeData verifies and decrypts an EXCHANGE command and returns its
// plaintext, which aliases the session and is valid until the next call.
// EXCHANGE needs a standard transaction, or a fast one in which this
// endpoint sent a cryptogram. A command that does not verify returns
// ErrChannel and ends the transaction. The device parses the plaintext
// itself or with ParseExchange.
func (s *EndpointSession) OpenExchangeData(cmd *transport.Command) ([]byte, error) {
	if s.stage != stageStandard && !(s.stage == stageAuth0 && s.fastKeys) {
		return nil, s.fail(fmt.Errorf("%w: EXCHANGE before authentication", ErrOutOfSequence))
	}
	if cmd.CLA != claSecure {
		return nil, s.fail(dkey.SWClassNotSupported)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return nil, s.fail(fmt.Errorf("%w: EXCHANGE P1 %02X P2 %02X", ErrWrongParameters, cmd.P1, cmd.P2))
	}
	if !s.smReady {
		if err := s.sm.Init(&s.smKeys, securemsg.CommandFirst); err != nil {
			return nil, s.fail(fmt.Errorf("transaction: secure channel: %w", err))
		}
		s.smReady = true
	}
	plain, err := s.sm.UnprotectCommand(s.plain[:0], cmd.Data)
	if err != nil {
		return nil, s.fail(fmt.Errorf("%w: EXCHANGE: %w", ErrChannel, err))
	}
	if s.fastKeys {
		s.fastProof = true
	}
	return plain, nil
}

// ParseExchange parses an EXCHANGE plaintext in the project's mailbox
// encoding (exchange.go) into operations, which alias the session and
// plaintext and are valid until the next call. A plaintext that does not
// parse returns an error wrapping ErrInvalidOp; the channel stays up, and
// the device answers an error status word without R-MAC.
func (s *EndpointSession) ParseExchange(plaintext []byte) ([]MailboxOp, error) {
	n, err := parseOps(&s.ops, plaintext)
	if err != nil {
		return nil, err
	}
	return s.ops[:n], nil
}

// AttestationExchange returns the EXCHANGE command carrying plaintext, in
// the Home Key profile only: the attestation EXCHANGE (package mdoc's
// AppendHomeKeyExchange) that hands the device the secret of the attestation
// flow (docs/protocol.md §4.8). Unlike Exchange it may follow ReadAuth1 before
// VerifyEndpoint: the reader runs the flow because it does not know the key
// of the slot ReadAuth1 returned, and learns it from the attested document,
// then verifies the AUTH1 signature with it. The secret is fresh and protects
// nothing but the attestation exchange, which carries a signed document; the
// device accepts it only after the vehicle's own AUTH1 signature verified.
// ReadExchange reads the response.
func (s *VehicleSession) AttestationExchange(plaintext []byte) (transport.Command, error) {
	if s.v.profile != dkey.HomeKey {
		return transport.Command{}, fmt.Errorf("%w: attestation EXCHANGE in the %v profile", ErrOutOfSequence, s.v.profile)
	}
	if !s.attestable() {
		return transport.Command{}, fmt.Errorf("%w: attestation EXCHANGE before AUTH1", ErrOutOfSequence)
	}
	if len(plaintext) == 0 || len(plaintext) > MaxExchangeData {
		return transport.Command{}, fmt.Errorf("%w: attestation EXCHANGE of %d bytes", ErrInvalidOp, len(plaintext))
	}
	return s.protectExchange(plaintext)
}

// attestable reports whether the session may send the attestation EXCHANGE:
// a standard transaction whose AUTH1 response opened, the endpoint's
// signature verified or not yet.
func (s *VehicleSession) attestable() bool {
	return s.smReady && (s.stage == stageAuth1 || s.stage == stageStandard)
}

// protectExchange returns the EXCHANGE command carrying plaintext under
// secure messaging.
func (s *VehicleSession) protectExchange(plaintext []byte) (transport.Command, error) {
	if !s.smReady {
		if err := s.sm.Init(&s.smKeys, securemsg.CommandFirst); err != nil {
			return transport.Command{}, s.fail(fmt.Errorf("transaction: secure channel: %w", err))
		}
		s.smReady = true
	}
	data, err := s.sm.ProtectCommand(s.cmd[:0], plaintext)
	if err != nil {
		return transport.Command{}, s.fail(fmt.Errorf("%w: %w", ErrChannel, err))
	}
	return transport.Command{CLA: claSecure, INS: insExchange, Data: data, Ne: responseNe}, nil
}
