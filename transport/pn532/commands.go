package pn532

import (
	"fmt"

	"github.com/opencarkey/sdk/transport/polling"
)

// Command codes (UM0701-02 §7, as libnfc's pn53x-internal.h lists them). A
// response carries the command code plus one.
const (
	CmdDiagnose            = 0x00
	CmdGetFirmwareVersion  = 0x02
	CmdReadRegister        = 0x06
	CmdWriteRegister       = 0x08
	CmdSAMConfiguration    = 0x14
	CmdRFConfiguration     = 0x32
	CmdInDataExchange      = 0x40
	CmdInCommunicateThru   = 0x42
	CmdInListPassiveTarget = 0x4A
	CmdInRelease           = 0x52
)

// RFConfiguration items (UM0701-02 §7.3.1, as pn532.js quotes it).
const (
	// CfgField switches the RF field: bit 0 on, bit 1 automatic RF
	// collision avoidance.
	CfgField = 0x01
	// CfgTimings sets RFU, the ATR_RES timeout and the timeout of
	// InCommunicateThru and InDataExchange (100 µs × 2^(n-1)).
	CfgTimings = 0x02
	// CfgMaxRetryCOM sets the retries of a failed exchange.
	CfgMaxRetryCOM = 0x04
	// CfgMaxRetries sets the retries of ATR_REQ, PSL_REQ and of passive
	// activation in InListPassiveTarget.
	CfgMaxRetries = 0x05
)

// Values of the field item.
const (
	// FieldOff switches the field off (nfcpy's mute does the same).
	FieldOff = 0x00
	// FieldOn switches it on with automatic RF collision avoidance, as
	// [DDK] rednblkx/HomeKey-ESP32 does (main/NfcManager.cpp,
	// initializeReader: RFConfiguration(0x01, {0x03})).
	FieldOn = 0x03
)

// CIU registers of the PN532's contactless interface unit, addresses in the
// PN532's XRAM (libnfc pn53x-internal.h) and the bits this driver uses
// (libnfc pn53x.h).
const (
	RegTxMode     = 0x6302 // bit 7 TxCRCEn, bits 6-4 TxSpeed, bits 1-0 TxFraming
	RegRxMode     = 0x6303 // bit 7 RxCRCEn, bits 6-4 RxSpeed, bits 1-0 RxFraming
	RegManualRCV  = 0x630D // bit 4 ParityDisable
	RegBitFraming = 0x633D // bits 2-0 TxLastBits

	BitCRCEnable     = 0x80
	BitParityDisable = 0x10
	MaskTxLastBits   = 0x07
)

// Baud rate and modulation of InListPassiveTarget: 106 kbps ISO/IEC 14443
// type A.
const brTy106A = 0x00

// Limits of the exchange commands.
const (
	// MaxExchangeData is the most data one InDataExchange carries: the
	// extended frame holds 264 bytes, less the command code and Tg.
	MaxExchangeData = MaxData - 2
	// MaxThruData is the most data one InCommunicateThru carries.
	MaxThruData = MaxData - 1
	// tgMI is the "more information" bit of the Tg byte of InDataExchange:
	// more data follows in the next command (UM0701-02 §7.3.8, as pn532.js
	// quotes it; chaining mechanism §7.4.5).
	tgMI = 0x40
)

// Firmware is the answer to GetFirmwareVersion (UM0701-02 §7.2.2).
type Firmware struct {
	// IC is 0x32 for a PN532.
	IC byte
	// Version and Revision are the firmware's (1.6 on the PN532/C106).
	Version, Revision byte
	// Support is a bit field: bit 0 ISO/IEC 14443 type A, bit 1 type B,
	// bit 2 ISO 18092.
	Support byte
}

func (f Firmware) String() string {
	return fmt.Sprintf("PN5%02X firmware %d.%d (support %02X)", f.IC, f.Version, f.Revision, f.Support)
}

// icPN532 is the IC byte of a PN532.
const icPN532 = 0x32

// parseFirmware parses the data of a GetFirmwareVersion response (after the
// response code).
func parseFirmware(b []byte) (Firmware, error) {
	if len(b) != 4 {
		return Firmware{}, fmt.Errorf("%w: firmware version of %d bytes", ErrMalformedFrame, len(b))
	}
	return Firmware{IC: b[0], Version: b[1], Revision: b[2], Support: b[3]}, nil
}

