// Package nci drives an NFC Forum NCI controller (an NFCC such as NXP's
// PN7160 or PN7161) as the NFC reader of a vehicle or a lock: RF discovery
// for ISO-DEP phones in NFC-A poll mode, with Apple's Enhanced Contactless
// Polling frame where the controller can send it (docs/protocol.md §2.6), and
// APDU exchanges over the static RF connection (docs/protocol.md §2), so that
// vehicle.Reader.Transact runs over a [Target] unchanged.
//
// # The NCI host (the DH)
//
// Facts come from the NFC Forum NCI specification as public code quotes it:
// Linux include/net/nfc/nci.h and drivers/nfc/nxp-nci, NXP's libnfc-nci for
// the PN7160 (NXPNFCLinux/linux_libnfc-nci, branch NCI2.0_PN7160:
// nci_defs.h, nfc_ncif.cc, nfc_main.cc, libnfc-nxp.conf), ESPHome's pn7160
// component, and a public NCI 2.x decoder's tables (read for facts only).
//
//   - Packets ([Packet], [ScanPacket], [ParsePacket]): a 3-octet header, MT
//     in bits 7-5, the packet boundary flag in bit 4, then GID and OID for
//     control packets or the connection for data packets, and the payload
//     length. [AppendMessage] segments a message; a [Reassembler] joins
//     segments and bounds messages.
//   - Initialization ([New]): CORE_RESET (NCI 1.0 answers with the version
//     in the response; NCI 2.0 with CORE_RESET_NTF), CORE_INIT in the
//     matching form (NCI 2.0 adds two feature-enable octets and changes the
//     response layout), NXP's proprietary activation 2F 02 on NXP
//     controllers, optional CORE_SET_CONFIG parameters, and RF_DISCOVER_MAP
//     of ISO-DEP to the ISO-DEP interface in poll mode.
//   - Discovery ([Device.Detect]): TOTAL_DURATION is the polling loop's
//     interval; RF_DISCOVER for NFC-A passive poll; RF_INTF_ACTIVATED_NTF
//     activates a target (RF_DISCOVER_NTF and RF_DISCOVER_SELECT when the
//     NFCC found several).
//   - Data ([Target.Transceive]): APDUs in data messages on connection 0,
//     segmented to the activation's maximum payload, one credit per packet,
//     credits returned by CORE_CONN_CREDITS_NTF (FFh: no flow control).
//   - Ending: CORE_INTERFACE_ERROR_NTF and RF_DEACTIVATE_NTF during an
//     exchange mean the phone left (errors matching
//     transport.ErrCardRemoved); [Target.Present] uses
//     RF_ISO_DEP_NAK_PRESENCE (NCI 2.0); [Target.Release] RF_DEACTIVATE to
//     idle.
//   - Every status is a typed [Status] with a class sentinel
//     ([ErrRejected], [ErrSyntax], [ErrDiscovery], [ErrRF], ...) through
//     *[StatusError].
//
// # Links
//
// A [Link] carries whole packets: [StreamLink] over a UART ([OpenUART]);
// [I2CLink] over I2C with the interrupt line, as NXP's controllers do it
// (the DH writes a packet in one transaction, reads the header and then the
// payload in two when IRQ is high, and writes once more after 110 ms when
// the NFCC was in standby: Linux drivers/nfc/nxp-nci/i2c.c). On Linux,
// [OpenI2C] opens i2c-dev ([OpenI2CDevice], the I2C_SLAVE ioctl) and the
// IRQ and VEN lines through the GPIO character device (uAPI v2,
// [OpenGPIOInput], [OpenGPIOOutput]); these ioctls take their structures by
// pointer, so this package imports unsafe for them (deps_test.go names the
// exception).
//
// # ECP on NCI controllers
//
// NCI defines no way to send an ECP frame. NXP's libnfc-nci tells the PN7160
// ("no ECP support", hardware version 61h) from the PN7161 ("ECP support",
// 71h); the PN7161's proprietary configuration for it is in NXP
// documentation that is not public, and could not be sourced. The driver
// therefore takes it as configuration, [ECPCommand] (a control command whose
// payload carries the frame), without a default: a round with an ECP frame
// fails with [ErrNoECP] until one is configured. The simulated controller
// (ncitest) and the tests use a command of the project's choosing to check
// the plumbing; they prove nothing about a real PN7161.
//
// # Where the project chose
//
//   - CORE_RESET resets the configuration (type 01) unless
//     Config.KeepConfig; discovery maps ISO-DEP only, and polls NFC-A only.
//   - NCI 2.0 status 0B is named STATUS_NOT_SUPPORTED, as NXP's libnfc-nci
//     does (Table 140 of NCI 2.x lists no 0B).
//   - Release deactivates to idle (the field goes off and the phone resets)
//     rather than to discovery, as the PN532 driver switches its field off.
//   - Presence checks need NCI 2.0; on NCI 1.0 controllers Present returns
//     ErrPresenceUnsupported and the polling loop releases the target at
//     once.
//
// # Hardware test
//
// TestHardware runs against a real controller when OPENCARKEY_NCI_I2C names
// its i2c-dev bus and OPENCARKEY_NCI_GPIO its GPIO chip and lines
// (chip:irq[:ven]), or OPENCARKEY_NCI_UART a serial device; for example on
// a Raspberry Pi with NXP's OM27160 board:
//
//	OPENCARKEY_NCI_I2C=/dev/i2c-1 OPENCARKEY_NCI_GPIO=/dev/gpiochip0:23:24 \
//	    go test ./transport/nci -run TestHardware -v
//
// OPENCARKEY_NCI_ECP (GID:OID:PREFIX, see [ParseECPCommand]) adds the ECP
// command; without it the test polls without ECP.
package nci
