package transport

import (
	"context"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
)

// insGetResponse is the instruction of GET RESPONSE (ISO/IEC 7816-4 §11.7.1).
const insGetResponse = 0xC0

// ClientConfig configures a [Client]. The zero value (or a nil pointer)
// works: short APDUs only, command chaining above 255 bytes of data, and
// responses up to MaxResponseData bytes.
type ClientConfig struct {
	// ExtendedLength lets the client send extended-length command APDUs.
	// Without it every command is short: data longer than MaxCommandData
	// (at most 255) goes by command chaining, and an Ne above 256 is sent as
	// Le 00 (256), the card giving the rest through 61xx and GET RESPONSE.
	ExtendedLength bool

	// MaxCommandData is the longest data field the reader (or the card)
	// accepts in one command APDU; longer data is sent by command chaining
	// (CLA bit 10 on every command but the last, ISO/IEC 7816-4 §5.3.3).
	// Zero or less means 255, or 65535 with ExtendedLength; larger values are
	// reduced to those.
	MaxCommandData int

	// MaxResponse is the longest response data the client accepts from one
	// command, GET RESPONSE rounds included. Zero or less means
	// MaxResponseData; larger values are reduced to it.
	MaxResponse int
}

// Client runs command-response pairs over a [Transceiver] the way protocol
// drivers need them: it splits long data by command chaining, follows 61xx
// with GET RESPONSE, and resends a command answered 6Cxx with the Le the card
// asked for. It reuses its buffers, so an exchange allocates nothing once
// they have grown.
//
// A Client is not safe for concurrent use; one protocol run owns it, as it
// owns the Transceiver.
type Client struct {
	t       Transceiver
	ext     bool
	maxData int
	maxResp int

	cmd  []byte // encoded command
	resp []byte // response APDU
}

// NewClient returns a Client that sends its commands through t. cfg may be
// nil; the client reads it once and keeps no reference to it.
func NewClient(t Transceiver, cfg *ClientConfig) *Client {
	c := new(Client)
	c.Reset(t, cfg)
	return c
}

// Reset makes c a client of t configured by cfg, as NewClient does, and
// keeps the buffers c has grown, so that a driver that keeps one Client per
// protocol run it reuses (for one transaction after another, each over the
// transceiver of the moment) exchanges without allocating. cfg may be nil;
// c keeps no reference to it. Reset(nil, nil) drops the reference to the
// transceiver; c must then be Reset again before use.
func (c *Client) Reset(t Transceiver, cfg *ClientConfig) {
	var zero ClientConfig
	if cfg == nil {
		cfg = &zero
	}
	c.t, c.ext, c.maxData, c.maxResp = t, cfg.ExtendedLength, MaxShortData, MaxResponseData
	if c.ext {
		c.maxData = MaxExtendedData
	}
	if cfg.MaxCommandData > 0 && cfg.MaxCommandData < c.maxData {
		c.maxData = cfg.MaxCommandData
	}
	if cfg.MaxResponse > 0 && cfg.MaxResponse < c.maxResp {
		c.maxResp = cfg.MaxResponse
	}
	c.cmd, c.resp = c.cmd[:0], c.resp[:0]
}