// Register is one CIU register and its value, for WriteRegister.
type Register struct {
	Addr  uint16
	Value byte
}

// appendWriteRegister appends the WriteRegister command for regs.
func appendWriteRegister(dst []byte, regs ...Register) []byte {
	dst = append(dst, CmdWriteRegister)
	for _, r := range regs {
		dst = append(dst, byte(r.Addr>>8), byte(r.Addr), r.Value)
	}
	return dst
}

// ecpRegisters are written before the ECP frame goes out with
// InCommunicateThru: CRC generation and checking off (the frame carries its
// own CRC_A), parity on, 106 kbps type A framing, and all 8 bits of the
// last byte sent (InListPassiveTarget leaves 7, the length of REQA).
// kormax/apple-enhanced-contactless-polling CHIPS.md and [AHKR]
// util/bfclf.py write CIU_BitFraming to 00 before the frame; the other
// registers are written too, so that the frame goes out right whatever the
// last command left in them.
var ecpRegisters = [...]Register{
	{RegTxMode, 0x00},
	{RegRxMode, 0x00},
	{RegManualRCV, 0x00},
	{RegBitFraming, 0x00},
}

// ParseTargetData parses the data of an InListPassiveTarget response at 106 kbps
// type A with one target (after the response code): NbTg, Tg, SENS_RES,
// SEL_RES, NFCIDLength, NFCID1 and, for ISO/IEC 14443-4 targets, the ATS
// with its length byte (UM0701-02 §7.3.5; libnfc pn53x.c,
// pn53x_decode_target_data). It returns target number 0 when no target
// answered. The info it returns holds copies.
func ParseTargetData(b []byte) (tg byte, info polling.TargetInfo, err error) {
	if len(b) < 1 {
		return 0, info, fmt.Errorf("%w: empty InListPassiveTarget response", ErrMalformedFrame)
	}
	switch b[0] {
	case 0:
		if len(b) != 1 {
			return 0, info, fmt.Errorf("%w: data after NbTg 0", ErrMalformedFrame)
		}
		return 0, info, nil
	case 1:
	default:
		return 0, info, fmt.Errorf("%w: %d targets, asked for 1", ErrMalformedFrame, b[0])
	}
	b = b[1:]
	if len(b) < 5 {
		return 0, info, fmt.Errorf("%w: short target data", ErrMalformedFrame)
	}
	tg = b[0]
	info.SENSRes = [2]byte{b[1], b[2]}
	info.SELRes = b[3]
	n := int(b[4])
	b = b[5:]
	if n != 4 && n != 7 && n != 10 || len(b) < n {
		return 0, polling.TargetInfo{}, fmt.Errorf("%w: NFCID1 of %d bytes", ErrMalformedFrame, n)
	}
	info.NFCID1 = append([]byte(nil), b[:n]...)
	b = b[n:]
	if len(b) > 0 {
		// The ATS length byte TL counts itself (ISO/IEC 14443-4 §5.2.1).
		if int(b[0]) != len(b) || b[0] < 1 {
			return 0, polling.TargetInfo{}, fmt.Errorf("%w: ATS length %d, %d bytes follow", ErrMalformedFrame, b[0], len(b))
		}
		info.ATS = append([]byte(nil), b...)
	}
	if tg == 0 {
		return 0, polling.TargetInfo{}, fmt.Errorf("%w: target number 0", ErrMalformedFrame)
	}
	return tg, info, nil
}

// AppendTargetData appends the data of an InListPassiveTarget response for
// one target at 106 kbps type A, after the response code: the inverse of
// [ParseTargetData], for simulated controllers. info.ATS must hold its
// length byte.
func AppendTargetData(dst []byte, tg byte, info polling.TargetInfo) []byte {
	dst = append(dst, 1, tg, info.SENSRes[0], info.SENSRes[1], info.SELRes, byte(len(info.NFCID1)))
	dst = append(dst, info.NFCID1...)
	return append(dst, info.ATS...)
}

// isoDEP reports whether SEL_RES says the target complies with ISO/IEC
// 14443-4 (bit 6, 20h; ISO/IEC 14443-3 §6.5.3.4).
func isoDEP(selRes byte) bool { return selRes&0x20 != 0 }
