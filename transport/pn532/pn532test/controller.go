package pn532test

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/opencarkey/sdk/transport/pn532"
	"github.com/opencarkey/sdk/transport/polling"
	"github.com/opencarkey/sdk/transport/polling/pollingtest"
)

// DefaultFirmware is what GetFirmwareVersion answers: a PN532 with firmware
// 1.6 supporting ISO/IEC 14443 A and B and ISO 18092, the answer the user
// manual and public drivers show (D5 03 32 01 06 07).
var DefaultFirmware = pn532.Firmware{IC: 0x32, Version: 1, Revision: 6, Support: 0x07}

// Faults are misbehaviours a test turns on.
type Faults struct {
	// Mute makes the controller ignore everything: no ACK, no answer.
	Mute bool
	// NACKCommands answers the next n commands with NACK instead of
	// running them.
	NACKCommands int
	// CorruptAnswers sends the next n answer frames (retransmissions
	// included) with a wrong data checksum.
	CorruptAnswers int
	// Oversize replaces the next answer with a frame whose length field
	// announces more than the protocol allows.
	Oversize bool
}

// Controller is a simulated PN532. Create it with New; it is safe for
// concurrent use (a test changes faults while it serves).
type Controller struct {
	field *pollingtest.Field
	fw    pn532.Firmware

	mu       sync.Mutex
	faults   Faults
	awake    bool
	sam      bool
	regs     map[uint16]byte
	rfConfig map[byte][]byte
	tg       byte   // the activated target, 0 if none
	chain    []byte // command parts received with MI
	pending  []byte // answer parts still to send with MI
	last     []byte // the last answer frame, for NACK
	commands []byte // command codes received, in order
}

// New returns a controller with the given phone field; fw zero means
// DefaultFirmware.
func New(field *pollingtest.Field, fw pn532.Firmware) *Controller {
	if fw == (pn532.Firmware{}) {
		fw = DefaultFirmware
	}
	return &Controller{field: field, fw: fw, regs: map[uint16]byte{}, rfConfig: map[byte][]byte{}}
}

// SetFaults replaces the faults.
func (c *Controller) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
}

// Register returns the value of a CIU register as the host last wrote it
// (or as a command left it).
func (c *Controller) Register(addr uint16) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[addr]
}

// Commands returns the command codes received so far, in order.
func (c *Controller) Commands() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.commands...)
}

// Serve answers the frames that arrive on conn until ctx ends or conn
// fails (see pollingtest.ReadStream for how a read in progress ends). It
// returns nil when ctx ended.
func (c *Controller) Serve(ctx context.Context, conn io.ReadWriter) error {
	buf := make([]byte, 0, 4*pn532.MaxFrameLen)
	return pollingtest.ReadStream(ctx, conn, func(chunk []byte) error {
		var err error
		buf, err = c.consume(append(buf, chunk...), conn)
		return err
	})
}

