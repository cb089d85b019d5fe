package pn532

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/opencarkey/sdk/transport/internal/serialio"
	"github.com/opencarkey/sdk/transport/polling"
)

// Defaults of [Config].
const (
	// DefaultBaud is the HSU speed after power-up (UM0701-02 §6.2.3;
	// libnfc pn532_uart.c PN532_UART_DEFAULT_SPEED).
	DefaultBaud = 115200
	// DefaultTimeout bounds the acknowledgement and the answer of a command.
	DefaultTimeout = time.Second
	// DefaultExchangeTimeout bounds the answer of an APDU exchange, in which
	// a phone may compute signatures and ask for waiting time extensions.
	DefaultExchangeTimeout = 5 * time.Second
	// DefaultCommTimeout is the RFConfiguration timing code of the wait for
	// an answer to InCommunicateThru: 08 is 12.8 ms, as [AHKR] sets it
	// before the ECP frame, which is never answered ("Normally, WUPA takes
	// 1.6-4.4 ms", util/bfclf.py).
	DefaultCommTimeout = 0x08
	// DefaultMaxNACK is how often the driver asks for a corrupted answer
	// again before it gives up.
	DefaultMaxNACK = 3
	// atrResTimeout is the RFConfiguration timing code of the ATR_RES wait:
	// 0B, 102.4 ms, as [DDK] sets it (main/NfcManager.cpp).
	atrResTimeout = 0x0B
	// samTimeout is the SAMConfiguration virtual-card timeout, 0x14 × 50
	// ms, the default pn532.js and libnfc send; it matters only in virtual
	// card mode.
	samTimeout = 0x14
	// maxStale bounds the frames of earlier commands skipped while waiting
	// for an answer.
	maxStale = 8
)

// wakeUp is the HSU wake-up sequence: 55 55 and a long preamble, to wake the
// PN532 from power-down and low-VBat mode before the first command
// (UM0701-02 §6.3.2.3; libnfc pn532_uart.c pn532_uart_wakeup).
var wakeUp = [16]byte{0x55, 0x55}

// Port is a serial line: Read waits at most the read timeout and then
// returns 0 bytes and no error, as a go.bug.st/serial Port does.
type Port interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	SetReadTimeout(d time.Duration) error
}

// Config configures a [Device]. The zero value (or nil) is the default. A
// Config must not be modified after it has been passed to Open or New.
type Config struct {
	// Baud is the serial speed; zero means DefaultBaud.
	Baud int
	// Timeout bounds the acknowledgement and answer of each command; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// ExchangeTimeout bounds the answer of an APDU exchange; zero means
	// DefaultExchangeTimeout.
	ExchangeTimeout time.Duration
	// CommTimeout is the RFConfiguration timing code (100 µs × 2^(n-1)) of
	// the wait for an answer to InCommunicateThru; zero means
	// DefaultCommTimeout. [DDK] uses 10h.
	CommTimeout byte
	// MaxNACK is how often a corrupted answer is asked for again; zero
	// means DefaultMaxNACK.
	MaxNACK int
}

type config struct {
	timeout, exchange time.Duration
	comm              byte
	maxNACK           int
}

func (c *Config) resolve() (config, error) {
	r := config{timeout: DefaultTimeout, exchange: DefaultExchangeTimeout, comm: DefaultCommTimeout, maxNACK: DefaultMaxNACK}
	if c == nil {
		return r, nil
	}
	if c.Timeout < 0 || c.ExchangeTimeout < 0 || c.MaxNACK < 0 || c.CommTimeout > 0x10 || c.Baud < 0 {
		return r, fmt.Errorf("pn532: invalid configuration %+v", *c)
	}
	if c.Timeout > 0 {
		r.timeout = c.Timeout
	}
	if c.ExchangeTimeout > 0 {
		r.exchange = c.ExchangeTimeout
	}
	if c.CommTimeout > 0 {
		r.comm = c.CommTimeout
	}
	if c.MaxNACK > 0 {
		r.maxNACK = c.MaxNACK
	}
	return r, nil
}

