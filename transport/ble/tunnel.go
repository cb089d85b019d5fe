package ble

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
)

// Interface bytes: the interface_byte the transaction key derivation binds
// in (docs/protocol.md §4.4).
//
// NFC uses 5E (I+). The CCC value for BLE is not public; Aliro uses C3 over
// BLE, and the project defaults to it for BLE (docs/protocol.md §11 row 7, N).
// [TunnelConfig.Interface] and [ServerConfig.Interface] change it, so a
// vehicle can try 5E as well.
const (
	InterfaceNFC byte = 0x5E
	InterfaceBLE byte = 0xC3
)

// InterfaceReporter is implemented by a transport.Transceiver that knows
// the interface byte of the radio it runs over; [Tunnel] does. Protocol
// code that binds the interface into its key derivation asks a Transceiver
// for it through an interface of the same method set, declared where it is
// used, and takes InterfaceNFC when the Transceiver has no such method.
type InterfaceReporter interface {
	InterfaceByte() byte
}

// InterfaceCard is implemented by a transport.Card that binds the interface
// byte into its key derivation. [Serve] calls ProcessAPDUOn, with the
// interface byte of the link, instead of ProcessAPDU on such a card; the
// contract is otherwise that of ProcessAPDU.
type InterfaceCard interface {
	transport.Card
	ProcessAPDUOn(iface byte, dst, command []byte) []byte
}

// minCommand is the size of the shortest command APDU: CLA INS P1 P2.
const minCommand = 4

// AllowedCLA reports whether a command APDU with class byte cla may travel
// in DK_APDU_RQ: 00, 80 and 84 (§8.3). Chained commands (CLA 1X, 9X) and
// logical channels other than the basic one are not carried, so APDUs
// longer than 255 data bytes travel in the extended form.
func AllowedCLA(cla byte) bool { return cla == 0x00 || cla == 0x80 || cla == 0x84 }

// checkCommand applies the tunnel's rules to a command APDU.
func checkCommand(cmd []byte) error {
	if len(cmd) < minCommand {
		return fmt.Errorf("ble: command APDU of %d bytes: %w", len(cmd), ErrMalformed)
	}
	if !AllowedCLA(cmd[0]) {
		return fmt.Errorf("ble: CLA %02X: %w", cmd[0], ErrCLA)
	}
	return nil
}

// TunnelConfig configures a [Tunnel]. The zero value works.
type TunnelConfig struct {
	// Interface is the interface byte the tunnel reports (InterfaceByte);
	// zero means InterfaceBLE.
	Interface byte
	// Framework sends Framework_APDU_RQ (type 0) instead of DK_APDU_RQ
	// (type 1) and waits for Framework_APDU_RS. Off by default: device.Applet
	// routes framework and applet commands by SELECT, so owner pairing
	// runs through DK_APDU_RQ as well.
	Framework bool
	// Unsolicited receives every other message that arrives while the
	// tunnel waits for a response (an event notification, a time sync).
	// Its Message is valid only during the call. An error it returns ends
	// the exchange with that error. Nil means such a message fails the
	// exchange with an *UnexpectedMessageError.
	Unsolicited func(ctx context.Context, m Message) error
}

// Tunnel is the vehicle's end of the APDU tunnel (§8.3): a
// transport.Transceiver that sends each command APDU in a DK_APDU_RQ over a
// [Channel] and returns the APDU of the DK_APDU_RS that answers it. A
// vehicle.Reader runs transactions and owner pairing over it as over an NFC
// reader.
//
// Like every Transceiver it is for one protocol run at a time; while it
// waits for a response, nothing else may call Receive on its channel.
type Tunnel struct {
	ch          *Channel
	iface       byte
	rq, rs      Kind
	unsolicited func(context.Context, Message) error
}

var (
	_ transport.Transceiver = (*Tunnel)(nil)
	_ InterfaceReporter     = (*Tunnel)(nil)
)

// NewTunnel returns a Tunnel over ch. cfg may be nil; the tunnel reads it
// once.
func NewTunnel(ch *Channel, cfg *TunnelConfig) *Tunnel {
	if cfg == nil {
		cfg = &TunnelConfig{}
	}
	t := &Tunnel{ch: ch, iface: cfg.Interface, rq: KindDKAPDURQ, rs: KindDKAPDURS, unsolicited: cfg.Unsolicited}
	if t.iface == 0 {
		t.iface = InterfaceBLE
	}
	if cfg.Framework {
		t.rq, t.rs = KindFrameworkAPDURQ, KindFrameworkAPDURS
	}
	return t
}

// InterfaceByte returns the interface byte of the link (§4.4).
func (t *Tunnel) InterfaceByte() byte { return t.iface }

