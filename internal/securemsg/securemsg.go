package securemsg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/internal/cmac"
)

const (
	// KeySize is the size of each of Kenc, Kmac and Krmac (AES-128).
	KeySize = 16
	// MACSize is the size of the truncated C-MAC and R-MAC on the wire.
	MACSize = 8
	// MaxMessageSize is the largest protected data field: 4095 blocks of
	// ciphertext and the MAC, within the 65535 bytes of an extended Lc.
	MaxMessageSize = 4095*aes.BlockSize + MACSize
	// MaxPlaintextSize is the largest plaintext that protects to at most
	// MaxMessageSize bytes (padding always adds at least one byte).
	MaxPlaintextSize = 4095*aes.BlockSize - 1
)

var (
	// ErrAuthentication is the one error for a protected message that does
	// not verify, whatever the reason. It kills the channel.
	ErrAuthentication = errors.New("securemsg: message authentication failed")
	// ErrBroken is returned by every call on a channel that an earlier
	// authentication failure killed.
	ErrBroken = errors.New("securemsg: channel is broken by an earlier authentication failure")
	// ErrClosed is returned by every call on a channel that is closed or was
	// never initialized.
	ErrClosed = errors.New("securemsg: channel is closed or not initialized")
	// ErrCounterExhausted is returned for a command after the one at ctr FF.
	ErrCounterExhausted = errors.New("securemsg: command counter exhausted after FF")
	// ErrNoCommand is returned for a response when there is no command to
	// answer: none was sent yet (with CommandFirst), or it was answered
	// already.
	ErrNoCommand = errors.New("securemsg: no unanswered command for this response")
	// ErrTooLarge is returned for a plaintext longer than MaxPlaintextSize.
	ErrTooLarge = errors.New("securemsg: plaintext too large")
)

// Keys are the three session keys of the channel: from SPAKE2+ for pairing
// (SystemKeys, §3.4), from the standard or fast transaction key derivation
// otherwise (§4.4, §4.5).
type Keys struct {
	Enc, MAC, RMAC [KeySize]byte
}

// Flow says how a channel starts; see the package documentation.
type Flow uint8

const (
	// CommandFirst starts with a command at ctr 01: the pairing channel and
	// the channel after a fast transaction.
	CommandFirst Flow = iota + 1
	// InitialResponse allows one response at ctr 00 with the zero chain
	// before the first command: the AUTH1 response of a standard transaction.
	InitialResponse
)

// String returns the name of the flow.
func (f Flow) String() string {
	switch f {
	case CommandFirst:
		return "CommandFirst"
	case InitialResponse:
		return "InitialResponse"
	}
	return fmt.Sprintf("Flow(%d)", uint8(f))
}

// ProtectedSize returns the size of the protected data field for a plaintext
// of n bytes: the MAC alone for n = 0, otherwise the padded ciphertext and
// the MAC.
func ProtectedSize(n int) int {
	if n <= 0 {
		return MACSize
	}
	return (n/aes.BlockSize+1)*aes.BlockSize + MACSize
}

// Sender is the command sender's end of a channel (the vehicle). The zero
// value is closed; use [NewSender] or [Sender.Init].
type Sender struct{ ch channel }

// NewSender returns a Sender keyed with keys, starting as flow says.
func NewSender(keys *Keys, flow Flow) (*Sender, error) {
	s := new(Sender)
	if err := s.Init(keys, flow); err != nil {
		return nil, err
	}
	return s, nil
}

// Init (re)starts the channel with keys and flow, discarding any previous
// state, broken or not. It allocates the AES key schedules; see the package
// documentation.
func (s *Sender) Init(keys *Keys, flow Flow) error { return s.ch.init(keys, flow) }

// ProtectCommand increments the counter, protects plaintext as the data
// field of a command and appends the result (ciphertext ‖ C-MAC) to dst.
func (s *Sender) ProtectCommand(dst, plaintext []byte) ([]byte, error) {
	return s.ch.protectCommand(dst, plaintext)
}

// UnprotectResponse verifies the protected data field of the response to the
// last command (or the initial response) and appends its plaintext to dst.
// A verification failure returns [ErrAuthentication] and kills the channel.
func (s *Sender) UnprotectResponse(dst, msg []byte) ([]byte, error) {
	return s.ch.unprotectResponse(dst, msg)
}

// Close zeroizes the chain and scratch state and drops the ciphers. Later
// calls return [ErrClosed] until Init.
func (s *Sender) Close() { s.ch.wipe(closed) }

// Receiver is the command receiver's end of a channel (the endpoint applet).
// The zero value is closed; use [NewReceiver] or [Receiver.Init].
type Receiver struct{ ch channel }

// NewReceiver returns a Receiver keyed with keys, starting as flow says.
func NewReceiver(keys *Keys, flow Flow) (*Receiver, error) {
	r := new(Receiver)
	if err := r.Init(keys, flow); err != nil {
		return nil, err
	}
	return r, nil
}

