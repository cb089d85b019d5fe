package sharing

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// MaxSignedCommandSize bounds the wire form of a signed command.
const MaxSignedCommandSize = MaxKeyCommandSize + 96

// commandLabel separates the signatures of signed commands from every other
// signature a key makes (statements of package attest, AUTH1).
const commandLabel = "opencarkey key command v1"

const signedCommandVersion = 1

// SignedCommand is a key command signed by a key enrolled at the command's
// vehicle: the owner's (a key holding dkey.EntitleManage), or the key the
// command is about. A key service that relays commands to vehicles
// (package keyservice) queues a suspension or a resumption only with one,
// after checking the signer against the vehicle's key inventory: its
// authority does not rest on who holds a TLS connection. Its wire form:
//
//	signed-command = [
//	  1,                               ; format version
//	  bstr .size (1..1088),            ; the key-command (KeyCommand.MarshalBinary)
//	  bstr .size (1..8),               ; the signer's key slot
//	  uint,                            ; signed at, seconds since the epoch
//	  bstr .size 64,                   ; ECDSA P-256 SHA-256, raw r‖s
//	]
//
// The signature is over "opencarkey key command v1" ‖ 00 ‖ the CBOR array
// of the first four elements, so it never verifies as any other statement
// of the key. The command's ID makes each signed command unique: a service
// keeps the IDs it accepted and refuses a replay.
type SignedCommand struct {
	// Command is the signed command.
	Command *KeyCommand
	// SignerSlot is the slot of the key that signed.
	SignerSlot dkey.KeySlot
	// SignedAt is when it was signed, to the second.
	SignedAt time.Time

	tbs []byte
	sig dkey.Signature
	raw []byte
}

// signedCommandEncoding is the wire form.
type signedCommandEncoding struct {
	_         struct{} `cbor:",toarray"`
	Version   uint64
	Command   []byte
	Slot      []byte
	SignedAt  uint64
	Signature []byte
}

// toBeSigned is what the signature covers, after the label.
type toBeSigned struct {
	_        struct{} `cbor:",toarray"`
	Version  uint64
	Command  []byte
	Slot     []byte
	SignedAt uint64
}

func appendCommandTBS(dst []byte, command, slot []byte, at uint64) ([]byte, error) {
	b, err := encMode.Marshal(toBeSigned{Version: signedCommandVersion, Command: command, Slot: slot, SignedAt: at})
	if err != nil {
		return nil, fmt.Errorf("sharing: signed command: %w", err)
	}
	dst = append(dst, commandLabel...)
	dst = append(dst, 0)
	return append(dst, b...), nil
}

// SignCommand returns the wire form of cmd signed by signer, the key in
// slot, at time at (zero means now).
func SignCommand(cmd *KeyCommand, signer crypto.Signer, slot dkey.KeySlot, at time.Time) ([]byte, error) {
	if cmd == nil || signer == nil || slot.IsZero() {
		return nil, errors.New("sharing: SignCommand needs a command, a signer and its slot")
	}
	if at.IsZero() {
		at = time.Now()
	}
	sec, err := seconds(at)
	if err != nil {
		return nil, err
	}
	c, err := cmd.MarshalBinary()
	if err != nil {
		return nil, err
	}
	tbs, err := appendCommandTBS(nil, c, slot.Bytes(), sec)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(tbs)
	der, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sharing: signing the command: %w", err)
	}
	sig, err := dkey.SignatureFromASN1(der)
	if err != nil {
		return nil, fmt.Errorf("sharing: signing the command: %w", err)
	}
	return encMode.Marshal(signedCommandEncoding{
		Version: signedCommandVersion, Command: c, Slot: slot.Bytes(), SignedAt: sec, Signature: sig[:],
	})
}

// ParseSignedCommand parses the wire form of a signed command, strictly:
// any other encoding than SignCommand's, or a command ParseKeyCommand
// refuses, is an error wrapping ErrMalformed. It does not verify the
// signature (Verify does, with the signer's key). The result does not alias
// b.
func ParseSignedCommand(b []byte) (*SignedCommand, error) {
	if len(b) > MaxSignedCommandSize {
		return nil, fmt.Errorf("%w: signed command of %d bytes", ErrMalformed, len(b))
	}
	var e signedCommandEncoding
	if err := decMode.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: signed command: %w", ErrMalformed, err)
	}
	if e.Version != signedCommandVersion {
		return nil, fmt.Errorf("%w: signed command version %d", ErrMalformed, e.Version)
	}
	cmd, err := ParseKeyCommand(e.Command)
	if err != nil {
		return nil, err
	}
	s := &SignedCommand{Command: cmd}
	if s.SignerSlot, err = dkey.NewKeySlot(e.Slot); err != nil {
		return nil, fmt.Errorf("%w: signer slot: %w", ErrMalformed, err)
	}
	if s.SignedAt, err = fromSeconds(e.SignedAt); err != nil {
		return nil, fmt.Errorf("%w: signed at", ErrMalformed)
	}
	if s.sig, err = dkey.ParseSignature(e.Signature); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkCanonical(b, e); err != nil {
		return nil, fmt.Errorf("%w: signed command: %w", ErrMalformed, err)
	}
	if s.tbs, err = appendCommandTBS(nil, e.Command, e.Slot, e.SignedAt); err != nil {
		return nil, err
	}
	s.raw = append([]byte(nil), b...)
	return s, nil
}

// Verify checks the signature with key, the public key of the key in
// SignerSlot. It returns dkey.ErrVerification and nothing more when the
// signature does not verify.
func (s *SignedCommand) Verify(key *dkey.PublicKey) error {
	if key == nil {
		return dkey.ErrVerification
	}
	return key.Verify(s.tbs, &s.sig)
}

// Bytes returns a copy of the wire form the command was parsed from.
func (s *SignedCommand) Bytes() []byte { return append([]byte(nil), s.raw...) }
