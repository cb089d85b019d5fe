// Package pn532test simulates a PN532 on its HSU link for tests: a
// [Controller] reads the host's frames from a byte stream (a
// pseudo-terminal's master side, a pipe) and answers them as the PN532 user
// manual UM0701-02 describes, with a phone in its RF field played by a
// [pollingtest.Field]. The driver under test (package pn532) talks to it
// through its real serial code.
//
// The simulation covers what the driver uses: the HSU wake-up, ACK, NACK
// and error frames, normal and extended frames, SAMConfiguration,
// GetFirmwareVersion, RFConfiguration, ReadRegister and WriteRegister on the
// CIU registers, InCommunicateThru (the frame goes on air as the registers
// say: CRC_A appended when TxCRCEn is set, garbled when parity is off or the
// last byte is partial), InListPassiveTarget at 106 kbps type A,
// InDataExchange with MI chaining both ways, InRelease and Diagnose 00 and
// 06. Faults make it mute, NACK commands, corrupt answers or send an
// oversize frame.
//
// # Simplifications
//
// InListPassiveTarget makes one activation attempt whatever
// RFConfiguration's MxRtyPassiveActivation says (the driver sets 00); the
// RF timings are stored and not applied; only one target is activated at a
// time; a command arriving while another is processed waits for it (the
// real controller would take the ACK as an abort).
package pn532test
