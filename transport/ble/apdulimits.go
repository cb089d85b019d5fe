package ble

import "github.com/opencarkey/sdk/transport"

// extendedOverhead is what an extended-length command APDU adds to its
// data: the header CLA INS P1 P2, Lc in three bytes and Le in two
// (ISO/IEC 7816-4 §5.1).
const extendedOverhead = 4 + 3 + 2

// ClientConfig describes what the tunnel carries, for a transport.Client
// over it (vehicle.Reader asks a Transceiver for it through a method of
// this signature): the tunnel refuses chained commands (CLA 9X, §8.3), so
// commands with more than 255 bytes of data, the certificates of owner
// pairing first, travel in the extended form, up to what one SDU of the
// peer holds with the DK message header; responses up to what one SDU of
// this side holds. The device's applet answers every command whole, with
// no 61xx rounds, so long responses need no GET RESPONSE either.
func (t *Tunnel) ClientConfig() transport.ClientConfig {
	return transport.ClientConfig{
		ExtendedLength: true,
		MaxCommandData: max(t.ch.sendMTU()-HeaderLen-extendedOverhead, 1),
		MaxResponse:    max(len(t.ch.rbuf)-HeaderLen-2, 1),
	}
}

// sendMTU returns the largest SDU the peer accepts, when the Conn says
// (SocketConn's SendMTU, PipeConn's MaxSDU), and DefaultMaxSDU otherwise.
func (c *Channel) sendMTU() int {
	switch conn := c.conn.(type) {
	case interface{ SendMTU() int }:
		if n := conn.SendMTU(); n > 0 {
			return min(n, MaxMessageLen)
		}
	case interface{ MaxSDU() int }:
		if n := conn.MaxSDU(); n > 0 {
			return min(n, MaxMessageLen)
		}
	}
	return DefaultMaxSDU
}
