// Package gcmchannel implements the AES-GCM secure channel with one key and
// one message counter per direction that ISO/IEC 18013-5 §9.1.1.5 defines
// for its session encryption and that CSA Aliro 1.0 reuses for the
// expedited phase (Aliro 1.0 §8.3.1.6 to §8.3.1.9: AUTH1 and EXCHANGE) and
// the step-up phase (§8.4.3).
//
// Its users: package transaction for Aliro's expedited phase (AUTH1 and
// EXCHANGE, both roles), and package mdoc for the session encryption of
// the ISO/IEC 18013-5-style exchange that follows a transaction, the Home
// Key attestation flow (16-byte keys) and the Aliro step-up phase (32-byte
// keys), with the EXCHANGE that ends it.
//
// # Construction
//
//   - Keys: SKReader protects what the reader sends, SKDevice what the
//     device sends; 16 bytes (AES-128) or 32 (AES-256, Aliro).
//   - IV (12 bytes): an 8-byte big-endian direction identifier, 0 for the
//     reader and 1 for the device, then the 4-byte big-endian counter of
//     that direction.
//   - Counters start at 1 and grow by one per message in their direction,
//     whichever side sends; the two directions are independent.
//   - Ciphertext is the GCM encryption followed by the 16-byte tag; there is
//     no additional authenticated data.
//
// A [Channel] is one end: [ReaderEnd] seals with SKReader and opens with
// SKDevice, [DeviceEnd] the reverse. A message that does not authenticate
// returns [ErrAuthentication] and breaks the channel for good, as Aliro's
// failure process and 18013-5's session termination require.
//
// # Allocation
//
// Seal and Open allocate nothing when dst has room. [Channel.Init] costs the
// AES key schedules and GCM state of both directions: crypto/aes offers no
// way to expand a key into existing memory (see also internal/cmac).
package gcmchannel

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// TagSize is the size of the GCM authentication tag that ends every
// ciphertext.
const TagSize = 16

// Direction identifiers, the first 8 bytes of the IV.
const (
	dirReader = 0
	dirDevice = 1
)

// Errors of a channel.
var (
	// ErrAuthentication is the one error of a message that does not
	// authenticate, whatever the reason; the channel is broken after it.
	ErrAuthentication = errors.New("gcmchannel: message authentication failed")
	// ErrBroken is returned by every call on a channel broken by an earlier
	// authentication failure.
	ErrBroken = errors.New("gcmchannel: channel broken by an earlier authentication failure")
	// ErrClosed is returned by every call on a channel that is closed or was
	// never initialized.
	ErrClosed = errors.New("gcmchannel: channel closed or not initialized")
	// ErrCounterExhausted is returned when a direction's counter has passed
	// the channel's limit.
	ErrCounterExhausted = errors.New("gcmchannel: message counter exhausted")
	// ErrKeySize reports keys that are not both 16 or both 32 bytes long.
	ErrKeySize = errors.New("gcmchannel: keys must be both 16 or both 32 bytes")
)

// Role says which end of the channel a [Channel] is.
type Role uint8

const (
	// ReaderEnd seals with SKReader and opens with SKDevice.
	ReaderEnd Role = iota + 1
	// DeviceEnd seals with SKDevice and opens with SKReader.
	DeviceEnd
)

