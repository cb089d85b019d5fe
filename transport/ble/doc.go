// Package ble carries the Digital Key protocol over Bluetooth LE, as
// Release 3 does before UWB ranging (docs/protocol.md §8.1–8.3, §8.6): DK
// messages over an LE credit-based L2CAP channel, the APDU tunnel that runs
// the NFC transactions and owner pairing unchanged over that channel, the
// supplementary services (time sync, first approach, remote keyless entry)
// and the event notifications. It imports only transport, dkey, the
// standard library and, for the Linux adapter, golang.org/x/sys/unix.
//
// # What the specification says
//
// The vehicle is the peripheral and GATT server, the device the central
// (§8.1). The vehicle's primary service FFF5 holds the SPSM of an L2CAP
// LE credit-based channel (§8.2, [VehicleService], [SPSM]); the device
// encrypts the link and opens the channel. Each SDU carries one DK message
// (§8.3, [Message]): a header byte with the message type in bits 5–0, the
// message ID, a big-endian 16-bit length, the data. DK_APDU_RQ (type 1, ID
// 0B) carries a command APDU from vehicle to device, DK_APDU_RS (0C) the
// response; the spec's example is the SELECT of the DK applet,
// 01 0B 00 13 00 A4 04 00 0D A0 00 00 08 09 43 43 43 44 4B 41 76 31 00.
// Only the class bytes 00, 80 and 84 travel in the tunnel ([AllowedCLA]).
//
// # Sections
//
//   - Codec: [ParseMessage] and [Message.Append] (allocation-free, strict:
//     exact length, reserved bits zero, types 0–6, known IDs), [Kind] for
//     the messages of the table of §8.3 in both numberings ([Numbering]),
//     [ParseEvent] and [Event] (§8.6), [ParseTimeSync], [ParseFirstApproach],
//     [ParseRKERequest], [ParseChallenge], [ParseRKEResponse], [ParseSPSM].
//   - Links: [Conn] moves SDUs; [Pipe] is an in-process pair for tests and
//     examples; on Linux [SocketConn] is a SOCK_SEQPACKET socket, from
//     [DialL2CAP] (the device) or [ListenL2CAP] (the vehicle). [Channel]
//     sends and receives DK messages over a Conn.
//   - The APDU tunnel: [Tunnel] is the vehicle's transport.Transceiver;
//     [Serve] is the device's loop that answers DK_APDU_RQ from a
//     transport.Card such as device.Applet. A link that drops is
//     transport.ErrCardRemoved to the vehicle and a card reset to the
//     device, as when a phone leaves the NFC field. [Tunnel.ClientConfig]
//     says that the tunnel carries extended-length APDUs and no chains,
//     so that owner pairing's certificates travel extended.
//   - Ranging: [RangingLink] carries the messages of package ranging
//     (§8.4) as DK messages of type 2 through this package's codec, both
//     numberings included; on the device, a fed link takes them from
//     Serve's handler.
//   - Remote keyless entry, sans I/O: [RKEDevice] (request, then the
//     signature through an [RKESigner]) and [RKEVehicle] (policy, one-time
//     challenges, verification through [RKEKeys]).
//   - For device and vehicle: [RKESigner], [RKEKeys], [InterfaceCard] and
//     [InterfaceReporter] use only dkey and standard types, so device.Applet
//     and vehicle.Reader implement them without importing this package,
//     which no library package may import.
//   - First approach: [FirstApproach] with the [OwnerKeys] of owner pairing.
//
// # Running the hardware test
//
// The machines of the project have no Bluetooth controller; the socket code
// is tested over an AF_UNIX SOCK_SEQPACKET pair, which keeps SDU
// boundaries as L2CAP does. One test uses a real controller, and only when
// told which (a powered controller and the kernel's Bluetooth modules; no
// cgo, no BlueZ daemon for the socket itself):
//
//	OPENCARKEY_BLE_ADAPTER=AA:BB:CC:DD:EE:FF go test ./transport/ble -run TestHardware -v
//
// It listens on an SPSM of the adapter. With OPENCARKEY_BLE_PEER set to a
// vehicle's address (AA:BB:CC:DD:EE:FF/random for a random address) and
// OPENCARKEY_BLE_SPSM to its SPSM (default 0x0081), it also dials it as a
// device does (the kernel encrypts the link first, pairing through the
// BlueZ agent if the two are not bonded), sends a Time_Sync and logs the
// first message the vehicle sends.
//
// # Where the project chose
//
// The CCC specification is not public; these choices fill its gaps, each
// documented where it applies and tested:
//
//   - Message IDs: the two numberings of the vendor code are both accepted;
//     the per-type one ([NXPDK]) is sent by default (docs/protocol.md §11 row 5).
//     Framework messages (type 0) have no public IDs: APDUs for the
//     framework use 0B and 0C as for the SE. UWB final data (5/06) has no
//     global ID and keeps 06.
//   - One DK message per SDU, and an MTU of DefaultMaxSDU (1024) unless
//     configured.
//   - The interface byte of the transaction key derivation over BLE is
//     InterfaceBLE (C3, Aliro's), configurable, because CCC's is not
//     public (docs/protocol.md §4.4, §11 row 7). A [Tunnel] reports it
//     ([InterfaceReporter]) and [Serve] hands it to an [InterfaceCard].
//   - Event payloads of subevents 01–03 are one byte; of the vehicle status
//     containers only 7F71 is decoded; head-unit pairing is not.
//   - RKE: RKE_Auth_RQ carries the 16-byte challenge alone and RKE_Auth_RS
//     the raw 64-byte signature alone; the signature is ECDSA P-256 over
//     SHA-256(challenge ‖ function ‖ action) with no second hash ([RKEDigest]);
//     action IDs 00 and 01 ([ActionID]) and the entitlement each function
//     needs ([FunctionID.Entitlement]) are the project's; challenges live
//     DefaultChallengeLifetime.
//   - First approach: the 38-byte OOB body ([NXPDK]), or 70 bytes with a
//     MAC under Kble_intro that the project defines (docs/protocol.md §11 row 6).
package ble