// Device is a PN532 on its HSU (UART) link, driven as an ISO/IEC 14443-4
// reader: it polls with the ECP frame and activates phones, each a [Target]
// whose APDUs go through InDataExchange. It implements polling.Reader.
//
// A Device is safe for concurrent use, but the controller runs one command
// at a time: a polling round and an exchange wait for each other.
type Device struct {
	mu     sync.Mutex
	port   Port
	closer io.Closer
	cfg    config
	fw     Firmware
	target *Target // the activated target, if any
	lastIn []byte  // data of the last InDataExchange answer, aliasing rx

	tx   [MaxFrameLen]byte
	cmd  [MaxData]byte
	rx   [2 * MaxFrameLen]byte
	r, w int
}

var _ polling.Reader = (*Device)(nil)

// Open opens the PN532 on the serial device at path (a USB serial adapter,
// /dev/ttyUSB0, or a UART, /dev/ttyS0) and initializes it as [New] does.
// Close closes the port.
func Open(ctx context.Context, path string, cfg *Config) (*Device, error) {
	baud := DefaultBaud
	if cfg != nil && cfg.Baud > 0 {
		baud = cfg.Baud
	}
	p, err := serialio.Open(path, baud)
	if err != nil {
		return nil, fmt.Errorf("pn532: %w", err)
	}
	d, err := newDevice(ctx, p, p, cfg)
	if err != nil {
		p.Close()
		return nil, err
	}
	return d, nil
}

// New initializes the PN532 behind port: the HSU wake-up, SAMConfiguration
// in normal mode (which also ends the low-VBat mode of a PN532/C106),
// GetFirmwareVersion (refusing a controller that is not a PN532), one
// passive activation attempt per InListPassiveTarget (ECP needs the round
// to end when no target answers: kormax/apple-enhanced-contactless-polling
// CHIPS.md, [AHKR] util/bfclf.py), the RF timings, and the field off.
// Close does not close port.
func New(ctx context.Context, port Port, cfg *Config) (*Device, error) {
	return newDevice(ctx, port, nil, cfg)
}

func newDevice(ctx context.Context, port Port, closer io.Closer, cfg *Config) (*Device, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	d := &Device{port: port, closer: closer, cfg: c}
	if err := d.init(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Device) init(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := serialio.WriteFull(d.port, wakeUp[:]); err != nil {
		return fmt.Errorf("pn532: wake-up: %w", err)
	}
	if _, err := d.exec(ctx, d.cfg.timeout, CmdSAMConfiguration, 0x01, samTimeout, 0x01); err != nil {
		return err
	}
	resp, err := d.exec(ctx, d.cfg.timeout, CmdGetFirmwareVersion)
	if err != nil {
		return err
	}
	if d.fw, err = parseFirmware(resp); err != nil {
		return &ProtocolError{Command: CmdGetFirmwareVersion, Err: err}
	}
	if d.fw.IC != icPN532 {
		return fmt.Errorf("%w: %v", ErrNotPN532, d.fw)
	}
	steps := [][]byte{
		{CmdRFConfiguration, CfgMaxRetries, 0xFF, 0x01, 0x00},
		{CmdRFConfiguration, CfgTimings, 0x00, atrResTimeout, d.cfg.comm},
		{CmdRFConfiguration, CfgField, FieldOff},
	}
	for _, s := range steps {
		if _, err := d.exec(ctx, d.cfg.timeout, s...); err != nil {
			return err
		}
	}
	return nil
}

// Firmware returns the controller's firmware version.
func (d *Device) Firmware() Firmware { return d.fw }

// Close releases the activated target, switches the field off and, when the
// Device was opened with Open, closes the serial port.
func (d *Device) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.timeout)
	defer cancel()
	d.mu.Lock()
	var err error
	if d.target != nil {
		_, err = d.exec(ctx, d.cfg.timeout, CmdInRelease, 0x00)
		d.target.released = true
		d.target = nil
	}
	if _, ferr := d.exec(ctx, d.cfg.timeout, CmdRFConfiguration, CfgField, FieldOff); err == nil {
		err = ferr
	}
	d.mu.Unlock()
	if d.closer != nil {
		if cerr := d.closer.Close(); cerr != nil {
			return cerr
		}
	}
	return err
}

// Command sends one command to the PN532 (data is PD0 to PDn, the command
// code first) and returns the data of its answer after the response code.
// The answer aliases the Device's buffer: it is valid until the next
// command. Higher-level methods use it; it is exported for diagnostics and
// hardware bring-up.
func (d *Device) Command(ctx context.Context, data []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrMalformedFrame)
	}
	return d.exec(ctx, d.cfg.timeout, data...)
}