// String returns the role name.
func (r Role) String() string {
	switch r {
	case ReaderEnd:
		return "ReaderEnd"
	case DeviceEnd:
		return "DeviceEnd"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

type state uint8

const (
	closed state = iota
	ready
	broken
)

// Channel is one end of the channel. The zero value is closed; Init keys it.
// A Channel is not safe for concurrent use.
type Channel struct {
	seal, open       cipher.AEAD
	sealDir, openDir uint64
	sealCtr, openCtr uint32
	last             uint32
	st               state
	iv               [12]byte // scratch: an IV on the stack escapes through the AEAD interface
}

// Init (re)keys c as the end role with SKReader readerKey and SKDevice
// deviceKey, both counters at 1. last is the largest counter a message may
// use: Aliro refuses a message whose counter has reached 0xFFFF (Aliro 1.0
// §8.3.3.5.4), so it passes 0xFFFE. Any previous state of c, broken or not,
// is discarded.
func (c *Channel) Init(role Role, readerKey, deviceKey []byte, last uint32) error {
	c.Close()
	if len(readerKey) != len(deviceKey) || (len(readerKey) != 16 && len(readerKey) != 32) {
		return ErrKeySize
	}
	if role != ReaderEnd && role != DeviceEnd {
		return fmt.Errorf("gcmchannel: unknown role %v", role)
	}
	if last == 0 {
		return errors.New("gcmchannel: counter limit 0 allows no message")
	}
	r, err := newGCM(readerKey)
	if err != nil {
		return err
	}
	d, err := newGCM(deviceKey)
	if err != nil {
		return err
	}
	if role == ReaderEnd {
		c.seal, c.open, c.sealDir, c.openDir = r, d, dirReader, dirDevice
	} else {
		c.seal, c.open, c.sealDir, c.openDir = d, r, dirDevice, dirReader
	}
	c.sealCtr, c.openCtr, c.last, c.st = 1, 1, last, ready
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gcmchannel: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("gcmchannel: %w", err)
	}
	return g, nil
}

func (c *Channel) check(ctr uint32) error {
	switch {
	case c.st == closed:
		return ErrClosed
	case c.st == broken:
		return ErrBroken
	case ctr > c.last:
		return ErrCounterExhausted
	}
	return nil
}

func (c *Channel) setIV(dir uint64, ctr uint32) {
	binary.BigEndian.PutUint64(c.iv[:8], dir)
	binary.BigEndian.PutUint32(c.iv[8:], ctr)
}

// Seal encrypts plaintext as the next message this end sends, appends the
// ciphertext and tag to dst, and advances this end's counter. dst and
// plaintext may overlap exactly (dst[:0] of plaintext) or not at all.
func (c *Channel) Seal(dst, plaintext []byte) ([]byte, error) {
	if err := c.check(c.sealCtr); err != nil {
		return dst, err
	}
	c.setIV(c.sealDir, c.sealCtr)
	out := c.seal.Seal(dst, c.iv[:], plaintext, nil)
	c.sealCtr++
	return out, nil
}

// Open authenticates and decrypts ciphertext (the encryption then the tag)
// as the next message from the other end, appends the plaintext to dst and
// advances the other end's counter. A message that does not authenticate
// returns ErrAuthentication and breaks the channel.
func (c *Channel) Open(dst, ciphertext []byte) ([]byte, error) {
	if err := c.check(c.openCtr); err != nil {
		return dst, err
	}
	if len(ciphertext) < TagSize {
		c.breakChannel()
		return dst, ErrAuthentication
	}
	c.setIV(c.openDir, c.openCtr)
	out, err := c.open.Open(dst, c.iv[:], ciphertext, nil)
	if err != nil {
		c.breakChannel()
		return dst, ErrAuthentication
	}
	c.openCtr++
	return out, nil
}

func (c *Channel) breakChannel() {
	c.seal, c.open = nil, nil
	c.st = broken
}

// Counters returns the counters the next sealed and the next opened message
// will use.
func (c *Channel) Counters() (seal, open uint32) { return c.sealCtr, c.openCtr }

// Ready reports whether the channel is keyed and not broken.
func (c *Channel) Ready() bool { return c.st == ready }

// Close drops the ciphers and resets the counters; later calls return
// ErrClosed until Init. The AES key schedules live inside crypto/aes, which
// offers no way to erase them; dropping the references lets the garbage
// collector reclaim them.
func (c *Channel) Close() { *c = Channel{} }

// String returns "gcmchannel.Channel(redacted)": the channel holds keys.
func (c Channel) String() string { return "gcmchannel.Channel(redacted)" }

// GoString returns the same as String.
func (c Channel) GoString() string { return c.String() }

// Format writes the same as String, whatever the verb.
func (c Channel) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