// consume handles the complete frames at the start of buf and returns what
// is left.
func (c *Controller) consume(buf []byte, w io.Writer) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults.Mute {
		return buf[:0], nil
	}
	if !c.awake {
		// Asleep in HSU, the PN532 wakes on the falling edge of a start
		// bit; the wake-up sequence begins with 55h (UM0701-02 §6.3.2.3).
		// What comes before is lost.
		i := indexByte(buf, 0x55)
		if i < 0 {
			return buf[:0], nil
		}
		c.awake = true
		buf = buf[i+1:]
	}
	for {
		f, n, err := pn532.ScanFrame(buf)
		buf = buf[n:]
		if err != nil {
			continue // a corrupted command is not acknowledged
		}
		if f.Kind == 0 {
			return buf, nil
		}
		if werr := c.handle(f, w); werr != nil {
			return nil, werr
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// handle answers one frame. The caller holds c.mu.
func (c *Controller) handle(f pn532.Frame, w io.Writer) error {
	switch f.Kind {
	case pn532.ACK:
		return nil // an abort: nothing runs in the background here
	case pn532.NACK:
		if c.last == nil {
			return nil
		}
		return c.send(w, c.last)
	case pn532.Information:
	default:
		return nil
	}
	if f.TFI != pn532.TFIHost {
		return nil
	}
	if c.faults.NACKCommands > 0 {
		c.faults.NACKCommands--
		_, err := w.Write(pn532.AppendNACK(nil))
		return err
	}
	c.commands = append(c.commands, f.Data[0])
	if _, err := w.Write(pn532.AppendACK(nil)); err != nil {
		return err
	}
	answer, ok := c.run(f.Data)
	var frame []byte
	if !ok {
		frame = []byte{0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}
	} else {
		var err error
		frame, err = pn532.AppendFrame(nil, pn532.TFIController, answer)
		if err != nil {
			return err
		}
	}
	if c.faults.Oversize {
		c.faults.Oversize = false
		// LEN FF FF, then 02 00: 512 bytes announced, beyond MaxData.
		frame = []byte{0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0xFE, pn532.TFIController}
	}
	c.last = frame
	return c.send(w, frame)
}

// send writes an answer frame, corrupted while CorruptAnswers lasts.
func (c *Controller) send(w io.Writer, frame []byte) error {
	if c.faults.CorruptAnswers > 0 && len(frame) > 8 {
		c.faults.CorruptAnswers--
		bad := append([]byte(nil), frame...)
		bad[len(bad)-2] ^= 0x5A // the data checksum
		frame = bad
	}
	_, err := w.Write(frame)
	return err
}

// run executes one command and returns its answer (response code first),
// or false for a syntax error. The caller holds c.mu.
func (c *Controller) run(d []byte) ([]byte, bool) {
	code, p := d[0], d[1:]
	rsp := []byte{code + 1}
	if !c.sam && code != pn532.CmdSAMConfiguration && code != pn532.CmdGetFirmwareVersion {
		// Out of low-VBat mode only through SAMConfiguration (UM0701-02
		// §6.3.2.3; AN10609 C106 appendix).
		return nil, false
	}
	switch code {
	case pn532.CmdGetFirmwareVersion:
		if len(p) != 0 {
			return nil, false
		}
		return append(rsp, c.fw.IC, c.fw.Version, c.fw.Revision, c.fw.Support), true
	case pn532.CmdSAMConfiguration:
		if len(p) < 1 || len(p) > 3 || p[0] < 1 || p[0] > 4 {
			return nil, false
		}
		c.sam = true
		return rsp, true
	case pn532.CmdRFConfiguration:
		return c.rfConfiguration(rsp, p)
	case pn532.CmdWriteRegister:
		if len(p) == 0 || len(p)%3 != 0 {
			return nil, false
		}
		for i := 0; i < len(p); i += 3 {
			c.regs[uint16(p[i])<<8|uint16(p[i+1])] = p[i+2]
		}
		return rsp, true
	case pn532.CmdReadRegister:
		if len(p) == 0 || len(p)%2 != 0 {
			return nil, false
		}
		for i := 0; i < len(p); i += 2 {
			rsp = append(rsp, c.regs[uint16(p[i])<<8|uint16(p[i+1])])
		}
		return rsp, true
	case pn532.CmdInCommunicateThru:
		return c.communicateThru(rsp, p)
	case pn532.CmdInListPassiveTarget:
		return c.listPassiveTarget(rsp, p)
	case pn532.CmdInDataExchange:
		return c.dataExchange(rsp, p)
	case pn532.CmdInRelease:
		if len(p) != 1 {
			return nil, false
		}
		if p[0] != 0 && p[0] != c.tg {
			return append(rsp, byte(pn532.StatusWrongContext)), true
		}
		if c.tg != 0 {
			c.field.Deactivate()
		}
		c.tg, c.chain, c.pending = 0, nil, nil
		return append(rsp, 0x00), true
	case pn532.CmdDiagnose:
		if len(p) < 1 {
			return nil, false
		}
		switch p[0] {
		case 0x00: // communication line test: the data comes back
			return append(rsp, p...), true
		case 0x06:
			if len(p) != 1 {
				return nil, false
			}
			if c.tg != 0 && c.field.Present() {
				return append(rsp, 0x00), true
			}
			return append(rsp, byte(pn532.StatusTimeout)), true
		}
		return nil, false
	}
	return nil, false
}

func (c *Controller) rfConfiguration(rsp, p []byte) ([]byte, bool) {
	if len(p) < 1 {
		return nil, false
	}
	item, v := p[0], p[1:]
	want := map[byte]int{pn532.CfgField: 1, pn532.CfgTimings: 3, pn532.CfgMaxRetryCOM: 1, pn532.CfgMaxRetries: 3}
	n, ok := want[item]
	if !ok || len(v) != n {
		return nil, false
	}
	c.rfConfig[item] = append([]byte(nil), v...)
	if item == pn532.CfgField {
		on := v[0]&0x01 != 0
		if !on && c.tg != 0 {
			c.tg, c.chain, c.pending = 0, nil, nil
		}
		c.field.SetOn(on)
	}
	return rsp, true
}

// RFConfiguration returns the value the host last set for an
// RFConfiguration item.
func (c *Controller) RFConfiguration(item byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.rfConfig[item]...)
}

func (c *Controller) communicateThru(rsp, p []byte) ([]byte, bool) {
	if len(p) < 1 {
		return nil, false
	}
	if !c.field.On() {
		return append(rsp, byte(pn532.StatusRFFieldTimeout)), true
	}
	onAir := append([]byte(nil), p...)
	if c.regs[pn532.RegTxMode]&pn532.BitCRCEnable != 0 {
		onAir = polling.AppendCRCA(onAir, p)
	}
	if c.regs[pn532.RegManualRCV]&pn532.BitParityDisable != 0 || c.regs[pn532.RegBitFraming]&pn532.MaskTxLastBits != 0 {
		c.field.Garbled()
	} else {
		c.field.Frame(onAir)
	}
	// Nothing in the field answers a frame outside a session.
	return append(rsp, byte(pn532.StatusTimeout)), true
}

func (c *Controller) listPassiveTarget(rsp, p []byte) ([]byte, bool) {
	if len(p) < 2 || p[0] < 1 || p[0] > 2 {
		return nil, false
	}
	if p[1] != 0x00 || len(p) > 2 {
		return nil, false // only 106 kbps type A without a UID to look for
	}
	if c.tg != 0 {
		return append(rsp, byte(pn532.StatusWrongContext)), true
	}
	c.field.SetOn(true) // the PN532 switches its field on to poll
	// REQA is a short frame of 7 bits sent without CRC; the firmware
	// leaves these settings when nothing answers.
	c.regs[pn532.RegTxMode] &^= pn532.BitCRCEnable
	c.regs[pn532.RegRxMode] &^= pn532.BitCRCEnable
	c.regs[pn532.RegBitFraming] = 0x07
	info, ok := c.field.Activate()
	if !ok {
		return append(rsp, 0x00), true
	}
	// Anticollision and RATS done: frames carry CRC_A from now on.
	c.regs[pn532.RegTxMode] |= pn532.BitCRCEnable
	c.regs[pn532.RegRxMode] |= pn532.BitCRCEnable
	c.regs[pn532.RegBitFraming] = 0x00
	c.tg = 1
	return pn532.AppendTargetData(rsp, c.tg, info), true
}

func (c *Controller) dataExchange(rsp, p []byte) ([]byte, bool) {
	if len(p) < 1 {
		return nil, false
	}
	tg, mi, data := p[0]&0x3F, p[0]&0x40 != 0, p[1:]
	if tg == 0 || tg != c.tg {
		return append(rsp, byte(pn532.StatusWrongContext)), true
	}
	if len(data) == 0 && !mi && c.pending != nil {
		return c.nextPart(rsp), true
	}
	if mi {
		c.chain = append(c.chain, data...)
		return append(rsp, 0x00), true
	}
	apdu := append(c.chain, data...)
	c.chain, c.pending = nil, nil
	answer, err := c.field.Exchange(nil, apdu)
	if errors.Is(err, pollingtest.ErrGone) {
		c.tg = 0
		return append(rsp, byte(pn532.StatusTimeout)), true
	}
	c.pending = answer
	return c.nextPart(rsp), true
}

// nextPart answers with the next part of a pending answer, MI set when more
// is left.
func (c *Controller) nextPart(rsp []byte) []byte {
	part := c.pending
	status := byte(0x00)
	if len(part) > pn532.MaxExchangeData {
		part, status = part[:pn532.MaxExchangeData], 0x40
	}
	c.pending = c.pending[len(part):]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return append(append(rsp, status), part...)
}
