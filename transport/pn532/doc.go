// Package pn532 drives an NXP PN532 NFC controller over its HSU (UART) link
// as the NFC reader of a vehicle or a lock: it polls for phones with Apple's
// Enhanced Contactless Polling frame (docs/protocol.md §2.6), activates them as
// ISO/IEC 14443-4 type A targets and carries their APDUs (docs/protocol.md §2),
// so that vehicle.Reader.Transact runs over a [Target] unchanged.
//
// # The host controller protocol
//
// Frames follow the PN532 user manual UM0701-02 (§6.2, as public driver code
// quotes it: libnfc's pn53x.c and pn532_uart.c, pn532.js; read for facts
// only): normal information frames (00 00 FF LEN LCS TFI PD0..PDn DCS 00,
// LEN + LCS = 0 and TFI + PD0 + ... + DCS = 0 modulo 256), extended frames
// (LEN and LCS FF FF, then LENm LENl LCS) for up to 264 data bytes, ACK
// (00 00 FF 00 FF 00), NACK (00 00 FF FF 00 00) and the error frame
// (00 00 FF 01 FF 7F 81 00). [AppendFrame] and [ScanFrame] encode and decode
// them without allocating; [ParseFrame] is the strict form for one whole
// frame. The driver waits for the ACK and the answer of each command with a
// deadline, asks for a corrupted answer again with NACK (at most
// Config.MaxNACK times), sends a command again that the controller NACKs,
// and aborts a command that timed out with an ACK (§6.2.1.3) so that a
// controller that stops answering costs a timeout ([ErrTimeout]), never a
// hang.
//
// # Commands
//
// Open (or New over any serial port) wakes the PN532 (55 55 and a long
// preamble, libnfc pn532_uart_wakeup), sends SAMConfiguration (normal mode;
// it also ends the low-VBat mode of the PN532/C106), checks
// GetFirmwareVersion, and sets RFConfiguration: one passive activation
// attempt per InListPassiveTarget, the ATR_RES and InCommunicateThru
// timeouts, the field off. A polling round ([Device.Detect]) switches the
// field on, waits the guard time, writes the CIU registers for a raw frame
// (TxMode and RxMode without CRC, parity on, 8 bits in the last byte) and
// sends the ECP frame, which carries its own CRC_A, with InCommunicateThru;
// then InListPassiveTarget at 106 kbps type A. APDUs go through
// InDataExchange; [Target.Present] uses Diagnose test 06 and
// [Target.Release] InRelease and the field off.
//
// Status bytes ([Status]) are typed; a *[StatusError] of an exchange whose
// status says the target stopped answering (timeout, transmission and
// ISO-DEP errors) matches transport.ErrCardRemoved, so a phone pulled away
// mid-transaction ends it like a card removed from a PC/SC reader.
//
// # Where the project chose
//
// The user manual is NXP's; where it leaves room, and each is commented at
// the point of use:
//
//   - the CIU registers are written in full before every ECP frame (TxMode,
//     RxMode and ManualRCV to 00, BitFraming to 00), rather than read and
//     masked: one command instead of two per round, and the frame goes out
//     right whatever the previous command left. The public readers write
//     BitFraming only ([AHKR], [DDK]).
//   - the InCommunicateThru timeout defaults to 12.8 ms, as [AHKR] sets it
//     for the ECP frame; [DDK] uses 3.28 s with a 50 ms host timeout.
//   - APDUs longer than 262 bytes are chained with the MI bit of Tg; every
//     chained part must be answered by a bare success status.
//   - presence checks use Diagnose 06; libnfc notes that one JCOP card did
//     not answer it on a PN532 and falls back to an R(NAK) block, which
//     this driver does not send.
//
// # Hardware test
//
// TestHardware runs against a real PN532 when OPENCARKEY_PN532 names its
// serial device, for example
//
//	OPENCARKEY_PN532=/dev/ttyUSB0 go test ./transport/pn532 -run TestHardware -v
//
// It checks the firmware version and polls with the Home Key ECP frame for
// 10 seconds; hold a phone with a Home Key (or any ISO-DEP card) to the
// antenna to see it activated.
package pn532