// WriteRegister writes CIU or SFR registers in one command (UM0701-02
// §7.2.5).
func (d *Device) WriteRegister(ctx context.Context, regs ...Register) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(regs) == 0 || 1+3*len(regs) > MaxData {
		return fmt.Errorf("pn532: %d registers to write", len(regs))
	}
	_, err := d.exec(ctx, d.cfg.timeout, appendWriteRegister(d.cmd[:0], regs...)...)
	return err
}

// ReadRegister reads CIU or SFR registers in one command (UM0701-02
// §7.2.4) and appends their values to dst.
func (d *Device) ReadRegister(ctx context.Context, dst []byte, addrs ...uint16) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(addrs) == 0 || 1+2*len(addrs) > MaxData {
		return dst, fmt.Errorf("pn532: %d registers to read", len(addrs))
	}
	cmd := append(d.cmd[:0], CmdReadRegister)
	for _, a := range addrs {
		cmd = append(cmd, byte(a>>8), byte(a))
	}
	resp, err := d.exec(ctx, d.cfg.timeout, cmd...)
	if err != nil {
		return dst, err
	}
	if len(resp) != len(addrs) {
		return dst, &ProtocolError{Command: CmdReadRegister, Err: fmt.Errorf("%d values for %d registers", len(resp), len(addrs))}
	}
	return append(dst, resp...), nil
}

// SetField switches the RF field on or off (RFConfiguration item 1).
func (d *Device) SetField(ctx context.Context, on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := byte(FieldOff)
	if on {
		v = FieldOn
	}
	_, err := d.exec(ctx, d.cfg.timeout, CmdRFConfiguration, CfgField, v)
	return err
}

// SendECP sends a raw frame that carries its own CRC_A (an ECP frame) with
// InCommunicateThru, after setting the CIU registers so that the PN532
// sends it as it is: CRC generation off, parity on, whole bytes. Nothing
// answers an ECP frame, so the PN532's timeout (status 01) is success; any
// answer is ignored.
func (d *Device) SendECP(ctx context.Context, frame []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sendECP(ctx, frame)
}

func (d *Device) sendECP(ctx context.Context, frame []byte) error {
	if len(frame) == 0 || len(frame) > MaxThruData {
		return fmt.Errorf("pn532: raw frame of %d bytes", len(frame))
	}
	if _, err := d.exec(ctx, d.cfg.timeout, appendWriteRegister(d.cmd[:0], ecpRegisters[:]...)...); err != nil {
		return err
	}
	cmd := append(append(d.cmd[:0], CmdInCommunicateThru), frame...)
	resp, err := d.exec(ctx, d.cfg.timeout, cmd...)
	if err != nil {
		return err
	}
	if len(resp) < 1 {
		return &ProtocolError{Command: CmdInCommunicateThru, Err: errors.New("no status byte")}
	}
	return nil
}

