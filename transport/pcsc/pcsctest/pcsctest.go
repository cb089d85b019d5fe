// Package pcsctest puts cards into the virtual readers of a private pcscd
// for tests that go through the real PC/SC middleware: the card side served
// in-process by package transport/vpcd, the reader side a [pcsc.Conn].
//
// scripts/pcsc/run.sh starts that pcscd, with vpcd's two readers, and sets
// OPENCARKEY_PCSC=1; [Require] skips a test without it (and fails it under
// CI=true). A test then inserts a card and connects:
//
//	pcsctest.Require(t)
//	pcsctest.Insert(t, 0, applet)          // any transport.Card
//	c := pcsctest.Establish(t)
//	cn := pcsctest.Connect(t, c, 0)        // a transport.Transceiver
//
// The readers are shared by the whole machine: tests of different packages
// that use them must not run at the same time (go test -p 1), and a test
// removes its card before it ends (Insert arranges it), so that the next one
// starts with empty readers.
package pcsctest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/pcsc"
	"github.com/opencarkey/sdk/transport/vpcd"
)

// EnableEnv is the environment variable scripts/pcsc/run.sh sets to 1.
const EnableEnv = "OPENCARKEY_PCSC"

// Names and card ports of vpcd's two readers, in the configuration of
// scripts/pcsc/run.sh.
const (
	Reader0 = "Virtual PCD 00 00"
	Reader1 = "Virtual PCD 00 01"
	Addr0   = "127.0.0.1:35963"
	Addr1   = "127.0.0.1:35964"
)

// Help says how to run the tests that Require skips.
const Help = "the PC/SC integration tests need pcscd with the vpcd driver; " +
	"run them as root with `scripts/pcsc/run.sh go test ./...` " +
	"(it installs pcscd and vsmartcard-vpcd when missing, starts a private pcscd " +
	"under unshare -n -m and sets " + EnableEnv + "=1)"

// slot returns the reader name and card address of reader i.
func slot(i int) (reader, addr string) {
	switch i {
	case 0:
		return Reader0, Addr0
	case 1:
		return Reader1, Addr1
	}
	panic("pcsctest: vpcd has readers 0 and 1")
}

// Require skips tb unless the private pcscd is there; under CI=true it
// fails tb instead, since CI must run these tests.
func Require(tb testing.TB) {
	tb.Helper()
	if os.Getenv(EnableEnv) == "1" {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(Help + "; under CI=true this is a failure, not a skip")
	}
	tb.Skip(Help)
}

// Insert plays card in reader i (0 or 1) until the test ends or remove is
// called. remove takes the card out: it ends the vpcd session, then waits
// until pcscd sees the reader empty (pcscd polls vpcd every 400 ms).
func Insert(tb testing.TB, i int, card transport.Card) (remove func()) {
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
			WaitEmpty(tb, i)
		})
	}
	tb.Cleanup(remove)
	return remove
}

// WaitEmpty waits, for up to 5 seconds, until pcscd reports no card in
// reader i.
func WaitEmpty(tb testing.TB, i int) {
	tb.Helper()
	reader, _ := slot(i)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pcsc.Establish(ctx, nil)
	if err != nil {
		tb.Fatalf("pcsctest: Establish() = %v", err)
	}
	defer c.Release(ctx)
	for {
		states, err := c.ReaderStates(ctx)
		if err != nil {
			tb.Fatalf("pcsctest: ReaderStates() = %v", err)
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
			tb.Fatalf("pcsctest: %s still has a card after 5 s", reader)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Establish connects to the private pcscd; the Client is released when the
// test ends.
func Establish(tb testing.TB) *pcsc.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pcsc.Establish(ctx, nil)
	if err != nil {
		tb.Fatalf("pcsctest: Establish() = %v", err)
	}
	tb.Cleanup(func() { c.Release(context.Background()) })
	return c
}

// Connect waits, for up to 10 seconds, for the card in reader i and
// connects to it; the Conn is disconnected when the test ends.
func Connect(tb testing.TB, c *pcsc.Client, i int) *pcsc.Conn {
	tb.Helper()
	reader, _ := slot(i)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.WaitForCard(ctx, reader); err != nil {
		tb.Fatalf("pcsctest: WaitForCard(%q) = %v", reader, err)
	}
	cn, err := c.Connect(ctx, reader)
	if err != nil {
		tb.Fatalf("pcsctest: Connect(%q) = %v", reader, err)
	}
	tb.Cleanup(func() { cn.Disconnect(context.Background(), pcsc.Leave) })
	return cn
}
