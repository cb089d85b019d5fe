// Package uwbtest simulates UWB subsystems (UWBS) for tests: chips that
// speak FiRa UCI over a byte stream, through the same framing, segmentation
// and message codecs as the host (package uwb), so that a test exercises the
// real driver end to end.
//
// An [Air] is the radio space the chips share. Each [Chip] serves one byte
// stream (a pipe from [Air.Pipe], or any io.ReadWriter such as the master
// side of a pseudo-terminal); it accepts CCC sessions (session type A0) and
// their application configuration (docs/protocol.md §8.4 parameters and the
// URSK). [Air.Step] runs ranging rounds: every active initiator session (the
// device) ranges with the active responder sessions of the same session ID
// on other chips (the vehicle's anchors). A pair whose configurations match,
// URSK included (compared in constant time), measures the next distance of
// the air's scripted track; a pair whose keys differ fails with
// RANGING_RX_PHY_STS_FAILED (the scrambled timestamp sequences do not
// correlate); a pair whose other parameters differ (channel, configuration,
// SYNC code, timing…) or a session without a peer reports
// RANGING_RX_TIMEOUT. Rounds run when the test says so, never on a timer.
package uwbtest