// Detect runs one polling round (polling.Reader): field on, the guard time,
// the ECP frame if any, then InListPassiveTarget for one 106 kbps type A
// target. A target that is not ISO/IEC 14443-4 compliant is released and
// counts as none. When none answers, the field goes off for r.Interval and
// Detect returns an error wrapping polling.ErrNoTarget.
func (d *Device) Detect(ctx context.Context, r *polling.Round) (polling.Target, error) {
	t, err := d.detect(ctx, r)
	if errors.Is(err, polling.ErrNoTarget) {
		if werr := polling.Sleep(ctx, r.Interval); werr != nil {
			return nil, werr
		}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (d *Device) detect(ctx context.Context, r *polling.Round) (*Target, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.target != nil {
		return nil, fmt.Errorf("pn532: target %d is still activated", d.target.tg)
	}
	if _, err := d.exec(ctx, d.cfg.timeout, CmdRFConfiguration, CfgField, FieldOn); err != nil {
		return nil, err
	}
	d.mu.Unlock()
	err := polling.Sleep(ctx, r.FieldOnGuard)
	d.mu.Lock()
	if err != nil {
		return nil, err
	}
	if r.ECP != nil {
		if err := d.sendECP(ctx, r.ECP); err != nil {
			return nil, err
		}
	}
	resp, err := d.exec(ctx, d.cfg.timeout, CmdInListPassiveTarget, 0x01, brTy106A)
	if err != nil {
		return nil, err
	}
	tg, info, err := ParseTargetData(resp)
	if err != nil {
		return nil, &ProtocolError{Command: CmdInListPassiveTarget, Err: err}
	}
	if tg != 0 && (!isoDEP(info.SELRes) || info.ATS == nil) {
		if _, err := d.exec(ctx, d.cfg.timeout, CmdInRelease, tg); err != nil {
			return nil, err
		}
		tg = 0
	}
	if tg == 0 {
		if _, err := d.exec(ctx, d.cfg.timeout, CmdRFConfiguration, CfgField, FieldOff); err != nil {
			return nil, err
		}
		return nil, polling.ErrNoTarget
	}
	d.target = &Target{d: d, tg: tg, info: info}
	return d.target, nil
}

// exec sends one command and returns the data of its answer after the
// response code, aliasing d.rx. The caller holds d.mu.
func (d *Device) exec(ctx context.Context, timeout time.Duration, data ...byte) ([]byte, error) {
	code := data[0]
	frame, err := AppendFrame(d.tx[:0], TFIHost, data)
	if err != nil {
		return nil, err
	}
	d.r, d.w = 0, 0 // bytes of earlier exchanges are stale
	nacks := 0
send:
	if err := serialio.WriteFull(d.port, frame); err != nil {
		return nil, fmt.Errorf("pn532: writing command %02X: %w", code, err)
	}
	deadline := time.Now().Add(timeout)
	acked, stale := false, 0
	for {
		f, err := d.readFrame(ctx, deadline)
		switch {
		case errors.Is(err, ErrChecksum):
			// A corrupted answer: ask for it again (§6.2.1.4). A corrupted
			// ACK is asked for too; the PN532 repeats its last frame.
			if nacks++; nacks > d.cfg.maxNACK {
				d.abort()
				return nil, &ProtocolError{Command: code, Err: fmt.Errorf("%w after %d NACKs", err, nacks-1)}
			}
			if err := serialio.WriteFull(d.port, nackFrame[:]); err != nil {
				return nil, fmt.Errorf("pn532: writing NACK: %w", err)
			}
			continue
		case err != nil:
			d.abort()
			if errors.Is(err, serialio.ErrTimeout) {
				what := "answer"
				if !acked {
					what = "acknowledgement"
				}
				return nil, fmt.Errorf("%w: no %s to command %02X", ErrTimeout, what, code)
			}
			return nil, fmt.Errorf("pn532: command %02X: %w", code, err)
		}
		switch f.Kind {
		case ACK:
			if !acked {
				acked = true
				deadline = time.Now().Add(timeout)
			}
			continue
		case NACK:
			// The PN532 did not take the command: send it again.
			if nacks++; nacks > d.cfg.maxNACK {
				d.abort()
				return nil, &ProtocolError{Command: code, Err: fmt.Errorf("NACKed %d times", nacks-1)}
			}
			goto send
		case ErrorFrame:
			return nil, fmt.Errorf("%w: command %02X", ErrSyntax, code)
		}
		if f.TFI != TFIController || f.Data[0] != code+1 {
			// The answer of an earlier, aborted command.
			if stale++; stale > maxStale {
				d.abort()
				return nil, &ProtocolError{Command: code, Err: fmt.Errorf("unexpected frame %02X %X", f.TFI, f.Data)}
			}
			continue
		}
		return f.Data[1:], nil
	}
}

// abort sends an ACK, which makes the PN532 abandon the command in progress
// (UM0701-02 §6.2.1.3), and forgets what was received.
func (d *Device) abort() {
	serialio.WriteFull(d.port, ackFrame[:])
	d.r, d.w = 0, 0
}

// readFrame returns the next frame on the line, waiting until deadline.
func (d *Device) readFrame(ctx context.Context, deadline time.Time) (Frame, error) {
	for {
		f, n, err := ScanFrame(d.rx[d.r:d.w])
		d.r += n
		if err != nil || f.Kind != 0 {
			return f, err
		}
		if d.r == d.w {
			d.r, d.w = 0, 0
		} else if d.w == len(d.rx) {
			d.w = copy(d.rx[:], d.rx[d.r:d.w])
			d.r = 0
		}
		m, err := serialio.Read(ctx, d.port, d.rx[d.w:], deadline)
		if err != nil {
			return Frame{}, err
		}
		d.w += m
	}
}
