package pcsc_test

// Helpers of the integration tests: they put any transport.Card into a
// virtual reader of the private pcscd that scripts/pcsc/run.sh starts, and
// connect to it. The full-transaction tests (device.Applet behind vpcd,
// vehicle.Reader on a pcsc.Conn) belong here too, as external tests of this
// package: test imports are free of the package table, and vpcd's two
// readers are shared by the machine, so tests that use them must not run in
// several packages at once.

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
	"github.com/opencarkey/sdk/transport/vpcd"
)

// enableEnv is the environment variable scripts/pcsc/run.sh sets to 1.
const enableEnv = "OPENCARKEY_PCSC"

// Names and card ports of vpcd's two readers, in the configuration of
// scripts/pcsc/run.sh.
const (
	reader0 = "Virtual PCD 00 00"
	reader1 = "Virtual PCD 00 01"
	addr0   = "127.0.0.1:35963"
	addr1   = "127.0.0.1:35964"
)

// enableHelp says how to run the tests that requirePCSC skips.
const enableHelp = "the PC/SC integration tests need pcscd with the vpcd driver; " +
	"run them as root with `scripts/pcsc/run.sh go test ./...` " +
	"(it installs pcscd and vsmartcard-vpcd when missing, starts a private pcscd " +
	"under unshare -n -m and sets " + enableEnv + "=1)"

// slot returns the reader name and card address of reader i.
func slot(i int) (reader, addr string) {
	switch i {
	case 0:
		return reader0, addr0
	case 1:
		return reader1, addr1
	}
	panic("vpcd has readers 0 and 1")
}

// requirePCSC skips tb unless the private pcscd is there; under CI=true it
// fails tb instead, since CI must run these tests.
func requirePCSC(tb testing.TB) {
	tb.Helper()
	if os.Getenv(enableEnv) == "1" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(enableHelp + "; under CI=true this is a failure, not a skip")
	}
	tb.Skip(enableHelp)
}

// insertCard plays card in reader i (0 or 1) until the test ends or remove is
// called. remove takes the card out: it ends the vpcd session, then waits
// until pcscd sees the reader empty (pcscd polls vpcd every 400 ms).
func insertCard(tb testing.TB, i int, card transport.Card) (remove func()) {
	tb.Helper()
	_, addr := slot(i)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		vpcd.Run(ctx, addr, card, &vpcd.Config{RetryInterval: 50 * time.Millisecond})
	})
	var once sync.Once
	remove = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			waitEmpty(tb, i)
		})
	}
	tb.Cleanup(remove)
	return remove
}

// waitEmpty waits, for up to 5 seconds, until pcscd reports no card in
// reader i.
func waitEmpty(tb testing.TB, i int) {
	tb.Helper()
	reader, _ := slot(i)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pcsc.Establish(ctx, nil)
	if err != nil {
		tb.Fatalf("Establish() = %v", err)
	}
	defer c.Release(ctx)
	for {
		states, err := c.ReaderStates(ctx)
		if err != nil {
			tb.Fatalf("ReaderStates() = %v", err)
		}
		present := false
		for _, s := range states {
			present = present || (s.Name == reader && s.CardPresent())
		}
		if !present {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s still has a card after 5 s", reader)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// establish connects to the private pcscd; the Client is released when the
// test ends.
func establish(tb testing.TB) *pcsc.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pcsc.Establish(ctx, nil)
	if err != nil {
		tb.Fatalf("Establish() = %v", err)
	}
	tb.Cleanup(func() { c.Release(context.Background()) })
	return c
}

// connectCard waits, for up to 10 seconds, for the card in reader i and
// connects to it; the Conn is disconnected when the test ends.
func connectCard(tb testing.TB, c *pcsc.Client, i int) *pcsc.Conn {
	tb.Helper()
	reader, _ := slot(i)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.WaitForCard(ctx, reader); err != nil {
		tb.Fatalf("WaitForCard(%q) = %v", reader, err)
	}
	cn, err := c.Connect(ctx, reader)
	if err != nil {
		tb.Fatalf("Connect(%q) = %v", reader, err)
	}
	tb.Cleanup(func() { cn.Disconnect(context.Background(), pcsc.Leave) })
	return cn
}

// servedCard is a card in a vpcd reader on a connection of its own, served
// with vpcd.Serve. Unlike insertCard, it can be taken out from inside the
// card's own ProcessAPDU, after the card has done its work and before the
// response goes out: leave closes the connection at once, while cancelling
// vpcd.Run closes it asynchronously.
type servedCard struct {
	i      int
	conn   net.Conn
	served atomic.Bool
	done   chan struct{}
	once   sync.Once
}

// dialCard connects to the card port of vpcd reader i, retrying for up to
// 10 seconds while vpcd is not listening; serve then plays the card. The
// caller removes the card (see serveCard).
func dialCard(tb testing.TB, i int) *servedCard {
	tb.Helper()
	_, addr := slot(i)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return &servedCard{i: i, conn: conn, done: make(chan struct{})}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("connecting to vpcd at %s: %v", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// serve plays card until the card leaves. It returns at once.
func (s *servedCard) serve(card transport.Card) {
	s.served.Store(true)
	go func() {
		defer close(s.done)
		vpcd.Serve(context.Background(), s.conn, card, nil)
	}()
}

// serveCard puts card into reader i, on a connection of its own, until
// remove or the end of the test.
func serveCard(tb testing.TB, i int, card transport.Card) *servedCard {
	tb.Helper()
	s := dialCard(tb, i)
	s.serve(card)
	tb.Cleanup(func() { s.remove(tb) })
	return s
}

// leave takes the card out of the field: it closes the connection to vpcd
// and returns at once, so that the card itself may call it.
func (s *servedCard) leave() { s.conn.Close() }

// remove takes the card out, waits until vpcd.Serve has returned (and reset
// the card) and until pcscd sees the reader empty. Only the first call does
// anything.
func (s *servedCard) remove(tb testing.TB) {
	tb.Helper()
	s.once.Do(func() {
		s.leave()
		if !s.served.Load() {
			close(s.done)
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			tb.Fatalf("vpcd.Serve still running 10 s after the card left reader %d", s.i)
		}
		waitEmpty(tb, s.i)
	})
}
