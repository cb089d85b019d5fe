package mdoc

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/transport"
)

// selectCommand returns SELECT by DF name of aid, Le 00 (docs/protocol.md §2.2).
func selectCommand(d Dialect) transport.Command {
	return transport.Command{CLA: 0x00, INS: 0xA4, P1: 0x04, Data: []byte(d.AID()), Ne: transport.MaxShortNe}
}

// ReadHomeKey runs the reader side of a Home Key attestation exchange over
// c, after the transaction sent the EXCHANGE with secret and CONTROL FLOW
// 40A0: SELECT of the configuration applet, the handover ENVELOPE and the
// request ENVELOPE, GET RESPONSE rounds included (c follows 61xx). It
// returns the DeviceResponse unverified; see [DeviceResponse.Verify].
func ReadHomeKey(ctx context.Context, c *transport.Client, secret *Secret, cfg *ReaderConfig) (*DeviceResponse, error) {
	if err := selectApplet(ctx, c, HomeKey); err != nil {
		return nil, err
	}
	h, err := NewHomeKeyReader(secret, cfg)
	if err != nil {
		return nil, err
	}
	cmd := h.Command()
	resp, err := c.Do(ctx, &cmd, nil)
	if err != nil {
		return nil, fmt.Errorf("mdoc: handover ENVELOPE: %w", err)
	}
	r, err := h.Handle(resp)
	if err != nil {
		return nil, err
	}
	return request(ctx, c, r)
}

// ReadStepUp runs the reader side of an Aliro step-up exchange over c,
// after a standard transaction whose key derivation gave keys: SELECT of
// the step-up applet and the request ENVELOPE. It returns the
// DeviceResponse unverified; see [DeviceResponse.Verify].
func ReadStepUp(ctx context.Context, c *transport.Client, keys *SessionKeys, cfg *ReaderConfig) (*DeviceResponse, error) {
	r, err := NewStepUpReader(keys, cfg)
	if err != nil {
		return nil, err
	}
	if err := selectApplet(ctx, c, Aliro); err != nil {
		return nil, err
	}
	return request(ctx, c, r)
}

func selectApplet(ctx context.Context, c *transport.Client, d Dialect) error {
	cmd := selectCommand(d)
	resp, err := c.Do(ctx, &cmd, nil)
	if err != nil {
		return fmt.Errorf("mdoc: SELECT %v: %w", d.AID(), err)
	}
	if err := resp.SW.Err(); err != nil {
		return fmt.Errorf("mdoc: SELECT %v: %w", d.AID(), err)
	}
	return nil
}

func request(ctx context.Context, c *transport.Client, r *RequestReader) (*DeviceResponse, error) {
	cmd := r.Command()
	resp, err := c.Do(ctx, &cmd, nil)
	if err != nil {
		return nil, fmt.Errorf("mdoc: ENVELOPE: %w", err)
	}
	return r.Handle(resp)
}