// Init (re)starts the channel with keys and flow, discarding any previous
// state, broken or not. It allocates the AES key schedules; see the package
// documentation.
func (r *Receiver) Init(keys *Keys, flow Flow) error { return r.ch.init(keys, flow) }

// UnprotectCommand increments the counter, verifies the protected data field
// of a command and appends its plaintext to dst. A verification failure
// returns [ErrAuthentication] and kills the channel.
func (r *Receiver) UnprotectCommand(dst, msg []byte) ([]byte, error) {
	return r.ch.unprotectCommand(dst, msg)
}

// ProtectResponse protects plaintext as the data field of the response to
// the last command (or as the initial response) and appends the result
// (ciphertext ‖ R-MAC) to dst.
func (r *Receiver) ProtectResponse(dst, plaintext []byte) ([]byte, error) {
	return r.ch.protectResponse(dst, plaintext)
}

// Close zeroizes the chain and scratch state and drops the ciphers. Later
// calls return [ErrClosed] until Init.
func (r *Receiver) Close() { r.ch.wipe(closed) }

type status uint8

const (
	closed status = iota // zero value: closed or never initialized
	open
	broken
)

// cbcMode is the CBC BlockMode of crypto/cipher, whose IV can be changed
// without allocating (crypto/tls relies on the same method).
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// Padding indicators of the ICV input (docs/protocol.md §4.7): the first byte of
// the block that AES-ECB(Kenc, ·) turns into the ICV.
const (
	commandPCB  = 0x00
	responsePCB = 0x80
)

// channel is the state both roles share.
type channel struct {
	status  status
	enc     cipher.Block
	cbcEnc  cbcMode
	cbcDec  cbcMode
	mac     *cmac.CMAC
	rmac    *cmac.CMAC
	chain   [cmac.Size]byte
	scratch [cmac.Size]byte // ICV and computed MACs; on the heap with the channel, as cipher.Block needs
	// ctr is the counter of the last command, 0 before the first.
	ctr byte
	// exhausted is set once the command at ctr FF has been sent or received.
	exhausted bool
	// answerable is set while a response may be sent or received: after a
	// command, or at the start of an InitialResponse flow.
	answerable bool
}

func (c *channel) init(keys *Keys, flow Flow) error {
	c.wipe(closed)
	if keys == nil {
		return errors.New("securemsg: nil keys")
	}
	if flow != CommandFirst && flow != InitialResponse {
		return fmt.Errorf("securemsg: unknown flow %v", flow)
	}
	enc, err := aes.NewCipher(keys.Enc[:])
	if err != nil {
		return fmt.Errorf("securemsg: %w", err)
	}
	var zeroIV [aes.BlockSize]byte
	cbcEnc, ok1 := cipher.NewCBCEncrypter(enc, zeroIV[:]).(cbcMode)
	cbcDec, ok2 := cipher.NewCBCDecrypter(enc, zeroIV[:]).(cbcMode)
	if !ok1 || !ok2 {
		return errors.New("securemsg: crypto/cipher CBC mode cannot change its IV")
	}
	mac, err := cmac.New(keys.MAC[:])
	if err != nil {
		return fmt.Errorf("securemsg: %w", err)
	}
	rmac, err := cmac.New(keys.RMAC[:])
	if err != nil {
		mac.Close()
		return fmt.Errorf("securemsg: %w", err)
	}
	*c = channel{
		status:     open,
		enc:        enc,
		cbcEnc:     cbcEnc,
		cbcDec:     cbcDec,
		mac:        mac,
		rmac:       rmac,
		answerable: flow == InitialResponse,
	}
	return nil
}

// wipe zeroizes the secrets and leaves the channel in state s.
func (c *channel) wipe(s status) {
	if c.mac != nil {
		c.mac.Close()
	}
	if c.rmac != nil {
		c.rmac.Close()
	}
	clear(c.chain[:])
	clear(c.scratch[:])
	*c = channel{status: s}
}

// usable returns the error of a channel that is not open.
func (c *channel) usable() error {
	switch c.status {
	case open:
		return nil
	case broken:
		return ErrBroken
	}
	return ErrClosed
}

// fail kills the channel after an authentication failure.
func (c *channel) fail() error {
	c.wipe(broken)
	return ErrAuthentication
}

// setIV sets the CBC IV of mode to AES-ECB(Kenc, pcb ‖ 00… ‖ ctr).
func (c *channel) setIV(mode cbcMode, pcb, ctr byte) {
	clear(c.scratch[:])
	c.scratch[0] = pcb
	c.scratch[cmac.Size-1] = ctr
	c.enc.Encrypt(c.scratch[:], c.scratch[:])
	mode.SetIV(c.scratch[:])
	clear(c.scratch[:])
}