// Transceive sends command in a DK_APDU_RQ and appends the APDU of the
// DK_APDU_RS that answers it to dst. It refuses, before sending anything, a
// command shorter than four bytes ([ErrMalformed]) and one whose class byte
// is not 00, 80 or 84 ([ErrCLA]). It fails with an error wrapping both
// [ErrLinkClosed] and transport.ErrCardRemoved when the link goes (the
// protocol code then sees what it sees when a phone leaves the NFC field),
// with one wrapping transport.ErrProtocol when the device answers with a
// message that does not parse, a response shorter than a status word or an
// unexpected message, and with one wrapping the context's error when ctx
// ends first.
func (t *Tunnel) Transceive(ctx context.Context, dst, command []byte) ([]byte, error) {
	if err := checkCommand(command); err != nil {
		return dst, err
	}
	if err := t.ch.Send(ctx, t.rq, command); err != nil {
		return dst, linkError(err)
	}
	for {
		m, err := t.ch.Receive(ctx)
		if err != nil {
			return dst, linkError(err)
		}
		if m.Kind == t.rs {
			if len(m.Data) < 2 {
				return dst, fmt.Errorf("ble: %v of %d bytes: %w", m.Kind, len(m.Data), transport.ErrProtocol)
			}
			return append(dst, m.Data...), nil
		}
		if t.unsolicited == nil {
			return dst, fmt.Errorf("ble: %w: %w", &UnexpectedMessageError{Want: t.rs, Got: m.Kind}, transport.ErrProtocol)
		}
		if err := t.unsolicited(ctx, m); err != nil {
			return dst, err
		}
	}
}

// linkError adds to an error of the channel the transport error protocol
// code branches on.
func linkError(err error) error {
	switch {
	case errors.Is(err, ErrLinkClosed):
		return fmt.Errorf("%w (%w)", err, transport.ErrCardRemoved)
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownType), errors.Is(err, ErrUnknownID),
		errors.Is(err, ErrSDUTooLarge), errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w (%w)", err, transport.ErrProtocol)
	}
	return err
}

// ServerConfig configures [Serve]. The zero value works.
type ServerConfig struct {
	// Interface is the interface byte handed to an [InterfaceCard]; zero
	// means InterfaceBLE.
	Interface byte
	// Handle receives every message other than an APDU request (time sync
	// requests, RKE challenges, event notifications). Its Message is valid
	// only during the call; to answer it sends on the channel. An error it
	// returns ends Serve. Nil means such a message ends Serve with an
	// *UnexpectedMessageError.
	Handle func(ctx context.Context, m Message) error
}

// Serve is the device's end of the APDU tunnel: it answers each
// DK_APDU_RQ (and Framework_APDU_RQ) arriving on ch with the response of
// card, in a DK_APDU_RS (Framework_APDU_RS), until the link closes, ctx
// ends, or a message breaks the protocol, and returns why: an error
// wrapping [ErrLinkClosed], the context's error, or the parse error,
// send error or handler error. It never returns nil.
//
// A command that is not an APDU the tunnel carries does not reach the card:
// one shorter than four bytes is answered 6700 (wrong length), one with a
// class byte other than 00, 80 and 84 is answered 6E00 (class not
// supported).
//
// When Serve returns, the session is over as when a phone leaves the NFC
// field: it closes ch and resets card if it is a transport.Resetter, so the
// applet keeps no half-done transaction.
func Serve(ctx context.Context, ch *Channel, card transport.Card, cfg *ServerConfig) error {
	if cfg == nil {
		cfg = &ServerConfig{}
	}
	iface := cfg.Interface
	if iface == 0 {
		iface = InterfaceBLE
	}
	defer func() {
		ch.Close()
		if r, ok := card.(transport.Resetter); ok {
			r.Reset()
		}
	}()
	ic, _ := card.(InterfaceCard)
	resp := make([]byte, 0, DefaultMaxSDU)
	for {
		m, err := ch.Receive(ctx)
		if err != nil {
			return err
		}
		var rs Kind
		switch m.Kind {
		case KindDKAPDURQ:
			rs = KindDKAPDURS
		case KindFrameworkAPDURQ:
			rs = KindFrameworkAPDURS
		default:
			if cfg.Handle == nil {
				return &UnexpectedMessageError{Want: KindDKAPDURQ, Got: m.Kind}
			}
			if err := cfg.Handle(ctx, m); err != nil {
				return err
			}
			continue
		}
		switch err := checkCommand(m.Data); {
		case errors.Is(err, ErrMalformed):
			resp = transport.AppendResponse(resp[:0], nil, dkey.SWWrongLength)
		case err != nil:
			resp = transport.AppendResponse(resp[:0], nil, dkey.SWClassNotSupported)
		case ic != nil:
			resp = ic.ProcessAPDUOn(iface, resp[:0], m.Data)
		default:
			resp = card.ProcessAPDU(resp[:0], m.Data)
		}
		if err := ch.Send(ctx, rs, resp); err != nil {
			return err
		}
	}
}
