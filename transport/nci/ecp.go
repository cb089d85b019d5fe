package nci

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencarkey/sdk/transport/polling"
)

// ECPCommand tells the driver how to make the controller send an ECP frame
// in its polling loop. NCI has no standard message for it. NXP's PN7161
// supports ECP and the PN7160 does not (NXP libnfc-nci, branch
// NCI2.0_PN7160, halimpl/utils/NxpNfcCapability.cpp: hardware version 61h
// "PN7160 (no ECP support)", 71h "PN7161 (ECP support)"), through
// proprietary configuration in NXP's PN7161 documentation, which is not
// public. So the command is configuration, with no default: the driver sends
// one control command, GID and OID as given, whose payload is Prefix and
// then the frame (with its CRC_A unless OmitCRC), and expects STATUS_OK.
// Take the values from the controller's documentation; this project does
// not invent them.
type ECPCommand struct {
	GID    GroupID
	OID    uint8
	Prefix []byte
	// OmitCRC leaves the CRC_A off the frame, for controllers that add it.
	OmitCRC bool
}

// AppendPayload appends the payload of the command that configures frame
// (an ECP frame with its CRC_A) to dst.
func (c *ECPCommand) AppendPayload(dst, frame []byte) ([]byte, error) {
	if len(frame) < 2 {
		return dst, fmt.Errorf("%w: ECP frame of %d bytes", polling.ErrMalformedECP, len(frame))
	}
	if c.OmitCRC {
		frame = frame[:len(frame)-2]
	}
	if len(c.Prefix)+len(frame) > MaxControlMessage {
		return dst, fmt.Errorf("%w: ECP command of %d bytes", ErrMessageTooLong, len(c.Prefix)+len(frame))
	}
	return append(append(dst, c.Prefix...), frame...), nil
}

// Frame returns the ECP frame, CRC_A included, that a command payload
// configures, and whether the payload is one of this command (its prefix
// and a frame after it). Simulated controllers use it.
func (c *ECPCommand) Frame(payload []byte) ([]byte, bool) {
	if len(payload) <= len(c.Prefix) || string(payload[:len(c.Prefix)]) != string(c.Prefix) {
		return nil, false
	}
	f := append([]byte(nil), payload[len(c.Prefix):]...)
	if c.OmitCRC {
		f = polling.AppendCRCA(f, f)
	}
	return f, true
}

// ParseECPCommand parses the command-line form of an ECPCommand:
// "GID:OID[:PREFIX][:nocrc]", GID and OID in hexadecimal, PREFIX hex bytes
// (possibly empty), for example "F:3F:01" or "0F:3F::nocrc".
func ParseECPCommand(s string) (*ECPCommand, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 4 {
		return nil, fmt.Errorf("nci: ECP command %q: want GID:OID[:PREFIX][:nocrc]", s)
	}
	gid, err := strconv.ParseUint(parts[0], 16, 4)
	if err != nil {
		return nil, fmt.Errorf("nci: ECP command GID %q: %w", parts[0], err)
	}
	oid, err := strconv.ParseUint(parts[1], 16, 8)
	if err != nil || oid > oidMask {
		return nil, fmt.Errorf("nci: ECP command OID %q: want 00 to 3F", parts[1])
	}
	c := &ECPCommand{GID: GroupID(gid), OID: uint8(oid)}
	if len(parts) >= 3 {
		if c.Prefix, err = hex.DecodeString(parts[2]); err != nil {
			return nil, fmt.Errorf("nci: ECP command prefix %q: %w", parts[2], err)
		}
	}
	if len(parts) == 4 {
		if parts[3] != "nocrc" {
			return nil, fmt.Errorf("nci: ECP command option %q: want nocrc", parts[3])
		}
		c.OmitCRC = true
	}
	return c, nil
}