// protect appends pad(plaintext) encrypted under the ICV of (pcb, ctr),
// then the first MACSize bytes of the CMAC of chain ‖ ciphertext under m.
// It leaves the full CMAC in c.scratch.
func (c *channel) protect(dst, plaintext []byte, pcb byte, m *cmac.CMAC) []byte {
	n := ProtectedSize(len(plaintext)) - MACSize
	ret, out := sliceForAppend(dst, n+MACSize)
	if n > 0 {
		// ISO/IEC 9797-1 method 2. copy is a memmove, so plaintext may
		// overlap out in any way.
		copy(out, plaintext)
		out[len(plaintext)] = 0x80
		clear(out[len(plaintext)+1 : n])
		c.setIV(c.cbcEnc, pcb, c.ctr)
		c.cbcEnc.CryptBlocks(out[:n], out[:n])
	}
	m.Sum2(&c.scratch, c.chain[:], out[:n])
	copy(out[n:], c.scratch[:MACSize])
	return ret
}

// verify checks msg = ciphertext ‖ MAC against the CMAC under m of
// chain ‖ ciphertext, in constant time, and returns the ciphertext. It
// leaves the full CMAC in c.scratch.
func (c *channel) verify(msg []byte, m *cmac.CMAC) ([]byte, bool) {
	if len(msg) < MACSize || len(msg) > MaxMessageSize {
		return nil, false
	}
	ct, tag := msg[:len(msg)-MACSize], msg[len(msg)-MACSize:]
	m.Sum2(&c.scratch, c.chain[:], ct)
	ok := subtle.ConstantTimeCompare(c.scratch[:MACSize], tag) == 1
	// A ciphertext that is not whole blocks cannot come from a conforming
	// peer, even under a good MAC.
	return ct, ok && len(ct)%aes.BlockSize == 0
}

// decrypt appends the plaintext of ct, decrypted under the ICV of
// (pcb, ctr) with the padding removed, to dst. ct has been verified.
func (c *channel) decrypt(dst, ct []byte, pcb byte) ([]byte, bool) {
	if len(ct) == 0 {
		return dst, true
	}
	ret, out := sliceForAppend(dst, len(ct))
	// Copy first, then decrypt in place: exact overlap is allowed by
	// CryptBlocks, and copy tolerates any overlap of ct and dst.
	copy(out, ct)
	c.setIV(c.cbcDec, pcb, c.ctr)
	c.cbcDec.CryptBlocks(out, out)
	// Remove ISO/IEC 9797-1 method 2 padding: trailing 00s, then 80. The
	// MAC has been verified, so this reveals nothing to an attacker.
	i := len(out) - 1
	for i > 0 && out[i] == 0 {
		i--
	}
	if out[i] != 0x80 || len(out)-i > aes.BlockSize {
		clear(out)
		return nil, false
	}
	clear(out[i:])
	return ret[:len(dst)+i], true
}

func (c *channel) protectCommand(dst, plaintext []byte) ([]byte, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if len(plaintext) > MaxPlaintextSize {
		return nil, ErrTooLarge
	}
	if c.exhausted {
		return nil, ErrCounterExhausted
	}
	c.ctr++
	c.exhausted = c.ctr == 0xFF
	out := c.protect(dst, plaintext, commandPCB, c.mac)
	c.chain = c.scratch // the full C-MAC chains into the next command
	clear(c.scratch[:])
	c.answerable = true
	return out, nil
}

func (c *channel) unprotectCommand(dst, msg []byte) ([]byte, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.exhausted {
		return nil, ErrCounterExhausted
	}
	ct, ok := c.verify(msg, c.mac)
	if !ok {
		return nil, c.fail()
	}
	c.ctr++
	c.exhausted = c.ctr == 0xFF
	c.chain = c.scratch
	clear(c.scratch[:])
	c.answerable = true
	out, ok := c.decrypt(dst, ct, commandPCB)
	if !ok {
		return nil, c.fail()
	}
	return out, nil
}

func (c *channel) protectResponse(dst, plaintext []byte) ([]byte, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if !c.answerable {
		return nil, ErrNoCommand
	}
	if len(plaintext) > MaxPlaintextSize {
		return nil, ErrTooLarge
	}
	out := c.protect(dst, plaintext, responsePCB, c.rmac)
	clear(c.scratch[:]) // the R-MAC does not chain
	c.answerable = false
	return out, nil
}

func (c *channel) unprotectResponse(dst, msg []byte) ([]byte, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if !c.answerable {
		return nil, ErrNoCommand
	}
	ct, ok := c.verify(msg, c.rmac)
	clear(c.scratch[:])
	if !ok {
		return nil, c.fail()
	}
	c.answerable = false
	out, ok := c.decrypt(dst, ct, responsePCB)
	if !ok {
		return nil, c.fail()
	}
	return out, nil
}

// sliceForAppend extends in by n bytes. head is the extended slice and tail
// its last n bytes (the crypto/cipher idiom).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return head, tail
}