// Do sends cmd and returns the card's response. The response data is
// appended to dst, and Response.Data is the appended part: it shares dst's
// backing array when dst has the capacity, so passing buf[:0] of a reused
// buffer makes the exchange allocation-free. Do does not modify cmd.
//
// Do runs, in order:
//   - command chaining when cmd.Data is longer than the configured maximum:
//     every segment but the last with CLA bit 10 and no Le. A segment
//     answered with anything but 9000 ends the chain and Do returns that
//     response; data on a 9000 answer to a segment is discarded.
//   - a 6Cxx answer (wrong Le) makes Do resend the same command with Ne =
//     SW2 (00 meaning 256), once; a second 6Cxx is an error.
//   - while the answer is 61xx, Do appends its data and sends GET RESPONSE
//     (00 C0 00 00 on the command's logical channel, Le = SW2) until another
//     status word ends the response, at most MaxGetResponseRounds times.
//
// Do returns an error only when no complete response arrived: the
// [Transceiver] failed (the error is wrapped, so errors.Is finds
// [ErrCardRemoved] or the context's error), the card broke the framing or a
// limit (the error wraps [ErrProtocol] and, for a limit, a *[LimitError]), or
// cmd cannot be sent (a *[LimitError]). A status word other than 9000 is
// returned in the Response with a nil error.
func (c *Client) Do(ctx context.Context, cmd *Command, dst []byte) (Response, error) {
	if err := cmd.check(); err != nil {
		return Response{}, err
	}
	data, segments := cmd.Data, 1
	if len(data) > c.maxData {
		if cmd.CLA == claInvalid {
			return Response{}, &LimitError{Limit: LimitCommandData, Max: c.maxData, Got: len(data)}
		}
		segments = (len(data) + c.maxData - 1) / c.maxData
		if segments > MaxChainedCommands {
			return Response{}, &LimitError{Limit: LimitChainedCommands, Max: MaxChainedCommands, Got: segments}
		}
		for i := 1; len(data) > c.maxData; i++ {
			seg := Command{CLA: cmd.CLA | claChaining, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2, Data: data[:c.maxData]}
			r, err := c.exchange(ctx, &seg)
			if err != nil {
				return Response{}, fmt.Errorf("transport: chained command %d of %d: %w", i, segments, err)
			}
			if r.SW != dkey.SWSuccess {
				out := append(dst, r.Data...)
				return Response{Data: out[len(dst):], SW: r.SW}, nil
			}
			data = data[c.maxData:]
		}
	}

	cur := Command{CLA: cmd.CLA, INS: cmd.INS, P1: cmd.P1, P2: cmd.P2, Data: data, Ne: cmd.Ne}
	if !c.ext && cur.Ne > MaxShortNe {
		cur.Ne = MaxShortNe
	}
	out := dst
	rounds, resent := 0, false
	for {
		r, err := c.exchange(ctx, &cur)
		if err != nil {
			switch {
			case rounds > 0:
				return Response{}, fmt.Errorf("transport: GET RESPONSE %d: %w", rounds, err)
			case segments > 1:
				return Response{}, fmt.Errorf("transport: chained command %d of %d: %w", segments, segments, err)
			}
			return Response{}, fmt.Errorf("transport: command %02X%02X%02X%02X: %w", cmd.CLA, cmd.INS, cmd.P1, cmd.P2, err)
		}
		sw1, sw2 := r.SW.SW1(), r.SW.SW2()
		if sw1 == 0x6C { // ISO/IEC 7816-4 §5.1.3: wrong Le, SW2 is the exact length
			if resent {
				err := &LimitError{Limit: LimitWrongLeRetries, Max: 1, Got: 2}
				return Response{}, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			cur.Ne, resent = shortNe(sw2), true
			continue
		}
		out = append(out, r.Data...)
		if n := len(out) - len(dst); n > c.maxResp {
			err := &LimitError{Limit: LimitResponseData, Max: c.maxResp, Got: n}
			return Response{}, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		if sw1 != 0x61 {
			return Response{Data: out[len(dst):], SW: r.SW}, nil
		}
		// ISO/IEC 7816-4 §5.1.3: 61xx, SW2 more bytes available (00: 256 or
		// more), to be read with GET RESPONSE.
		if rounds++; rounds > MaxGetResponseRounds {
			err := &LimitError{Limit: LimitGetResponseRounds, Max: MaxGetResponseRounds, Got: rounds}
			return Response{}, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		cur = Command{CLA: cmd.channelCLA(), INS: insGetResponse, Ne: shortNe(sw2)}
		resent = false
	}
}

// exchange encodes cmd, sends it and parses the response, which aliases
// c.resp until the next exchange.
func (c *Client) exchange(ctx context.Context, cmd *Command) (Response, error) {
	b, err := cmd.Append(c.cmd[:0])
	if err != nil {
		return Response{}, err
	}
	c.cmd = b
	resp, err := c.t.Transceive(ctx, c.resp[:0], c.cmd)
	if err != nil {
		return Response{}, err
	}
	c.resp = resp
	r, err := ParseResponse(resp)
	if _, ok := err.(*LimitError); ok {
		return Response{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return r, err // a FormatError matches ErrProtocol itself
}
