// Package ranging implements the Release 3 ranging setup of the Digital Key
// protocol, both roles, sans I/O, and the UWB key schedule: what lets a
// vehicle measure the distance to a phone with secure ultra-wideband ranging
// for passive entry (docs/protocol.md §8.4, §8.5).
//
// # The protocol
//
// A standard transaction over NFC or BLE derives the ranging secret key URSK
// (Volatile[48:80] of its keying material, docs/protocol.md §4.4) and names it
// with the last 4 bytes of its transaction identifier, the UWB_Session_Id
// ([SessionIDFromTransaction]). The device's applet and the vehicle keep
// their copies behind a [KeyStore]. Then the two sides agree on the UWB
// session with the messages of the UWB ranging service, DK messages of type
// 2 (docs/protocol.md §8.3):
//
//	Vehicle                                        Device (initiator)
//	Ranging_Capability_RQ  versions, configs, pulse shapes ─▶
//	                     ◀─ Ranging_Capability_RS    selected version, config, pulse shape
//	Ranging_Session_RQ     selections, UWB_Session_Id, channel bitmask ─▶
//	                     ◀─ Ranging_Session_RS       min RAN multiplier, slot, SYNC, hopping bitmasks, channel
//	Ranging_Session_Setup_RQ  RAN multiplier, chaps per slot, responders, slots per round, SYNC codes, hopping ─▶
//	                     ◀─ Ranging_Session_Setup_RS STS_Index0, UWB_Time0, HOP_Mode_Key, SYNC code
//	… ranging …
//	Ranging_Suspend_RQ / RS (either side), Ranging_Recovery_RQ / RS,
//	Configurable_Ranging_Recovery_RQ / RS (a recovery with a new RAN multiplier)
//
// [Vehicle] and [Device] are the two roles: bytes in, bytes out, no I/O.
// Each message is a type with Append and Unmarshal ([Message]); the parsers
// are strict and fuzzed. A [Conn] carries the messages: the BLE link's DK
// messages of type 2 (transport/ble's RangingLink, which encodes the DK
// message header and maps both message-ID numberings in the one codec of
// that package), and [Vehicle.Run], [Vehicle.Request] and [Device.Serve]
// drive the roles over one. The result on both sides is a [Session]: the agreed [SessionParams],
// a state (established, suspended, recovered, URSK refresh needed, closed)
// and the session's [KeySchedule].
//
// # Negotiation
//
// Each side picks from the intersection of both sides' capabilities
// (docs/protocol.md §8.4): the device the highest common protocol version and the
// first UWB configuration and pulse-shape combination of its own preference
// list, then the channel; the vehicle the RAN multiplier (at least both
// sides' minimum), the smallest common slot length, the common SYNC codes,
// the hopping configuration in the priority continuous+default,
// continuous+AES, adaptive+default, adaptive+AES, none, and at least
// responders + 4 slots per round; the device then the SYNC code and the
// initiator's values. An empty intersection is a *[NegotiationError] naming
// the parameter; a peer that selects what was not offered is
// [ErrNotOffered]. A session ID without a live URSK fails with the key
// store's error ([ErrNoRangingKey], [ErrRangingKeyExpired],
// [ErrRangingKeyRevoked]); a URSK that goes during a session moves it to
// [StateURSKRefreshNeeded].
//
// # UWB key schedule
//
// [KeySchedule] derives, with the AES-256-CMAC counter-mode KDF of
// internal/kdf, mUPSK1 and mUPSK2 and mURSK once per session, the address
// block [UAD] (source short address, source PAN ID, destination short
// address, source long address) and SaltedHash at every setup and recovery,
// and URSK_KT, dURSK and dUDSK for every ranging round from its STS index.
// A round costs one allocation, the AES key schedule of URSK_KT, which
// crypto/aes cannot expand into memory the caller owns. Keys redact
// themselves when printed and are zeroized by Close.
//
// # Where the project chose
//
// The CCC specification is not public. The choices, each commented where it
// is made and tested:
//
//   - Salt and SaltedHash (docs/protocol.md §8.5 gives only their inputs):
//     [SaltProjectKDF], a KDF of the URSK and a KDF over the inputs [QRV]
//     names, held in [SaltProfile] so that a verified construction can be
//     added as a profile.
//   - The bit order of the STS index spread over 32 bytes in URSK_KT: most
//     significant bit first.
//   - The encoding of Selected_UWB_Channel (the channel number) and of
//     Selected_Hopping_Config (the bits of the hopping bitmask).
//   - The layout of the configurable recovery messages (after Android's
//     CccStartRangingParams): session ID and RAN multiplier; the answer as
//     Ranging_Recovery_RS.
//   - Priorities §8.4 does not give: channel 9 before 5, the lowest common
//     SYNC code; STS_Index0 below 2^30.
//   - Unknown values in the vehicle's capability lists are kept and skipped,
//     so that a newer vehicle stays compatible; selected values must be
//     known.
package ranging
