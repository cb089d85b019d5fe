// Package pcsc is a [transport.Transceiver] over PC/SC: the vehicle side of
// the NFC interface (docs/protocol.md §2: ISO/IEC 14443-4 carrying ISO/IEC 7816-4
// APDUs) through a contactless reader that pcsc-lite's pcscd drives, as test
// benches and head units use.
//
// It is pure Go and needs no cgo: it speaks pcscd's client protocol (version
// 4.4, pcsc-lite 1.8.24 and later; newer servers accept it in their
// backward-compatible mode) on pcscd's Unix socket, the one pcsc-lite's own
// libpcsclite uses.
//
// # Platforms
//
// pcscd's socket protocol is pcsc-lite's, so the package works where
// pcsc-lite is the PC/SC middleware: Linux and the BSDs. On macOS
// (CryptoTokenKit's PC/SC framework) and Windows (WinSCard) Establish
// returns an error wrapping [ErrUnsupportedPlatform] at once.
//
// # Use
//
//	c, err := pcsc.Establish(ctx, nil)         // SCardEstablishContext
//	reader, err := c.WaitForCard(ctx, "")      // a card in any reader
//	cn, err := c.Connect(ctx, reader)          // SCardConnect, shared, T=0 or T=1
//	resp, err := cn.Transceive(ctx, buf[:0], selectAPDU)
//	...
//	cn.Disconnect(ctx, pcsc.Leave)
//	c.Release(ctx)
//
// A [Conn] is the [transport.Transceiver]: protocol drivers take it as they
// take an in-memory card. Every call is context-first and honours the
// context's deadline and cancellation.
//
// # Errors
//
// A failed call returns an [*Error] carrying the PC/SC return [Code]
// (SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD, ...). errors.Is matches it
// against the code itself and against the transport failure it stands for:
// [transport.ErrNoReader], [transport.ErrNoCard], [transport.ErrCardRemoved],
// [transport.ErrProtocol], and context.DeadlineExceeded for SCARD_E_TIMEOUT
// (see [Code.Is]). A context that ends is reported by wrapping its error.
//
// # Card removal and reset
//
// When the card leaves the field or is reset, pcscd fails every later call on
// the [Conn] with SCARD_W_REMOVED_CARD or SCARD_W_RESET_CARD until
// [Conn.Reconnect]: wait for the next card with [Client.WaitForCard], then
// Reconnect(ctx, Leave). A card that leaves during a command first shows as a
// transmit without a response; [Conn.Transceive] then asks pcscd for the card
// status, for up to a second, to report the removal as such.
//
// # Choices where the middleware is silent or quirky
//
// pcsc-lite documents its client protocol only in its sources
// (winscard_msg.h, winscard_svc.c); this package follows pcsc-lite 1.9.9, the
// version of Debian 12, and is tested against it (integration tests, gated on
// OPENCARKEY_PCSC=1: see scripts/pcsc/run.sh). The project first wrapped
// github.com/gballet/go-libpcsclite (docs/design.md) and replaced it, because it
// cannot honour a context (the socket is unexported: no deadline, no way to
// interrupt a blocked read), allocates whatever length a reply claims,
// offers a 65536-byte receive buffer (a 65536-byte response and its status
// word do not fit), sends T=1 in every transmit whatever protocol the card
// negotiated (T=0 cards fail), reads the negotiated protocol from the wrong
// offset, stops listing readers at the first free slot, rejects servers newer
// than protocol 4.4, and never closes its socket.
//
// The reader table pcscd sends has PCSCLITE_MAX_READERS_CONTEXTS entries,
// a build-time constant: this package assumes pcsc-lite's default, 16, as
// libpcsclite built with the same headers does.
//
// pcscd's client protocol has a status-change wait that differs between
// server versions; [Client.WaitForCard] polls the reader table instead, every
// Config.PollInterval (100 ms by default). The socket path is
// Config.Socket, else $PCSCLITE_CSOCK_NAME (as libpcsclite), else
// /run/pcscd/pcscd.comm; pcscd itself has that path compiled in.
//
// Contactless readers present an ISO/IEC 14443-4 card with an ATR built as
// PC/SC Part 3 says (3B 8n 80 01 ...), which offers T=0 and T=1; pcscd then
// negotiates T=1, and extended APDUs pass through unchanged. This package
// does no GET RESPONSE (61xx) or chaining: that is the APDU layer's job
// (package transport).
package pcsc
